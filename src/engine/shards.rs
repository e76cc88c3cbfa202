//! Correlation state partitioned over shard threads (`run --threads N`).
//!
//! The engine thread keeps what must see every event in order (time, lateness, detection
//! alerts, the output's order) and hands each correlation input to the shards in batches;
//! every shard sees every batch and keeps only the groups routed to it
//! ([`crate::correlate::routes`], as cluster workers partition them), so a group's inputs
//! reach its state in input order and its alerts, keyed by their
//! [`crate::alert::AlertOrder`], are what one correlator would raise. Each input says which
//! shards keep a group it feeds (its [`Mask`], found by a detector thread where one read
//! the event): the others pass it by. A shard fires its deadlines before the time of each
//! input it takes and after each batch, so the deadlines an input passed by would have
//! fired fire before anything else changes its state, in the same order.
//!
//! Each batch also says up to which time the engine has fired deadlines (`upto`): a shard
//! fires its own deadlines before that time once the batch's events are in. When every
//! shard has finished a batch, no alert ordered before `upto` can come from them any more;
//! the engine writes its held alerts only up to there.

use crate::alert::{AlertOrder, Emitted};
use crate::compile::RuleSet;
use crate::correlate::route::Components;
use crate::correlate::row::Row;
use crate::correlate::{
    Correlator, Input, Limits, Pending, PendingKey, RouteScratch, routes,
};
use super::MAX_PENDING_LISTED;
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::sync::{Arc, mpsc};

/// Correlation inputs per batch: enough to amortise the hand-off, few enough that the
/// engine's held alerts stay few.
const BATCH: usize = 256;

/// In-order events after which a batch goes even when it holds few inputs, so that the
/// alerts held for ordering are released.
const TICKS: usize = 4096;

/// Batches a shard may have waiting before the engine waits for it.
const QUEUE: usize = 8;

/// The shards that keep a group an input feeds, of `count` shards: bit `i` for shard `i`
/// (every bit past 64 shards). With them, which shard keeps each component the input feeds
/// (up to [`OWNERS`] of them): a shard then passes by the correlations it does not keep
/// without computing their groups again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mask {
    count: usize,
    bits: u64,
    /// (component, shard), the first `owned` of them; `owned` is [`UNKNOWN`] when the
    /// input feeds more components than fit (or a component or shard does not fit its
    /// place): every shard then finds its groups itself.
    owners: [(u16, u8); OWNERS],
    owned: u8,
}

/// Components an input may feed for their shards to be listed in its [`Mask`].
const OWNERS: usize = 8;

/// [`Mask::owned`] when the shards of the components are not listed.
const UNKNOWN: u8 = u8::MAX;

impl Mask {
    fn has(&self, shard: usize) -> bool {
        self.bits & (1 << (shard % 64)) != 0
    }

    /// Whether shard `shard` may keep groups of component `comp` for this input.
    fn may_keep(&self, comp: u32, shard: usize) -> bool {
        if self.owned == UNKNOWN {
            return true;
        }
        self.owners[..usize::from(self.owned)]
            .iter()
            .any(|&(c, s)| u32::from(c) == comp && usize::from(s) == shard)
    }
}

/// Finds the [`Mask`] of inputs for `count` shards (on any thread).
pub(crate) struct Router {
    comps: Components,
    count: usize,
    scratch: RouteScratch,
}

impl Router {
    pub(crate) fn new(set: &RuleSet, count: usize) -> Router {
        Router {
            comps: Components::of(set),
            count: count.max(1),
            scratch: RouteScratch::default(),
        }
    }

    /// The mask of an event with correlation fields `row` that matched `matched`.
    pub(crate) fn mask(&mut self, set: &RuleSet, row: &Row, matched: &[u32]) -> Mask {
        let count = self.count;
        let mut m = Mask {
            count,
            bits: 0,
            owners: [(0, 0); OWNERS],
            owned: 0,
        };
        if count > 64 {
            m.bits = u64::MAX;
            m.owned = UNKNOWN;
        } else {
            let n = count as u64;
            routes(set, &self.comps, row, matched, &mut self.scratch, n, &mut |comp, shard| {
                m.bits |= 1 << shard;
                // UNKNOWN is past OWNERS: once unknown, it stays so.
                let room = usize::from(m.owned) < OWNERS;
                match (room, u16::try_from(comp), u8::try_from(shard)) {
                    (true, Ok(c), Ok(s)) => {
                        m.owners[usize::from(m.owned)] = (c, s);
                        m.owned += 1;
                    }
                    _ => m.owned = UNKNOWN,
                }
            });
        }
        m
    }
}

