//! The engine: pushes events through the rule set in event-time order and emits alerts.
//!
//! Time follows docs/semantics.md §3.3. The watermark is `W = newest timestamp − max_lateness`.
//! With `max_lateness` 0 each event is processed on arrival; otherwise events wait in a
//! buffer and are released in (timestamp, arrival) order once `timestamp ≤ W`. An event
//! behind `W` on arrival is late: it runs detection rules only, at once. Absence deadlines
//! fire when `W` passes them, interleaved with released events in time order.

mod checkpoint;
pub mod detector;
mod export;
pub mod feed;
pub(crate) mod order;
mod parallel;
mod shards;
mod stats;

pub use checkpoint::StateError;
pub(crate) use export::{CorrRecord, Exports};
pub use stats::{MAX_PENDING_LISTED, Stats};

use crate::alert::{Alert, AlertOrder, AlertSink, Emitted, Origin};
use crate::compile::RuleSet;
use crate::correlate::row::Row;
use crate::correlate::{Correlator, Input, Limits};
use crate::detect::RuleMatcher;
use crate::event::Projector;
use crate::event::lines::{kind_name, line_text};
use crate::event::project::load_into;
use crate::event::{EventError, Record, View};
use crate::time::Timestamp;
use order::Held;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Engine settings (docs/semantics.md §3.3).
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
    view: View,
    text: Arc<str>,
    origin: Option<Origin>,
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
    matched: Vec<u32>,
    /// Largest valid timestamp seen (S2).
    max_seen: Option<Timestamp>,
    seq: u64,
    buffer: BinaryHeap<Reverse<Buffered>>,
    correlator: Correlator,
    step: Vec<Emitted>,
    /// Alerts raised but not yet written: their place in the output may still be taken by
    /// an alert to come (docs/semantics.md §4.1).
    held: Held<Alert>,
    /// Reads events by projection onto the rule set's fields.
    projector: Projector,
    /// False while a late event runs detection only.
    correlating: bool,
    /// Matching's working memory.
    matcher: RuleMatcher,
    /// The correlation fields of the event being correlated (reused).
    row: Box<Row>,
    /// Export mode (one partition of a cluster): correlation inputs and alerts are handed
    /// out instead of being correlated and written here.
    exports: Option<Exports>,
    /// The latest event taken in order: (input position, time). Cluster checkpoints find
    /// their resume positions with it.
    last_in_order: Option<(u64, Timestamp)>,
    /// Correlation state partitioned over shard threads (`run --threads N`): correlation
    /// inputs go there instead of to `correlator`, which then only keeps the stream start.
    shards: Option<shards::Shards>,
    /// The correlation fields of the next event to consume, read by a [`detector::Detector`]
    /// (`process_detected`), with the shards that take it when the detector routed it.
    prefilled: Option<(Box<Row>, Option<shards::Mask>)>,
    /// Where the next record comes from ([`Engine::set_origin`]).
    origin: Option<Origin>,
    /// Where the record being processed came from (its alerts' events carry it).
    active_origin: Option<Origin>,
    /// Reused to build an event text with its origin.
    origin_buf: String,
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
            matched: Vec::new(),
            max_seen: None,
            seq: 0,
            buffer: BinaryHeap::new(),
            correlator: Correlator::new(set, limits),
            step: Vec::new(),
            held: Held::default(),
            projector: Projector::new(&set.fields, &set.uses, &crate::event::MARKER_KEYS),
            correlating: true,
            matcher: RuleMatcher::default(),
            row: Box::new(Row::new(set.correlation_fields.len())),
            exports: None,
            last_in_order: None,
            shards: None,
            prefilled: None,
            origin: None,
            active_origin: None,
            origin_buf: String::new(),
        }
    }

    /// Partitions the correlation state over `n` shard threads in `scope` (see
    /// `engine/shards.rs`); the output stays exactly that of one correlator. Call on a
    /// fresh engine, and end the input ([`finish`](Engine::finish)) or
    /// [`stop_shards`](Engine::stop_shards) before the scope ends. Not for checkpointed
    /// runs: the state then lives on the shards.
    pub fn shard_correlations<'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        n: usize,
    ) where
        'r: 'scope,
    {
        if self.set.correlation_count() > 0 {
            self.shards = Some(shards::Shards::spawn(scope, self.set, self.settings.limits, n));
        }
    }

    /// Stops the shard threads (their state is dropped): for a run that ends without
    /// [`finish`](Engine::finish), so that the thread scope can end.
    pub fn stop_shards(&mut self) {
        self.shards = None;
    }

    /// The watermark W = newest timestamp seen − max_lateness (S2), if any event had one.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.max_seen.map(|t| t.plus(-self.settings.max_lateness))
    }

    /// Correlation groups currently held, over all correlations (those of this engine's
    /// own correlator: not the shards' of [`shard_correlations`](Engine::shard_correlations)).
    pub fn live_groups(&self) -> usize {
        self.correlator.live_groups()
    }

    /// The live groups of correlation `ci` with their state described (`explain`; the
    /// engine's own correlator, not shards).
    pub(crate) fn describe_groups(&self, ci: u32) -> Vec<crate::correlate::GroupView> {
        self.correlator.describe(self.set, ci)
    }

    /// Says where the records given next come from (a file and line, or EVTX record):
    /// their alerts' events carry it ([`Alert::origins`]). `None`: unknown (the default).
    pub fn set_origin(&mut self, origin: Option<Origin>) {
        self.origin = origin;
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counts an input record that could not be read as an event.
    pub(crate) fn record_invalid(&mut self) {
        self.stats.invalid += 1;
    }

    /// Counts a blank input line (not an event, not a record).
    pub(crate) fn record_blank(&mut self) {
        self.stats.blank += 1;
    }

    /// Reads one line of JSON and processes it. Blank lines are counted as `blank`. Errors
    /// are counted as `invalid`; the caller reports them. Only the fields the rules use are
    /// read.
    pub fn process_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        match self.line_text(line)? {
            Some(text) => self.accept(text, View::Session, sink),
            None => {
                self.record_blank();
                Ok(())
            }
        }
    }

    /// A line's text without byte-order mark and surrounding blanks; `None` for a blank
    /// line; invalid UTF-8 is counted and reported as invalid JSON.
    fn line_text<'l>(&mut self, line: &'l [u8]) -> Result<Option<&'l str>, EventError> {
        line_text(line).inspect_err(|_| self.stats.invalid += 1)
    }

    /// The CLI's fast path for session JSON lines: like [`Engine::process_line`], but a
    /// line that has one of [`crate::event::MARKER_KEYS`] at its top level (a Windows or
    /// journal record, or a session event with a Windows `raw`) is handed back untouched and
    /// uncounted: `Ok(false)`, for the source adapter to read.
    pub(crate) fn process_session_line(
        &mut self,
        line: &[u8],
        sink: &mut dyn AlertSink,
    ) -> Result<bool, EventError> {
        let Some(text) = self.line_text(line)? else {
            // Blank: not an event; the adapter counts nothing for it either.
            return Ok(false);
        };
        if let Err(e) = self.load(text) {
            self.stats.invalid += 1;
            return Err(e);
        }
        if self.projector.marked() {
            return Ok(false);
        }
        self.accept_loaded(text, View::Session, sink);
        Ok(true)
    }

    /// Processes one parsed event.
    pub fn process(&mut self, event: &Value, sink: &mut dyn AlertSink) -> Result<(), EventError> {
        if !event.is_object() {
            self.stats.invalid += 1;
            return Err(EventError::NotObject(kind_name(event)));
        }
        self.accept(&event.to_string(), View::Session, sink)
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
        if record.view == View::WindowsOnly && !self.set.has_target(true) {
            // S2: a record the adapter skipped is an event only for rules with
            // `logsource: product: windows`; without them it neither matches nor moves W.
            return Ok(());
        }
        match text {
            Some(t) => self.accept(t, record.view, sink),
            None => {
                if !record.event.is_object() {
                    self.stats.invalid += 1;
                    return Err(EventError::NotObject(kind_name(&record.event)));
                }
                self.accept(&record.event.to_string(), record.view, sink)
            }
        }
    }

    /// Loads an event's text into the projector; invalid JSON and non-objects are errors.
    fn load(&mut self, text: &str) -> Result<(), EventError> {
        load_into(&mut self.projector, text)
    }

    fn accept(
        &mut self,
        text: &str,
        view: View,
        sink: &mut dyn AlertSink,
    ) -> Result<(), EventError> {
        if let Err(e) = self.load(text) {
            self.stats.invalid += 1;
            return Err(e);
        }
        self.accept_loaded(text, view, sink);
        Ok(())
    }

    /// An event whose text the projector holds: time, lateness, then processing.
    fn accept_loaded(&mut self, text: &str, view: View, sink: &mut dyn AlertSink) {
        if view != View::WindowsOnly {
            self.stats.events += 1;
        }
        self.seq += 1;
        let seq = self.seq;
        let time_slot = if view == View::WindowsOnly {
            self.set.event_slots.time_created
        } else {
            self.set.event_slots.timestamp
        };
        let ts = self.projector.fields(text).timestamp(time_slot);
        self.active_origin.clone_from(&self.origin);
        let Some(ts) = ts else {
            self.stats.no_timestamp += 1;
            self.detect_only(text, view, None, seq, sink);
            return;
        };
        if self.watermark().is_some_and(|w| ts < w) {
            // S3: late. Detection rules still run, at once; correlations never see it.
            self.stats.late += 1;
            self.detect_only(text, view, Some(ts), seq, sink);
            return;
        }
        self.max_seen = Some(self.max_seen.map_or(ts, |m| m.max(ts)));
        self.last_in_order = Some((seq, ts));
        if self.settings.max_lateness == 0 {
            self.fire_deadlines_before(ts, sink);
            self.in_order(text, true, view, ts, seq, sink);
        } else {
            self.buffer.push(Reverse(Buffered {
                ts,
                seq,
                view,
                text: Arc::from(text),
                origin: self.origin.clone(),
            }));
            let w = self.watermark().unwrap_or(ts);
            self.release(w, sink);
        }
    }

    /// Releases buffered events with `ts ≤ w` and fires deadlines `< w`, in time order (an
    /// event at a deadline's time goes first: it may still discharge it).
    fn release(&mut self, w: Timestamp, sink: &mut dyn AlertSink) {
        while self.buffer.peek().is_some_and(|Reverse(b)| b.ts <= w) {
            let Some(Reverse(b)) = self.buffer.pop() else {
                break;
            };
            self.fire_deadlines_before(b.ts, sink);
            self.active_origin = b.origin;
            self.in_order(&b.text, false, b.view, b.ts, b.seq, sink);
        }
        self.fire_deadlines_before(w, sink);
    }

    /// Fires the absence deadlines before `t` (S9), in time order. Processing reaches each
    /// deadline in turn, so the alerts older than it are written first (as at an event).
    fn fire_deadlines_before(&mut self, t: Timestamp, sink: &mut dyn AlertSink) {
        if let Some(sh) = &mut self.shards {
            // The shards fire theirs after the batch this time goes with.
            sh.fired_before(t);
            return;
        }
        while let Some(deadline) = self.correlator.next_deadline().filter(|d| *d < t) {
            self.write_held_before(deadline, sink);
            let mut step = std::mem::take(&mut self.step);
            self.correlator.fire_next(self.set, false, &mut step);
            self.hold(&mut step);
            self.step = step;
        }
    }

    /// Runs the detection rules for one target (session rules, or Windows rules on a
    /// flattened Windows record); fills `self.matched` (ascending rule index). `loaded`:
    /// the projector already holds this text.
    fn detect(&mut self, text: &str, loaded: bool, windows: bool) {
        self.matched.clear();
        if !self.set.has_target(windows) {
            return;
        }
        if !loaded && self.load(text).is_err() {
            return;
        }
        let fields = self.projector.fields(text);
        self.matcher
            .matching(self.set, &fields, windows, &mut self.matched);
    }

    /// The flattened Windows record inside the loaded session event (`raw`), as text.
    fn raw_of<'t>(&self, text: &'t str) -> Option<&'t str> {
        match self.projector.fields(text).get(self.set.event_slots.raw) {
            Some(crate::event::Val::Object(span)) => Some(span.raw(text)),
            _ => None,
        }
    }

    /// Runs detection (and, for in-order events, correlations) on each object a record's
    /// rules evaluate: a session event; a session event and its flattened Windows `raw`;
    /// or a Windows record alone. `loaded`: the projector holds `text`.
    fn run_targets(
        &mut self,
        text: &str,
        loaded: bool,
        view: View,
        ts: Option<Timestamp>,
        seq: u64,
        step: &mut Vec<Emitted>,
    ) {
        if view == View::WindowsOnly {
            self.detect(text, loaded, true);
            self.consume(text, true, ts, seq, step);
            return;
        }
        let raw = if view == View::SessionWithRaw && self.set.has_target(true) {
            if !loaded && self.load(text).is_err() {
                return;
            }
            self.raw_of(text)
        } else {
            None
        };
        self.detect(text, loaded || raw.is_some(), false);
        self.consume(text, true, ts, seq, step);
        if let Some(raw) = raw {
            self.detect(raw, false, true);
            self.consume(raw, true, ts, seq, step);
        }
    }

    /// Alerts for the rules `detect` matched on `text`, and (in order) their correlations.
    /// `loaded`: the projector holds `text`.
    fn consume(
        &mut self,
        text: &str,
        loaded: bool,
        ts: Option<Timestamp>,
        seq: u64,
        step: &mut Vec<Emitted>,
    ) {
        if self.matched.is_empty() {
            return;
        }
        let shared: Arc<str> = match &self.active_origin {
            Some(o) => o.embed_with(text, &mut self.origin_buf),
            None => Arc::from(text),
        };
        self.detection_alerts(ts, &shared, seq, step);
        // Late events and events without a time run detection rules only (S3).
        let Some(ts) = ts.filter(|_| self.correlating) else {
            return;
        };
        if self.set.correlation_count() > 0 && Correlator::interested(self.set, &self.matched) {
            // Correlations read only their fields: hand them just those, from the projection
            // (or as a detector read them).
            let pre = self.prefilled.take();
            if pre.is_none() {
                if !loaded && self.load(text).is_err() {
                    return;
                }
                self.row.fill(self.set, &self.projector.fields(text));
            }
            if let Some(sh) = &mut self.shards {
                let (row, mask) = pre.unwrap_or_else(|| (Box::new((*self.row).clone()), None));
                sh.push(self.set, ts, seq, &self.matched, row, mask, shared);
                return;
            }
            if let Some((row, _)) = pre {
                self.row = row;
            }
            if let Some(x) = &mut self.exports {
                x.records.push(CorrRecord {
                    ts,
                    seq,
                    matched: self.matched.clone(),
                    row: Arc::new((*self.row).clone()),
                    text: shared,
                });
                return;
            }
            let matched = std::mem::take(&mut self.matched);
            self.correlator.on_event(
                self.set,
                Input {
                    ts,
                    seq,
                    row: &self.row,
                    text: &shared,
                },
                &matched,
                step,
            );
            self.matched = matched;
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
            // Alerts of an in-order event wait for their place; those of a late event or of
            // one without a time are written on arrival (docs/semantics.md §4.1).
            let order = match ts.filter(|_| self.correlating) {
                Some(t) => AlertOrder::in_order(t, rule.position, String::new(), seq),
                None => AlertOrder::on_arrival(self.watermark(), seq, rule.position),
            };
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
            out.push(Emitted { alert, order });
        }
    }

    /// A late event or one without a timestamp: detection only, alerts written at once.
    /// The projector holds `text`.
    fn detect_only(
        &mut self,
        text: &str,
        view: View,
        ts: Option<Timestamp>,
        seq: u64,
        sink: &mut dyn AlertSink,
    ) {
        let mut step = std::mem::take(&mut self.step);
        self.correlating = false;
        self.run_targets(text, true, view, ts, seq, &mut step);
        self.correlating = true;
        self.write_on_arrival(seq, &mut step, sink);
        self.step = step;
    }

    /// Alerts of a late event (or one without a timestamp), input position `seq`: written
    /// when they arrive (docs/semantics.md §4.1), after the held alerts older than W
    /// (nothing can come before those any more). Their keys (W at arrival, input position)
    /// make the output a function of the input alone, which a cluster reproduces.
    fn write_on_arrival(&mut self, seq: u64, step: &mut Vec<Emitted>, sink: &mut dyn AlertSink) {
        self.hold(step);
        self.write_before(&AlertOrder::after_arrival(self.watermark(), seq), sink);
    }

    /// An event in processing order: detection, then correlations.
    fn in_order(
        &mut self,
        text: &str,
        loaded: bool,
        view: View,
        ts: Timestamp,
        seq: u64,
        sink: &mut dyn AlertSink,
    ) {
        self.correlator.observe(ts);
        self.write_held_before(ts, sink);
        let mut step = std::mem::take(&mut self.step);
        self.run_targets(text, loaded, view, Some(ts), seq, &mut step);
        self.hold(&mut step);
        self.step = step;
        self.tick_shards();
    }

    /// After an in-order event: the shards get their batch when it is due.
    fn tick_shards(&mut self) {
        if let Some(sh) = &mut self.shards {
            sh.tick(self.correlator.stream_start(), &mut self.held);
        }
    }

    /// Keeps a step's alerts until their place in the output comes (or, exporting, hands
    /// them out with their keys).
    fn hold(&mut self, step: &mut Vec<Emitted>) {
        match &mut self.exports {
            Some(x) => x.alerts.append(step),
            None => step
                .drain(..)
                .for_each(|e| self.held.push(e.order, e.alert)),
        }
    }

    /// Writes the held alerts older than `t`: processing is about to reach `t`, so no
    /// alert can come before them any more.
    fn write_held_before(&mut self, t: Timestamp, sink: &mut dyn AlertSink) {
        self.write_before(&AlertOrder::first_at(t), sink);
    }

    /// Writes the held alerts ordered before `frontier`.
    fn write_before(&mut self, frontier: &AlertOrder, sink: &mut dyn AlertSink) {
        let clamped = self.shards.as_mut().map(|sh| {
            // Only up to where no shard alert can still come before.
            sh.poll(&mut self.held);
            sh.clamp(frontier.clone())
        });
        let frontier = clamped.as_ref().unwrap_or(frontier);
        let alerts = &mut self.stats.alerts;
        self.held.release_before(frontier, |a| {
            *alerts += 1;
            sink.alert(a);
        });
    }

    /// How many alerts are held for ordering (see [`Engine::flush`]).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Writes the alerts held for ordering now. The CLI calls this when its input is idle,
    /// so that a live stream sees its alerts at once; a library user may call it any time
    /// (alerts of later events at the same timestamp then follow instead of interleaving).
    pub fn flush(&mut self, sink: &mut dyn AlertSink) {
        if let Some(sh) = &mut self.shards {
            sh.sync(self.correlator.stream_start(), &mut self.held);
        }
        let alerts = &mut self.stats.alerts;
        self.held.release_all(|a| {
            *alerts += 1;
            sink.alert(a);
        });
    }

    /// Ends one segment of a longer stream (a run with `--state`): nothing is released or
    /// flushed, so that the next segment continues exactly where this one stopped (alerts
    /// still held for ordering go into the checkpoint). The counters report what this
    /// segment read; `pending` lists the open obligations.
    pub fn pause(&mut self) -> Stats {
        (self.stats.pending, self.stats.pending_total) =
            self.correlator.pending(self.set, MAX_PENDING_LISTED);
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
        let eof_flush = self.settings.eof_flush;
        if let Some(sh) = self.shards.take() {
            let start = self.correlator.stream_start();
            let (pending, total, groups, entries) =
                sh.end(start, self.max_seen, eof_flush, &mut self.held);
            self.flush(sink);
            self.stats.pending = pending;
            self.stats.pending_total = total;
            self.stats.evicted_groups = groups;
            self.stats.evicted_entries = entries;
            return self.stats.clone();
        }
        let mut step = std::mem::take(&mut self.step);
        self.correlator
            .end_of_input(self.set, self.max_seen, eof_flush, &mut step);
        self.hold(&mut step);
        self.step = step;
        self.flush(sink);
        (self.stats.pending, self.stats.pending_total) =
            self.correlator.pending(self.set, MAX_PENDING_LISTED);
        self.stats.evicted_groups = self.correlator.evicted_groups();
        self.stats.evicted_entries = self.correlator.evicted_entries();
        self.stats.clone()
    }
}
