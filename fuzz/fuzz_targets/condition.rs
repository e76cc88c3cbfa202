//! Conditions: `condition::parse` never panics; a parsed condition's spans lie inside the
//! text, and its printed form (`Display`) parses back to the same tree (ast.rs), unless the
//! print nests deeper than `MAX_NESTING` (then it is refused with E202).

#![no_main]

use libfuzzer_sys::fuzz_target;
use session_sigma::Code;
use session_sigma::condition::{self, Cond, CondKind};

/// The tree without spans (the printed text has other offsets).
#[derive(Debug, PartialEq)]
enum Shape {
    And(Vec<Shape>),
    Or(Vec<Shape>),
    Not(Box<Shape>),
    Ident(String),
    Selector(String),
}

fn shape(c: &Cond) -> Shape {
    match &c.kind {
        CondKind::And(v) => Shape::And(v.iter().map(shape).collect()),
        CondKind::Or(v) => Shape::Or(v.iter().map(shape).collect()),
        CondKind::Not(inner) => Shape::Not(Box::new(shape(inner))),
        CondKind::Ident(s) => Shape::Ident(s.clone()),
        CondKind::Selector(q, t) => Shape::Selector(format!("{q:?} {t:?}")),
    }
}

fn paren_depth(s: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn spans_inside(c: &Cond, chars: usize) {
    assert!(
        c.span.start + c.span.len <= chars,
        "span {:?} outside a condition of {chars} characters",
        c.span
    );
    match &c.kind {
        CondKind::And(v) | CondKind::Or(v) => v.iter().for_each(|x| spans_inside(x, chars)),
        CondKind::Not(inner) => spans_inside(inner, chars),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let chars = src.chars().count();
    match condition::parse(src) {
        Err(e) => assert!(
            e.span.start <= chars,
            "error span {:?} outside a condition of {chars} characters",
            e.span
        ),
        Ok(tree) => {
            spans_inside(&tree, chars);
            let printed = tree.to_string();
            // The printer puts parentheses around every `and` / `or`, so a condition within
            // the nesting limit can print deeper than it (`a or b and (c or d and (…))`
            // doubles): such a print is refused as too deep, never read as another tree.
            if paren_depth(&printed) > condition::MAX_NESTING {
                let e = condition::parse(&printed).expect_err("deeper than the limit");
                assert_eq!(e.code, Code::ConditionTooDeep, "printed {printed:?}");
                return;
            }
            let again = condition::parse(&printed)
                .unwrap_or_else(|e| panic!("printed {printed:?} does not parse: {e:?}"));
            assert_eq!(shape(&again), shape(&tree), "printed {printed:?}");
            assert_eq!(again.to_string(), printed);
        }
    }
});