/// One correlation input: an in-order event the correlations consume.
struct ShardInput {
    ts: Timestamp,
    seq: u64,
    /// The shards that take it.
    mask: Mask,
    /// Its matched detection rules, in the batch's `matched`.
    matched: std::ops::Range<usize>,
    row: Box<Row>,
    text: Arc<str>,
}

#[derive(Default)]
struct Batch {
    inputs: Vec<ShardInput>,
    matched: Vec<u32>,
    /// The first in-order time of the stream (`learning` counts from it).
    start: Option<Timestamp>,
    /// The engine fired its deadlines up to here: the shards fire theirs after the batch.
    upto: Option<Timestamp>,
}

enum ToShard {
    Batch(Arc<Batch>),
    End {
        max: Option<Timestamp>,
        eof_flush: bool,
    },
}

/// What a shard reports at the end of the input.
struct Report {
    pending: Vec<(PendingKey, Pending)>,
    pending_total: u64,
    evicted_groups: u64,
    evicted_entries: u64,
}

enum FromShard {
    Done {
        shard: usize,
        alerts: Vec<Emitted>,
    },
    Ended {
        alerts: Vec<Emitted>,
        report: Report,
    },
    /// The shard panicked: nothing more comes from it (the thread scope reports the panic
    /// when the run ends; waiting for the shard would hang the run instead).
    Failed,
}

/// The engine's side of the shards.
pub(crate) struct Shards {
    to: Vec<mpsc::SyncSender<ToShard>>,
    from: mpsc::Receiver<FromShard>,
    current: Batch,
    /// The `upto` of each batch sent and not yet finished by every shard, oldest first.
    outstanding: VecDeque<Option<Timestamp>>,
    /// Batches each shard has finished, counted from the oldest outstanding one.
    finished: Vec<usize>,
    /// Any correlation input was taken: from then on the shards may hold state.
    started: bool,
    /// A shard failed: nothing is waited for any more.
    failed: bool,
    /// What no shard alert can precede any more (the `upto` of the newest batch every
    /// shard has finished).
    frontier: Option<Timestamp>,
    /// The latest time the engine fired deadlines before.
    upto: Option<Timestamp>,
    /// In-order events since the last batch went.
    ticks: usize,
    /// Masks of the inputs no detector routed.
    router: Router,
}

