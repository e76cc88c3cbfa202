//! Correlation state as plain data, for checkpoints (`--state`).
//!
//! Groups are written least recently used first with their last-touch time, so a restored
//! store evicts and expires exactly as the original would have. Deadlines are not written:
//! they are rebuilt from the open obligations.

use super::absence::AbsenceGroup;
use super::aggregate::{AggregateGroup, AggregateTail};
use super::first_seen::FirstSeenGroup;
use super::group::GroupKey;
use super::ordered::OrderedGroup;
use super::store::{GroupStore, StoreChanges};
use super::temporal::TemporalGroup;
use super::{Correlator, Limits, State};
use crate::compile::RuleSet;
use crate::time::Timestamp;
use ahash::{AHashMap, AHashSet};
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

/// The groups of one correlation changed since a time: see [`StoreChanges`].
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
struct Changes<G> {
    touched: Groups<G>,
    in_place: Groups<G>,
    removed: Vec<GroupKey>,
}

impl<G> From<StoreChanges<G>> for Changes<G> {
    fn from(c: StoreChanges<G>) -> Self {
        Changes {
            touched: c.touched,
            in_place: c.in_place,
            removed: c.removed,
        }
    }
}

/// The changes of one correlation, by type.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "changes", rename_all = "snake_case")]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
enum GroupsDelta {
    /// Windows as what they gained: a 30-day window does not write every entry again.
    Aggregate(Changes<AggregateTail>),
    Temporal(Changes<TemporalGroup>),
    Ordered(Changes<OrderedGroup>),
    FirstSeen(Changes<FirstSeenGroup>),
    Absence(Changes<AbsenceGroup>),
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
struct CorrelationDelta {
    rule: String,
    state: GroupsDelta,
    /// Suppressions set since (one that ended and was swept out stays in the base: it
    /// silences nothing later).
    last_alert: Vec<(GroupKey, Timestamp)>,
}

/// What changed in an engine's correlation state since a time (an incremental
/// checkpoint): [`CorrelatorSnapshot::apply`] it to the snapshot taken at that time.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub struct CorrelatorDelta {
    correlations: Vec<CorrelationDelta>,
    next_id: u64,
    stream_start: Option<Timestamp>,
}

#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
impl Correlator {
    /// Records what changes from now on, for [`take_delta`](Self::take_delta).
    pub fn track_changes(&mut self) {
        for st in &mut self.states {
            st.changes(true);
        }
    }

    /// What changed since `since`, the time of the last snapshot or delta (every event
    /// and deadline since then was at or after it), and forgets it.
    pub fn take_delta(&mut self, set: &RuleSet, since: Timestamp) -> CorrelatorDelta {
        let correlations = self
            .states
            .iter_mut()
            .zip(&self.last_alert)
            .zip(&set.correlations)
            .map(|((st, last), c)| {
                let mut last_alert: Vec<(GroupKey, Timestamp)> = last
                    .iter()
                    .filter(|(_, t)| **t >= since)
                    .map(|(k, t)| (k.clone(), *t))
                    .collect();
                last_alert.sort_by_cached_key(|(k, t)| (k.parts(), *t));
                CorrelationDelta {
                    rule: c.meta.handle().to_string(),
                    state: match st {
                        State::Aggregate(g) => GroupsDelta::Aggregate(
                            g.take_changes(since, |a| a.tail_since(since)).into(),
                        ),
                        State::Temporal(g) => {
                            GroupsDelta::Temporal(g.take_changes(since, Clone::clone).into())
                        }
                        State::Ordered(g) => {
                            GroupsDelta::Ordered(g.take_changes(since, Clone::clone).into())
                        }
                        State::FirstSeen(g) => {
                            GroupsDelta::FirstSeen(g.take_changes(since, Clone::clone).into())
                        }
                        State::Absence(g) => {
                            GroupsDelta::Absence(g.take_changes(since, Clone::clone).into())
                        }
                    },
                    last_alert,
                }
            })
            .collect();
        CorrelatorDelta {
            correlations,
            next_id: self.next_id,
            stream_start: self.stream_start,
        }
    }

