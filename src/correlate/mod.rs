//! Correlation state (docs/semantics.md §3.3): per correlation, per group, in event time.
//!
//! The engine feeds the [`Correlator`] events in processing order (timestamp, then
//! arrival), each with the detection rules it matched, and asks it to fire absence
//! deadlines as the watermark passes them. Alerts of a correlation that other correlations
//! consume are fed to them at once, as events (S12), in topological order.

mod absence;
mod aggregate;
pub(crate) mod event_text;
mod evidence;
mod first_seen;
pub mod group;
mod kind;
mod ordered;
pub mod route;
pub mod row;
mod snapshot;
mod store;
mod temporal;
pub mod text;

use crate::alert::{Alert, AlertOrder, Emitted};
use crate::compile::RuleSet;
use crate::compile::correlation::{CompiledCorrelation, RuleRef};
use crate::rule::CorrelationType;
use crate::time::Timestamp;
use absence::{AbsenceGroup, Obligation};
use aggregate::AggregateGroup;
use ahash::AHashMap;
use first_seen::FirstSeenGroup;
use group::{GroupKey, group_key_into, group_values};
use kind::{Deadline, Shared, Step};
use ordered::OrderedGroup;
use serde_json::Value;
#[cfg(feature = "cluster")]
pub use snapshot::CorrelatorDelta;
pub use snapshot::{CorrelatorSnapshot, SnapshotError};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use store::GroupStore;
use row::Row;
use temporal::TemporalGroup;

/// A candidate alert of one correlation and group, before suppression.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Alert time.
    pub ts: Timestamp,
    /// The aggregate.
    pub value: Option<f64>,
    /// Distinct values or the new value.
    pub values: Option<Vec<Value>>,
    /// Absence: the anchor's time.
    pub anchor_ts: Option<Timestamp>,
    /// Contributing events (at most ten).
    pub events: Vec<Arc<str>>,
}

/// An input to a correlation: an event, or an alert of a consumed correlation.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// Event time.
    pub ts: Timestamp,
    /// Arrival position, for ordering ties.
    pub seq: u64,
    /// The fields correlations read.
    pub row: &'a Row,
    /// Its JSON text.
    pub text: &'a Arc<str>,
}

/// A group as `explain` shows it: its `group-by` values and its state in a few lines.
pub type GroupView = (Vec<(String, Value)>, Vec<String>);

/// An absence obligation still open at end of input (docs/semantics.md §4.2 `pending`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The rule's name (or id, or title).
    pub rule: String,
    /// The group.
    pub group: Vec<(String, Value)>,
    /// When it would fire.
    pub deadline: Timestamp,
}

impl Pending {
    /// The summary's form: `{"rule": …, "group": {…}, "deadline": …}`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("rule".into(), Value::String(self.rule.clone()));
        m.insert(
            "group".into(),
            Value::Object(self.group.iter().cloned().collect()),
        );
        m.insert("deadline".into(), Value::String(self.deadline.to_string()));
        Value::Object(m)
    }
}

enum State {
    Aggregate(GroupStore<AggregateGroup>),
    Temporal(GroupStore<TemporalGroup>),
    Ordered(GroupStore<OrderedGroup>),
    FirstSeen(GroupStore<FirstSeenGroup>),
    Absence(GroupStore<AbsenceGroup>),
}

/// Runs `$body` with `$g` bound to the group store of whichever type `$state` holds.
macro_rules! with_groups {
    ($state:expr, $g:ident => $body:expr) => {
        match $state {
            State::Aggregate($g) => $body,
            State::Temporal($g) => $body,
            State::Ordered($g) => $body,
            State::FirstSeen($g) => $body,
            State::Absence($g) => $body,
        }
    };
}

impl State {
    fn evicted_groups(&self) -> u64 {
        with_groups!(self, g => g.evicted)
    }

    fn live_groups(&self) -> usize {
        with_groups!(self, g => g.len())
    }

    /// Starts recording changes (`true`), or forgets those recorded (`false`).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    fn changes(&mut self, track: bool) {
        if track {
            with_groups!(self, g => g.track_changes())
        } else {
            with_groups!(self, g => g.forget_changes())
        }
    }
}

/// Bounds on correlation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most groups per correlation; the least recently used group goes first.
    pub max_groups: usize,
    /// Most entries one group keeps (window events, remembered values, obligations); the
    /// oldest goes first.
    pub max_group_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 1_000_000,
            max_group_entries: 10_000,
        }
    }
}

