//! Checkpoints: an engine's state as a versioned JSON document (`--state FILE`).
//!
//! A checkpoint holds everything that decides future alerts: the newest timestamp seen
//! (hence the watermark), the arrival counter, the events still waiting in the reorder
//! buffer, and all correlation state. Run counters are not carried: each run's summary
//! describes its own input. A stream cut anywhere into two runs joined by a checkpoint
//! gives exactly the alerts of one run.

use super::{Buffered, Engine};
use crate::alert::Alert;
use crate::alert::AlertOrder;
use crate::compile::RuleSet;
use crate::correlate::{Correlator, CorrelatorSnapshot, SnapshotError};
use crate::source::View;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Reverse;
use std::sync::Arc;

const FORMAT: &str = "session-sigma-state";
/// The checkpoint format version this build reads and writes.
pub const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    format: String,
    version: u32,
    /// Fingerprint of the correlation rules the state belongs to.
    rules: String,
    max_seen: Option<Timestamp>,
    seq: u64,
    buffer: Vec<(Timestamp, u64, Value, String)>,
    /// The buffered records that are not plain session events (by `seq`): Windows records
    /// and session events with a Windows `raw`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    buffer_views: Vec<(u64, View)>,
    /// Where the buffered records came from (by `seq`), when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    buffer_origins: Vec<(u64, crate::alert::Origin)>,
    correlator: CorrelatorSnapshot,
    /// Alerts held for ordering (all at `held_at`), written by the next segment.
    held_at: Option<Timestamp>,
    held: Vec<HeldAlert>,
}

/// An alert as plain data; the rule is named by its position in the rule set.
#[derive(Serialize, Deserialize)]
struct HeldAlert {
    position: u32,
    rule_type: String,
    timestamp: Option<Timestamp>,
    group: Option<Vec<(String, Value)>>,
    value: Option<f64>,
    values: Option<Vec<Value>>,
    anchor_timestamp: Option<Timestamp>,
    incomplete: bool,
    events: Vec<String>,
    order_group: String,
    order_seq: u64,
}

/// Why a checkpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Not a checkpoint, or damaged.
    #[error("not a valid session-sigma state file: {0}")]
    Corrupt(String),
    /// Written by another format version.
    #[error("state file version {0} is not supported (this build reads version {VERSION})")]
    Version(u32),
    /// Written for other correlation rules.
    #[error(
        "the state file was written for other correlation rules ({0}); use those rules or start without it"
    )]
    Rules(String),
    /// Restored into an engine that already processed events.
    #[error("state can only be restored into a fresh engine")]
    NotFresh,
}

