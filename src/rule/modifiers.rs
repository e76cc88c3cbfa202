//! Field keys with modifiers (`CommandLine|contains|all`) and the values they turn into.
//!
//! Modifiers apply left to right. [`lower_item`] checks the chain (order, combinations,
//! value types) and produces a [`FieldItem`] whose values are fully transformed.

use super::model::{CmpOp, FieldItem, Position, ReFlags, ValueTest};
use super::yaml::{Node, NodeKind, Scalar, Style};
use crate::diag::{Code, Diagnostic, Span, suggest};
use crate::net::parse_cidr;
use crate::pattern::{ExpandError, Pattern};
use crate::time::TimePart;

/// Every modifier name this engine knows.
pub const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "ignorecase",
    "multiline",
    "dotall",
    "cidr",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "fieldref",
    "cased",
    "windash",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "expand",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// Placeholder values for `expand`, by name.
pub type Placeholders = ahash::AHashMap<String, Vec<String>>;

/// Context for lowering one item.
pub struct ItemContext<'a> {
    /// The file, for diagnostics.
    pub path: &'a str,
    /// Configured placeholders (`--placeholders`).
    pub placeholders: Option<&'a Placeholders>,
}

struct Modifier<'k> {
    name: &'k str,
    span: Span,
}

/// Splits `field|a|b` into the field and its modifiers, each with its span.
fn split_key<'k>(key: &'k Node) -> (&'k str, Vec<Modifier<'k>>) {
    let text = key.as_str().unwrap_or_default();
    let quote = usize::from(matches!(key.kind, NodeKind::Scalar(_, Style::Quoted)));
    let mut parts = text.split('|');
    let field = parts.next().unwrap_or_default();
    let mut offset = field.chars().count() + 1;
    let mut mods = Vec::new();
    for name in parts {
        let len = name.chars().count();
        mods.push(Modifier {
            name,
            span: key.span.shifted(quote + offset, len.max(1)),
        });
        offset += len + 1;
    }
    (field, mods)
}