/// Smallest size at which timer and suppression maps are swept of what no longer matters.
const SWEEP_MIN: usize = 4096;

/// All correlation state of one engine.
pub struct Correlator {
    states: Vec<State>,
    limits: Limits,
    /// Window entries, values and obligations dropped by `max_group_entries`.
    evicted_entries: u64,
    last_alert: Vec<AHashMap<GroupKey, Timestamp>>,
    timers: BinaryHeap<Reverse<Deadline>>,
    /// Heap size at which timers of obligations no longer pending are swept out.
    timers_sweep_at: usize,
    /// Per correlation, `last_alert` size at which finished suppressions are swept out.
    suppress_sweep_at: Vec<usize>,
    next_id: u64,
    stream_start: Option<Timestamp>,
    /// The current input's group key text (reused).
    key_buf: String,
    /// Reused for the inputs by which an event reaches a correlation, and for the stages
    /// it fills (one or two each): no allocation per step.
    vias_buf: Vec<RuleRef>,
    stages_buf: Vec<usize>,
    /// A shard of partitioned state: only the groups routed to it are kept here.
    shard: Option<Shard>,
    /// Made when the first absence alert reads its anchor back.
    anchors: Option<Box<AnchorReader>>,
}

/// Which groups a partition of the correlation state owns ([`route::Components`]).
struct Shard {
    comps: route::Components,
    index: u64,
    count: u64,
}

/// A synthetic event standing for a correlation's alert (S12).
struct ChainEvent {
    from: u32,
    ts: Timestamp,
    seq: u64,
    row: Row,
    text: Arc<str>,
}

impl Correlator {
    /// Empty state for the correlations of `set`.
    pub fn new(set: &RuleSet, limits: Limits) -> Correlator {
        let n = limits.max_groups;
        let states = set
            .correlations
            .iter()
            .map(|c| match c.def.kind {
                CorrelationType::Temporal => State::Temporal(GroupStore::new(n)),
                CorrelationType::TemporalOrdered => State::Ordered(GroupStore::new(n)),
                CorrelationType::FirstSeen => State::FirstSeen(GroupStore::new(n)),
                CorrelationType::Absence => State::Absence(GroupStore::new(n)),
                _ => State::Aggregate(GroupStore::new(n)),
            })
            .collect();
        Correlator {
            states,
            limits,
            evicted_entries: 0,
            last_alert: vec![AHashMap::default(); set.correlations.len()],
            timers_sweep_at: SWEEP_MIN,
            suppress_sweep_at: vec![SWEEP_MIN; set.correlations.len()],
            timers: BinaryHeap::new(),
            next_id: 0,
            stream_start: None,
            key_buf: String::new(),
            vias_buf: Vec::new(),
            stages_buf: Vec::new(),
            shard: None,
            anchors: None,
        }
    }

    /// Makes this correlator shard `index` of `count`: it keeps only the groups routed to
    /// it (a chain of correlations feeding one another as a whole, others by group), and
    /// ignores the rest of its inputs. The shards together hold what one correlator would.
    pub fn partition(&mut self, set: &RuleSet, index: u64, count: u64) {
        self.shard = Some(Shard {
            comps: route::Components::of(set),
            index,
            count: count.max(1),
        });
    }

    /// Each live group of correlation `ci`: its `group-by` values and its state in a few
    /// lines (for `explain`), in group order.
    pub fn describe(&self, set: &RuleSet, ci: u32) -> Vec<GroupView> {
        let Some(c) = set.correlations.get(ci as usize) else {
            return Vec::new();
        };
        let mut out: Vec<(GroupKey, Vec<String>)> = with_groups!(&self.states[ci as usize], g => {
            g.iter().map(|(k, s)| (k.clone(), kind::GroupState::describe(s, c))).collect()
        });
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter()
            .map(|(k, lines)| {
                let values = c
                    .group_by
                    .iter()
                    .zip(k.parts())
                    .map(|(g, p)| (g.name.clone(), Value::String(p)))
                    .collect();
                (values, lines)
            })
            .collect()
    }

    /// True when this correlator keeps the group `key` of correlation `ci`.
    fn owns(&self, ci: u32, key: &str) -> bool {
        self.shard
            .as_ref()
            .is_none_or(|s| s.comps.route_key(ci, key) % s.count == s.index)
    }

    /// Notes the time of an in-order event: the stream's start anchors `learning`.
    pub fn observe(&mut self, ts: Timestamp) {
        self.stream_start.get_or_insert(ts);
    }

