//! The correlation state of the groups routed to one worker: the engine's own
//! [`Correlator`], fed the in-order events of the seconds the frontier has passed, with the
//! absence deadlines fired in between exactly as the engine fires them
//! ([`Correlator::fire_before`], [`Correlator::end_of_input`]).

use super::ClusterError;
use super::checkpoint::{Restored, WorkerPart, WorkerState};
use super::msg::{Counts, EventMsg, Msg};
use crate::alert::{Emitted, Format};
use crate::compile::RuleSet;
use crate::correlate::route::Components;
use crate::correlate::{Correlator, CorrelatorSnapshot, Input};
use crate::engine::Settings;
use crate::time::Timestamp;

/// The correlation state of the groups routed to one worker.
pub struct Correlating {
    set: &'static RuleSet,
    comps: Components,
    corr: Correlator,
    output: Format,
    eof_flush: bool,
    /// Earliest first in-order time over all partitions.
    start: Option<Timestamp>,
    /// Newest event time over all partitions that ended.
    max: Option<Timestamp>,
    emitted: Vec<Emitted>,
    /// Every this many parts, the whole state (see [`Correlating::part`]).
    full_every: u32,
    /// The boundary of the previous part, and parts since the last whole one.
    last_part: Option<(u64, u32)>,
    /// Bytes of the last whole part and of the last part of changes.
    size: (usize, usize),
}

impl Correlating {
    /// Empty state, or the groups worker `index` of `workers` owns in a checkpoint.
    pub fn new(
        set: &'static RuleSet,
        settings: &Settings,
        output: Format,
        restored: Option<&Restored>,
        index: u64,
        workers: u64,
    ) -> Result<Correlating, ClusterError> {
        let comps = Components::of(set);
        let mut corr = Correlator::new(set, settings.limits);
        let mut start = None;
        if let Some(r) = restored {
            // Only the groups this worker now owns are copied out of every snapshot.
            let snaps: Vec<&CorrelatorSnapshot> = r.workers.iter().map(|w| &w.correlator).collect();
            let mine = CorrelatorSnapshot::merge(&snaps, &|ci, key| {
                comps.route(ci, key) % workers == index
            })?;
            corr = Correlator::restore(set, settings.limits, mine)?;
            start = r.workers.iter().filter_map(|w| w.start).min();
        }
        Ok(Correlating {
            set,
            comps,
            corr,
            output,
            eof_flush: settings.eof_flush,
            start,
            max: None,
            emitted: Vec::new(),
            full_every: 1,
            last_part: None,
            size: (0, 0),
        })
    }

    /// Checkpoint parts from now on hold only what changed since the previous part, and
    /// every `full_every`-th the whole state (1: always the whole state).
    pub fn incremental(&mut self, full_every: u32) {
        self.full_every = full_every.max(1);
        if self.full_every > 1 {
            self.corr.track_changes();
        }
    }

    /// This worker's checkpoint part at boundary `tick` (a [`WorkerPart`] as JSON bytes), and
    /// the boundary of the part it follows when it holds only the changes since. Taken
    /// once every event and deadline before the boundary is done, and none after it. An
    /// error leaves the checkpoint incomplete (not written), so a restart uses the one
    /// before.
    pub fn part(&mut self, tick: u64) -> Result<(Option<u64>, Vec<u8>), ClusterError> {
        let since = self
            .last_part
            .filter(|(_, n)| n + 1 < self.full_every)
            .map(|(t, _)| t);
        let part = match since {
            Some(since) => WorkerPart::Delta {
                tick,
                since,
                start: self.start,
                delta: self
                    .corr
                    .take_delta(self.set, super::clock::tick_start(since)),
            },
            None => {
                self.corr.forget_changes();
                WorkerPart::Full {
                    tick,
                    state: WorkerState {
                        start: self.start,
                        correlator: self.corr.snapshot(self.set),
                    },
                }
            }
        };
        let n = self
            .last_part
            .filter(|_| since.is_some())
            .map_or(0, |p| p.1 + 1);
        // Changes taken but not written: the next part must be whole.
        self.last_part = None;
        // Sized as the last part of its kind: no string grown from empty and copied over.
        let hint = if since.is_some() {
            &mut self.size.1
        } else {
            &mut self.size.0
        };
        let mut buf = Vec::with_capacity(*hint + *hint / 8);
        // Each event text once, however many correlations keep it.
        crate::correlate::event_text::to_json_tabled(&part, &mut buf)
            .map_err(ClusterError::SnapshotWrite)?;
        *hint = buf.len();
        self.last_part = Some((tick, n));
        Ok((since, buf))
    }

    /// A control message (`Start`/`End`); false for others.
    pub fn control(&mut self, m: &Msg) -> bool {
        match m {
            Msg::Start { ts, .. } => {
                self.start = Some(self.start.map_or(*ts, |s| s.min(*ts)));
                true
            }
            Msg::End { max, .. } => {
                if let Some(m) = max {
                    self.max = Some(self.max.map_or(*m, |x| x.max(*m)));
                }
                true
            }
            _ => false,
        }
    }

    /// Processes events of times the frontier has passed, in (time, input position)
    /// order. Alerts of the events go to `out`, alerts of deadlines to `deadlines`.
    pub fn events(&mut self, batch: &mut [EventMsg], out: &mut Vec<Msg>, deadlines: &mut Vec<Msg>) {
        // Keys are unique (a position and its export order): no stability needed, and no
        // buffer of moved messages.
        batch.sort_unstable_by_key(|e| (e.ts, e.seq, e.n));
        if let Some(s) = self.start {
            // `learning` counts from the first in-order event of the whole input.
            self.corr.observe(s);
        }
        for e in batch.iter() {
            self.fire_before(e.ts, deadlines);
            let all = &self.comps.comps;
            // The correlations of the event's components, in the engine's order
            // (components are independent: the output orders their alerts).
            self.corr.on_event_for(
                self.set,
                Input {
                    ts: e.ts,
                    seq: e.seq,
                    row: &e.row,
                    text: &e.text,
                },
                &e.matched,
                &|ci| e.comps.binary_search(&all[ci as usize]).is_ok(),
                &mut self.emitted,
            );
            self.drain(out);
        }
    }

    /// Fires the deadlines before `t`.
    pub fn fire_before(&mut self, t: Timestamp, out: &mut Vec<Msg>) {
        self.corr.fire_before(self.set, t, &mut self.emitted);
        self.drain(out);
    }

    /// Correlation alerts carry global input positions already: no partition to map.
    fn drain(&mut self, out: &mut Vec<Msg>) {
        let format = &self.output;
        out.extend(self.emitted.drain(..).map(|e| Msg::alert(format, &e, None)));
    }

    /// Correlation groups held.
    pub fn groups(&self) -> usize {
        self.corr.live_groups()
    }

    /// End of input (S11), as the engine ends it. Returns this worker's counters.
    pub fn finish(&mut self, out: &mut Vec<Msg>) -> Counts {
        self.corr
            .end_of_input(self.set, self.max, self.eof_flush, &mut self.emitted);
        self.drain(out);
        let (pending, pending_total) = self
            .corr
            .pending_keyed(self.set, crate::engine::MAX_PENDING_LISTED);
        let pending = pending
            .into_iter()
            .map(|((d, pos, g, id), p)| {
                let group = serde_json::Value::Object(p.group.into_iter().collect());
                (d, pos, g, id, p.rule, group.to_string())
            })
            .collect();
        Counts {
            evicted_groups: self.corr.evicted_groups(),
            evicted_entries: self.corr.evicted_entries(),
            pending,
            pending_total,
            ..Counts::default()
        }
    }
}