impl Engine<'_> {
    /// The engine's state as JSON. Call after [`pause`](Engine::pause) (or at any point
    /// between events).
    pub fn checkpoint(&self) -> String {
        let mut buffer: Vec<(Timestamp, u64, Value, String)> = self
            .buffer
            .iter()
            .map(|Reverse(b)| {
                // The event is kept as its text; the parsed form is written too, as
                // version 1 files have it.
                let event = serde_json::from_str(&b.text).unwrap_or(Value::Null);
                (b.ts, b.seq, event, b.text.to_string())
            })
            .collect();
        buffer.sort_by_key(|b| (b.0, b.1));
        let mut buffer_views: Vec<(u64, View)> = self
            .buffer
            .iter()
            .filter(|Reverse(b)| b.view != View::Session)
            .map(|Reverse(b)| (b.seq, b.view))
            .collect();
        buffer_views.sort_unstable_by_key(|v| v.0);
        let mut buffer_origins: Vec<(u64, crate::alert::Origin)> = self
            .buffer
            .iter()
            .filter_map(|Reverse(b)| b.origin.clone().map(|o| (b.seq, o)))
            .collect();
        buffer_origins.sort_unstable_by_key(|v| v.0);
        let cp = Checkpoint {
            format: FORMAT.to_string(),
            version: VERSION,
            rules: fingerprint(self.set),
            max_seen: self.max_seen,
            seq: self.seq,
            buffer,
            buffer_views,
            buffer_origins,
            correlator: self.correlator.snapshot(self.set),
            // Held alerts are those of the latest time processed: all at one time.
            held_at: self.held.iter().map(|(o, _)| o.time()).next(),
            held: self
                .held
                .iter()
                .map(|(o, a)| HeldAlert {
                    position: o.rule(),
                    rule_type: a.rule_type.to_string(),
                    timestamp: a.timestamp,
                    group: a.group.clone(),
                    value: a.value,
                    values: a.values.clone(),
                    anchor_timestamp: a.anchor_timestamp,
                    incomplete: a.incomplete,
                    events: a.events.iter().map(|t| t.to_string()).collect(),
                    order_group: o.group().to_string(),
                    order_seq: o.input(),
                })
                .collect(),
        };
        serde_json::to_string(&cp).unwrap_or_default()
    }

    /// Loads a checkpoint into a fresh engine.
    pub fn restore(&mut self, json: &str) -> Result<(), StateError> {
        if self.seq != 0 || self.stats.invalid != 0 {
            return Err(StateError::NotFresh);
        }
        let head: Value =
            serde_json::from_str(json).map_err(|e| StateError::Corrupt(e.to_string()))?;
        if head.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(StateError::Corrupt(format!(
                "the `format` is not `{FORMAT}`"
            )));
        }
        let version = head.get("version").and_then(Value::as_u64).unwrap_or(0);
        if version != u64::from(VERSION) {
            return Err(StateError::Version(
                u32::try_from(version).unwrap_or(u32::MAX),
            ));
        }
        let cp: Checkpoint =
            serde_json::from_value(head).map_err(|e| StateError::Corrupt(e.to_string()))?;
        if cp.rules != fingerprint(self.set) {
            return Err(StateError::Rules("their fingerprint differs".to_string()));
        }
        let correlator = Correlator::restore(self.set, self.settings.limits, cp.correlator)
            .map_err(|e: SnapshotError| StateError::Rules(e.to_string()))?;
        let mut held = super::Held::default();
        for h in cp.held {
            let (meta, rule_type) =
                rule_at(self.set, h.position, &h.rule_type).ok_or_else(|| {
                    StateError::Rules(format!(
                        "no rule at position {} of type `{}`",
                        h.position, h.rule_type
                    ))
                })?;
            let alert = Alert {
                rule: meta,
                rule_type,
                timestamp: h.timestamp,
                group: h.group,
                value: h.value,
                values: h.values,
                anchor_timestamp: h.anchor_timestamp,
                incomplete: h.incomplete,
                events: h.events.into_iter().map(Arc::from).collect(),
            };
            let time = h.timestamp.or(cp.held_at).unwrap_or(Timestamp(i64::MIN));
            held.push(
                AlertOrder::in_order(time, h.position, h.order_group, h.order_seq),
                alert,
            );
        }
        self.held = held;
        self.correlator = correlator;
        self.max_seen = cp.max_seen;
        self.seq = cp.seq;
        let views: ahash::AHashMap<u64, View> = cp.buffer_views.into_iter().collect();
        let mut origins: ahash::AHashMap<u64, crate::alert::Origin> =
            cp.buffer_origins.into_iter().collect();
        self.buffer = cp
            .buffer
            .into_iter()
            .map(|(ts, seq, _event, text)| {
                Reverse(Buffered {
                    ts,
                    seq,
                    view: views.get(&seq).copied().unwrap_or_default(),
                    text: Arc::from(text),
                    origin: origins.remove(&seq),
                })
            })
            .collect();
        Ok(())
    }
}

/// The rule at a position of the rule set, with its alert type.
fn rule_at(
    set: &RuleSet,
    position: u32,
    rule_type: &str,
) -> Option<(Arc<crate::rule::RuleMeta>, &'static str)> {
    if rule_type == "detection" {
        let r = set.rules.iter().find(|r| r.position == position)?;
        return Some((r.meta.clone(), "detection"));
    }
    let c = set.correlations.iter().find(|c| c.position == position)?;
    let t = c.def.kind.as_str();
    (t == rule_type).then(|| (c.meta.clone(), t))
}

/// A fingerprint of everything in the correlation rules that shapes their state.
fn fingerprint(set: &RuleSet) -> String {
    let mut text = String::new();
    for c in &set.correlations {
        let d = &c.def;
        let names = |refs: &[crate::rule::Reference]| {
            refs.iter().map(|r| r.name.clone()).collect::<Vec<_>>()
        };
        text.push_str(&format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}\n",
            c.meta.handle(),
            d.kind,
            names(&d.rules),
            d.group_by,
            d.timespan,
            d.condition,
            d.fields,
            names(&d.reset),
            names(&d.trigger),
            names(&d.expected),
            d.anchor,
            d.history,
            d.learning,
            d.suppress,
            d.on_fire_reset
        ));
    }
    // FNV-1a, 64 bits: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