    /// The time of the first in-order event (what `learning` counts from).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub fn stream_start(&self) -> Option<Timestamp> {
        self.stream_start
    }

    /// True when any correlation consumes one of these detection rules.
    pub fn interested(set: &RuleSet, matched: &[u32]) -> bool {
        matched
            .iter()
            .any(|d| !set.wiring.by_detection[*d as usize].is_empty())
    }

    /// An in-order event (not late, with a timestamp) that matched the detection rules
    /// `matched`. Emitted alerts are appended to `out` (unsorted).
    pub fn on_event(
        &mut self,
        set: &RuleSet,
        input: Input<'_>,
        matched: &[u32],
        out: &mut Vec<Emitted>,
    ) {
        self.on_event_for(set, input, matched, &|_| true, out);
    }

    /// As [`Correlator::on_event`], for the correlations `mine` keeps only (with the
    /// correlations they feed: a cluster worker owns whole chains of correlations).
    pub fn on_event_for(
        &mut self,
        set: &RuleSet,
        input: Input<'_>,
        matched: &[u32],
        mine: &dyn Fn(u32) -> bool,
        out: &mut Vec<Emitted>,
    ) {
        self.observe(input.ts);
        if !Correlator::interested(set, matched) {
            return;
        }
        let mut chain: Vec<ChainEvent> = Vec::new();
        for &ci in &set.wiring.order {
            if !mine(ci) {
                continue;
            }
            let c = &set.correlations[ci as usize];
            let hit = |r: &RuleRef| matches!(r, RuleRef::Detection(d) if matched.binary_search(d).is_ok());
            // Most correlations do not consume this event: allocate only for those that do.
            if c.inputs().any(|r| hit(&r)) {
                let mut vias = std::mem::take(&mut self.vias_buf);
                vias.clear();
                vias.extend(c.inputs().filter(hit));
                self.step(set, ci, input, &vias, out, &mut chain);
                self.vias_buf = vias;
            }
            if !chain.is_empty() {
                self.feed_chain(set, ci, out, &mut chain);
            }
        }
    }

    /// Feeds correlation `ci` the alerts of the correlations it consumes, produced in this
    /// step (they are earlier in topological order, so all of them are already there).
    fn feed_chain(
        &mut self,
        set: &RuleSet,
        ci: u32,
        out: &mut Vec<Emitted>,
        chain: &mut Vec<ChainEvent>,
    ) {
        let c = &set.correlations[ci as usize];
        let mine: Vec<usize> = (0..chain.len())
            .filter(|i| {
                c.inputs()
                    .any(|r| r == RuleRef::Correlation(chain[*i].from))
            })
            .collect();
        for i in mine {
            let (from, ts, seq, row, text) = {
                let ce = &chain[i];
                (ce.from, ce.ts, ce.seq, ce.row.clone(), ce.text.clone())
            };
            let input = Input {
                ts,
                seq,
                row: &row,
                text: &text,
            };
            self.step(set, ci, input, &[RuleRef::Correlation(from)], out, chain);
        }
    }

    /// One input to one correlation: its roles and group, then the type's state
    /// ([`kind::GroupState`]), then the alerts.
    fn step(
        &mut self,
        set: &RuleSet,
        ci: u32,
        input: Input<'_>,
        vias: &[RuleRef],
        out: &mut Vec<Emitted>,
        chain: &mut Vec<ChainEvent>,
    ) {
        let via = via_of(&set.correlations[ci as usize], vias);
        let mut key = std::mem::take(&mut self.key_buf);
        if group_key_into(&set.correlations[ci as usize], input.row, via, &mut key)
            && self.owns(ci, &key)
        {
            self.step_group(set, ci, input, vias, via, &key, out, chain);
        }
        self.key_buf = key;
    }

    /// [`Correlator::step`] once the input's group (`key`) is known.
    #[allow(clippy::too_many_arguments)]
    fn step_group(
        &mut self,
        set: &RuleSet,
        ci: u32,
        input: Input<'_>,
        vias: &[RuleRef],
        via: RuleRef,
        key: &str,
        out: &mut Vec<Emitted>,
        chain: &mut Vec<ChainEvent>,
    ) {
        let c = &set.correlations[ci as usize];
        let has = |list: &[RuleRef]| vias.iter().any(|v| list.contains(v));
        let mut stages = std::mem::take(&mut self.stages_buf);
        stages.clear();
        stages.extend((0..c.rules.len()).filter(|k| vias.contains(&c.rules[*k])));
        let span = c.def.timespan.unwrap_or(0);
        let step = Step {
            c,
            ci,
            input,
            stages: &stages,
            trigger: has(&c.trigger),
            expected: has(&c.expected),
            via,
            span,
            cutoff: input.ts.plus(-span),
            cap: self.limits.max_group_entries,
            learning: self
                .stream_start
                .is_some_and(|s| input.ts < s.plus(c.def.learning)),
        };
        let reset = has(&c.reset);
        let mut shared = Shared {
            evicted_entries: &mut self.evicted_entries,
            next_id: &mut self.next_id,
            deadlines: &mut self.timers,
        };
        let mut candidates: Vec<Candidate> = Vec::new();
        let state = &mut self.states[ci as usize];
        let reset_on_fire = with_groups!(state, g => kind::run(g, key, &step, reset, &mut shared, &mut candidates))
            && c.def.on_fire_reset;
        if self.timers.len() >= self.timers_sweep_at {
            // Discharged or evicted obligations leave their deadline behind.
            self.timers = snapshot::rebuild_timers(set, &self.states);
            self.timers_sweep_at = (self.timers.len() * 2).max(SWEEP_MIN);
        }
        for cand in candidates {
            let group = group_values(c, input.row, via);
            let emitted = self.emit(set, ci, key, cand, group, input.seq, false, out, chain);
            if emitted && reset_on_fire {
                with_groups!(&mut self.states[ci as usize], g => {
                    g.remove(key);
                });
            }
        }
        self.stages_buf = stages;
    }

    /// Suppression (S10), then the alert: to the output unless silenced, and to every
    /// consuming correlation. Returns whether the candidate was emitted.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        set: &RuleSet,
        ci: u32,
        key: &str,
        mut cand: Candidate,
        group: Vec<(String, Value)>,
        seq: u64,
        incomplete: bool,
        out: &mut Vec<Emitted>,
        chain: &mut Vec<ChainEvent>,
    ) -> bool {
        let c = &set.correlations[ci as usize];
        if let Some(d) = c.def.suppress {
            if self.last_alert[ci as usize]
                .get(key)
                .is_some_and(|last| cand.ts <= last.plus(d))
            {
                return false;
            }
            let last = &mut self.last_alert[ci as usize];
            last.insert(GroupKey::from(key), cand.ts);
            // Suppressions that ended can go (later candidates are never earlier in time).
            let sweep_at = &mut self.suppress_sweep_at[ci as usize];
            if last.len() >= *sweep_at {
                last.retain(|_, t| t.plus(d) >= cand.ts);
                *sweep_at = (last.len() * 2).max(SWEEP_MIN);
            }
        }
        let gtext = key.to_string();
        // Events of consumed correlations' alerts are the events they carry.
        cand.events = evidence::expand(std::mem::take(&mut cand.events));
        if !set.wiring.by_correlation[ci as usize].is_empty() {
            let mut obj = serde_json::Map::new();
            obj.insert("timestamp".into(), Value::String(cand.ts.to_string()));
            for (k, v) in &group {
                obj.insert(k.clone(), v.clone());
            }
            let text: Arc<str> = Arc::from(evidence::chain_text(&obj, &cand.events));
            let event = Value::Object(obj);
            chain.push(ChainEvent {
                from: ci,
                ts: cand.ts,
                seq,
                row: Row::from_json(set, &event),
                text,
            });
        }
        if !set.wiring.silent_correlation[ci as usize] {
            let order = AlertOrder::in_order(cand.ts, c.position, gtext, seq);
            out.push(Emitted {
                alert: alert_of(c, cand, group, incomplete),
                order,
            });
        }
        true
    }

    /// The earliest absence deadline, if any.
    pub fn next_deadline(&mut self) -> Option<Timestamp> {
        self.drop_stale_timers();
        self.timers.peek().map(|Reverse(t)| t.at)
    }

    fn drop_stale_timers(&mut self) {
        while let Some(Reverse(t)) = self.timers.peek() {
            let live = match &self.states[t.correlation as usize] {
                State::Absence(groups) => groups
                    .get(t.key.as_str())
                    .is_some_and(|g| g.pending.iter().any(|o| o.id == t.id)),
                _ => false,
            };
            if live {
                return;
            }
            self.timers.pop();
        }
    }

    /// Fires the earliest deadline (the watermark has passed it), with everything its alert
    /// feeds. `incomplete` marks alerts flushed at end of input.
    pub fn fire_next(&mut self, set: &RuleSet, incomplete: bool, out: &mut Vec<Emitted>) {
        self.drop_stale_timers();
        let Some(Reverse(Deadline {
            at: deadline,
            id,
            correlation: ci,
            key,
            ..
        })) = self.timers.pop()
        else {
            return;
        };
        let State::Absence(groups) = &mut self.states[ci as usize] else {
            return;
        };
        let Some(g) = groups.get_mut(key.as_str()) else {
            return;
        };
        let Some(ob) = g.take(id) else { return };
        if g.pending.is_empty() {
            groups.remove(key.as_str());
        }
        let cand = Candidate {
            ts: deadline,
            value: None,
            values: None,
            anchor_ts: Some(ob.anchor_ts),
            events: vec![ob.text.clone()],
        };
        let mut chain = Vec::new();
        let group = self
            .anchors
            .get_or_insert_with(|| Box::new(AnchorReader::new(set)))
            .group(set, &set.correlations[ci as usize], &ob);
        // Deadline alerts are ordered after every event of their time; use the largest seq.
        self.emit(
            set,
            ci,
            key.as_str(),
            cand,
            group,
            u64::MAX,
            incomplete,
            out,
            &mut chain,
        );
        let rank = set.wiring.order.iter().position(|x| *x == ci).unwrap_or(0);
        for &next in &set.wiring.order[rank + 1..] {
            self.feed_chain(set, next, out, &mut chain);
        }
    }

    /// Fires every deadline before `t` (the watermark passed it, S9), earliest first,
    /// with everything their alerts feed.
    pub fn fire_before(&mut self, set: &RuleSet, t: Timestamp, out: &mut Vec<Emitted>) {
        while self.next_deadline().is_some_and(|d| d < t) {
            self.fire_next(set, false, out);
        }
    }

    /// End of input (S11) once every event is in: W is the newest time `max`, so the
    /// deadlines before it fire; with `eof_flush` the rest fire too, as incomplete.
    pub fn end_of_input(
        &mut self,
        set: &RuleSet,
        max: Option<Timestamp>,
        eof_flush: bool,
        out: &mut Vec<Emitted>,
    ) {
        if let Some(m) = max {
            self.fire_before(set, m, out);
        }
        if eof_flush {
            while self.next_deadline().is_some() {
                self.fire_next(set, true, out);
            }
        }
    }

    /// Groups pushed out by `max_groups`, over all correlations.
    pub fn evicted_groups(&self) -> u64 {
        self.states.iter().map(State::evicted_groups).sum()
    }

    /// Entries pushed out by `max_group_entries`.
    pub fn evicted_entries(&self) -> u64 {
        self.evicted_entries
    }

    /// Live groups over all correlations.
    pub fn live_groups(&self) -> usize {
        self.states.iter().map(State::live_groups).sum()
    }

    /// The first `limit` obligations still open, by deadline, rule position and group, and
    /// how many are open.
    pub fn pending(&self, set: &RuleSet, limit: usize) -> (Vec<Pending>, u64) {
        let (list, total) = self.pending_keyed(set, limit);
        (list.into_iter().map(|x| x.1).collect(), total)
    }

    /// [`Correlator::pending`] with the key each is ordered by. Only the listed ones are
    /// described (their group read back from the anchor's text).
    pub fn pending_keyed(&self, set: &RuleSet, limit: usize) -> (Vec<(PendingKey, Pending)>, u64) {
        let mut all: Vec<(Timestamp, u32, &str, u64, usize, &Obligation)> = Vec::new();
        for (ci, st) in self.states.iter().enumerate() {
            let State::Absence(groups) = st else { continue };
            let position = set.correlations[ci].position;
            for (key, g) in groups.iter() {
                for o in &g.pending {
                    all.push((o.deadline, position, key.as_str(), o.id, ci, o));
                }
            }
        }
        let total = all.len() as u64;
        let order = |a: &(Timestamp, u32, &str, u64, usize, &Obligation),
                     b: &(Timestamp, u32, &str, u64, usize, &Obligation)| {
            (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3))
        };
        if all.len() > limit {
            if limit == 0 {
                return (Vec::new(), total);
            }
            all.select_nth_unstable_by(limit - 1, order);
            all.truncate(limit);
        }
        all.sort_by(order);
        let mut anchors = AnchorReader::new(set);
        let list = all
            .into_iter()
            .map(|(deadline, position, key, id, ci, o)| {
                let c = &set.correlations[ci];
                let p = Pending {
                    rule: c.meta.handle().to_string(),
                    group: anchors.group(set, c, o),
                    deadline,
                };
                ((deadline, position, key.to_string(), id), p)
            })
            .collect();
        (list, total)
    }
}

