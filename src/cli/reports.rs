//! Machine-readable reports for CI: rule test outcomes as JUnit XML or SARIF 2.1.0, and
//! `check` diagnostics as SARIF or JSON lines (one object per diagnostic, with its span).

use crate::diag::{Diagnostic, Diagnostics, Severity, Span};
use crate::testing::TestOutcome;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// `--report KIND=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub kind: ReportKind,
    pub path: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Junit,
    Sarif,
}

/// Parses `junit=FILE` / `sarif=FILE`.
pub fn parse_report(s: &str) -> Result<ReportSpec, String> {
    let (kind, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KIND=FILE (junit=FILE or sarif=FILE)"))?;
    let kind = match kind {
        "junit" => ReportKind::Junit,
        "sarif" => ReportKind::Sarif,
        other => return Err(format!("unknown report kind `{other}` (junit or sarif)")),
    };
    if path.is_empty() {
        return Err(format!("`{s}` names no file"));
    }
    Ok(ReportSpec {
        kind,
        path: path.into(),
    })
}

/// Writes a report file; an error message on failure.
pub fn write(spec: &ReportSpec, text: &str) -> Result<(), String> {
    std::fs::write(&spec.path, text)
        .map_err(|e| format!("cannot write report {}: {e}", spec.path.display()))
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Rule test outcomes as JUnit XML: one `testsuite` per rule file, one `testcase` per
/// test (`classname` the rule, `file`/`line` where the test is written), a `failure` with
/// the report text for each failing test.
pub fn junit(outcomes: &[TestOutcome]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for o in outcomes {
        if !files.contains(&o.path.as_str()) {
            files.push(&o.path);
        }
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"session-sigma\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">",
        outcomes.len()
    );
    for f in files {
        let mine: Vec<&TestOutcome> = outcomes.iter().filter(|o| o.path == f).collect();
        let failures = mine.iter().filter(|o| o.failure.is_some()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
            xml_escape(f),
            mine.len()
        );
        for o in mine {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                xml_escape(&o.name),
                xml_escape(&o.rule),
                xml_escape(&o.path),
                o.span.line
            );
            match &o.failure {
                None => {
                    let _ = writeln!(out, "{open}/>");
                }
                Some(fail) => {
                    let first = fail
                        .problems
                        .first()
                        .map_or_else(String::new, |p| p.message.clone());
                    let _ = writeln!(out, "{open}>");
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"expectation\">{}</failure>",
                        xml_escape(&first),
                        xml_escape(&fail.to_string())
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF 2.1.0 log of one run of this tool with `rules` (id, short description) and
/// `results`.
fn sarif_log(rules: Vec<Value>, results: Vec<Value>) -> String {
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "session-sigma",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// A SARIF location in `path` at `span` (SARIF lines and columns count from 1).
fn location(path: &str, span: Span) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(path)},
        "region": {
            "startLine": span.line.max(1),
            "startColumn": span.col + 1,
            "endColumn": span.col + 1 + span.len.max(1),
        },
    }})
}

/// A relative path as a URI reference (forward slashes, spaces and `%` escaped).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for c in path.replace('\\', "/").chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}

/// Failing rule tests as SARIF results (rule `test-failure`), one per problem, at the
/// expectation that did not hold.
pub fn sarif_tests(outcomes: &[TestOutcome]) -> String {
    let rules = vec![json!({
        "id": "test-failure",
        "shortDescription": {"text": "A rule test's expectation does not hold"},
    })];
    let mut results = Vec::new();
    for o in outcomes {
        let Some(f) = &o.failure else { continue };
        for p in &f.problems {
            let mut text = format!("{} :: {}: {}", o.rule, o.name, p.message);
            for d in &p.detail {
                text.push('\n');
                text.push_str(d);
            }
            results.push(json!({
                "ruleId": "test-failure",
                "level": "error",
                "message": {"text": text},
                "locations": [location(&f.path, p.span)],
            }));
        }
    }
    sarif_log(rules, results)
}

/// `check` diagnostics as SARIF results: one reporting rule per diagnostic code used.
pub fn sarif_check(diags: &Diagnostics) -> String {
    let mut codes: Vec<crate::diag::Code> = Vec::new();
    for d in diags.iter() {
        if !codes.contains(&d.code) {
            codes.push(d.code);
        }
    }
    let rules = codes
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "defaultConfiguration": {"level": level(c.severity())},
            })
        })
        .collect();
    let results = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            for n in &d.notes {
                text.push_str("\nhelp: ");
                text.push_str(n);
            }
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "level": level(d.severity),
                "message": {"text": text},
            });
            let loc = match d.span {
                Some(s) => location(&d.path, s),
                None => json!({"physicalLocation": {"artifactLocation": {"uri": uri(&d.path)}}}),
            };
            r["locations"] = json!([loc]);
            r
        })
        .collect();
    sarif_log(rules, results)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// One diagnostic as a JSON line: path, 1-based line and column (and end column), the
/// severity, code, message, label and notes.
pub fn diagnostic_json(d: &Diagnostic) -> String {
    let mut v = json!({
        "path": d.path,
        "severity": level(d.severity),
        "code": d.code.as_str(),
        "message": d.message,
    });
    if let Some(s) = d.span {
        v["line"] = json!(s.line);
        v["column"] = json!(s.col + 1);
        v["end_column"] = json!(s.col + 1 + s.len.max(1));
    }
    if let Some(l) = &d.label {
        v["label"] = json!(l);
    }
    if !d.notes.is_empty() {
        v["notes"] = json!(d.notes);
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_specs_parse_and_reject_nonsense() {
        assert_eq!(
            parse_report("junit=out/j.xml"),
            Ok(ReportSpec {
                kind: ReportKind::Junit,
                path: "out/j.xml".into()
            })
        );
        assert!(
            parse_report("xml=f")
                .unwrap_err()
                .contains("unknown report kind")
        );
        assert!(parse_report("sarif").unwrap_err().contains("KIND=FILE"));
        assert!(parse_report("sarif=").unwrap_err().contains("no file"));
    }

    #[test]
    fn xml_text_is_escaped_and_control_characters_replaced() {
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{fffd}"
        );
    }
}
