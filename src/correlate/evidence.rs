//! The evidence of chained correlations (S12, DESIGN 4.1). A correlation's alert reaches
//! the correlations consuming it as an event: its time and group fields. Its text also
//! carries the alert's contributing events, under a key no event has, so that windows keep
//! it like any event text (and checkpoints with it). When an alert is made, such texts are
//! replaced by the events they carry: the alert of a chain holds the real events, the ten
//! most recent in time order, ending with the event that fired.

use super::aggregate::MAX_ALERT_EVENTS;
use crate::time::Timestamp;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;

/// How a chain event's text starts: the key of the carried events, whose first character
/// is a NUL no input field name starts with (JSON input would have to write it escaped,
/// and adapters never make it).
const PREFIX: &str = "{\"\\u0000events\":[";

/// The text of the event standing for an alert: `{"\u0000events":[…],"timestamp":…,group…}`.
/// `fields` is the object of its time and group fields (what rules read of it).
pub fn chain_text(fields: &serde_json::Map<String, Value>, events: &[Arc<str>]) -> String {
    let mut s = PREFIX.to_string();
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(e);
    }
    s.push(']');
    for (k, v) in fields {
        s.push(',');
        s.push_str(&Value::String(k.clone()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// A candidate's events with every chain event replaced by the events it carries: distinct
/// texts, sorted by their time (stable: ties keep their order, the event that fired last),
/// the most recent [`MAX_ALERT_EVENTS`]. Events of no chain come back as they are.
pub fn expand(events: Vec<Arc<str>>) -> Vec<Arc<str>> {
    if !events.iter().any(|e| e.starts_with(PREFIX)) {
        return events;
    }
    let mut flat: Vec<Arc<str>> = Vec::new();
    for e in events {
        if e.starts_with(PREFIX) {
            for inner in carried(&e) {
                if !flat.contains(&inner) {
                    flat.push(inner);
                }
            }
        } else if !flat.contains(&e) {
            flat.push(e);
        }
    }
    // A time each: the event's own, else the one before it (so it stays where it was).
    let mut last = Timestamp(i64::MIN);
    let mut timed: Vec<(Timestamp, Arc<str>)> = flat
        .into_iter()
        .map(|e| {
            last = time_of(&e).unwrap_or(last);
            (last, e)
        })
        .collect();
    timed.sort_by_key(|(t, _)| *t);
    let skip = timed.len().saturating_sub(MAX_ALERT_EVENTS);
    timed.into_iter().skip(skip).map(|(_, e)| e).collect()
}

/// The event texts a chain event carries, as they were written.
fn carried(text: &str) -> Vec<Arc<str>> {
    #[derive(serde::Deserialize)]
    struct Chain<'a> {
        #[serde(rename = "\u{0}events", borrow)]
        events: Vec<&'a RawValue>,
    }
    serde_json::from_str::<Chain<'_>>(text)
        .map(|c| c.events.iter().map(|r| Arc::from(r.get())).collect())
        .unwrap_or_default()
}

/// An event's time: `timestamp` (session events), else `TimeCreated` (Windows records).
fn time_of(text: &str) -> Option<Timestamp> {
    #[derive(serde::Deserialize)]
    struct Times {
        timestamp: Option<Value>,
        #[serde(rename = "TimeCreated")]
        time_created: Option<Value>,
    }
    let t: Times = serde_json::from_str(text).ok()?;
    t.timestamp
        .as_ref()
        .and_then(Timestamp::from_json)
        .or_else(|| t.time_created.as_ref().and_then(Timestamp::from_json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: &str, n: u32) -> Arc<str> {
        Arc::from(format!(r#"{{"timestamp":"{ts}","n":{n}}}"#))
    }

    #[test]
    fn a_chain_event_is_an_object_with_its_fields_and_gives_back_its_events() {
        let mut fields = serde_json::Map::new();
        fields.insert("timestamp".into(), Value::String("2024-05-01T10:05:00Z".into()));
        fields.insert("user".into(), Value::String("bob".into()));
        let inner = vec![ev("2024-05-01T10:00:00Z", 1), ev("2024-05-01T10:05:00Z", 2)];
        let text = chain_text(&fields, &inner);
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["user"], "bob");
        assert_eq!(v["timestamp"], "2024-05-01T10:05:00Z");
        let success = ev("2024-05-01T10:06:00Z", 3);
        assert_eq!(
            expand(vec![Arc::from(text.as_str()), success.clone()]),
            vec![inner[0].clone(), inner[1].clone(), success]
        );
    }

    #[test]
    fn expanded_events_are_distinct_in_time_order_and_the_ten_most_recent() {
        let f = serde_json::Map::new();
        let a: Vec<Arc<str>> = (0..8).map(|i| ev(&format!("2024-05-01T10:0{i}:00Z"), i)).collect();
        let b: Vec<Arc<str>> = (4..9).map(|i| ev(&format!("2024-05-01T10:0{i}:30Z"), 10 + i)).collect();
        // Stage b came first in the window but holds later events; a's last events repeat.
        let got = expand(vec![
            Arc::from(chain_text(&f, &b).as_str()),
            Arc::from(chain_text(&f, &a).as_str()),
            a[7].clone(),
        ]);
        let mut want: Vec<Arc<str>> = a.iter().chain(&b).cloned().collect();
        want.sort_by_key(|e| time_of(e));
        assert_eq!(got, want[want.len() - 10..].to_vec());
        // No chain event: unchanged, even with more than ten or repeats.
        let plain: Vec<Arc<str>> = vec![a[1].clone(), a[1].clone()];
        assert_eq!(expand(plain.clone()), plain);
    }
}
