//! Rule tests (docs/semantics.md §3.4): each test runs on a fresh engine holding the rule under
//! test, and its outcome is compared with the expectation.

use crate::alert::Alert;
use crate::compile::{RuleRef, RuleSet};
use crate::diag::Span;
use crate::engine::Engine;
use crate::rule::{Expect, OutcomeSpans, RuleTest};
use crate::source::{Adapter, Format};
use serde_json::{Map, Value};

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The file holding the test.
    pub path: String,
    /// The rule under test (name, id or title).
    pub rule: String,
    /// The test's name.
    pub name: String,
    /// Where the test is written.
    pub span: Span,
    /// `None` when it passed; otherwise what differed.
    pub failure: Option<Failure>,
}

/// Why a test failed: one problem per expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file the test is in (problems point into it).
    pub path: String,
    /// The problems, in the order the expectations are written.
    pub problems: Vec<Problem>,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the expectation (or the event it is about) is written.
    pub span: Span,
    /// What failed, in one line.
    pub message: String,
    /// Detail lines: the keys that differ, or the explanation of the event.
    pub detail: Vec<String>,
}

impl std::fmt::Display for Failure {
    /// `path:line:col: message` per problem, its detail indented under it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "  {}:{}:{}: {}",
                self.path,
                p.span.line,
                p.span.col + 1,
                p.message
            )?;
            for d in &p.detail {
                write!(f, "\n      {d}")?;
            }
        }
        Ok(())
    }
}

/// Runs every embedded test and every test document of the rule set, in load order.
pub fn run_all(set: &RuleSet) -> Vec<TestOutcome> {
    run_matching(set, &|_, _| true)
}

/// As [`run_all`], only the tests for which `keep(rule, test name)` holds.
pub fn run_matching(set: &RuleSet, keep: &dyn Fn(&str, &str) -> bool) -> Vec<TestOutcome> {
    let mut todo: Vec<(RuleRef, &str, &RuleTest)> = Vec::new();
    for (i, r) in set.rules.iter().enumerate() {
        for t in &r.tests {
            todo.push((RuleRef::Detection(i as u32), &r.meta.path, t));
        }
    }
    for (i, c) in set.correlations.iter().enumerate() {
        for t in &c.def.tests {
            todo.push((RuleRef::Correlation(i as u32), &c.meta.path, t));
        }
    }
    for doc in &set.test_documents {
        if let Some(i) = set.find(&doc.rule) {
            for t in &doc.tests {
                todo.push((i, &doc.path, t));
            }
        }
    }
    todo.into_iter()
        .filter(|(r, _, t)| keep(set.meta(*r).handle(), &t.name))
        .map(|(r, path, t)| run_one(set, r, path, t))
        .collect()
}

/// Does a `--filter` pattern select this test? With `*` it is a wildcard pattern of the
/// whole test name or rule; otherwise a substring of either (case-sensitive).
pub fn filter_selects(pattern: &str, rule: &str, name: &str) -> bool {
    if pattern.contains('*') {
        [rule, name]
            .iter()
            .any(|s| crate::rule::glob(pattern.as_bytes(), s.as_bytes()))
    } else {
        rule.contains(pattern) || name.contains(pattern)
    }
}

