//! The one place diagnostics are drawn as text: a header line
//! `path:line:col: error[CODE]: message`, the offending source line with a caret, a label
//! and notes.

use crate::diag::Diagnostic;
use std::fmt::Write as _;

/// Renders a diagnostic; `source` is the file's text when available.
pub fn render(d: &Diagnostic, source: Option<&str>) -> String {
    render_painted(d, source, Paint::off())
}

/// [`render`] with the severity and code coloured (red errors, yellow warnings) and the
/// caret line in the same colour.
pub fn render_painted(d: &Diagnostic, source: Option<&str>, paint: Paint) -> String {
    let colour = |s: &str| match d.severity {
        crate::diag::Severity::Error => paint.red(s),
        crate::diag::Severity::Warning => paint.yellow(s),
    };
    let mut out = d.header(&colour);
    out.push('\n');
    if let (Some(span), Some(text)) = (d.span, source) {
        if let Some(line) = text.lines().nth((span.line as usize).saturating_sub(1)) {
            let (line, col, len) = excerpt(line.trim_end(), span.col as usize, span.len as usize);
            let num = span.line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{num} | {line}");
            // Columns count characters; tabs are kept so the caret lines up in terminals.
            let lead: String = line
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = len.clamp(1, line.chars().count().saturating_sub(col).max(1));
            let label = d
                .label
                .as_deref()
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            let caret = colour(&format!("{}{label}", "^".repeat(width)));
            let _ = writeln!(out, "{pad} | {lead}{caret}");
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "  = help: {n}");
    }
    out
}

/// Longest source line shown whole, in characters.
const MAX_SHOWN: usize = 120;

/// Characters of context kept before the span when a long line is cut.
const CONTEXT: usize = 40;

/// The part of a source line to show: the whole line when it is short, otherwise a window
/// around the span (at most [`MAX_SHOWN`] characters, `…` where text was cut), with the
/// span's column and length within the shown text.
fn excerpt(line: &str, col: usize, len: usize) -> (String, usize, usize) {
    let count = line.chars().count();
    if count <= MAX_SHOWN {
        return (line.to_string(), col, len);
    }
    let start = col.saturating_sub(CONTEXT);
    let end = (start + MAX_SHOWN).min(count);
    let mut shown = String::new();
    let mut shift = 0;
    if start > 0 {
        shown.push('…');
        shift = 1;
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < count {
        shown.push('…');
    }
    // The caret may run on to the closing `…`, never past it.
    let len = len.min(end.saturating_sub(col) + usize::from(end < count));
    (shown, col - start + shift, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Span};

    #[test]
    fn caret_under_the_offending_text() {
        let text = "title: x\ndetection:\n  sel:\n    CommandLine|contans: foo\n";
        let d = Diagnostic::new(
            Code::UnknownModifier,
            "r.yml",
            Some(Span::new(4, 16, 7)),
            "unknown modifier `contans`",
        )
        .with_label("not a Sigma modifier")
        .with_note("did you mean `contains`?");
        assert_eq!(
            render(&d, Some(text)),
            "r.yml:4:17: error[E302]: unknown modifier `contans`\n  |\n4 |     CommandLine|contans: foo\n  |                 ^^^^^^^ not a Sigma modifier\n  = help: did you mean `contains`?\n"
        );
    }

    /// A 10,000-character line is cut to a window around the span, the caret still under it.
    #[test]
    fn a_long_line_is_cut_around_the_span() {
        let value = "A".repeat(10_000);
        let text = format!("detection:\n  sel:\n    user|wide: '{value}' # end\n");
        let d = Diagnostic::new(
            Code::EncodedTooLong,
            "r.yml",
            Some(Span::new(3, 15, 10_002)),
            "too long",
        );
        let shown = render(&d, Some(&text));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 4, "{shown}");
        let code = lines[2].strip_prefix("3 | ").expect("source line");
        assert_eq!(code, format!("    user|wide: '{}…", "A".repeat(104)));
        let caret = lines[3].strip_prefix("  | ").expect("caret line");
        assert_eq!(caret, format!("{}{}", " ".repeat(15), "^".repeat(106)));
        // A span far into the line: the window starts 40 characters before it.
        let d = Diagnostic::new(
            Code::EncodedTooLong,
            "r.yml",
            Some(Span::new(3, 5_000, 3)),
            "too long",
        );
        let shown = render(&d, Some(&text));
        let lines: Vec<&str> = shown.lines().collect();
        let code = lines[2].strip_prefix("3 | ").expect("source line");
        assert_eq!(code, format!("…{}…", "A".repeat(120)));
        let caret = lines[3].strip_prefix("  | ").expect("caret line");
        assert_eq!(caret, format!("{}^^^", " ".repeat(41)));
    }
}

/// ANSI colour for text meant for a terminal, or none (`Paint::off()`, the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paint(bool);

impl Paint {
    /// Colour on.
    pub fn on() -> Paint {
        Paint(true)
    }

    /// Colour off: every method returns its text unchanged.
    pub fn off() -> Paint {
        Paint(false)
    }

    /// Is colour on?
    pub fn enabled(self) -> bool {
        self.0
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 && !text.is_empty() {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }

    /// Green (true, passed).
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Red (false, failed, errors).
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Yellow (missing, warnings).
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Bold (headers).
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Dim (notes).
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}
