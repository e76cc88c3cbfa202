//! Correlation state as plain data, for checkpoints (`--state`).
//!
//! Groups are written least recently used first with their last-touch time, so a restored
//! store evicts and expires exactly as the original would have. Deadlines are not written:
//! they are rebuilt from the open obligations.

use super::absence::AbsenceGroup;
use super::aggregate::AggregateGroup;
use super::first_seen::FirstSeenGroup;
use super::group::GroupKey;
use super::ordered::OrderedGroup;
use super::store::GroupStore;
use super::temporal::TemporalGroup;
use super::{Correlator, Limits, State};
use crate::compile::RuleSet;
use crate::time::Timestamp;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

type Groups<G> = Vec<(GroupKey, Timestamp, G)>;

/// Why correlation state cannot be restored for these rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Another number of correlations.
    #[error("the state holds {state} correlation(s), the rules have {rules}")]
    Count {
        /// Correlations in the state.
        state: usize,
        /// Correlations in the rules.
        rules: usize,
    },
    /// The correlation at one position is another rule.
    #[error("the state's correlation {number} is `{state}`, the rules' is `{rules}`")]
    Renamed {
        /// 1-based position.
        number: usize,
        /// Its handle in the state.
        state: String,
        /// Its handle in the rules.
        rules: String,
    },
    /// A correlation's type changed.
    #[error("correlation `{0}` changed type")]
    TypeChanged(String),
    /// Merging no snapshot at all.
    #[error("no snapshot to merge")]
    NothingToMerge,
    /// Merging snapshots of different rule sets.
    #[error("snapshots of different rule sets")]
    OtherRules,
    /// Merged snapshots name another rule at a position (1-based).
    #[error("snapshots disagree on correlation {0}")]
    Disagree(usize),
}

/// The groups of one correlation, by type.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "groups", rename_all = "snake_case")]
enum GroupsSnapshot {
    Aggregate(Groups<AggregateGroup>),
    Temporal(Groups<TemporalGroup>),
    Ordered(Groups<OrderedGroup>),
    FirstSeen(Groups<FirstSeenGroup>),
    Absence(Groups<AbsenceGroup>),
}

#[derive(Debug, Serialize, Deserialize)]
struct CorrelationSnapshot {
    /// The correlation's handle, checked on restore.
    rule: String,
    state: GroupsSnapshot,
    /// Last alert time per group (`suppress`), sorted by group.
    last_alert: Vec<(GroupKey, Timestamp)>,
}

/// All correlation state of an engine.
#[derive(Debug, Serialize, Deserialize)]
pub struct CorrelatorSnapshot {
    correlations: Vec<CorrelationSnapshot>,
    next_id: u64,
    stream_start: Option<Timestamp>,
}

impl Correlator {
    /// The state as plain data.
    pub fn snapshot(&self, set: &RuleSet) -> CorrelatorSnapshot {
        let correlations = self
            .states
            .iter()
            .zip(&self.last_alert)
            .zip(&set.correlations)
            .map(|((st, last), c)| {
                let mut last_alert: Vec<(GroupKey, Timestamp)> =
                    last.iter().map(|(k, t)| (k.clone(), *t)).collect();
                // By parts, as checkpoints have always listed them.
                last_alert.sort_by_cached_key(|(k, t)| (k.parts(), *t));
                CorrelationSnapshot {
                    rule: c.meta.handle().to_string(),
                    state: match st {
                        State::Aggregate(g) => GroupsSnapshot::Aggregate(g.snapshot()),
                        State::Temporal(g) => GroupsSnapshot::Temporal(g.snapshot()),
                        State::Ordered(g) => GroupsSnapshot::Ordered(g.snapshot()),
                        State::FirstSeen(g) => GroupsSnapshot::FirstSeen(g.snapshot()),
                        State::Absence(g) => GroupsSnapshot::Absence(g.snapshot()),
                    },
                    last_alert,
                }
            })
            .collect();
        CorrelatorSnapshot {
            correlations,
            next_id: self.next_id,
            stream_start: self.stream_start,
        }
    }

    /// Rebuilds the state of `set`'s correlations from a snapshot.
    pub fn restore(
        set: &RuleSet,
        limits: Limits,
        snap: CorrelatorSnapshot,
    ) -> Result<Correlator, SnapshotError> {
        if snap.correlations.len() != set.correlations.len() {
            return Err(SnapshotError::Count {
                state: snap.correlations.len(),
                rules: set.correlations.len(),
            });
        }
        let mut c = Correlator::new(set, limits);
        c.next_id = snap.next_id;
        c.stream_start = snap.stream_start;
        let n = limits.max_groups;
        for (ci, (cs, def)) in snap
            .correlations
            .into_iter()
            .zip(&set.correlations)
            .enumerate()
        {
            if cs.rule != def.meta.handle() {
                return Err(SnapshotError::Renamed {
                    number: ci + 1,
                    state: cs.rule,
                    rules: def.meta.handle().to_string(),
                });
            }
            // Eviction counts are run counters: they start again at zero.
            let e = 0;
            let state = match (cs.state, &c.states[ci]) {
                (GroupsSnapshot::Aggregate(g), State::Aggregate(_)) => {
                    State::Aggregate(GroupStore::restore(n, g, e))
                }
                (GroupsSnapshot::Temporal(g), State::Temporal(_)) => {
                    State::Temporal(GroupStore::restore(n, g, e))
                }
                (GroupsSnapshot::Ordered(g), State::Ordered(_)) => {
                    State::Ordered(GroupStore::restore(n, g, e))
                }
                (GroupsSnapshot::FirstSeen(g), State::FirstSeen(_)) => {
                    State::FirstSeen(GroupStore::restore(n, g, e))
                }
                (GroupsSnapshot::Absence(g), State::Absence(_)) => {
                    State::Absence(GroupStore::restore(n, g, e))
                }
                _ => return Err(SnapshotError::TypeChanged(def.meta.handle().to_string())),
            };
            c.states[ci] = state;
            c.last_alert[ci] = cs.last_alert.into_iter().collect::<AHashMap<_, _>>();
        }
        c.timers = rebuild_timers(set, &c.states);
        Ok(c)
    }
}

