//! The engine: pushes events through the rule set and emits alerts.

pub mod predicate;

use crate::alert::{Alert, AlertSink};
use crate::compile::RuleSet;
use crate::event::Fields;
use crate::time::Timestamp;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// Counters of one run (the summary of DESIGN.md 4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Valid events processed.
    pub events: u64,
    /// Input records that were not valid events.
    pub invalid: u64,
    /// Events that arrived behind the watermark.
    pub late: u64,
    /// Events without a valid timestamp.
    pub no_timestamp: u64,
    /// Alerts emitted.
    pub alerts: u64,
}

impl Stats {
    /// The summary JSON of DESIGN.md 4.2.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"events\":{},\"invalid\":{},\"late\":{},\"no_timestamp\":{},\"alerts\":{},\"pending\":[]}}",
            self.events, self.invalid, self.late, self.no_timestamp, self.alerts
        )
    }
}

/// Why an input record is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// Not JSON (or not UTF-8); the column where parsing failed.
    Json {
        /// 1-based column (byte) of the error.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// JSON, but not an object.
    NotObject(&'static str),
    /// Longer than the line limit.
    TooLong(usize),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Json { column, message } => {
                write!(f, "invalid JSON at column {column}: {message}")
            }
            EventError::NotObject(kind) => {
                write!(f, "an event must be a JSON object, found {kind}")
            }
            EventError::TooLong(n) => write!(f, "line of {n} bytes exceeds the limit; skipped"),
        }
    }
}

impl std::error::Error for EventError {}

/// Engine settings (DESIGN.md 3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// How far behind the newest timestamp an event may be without being late, in ns.
    pub max_lateness: i64,
    /// At end of input, emit pending obligations as incomplete alerts.
    pub eof_flush: bool,
}

/// Evaluates events against a rule set. One engine per stream.
pub struct Engine<'r> {
    set: &'r RuleSet,
    settings: Settings,
    stats: Stats,
    candidates: Vec<u32>,
    /// Largest valid timestamp seen (S2).
    max_seen: Option<Timestamp>,
}

impl<'r> Engine<'r> {
    /// A fresh engine with default settings.
    pub fn new(set: &'r RuleSet) -> Self {
        Engine::with_settings(set, Settings::default())
    }

    /// A fresh engine.
    pub fn with_settings(set: &'r RuleSet, settings: Settings) -> Self {
        Engine {
            set,
            settings,
            stats: Stats::default(),
            candidates: Vec::new(),
            max_seen: None,
        }
    }

    /// The watermark W = newest timestamp seen − max_lateness (S2), if any event had one.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.max_seen.map(|t| t.plus(-self.settings.max_lateness))
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counts an input record that could not be read as an event.
    pub fn record_invalid(&mut self) {
        self.stats.invalid += 1;
    }

    /// Parses one line of JSON and processes it. Blank lines are ignored. Errors are counted
    /// as `invalid`; the caller reports them.
    pub fn process_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        // A UTF-8 byte-order mark (Windows tools write one at the start of a file) is not data.
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                self.stats.invalid += 1;
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m)
                    .to_string();
                return Err(EventError::Json {
                    column: e.column(),
                    message,
                });
            }
        };
        let text = std::str::from_utf8(line).unwrap_or_default().trim();
        self.process_with_text(&value, Some(text), sink)
    }

    /// Processes one parsed event.
    pub fn process(&mut self, event: &Value, sink: &mut dyn AlertSink) -> Result<(), EventError> {
        self.process_with_text(event, None, sink)
    }

    fn process_with_text(
        &mut self,
        event: &Value,
        text: Option<&str>,
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        if !event.is_object() {
            self.stats.invalid += 1;
            return Err(EventError::NotObject(kind_name(event)));
        }
        self.stats.events += 1;
        let ts = event.get("timestamp").and_then(Timestamp::from_json);
        match ts {
            None => self.stats.no_timestamp += 1,
            Some(t) => {
                // S3: behind the watermark on arrival. Detection rules still run.
                if self.watermark().is_some_and(|w| t < w) {
                    self.stats.late += 1;
                }
                self.max_seen = Some(self.max_seen.map_or(t, |m| m.max(t)));
            }
        }
        let mut fields = Fields::new(event, &self.set.fields);
        self.set.index.candidates(&mut fields, &mut self.candidates);
        let mut shared: Option<Arc<str>> = None;
        for &i in &self.candidates {
            let rule = &self.set.rules[i as usize];
            if predicate::eval(&self.set.plan, rule.root, &mut fields) {
                let ev = shared.get_or_insert_with(|| {
                    Arc::from(text.map_or_else(|| event.to_string(), str::to_string))
                });
                self.stats.alerts += 1;
                sink.alert(Alert {
                    rule: rule.meta.clone(),
                    rule_type: "detection",
                    timestamp: ts,
                    group: None,
                    value: None,
                    values: None,
                    anchor_timestamp: None,
                    incomplete: false,
                    events: vec![ev.clone()],
                });
            }
        }
        Ok(())
    }

    /// Ends the input and returns the final counters.
    pub fn finish(&mut self, _sink: &mut dyn AlertSink) -> Stats {
        self.stats.clone()
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
