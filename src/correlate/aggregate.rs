//! `event_count`, `value_count`, `value_sum`, `value_avg` (S6): a sliding window per group.
//!
//! Each group keeps the window's entries in arrival order (which is time order, S2) with
//! running aggregates, so an evaluation costs O(1) after evicting what left the window.

use super::Candidate;
use super::group::{Picked, value_of};
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use crate::rule::{CmpOp, CorrelationType};
use crate::time::Timestamp;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};

/// Serialises the distinct-value map with its keys sorted (deterministic checkpoints).
fn sorted_distinct<S: serde::Serializer>(
    map: &Option<Box<DistinctValues>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let sorted: Option<std::collections::BTreeMap<&Box<str>, &(u32, Value)>> =
        map.as_ref().map(|m| m.iter().collect());
    sorted.serialize(s)
}
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// Each distinct value's text, with its number of window entries and its JSON value.
type DistinctValues = AHashMap<Box<str>, (u32, Value)>;

/// Most contributing events an alert carries.
pub const MAX_ALERT_EVENTS: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    ts: Timestamp,
    /// The distinct-value key (value_count) or the number (value_sum/avg), if any.
    distinct: Option<Box<str>>,
    number: Option<f64>,
    /// The event (shared with every other state holding it), for the alert's `events`.
    text: Arc<str>,
}

/// One group's window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AggregateGroup {
    entries: VecDeque<Entry>,
    /// value_count only: each distinct value with its number of entries (allocated on use).
    #[serde(serialize_with = "sorted_distinct")]
    distinct: Option<Box<DistinctValues>>,
    sum: f64,
    numbers: u64,
}

impl AggregateGroup {
    /// Drops entries older than `cutoff` (S5: `c.ts ≥ e.ts − timespan` stays).
    pub fn evict_before(&mut self, cutoff: Timestamp) {
        while self.entries.front().is_some_and(|e| e.ts < cutoff) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        if let (Some(k), Some(map)) = (&e.distinct, self.distinct.as_mut()) {
            if let Some(slot) = map.get_mut(k) {
                slot.0 -= 1;
                if slot.0 == 0 {
                    map.remove(k);
                }
            }
        }
        if let Some(n) = e.number {
            self.sum -= n;
            self.numbers -= 1;
        }
        if self.numbers == 0 {
            self.sum = 0.0; // no drift once the window has no numbers
        }
    }

    /// Adds a contributing event (its value counted as distinct when `count_distinct`).
    /// When the window holds `cap` entries already, the oldest is dropped first and `true`
    /// returned (the caller counts it).
    pub fn push(
        &mut self,
        ts: Timestamp,
        value: Option<Picked<'_>>,
        text: Arc<str>,
        cap: usize,
        count_distinct: bool,
    ) -> bool {
        let over = self.entries.len() >= cap.max(1);
        if over {
            // The oldest entry goes, whatever its time.
            self.pop_front();
        }
        let mut number = None;
        let mut distinct = None;
        if let Some(p) = value {
            number = p.number();
            if count_distinct {
                let k: Box<str> = Box::from(&*p.key);
                let map = self.distinct.get_or_insert_with(Default::default);
                match map.get_mut(&k) {
                    Some(slot) => slot.0 += 1,
                    None => {
                        map.insert(k.clone(), (1, p.value()));
                    }
                }
                distinct = Some(k);
            }
        }
        if let Some(n) = number {
            self.sum += n;
            self.numbers += 1;
        }
        if self.entries.capacity() == 0 {
            // Most groups hold one event: do not reserve the default four slots.
            self.entries.reserve_exact(1);
        }
        self.entries.push_back(Entry {
            ts,
            distinct,
            number,
            text,
        });
        over
    }

    /// The aggregate of the window, if it has one (an average needs a number).
    pub fn aggregate(&self, kind: CorrelationType) -> Option<f64> {
        match kind {
            CorrelationType::EventCount => Some(self.entries.len() as f64),
            CorrelationType::ValueCount => {
                Some(self.distinct.as_ref().map_or(0, |m| m.len()) as f64)
            }
            CorrelationType::ValueSum => Some(self.sum),
            CorrelationType::ValueAvg => (self.numbers > 0).then(|| self.sum / self.numbers as f64),
            _ => None,
        }
    }

    /// Evaluates the condition at time `ts`; the candidate alert when it holds.
    pub fn evaluate(
        &self,
        kind: CorrelationType,
        condition: &[(CmpOp, f64)],
        ts: Timestamp,
    ) -> Option<Candidate> {
        let value = self.aggregate(kind)?;
        if !condition.iter().all(|(op, t)| op.test(value, *t)) {
            return None;
        }
        let values = (kind == CorrelationType::ValueCount).then(|| {
            let mut vs: Vec<(&Box<str>, &Value)> = self
                .distinct
                .iter()
                .flat_map(|m| m.iter())
                .map(|(k, (_, v))| (k, v))
                .collect();
            vs.sort_by(|a, b| a.0.cmp(b.0));
            vs.into_iter().map(|(_, v)| v.clone()).collect()
        });
        Some(Candidate {
            ts,
            value: Some(value),
            values,
            anchor_ts: None,
            // docs/semantics.md §4.1: the ten most recent, in time order, ending with this event.
            events: self
                .entries
                .iter()
                .skip(self.entries.len().saturating_sub(MAX_ALERT_EVENTS))
                .map(|e| e.text.clone())
                .collect(),
        })
    }
}

impl GroupState for AggregateGroup {
    const EXPIRES: bool = true;
    const RESET_ON_FIRE: bool = true;

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        let (c, ts) = (s.c, s.input.ts);
        if s.trigger {
            // Trigger events are evaluation points, not counted (S6).
            let empty = AggregateGroup::default();
            let g = match groups.get_mut(key) {
                Some(g) => {
                    g.evict_before(s.cutoff);
                    &*g
                }
                None => &empty,
            };
            out.extend(g.evaluate(c.def.kind, &c.def.condition, ts));
        } else if !s.stages.is_empty() {
            let g = groups.touch(key, ts, AggregateGroup::default);
            g.evict_before(s.cutoff);
            let distinct = c.def.kind == CorrelationType::ValueCount;
            let value = value_of(c, s.input.row);
            if g.push(ts, value, s.input.text.clone(), s.cap, distinct) {
                *shared.evicted_entries += 1;
            }
            if c.trigger.is_empty() {
                out.extend(g.evaluate(c.def.kind, &c.def.condition, ts));
            }
        }
    }
}
