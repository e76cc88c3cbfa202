//! The engine: pushes events through the rule set in event-time order and emits alerts.
//!
//! Time follows DESIGN.md 3.3. The watermark is `W = newest timestamp − max_lateness`.
//! With `max_lateness` 0 each event is processed on arrival; otherwise events wait in a
//! buffer and are released in (timestamp, arrival) order once `timestamp ≤ W`. An event
//! behind `W` on arrival is late: it runs detection rules only, at once. Absence deadlines
//! fire when `W` passes them, interleaved with released events in time order.

mod checkpoint;
pub mod predicate;
mod stats;

pub use checkpoint::StateError;
pub use stats::Stats;

use crate::alert::{Alert, AlertSink};
use crate::compile::RuleSet;
use crate::correlate::{Correlator, Emitted, Input, Limits};
use crate::event::Fields;
use crate::source::{Record, View};
use crate::time::Timestamp;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::Arc;

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
    /// Bounds on correlation state.
    pub limits: Limits,
}

/// An event waiting in the reorder buffer, ordered by (timestamp, arrival).
struct Buffered {
    ts: Timestamp,
    seq: u64,
    event: Value,
    view: View,
    text: Arc<str>,
}

impl PartialEq for Buffered {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.seq) == (other.ts, other.seq)
    }
}
impl Eq for Buffered {}
impl PartialOrd for Buffered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Buffered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
    }
}

/// Evaluates events against a rule set. One engine per stream.
pub struct Engine<'r> {
    set: &'r RuleSet,
    settings: Settings,
    stats: Stats,
    candidates: Vec<u32>,
    matched: Vec<u32>,
    /// Largest valid timestamp seen (S2).
    max_seen: Option<Timestamp>,
    seq: u64,
    buffer: BinaryHeap<Reverse<Buffered>>,
    correlator: Correlator,
    step: Vec<Emitted>,
    /// Alerts of the latest processed time, not yet written (see `hold`).
    held: Vec<Emitted>,
    held_at: Option<Timestamp>,
}

impl<'r> Engine<'r> {
    /// A fresh engine with default settings.
    pub fn new(set: &'r RuleSet) -> Self {
        Engine::with_settings(set, Settings::default())
    }

    /// A fresh engine.
    pub fn with_settings(set: &'r RuleSet, settings: Settings) -> Self {
        let limits = settings.limits;
        Engine {
            set,
            settings,
            stats: Stats::default(),
            candidates: Vec::new(),
            matched: Vec::new(),
            max_seen: None,
            seq: 0,
            buffer: BinaryHeap::new(),
            correlator: Correlator::new(set, limits),
            step: Vec::new(),
            held: Vec::new(),
            held_at: None,
        }
    }

