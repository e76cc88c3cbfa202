//! pest parser for conditions, with human names for grammar rules in errors.

use super::CondError;
use super::ast::{Cond, CondKind, CondSpan, Quantifier, Target};
use crate::diag::Code;
use pest::Parser as _;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/condition.pest"]
struct ConditionParser;

/// Deepest parenthesis nesting accepted. pest's parser recurses per level, so the limit is
/// checked by a scan before pest runs.
pub const MAX_NESTING: usize = 64;

/// Parses a condition string.
pub fn parse(src: &str) -> Result<Cond, CondError> {
    prescan(src)?;
    let mut pairs = ConditionParser::parse(Rule::condition, src).map_err(|e| convert(src, &e))?;
    let condition = pairs.next().ok_or_else(|| {
        CondError::new(
            Code::ConditionSyntax,
            CondSpan::default(),
            "empty condition",
        )
    })?;
    let or_expr = condition
        .into_inner()
        .find(|p| p.as_rule() == Rule::or_expr)
        .ok_or_else(|| {
            CondError::new(
                Code::ConditionSyntax,
                CondSpan::default(),
                "empty condition",
            )
        })?;
    Ok(build(&CharIndex::new(src), or_expr))
}

fn prescan(src: &str) -> Result<(), CondError> {
    if src.trim().is_empty() {
        return Err(CondError::new(
            Code::ConditionSyntax,
            CondSpan { start: 0, len: 1 },
            "the condition is empty",
        ));
    }
    let mut depth = 0usize;
    for (i, c) in src.chars().enumerate() {
        match c {
            '|' => {
                return Err(CondError::new(
                    Code::ConditionPipe,
                    CondSpan { start: i, len: src.chars().count() - i },
                    "the `|` aggregation pipe (Sigma v1) is not supported",
                )
                .with_note("write the aggregation as a correlation rule (`correlation: type: event_count`)"));
            }
            '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(CondError::new(
                        Code::ConditionTooDeep,
                        CondSpan { start: i, len: 1 },
                        format!("the condition nests parentheses deeper than {MAX_NESTING} levels"),
                    ));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn char_offset(src: &str, byte: usize) -> usize {
    src.get(..byte).map_or(0, |s| s.chars().count())
}

/// Byte → character offsets of one condition string in O(1) per lookup: spans count
/// characters, and a long condition has a span per term (counting from the start each
/// time made a 100,000-term condition quadratic).
struct CharIndex {
    /// For each byte offset, the characters before it; `None` for ASCII (the same number).
    table: Option<Vec<u32>>,
}

impl CharIndex {
    fn new(src: &str) -> Self {
        if src.is_ascii() {
            return CharIndex { table: None };
        }
        let mut table = vec![0u32; src.len() + 1];
        let mut chars = 0u32;
        let mut next = src.char_indices().map(|(b, _)| b).peekable();
        for (b, slot) in table.iter_mut().enumerate() {
            while next.peek().is_some_and(|&c| c < b) {
                next.next();
                chars += 1;
            }
            *slot = chars;
        }
        CharIndex { table: Some(table) }
    }

    fn at(&self, byte: usize) -> usize {
        match &self.table {
            None => byte,
            Some(t) => t.get(byte).map_or(0, |c| *c as usize),
        }
    }
}

fn span_of(ix: &CharIndex, pair: &Pair<'_, Rule>) -> CondSpan {
    let s = pair.as_span();
    let start = ix.at(s.start());
    CondSpan {
        start,
        len: ix.at(s.end()) - start,
    }
}

fn build(ix: &CharIndex, pair: Pair<'_, Rule>) -> Cond {
    let span = span_of(ix, &pair);
    match pair.as_rule() {
        Rule::or_expr | Rule::and_expr => {
            let is_or = pair.as_rule() == Rule::or_expr;
            let mut items: Vec<Cond> = pair
                .into_inner()
                .filter(|p| !matches!(p.as_rule(), Rule::or_op | Rule::and_op))
                .map(|p| build(ix, p))
                .collect();
            if items.len() == 1 {
                return items.remove(0);
            }
            let kind = if is_or {
                CondKind::Or(items)
            } else {
                CondKind::And(items)
            };
            Cond { span, kind }
        }
        Rule::not_expr => {
            let mut nots = 0usize;
            let mut inner = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::not_op => nots += 1,
                    Rule::lparen | Rule::rparen => {}
                    _ => inner = Some(build(ix, p)),
                }
            }
            let inner = inner.unwrap_or(Cond {
                span,
                kind: CondKind::Or(Vec::new()),
            });
            // `not not x` is `x`: fold pairs so that long `not` runs build no deep tree.
            if nots % 2 == 1 {
                match inner.kind {
                    // `not (not x)` is `x` too: that tree prints as `not not x`, which must
                    // parse back to the same tree (found by fuzzing).
                    CondKind::Not(x) => *x,
                    kind => Cond {
                        span,
                        kind: CondKind::Not(Box::new(Cond {
                            span: inner.span,
                            kind,
                        })),
                    },
                }
            } else {
                inner
            }
        }
        Rule::selector => {
            let mut quant = Quantifier::Any;
            let mut target = Target::Them;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::quantifier if p.as_str().eq_ignore_ascii_case("all") => {
                        quant = Quantifier::All
                    }
                    Rule::pattern => target = Target::Pattern(p.as_str().to_string()),
                    _ => {}
                }
            }
            Cond {
                span,
                kind: CondKind::Selector(quant, target),
            }
        }
        Rule::identifier => Cond {
            span,
            kind: CondKind::Ident(pair.as_str().to_string()),
        },
        // Parenthesised expressions arrive as their inner or_expr; nothing else reaches here.
        _ => {
            let inner: Vec<Cond> = pair
                .into_inner()
                .filter(|p| !matches!(p.as_rule(), Rule::lparen | Rule::rparen))
                .map(|p| build(ix, p))
                .collect();
            Cond {
                span,
                kind: CondKind::Or(inner),
            }
        }
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::not_op => "`not`",
        Rule::of_op => "`of`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::quantifier | Rule::selector => "`1 of`/`all of`",
        Rule::identifier => "an identifier",
        Rule::them | Rule::pattern => "`them` or an identifier pattern",
        Rule::EOI => "the end of the condition",
        _ => "an expression",
    }
}

