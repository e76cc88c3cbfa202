//! What every correlation type's group state does. Each type implements [`GroupState`]
//! in its own file (`aggregate.rs` for the count and value types, `temporal.rs`,
//! `ordered.rs`, `first_seen.rs`, `absence.rs`); the [`super::Correlator`] decides the
//! roles of an input (reset, trigger, expected, stages), finds its group, and hands the
//! rest to the type.

use super::group::GroupKey;
use super::store::GroupStore;
use super::{Candidate, Input};
use crate::compile::correlation::{CompiledCorrelation, RuleRef};
use crate::time::Timestamp;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One input of one correlation, as its type sees it.
pub(crate) struct Step<'a> {
    /// The correlation.
    pub c: &'a CompiledCorrelation,
    /// Its index in the rule set's correlations.
    pub ci: u32,
    /// The input.
    pub input: Input<'a>,
    /// Positions in the correlation's `rules` this input matched (empty: it only resets,
    /// triggers or is expected).
    pub stages: &'a [usize],
    /// It matched a `trigger` rule.
    pub trigger: bool,
    /// It matched an `expected` rule (absence).
    pub expected: bool,
    /// The rule it came through (decides aliased group-by names).
    pub via: RuleRef,
    /// `timespan`, in ns (0 when the type has none).
    pub span: i64,
    /// `input.ts − span`: state older than this no longer counts (S5).
    pub cutoff: Timestamp,
    /// `max_group_entries`.
    pub cap: usize,
    /// The global `learning` warm-up still lasts at this input (first_seen).
    pub learning: bool,
}

/// What the types share across correlations: counters, ids and deadlines.
pub(crate) struct Shared<'a> {
    /// Entries pushed out by `max_group_entries`.
    pub evicted_entries: &'a mut u64,
    /// The next obligation id.
    pub next_id: &'a mut u64,
    /// Absence deadlines.
    pub deadlines: &'a mut BinaryHeap<Reverse<Deadline>>,
}

/// An absence deadline, ordered as its alert is: by time, rule position, group, then
/// obligation id; with where the obligation lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Deadline {
    /// When it fires.
    pub at: Timestamp,
    /// The correlation's position in the rule set.
    pub rule: u32,
    /// The group (compared as its text).
    pub key: GroupKey,
    /// The obligation's id.
    pub id: u64,
    /// The correlation's index.
    pub correlation: u32,
}

/// The state of one group of a correlation type.
pub(crate) trait GroupState: Sized {
    /// Whether groups whose state no longer counts are dropped as time moves on (the
    /// windowed types); `first_seen` groups stay known, absence groups go with their
    /// obligations.
    const EXPIRES: bool;

    /// Whether `on_fire: reset` clears the group after an alert (count, value and
    /// temporal types; first_seen and absence deduplicate by their own semantics, S10).
    const RESET_ON_FIRE: bool;

    /// A `reset` input for the group: by default the group goes.
    fn reset(groups: &mut GroupStore<Self>, key: &str) {
        groups.remove(key);
    }

    /// The group's state in a few lines for `explain`, as of its last input (when its
    /// window was last brought up to date).
    fn describe(&self, c: &CompiledCorrelation) -> Vec<String>;

    /// One input of the group (after any reset): updates the group, creating it when the
    /// input opens state, and appends the candidate alerts it raises.
    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    );
}

/// Runs one input through a group store: reset, the type's step, expiry. Returns whether
/// an alert of this type clears the group under `on_fire: reset`.
pub(crate) fn run<G: GroupState>(
    groups: &mut GroupStore<G>,
    key: &str,
    s: &Step<'_>,
    reset: bool,
    shared: &mut Shared<'_>,
    out: &mut Vec<Candidate>,
) -> bool {
    if reset {
        G::reset(groups, key);
    }
    G::step(groups, key, s, shared, out);
    if G::EXPIRES {
        groups.expire_before(s.cutoff);
    }
    G::RESET_ON_FIRE
}