/// Lowers one `key: value(s)` entry of a search map. `field` is `None` in the result for
/// keyword items (`'|all': [...]`).
pub fn lower_item(
    key: &Node,
    value: &Node,
    cx: &ItemContext<'_>,
) -> Result<FieldItem, Vec<Diagnostic>> {
    let (field, mods) = split_key(key);
    let mut errs = Vec::new();
    let err = |code: Code, span: Span, msg: String| Diagnostic::new(code, cx.path, Some(span), msg);

    for m in &mods {
        if !MODIFIERS.contains(&m.name) {
            let mut d = err(
                Code::UnknownModifier,
                m.span,
                format!("unknown modifier `{}`", m.name),
            )
            .with_label("not a Sigma modifier");
            if let Some(s) = suggest(m.name, MODIFIERS.iter().copied()) {
                d = d.with_note(format!("did you mean `{s}`?"));
            }
            errs.push(d);
        }
    }
    for (i, m) in mods.iter().enumerate() {
        if mods[..i].iter().any(|p| p.name == m.name) {
            errs.push(err(
                Code::BadModifierChain,
                m.span,
                format!("modifier `{}` is used twice", m.name),
            ));
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let keyword = field.is_empty();
    let names: Vec<&str> = mods.iter().map(|m| m.name).collect();
    let has = |n: &str| names.contains(&n);
    let chain = Chain::new(&mods, cx, keyword).map_err(|d| vec![d])?;

    let raw_values: Vec<&Node> = match &value.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Map(_) => {
            return Err(vec![err(
                Code::BadSearch,
                value.span,
                format!(
                    "the value of `{}` is a map; a field takes a value or a list of values",
                    key.as_str().unwrap_or_default()
                ),
            )]);
        }
        NodeKind::Scalar(..) => vec![value],
    };
    let mut values = Vec::new();
    if raw_values.is_empty() {
        // pySigma reads `field: []` as `field: null`.
        values.push(ValueTest::Null);
    }
    for v in raw_values {
        match chain.apply(v, cx) {
            Ok(t) => values.push(t),
            Err(d) => errs.push(d),
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    if keyword && values.iter().any(|v| matches!(v, ValueTest::Null)) {
        return Err(vec![err(
            Code::BadSearch,
            value.span,
            "a keyword search cannot be null".to_string(),
        )]);
    }
    Ok(FieldItem {
        field: (!keyword).then(|| field.to_string()),
        span: key.span,
        values,
        all: has("all"),
        neq: has("neq"),
        cased: has("cased"),
    })
}

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

/// A checked modifier chain.
struct Chain<'m> {
    head: Head,
    /// String transforms in order (for `Head::Plain`).
    transforms: Vec<&'m Modifier<'m>>,
    keyword: bool,
    span: Span,
}

const FLAGS: &[&str] = &["all", "neq", "cased"];

/// What may follow `re`.
const RE_FOLLOWERS: &[&str] = &[
    "i",
    "m",
    "s",
    "ignorecase",
    "multiline",
    "dotall",
    "contains",
    "startswith",
    "endswith",
];

impl<'m> Chain<'m> {
    fn new(
        mods: &'m [Modifier<'m>],
        cx: &ItemContext<'_>,
        keyword: bool,
    ) -> Result<Chain<'m>, Diagnostic> {
        let bad = |m: &Modifier<'_>, msg: String| {
            Diagnostic::new(Code::BadModifierChain, cx.path, Some(m.span), msg)
        };
        let span = mods.first().map_or(Span::default(), |m| m.span);
        let rest: Vec<&Modifier<'_>> = mods.iter().filter(|m| !FLAGS.contains(&m.name)).collect();
        let cmp = |n: &str| match n {
            "gt" => Some(CmpOp::Gt),
            "gte" => Some(CmpOp::Gte),
            "lt" => Some(CmpOp::Lt),
            "lte" => Some(CmpOp::Lte),
            _ => None,
        };
        let only_flags_after =
            |from: usize, allowed: &[&str], what: &str| -> Result<(), Diagnostic> {
                match rest
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .find(|m| !allowed.contains(&m.name))
                {
                    Some(m) => Err(bad(
                        m,
                        format!("modifier `{}` cannot follow `{what}`", m.name),
                    )),
                    None => Ok(()),
                }
            };
        let first = rest.first().map(|m| m.name);
        let head = match first {
            Some("re") => {
                // `contains`/`startswith`/`endswith` after `re` are accepted as in pySigma; a
                // regex already searches unanchored, so they change nothing.
                only_flags_after(1, RE_FOLLOWERS, "re")?;
                if let Some(m) = mods.iter().find(|m| m.name == "cased") {
                    return Err(bad(
                        m,
                        "`cased` applies to plain strings; a regex is case-sensitive unless `re|i`"
                            .to_string(),
                    ));
                }
                let mut flags = ReFlags::default();
                for m in &rest[1..] {
                    match m.name {
                        "i" | "ignorecase" => flags.ignore_case = true,
                        "m" | "multiline" => flags.multi_line = true,
                        "s" | "dotall" => flags.dot_all = true,
                        _ => {}
                    }
                }
                Head::Regex(flags)
            }
            Some("cidr") => {
                only_flags_after(1, &[], "cidr")?;
                Head::Cidr
            }
            Some("exists") => {
                only_flags_after(1, &[], "exists")?;
                Head::Exists
            }
            Some(n) if cmp(n).is_some() => {
                only_flags_after(1, &[], n)?;
                Head::Compare(cmp(n).unwrap_or(CmpOp::Eq))
            }
            Some(n) if TimePart::from_modifier(n).is_some() => {
                let part = TimePart::from_modifier(n).unwrap_or(TimePart::Hour);
                only_flags_after(2, &[], n)?;
                match rest.get(1) {
                    None => Head::TimePart(part, CmpOp::Eq),
                    Some(m) => match cmp(m.name) {
                        Some(op) => Head::TimePart(part, op),
                        None => {
                            return Err(bad(
                                m,
                                format!(
                                    "modifier `{}` cannot follow `{n}`; use `gt`, `gte`, `lt` or `lte`",
                                    m.name
                                ),
                            ));
                        }
                    },
                }
            }
            Some("fieldref") => {
                only_flags_after(1, &["contains", "startswith", "endswith"], "fieldref")?;
                let pos = match rest.get(1).map(|m| m.name) {
                    Some("contains") => Position::Contains,
                    Some("startswith") => Position::Start,
                    Some("endswith") => Position::End,
                    _ => Position::Whole,
                };
                if rest.len() > 2 {
                    return Err(bad(
                        rest[2],
                        "`fieldref` takes at most one of `contains`, `startswith`, `endswith`"
                            .to_string(),
                    ));
                }
                Head::FieldRef(pos)
            }
            _ => Head::Plain,
        };
        if let Head::Plain = head {
            for m in &rest {
                let msg = match m.name {
                    "re" | "cidr" | "exists" | "fieldref" => {
                        Some(format!("modifier `{}` must come first", m.name))
                    }
                    "i" | "m" | "s" | "ignorecase" | "multiline" | "dotall" => {
                        Some(format!("modifier `{}` only follows `re`", m.name))
                    }
                    n if cmp(n).is_some() || TimePart::from_modifier(n).is_some() => {
                        Some(format!("modifier `{n}` must come first"))
                    }
                    _ => None,
                };
                if let Some(msg) = msg {
                    return Err(bad(m, msg));
                }
            }
            if let Some(i) = rest.iter().position(|m| m.name == "base64offset") {
                if !rest[i + 1..].iter().any(|m| m.name == "contains") {
                    return Err(bad(
                        rest[i],
                        "`base64offset` must be followed by `contains`".to_string(),
                    ));
                }
            }
            let positions = rest
                .iter()
                .filter(|m| matches!(m.name, "contains" | "startswith" | "endswith"))
                .count();
            if positions > 1 {
                let m = rest
                    .iter()
                    .filter(|m| matches!(m.name, "contains" | "startswith" | "endswith"))
                    .nth(1);
                if let Some(m) = m {
                    return Err(bad(
                        m,
                        "use only one of `contains`, `startswith`, `endswith`".to_string(),
                    ));
                }
            }
        }
        if keyword && !matches!(head, Head::Plain | Head::Regex(_)) {
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
            span,
        })
    }

    /// Turns one YAML value into a test.
    fn apply(&self, v: &Node, cx: &ItemContext<'_>) -> Result<ValueTest, Diagnostic> {
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
                Scalar::Str(s) => {
                    let _ = self.span;
                    Ok(ValueTest::Regex(s.to_string(), *flags))
                }
                _ => Err(bad(format!("`re` needs a string, found {}", v.kind_name()))),
            },
            Head::Cidr => match scalar {
                Scalar::Str(s) => parse_cidr(s)
                    .map(ValueTest::Cidr)
                    .map_err(|m| Diagnostic::new(Code::BadCidr, cx.path, Some(v.span), m)),
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

    fn apply_plain(
        &self,
        scalar: &Scalar<'_>,
        v: &Node,
        cx: &ItemContext<'_>,
    ) -> Result<ValueTest, Diagnostic> {
        let bad = |msg: String| Diagnostic::new(Code::BadModifierValue, cx.path, Some(v.span), msg);
        let text = match scalar {
            Scalar::Str(s) => s.to_string(),
            // Keywords compare numbers as text.
            Scalar::Int(_) | Scalar::Float(_) if self.keyword => {
                v.as_str().unwrap_or_default().to_string()
            }
            _ if !self.transforms.is_empty() => {
                let m = self.transforms[0].name;
                return Err(bad(format!(
                    "modifier `{m}` needs a string value, found {} (quote it: '{}')",
                    v.kind_name(),
                    v.as_str().unwrap_or_default()
                )));
            }
            Scalar::Null => return Ok(ValueTest::Null),
            Scalar::Bool(b) => return Ok(ValueTest::Bool(*b)),
            Scalar::Int(i) => return Ok(ValueTest::Num(*i as f64)),
            Scalar::Float(f) => return Ok(ValueTest::Num(*f)),
        };
        let mut variants = vec![Pattern::parse(&text)];
        let mut positioned = false;
        for (k, m) in self.transforms.iter().enumerate() {
            if let Some(grow) = encoded_growth(m.name) {
                // Checked before encoding, so that nothing over the limit is ever built.
                let longest = variants.iter().map(Pattern::literal_len).max().unwrap_or(0);
                let size = longest.saturating_mul(grow.0) / grow.1 + 4;
                if size > crate::pattern::MAX_ENCODED_BYTES {
                    let chain: Vec<&str> = self.transforms[..=k].iter().map(|m| m.name).collect();
                    return Err(Diagnostic::new(
                        Code::EncodedTooLong,
                        cx.path,
                        Some(v.span),
                        format!(
                            "the value is too long to encode: about {size} bytes after `{}` (the limit is {} bytes)",
                            chain.join("|"),
                            crate::pattern::MAX_ENCODED_BYTES
                        ),
                    )
                    .with_note("search for a shorter, distinctive part of the value"));
                }
            }
            variants = match m.name {
                "contains" => {
                    positioned = true;
                    variants.into_iter().map(Pattern::contains).collect()
                }
                "startswith" => {
                    positioned = true;
                    variants.into_iter().map(Pattern::startswith).collect()
                }
                "endswith" => {
                    positioned = true;
                    variants.into_iter().map(Pattern::endswith).collect()
                }
                "windash" => {
                    let mut out = Vec::new();
                    for p in &variants {
                        out.extend(p.windash().map_err(bad)?);
                    }
                    out
                }
                "wide" | "utf16le" => variants.iter().map(|p| p.utf16(false, false)).collect(),
                "utf16be" => variants.iter().map(|p| p.utf16(true, false)).collect(),
                "utf16" => variants.iter().map(|p| p.utf16(false, true)).collect(),
                "base64" => variants
                    .iter()
                    .map(|p| {
                        p.base64().ok_or_else(|| {
                            bad("`base64` cannot encode a value with wildcards".to_string())
                        })
                    })
                    .collect::<Result<_, _>>()?,
                "base64offset" => {
                    let mut out = Vec::new();
                    for p in &variants {
                        out.extend(p.base64offset().ok_or_else(|| {
                            bad("`base64offset` cannot encode a value with wildcards".to_string())
                        })?);
                    }
                    out
                }
                "expand" => {
                    let lookup = |name: &str| cx.placeholders.and_then(|p| p.get(name).cloned());
                    let mut out = Vec::new();
                    for p in &variants {
                        match p.expand(&lookup) {
                            Ok(vs) => out.extend(vs),
                            Err(ExpandError::Unknown(name)) => {
                                let mut d = Diagnostic::new(
                                    Code::UnresolvedPlaceholder,
                                    cx.path,
                                    Some(v.span),
                                    format!("placeholder `%{name}%` has no value"),
                                );
                                d = d.with_note(if cx.placeholders.is_some() {
                                    format!("add `{name}` to the placeholder file")
                                } else {
                                    "pass a placeholder file with `--placeholders FILE`".to_string()
                                });
                                return Err(d);
                            }
                            Err(ExpandError::TooMany(name)) => {
                                return Err(bad(format!(
                                    "placeholder `%{name}%` is empty or expands to too many values"
                                )));
                            }
                        }
                    }
                    out
                }
                // `all`, `neq`, `cased` are item flags and never reach here.
                _ => variants,
            };
        }
        if self.keyword && !positioned {
            variants = variants.into_iter().map(Pattern::contains).collect();
        }
        for p in &variants {
            for t in &p.0 {
                if let crate::pattern::Tok::Lit(b) = t {
                    if std::str::from_utf8(b).is_err() {
                        return Err(Diagnostic::new(
                            Code::NotText,
                            cx.path,
                            Some(v.span),
                            "the encoded value is not text; follow the encoding modifier with `base64` or `base64offset`".to_string(),
                        ));
                    }
                }
            }
        }
        Ok(ValueTest::Str(variants))
    }
}

/// How much an encoding modifier grows its value: (numerator, denominator), or `None` for
/// modifiers that do not encode.
fn encoded_growth(name: &str) -> Option<(usize, usize)> {
    match name {
        "wide" | "utf16le" | "utf16be" | "utf16" => Some((2, 1)),
        "base64" | "base64offset" => Some((4, 3)),
        _ => None,
    }
}