/// The order of open obligations: deadline, rule position, group text, obligation id.
pub type PendingKey = (Timestamp, u32, String, u64);

/// Which of the rules an input came through decides its group-by names (aliases): the
/// first in the correlation's own lists.
fn via_of(c: &CompiledCorrelation, vias: &[RuleRef]) -> RuleRef {
    c.rules
        .iter()
        .chain(&c.expected)
        .chain(&c.reset)
        .chain(&c.trigger)
        .find(|r| vias.contains(r))
        .copied()
        .unwrap_or(vias[0])
}

/// Scratch space for [`routes`].
#[derive(Default)]
pub struct RouteScratch {
    comps: Vec<u32>,
    key: String,
}

/// Where an event that matched the detection rules `matched` goes when correlation state is
/// split over `partitions`: `each(component, partition)` for every correlation component
/// that consumes it, in ascending order. The partition is the routing hash modulo their
/// number. A correlation on its own routes by its group, as [`Correlator::on_event`] finds
/// it, and is left out when it ignores the event (S4); a chain of correlations goes whole
/// to one partition, whatever the group. One partition holds every group: no group is
/// computed, and a correlation that ignores the event does so again where it correlates.
pub fn routes(
    set: &RuleSet,
    comps: &route::Components,
    row: &Row,
    matched: &[u32],
    scratch: &mut RouteScratch,
    partitions: u64,
    each: &mut dyn FnMut(u32, u64),
) {
    let n = partitions.max(1);
    let mut fed = std::mem::take(&mut scratch.comps);
    components_fed(set, comps, matched, &mut fed);
    for &comp in &fed {
        if n == 1 {
            each(comp, 0);
        } else if !comps.alone[comp as usize] {
            each(comp, comps.route_key(comp, "") % n);
        } else if let Some(h) = group_route(set, comps, comp, row, matched, &mut scratch.key) {
            each(comp, h % n);
        }
    }
    scratch.comps = fed;
}

