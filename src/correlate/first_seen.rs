//! `first_seen` (S8): per group, each value with the time it was last seen.

use super::Candidate;
use super::group::{Picked, value_of};
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use crate::time::Timestamp;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// One group's remembered values. The group exists (is "known") once any value was seen,
/// even after all its values expire.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FirstSeenGroup {
    #[serde(serialize_with = "super::group::sorted_map")]
    seen: AHashMap<String, Timestamp>,
    /// Size at which expired values are next swept out (amortised O(1) per event).
    #[serde(default)]
    sweep_at: u32,
}

/// What `first_seen` needs to know about its rule and the stream.
pub struct Policy {
    /// `history`, in ns.
    pub history: i64,
    /// `new_group: alert`.
    pub new_group_alert: bool,
    /// True while the global `learning` warm-up lasts.
    pub learning: bool,
    /// Most values a group remembers; the least recently seen goes first.
    pub max_values: usize,
}

impl FirstSeenGroup {
    /// A contributing event with value `v` at `ts`. `known` says whether the group existed
    /// before this event. The value is recorded whether or not it alerts. Also returns how
    /// many remembered values the `max_values` bound pushed out.
    pub fn on_value(
        &mut self,
        known: bool,
        value: &Picked<'_>,
        ts: Timestamp,
        text: &Arc<str>,
        p: &Policy,
    ) -> (Option<Candidate>, u64) {
        let cutoff = ts.plus(-p.history);
        // A value last seen before the cutoff is new again; expired values are swept out
        // lazily, when the map has doubled since the last sweep or is full.
        let key = &*value.key;
        let is_new = self.seen.get(key).is_none_or(|t| *t < cutoff);
        if self.seen.len() >= (self.sweep_at as usize).max(16) || self.seen.len() >= p.max_values {
            self.seen.retain(|_, t| *t >= cutoff);
            self.sweep_at = u32::try_from(self.seen.len() * 2).unwrap_or(u32::MAX);
        }
        let mut evicted = 0;
        if is_new && !self.seen.contains_key(key) && self.seen.len() >= p.max_values.max(1) {
            // The least recently seen value goes (ties: the smallest key, for determinism).
            let oldest = self
                .seen
                .iter()
                .min_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.seen.remove(&k);
                evicted = 1;
            }
        }
        match self.seen.get_mut(key) {
            Some(t) => *t = ts,
            None => {
                self.seen.insert(key.to_string(), ts);
            }
        }
        let alert = is_new && (known || p.new_group_alert) && !p.learning;
        let cand = alert.then(|| Candidate {
            ts,
            value: None,
            values: Some(match value.value() {
                Value::Array(vs) => vs,
                v => vec![v],
            }),
            anchor_ts: None,
            events: vec![text.clone()],
        });
        (cand, evicted)
    }

    /// Forgets the values (the group stays known).
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

impl GroupState for FirstSeenGroup {
    /// A group once seen stays known even when all its values expired (S8).
    const EXPIRES: bool = false;
    const RESET_ON_FIRE: bool = false;

    /// A reset forgets the values; the group stays known.
    fn reset(groups: &mut GroupStore<Self>, key: &str) {
        if let Some(g) = groups.get_mut(key) {
            g.clear();
        }
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        if s.stages.is_empty() {
            return;
        }
        let Some(value) = value_of(s.c, s.input.row) else {
            return;
        };
        let known = groups.contains(key);
        let policy = Policy {
            history: s.c.def.history.unwrap_or(0),
            new_group_alert: s.c.def.new_group_alert,
            learning: s.learning,
            max_values: s.cap,
        };
        let g = groups.touch(key, s.input.ts, FirstSeenGroup::default);
        let (cand, evicted) = g.on_value(known, &value, s.input.ts, s.input.text, &policy);
        *shared.evicted_entries += evicted;
        out.extend(cand);
    }
}