/// Runs one test of `rule`, on a fresh engine holding it and the rules it references.
pub fn run_one(set: &RuleSet, rule: RuleRef, path: &str, test: &RuleTest) -> TestOutcome {
    let sub = set.subset(&[rule]);
    let meta = set.meta(rule).clone();
    let settings = crate::engine::Settings {
        max_lateness: test.settings.max_lateness.unwrap_or(0),
        eof_flush: test.settings.eof_flush,
        ..Default::default()
    };
    let mut engine = Engine::with_settings(&sub, settings);
    let mut per_event: Vec<Vec<Alert>> = Vec::new();
    let mine = |alerts: Vec<Alert>| -> Vec<Alert> {
        alerts.into_iter().filter(|a| *a.rule == *meta).collect()
    };
    // Test events are read as `run --input-format auto` reads records: Windows records in
    // any shape reach Windows rules as flattened records, session rules as session events.
    let mut adapter = Adapter::new(Format::Auto, None);
    let mut records = Vec::new();
    for ev in &test.events {
        let mut alerts = Vec::new();
        let record = adapter.json(ev.clone()).into_record();
        if let Some(record) = &record {
            let _ = engine.process_record(record.clone(), None, &mut alerts);
        }
        records.push(record);
        // Alerts wait until time moves on (tie ordering); take this event's now.
        engine.flush(&mut alerts);
        per_event.push(mine(alerts));
    }
    let mut tail = Vec::new();
    let stats = engine.finish(&mut tail);
    let tail = mine(tail);
    let event_at = |i: usize| test.event_spans.get(i).copied().unwrap_or(test.span);
    // Why event `i` did (not) match, as the explanation tree (detection rules).
    let why = |i: usize| -> Vec<String> {
        match (&records[i], rule) {
            (Some(r), RuleRef::Detection(_)) => match crate::explain::event(set, rule, r) {
                Ok(e) => e
                    .render(crate::report::Paint::off())
                    .lines()
                    .skip(1)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                Err(e) => vec![e],
            },
            (None, _) => vec!["the adapters skip this record: no rule reads it".to_string()],
            _ => Vec::new(),
        }
    };
    let mut problems = Vec::new();
    match &test.expect {
        Expect::Match | Expect::NoMatch => {
            let want = matches!(test.expect, Expect::Match);
            for (i, alerts) in per_event.iter().enumerate() {
                if alerts.is_empty() == want {
                    let message = if want {
                        format!("event {} did not match (expect: match)", i + 1)
                    } else {
                        format!("event {} matched (expect: no_match)", i + 1)
                    };
                    problems.push(Problem {
                        span: event_at(i),
                        message,
                        detail: why(i),
                    });
                }
            }
        }
        Expect::Outcome {
            alerts,
            pending,
            late,
            spans,
        } => {
            let actual: Vec<Alert> = per_event.into_iter().flatten().chain(tail).collect();
            compare_alerts(alerts, &actual, spans, test.expect_span, &mut problems);
            if let Some(p) = pending {
                let actual: Vec<Value> = stats
                    .pending
                    .iter()
                    .filter(|x| x.rule == meta.handle())
                    .map(crate::correlate::Pending::to_json)
                    .collect();
                let expected: Vec<Value> = p.iter().map(|e| normalise_pending(e, &meta)).collect();
                if actual != expected {
                    problems.push(Problem {
                        span: spans.pending,
                        message: format!(
                            "pending differs (expected {}, got {})",
                            expected.len(),
                            actual.len()
                        ),
                        detail: vec![
                            format!("expected {}", Value::Array(expected)),
                            format!("actual   {}", Value::Array(actual)),
                        ],
                    });
                }
            }
            if let Some(l) = late {
                if *l != stats.late {
                    problems.push(Problem {
                        span: spans.late,
                        message: format!("late: expected {l}, got {}", stats.late),
                        detail: Vec::new(),
                    });
                }
            }
        }
    }
    TestOutcome {
        path: path.to_string(),
        rule: meta.handle().to_string(),
        name: test.name.clone(),
        span: test.span,
        failure: (!problems.is_empty()).then(|| Failure {
            path: path.to_string(),
            problems,
        }),
    }
}

/// An expected pending entry: `rule` defaults to the rule under test; `deadline` is
/// normalised like a timestamp.
fn normalise_pending(e: &Value, meta: &crate::rule::RuleMeta) -> Value {
    let mut m = e.as_object().cloned().unwrap_or_default();
    m.entry("rule")
        .or_insert_with(|| Value::String(meta.handle().to_string()));
    if let Some(d) = m.get("deadline").cloned() {
        m.insert("deadline".into(), normalise("timestamp", &d));
    }
    Value::Object(m)
}

/// The keys of an alert that a test may check, as JSON.
fn alert_view(a: &Alert) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "timestamp".into(),
        a.timestamp
            .map_or(Value::Null, |t| Value::String(t.to_string())),
    );
    if let Some(g) = &a.group {
        m.insert("group".into(), Value::Object(g.iter().cloned().collect()));
    }
    if let Some(v) = a.value {
        m.insert(
            "value".into(),
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        );
    }
    if let Some(v) = &a.values {
        m.insert("values".into(), Value::Array(v.clone()));
    }
    if let Some(t) = a.anchor_timestamp {
        m.insert("anchor_timestamp".into(), Value::String(t.to_string()));
    }
    m.insert("incomplete".into(), Value::Bool(a.incomplete));
    m
}

/// Normalises an expected value: timestamps re-printed, numbers compared as numbers.
fn normalise(key: &str, v: &Value) -> Value {
    match (key, v) {
        ("timestamp" | "anchor_timestamp", Value::String(s)) => crate::time::parse_rfc3339(s)
            .map_or_else(|| v.clone(), |t| Value::String(t.to_string())),
        ("value", Value::Number(n)) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(v.clone(), Value::Number),
        _ => v.clone(),
    }
}

