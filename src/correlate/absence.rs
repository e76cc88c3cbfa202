//! `absence` (S9): obligations opened by anchors, discharged by expected events, fired by
//! the watermark passing their deadline.

use super::Candidate;
use super::kind::{Deadline, GroupState, Shared, Step};
use super::store::GroupStore;
use crate::compile::RuleRef;
use crate::rule::Anchor;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
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
    #[serde(with = "super::event_text")]
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

impl GroupState for AbsenceGroup {
    /// A group lives as long as it has obligations.
    const EXPIRES: bool = false;
    const RESET_ON_FIRE: bool = false;

    fn describe(&self, c: &crate::compile::CompiledCorrelation) -> Vec<String> {
        let mut out = vec![format!("pending obligations: {}", self.pending.len())];
        for o in &self.pending {
            out.push(format!(
                "  anchor at {}: fires at {} unless an expected event comes first",
                o.anchor_ts, o.deadline
            ));
        }
        let expected: Vec<&str> = c.def.expected.iter().map(|r| r.name.as_str()).collect();
        out.push(format!("expected: {}", expected.join(", ")));
        out
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        _: &mut Vec<Candidate>,
    ) {
        let ts = s.input.ts;
        // Expected first, then anchor: an event that is both discharges what came before.
        if s.expected {
            if let Some(g) = groups.get_mut(key) {
                g.discharge(ts);
                if g.pending.is_empty() {
                    groups.remove(key);
                }
            }
        }
        if s.stages.is_empty() {
            return;
        }
        let (key, g) = groups.touch_keyed(key, ts, AbsenceGroup::default);
        let open = match s.c.def.anchor {
            Anchor::First => g.pending.is_empty(),
            Anchor::Each => true,
            Anchor::Restart => {
                g.pending.clear();
                true
            }
        };
        if !open {
            return;
        }
        if g.pending.len() >= s.cap.max(1) {
            g.pending.remove(0);
            *shared.evicted_entries += 1;
        }
        let id = *shared.next_id;
        *shared.next_id += 1;
        let deadline = ts.plus(s.span);
        if g.pending.capacity() == 0 {
            // Most groups hold one obligation: no room reserved for four.
            g.pending.reserve_exact(1);
        }
        g.pending.push(Obligation {
            id,
            anchor_ts: ts,
            deadline,
            text: s.input.text.clone(),
            via: s.via,
        });
        shared.deadlines.push(Reverse(Deadline {
            at: deadline,
            rule: s.c.position,
            key: key.clone(),
            id,
            correlation: s.ci,
        }));
    }
}
