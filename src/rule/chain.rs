//! A key's modifier chain, checked once (order, combinations), then applied to each value:
//! the first modifier decides the kind of test ([`Head`]); for plain strings the others
//! transform the value left to right (position, `windash`, encodings, `expand`).

use super::model::{CmpOp, Position, ReFlags, ValueTest};
use super::modifiers::{ItemContext, Mod, Modifier};
use super::yaml::{Node, Scalar};
use crate::diag::{Code, Diagnostic, Span};
use crate::net::parse_cidr;
use crate::pattern::{ExpandError, MAX_ENCODED_BYTES, Pattern, Tok};
use crate::time::TimePart;

/// What kind of value the chain builds, decided by its first modifier.
enum Head {
    Plain,
    Regex(ReFlags),
    Cidr,
    Exists,
    Compare(CmpOp),
    TimePart(TimePart, CmpOp),
    FieldRef(Position),
}

/// A modifier of a key whose names are all known: as written, and what it is.
type Known<'m> = (&'m Modifier<'m>, Mod);

/// A checked modifier chain.
pub(super) struct Chain<'m> {
    head: Head,
    /// String transforms in order (for `Head::Plain`).
    transforms: Vec<Known<'m>>,
    keyword: bool,
}

impl<'m> Chain<'m> {
    /// Checks the modifiers of one key (every name known). `keyword`: the key has no
    /// field (a keyword search), which takes only string modifiers.
    pub(super) fn new(
        mods: &'m [Modifier<'m>],
        cx: &ItemContext<'_>,
        keyword: bool,
    ) -> Result<Chain<'m>, Diagnostic> {
        let known: Vec<Known<'m>> = mods.iter().filter_map(|m| Some((m, m.kind?))).collect();
        let rest: Vec<Known<'m>> = known.iter().copied().filter(|k| !k.1.is_flag()).collect();
        let head = head_of(&known, &rest, cx)?;
        if let Head::Plain = head {
            check_plain(&rest, cx)?;
        }
        if keyword && !matches!(head, Head::Plain | Head::Regex(_)) {
            let span = mods.first().map_or(Span::default(), |m| m.span);
            return Err(Diagnostic::new(
                Code::BadModifierChain,
                cx.path,
                Some(span),
                "a keyword search (no field name) takes only string modifiers".to_string(),
            ));
        }
        let transforms = if let Head::Plain = head {
            rest
        } else {
            Vec::new()
        };
        Ok(Chain {
            head,
            transforms,
            keyword,
        })
    }

    /// Turns one YAML value into a test.
    pub(super) fn apply(&self, v: &Node, cx: &ItemContext<'_>) -> Result<ValueTest, Diagnostic> {
        let bad = |msg: String| Diagnostic::new(Code::BadModifierValue, cx.path, Some(v.span), msg);
        let Some(scalar) = v.scalar_value() else {
            return Err(Diagnostic::new(
                Code::BadSearch,
                cx.path,
                Some(v.span),
                format!("expected a value, found {}", v.kind_name()),
            ));
        };
        let number = |s: &Scalar<'_>| match s {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            _ => None,
        };
        match &self.head {
            Head::Regex(flags) => match scalar {
                Scalar::Str(s) => Ok(ValueTest::Regex(s.to_string(), *flags)),
                _ => Err(bad(format!("`re` needs a string, found {}", v.kind_name()))),
            },
            Head::Cidr => match scalar {
                Scalar::Str(s) => parse_cidr(s)
                    .map(ValueTest::Cidr)
                    .map_err(|m| {
                        Diagnostic::new(Code::BadCidr, cx.path, Some(v.span), m.to_string())
                    }),
                _ => Err(bad(format!(
                    "`cidr` needs a network such as '10.0.0.0/8', found {}",
                    v.kind_name()
                ))),
            },
            Head::Exists => match scalar {
                Scalar::Bool(b) => Ok(ValueTest::Exists(b)),
                _ => Err(bad(format!(
                    "`exists` takes `true` or `false`, found {} (YAML 1.1 `yes`/`no` are text here)",
                    v.kind_name()
                ))),
            },
            Head::Compare(op) => number(&scalar)
                .map(|n| ValueTest::Compare(*op, n))
                .ok_or_else(|| {
                    bad(format!(
                        "a comparison needs a number, found {} (do not quote numbers)",
                        v.kind_name()
                    ))
                }),
            Head::TimePart(part, op) => match scalar {
                Scalar::Int(n) => Ok(ValueTest::TimePart(*part, *op, n as f64)),
                _ => Err(bad(format!(
                    "a time-part modifier needs a whole number, found {}",
                    v.kind_name()
                ))),
            },
            Head::FieldRef(pos) => match scalar {
                Scalar::Str(s) if s.contains(['*', '?']) => Err(bad(format!(
                    "`fieldref` names one field; `{s}` has a wildcard"
                ))),
                Scalar::Str(s) if !s.is_empty() => Ok(ValueTest::FieldRef(s.to_string(), *pos)),
                _ => Err(bad(format!(
                    "`fieldref` needs a field name, found {}",
                    v.kind_name()
                ))),
            },
            Head::Plain => self.apply_plain(&scalar, v, cx),
        }
    }

    /// A plain value: the string the transforms start from, or the test of a non-string.
    fn apply_plain(
        &self,
        scalar: &Scalar<'_>,
        v: &Node,
        cx: &ItemContext<'_>,
    ) -> Result<ValueTest, Diagnostic> {
        let text = match scalar {
            Scalar::Str(s) => s.to_string(),
            // Keywords compare numbers as text.
            Scalar::Int(_) | Scalar::Float(_) if self.keyword => {
                v.as_str().unwrap_or_default().to_string()
            }
            _ if !self.transforms.is_empty() => {
                let m = self.transforms[0].0.name;
                return Err(Diagnostic::new(
                    Code::BadModifierValue,
                    cx.path,
                    Some(v.span),
                    format!(
                        "modifier `{m}` needs a string value, found {} (quote it: '{}')",
                        v.kind_name(),
                        v.as_str().unwrap_or_default()
                    ),
                ));
            }
            Scalar::Null => return Ok(ValueTest::Null),
            Scalar::Bool(b) => return Ok(ValueTest::Bool(*b)),
            Scalar::Int(i) => return Ok(ValueTest::Num(*i as f64)),
            Scalar::Float(f) => return Ok(ValueTest::Num(*f)),
        };
        let mut variants = vec![Pattern::parse(&text)];
        let mut positioned = false;
        for k in 0..self.transforms.len() {
            // Checked before encoding, so that nothing over the limit is ever built.
            self.check_encoded_size(k, &variants, v, cx)?;
            let kind = self.transforms[k].1;
            positioned |= kind.is_position();
            variants = transform(kind, variants, v, cx)?;
        }
        if self.keyword && !positioned {
            variants = variants.into_iter().map(Pattern::contains).collect();
        }
        check_text(&variants, v, cx)?;
        Ok(ValueTest::Str(variants))
    }

    /// E404 when the `k`-th transform (an encoding) would grow a value past the limit.
    fn check_encoded_size(
        &self,
        k: usize,
        variants: &[Pattern],
        v: &Node,
        cx: &ItemContext<'_>,
    ) -> Result<(), Diagnostic> {
        let Some((num, den)) = encoded_growth(self.transforms[k].1) else {
            return Ok(());
        };
        let longest = variants.iter().map(Pattern::literal_len).max().unwrap_or(0);
        let size = longest.saturating_mul(num) / den + 4;
        if size <= MAX_ENCODED_BYTES {
            return Ok(());
        }
        let chain: Vec<&str> = self.transforms[..=k].iter().map(|m| m.0.name).collect();
        Err(Diagnostic::new(
            Code::EncodedTooLong,
            cx.path,
            Some(v.span),
            format!(
                "the value is too long to encode: about {size} bytes after `{}` (the limit is {MAX_ENCODED_BYTES} bytes)",
                chain.join("|"),
            ),
        )
        .with_note("search for a shorter, distinctive part of the value"))
    }
}