/// Expected alerts against actual ones: the longest run of alerts that agree in order is
/// matched first (so one missing alert does not make every later one "differ"), then the
/// expected and actual alerts left between two agreeing ones are paired in order (a
/// difference, with only the keys that differ), and what is left over is missing or extra.
fn compare_alerts(
    expected: &[Map<String, Value>],
    actual: &[Alert],
    spans: &OutcomeSpans,
    expect_span: Span,
    out: &mut Vec<Problem>,
) {
    let exp: Vec<Map<String, Value>> = expected
        .iter()
        .map(|e| {
            e.iter()
                .map(|(k, v)| (k.clone(), normalise(k, v)))
                .collect()
        })
        .collect();
    let views: Vec<Map<String, Value>> = actual.iter().map(alert_view).collect();
    let agree = |e: &Map<String, Value>, a: &Map<String, Value>| {
        e.iter().all(|(k, v)| a.get(k).unwrap_or(&Value::Null) == v)
    };
    let pairs = lcs(exp.len(), views.len(), &|i, j| agree(&exp[i], &views[j]));
    let at = |i: usize| spans.each.get(i).copied().unwrap_or(expect_span);
    let extra_at = if spans.alerts == Span::default() {
        expect_span
    } else {
        spans.alerts
    };
    let (mut i, mut j) = (0, 0);
    for &(pi, pj) in pairs
        .iter()
        .chain(std::iter::once(&(exp.len(), views.len())))
    {
        // Between two agreeing alerts: pair what is left in order, then missing / extra.
        while i < pi && j < pj {
            let detail = exp[i]
                .iter()
                .filter(|(k, v)| views[j].get(*k).unwrap_or(&Value::Null) != *v)
                .map(|(k, v)| {
                    let got = views[j]
                        .get(k)
                        .map_or_else(|| "-".to_string(), Value::to_string);
                    format!("{k}: expected {v}, got {got}")
                })
                .collect();
            out.push(Problem {
                span: at(i),
                message: format!("expected alert #{} differs from alert #{}", i + 1, j + 1),
                detail,
            });
            i += 1;
            j += 1;
        }
        while i < pi {
            out.push(Problem {
                span: at(i),
                message: format!(
                    "expected alert #{} is missing: {}",
                    i + 1,
                    Value::Object(exp[i].clone())
                ),
                detail: Vec::new(),
            });
            i += 1;
        }
        while j < pj {
            out.push(Problem {
                span: extra_at,
                message: format!("extra alert #{}: {}", j + 1, shown_alert(&views[j])),
                detail: Vec::new(),
            });
            j += 1;
        }
        i = pi + 1;
        j = pj + 1;
    }
}

/// An actual alert's checkable keys for a message (`incomplete` only when true).
fn shown_alert(view: &Map<String, Value>) -> Value {
    let mut v = view.clone();
    if v.get("incomplete") == Some(&Value::Bool(false)) {
        v.remove("incomplete");
    }
    Value::Object(v)
}

/// The longest common subsequence of two sequences, as index pairs in order (`same(i, j)`
/// says whether item `i` of the first agrees with item `j` of the second).
fn lcs(n: usize, m: usize, same: &dyn Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    // len[i][j]: the LCS length of the suffixes from i and j.
    let mut len = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i][j] = if same(i, j) {
                len[i + 1][j + 1] + 1
            } else {
                len[i + 1][j].max(len[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if same(i, j) && len[i][j] == len[i + 1][j + 1] + 1 {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if len[i + 1][j] >= len[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_matches_the_longest_agreeing_run() {
        let a = [1, 2, 3, 4];
        let b = [1, 3, 4, 5];
        assert_eq!(
            lcs(4, 4, &|i, j| a[i] == b[j]),
            vec![(0, 0), (2, 1), (3, 2)]
        );
        assert_eq!(lcs(0, 2, &|_, _| true), vec![]);
    }

    #[test]
    fn filters_select_by_substring_or_wildcard() {
        assert!(filter_selects("boundary", "r", "boundary - the fifth"));
        assert!(filter_selects("rdp_*", "rdp_logon", "x"));
        assert!(!filter_selects("rdp_*", "logon_rdp", "x"));
        assert!(!filter_selects("nothing", "r", "n"));
    }
}