/// The components (ascending) whose correlations consume an event that matched the
/// detection rules `matched`, into `out` (cleared first).
fn components_fed(
    set: &RuleSet,
    comps: &route::Components,
    matched: &[u32],
    out: &mut Vec<u32>,
) {
    out.clear();
    for d in matched {
        for &ci in &set.wiring.by_detection[*d as usize] {
            let c = comps.comps[ci as usize];
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out.sort_unstable();
}

/// The routing hash ([`route::Components::route_key`]) of the group an event that matched
/// the detection rules `matched` has in correlation `ci`, as [`Correlator::on_event`]
/// finds it (the key text is left in `buf`); `None` when the correlation does not consume
/// the event or ignores it (S4).
fn group_route(
    set: &RuleSet,
    comps: &route::Components,
    ci: u32,
    row: &Row,
    matched: &[u32],
    buf: &mut String,
) -> Option<u64> {
    let c = &set.correlations[ci as usize];
    // The first input consumed, as `via_of` picks it (inputs are in that order).
    let via = c
        .inputs()
        .find(|r| matches!(r, RuleRef::Detection(d) if matched.binary_search(d).is_ok()))?;
    buf.clear();
    group_key_into(c, row, via, buf).then(|| comps.route_key(ci, buf))
}

/// Reads anchor events back for their group values: a projector and a row, made once.
struct AnchorReader {
    projector: crate::event::Projector,
    row: Row,
}

impl AnchorReader {
    fn new(set: &RuleSet) -> AnchorReader {
        AnchorReader {
            projector: set.projector(),
            row: Row::new(set.correlation_fields.len()),
        }
    }

    /// The group values of an obligation, read again from its anchor event (as the event
    /// was read when it came: by projection).
    fn group(
        &mut self,
        set: &RuleSet,
        c: &CompiledCorrelation,
        o: &Obligation,
    ) -> Vec<(String, Value)> {
        self.row.fill_text(set, &mut self.projector, &o.text);
        group_values(c, &self.row, o.via)
    }
}

fn alert_of(
    c: &CompiledCorrelation,
    cand: Candidate,
    group: Vec<(String, Value)>,
    incomplete: bool,
) -> Alert {
    Alert {
        rule: c.meta.clone(),
        rule_type: c.def.kind.as_str(),
        timestamp: Some(cand.ts),
        group: Some(group),
        value: cand.value,
        values: cand.values,
        anchor_timestamp: cand.anchor_ts,
        incomplete,
        events: cand.events,
    }
}