    /// Forgets the changes recorded so far (a full snapshot was just taken).
    pub fn forget_changes(&mut self) {
        for st in &mut self.states {
            st.changes(false);
        }
    }

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

/// `base` (a snapshot's groups, least recently used first) with `ch` applied, in the same
/// order: removed groups leave, groups changed in place keep their place, and touched ones
/// (all touched after every group of the base) move to the end. `next` makes a group's
/// new state of its state in the base (`None`: removed, or created since) and its change.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
fn apply_groups<G, D>(base: &mut Groups<G>, ch: Changes<D>, next: impl Fn(Option<G>, D) -> G) {
    let removed: AHashSet<&GroupKey> = ch.removed.iter().collect();
    let mut old: Vec<Option<(GroupKey, Timestamp, G)>> = std::mem::take(base)
        .into_iter()
        .filter(|g| !removed.contains(&g.0))
        .map(Some)
        .collect();
    drop(removed);
    let at: AHashMap<GroupKey, usize> = old
        .iter()
        .enumerate()
        .filter_map(|(i, g)| g.as_ref().map(|g| (g.0.clone(), i)))
        .collect();
    let mut stray = Vec::new();
    for (key, t, d) in ch.in_place {
        match at.get(&key).copied().filter(|&i| old[i].is_some()) {
            Some(i) => {
                let prev = old[i].take().map(|g| g.2);
                old[i] = Some((key, t, next(prev, d)));
            }
            None => stray.push((key, t, next(None, d))),
        }
    }
    let mut last = Vec::with_capacity(ch.touched.len());
    for (key, t, d) in ch.touched {
        let prev = at.get(&key).and_then(|&i| old[i].take()).map(|g| g.2);
        last.push((key, t, next(prev, d)));
    }
    base.extend(old.into_iter().flatten());
    base.extend(stray);
    base.extend(last);
    // Already in order unless a group changed in place was not in the base (not expected:
    // it would have been created by a touch); a stable sort keeps ties as they are.
    base.sort_by_key(|g| g.1);
}

/// A group's change that is its whole new state.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
fn whole<G>(_: Option<G>, new: G) -> G {
    new
}

#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
impl CorrelatorSnapshot {
    /// This snapshot, taken at time `since`, moved forward by the delta taken since then.
    pub fn apply(&mut self, delta: CorrelatorDelta) -> Result<(), SnapshotError> {
        if delta.correlations.len() != self.correlations.len() {
            return Err(SnapshotError::OtherRules);
        }
        for (ci, (to, d)) in self
            .correlations
            .iter_mut()
            .zip(delta.correlations)
            .enumerate()
        {
            if to.rule != d.rule {
                return Err(SnapshotError::Disagree(ci + 1));
            }
            match (&mut to.state, d.state) {
                (GroupsSnapshot::Aggregate(a), GroupsDelta::Aggregate(b)) => {
                    apply_groups(a, b, AggregateGroup::with_tail)
                }
                (GroupsSnapshot::Temporal(a), GroupsDelta::Temporal(b)) => apply_groups(a, b, whole),
                (GroupsSnapshot::Ordered(a), GroupsDelta::Ordered(b)) => apply_groups(a, b, whole),
                (GroupsSnapshot::FirstSeen(a), GroupsDelta::FirstSeen(b)) => {
                    apply_groups(a, b, whole)
                }
                (GroupsSnapshot::Absence(a), GroupsDelta::Absence(b)) => apply_groups(a, b, whole),
                _ => return Err(SnapshotError::TypeChanged(to.rule.clone())),
            }
            if !d.last_alert.is_empty() {
                let mut last: AHashMap<GroupKey, Timestamp> =
                    std::mem::take(&mut to.last_alert).into_iter().collect();
                last.extend(d.last_alert);
                to.last_alert = last.into_iter().collect();
                to.last_alert.sort_by_cached_key(|(k, t)| (k.parts(), *t));
            }
        }
        self.next_id = delta.next_id;
        self.stream_start = delta.stream_start;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Touch(u8),
        InPlace(u8),
        Remove(u8),
        Checkpoint,
    }

    fn op() -> impl Strategy<Value = (Op, bool)> {
        let op = prop_oneof![
            4 => (0u8..7).prop_map(Op::Touch),
            2 => (0u8..7).prop_map(Op::InPlace),
            1 => (0u8..7).prop_map(Op::Remove),
            1 => Just(Op::Checkpoint),
        ];
        (op, any::<bool>())
    }

    fn key(k: u8) -> String {
        GroupKey::of(&[&format!("g{k}")]).as_str().to_string()
    }

    proptest! {
        /// A store's changes applied to its snapshot at the time they were recorded from
        /// give its snapshot now, in the same order of use (so eviction and expiry after a
        /// restore are the original's), through evictions, removals and in-place changes.
        #[test]
        fn changes_applied_to_the_last_snapshot_give_the_snapshot_now(ops in prop::collection::vec(op(), 0..120)) {
            let mut st: GroupStore<u32> = GroupStore::new(4);
            st.track_changes();
            let mut now = 0i64;
            let mut since = Timestamp(now);
            let mut base = st.snapshot();
            for (op, tick) in ops {
                if tick {
                    now += 1;
                }
                match op {
                    Op::Touch(k) => *st.touch(&key(k), Timestamp(now), || 0) += 1,
                    Op::InPlace(k) => {
                        if let Some(v) = st.get_mut(&key(k)) {
                            *v += 100;
                        }
                    }
                    Op::Remove(k) => {
                        st.remove(&key(k));
                    }
                    Op::Checkpoint => {
                        // Every touch before is older than the boundary, every one after not.
                        now += 1;
                        let ch = st.take_changes(since, |v| *v);
                        apply_groups(&mut base, ch.into(), whole);
                        prop_assert_eq!(&base, &st.snapshot());
                        since = Timestamp(now);
                    }
                }
            }
            let ch = st.take_changes(since, |v| *v);
            apply_groups(&mut base, ch.into(), whole);
            prop_assert_eq!(&base, &st.snapshot());
        }
    }
}
