//! An explanation as an indented tree of lines, each with a verdict, and its rendering as
//! aligned text (coloured when asked).

use crate::report::Paint;
use std::fmt::Write as _;

/// The outcome of one node of an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It holds.
    True,
    /// It does not hold.
    False,
    /// It does not hold because the field it reads is not in the event.
    Missing,
}

impl Verdict {
    /// `True` when `b`.
    pub fn of(b: bool) -> Verdict {
        if b { Verdict::True } else { Verdict::False }
    }

    /// Does it hold?
    pub fn holds(self) -> bool {
        self == Verdict::True
    }

    fn word(self) -> &'static str {
        match self {
            Verdict::True => "true",
            Verdict::False => "false",
            Verdict::Missing => "missing",
        }
    }
}

/// One line of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Nesting depth (two spaces each).
    pub depth: usize,
    /// What the node is (`sel`, `src_ip|cidr`, `not filter`).
    pub label: String,
    /// Its outcome; `None` for a line that only informs.
    pub verdict: Option<Verdict>,
    /// What was compared, where it is written.
    pub note: String,
}

impl Line {
    /// A line.
    pub fn new(depth: usize, label: impl Into<String>, verdict: Option<Verdict>) -> Line {
        Line {
            depth,
            label: label.into(),
            verdict,
            note: String::new(),
        }
    }

    /// The same line with a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Line {
        self.note = note.into();
        self
    }
}

/// Longest label column, in characters; longer labels push their verdict right.
const MAX_LABEL: usize = 56;

/// Renders lines as `label  verdict  note`, the verdicts in one column.
pub fn render(lines: &[Line], paint: Paint, out: &mut String) {
    let width = lines
        .iter()
        .map(|l| l.depth * 2 + l.label.chars().count())
        .filter(|w| *w <= MAX_LABEL)
        .max()
        .unwrap_or(0);
    for l in lines {
        let indent = "  ".repeat(l.depth);
        let used = l.depth * 2 + l.label.chars().count();
        let mut line = format!("{indent}{}", l.label);
        if let Some(v) = l.verdict {
            let pad = " ".repeat(width.saturating_sub(used) + 2);
            let word = v.word();
            let shown = match v {
                Verdict::True => paint.green(word),
                Verdict::False => paint.red(word),
                Verdict::Missing => paint.yellow(word),
            };
            let _ = write!(line, "{pad}{shown}");
            if !l.note.is_empty() {
                line.push_str(&" ".repeat(8 - word.len()));
            }
        } else if !l.note.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&paint.dim(&l.note));
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_line_up_and_notes_follow() {
        let lines = vec![
            Line::new(0, "condition: a and b", Some(Verdict::False)),
            Line::new(1, "a", Some(Verdict::True)).with_note("x = 1"),
            Line::new(1, "b", Some(Verdict::Missing)),
            Line::new(0, "info", None).with_note("only a note"),
        ];
        let mut out = String::new();
        render(&lines, Paint::off(), &mut out);
        assert_eq!(
            out,
            "condition: a and b  false\n  a                 true    x = 1\n  b                 missing\ninfo  only a note\n"
        );
    }

    #[test]
    fn colour_wraps_the_verdict_only() {
        let mut out = String::new();
        render(
            &[Line::new(0, "a", Some(Verdict::True))],
            Paint::on(),
            &mut out,
        );
        assert_eq!(out, "a  \u{1b}[32mtrue\u{1b}[0m\n");
    }
}
