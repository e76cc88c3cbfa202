//! What the correlate operator does, apart from timely's handles: it stashes events under
//! the second of their own time, processes each second once the frontier has passed it
//! (with the deadlines before it fired, as the engine fires them), snapshots the state at
//! checkpoint boundaries, and ends the input when the frontier is empty. The operator in
//! `mod.rs` only hands messages in and gives out what this returns.

use super::clock::{boundary_at_or_before, tick, tick_start};
use super::correlating::Correlating;
use super::metrics::Metrics;
use super::msg::{EventMsg, Msg};
use super::sources::SourceMetrics;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use timely::dataflow::operators::Capability;

/// Messages to give out, each batch under its capability, in this order.
pub(super) type Batches = Vec<(Capability<u64>, Vec<Msg>)>;

/// The correlate operator's state.
pub(super) struct CorrelateStep {
    state: Correlating,
    /// Checkpoint interval in ticks.
    every: Option<u64>,
    index: u64,
    metrics: Option<Metrics>,
    seen: Rc<Cell<SourceMetrics>>,
    /// The capability deadline alerts, snapshots and counters go out under (held at the
    /// frontier); `None` once the input has ended.
    hold: Option<Capability<u64>>,
    /// Events by the second of their time. Their alerts go out under `hold` (at the
    /// frontier, not after any stashed second: the output orders alerts by their own
    /// time), so no capability is made per second: with several workers, one per second
    /// made timely's progress tracking sort a change batch per step (5% of a run).
    stash: BTreeMap<u64, Vec<EventMsg>>,
}

impl CorrelateStep {
    pub(super) fn new(
        state: Correlating,
        every: Option<u64>,
        index: u64,
        metrics: Option<Metrics>,
        seen: Rc<Cell<SourceMetrics>>,
    ) -> Self {
        CorrelateStep {
            state,
            every,
            index,
            metrics,
            seen,
            hold: None,
            stash: BTreeMap::new(),
        }
    }

    /// The operator's initial capability.
    pub(super) fn start(&mut self, cap: Capability<u64>) {
        self.hold = Some(cap);
    }

    /// Messages that came in: events are stashed under the second of their own time (at
    /// or after the capability they came under, so at or after `hold`), control messages
    /// taken; the rest (alerts and counters of the sources) are returned, to go on to the
    /// output.
    pub(super) fn receive(&mut self, msgs: impl Iterator<Item = Msg>) -> Vec<Msg> {
        let mut forward = Vec::new();
        for m in msgs {
            if self.state.control(&m) {
                continue;
            }
            match m {
                Msg::Event(e) => self.stash.entry(tick(e.ts)).or_default().push(e),
                other => forward.push(other),
            }
        }
        forward
    }

    /// The input frontier is now `f` (`None`: the input ended): processes every second it
    /// has passed, in order; returns what to give out.
    pub(super) fn advance(&mut self, f: Option<u64>) -> Batches {
        let mut out = Batches::new();
        let mut boundary = self.boundary_passed(f);
        loop {
            let next = self.stash.first_key_value().map(|(t, _)| *t);
            if let Some(k) = boundary.filter(|k| next.is_none_or(|t| t >= *k)) {
                self.snapshot_at(k, &mut out);
                boundary = None;
            }
            let Some(t) = next.filter(|t| f.is_none_or(|f| *t < f)) else {
                break;
            };
            let Some(mut batch) = self.stash.remove(&t) else {
                break;
            };
            let (mut alerts, mut deadlines) = (Vec::new(), Vec::new());
            self.state.events(&mut batch, &mut alerts, &mut deadlines);
            self.give_held(alerts, &mut out);
            self.give_held(deadlines, &mut out);
        }
        if let Some(m) = self.metrics.as_mut() {
            let last = f.is_none() && self.hold.is_some();
            m.tick(last, self.seen.get(), self.state.groups(), f);
        }
        self.frontier_moved(f, &mut out);
        out
    }

    /// A checkpoint boundary the frontier passes now (the latest one, not before what is
    /// held): the state is snapshotted once everything before it is done.
    fn boundary_passed(&self, f: Option<u64>) -> Option<u64> {
        match (self.every, f, self.hold.as_ref()) {
            (Some(e), Some(f), Some(h)) if f > 0 => {
                let k = boundary_at_or_before(f - 1, e);
                (k >= *h.time()).then_some(k)
            }
            _ => None,
        }
    }

    /// Fires the deadlines before boundary `k` and snapshots the state there.
    fn snapshot_at(&mut self, k: u64, out: &mut Batches) {
        let mut msgs = Vec::new();
        self.state.fire_before(tick_start(k), &mut msgs);
        match self.state.part(k) {
            Ok((since, json)) => msgs.push(Msg::Snapshot {
                tick: k,
                worker: self.index,
                since,
                json,
            }),
            Err(e) => eprintln!("warning: {e}"),
        }
        self.give_held(msgs, out);
    }

    /// Alerts, snapshots and counters go out under the held capability: one batch per
    /// [`advance`](Self::advance), which moves it only at its end.
    fn give_held(&self, mut msgs: Vec<Msg>, out: &mut Batches) {
        let Some(h) = self.hold.as_ref().filter(|_| !msgs.is_empty()) else {
            return;
        };
        match out.last_mut() {
            Some((c, held)) if c.time() == h.time() => held.append(&mut msgs),
            _ => out.push((h.clone(), msgs)),
        }
    }

    /// Deadlines before the frontier fire and the held capability moves up to it; an
    /// empty frontier ends the input (S11) and sends this worker's counters.
    fn frontier_moved(&mut self, f: Option<u64>, out: &mut Batches) {
        if self.hold.is_none() {
            return;
        }
        let mut msgs = Vec::new();
        match f {
            Some(f) => {
                self.state.fire_before(tick_start(f), &mut msgs);
                self.give_held(msgs, out);
                // Deadlines not fired are at or after the frontier.
                if let Some(h) = self.hold.as_mut().filter(|h| f > *h.time()) {
                    h.downgrade(&f);
                }
            }
            None => {
                let counts = self.state.finish(&mut msgs);
                msgs.push(Msg::Counts(Box::new(counts)));
                self.give_held(msgs, out);
                self.hold = None;
            }
        }
    }
}
