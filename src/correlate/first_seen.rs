//! `first_seen` (S8): per group, each value with the time it was last seen.

use super::Candidate;
use crate::time::Timestamp;
use ahash::AHashMap;
use serde_json::Value;
use std::sync::Arc;

/// One group's remembered values. The group exists (is "known") once any value was seen,
/// even after all its values expire.
#[derive(Debug, Clone, Default)]
pub struct FirstSeenGroup {
    seen: AHashMap<String, Timestamp>,
}

/// What `first_seen` needs to know about its rule and the stream.
pub struct Policy {
    /// `history`, in ns.
    pub history: i64,
    /// `new_group: alert`.
    pub new_group_alert: bool,
    /// True while the global `learning` warm-up lasts.
    pub learning: bool,
}

impl FirstSeenGroup {
    /// A contributing event with value `v` at `ts`. `known` says whether the group existed
    /// before this event. The value is recorded whether or not it alerts.
    pub fn on_value(
        &mut self,
        known: bool,
        key: String,
        value: Value,
        ts: Timestamp,
        text: &Arc<str>,
        p: &Policy,
    ) -> Option<Candidate> {
        let cutoff = ts.plus(-p.history);
        // Values last seen before the history window are forgotten (they are new again).
        self.seen.retain(|_, t| *t >= cutoff);
        let is_new = !self.seen.contains_key(&key);
        self.seen.insert(key, ts);
        let alert = is_new && (known || p.new_group_alert) && !p.learning;
        alert.then(|| Candidate {
            ts,
            value: None,
            values: Some(match value {
                Value::Array(vs) => vs,
                v => vec![v],
            }),
            anchor_ts: None,
            events: vec![text.clone()],
        })
    }

    /// Forgets the values (the group stays known).
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}