    /// The watermark W = newest timestamp seen − max_lateness (S2), if any event had one.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.max_seen.map(|t| t.plus(-self.settings.max_lateness))
    }

    /// Correlation groups currently held, over all correlations.
    pub fn live_groups(&self) -> usize {
        self.correlator.live_groups()
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
        let value = match parse_json(line) {
            Ok(v) => v,
            Err(e) => {
                self.stats.invalid += 1;
                return Err(e);
            }
        };
        let text = std::str::from_utf8(line).unwrap_or_default().trim();
        self.accept(EventRef::Owned(value), View::Session, Some(text), sink)
    }

    /// Processes one parsed event.
    pub fn process(&mut self, event: &Value, sink: &mut dyn AlertSink) -> Result<(), EventError> {
        self.accept(EventRef::Borrowed(event), View::Session, None, sink)
    }

    /// Processes a record from a source adapter ([`crate::source`]). `text` is the event as
    /// it was read, for alerts (session records read as JSON lines); without it the event
    /// is serialised.
    pub fn process_record(
        &mut self,
        record: Record,
        text: Option<&str>,
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        self.accept(EventRef::Owned(record.event), record.view, text, sink)
    }

    fn accept(
        &mut self,
        event: EventRef<'_>,
        view: View,
        text: Option<&str>,
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        let value = event.get();
        if !value.is_object() {
            self.stats.invalid += 1;
            return Err(EventError::NotObject(kind_name(value)));
        }
        if view != View::WindowsOnly {
            self.stats.events += 1;
        }
        self.seq += 1;
        let seq = self.seq;
        let time_field = if view == View::WindowsOnly {
            "TimeCreated"
        } else {
            "timestamp"
        };
        let ts = value.get(time_field).and_then(Timestamp::from_json);
        let Some(ts) = ts else {
            self.stats.no_timestamp += 1;
            self.detect_only(value, view, text, None, seq, sink);
            return Ok(());
        };
        if self.watermark().is_some_and(|w| ts < w) {
            // S3: late. Detection rules still run, at once; correlations never see it.
            self.stats.late += 1;
            self.detect_only(value, view, text, Some(ts), seq, sink);
            return Ok(());
        }
        self.max_seen = Some(self.max_seen.map_or(ts, |m| m.max(ts)));
        if self.settings.max_lateness == 0 {
            self.fire_deadlines_before(ts, sink);
            let text = text.map(Arc::from);
            self.in_order(value, view, text, ts, seq, sink);
        } else {
            let text: Arc<str> = Arc::from(text.map_or_else(|| value.to_string(), str::to_string));
            self.buffer.push(Reverse(Buffered {
                ts,
                seq,
                event: event.into_owned(),
                view,
                text,
            }));
            let w = self.watermark().unwrap_or(ts);
            self.release(w, sink);
        }
        Ok(())
    }

    /// Releases buffered events with `ts ≤ w` and fires deadlines `< w`, in time order (an
    /// event at a deadline's time goes first: it may still discharge it).
    fn release(&mut self, w: Timestamp, sink: &mut dyn AlertSink) {
        loop {
            let next_event = self
                .buffer
                .peek()
                .map(|Reverse(b)| b.ts)
                .filter(|t| *t <= w);
            let next_deadline = self.correlator.next_deadline().filter(|d| *d < w);
            match (next_event, next_deadline) {
                (Some(e), Some(d)) if d < e => self.fire_one(false, sink),
                (None, Some(_)) => self.fire_one(false, sink),
                (Some(_), _) => {
                    let Some(Reverse(b)) = self.buffer.pop() else {
                        break;
                    };
                    self.in_order(&b.event, b.view, Some(b.text), b.ts, b.seq, sink);
                }
                (None, None) => break,
            }
        }
    }

    fn fire_deadlines_before(&mut self, w: Timestamp, sink: &mut dyn AlertSink) {
        while self.correlator.next_deadline().is_some_and(|d| d < w) {
            self.fire_one(false, sink);
        }
    }

    fn fire_one(&mut self, incomplete: bool, sink: &mut dyn AlertSink) {
        let Some(deadline) = self.correlator.next_deadline() else {
            return;
        };
        self.write_held_before(deadline, sink);
        let mut step = std::mem::take(&mut self.step);
        self.correlator.fire_next(self.set, incomplete, &mut step);
        self.hold(deadline, &mut step);
        self.step = step;
    }

    /// Runs the detection rules for one target (session rules, or Windows rules on a
    /// flattened Windows record); fills `self.matched` (ascending rule index).
    fn detect(&mut self, event: &Value, windows: bool) {
        self.matched.clear();
        if !self.set.has_target(windows) {
            return;
        }
        let mut fields = Fields::new(event, &self.set.fields);
        self.set.index.candidates(&mut fields, &mut self.candidates);
        for &i in &self.candidates {
            let rule = &self.set.rules[i as usize];
            if rule.windows == windows && predicate::eval(&self.set.plan, rule.root, &mut fields) {
                self.matched.push(i);
            }
        }
    }

    /// Detection alerts of the matched rules that alert on their own.
    fn detection_alerts(
        &self,
        ts: Option<Timestamp>,
        text: &Arc<str>,
        seq: u64,
        out: &mut Vec<Emitted>,
    ) {
        for &i in &self.matched {
            if self.set.wiring.silent_detection[i as usize] {
                continue;
            }
            let rule = &self.set.rules[i as usize];
            let alert = Alert {
                rule: rule.meta.clone(),
                rule_type: "detection",
                timestamp: ts,
                group: None,
                value: None,
                values: None,
                anchor_timestamp: None,
                incomplete: false,
                events: vec![text.clone()],
            };
            out.push(Emitted {
                order: (
                    ts.unwrap_or(Timestamp(i64::MIN)),
                    rule.position,
                    String::new(),
                    seq,
                ),
                alert,
            });
        }
    }

    /// A late event or one without a timestamp: detection only, alerts written at once.
    fn detect_only(
        &mut self,
        event: &Value,
        view: View,
        text: Option<&str>,
        ts: Option<Timestamp>,
        seq: u64,
        sink: &mut dyn AlertSink,
    ) {
        let mut step = std::mem::take(&mut self.step);
        for (target, windows) in targets(event, view) {
            self.detect(target, windows);
            if self.matched.is_empty() {
                continue;
            }
            let text: Arc<str> = match text {
                Some(t) if !windows || view == View::WindowsOnly => Arc::from(t),
                _ => Arc::from(target.to_string()),
            };
            self.detection_alerts(ts, &text, seq, &mut step);
        }
        // Written when they arrive (DESIGN.md 4.1), not held for ordering.
        self.write_sorted(&mut step, sink);
        self.step = step;
    }

    /// An event in processing order: detection, then correlations.
    fn in_order(
        &mut self,
        event: &Value,
        view: View,
        text: Option<Arc<str>>,
        ts: Timestamp,
        seq: u64,
        sink: &mut dyn AlertSink,
    ) {
        self.correlator.observe(ts);
        self.write_held_before(ts, sink);
        let mut step = std::mem::take(&mut self.step);
        for (target, windows) in targets(event, view) {
            self.detect(target, windows);
            if self.matched.is_empty() {
                continue;
            }
            let text = match &text {
                Some(t) if !windows || view == View::WindowsOnly => t.clone(),
                _ => Arc::from(target.to_string()),
            };
            self.detection_alerts(Some(ts), &text, seq, &mut step);
            if self.set.correlation_count() > 0 {
                let matched = std::mem::take(&mut self.matched);
                self.correlator.on_event(
                    self.set,
                    Input {
                        ts,
                        seq,
                        event: target,
                        text: &text,
                    },
                    &matched,
                    &mut step,
                );
                self.matched = matched;
            }
        }
        self.hold(ts, &mut step);
        self.step = step;
    }

    /// Keeps a step's alerts (all at time `t`) until processing passes `t`: alerts of
    /// several events at one time are written in (rule position, group, input position)
    /// order (DESIGN.md 4.1).
    fn hold(&mut self, t: Timestamp, step: &mut Vec<Emitted>) {
        if !step.is_empty() {
            self.held_at = Some(t);
            self.held.append(step);
        }
    }

    /// Writes the held alerts if they are older than `t`.
    fn write_held_before(&mut self, t: Timestamp, sink: &mut dyn AlertSink) {
        if self.held_at.is_some_and(|h| h < t) {
            self.flush(sink);
        }
    }

    /// Writes the alerts held for ordering now. The CLI calls this when its input is idle,
    /// so that a live stream sees its alerts at once; a library user may call it any time
    /// (alerts of later events at the same timestamp then follow instead of interleaving).
    pub fn flush(&mut self, sink: &mut dyn AlertSink) {
        let mut held = std::mem::take(&mut self.held);
        self.write_sorted(&mut held, sink);
        self.held = held;
        self.held_at = None;
    }

    /// Writes alerts in (time, rule position, group, input position) order.
    fn write_sorted(&mut self, alerts: &mut Vec<Emitted>, sink: &mut dyn AlertSink) {
        alerts.sort_by(|a, b| a.order.cmp(&b.order));
        for e in alerts.drain(..) {
            self.stats.alerts += 1;
            sink.alert(e.alert);
        }
    }

    /// Ends one segment of a longer stream (a run with `--state`): nothing is released or
    /// flushed, so that the next segment continues exactly where this one stopped (alerts
    /// still held for ordering go into the checkpoint). The counters report what this
    /// segment read; `pending` lists the open obligations.
    pub fn pause(&mut self) -> Stats {
        self.stats.pending = self.correlator.pending(self.set);
        self.stats.evicted_groups = self.correlator.evicted_groups();
        self.stats.evicted_entries = self.correlator.evicted_entries();
        self.stats.clone()
    }

    /// Ends the input: releases buffered events (W becomes the newest timestamp, S11),
    /// fires the deadlines it passes, then flushes (`eof: flush`) or reports the
    /// obligations still open. Returns the final counters.
    pub fn finish(&mut self, sink: &mut dyn AlertSink) -> Stats {
        if let Some(w) = self.max_seen {
            self.release(w, sink);
        }
        if self.settings.eof_flush {
            while self.correlator.next_deadline().is_some() {
                self.fire_one(true, sink);
            }
        }
        self.flush(sink);
        self.stats.pending = self.correlator.pending(self.set);
        self.stats.evicted_groups = self.correlator.evicted_groups();
        self.stats.evicted_entries = self.correlator.evicted_entries();
        self.stats.clone()
    }
}

