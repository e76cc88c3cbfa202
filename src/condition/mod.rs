//! Sigma conditions: `sel and not 1 of filter_*`. The grammar is `grammar/condition.pest`.

pub mod ast;
mod parser;

pub use ast::{Cond, CondKind, CondSpan, Quantifier, Target};
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
pub use parser::MAX_NESTING;

use crate::diag::Code;

/// A condition that does not parse, located inside the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// `E200`, `E201` or `E202`.
    pub code: Code,
    /// Where in the condition text.
    pub span: CondSpan,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub note: Option<String>,
}

impl CondError {
    pub(crate) fn new(code: Code, span: CondSpan, message: impl Into<String>) -> Self {
        CondError {
            code,
            span,
            message: message.into(),
            note: None,
        }
    }

    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.note = Some(note.to_string());
        self
    }
}

/// Parses a condition string into its tree.
pub fn parse(src: &str) -> Result<Cond, CondError> {
    parser::parse(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(s).unwrap().to_string()
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(p("a or b and not c"), "(a or (b and not c))");
        assert_eq!(p("a and b or c and d"), "((a and b) or (c and d))");
        assert_eq!(p("not a and b"), "(not a and b)");
        assert_eq!(p("not (a or b)"), "not (a or b)");
        assert_eq!(p("not not a"), "a");
    }

    #[test]
    fn either_case_operators() {
        assert_eq!(p("a AND NOT b OR c"), "((a and not b) or c)");
        assert_eq!(
            p("ALL OF sel_* and Any Of them"),
            "(all of sel_* and 1 of them)"
        );
    }

    #[test]
    fn identifiers_that_look_like_keywords() {
        assert_eq!(
            p("notepad and orig and android"),
            "(notepad and orig and android)"
        );
        assert_eq!(p("not_filter or them"), "(not_filter or them)");
        assert_eq!(p("1"), "1");
    }

    #[test]
    fn selectors() {
        assert_eq!(
            p("1 of sel* and all of them"),
            "(1 of sel* and all of them)"
        );
        assert_eq!(p("any of filter_*"), "1 of filter_*");
    }

    #[test]
    fn round_trip() {
        for s in [
            "a",
            "(a or b) and c",
            "not (a and (b or not c))",
            "1 of x* or all of them",
        ] {
            let printed = p(s);
            assert_eq!(p(&printed), printed);
        }
    }

    #[test]
    fn errors_name_tokens_and_columns() {
        let e = parse("(sel and filter").unwrap_err();
        assert_eq!(e.code, Code::ConditionSyntax);
        assert_eq!(e.span.start, 15);
        assert!(
            e.message.contains("`and`") && e.message.contains("`or`") && e.message.contains("`)`"),
            "{}",
            e.message
        );
        let e = parse("sel and").unwrap_err();
        assert_eq!(e.span.start, 7);
        let e = parse("sel filter").unwrap_err();
        assert_eq!(e.span.start, 4);
        assert_eq!(
            e.message,
            "expected `and`, `or` or the end of the condition, found `filter`"
        );
    }

    #[test]
    fn pipe_and_depth_limits() {
        let e = parse("sel | count() > 5").unwrap_err();
        assert_eq!((e.code, e.span.start), (Code::ConditionPipe, 4));
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse(&deep).unwrap_err();
        assert_eq!(
            (e.code, e.span.start),
            (Code::ConditionTooDeep, MAX_NESTING)
        );
        let many_nots = format!("{}a", "not ".repeat(10_001));
        assert_eq!(parse(&many_nots).unwrap().to_string(), "not a");
    }
}
