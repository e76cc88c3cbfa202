//! Export mode: an engine that reads one partition of a partitioned input (cluster mode)
//! decides time, lateness and detection exactly as a whole engine does, but hands out the
//! inputs of its correlations and its alerts, with their ordering keys, instead of
//! correlating and writing them. The correlation itself then runs where the group lives.
#![cfg_attr(not(feature = "cluster"), allow(dead_code))]

use super::{Engine, Stats};
use crate::alert::Emitted;
use crate::compile::RuleSet;
use crate::correlate::row::Row;
use crate::time::Timestamp;
use std::sync::Arc;

/// One in-order event for the correlations: what [`crate::correlate::Correlator::on_event`]
/// would have been given.
#[derive(Debug, Clone)]
pub(crate) struct CorrRecord {
    /// Event time.
    pub ts: Timestamp,
    /// Position in this engine's input (1-based, counting every event).
    pub seq: u64,
    /// The detection rules it matched (ascending).
    pub matched: Vec<u32>,
    /// The fields correlations read.
    pub row: Arc<Row>,
    /// The event as read, for alerts.
    pub text: Arc<str>,
}

/// What an exporting engine handed out since the last [`Engine::take_exports`].
#[derive(Debug, Default)]
pub(crate) struct Exports {
    /// Correlation inputs, in processing order.
    pub records: Vec<CorrRecord>,
    /// Detection alerts, with their place in the output.
    pub alerts: Vec<Emitted>,
}

impl<'r> Engine<'r> {
    /// An engine in export mode (see the module documentation).
    pub(crate) fn exporting(set: &'r RuleSet, settings: super::Settings) -> Self {
        let mut e = Engine::with_settings(set, settings);
        e.exports = Some(Exports::default());
        e
    }

    /// Takes what was exported so far (empty when not in export mode).
    pub(crate) fn take_exports(&mut self) -> Exports {
        self.exports
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The newest valid timestamp seen.
    pub(crate) fn max_seen(&self) -> Option<Timestamp> {
        self.max_seen
    }

    /// The time of the first event processed in order (what `learning` counts from).
    pub(crate) fn stream_start(&self) -> Option<Timestamp> {
        self.correlator.stream_start()
    }

    /// Input positions given so far (every event counts, late or not).
    pub(crate) fn position(&self) -> u64 {
        self.seq
    }

    /// The latest event taken in order: (input position, time).
    pub(crate) fn last_in_order(&self) -> Option<(u64, Timestamp)> {
        self.last_in_order
    }

    /// A heartbeat of a cluster partition: nothing older than `ts` is to come, so the
    /// partition's watermark may move to `ts − max_lateness`. Not an event: not counted,
    /// not matched. Buffered events it passes are released.
    pub(crate) fn heartbeat(&mut self, ts: Timestamp, sink: &mut dyn crate::alert::AlertSink) {
        if self.max_seen.is_some_and(|m| m >= ts) {
            return;
        }
        self.max_seen = Some(ts);
        if let Some(w) = self.watermark() {
            self.release(w, sink);
        }
    }

    /// Resumes a partition from a checkpoint: the input position, newest time and counters
    /// it had just before the record it resumes at (with nothing buffered: every event
    /// before that record is older than the checkpoint, whose state holds it already).
    pub(crate) fn resume_partition(&mut self, position: u64, max_seen: Option<Timestamp>, stats: &Stats) {
        self.seq = position;
        self.max_seen = max_seen;
        self.stats.events = stats.events;
        self.stats.invalid = stats.invalid;
        self.stats.late = stats.late;
        self.stats.no_timestamp = stats.no_timestamp;
        self.stats.blank = stats.blank;
    }
}
