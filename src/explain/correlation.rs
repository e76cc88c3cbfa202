//! How a correlation stands over a stream of events: per event, the rules it feeds the
//! correlation with and its group; the alerts as they fire; then each live group's window
//! (or values, stages, obligations) and its aggregate against the condition, as the
//! engine holds them.
//!
//! The events run through a fresh engine holding the correlation and the rules it
//! references (as a rule test does), so what is shown is the engine's own state.

use super::Explanation;
use super::tree::{Line, Verdict};
use crate::alert::Alert;
use crate::compile::{RuleRef, RuleSet};
use crate::engine::{Engine, Settings};
use crate::event::Record;
use serde_json::Value;

/// Explains correlation `rule` of `set` over `events` (line number, record) of `file`.
pub fn stream(
    set: &RuleSet,
    rule: RuleRef,
    events: &[(u64, Record)],
    file: &str,
) -> Result<Explanation, String> {
    let RuleRef::Correlation(_) = rule else {
        return Err("a detection rule is explained on one event: give --line N".into());
    };
    let meta = set.meta(rule).clone();
    let sub = set.subset(&[rule]);
    let Some(RuleRef::Correlation(ci)) = sub.find(meta.handle()) else {
        return Err("the rule is not in its own subset".into());
    };
    let c = &sub.correlations[ci as usize];
    let inputs = detection_inputs(&sub, RuleRef::Correlation(ci));
    let mut header = vec![super::rule_line(&meta)];
    let groups: Vec<&str> = c.group_by.iter().map(|g| g.name.as_str()).collect();
    let mut about = format!(
        "type: {}, group-by: [{}]",
        c.def.kind.as_str(),
        groups.join(", ")
    );
    if let Some(t) = c.def.timespan {
        about.push_str(&format!(", timespan: {}", crate::time::format_duration(t)));
    }
    if !c.def.condition.is_empty() {
        about.push_str(&format!(
            ", condition: {}",
            crate::rule::CmpOp::describe_all(&c.def.condition, "value")
        ));
    }
    header.push(about);
    let mut engine = Engine::with_settings(&sub, Settings::default());
    let mut lines = Vec::new();
    let mut fired = 0usize;
    for (n, record) in events {
        let ts = record
            .event
            .get("timestamp")
            .or_else(|| record.event.get("TimeCreated"))
            .and_then(Value::as_str)
            .unwrap_or("no timestamp");
        // The record matched once, for every rule of the subset.
        let hits = super::matching_record(&sub, record);
        let matched: Vec<&(RuleRef, String)> = inputs
            .iter()
            .filter(|(r, _)| matches!(r, RuleRef::Detection(d) if hits.contains(d)))
            .collect();
        let names: Vec<&str> = matched.iter().map(|(_, n)| n.as_str()).collect();
        let label = if names.is_empty() {
            format!("line {n} at {ts}: no rule of the correlation")
        } else {
            format!("line {n} at {ts}: {}", names.join(", "))
        };
        let mut line = Line::new(0, label, Some(Verdict::of(!names.is_empty())));
        if let Some((via, _)) = matched.first() {
            line = line.with_note(group_of(c, *via, &record.event));
        }
        lines.push(line);
        let mut alerts: Vec<Alert> = Vec::new();
        if let Err(e) = engine.process_record(record.clone(), None, &mut alerts) {
            lines.push(Line::new(1, format!("not an event: {e}"), None));
        }
        engine.flush(&mut alerts);
        for a in alerts.iter().filter(|a| is_correlation(&sub, a)) {
            let mine = *a.rule == *meta;
            fired += usize::from(mine);
            lines.push(alert_line(a, mine));
        }
    }
    let upto = events.last().map_or(0, |(n, _)| *n);
    header.insert(
        1,
        format!(
            "events: {file}, {} event(s) up to line {upto}",
            events.len()
        ),
    );
    header.push(format!("result: {fired} alert(s)"));
    // The correlation's own groups last; those it consumes (chains) first, in the order
    // the engine feeds them.
    for &k in &sub.wiring.order {
        let described = engine.describe_groups(k);
        let whose = if k == ci {
            String::new()
        } else {
            format!(" of {}", sub.correlations[k as usize].meta.handle())
        };
        lines.push(Line::new(
            0,
            format!("groups{whose} held after line {upto}: {}", described.len()),
            None,
        ));
        for (group, state) in described {
            lines.push(Line::new(1, format!("group {}", group_json(&group)), None));
            for s in state {
                lines.push(Line::new(2, s, None));
            }
        }
    }
    Ok(Explanation {
        header,
        lines,
        fired: fired > 0,
    })
}

/// The detection rules a correlation reads, directly or through the correlations it
/// consumes, with their handles.
fn detection_inputs(set: &RuleSet, rule: RuleRef) -> Vec<(RuleRef, String)> {
    let mut out: Vec<(RuleRef, String)> = Vec::new();
    let mut todo = vec![rule];
    while let Some(r) = todo.pop() {
        match r {
            RuleRef::Detection(_) => {
                if !out.iter().any(|(o, _)| *o == r) {
                    out.push((r, set.meta(r).handle().to_string()));
                }
            }
            RuleRef::Correlation(i) => todo.extend(set.correlations[i as usize].inputs()),
        }
    }
    out.sort_by_key(|(r, _)| match r {
        RuleRef::Detection(i) | RuleRef::Correlation(i) => *i,
    });
    out
}

fn is_correlation(set: &RuleSet, a: &Alert) -> bool {
    set.correlations.iter().any(|c| *c.meta == *a.rule)
}

/// The event's `group-by` values as the rule `via` reads them.
fn group_of(c: &crate::compile::CompiledCorrelation, via: RuleRef, event: &Value) -> String {
    let parts: Vec<(String, Value)> = c
        .group_by
        .iter()
        .map(|g| {
            let path = g
                .by_rule
                .iter()
                .find(|(r, _)| *r == via)
                .map_or(&g.path, |(_, p)| p);
            (
                g.name.clone(),
                path.resolve(event).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    format!("group {}", group_json(&parts))
}

fn group_json(parts: &[(String, Value)]) -> String {
    Value::Object(parts.iter().cloned().collect()).to_string()
}

fn alert_line(a: &Alert, mine: bool) -> Line {
    let who = if mine {
        "alert".to_string()
    } else {
        format!("alert of {}", a.rule.handle())
    };
    let mut label = format!(
        "{who} at {}",
        a.timestamp
            .map_or_else(|| "-".to_string(), |t| t.to_string())
    );
    if let Some(v) = a.value {
        label.push_str(&format!(", value {v}"));
    }
    if let Some(vs) = &a.values {
        label.push_str(&format!(", values {}", Value::Array(vs.clone())));
    }
    let group = a
        .group
        .as_ref()
        .map(|g| format!("group {}", group_json(g)))
        .unwrap_or_default();
    Line::new(1, label, Some(Verdict::True)).with_note(group)
}
