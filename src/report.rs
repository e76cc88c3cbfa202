//! The one place diagnostics are drawn as text: a header line
//! `path:line:col: error[CODE]: message`, the offending source line with a caret, a label
//! and notes.

use crate::diag::Diagnostic;
use std::fmt::Write as _;

/// Renders a diagnostic; `source` is the file's text when available.
pub fn render(d: &Diagnostic, source: Option<&str>) -> String {
    let mut out = d.to_string();
    out.push('\n');
    if let (Some(span), Some(text)) = (d.span, source) {
        if let Some(line) = text.lines().nth((span.line as usize).saturating_sub(1)) {
            let line = line.trim_end();
            let num = span.line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{num} | {line}");
            // Columns count characters; tabs are kept so the caret lines up in terminals.
            let lead: String = line
                .chars()
                .take(span.col as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = (span.len as usize).clamp(
                1,
                line.chars()
                    .count()
                    .saturating_sub(span.col as usize)
                    .max(1),
            );
            let label = d
                .label
                .as_deref()
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            let _ = writeln!(out, "{pad} | {lead}{}{label}", "^".repeat(width));
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "  = help: {n}");
    }
    out
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
}
