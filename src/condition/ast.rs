//! The condition syntax tree. Spans are character offsets into the condition text; the
//! printer (`Display`) writes a condition that parses back to the same tree while its
//! parentheses stay within [`MAX_NESTING`](super::MAX_NESTING) levels. It puts a pair around
//! every `and` / `or`, so a condition near the limit can print deeper (`x and (a and (…))`
//! gains one level, `a or b and (c or d and (…))` doubles); that print is refused as too deep
//! (E202), never read as another tree.

use std::fmt;

/// A character range inside the condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CondSpan {
    /// Offset of the first character.
    pub start: usize,
    /// Length in characters.
    pub len: usize,
}

/// A node of the condition tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// Where the node is in the condition text.
    pub span: CondSpan,
    /// What it is.
    pub kind: CondKind,
}

/// `1 of` / `any of` (Any) or `all of` (All).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one.
    Any,
    /// Every one.
    All,
}

/// What a selector ranges over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every identifier not starting with `_`.
    Them,
    /// Identifiers matching a `*` pattern.
    Pattern(String),
}

/// The kinds of condition nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondKind {
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
    /// A search identifier.
    Ident(String),
    /// `1 of P`, `all of them`, ...
    Selector(Quantifier, Target),
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, items: &[Cond], op: &str| -> fmt::Result {
            f.write_str("(")?;
            for (i, c) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str(")")
        };
        match &self.kind {
            CondKind::And(items) => join(f, items, "and"),
            CondKind::Or(items) => join(f, items, "or"),
            CondKind::Not(inner) => write!(f, "not {inner}"),
            CondKind::Ident(name) => f.write_str(name),
            CondKind::Selector(q, t) => {
                f.write_str(match q {
                    Quantifier::Any => "1 of ",
                    Quantifier::All => "all of ",
                })?;
                match t {
                    Target::Them => f.write_str("them"),
                    Target::Pattern(p) => f.write_str(p),
                }
            }
        }
    }
}
