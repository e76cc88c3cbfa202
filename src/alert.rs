//! Alerts, their JSON and text forms (DESIGN.md 4.1), and the sink trait.

use crate::rule::RuleMeta;
use crate::time::Timestamp;
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rule that fired.
    pub rule: Arc<RuleMeta>,
    /// `detection`, or the correlation type.
    pub rule_type: &'static str,
    /// Event time of the alert (`None` for a detection on an event without a timestamp).
    pub timestamp: Option<Timestamp>,
    /// Correlation group: field names and values.
    pub group: Option<Vec<(String, Value)>>,
    /// Correlation aggregate.
    pub value: Option<f64>,
    /// Distinct values (value_count) or the new value (first_seen).
    pub values: Option<Vec<Value>>,
    /// Absence alerts: when the anchor happened.
    pub anchor_timestamp: Option<Timestamp>,
    /// Absence alerts flushed at end of input.
    pub incomplete: bool,
    /// The contributing events, as JSON text.
    pub events: Vec<Arc<str>>,
}

impl Alert {
    /// The alert as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(256);
        s.push_str("{\"rule\":{");
        let mut first = true;
        let mut field = |s: &mut String, k: &str, v: &str| {
            if !first {
                s.push(',');
            }
            first = false;
            let _ = write!(s, "\"{k}\":{}", json_str(v));
        };
        if let Some(id) = &self.rule.id {
            field(&mut s, "id", id);
        }
        if let Some(name) = &self.rule.name {
            field(&mut s, "name", name);
        }
        field(&mut s, "title", &self.rule.title);
        if let Some(level) = &self.rule.level {
            field(&mut s, "level", level);
        }
        field(&mut s, "type", self.rule_type);
        s.push_str("},\"timestamp\":");
        match self.timestamp {
            Some(t) => s.push_str(&json_str(&t.to_string())),
            None => s.push_str("null"),
        }
        if let Some(group) = &self.group {
            let map: serde_json::Map<String, Value> = group.iter().cloned().collect();
            let _ = write!(s, ",\"group\":{}", Value::Object(map));
        }
        if let Some(v) = self.value {
            let _ = write!(s, ",\"value\":{}", number(v));
        }
        if let Some(values) = &self.values {
            let _ = write!(s, ",\"values\":{}", Value::Array(values.clone()));
        }
        if let Some(t) = self.anchor_timestamp {
            let _ = write!(s, ",\"anchor_timestamp\":{}", json_str(&t.to_string()));
        }
        if self.incomplete {
            s.push_str(",\"incomplete\":true");
        }
        s.push_str(",\"events\":[");
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(e);
        }
        s.push_str("]}");
        s
    }

    /// The alert as one human-readable line.
    pub fn to_text(&self) -> String {
        let ts = self
            .timestamp
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        let level = self.rule.level.as_deref().unwrap_or("-");
        let mut s = format!(
            "{ts} [{level}] {} ({})",
            self.rule.title,
            self.rule.handle()
        );
        if let Some(group) = &self.group {
            let g: Vec<String> = group
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                    )
                })
                .collect();
            let _ = write!(s, " group[{}]", g.join(" "));
        }
        if let Some(v) = self.value {
            let _ = write!(s, " value={}", number(v));
        }
        if let Some(e) = self.events.first() {
            let _ = write!(s, " event={e}");
        }
        s
    }
}

fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or_else(|| "null".into(), |n| n.to_string())
    }
}

/// Receives alerts as the engine produces them (in output order).
pub trait AlertSink {
    /// Called once per alert.
    fn alert(&mut self, alert: Alert);
}

impl AlertSink for Vec<Alert> {
    fn alert(&mut self, alert: Alert) {
        self.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let rule = Arc::new(RuleMeta {
            id: None,
            name: Some("r".into()),
            title: "T \"q\"".into(),
            level: Some("high".into()),
            ..Default::default()
        });
        let a = Alert {
            rule,
            rule_type: "detection",
            timestamp: crate::time::parse_rfc3339("2024-05-01T10:00:00Z"),
            group: None,
            value: None,
            values: None,
            anchor_timestamp: None,
            incomplete: false,
            events: vec![Arc::from("{\"a\":1}")],
        };
        assert_eq!(
            a.to_json(),
            r#"{"rule":{"name":"r","title":"T \"q\"","level":"high","type":"detection"},"timestamp":"2024-05-01T10:00:00Z","events":[{"a":1}]}"#
        );
    }
}
