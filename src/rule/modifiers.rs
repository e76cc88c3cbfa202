//! Field keys with modifiers (`CommandLine|contains|all`) and the values they turn into.
//!
//! Modifiers apply left to right. Each name is read once into a [`Mod`]; [`lower_item`]
//! checks the chain (order, combinations, value types, in [`super::chain`]) and produces a
//! [`FieldItem`] whose values are fully transformed.

use super::chain::Chain;
use super::model::{CmpOp, FieldItem, ValueTest};
use super::yaml::{Node, NodeKind, Style};
use crate::diag::{Code, Diagnostic, Span, suggest};
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    values: ahash::AHashMap<String, Vec<String>>,
    /// What a name with no value becomes.
    pub unset: UnsetPlaceholders,
}

/// What `expand` does with a placeholder name that has no value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnsetPlaceholders {
    /// An error (E305): the rule does not compile.
    #[default]
    Error,
    /// `*`: the value matches anything (as pySigma's wildcard placeholder step).
    Wildcard,
}

impl Placeholders {
    /// The values of `name`: its own, or `*` under [`UnsetPlaceholders::Wildcard`].
    pub fn get(&self, name: &str) -> Option<Vec<String>> {
        self.values.get(name).cloned().or_else(|| {
            (self.unset == UnsetPlaceholders::Wildcard).then(|| vec!["*".to_string()])
        })
    }

    /// Sets the values of `name`.
    pub fn insert(&mut self, name: String, values: Vec<String>) {
        self.values.insert(name, values);
    }
}

impl FromIterator<(String, Vec<String>)> for Placeholders {
    fn from_iter<I: IntoIterator<Item = (String, Vec<String>)>>(iter: I) -> Self {
        Placeholders {
            values: iter.into_iter().collect(),
            unset: UnsetPlaceholders::Error,
        }
    }
}

/// Context for lowering one item.
pub struct ItemContext<'a> {
    /// The file, for diagnostics.
    pub path: &'a str,
    /// Configured placeholders (`--placeholders`).
    pub placeholders: Option<&'a Placeholders>,
}

/// A Sigma modifier, read from its name once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mod {
    /// `contains`.
    Contains,
    /// `startswith`.
    StartsWith,
    /// `endswith`.
    EndsWith,
    /// `all`: every value must match.
    All,
    /// `re`.
    Re,
    /// `i` / `ignorecase` (after `re`).
    IgnoreCase,
    /// `m` / `multiline` (after `re`).
    MultiLine,
    /// `s` / `dotall` (after `re`).
    DotAll,
    /// `cidr`.
    Cidr,
    /// `exists`.
    Exists,
    /// `gt`, `gte`, `lt`, `lte`.
    Compare(CmpOp),
    /// `neq`: the item is negated.
    Neq,
    /// `fieldref`.
    FieldRef,
    /// `cased`.
    Cased,
    /// `windash`.
    Windash,
    /// `base64`.
    Base64,
    /// `base64offset`.
    Base64Offset,
    /// `wide` / `utf16le`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16` (with a byte-order mark).
    Utf16,
    /// `expand`.
    Expand,
    /// `minute`, `hour`, `day`, `week`, `month`, `year`.
    TimePart(TimePart),
}

impl Mod {
    /// The modifier a name stands for.
    fn parse(name: &str) -> Option<Mod> {
        Some(match name {
            "contains" => Mod::Contains,
            "startswith" => Mod::StartsWith,
            "endswith" => Mod::EndsWith,
            "all" => Mod::All,
            "re" => Mod::Re,
            "i" | "ignorecase" => Mod::IgnoreCase,
            "m" | "multiline" => Mod::MultiLine,
            "s" | "dotall" => Mod::DotAll,
            "cidr" => Mod::Cidr,
            "exists" => Mod::Exists,
            "gt" => Mod::Compare(CmpOp::Gt),
            "gte" => Mod::Compare(CmpOp::Gte),
            "lt" => Mod::Compare(CmpOp::Lt),
            "lte" => Mod::Compare(CmpOp::Lte),
            "neq" => Mod::Neq,
            "fieldref" => Mod::FieldRef,
            "cased" => Mod::Cased,
            "windash" => Mod::Windash,
            "base64" => Mod::Base64,
            "base64offset" => Mod::Base64Offset,
            "wide" | "utf16le" => Mod::Utf16Le,
            "utf16be" => Mod::Utf16Be,
            "utf16" => Mod::Utf16,
            "expand" => Mod::Expand,
            n => Mod::TimePart(TimePart::from_modifier(n)?),
        })
    }

    /// `all`, `neq` and `cased` set flags of the item; they transform no value.
    pub(crate) fn is_flag(self) -> bool {
        matches!(self, Mod::All | Mod::Neq | Mod::Cased)
    }

    /// `contains`, `startswith`, `endswith`.
    pub(crate) fn is_position(self) -> bool {
        matches!(self, Mod::Contains | Mod::StartsWith | Mod::EndsWith)
    }

    /// The flags of `re`.
    pub(crate) fn is_re_flag(self) -> bool {
        matches!(self, Mod::IgnoreCase | Mod::MultiLine | Mod::DotAll)
    }
}

/// One modifier of a key, as written, with its span.
pub(crate) struct Modifier<'k> {
    /// The name as written (for messages).
    pub name: &'k str,
    /// Where it is.
    pub span: Span,
    /// What it is; `None` for an unknown name (reported before any chain is built).
    pub kind: Option<Mod>,
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
            kind: Mod::parse(name),
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
        if m.kind.is_none() {
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
    let has = |k: Mod| mods.iter().any(|m| m.kind == Some(k));
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
    let mut written = Vec::new();
    if raw_values.is_empty() {
        // pySigma reads `field: []` as `field: null`.
        values.push(ValueTest::Null);
        written.push("[]".to_string());
    }
    for v in raw_values {
        match chain.apply(v, cx) {
            Ok(t) => {
                values.push(t);
                written.push(v.as_str().unwrap_or("null").to_string());
            }
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
        key: key.as_str().unwrap_or_default().to_string(),
        values,
        written,
        all: has(Mod::All),
        neq: has(Mod::Neq),
        cased: has(Mod::Cased),
    })
}