/// An event owned (parsed here) or borrowed (pushed by a library user).
enum EventRef<'a> {
    Owned(Value),
    Borrowed(&'a Value),
}

impl EventRef<'_> {
    fn get(&self) -> &Value {
        match self {
            EventRef::Owned(v) => v,
            EventRef::Borrowed(v) => v,
        }
    }

    fn into_owned(self) -> Value {
        match self {
            EventRef::Owned(v) => v,
            EventRef::Borrowed(v) => v.clone(),
        }
    }
}

/// The objects a record's rules evaluate, with whether they are Windows records: a session
/// event; a session event and its flattened Windows `raw`; or a Windows record alone.
fn targets(event: &Value, view: View) -> impl Iterator<Item = (&Value, bool)> {
    let (session, windows) = match view {
        View::Session => (Some(event), None),
        View::SessionWithRaw => (Some(event), event.get("raw").filter(|r| r.is_object())),
        View::WindowsOnly => (None, Some(event)),
    };
    session
        .map(|s| (s, false))
        .into_iter()
        .chain(windows.map(|w| (w, true)))
}

/// Parses a JSON line; the error as reported for invalid lines.
pub(crate) fn parse_json(line: &[u8]) -> Result<Value, EventError> {
    serde_json::from_slice(line).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        EventError::Json {
            column: e.column(),
            message,
        }
    })
}

/// "an array", "a string", … for error messages.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
