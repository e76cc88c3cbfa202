//! What crosses between workers, and the event-time clock of the dataflow.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Nanoseconds per tick of timely time: one second of event time.
pub const TICK: i64 = 1_000_000_000;

/// Tick 1 is this second of the epoch (the earliest whole second an `i64` of nanoseconds
/// holds, in 1677); ticks are whole epoch seconds from there. Tick 0 holds every time
/// before it, down to `i64::MIN` (the order key of alerts written before any timestamp).
const BASE: i64 = i64::MIN / TICK;

/// The tick an event time falls in (monotonic).
pub fn tick(ts: i64) -> u64 {
    if ts < BASE * TICK {
        0
    } else {
        (ts.div_euclid(TICK) - BASE + 1) as u64
    }
}

/// The first event time of a tick.
pub fn tick_start(t: u64) -> i64 {
    if t == 0 {
        return i64::MIN;
    }
    ((t as i128 - 1 + BASE as i128) * TICK as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Epoch second of tick `t` (≥ 1).
fn second(t: u64) -> i64 {
    t as i64 - 1 + BASE
}

/// The latest checkpoint boundary at or before tick `t`: boundaries fall on whole
/// multiples of `every` seconds since the epoch (every 10m: at :00, :10, …).
pub fn boundary_at_or_before(t: u64, every: u64) -> u64 {
    let every = every.max(1) as i64;
    let s = second(t.max(1));
    (s - s.rem_euclid(every) + 1 - BASE).max(0) as u64
}

/// Whether tick `t` is a checkpoint boundary.
pub fn is_boundary(t: u64, every: u64) -> bool {
    t >= 1 && second(t).rem_euclid(every.max(1) as i64) == 0
}

/// Output order of an alert (DESIGN.md 4.1 and the engine's `write_on_arrival`):
/// - in time order: `(ts, 1, 0, rule position, group, input position)`;
/// - written on arrival (late events, no timestamp): `(W at arrival, 0, input position,
///   rule position, "", 0)`.
pub type Key = (i64, u8, u64, u32, String, u64);

/// A record of the dataflow. `route` decides the worker it goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Msg {
    /// An in-order event for the correlations of one component (correlations that feed
    /// one another stay together).
    Event(EventMsg),
    /// To one correlator: a partition's first in-order event time (`learning`).
    Start {
        /// The worker.
        to: u64,
        /// The time.
        ts: i64,
    },
    /// To one correlator: a partition ended; its newest event time.
    End {
        /// The worker.
        to: u64,
        /// The partition's newest event time.
        max: Option<i64>,
    },
    /// To the output: an alert, rendered, with its order.
    Alert {
        /// Its place in the output.
        key: Key,
        /// The alert as written.
        line: String,
    },
    /// To the output: counters of a partition or of a correlator, at the end.
    Counts(Counts),
    /// To the output: where a partition resumes for the checkpoint boundaries (ticks) in
    /// `from..=to` that are multiples of the interval.
    Resume {
        /// The partition.
        partition: u32,
        /// First boundary covered.
        from: u64,
        /// Last boundary covered.
        to: u64,
        /// Where and with which counters.
        state: super::checkpoint::PartState,
    },
    /// To the output: a worker's correlation state at boundary `tick`, as JSON.
    Snapshot {
        /// The boundary.
        tick: u64,
        /// The worker.
        worker: u64,
        /// [`super::checkpoint::WorkerState`] as JSON.
        json: String,
    },
}

/// An in-order event for one correlation component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMsg {
    /// The worker that holds these components' groups for this event.
    pub route: u64,
    /// The components (first correlation index of each), ascending.
    pub comps: Vec<u32>,
    /// Event time.
    pub ts: i64,
    /// Input position: partition in the high bits, position in the partition below.
    pub seq: u64,
    /// Export order within the partition (a record and its Windows `raw` share `seq`).
    pub n: u64,
    /// Detection rules matched (ascending).
    pub matched: Vec<u32>,
    /// The fields correlations read.
    pub event: Json,
    /// The event as read.
    pub text: Arc<str>,
}

/// A JSON value moved between workers: as it is within a process (timely moves data
/// between threads without serialising it), as JSON text between processes.
#[derive(Debug, Clone)]
pub struct Json(pub Arc<serde_json::Value>);

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text)
            .map(|v| Json(Arc::new(v)))
            .map_err(serde::de::Error::custom)
    }
}

/// Run counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// As in [`crate::engine::Stats`].
    pub events: u64,
    /// As in [`crate::engine::Stats`].
    pub invalid: u64,
    /// As in [`crate::engine::Stats`].
    pub late: u64,
    /// As in [`crate::engine::Stats`].
    pub no_timestamp: u64,
    /// As in [`crate::engine::Stats`].
    pub blank: u64,
    /// As in [`crate::engine::Stats`].
    pub evicted_groups: u64,
    /// As in [`crate::engine::Stats`].
    pub evicted_entries: u64,
    /// Skipped records by reason.
    pub skipped: Vec<(String, u64)>,
    /// Open obligations: (deadline, rule position, group text, id) for their order, then
    /// the rule's handle and the group as a JSON object.
    pub pending: Vec<(i64, u32, String, u64, String, String)>,
}

impl Msg {
    /// The worker-routing hash.
    pub fn route(&self) -> u64 {
        match self {
            Msg::Event(e) => e.route,
            Msg::Start { to, .. } | Msg::End { to, .. } => *to,
            Msg::Alert { .. } | Msg::Counts(_) | Msg::Resume { .. } | Msg::Snapshot { .. } => 0,
        }
    }
}

/// Input position across partitions: the partition in the top 24 bits. With one
/// partition it is the engine's own position, so `run` and `cluster` agree.
pub fn global_seq(partition: u32, seq: u64) -> u64 {
    ((partition as u64) << 40) | (seq & ((1 << 40) - 1))
}

/// FNV-1a, 64 bits: a hash that is the same in every process and version.
pub fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(&[0xff]) {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_epoch_seconds() {
        for ts in [
            i64::MIN,
            -1_500_000_000,
            -1,
            0,
            1,
            999_999_999,
            1_000_000_000,
            i64::MAX,
        ] {
            let t = tick(ts);
            assert!(tick_start(t) <= ts, "{ts}");
            assert!(t == u64::MAX || tick_start(t + 1) > ts || tick_start(t + 1) == i64::MAX);
        }
        assert_eq!(tick(-1) + 1, tick(0));
        assert_eq!(tick(0), tick(999_999_999));
        assert_eq!(tick(0) + 1, tick(1_000_000_000));
        assert_eq!(
            tick_start(tick(1_714_521_600_000_000_123)),
            1_714_521_600_000_000_000
        );
    }

    #[test]
    fn boundaries_fall_on_round_times() {
        let t = tick(1_714_521_600 * TICK + 3_599 * TICK); // 2024-05-01T00:59:59Z
        let b = boundary_at_or_before(t, 600);
        assert_eq!(tick_start(b), (1_714_521_600 + 3_000) * TICK); // 00:50:00
        assert!(is_boundary(b, 600));
        assert!(!is_boundary(b + 1, 600));
        assert_eq!(boundary_at_or_before(b, 600), b);
    }

    #[test]
    fn global_seq_keeps_partition_zero_as_is() {
        assert_eq!(global_seq(0, 17), 17);
        assert!(global_seq(1, 1) > global_seq(0, (1 << 40) - 1));
    }
}
