//! What crosses between workers.

use crate::alert::{AlertOrder, Emitted, Format};
use crate::correlate::row::Row;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A record of the dataflow. `route` decides the worker it goes to. Every event is one, so
/// the rare large variants are boxed: a message is moved several times on its way (152
/// bytes each time before, 112 now).
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
        ts: Timestamp,
    },
    /// To one correlator: a partition ended; its newest event time.
    End {
        /// The worker.
        to: u64,
        /// The partition's newest event time.
        max: Option<Timestamp>,
    },
    /// To the output: an alert, rendered, with its order.
    Alert {
        /// Its place in the output.
        key: AlertOrder,
        /// The alert as written.
        line: String,
    },
    /// To the output: counters of a partition or of a correlator, at the end.
    Counts(Box<Counts>),
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
        state: Box<super::checkpoint::PartState>,
    },
    /// To the output: a worker's correlation state at boundary `tick`, as JSON.
    Snapshot {
        /// The boundary.
        tick: u64,
        /// The worker.
        worker: u64,
        /// The boundary of the part this one holds the changes since (`None`: whole state).
        since: Option<u64>,
        /// [`super::checkpoint::WorkerPart`] as JSON.
        json: Vec<u8>,
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
    pub ts: Timestamp,
    /// Input position: partition in the high bits, position in the partition below.
    pub seq: u64,
    /// Export order within the partition (a record and its Windows `raw` share `seq`).
    pub n: u64,
    /// Detection rules matched (ascending).
    pub matched: Vec<u32>,
    /// The fields correlations read (shared, not copied, within a process).
    pub row: Arc<Row>,
    /// The event as read.
    pub text: Arc<str>,
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
    pub pending: Vec<(Timestamp, u32, String, u64, String, String)>,
    /// Open obligations, listed or not.
    #[serde(default)]
    pub pending_total: u64,
}

impl Msg {
    /// An alert for the output, rendered in `format`. `partition`: the alert carries that
    /// partition's own input positions, which become global ([`global_seq`]).
    pub fn alert(format: &Format, e: &Emitted, partition: Option<u32>) -> Msg {
        let key = match partition {
            Some(p) => e.order.clone().map_positions(|s| global_seq(p, s)),
            None => e.order.clone(),
        };
        Msg::Alert {
            key,
            line: format.render(&e.alert),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_seq_keeps_partition_zero_as_is() {
        assert_eq!(global_seq(0, 17), 17);
        assert!(global_seq(1, 1) > global_seq(0, (1 << 40) - 1));
    }

    /// Every event crosses as a message, moved several times: the rare large variants stay
    /// boxed so that a message is no larger than an event's.
    #[test]
    fn a_message_is_no_larger_than_an_event_message() {
        let (msg, event) = (size_of::<Msg>(), size_of::<EventMsg>());
        assert!(msg <= event + 8, "Msg {msg} bytes, EventMsg {event}");
    }
}