impl Shards {
    /// Starts `n` shard threads in `scope` for the correlations of `set`.
    pub(crate) fn spawn<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        set: &'scope RuleSet,
        limits: Limits,
        n: usize,
    ) -> Shards {
        let n = n.max(1);
        let (back, from) = mpsc::channel();
        let to = (0..n)
            .map(|index| {
                let (tx, rx) = mpsc::sync_channel(QUEUE);
                let back = back.clone();
                scope.spawn(move || shard(set, limits, index, n, &rx, &back));
                tx
            })
            .collect();
        Shards {
            to,
            from,
            current: Batch::default(),
            outstanding: VecDeque::new(),
            finished: vec![0; n],
            started: false,
            failed: false,
            frontier: None,
            upto: None,
            ticks: 0,
            router: Router::new(set, n),
        }
    }

    /// Takes a correlation input (`matched` is copied), with its mask when a detector
    /// found it for as many shards. An input no shard takes (each group ignores it) goes
    /// nowhere.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        set: &RuleSet,
        ts: Timestamp,
        seq: u64,
        matched: &[u32],
        row: Box<Row>,
        mask: Option<Mask>,
        text: Arc<str>,
    ) {
        let mask = match mask {
            Some(m) if m.count == self.router.count => m,
            _ => self.router.mask(set, &row, matched),
        };
        if mask.bits == 0 {
            return;
        }
        self.started = true;
        let at = self.current.matched.len();
        self.current.matched.extend_from_slice(matched);
        self.current.inputs.push(ShardInput {
            ts,
            seq,
            mask,
            matched: at..self.current.matched.len(),
            row,
            text,
        });
    }

    /// The engine fired its deadlines before `t`.
    pub(crate) fn fired_before(&mut self, t: Timestamp) {
        self.upto = Some(self.upto.map_or(t, |u| u.max(t)));
    }

    /// One in-order event was processed: sends the batch when it is full, or when many
    /// events went by (so the held alerts move on). `start`: the stream's first time.
    pub(crate) fn tick(&mut self, start: Option<Timestamp>, held: &mut super::Held<crate::alert::Alert>) {
        self.ticks += 1;
        if self.current.inputs.len() >= BATCH || (self.started && self.ticks >= TICKS) {
            self.send(start, held);
        }
    }

    /// Sends the current batch to every shard (waiting while a shard's queue is full, and
    /// taking what the shards finished meanwhile into `held`).
    fn send(&mut self, start: Option<Timestamp>, held: &mut super::Held<crate::alert::Alert>) {
        self.ticks = 0;
        let mut batch = std::mem::take(&mut self.current);
        batch.start = start;
        batch.upto = self.upto;
        self.outstanding.push_back(batch.upto);
        let batch = Arc::new(batch);
        for i in 0..self.to.len() {
            let mut msg = ToShard::Batch(Arc::clone(&batch));
            loop {
                match self.to[i].try_send(msg) {
                    Ok(()) => break,
                    Err(mpsc::TrySendError::Full(_)) if self.failed => break,
                    Err(mpsc::TrySendError::Full(m)) => {
                        msg = m;
                        // Wait for a shard to finish something, then try again.
                        match self.from.recv() {
                            Ok(r) => {
                                self.take(r, held);
                            }
                            Err(_) => return,
                        }
                    }
                    // A shard that stopped (it panicked): its part of the output is lost,
                    // and the scope reports the panic.
                    Err(mpsc::TrySendError::Disconnected(_)) => break,
                }
            }
        }
    }

    /// A shard's result: its alerts go to `held`; a batch every shard finished moves the
    /// frontier.
    fn take(&mut self, r: FromShard, held: &mut super::Held<crate::alert::Alert>) -> Option<Report> {
        match r {
            FromShard::Done { shard, alerts } => {
                alerts.into_iter().for_each(|e| held.push(e.order, e.alert));
                self.finished[shard] += 1;
                while self.finished.iter().all(|f| *f > 0) {
                    self.finished.iter_mut().for_each(|f| *f -= 1);
                    if let Some(upto) = self.outstanding.pop_front() {
                        self.frontier = upto.or(self.frontier);
                    }
                }
                None
            }
            FromShard::Ended { alerts, report } => {
                alerts.into_iter().for_each(|e| held.push(e.order, e.alert));
                Some(report)
            }
            FromShard::Failed => {
                self.failed = true;
                self.outstanding.clear();
                None
            }
        }
    }

    /// Takes what the shards finished so far, without waiting.
    pub(crate) fn poll(&mut self, held: &mut super::Held<crate::alert::Alert>) {
        while let Ok(r) = self.from.try_recv() {
            self.take(r, held);
        }
    }

    /// `frontier`, or an earlier one when a shard alert may still come before it.
    pub(crate) fn clamp(&self, frontier: AlertOrder) -> AlertOrder {
        if !self.started {
            return frontier;
        }
        let bound = AlertOrder::first_at(self.frontier.unwrap_or(Timestamp(i64::MIN)));
        frontier.min(bound)
    }

    /// Sends what is batched and waits until every shard has finished it: every shard
    /// alert is then in `held`.
    pub(crate) fn sync(&mut self, start: Option<Timestamp>, held: &mut super::Held<crate::alert::Alert>) {
        if !self.started {
            return;
        }
        self.send(start, held);
        while !self.outstanding.is_empty() && !self.failed {
            match self.from.recv() {
                Ok(r) => {
                    self.take(r, held);
                }
                Err(_) => break,
            }
        }
    }

    /// The end of the input (S11): what is batched goes, then every shard ends its
    /// correlations as the engine would (deadlines before `max`, then `eof_flush`). Their
    /// alerts go to `held`; the shards stop. Returns the first open obligations in the order
    /// one correlator lists them, how many are open, and the evicted groups and entries.
    pub(crate) fn end(
        mut self,
        start: Option<Timestamp>,
        max: Option<Timestamp>,
        eof_flush: bool,
        held: &mut super::Held<crate::alert::Alert>,
    ) -> (Vec<Pending>, u64, u64, u64) {
        self.sync(start, held);
        for tx in &self.to {
            let _ = tx.send(ToShard::End { max, eof_flush });
        }
        let mut reports = Vec::new();
        while reports.len() < self.to.len() && !self.failed {
            match self.from.recv() {
                Ok(r) => reports.extend(self.take(r, held)),
                Err(_) => break,
            }
        }
        let mut pending: Vec<_> = reports
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.pending))
            .collect();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        pending.truncate(MAX_PENDING_LISTED);
        (
            pending.into_iter().map(|p| p.1).collect(),
            reports.iter().map(|r| r.pending_total).sum(),
            reports.iter().map(|r| r.evicted_groups).sum(),
            reports.iter().map(|r| r.evicted_entries).sum(),
        )
    }
}