/// The kind of test the first modifier (after the item flags) decides; what may follow it.
fn head_of(
    known: &[Known<'_>],
    rest: &[Known<'_>],
    cx: &ItemContext<'_>,
) -> Result<Head, Diagnostic> {
    let bad = |m: &Modifier<'_>, msg: String| {
        Diagnostic::new(Code::BadModifierChain, cx.path, Some(m.span), msg)
    };
    // Only modifiers `allowed` may follow the head (from position `from`).
    let only_after = |from: usize, allowed: &dyn Fn(Mod) -> bool| -> Result<(), Diagnostic> {
        let what = rest[0].0.name;
        match rest
            .get(from..)
            .unwrap_or_default()
            .iter()
            .find(|k| !allowed(k.1))
        {
            Some(k) => Err(bad(
                k.0,
                format!("modifier `{}` cannot follow `{what}`", k.0.name),
            )),
            None => Ok(()),
        }
    };
    let none = |_: Mod| false;
    let Some(&(first, kind)) = rest.first() else {
        return Ok(Head::Plain);
    };
    Ok(match kind {
        Mod::Re => {
            // `contains`/`startswith`/`endswith` after `re` are accepted as in pySigma; a
            // regex already searches unanchored, so they change nothing.
            only_after(1, &|k| k.is_re_flag() || k.is_position())?;
            if let Some(m) = known.iter().find(|k| k.1 == Mod::Cased) {
                return Err(bad(
                    m.0,
                    "`cased` applies to plain strings; a regex is case-sensitive unless `re|i`"
                        .to_string(),
                ));
            }
            let mut flags = ReFlags::default();
            for k in &rest[1..] {
                match k.1 {
                    Mod::IgnoreCase => flags.ignore_case = true,
                    Mod::MultiLine => flags.multi_line = true,
                    Mod::DotAll => flags.dot_all = true,
                    _ => {}
                }
            }
            Head::Regex(flags)
        }
        Mod::Cidr => {
            only_after(1, &none)?;
            Head::Cidr
        }
        Mod::Exists => {
            only_after(1, &none)?;
            Head::Exists
        }
        Mod::Compare(op) => {
            only_after(1, &none)?;
            Head::Compare(op)
        }
        Mod::TimePart(part) => {
            only_after(2, &none)?;
            match rest.get(1) {
                None => Head::TimePart(part, CmpOp::Eq),
                Some(&(_, Mod::Compare(op))) => Head::TimePart(part, op),
                Some(&(m, _)) => {
                    return Err(bad(
                        m,
                        format!(
                            "modifier `{}` cannot follow `{}`; use `gt`, `gte`, `lt` or `lte`",
                            m.name, first.name
                        ),
                    ));
                }
            }
        }
        Mod::FieldRef => {
            only_after(1, &Mod::is_position)?;
            let pos = match rest.get(1).map(|k| k.1) {
                Some(Mod::Contains) => Position::Contains,
                Some(Mod::StartsWith) => Position::Start,
                Some(Mod::EndsWith) => Position::End,
                _ => Position::Whole,
            };
            if rest.len() > 2 {
                return Err(bad(
                    rest[2].0,
                    "`fieldref` takes at most one of `contains`, `startswith`, `endswith`"
                        .to_string(),
                ));
            }
            Head::FieldRef(pos)
        }
        _ => Head::Plain,
    })
}

/// A plain string chain: no head modifier later in it, `base64offset` followed by
/// `contains`, at most one position.
fn check_plain(rest: &[Known<'_>], cx: &ItemContext<'_>) -> Result<(), Diagnostic> {
    let bad = |m: &Modifier<'_>, msg: String| {
        Diagnostic::new(Code::BadModifierChain, cx.path, Some(m.span), msg)
    };
    for &(m, kind) in rest {
        let msg = match kind {
            Mod::Re
            | Mod::Cidr
            | Mod::Exists
            | Mod::FieldRef
            | Mod::Compare(_)
            | Mod::TimePart(_) => Some(format!("modifier `{}` must come first", m.name)),
            k if k.is_re_flag() => Some(format!("modifier `{}` only follows `re`", m.name)),
            _ => None,
        };
        if let Some(msg) = msg {
            return Err(bad(m, msg));
        }
    }
    if let Some(i) = rest.iter().position(|k| k.1 == Mod::Base64Offset) {
        if !rest[i + 1..].iter().any(|k| k.1 == Mod::Contains) {
            return Err(bad(
                rest[i].0,
                "`base64offset` must be followed by `contains`".to_string(),
            ));
        }
    }
    if let Some(&(m, _)) = rest.iter().filter(|k| k.1.is_position()).nth(1) {
        return Err(bad(
            m,
            "use only one of `contains`, `startswith`, `endswith`".to_string(),
        ));
    }
    Ok(())
}

/// How much an encoding modifier grows its value: (numerator, denominator), or `None` for
/// modifiers that do not encode.
fn encoded_growth(kind: Mod) -> Option<(usize, usize)> {
    match kind {
        Mod::Utf16Le | Mod::Utf16Be | Mod::Utf16 => Some((2, 1)),
        Mod::Base64 | Mod::Base64Offset => Some((4, 3)),
        _ => None,
    }
}

/// One string transform applied to every variant of a value.
fn transform(
    kind: Mod,
    variants: Vec<Pattern>,
    v: &Node,
    cx: &ItemContext<'_>,
) -> Result<Vec<Pattern>, Diagnostic> {
    let bad = |msg: String| Diagnostic::new(Code::BadModifierValue, cx.path, Some(v.span), msg);
    Ok(match kind {
        Mod::Contains => variants.into_iter().map(Pattern::contains).collect(),
        Mod::StartsWith => variants.into_iter().map(Pattern::startswith).collect(),
        Mod::EndsWith => variants.into_iter().map(Pattern::endswith).collect(),
        Mod::Windash => {
            let mut out = Vec::new();
            for p in &variants {
                out.extend(p.windash().map_err(|e| bad(e.to_string()))?);
            }
            out
        }
        Mod::Utf16Le => variants.iter().map(|p| p.utf16(false, false)).collect(),
        Mod::Utf16Be => variants.iter().map(|p| p.utf16(true, false)).collect(),
        Mod::Utf16 => variants.iter().map(|p| p.utf16(false, true)).collect(),
        Mod::Base64 => variants
            .iter()
            .map(|p| {
                p.base64()
                    .ok_or_else(|| bad("`base64` cannot encode a value with wildcards".to_string()))
            })
            .collect::<Result<_, _>>()?,
        Mod::Base64Offset => {
            let mut out = Vec::new();
            for p in &variants {
                out.extend(p.base64offset().ok_or_else(|| {
                    bad("`base64offset` cannot encode a value with wildcards".to_string())
                })?);
            }
            out
        }
        Mod::Expand => expand(variants, v, cx)?,
        // Item flags and head modifiers never reach here.
        _ => variants,
    })
}

/// `expand`: each `%name%` replaced by each configured value.
fn expand(
    variants: Vec<Pattern>,
    v: &Node,
    cx: &ItemContext<'_>,
) -> Result<Vec<Pattern>, Diagnostic> {
    let lookup = |name: &str| cx.placeholders.and_then(|p| p.get(name));
    let mut out = Vec::new();
    for p in &variants {
        match p.expand(&lookup) {
            Ok(vs) => out.extend(vs),
            Err(ExpandError::Unknown(name)) => {
                let d = Diagnostic::new(
                    Code::UnresolvedPlaceholder,
                    cx.path,
                    Some(v.span),
                    format!("placeholder `%{name}%` has no value"),
                );
                return Err(d.with_note(if cx.placeholders.is_some() {
                    format!("add `{name}` to the placeholder file")
                } else {
                    "pass a placeholder file with `--placeholders FILE`".to_string()
                }));
            }
            Err(ExpandError::TooMany(name)) => {
                return Err(Diagnostic::new(
                    Code::BadModifierValue,
                    cx.path,
                    Some(v.span),
                    format!("placeholder `%{name}%` is empty or expands to too many values"),
                ));
            }
        }
    }
    Ok(out)
}

/// E403 when an encoding left bytes that are not text and nothing encoded them further.
fn check_text(variants: &[Pattern], v: &Node, cx: &ItemContext<'_>) -> Result<(), Diagnostic> {
    let binary = variants
        .iter()
        .flat_map(|p| &p.0)
        .any(|t| matches!(t, Tok::Lit(b) if std::str::from_utf8(b).is_err()));
    if binary {
        return Err(Diagnostic::new(
            Code::NotText,
            cx.path,
            Some(v.span),
            "the encoded value is not text; follow the encoding modifier with `base64` or `base64offset`".to_string(),
        ));
    }
    Ok(())
}