fn convert(src: &str, e: &pest::error::Error<Rule>) -> CondError {
    use pest::error::{ErrorVariant, InputLocation};
    let byte = match e.location {
        InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
    };
    let start = char_offset(src, byte);
    let found = src.get(byte..).and_then(|rest| {
        let word: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(24)
            .collect();
        (!word.is_empty()).then_some(word)
    });
    let mut names: Vec<&str> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for r in positives {
            let n = rule_name(*r);
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    const ORDER: &[&str] = &[
        "`and`",
        "`or`",
        "`not`",
        "`(`",
        "`)`",
        "`1 of`/`all of`",
        "`of`",
        "an identifier",
        "`them` or an identifier pattern",
        "the end of the condition",
        "an expression",
    ];
    names.sort_by_key(|n| ORDER.iter().position(|o| o == n));
    let expected = match names.len() {
        0 => "a valid expression".to_string(),
        1 => names[0].to_string(),
        n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
    };
    let (message, len) = match &found {
        Some(w) => (
            format!("expected {expected}, found `{w}`"),
            w.chars().count(),
        ),
        None => (
            format!("expected {expected}, found the end of the condition"),
            1,
        ),
    };
    CondError::new(Code::ConditionSyntax, CondSpan { start, len }, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_index_counts_characters_before_a_byte() {
        let src = "é and ü";
        let ix = CharIndex::new(src);
        let want: Vec<usize> = (0..=src.len())
            .map(|b| src.get(..b).map_or(usize::MAX, |s| s.chars().count()))
            .collect();
        for (b, w) in want.iter().enumerate() {
            if *w != usize::MAX {
                assert_eq!(ix.at(b), *w, "byte {b}");
            }
        }
        assert_eq!(CharIndex::new("sel and x").at(4), 4);
    }
}
