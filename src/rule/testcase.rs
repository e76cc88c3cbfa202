//! `tests:` entries (docs/semantics.md §3.4): timed events and the expected outcome.

use super::model::{Expect, OutcomeSpans, RuleTest, TestSettings};
use super::yaml::{Node, NodeKind};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::time::parse_duration;

const ALERT_KEYS: &[&str] = &[
    "timestamp",
    "group",
    "value",
    "values",
    "anchor_timestamp",
    "incomplete",
];

/// Lowers the value of a `tests:` key.
pub fn lower_tests(node: &Node, path: &str, diags: &mut Diagnostics) -> Vec<RuleTest> {
    let err = |n: &Node, msg: String| Diagnostic::new(Code::BadTest, path, Some(n.span), msg);
    let NodeKind::Seq(items) = &node.kind else {
        diags.push(err(
            node,
            format!("`tests` must be a list, found {}", node.kind_name()),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match lower_test(item, path) {
            Ok(t) => out.push(t),
            Err(d) => diags.push(d),
        }
    }
    out
}

fn lower_test(item: &Node, path: &str) -> Result<RuleTest, Diagnostic> {
    let err = |n: &Node, msg: String| Diagnostic::new(Code::BadTest, path, Some(n.span), msg);
    let NodeKind::Map(entries) = &item.kind else {
        return Err(err(
            item,
            format!(
                "a test must be a map with `name`, `events` and `expect`, found {}",
                item.kind_name()
            ),
        ));
    };
    for (k, _) in entries {
        let key = k.as_str().unwrap_or_default();
        if !matches!(
            key,
            "name" | "events" | "expect" | "settings" | "description"
        ) {
            return Err(err(
                k,
                format!(
                    "unknown test key `{key}` (expected `name`, `events`, `expect`, `settings`)"
                ),
            ));
        }
    }
    let name = match item.get("name").and_then(Node::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => return Err(err(item, "a test needs a `name`".to_string())),
    };
    let events_node = item
        .get("events")
        .ok_or_else(|| err(item, format!("test `{name}` has no `events`")))?;
    let events = match &events_node.kind {
        NodeKind::Seq(evs) if !evs.is_empty() => evs
            .iter()
            .map(|e| match e.kind {
                NodeKind::Map(_) => Ok(e.to_json()),
                _ => Err(err(
                    e,
                    format!("an event must be a map, found {}", e.kind_name()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(err(
                events_node,
                format!("`events` of test `{name}` must be a non-empty list of events"),
            ));
        }
    };
    let expect_node = item
        .get("expect")
        .ok_or_else(|| err(item, format!("test `{name}` has no `expect`")))?;
    let expect = lower_expect(expect_node, path)?;
    let settings = match item.get("settings") {
        None => TestSettings::default(),
        Some(s) => lower_settings(s, path)?,
    };
    let event_spans = match &events_node.kind {
        NodeKind::Seq(evs) => evs.iter().map(|e| e.span).collect(),
        _ => Vec::new(),
    };
    Ok(RuleTest {
        name,
        span: item.span,
        expect_span: expect_node.span,
        event_spans,
        settings,
        events,
        expect,
    })
}

fn lower_expect(node: &Node, path: &str) -> Result<Expect, Diagnostic> {
    let err = |n: &Node, msg: String| Diagnostic::new(Code::BadTest, path, Some(n.span), msg);
    match &node.kind {
        NodeKind::Scalar(..) => match node.as_str() {
            Some("match") => Ok(Expect::Match),
            Some("no_match") => Ok(Expect::NoMatch),
            _ => Err(err(
                node,
                "`expect` is `match`, `no_match` or a map with `alerts`".to_string(),
            )),
        },
        NodeKind::Map(entries) => {
            let mut alerts = Vec::new();
            let mut pending = None;
            let mut late = None;
            let mut spans = OutcomeSpans::default();
            for (k, v) in entries {
                match k.as_str().unwrap_or_default() {
                    "alerts" => {
                        spans.alerts = k.span;
                        let NodeKind::Seq(items) = &v.kind else {
                            return Err(err(v, "`alerts` must be a list".to_string()));
                        };
                        for a in items {
                            let serde_json::Value::Object(map) = a.to_json() else {
                                return Err(err(a, "an expected alert must be a map".to_string()));
                            };
                            if let Some(bad) =
                                map.keys().find(|k| !ALERT_KEYS.contains(&k.as_str()))
                            {
                                return Err(err(
                                    a,
                                    format!(
                                        "unknown alert key `{bad}` (expected one of {})",
                                        ALERT_KEYS.join(", ")
                                    ),
                                ));
                            }
                            alerts.push(map);
                            spans.each.push(a.span);
                        }
                    }
                    "pending" => match v.to_json() {
                        serde_json::Value::Array(items) => {
                            spans.pending = k.span;
                            pending = Some(items);
                        }
                        _ => return Err(err(v, "`pending` must be a list".to_string())),
                    },
                    "late" => match v.to_json().as_u64() {
                        Some(n) => {
                            spans.late = k.span;
                            late = Some(n);
                        }
                        None => return Err(err(v, "`late` must be a whole number".to_string())),
                    },
                    other => {
                        return Err(err(
                            k,
                            format!(
                                "unknown expect key `{other}` (expected `alerts`, `pending`, `late`)"
                            ),
                        ));
                    }
                }
            }
            Ok(Expect::Outcome {
                alerts,
                pending,
                late,
                spans,
            })
        }
        NodeKind::Seq(_) => Err(err(
            node,
            "`expect` is `match`, `no_match` or a map with `alerts`".to_string(),
        )),
    }
}

fn lower_settings(node: &Node, path: &str) -> Result<TestSettings, Diagnostic> {
    let err = |n: &Node, msg: String| Diagnostic::new(Code::BadTest, path, Some(n.span), msg);
    let NodeKind::Map(entries) = &node.kind else {
        return Err(err(node, "`settings` must be a map".to_string()));
    };
    let mut s = TestSettings::default();
    for (k, v) in entries {
        match k.as_str().unwrap_or_default() {
            "max_lateness" => {
                s.max_lateness = Some(match v.as_str().map(parse_duration) {
                    Some(Ok(d)) => d,
                    Some(Err(e)) => return Err(err(v, format!("`max_lateness` {e}"))),
                    None => {
                        return Err(err(
                            v,
                            "`max_lateness` is a duration such as `10m`".to_string(),
                        ));
                    }
                });
            }
            "eof" => {
                s.eof_flush = match v.as_str() {
                    Some("flush") => true,
                    Some("hold") => false,
                    _ => return Err(err(v, "`eof` is `hold` or `flush`".to_string())),
                };
            }
            other => {
                return Err(err(
                    k,
                    format!("unknown setting `{other}` (expected `max_lateness`, `eof`)"),
                ));
            }
        }
    }
    Ok(s)
}