/// A shard thread: correlates every batch for the groups it owns, until the end.
fn shard(
    set: &RuleSet,
    limits: Limits,
    index: usize,
    count: usize,
    rx: &mpsc::Receiver<ToShard>,
    back: &mpsc::Sender<FromShard>,
) {
    /// Says so when the shard's thread unwinds.
    struct OnPanic<'a>(&'a mpsc::Sender<FromShard>);
    impl Drop for OnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = self.0.send(FromShard::Failed);
            }
        }
    }
    let _guard = OnPanic(back);
    let mut corr = Correlator::new(set, limits);
    corr.partition(set, index as u64, count as u64);
    let comps = Components::of(set);
    let mut out = Vec::new();
    for msg in rx.iter() {
        match msg {
            ToShard::Batch(b) => {
                if let Some(s) = b.start {
                    corr.observe(s);
                }
                for e in b.inputs.iter().filter(|e| e.mask.has(index)) {
                    // As the engine does before each in-order event.
                    corr.fire_before(set, e.ts, &mut out);
                    let input = Input {
                        ts: e.ts,
                        seq: e.seq,
                        row: &e.row,
                        text: &e.text,
                    };
                    // Correlations of components another shard keeps are passed by.
                    let mine = |ci: u32| e.mask.may_keep(comps.comps[ci as usize], index);
                    corr.on_event_for(set, input, &b.matched[e.matched.clone()], &mine, &mut out);
                }
                if let Some(u) = b.upto {
                    corr.fire_before(set, u, &mut out);
                }
                drop(b);
                let alerts = std::mem::take(&mut out);
                if back.send(FromShard::Done { shard: index, alerts }).is_err() {
                    return;
                }
            }
            ToShard::End { max, eof_flush } => {
                corr.end_of_input(set, max, eof_flush, &mut out);
                let (pending, pending_total) = corr.pending_keyed(set, MAX_PENDING_LISTED);
                let report = Report {
                    pending,
                    pending_total,
                    evicted_groups: corr.evicted_groups(),
                    evicted_entries: corr.evicted_entries(),
                };
                let _ = back.send(FromShard::Ended {
                    alerts: std::mem::take(&mut out),
                    report,
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> RuleSet {
        let corr = |name: &str, by: &str| {
            format!(
                "---\ntitle: {name}\nname: {name}\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [{by}]\n  timespan: 1m\n  condition: {{gte: 2}}\n"
            )
        };
        let text = format!(
            "title: t\nname: base\nlogsource: {{product: session}}\ndetection:\n  sel: {{action: logon}}\n  condition: sel\n{}{}",
            corr("by_user", "user"),
            corr("by_host", "host")
        );
        RuleSet::builder()
            .add_str("r.yml", &text)
            .build()
            .expect("rules compile")
    }

    /// The router lists the shard of every component an input feeds, the same shard the
    /// routing hash gives, and a shard keeps only its own.
    #[test]
    fn a_mask_lists_the_shard_of_each_component() {
        let set = set();
        let comps = Components::of(&set);
        for (user, host) in [("alice", "WS1"), ("bob", "WS1"), ("carol", "DC01"), ("dave", "WS7")] {
            let row = Row::from_json(&set, &serde_json::json!({"user": user, "host": host}));
            let m = Router::new(&set, 3).mask(&set, &row, &[0]);
            assert_eq!(m.owned, 2, "{user}@{host}");
            let mut want = Vec::new();
            routes(&set, &comps, &row, &[0], &mut RouteScratch::default(), 3, &mut |c, s| {
                want.push((c, s as usize))
            });
            for (comp, shard) in want {
                assert!(m.has(shard));
                for other in 0..3 {
                    assert_eq!(m.may_keep(comp, other), other == shard, "{user}@{host} {comp}");
                }
            }
        }
        // An input without a host feeds one component.
        let row = Row::from_json(&set, &serde_json::json!({"user": "alice"}));
        assert_eq!(Router::new(&set, 2).mask(&set, &row, &[0]).owned, 1);
    }

    #[test]
    fn a_mask_without_its_owners_lets_every_shard_look() {
        let set = set();
        let row = Row::from_json(&set, &serde_json::json!({"user": "alice", "host": "WS1"}));
        let mut m = Router::new(&set, 2).mask(&set, &row, &[0]);
        m.owned = UNKNOWN;
        assert!((0..2).all(|s| m.may_keep(0, s) && m.may_keep(1, s)));
        // More shards than a mask has bits: every shard looks.
        let m = Router::new(&set, 65).mask(&set, &row, &[0]);
        assert_eq!((m.bits, m.owned), (u64::MAX, UNKNOWN));
    }
}