pub(super) fn rebuild_timers(
    set: &RuleSet,
    states: &[State],
) -> BinaryHeap<Reverse<super::kind::Deadline>> {
    let mut timers = BinaryHeap::new();
    for (ci, st) in states.iter().enumerate() {
        let State::Absence(groups) = st else { continue };
        let position = set.correlations[ci].position;
        for (key, g) in groups.iter() {
            for o in &g.pending {
                timers.push(Reverse(super::kind::Deadline {
                    at: o.deadline,
                    rule: position,
                    key: key.clone(),
                    id: o.id,
                    correlation: ci as u32,
                }));
            }
        }
    }
    timers
}

#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
impl GroupsSnapshot {
    fn empty_like(&self) -> GroupsSnapshot {
        match self {
            GroupsSnapshot::Aggregate(_) => GroupsSnapshot::Aggregate(Vec::new()),
            GroupsSnapshot::Temporal(_) => GroupsSnapshot::Temporal(Vec::new()),
            GroupsSnapshot::Ordered(_) => GroupsSnapshot::Ordered(Vec::new()),
            GroupsSnapshot::FirstSeen(_) => GroupsSnapshot::FirstSeen(Vec::new()),
            GroupsSnapshot::Absence(_) => GroupsSnapshot::Absence(Vec::new()),
        }
    }

    /// Copies the groups `keep` accepts into `self` (same type); false on a type mismatch.
    fn take_from(&mut self, other: &GroupsSnapshot, keep: &dyn Fn(&GroupKey) -> bool) -> bool {
        fn add<G: Clone>(to: &mut Groups<G>, from: &Groups<G>, keep: &dyn Fn(&GroupKey) -> bool) {
            to.extend(from.iter().filter(|g| keep(&g.0)).cloned());
            // Least recently used first, as a store writes them.
            to.sort_by_key(|g| g.1);
        }
        match (self, other) {
            (GroupsSnapshot::Aggregate(a), GroupsSnapshot::Aggregate(b)) => add(a, b, keep),
            (GroupsSnapshot::Temporal(a), GroupsSnapshot::Temporal(b)) => add(a, b, keep),
            (GroupsSnapshot::Ordered(a), GroupsSnapshot::Ordered(b)) => add(a, b, keep),
            (GroupsSnapshot::FirstSeen(a), GroupsSnapshot::FirstSeen(b)) => add(a, b, keep),
            (GroupsSnapshot::Absence(a), GroupsSnapshot::Absence(b)) => add(a, b, keep),
            _ => return false,
        }
        true
    }
}

#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
impl CorrelatorSnapshot {
    /// The groups of several snapshots of the same rules that `keep(correlation, group)`
    /// accepts, as one snapshot: how cluster workers take over the groups they own after a
    /// restart with another number of workers. Obligation ids stay below the new
    /// `next_id`, so obligations of one group keep their order.
    pub fn merge(
        snaps: &[&CorrelatorSnapshot],
        keep: &dyn Fn(u32, &GroupKey) -> bool,
    ) -> Result<CorrelatorSnapshot, SnapshotError> {
        let Some(first) = snaps.first() else {
            return Err(SnapshotError::NothingToMerge);
        };
        let mut out = CorrelatorSnapshot {
            correlations: first
                .correlations
                .iter()
                .map(|c| CorrelationSnapshot {
                    rule: c.rule.clone(),
                    state: c.state.empty_like(),
                    last_alert: Vec::new(),
                })
                .collect(),
            next_id: 0,
            stream_start: None,
        };
        for snap in snaps {
            if snap.correlations.len() != out.correlations.len() {
                return Err(SnapshotError::OtherRules);
            }
            out.next_id = out.next_id.max(snap.next_id);
            out.stream_start = match (out.stream_start, snap.stream_start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            for (ci, (to, from)) in out
                .correlations
                .iter_mut()
                .zip(&snap.correlations)
                .enumerate()
            {
                if to.rule != from.rule {
                    return Err(SnapshotError::Disagree(ci + 1));
                }
                let ci = ci as u32;
                if !to.state.take_from(&from.state, &|k| keep(ci, k)) {
                    return Err(SnapshotError::TypeChanged(to.rule.clone()));
                }
                to.last_alert
                    .extend(from.last_alert.iter().filter(|(k, _)| keep(ci, k)).cloned());
                to.last_alert.sort();
            }
        }
        Ok(out)
    }
}
