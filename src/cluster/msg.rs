//! What crosses between workers, and the event-time clock of the dataflow.

use serde::{Deserialize, Serialize};

/// Nanoseconds per tick of timely time: one second of event time.
pub const TICK: i128 = 1_000_000_000;

/// The tick an event time falls in (monotonic over all of `i64`).
pub fn tick(ts: i64) -> u64 {
    ((ts as i128 - i64::MIN as i128) / TICK) as u64
}

/// The first event time of a tick.
pub fn tick_start(t: u64) -> i64 {
    (t as i128 * TICK + i64::MIN as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
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
}

/// An in-order event for one correlation component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMsg {
    /// Hash of (component, group), or of the component alone for chained correlations.
    pub route: u64,
    /// The component (its first correlation's index).
    pub comp: u32,
    /// Event time.
    pub ts: i64,
    /// Input position: partition in the high bits, position in the partition below.
    pub seq: u64,
    /// Export order within the partition (a record and its Windows `raw` share `seq`).
    pub n: u64,
    /// Detection rules matched (ascending).
    pub matched: Vec<u32>,
    /// The fields correlations read, as JSON.
    pub event: String,
    /// The event as read.
    pub text: String,
}

/// Run counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// As in [`crate::eval::Stats`].
    pub events: u64,
    /// As in [`crate::eval::Stats`].
    pub invalid: u64,
    /// As in [`crate::eval::Stats`].
    pub late: u64,
    /// As in [`crate::eval::Stats`].
    pub no_timestamp: u64,
    /// As in [`crate::eval::Stats`].
    pub evicted_groups: u64,
    /// As in [`crate::eval::Stats`].
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
            Msg::Alert { .. } | Msg::Counts(_) => 0,
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
    fn ticks_are_monotonic_and_invertible() {
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
        // Ticks are whole seconds counted from i64::MIN, so their edges need not fall on
        // whole seconds of the epoch; what matters is order and width.
        let mut last = 0;
        for ts in (-3_000_000_000i64..3_000_000_000).step_by(7_777_777) {
            assert!(tick(ts) >= last);
            last = tick(ts);
            assert_eq!(tick(ts) + 1, tick(ts + 1_000_000_000));
        }
    }

    #[test]
    fn global_seq_keeps_partition_zero_as_is() {
        assert_eq!(global_seq(0, 17), 17);
        assert!(global_seq(1, 1) > global_seq(0, (1 << 40) - 1));
    }
}
