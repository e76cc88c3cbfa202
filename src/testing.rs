//! Rule tests (docs/semantics.md §3.4): each test runs on a fresh engine holding the rule under
//! test, and its outcome is compared with the expectation.

use crate::alert::Alert;
use crate::compile::{RuleRef, RuleSet};
use crate::engine::Engine;
use crate::rule::{Expect, RuleTest};
use crate::source::{Adapter, Format};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The file holding the test.
    pub path: String,
    /// The rule under test (name, id or title).
    pub rule: String,
    /// The test's name.
    pub name: String,
    /// `None` when it passed; otherwise what differed.
    pub failure: Option<String>,
}

/// Runs every embedded test and every test document of the rule set, in load order.
pub fn run_all(set: &RuleSet) -> Vec<TestOutcome> {
    let mut out = Vec::new();
    for (i, r) in set.rules.iter().enumerate() {
        for t in &r.tests {
            out.push(run_one(set, RuleRef::Detection(i as u32), &r.meta.path, t));
        }
    }
    for (i, c) in set.correlations.iter().enumerate() {
        for t in &c.def.tests {
            out.push(run_one(
                set,
                RuleRef::Correlation(i as u32),
                &c.meta.path,
                t,
            ));
        }
    }
    for doc in &set.test_documents {
        if let Some(i) = set.find(&doc.rule) {
            for t in &doc.tests {
                out.push(run_one(set, i, &doc.path, t));
            }
        }
    }
    out
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
    for ev in &test.events {
        let mut alerts = Vec::new();
        if let Some(record) = adapter.json(ev.clone()).into_record() {
            let _ = engine.process_record(record, None, &mut alerts);
        }
        // Alerts wait until time moves on (tie ordering); take this event's now.
        engine.flush(&mut alerts);
        per_event.push(mine(alerts));
    }
    let mut tail = Vec::new();
    let stats = engine.finish(&mut tail);
    let tail = mine(tail);
    let failure = match &test.expect {
        Expect::Match => {
            let missed: Vec<String> = per_event
                .iter()
                .enumerate()
                .filter(|(_, a)| a.is_empty())
                .map(|(i, _)| format!("  event {} did not match: {}", i + 1, test.events[i]))
                .collect();
            (!missed.is_empty())
                .then(|| format!("expected every event to match\n{}", missed.join("\n")))
        }
        Expect::NoMatch => {
            let hit: Vec<String> = per_event
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.is_empty())
                .map(|(i, _)| format!("  event {} matched: {}", i + 1, test.events[i]))
                .collect();
            (!hit.is_empty()).then(|| format!("expected no event to match\n{}", hit.join("\n")))
        }
        Expect::Outcome {
            alerts,
            pending,
            late,
        } => {
            let actual: Vec<Alert> = per_event.into_iter().flatten().chain(tail).collect();
            let mut problems = String::new();
            compare_alerts(alerts, &actual, &mut problems);
            if let Some(p) = pending {
                let actual: Vec<Value> = stats
                    .pending
                    .iter()
                    .filter(|x| x.rule == meta.handle())
                    .map(crate::correlate::Pending::to_json)
                    .collect();
                let expected: Vec<Value> = p.iter().map(|e| normalise_pending(e, &meta)).collect();
                if actual != expected {
                    let _ = writeln!(
                        problems,
                        "  pending: expected {}, got {}",
                        Value::Array(expected),
                        Value::Array(actual)
                    );
                }
            }
            if let Some(l) = late {
                if *l != stats.late {
                    let _ = writeln!(problems, "  late: expected {l}, got {}", stats.late);
                }
            }
            (!problems.is_empty()).then(|| problems.trim_end().to_string())
        }
    };
    TestOutcome {
        path: path.to_string(),
        rule: meta.handle().to_string(),
        name: test.name.clone(),
        failure,
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

fn compare_alerts(expected: &[Map<String, Value>], actual: &[Alert], out: &mut String) {
    let project = |a: &Alert, keys: &Map<String, Value>| -> Value {
        let view = alert_view(a);
        Value::Object(
            keys.keys()
                .map(|k| (k.clone(), view.get(k).cloned().unwrap_or(Value::Null)))
                .collect(),
        )
    };
    let exp: Vec<Value> = expected
        .iter()
        .map(|e| {
            Value::Object(
                e.iter()
                    .map(|(k, v)| (k.clone(), normalise(k, v)))
                    .collect(),
            )
        })
        .collect();
    let act: Vec<Value> = actual
        .iter()
        .enumerate()
        .map(|(i, a)| match expected.get(i).or(expected.last()) {
            Some(keys) => project(a, keys),
            None => Value::Object(alert_view(a)),
        })
        .collect();
    if exp != act {
        let _ = writeln!(
            out,
            "  alerts differ (expected {}, got {}):",
            exp.len(),
            act.len()
        );
        for i in 0..exp.len().max(act.len()) {
            let e = exp.get(i).map_or_else(|| "-".to_string(), Value::to_string);
            let a = act.get(i).map_or_else(|| "-".to_string(), Value::to_string);
            let mark = if e == a { " " } else { "!" };
            let _ = writeln!(
                out,
                "  {mark} #{}: expected {e}\n  {mark}     actual   {a}",
                i + 1
            );
        }
    }
}
