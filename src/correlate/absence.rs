//! `absence` (S9): obligations opened by anchors, discharged by expected events, fired by
//! the watermark passing their deadline.

use crate::compile::RuleRef;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One open obligation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Obligation {
    /// Unique id (timer entries refer to it).
    pub id: u64,
    /// When the anchor happened.
    pub anchor_ts: Timestamp,
    /// `anchor_ts + timespan`.
    pub deadline: Timestamp,
    /// The anchor event.
    pub text: Arc<str>,
    /// The rule the anchor arrived through: with the anchor event, it gives the group's
    /// values for the alert (not stored: most obligations are discharged).
    pub via: RuleRef,
}

/// A group's pending obligations, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AbsenceGroup {
    /// Pending obligations.
    pub pending: Vec<Obligation>,
}

impl AbsenceGroup {
    /// An expected event at `ts` discharges every pending obligation whose deadline is not
    /// passed (`deadline ≥ ts`). Anchors always came before it: inputs are processed in
    /// order and an event that is both expected and anchor is handled as expected first.
    pub fn discharge(&mut self, ts: Timestamp) {
        self.pending.retain(|o| o.deadline < ts);
    }

    /// Takes the obligation with this id, if still pending.
    pub fn take(&mut self, id: u64) -> Option<Obligation> {
        let i = self.pending.iter().position(|o| o.id == id)?;
        Some(self.pending.remove(i))
    }
}
