//! The work of one worker, apart from timely: reading its partitions (time, lateness and
//! detection, by an exporting engine per partition), correlating the groups routed to it,
//! and, on worker 0, writing the alerts in order. The dataflow in `mod.rs` only moves
//! [`Msg`]s between these under event-time capabilities.

use super::checkpoint::{PartState, Restored, WorkerState};
use super::input::{Item, Partition, Status};
use super::msg::{
    Counts, EventMsg, Json, Key, Msg, boundary_at_or_before, fnv, global_seq, is_boundary, tick,
    tick_start,
};
use crate::alert::{Alert, AlertSink};
use crate::compile::RuleSet;
use crate::correlate::group::GroupKey;
use crate::correlate::group::group_order;
use crate::correlate::{Correlator, CorrelatorSnapshot, Emitted, Input, group_of};
use crate::engine::feed::{feed_line, feed_outcome, too_long};
use crate::engine::{Engine, ExportedAlert, Settings};
use crate::source::Adapter;
use crate::time::Timestamp;
use std::sync::Arc;

/// How alerts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// One JSON object per line.
    Json,
    /// One line of text.
    Text,
}

impl Render {
    fn line(self, a: &Alert) -> String {
        match self {
            Render::Json => a.to_json(),
            Render::Text => a.to_text(),
        }
    }
}

/// Correlation components: correlations that feed one another (S12) must live on one
/// worker. `comps[ci]` is the smallest correlation index of `ci`'s component;
/// `alone[ci]` says whether it is the only one (then it is partitioned by group).
#[derive(Debug, Clone)]
pub struct Components {
    comps: Vec<u32>,
    alone: Vec<bool>,
}

impl Components {
    /// The components of `set`.
    pub fn of(set: &RuleSet) -> Components {
        let n = set.correlations.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for (ci, consumers) in set.wiring.by_correlation.iter().enumerate() {
            for &c in consumers {
                let (a, b) = (root(&mut parent, ci as u32), root(&mut parent, c));
                parent[a.max(b) as usize] = a.min(b);
            }
        }
        let comps: Vec<u32> = (0..n as u32).map(|i| root(&mut parent, i)).collect();
        let alone = (0..n)
            .map(|i| comps.iter().filter(|c| **c == comps[i]).count() == 1)
            .collect();
        Components { comps, alone }
    }

    /// The routing hash of a group of correlation `ci`: by (correlation, group) when the
    /// correlation stands alone, by its component otherwise. The worker is the hash
    /// modulo the number of workers (timely's exchange).
    pub fn route(&self, ci: u32, key: &GroupKey) -> u64 {
        let comp = self.comps[ci as usize];
        if self.alone[comp as usize] {
            fnv(&[&comp.to_le_bytes(), group_order(key).as_bytes()])
        } else {
            fnv(&[&comp.to_le_bytes()])
        }
    }
}

/// The partitions one worker reads.
pub struct Sources {
    set: &'static RuleSet,
    comps: Components,
    workers: u64,
    render: Render,
    parts: Vec<Part>,
    items: Vec<(u64, Item)>,
    /// Checkpoint interval in ticks.
    every: Option<u64>,
    /// Resumed from a checkpoint at this time: what is older was sent before it.
    skip_before: Option<i64>,
    /// Set on SIGINT/SIGTERM: every partition ends (end of input, S11).
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// After this long without a record, a partition's time moves to the wall clock minus
    /// this (`--idle-timeout`; not deterministic).
    idle: Option<std::time::Duration>,
    /// Counters for metrics.
    pub metrics: SourceMetrics,
}

/// What one worker's sources did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceMetrics {
    /// Events over its partitions.
    pub events: u64,
    /// Invalid records.
    pub invalid: u64,
    /// Late events.
    pub late: u64,
    /// Newest event time over its partitions.
    pub newest: Option<i64>,
    /// Records read.
    pub records: u64,
    /// Heartbeat records.
    pub heartbeats: u64,
    /// Events that matched at least one rule.
    pub matched: u64,
    /// Idle timeouts applied.
    pub idle: u64,
}

struct Part {
    id: u32,
    input: Box<dyn Partition>,
    engine: Engine<'static>,
    adapter: Adapter,
    /// Export counter (orders a record and its Windows `raw`).
    n: u64,
    started: bool,
    ended: bool,
    /// The first checkpoint boundary this partition has not given its resume place for.
    next_boundary: Option<u64>,
    /// When it last read a record.
    last_read: std::time::Instant,
}

/// Sinks nothing: an exporting engine writes no alert itself.
struct NoSink;
impl AlertSink for NoSink {
    fn alert(&mut self, _: Alert) {}
}

/// Records read per partition per activation.
const BATCH: usize = 1024;

impl Sources {
    /// The worker's partitions, opened (and resumed, with `restored`).
    pub fn new(
        job: &super::Job,
        workers: u64,
        inputs: Vec<(u32, Box<dyn Partition>)>,
        restored: Option<&Restored>,
    ) -> Sources {
        let (set, settings, format) = (job.set, &job.settings, job.format);
        let every = job.checkpoint.as_ref().map(|c| c.every.max(1));
        let parts = inputs
            .into_iter()
            .map(|(id, input)| {
                let mut part = Part {
                    id,
                    input,
                    engine: Engine::exporting(set, settings.clone()),
                    adapter: Adapter::new(format, None),
                    n: 0,
                    started: false,
                    ended: false,
                    next_boundary: None,
                    last_read: std::time::Instant::now(),
                };
                if let Some(r) = restored {
                    part.resume(&r.parts[id as usize], r.tick, every);
                }
                part
            })
            .collect();
        Sources {
            set,
            comps: Components::of(set),
            workers,
            render: job.render,
            parts,
            items: Vec::new(),
            every,
            skip_before: restored.map(|r| tick_start(r.tick)),
            stop: job.stop.clone(),
            idle: job.idle_timeout,
            metrics: SourceMetrics::default(),
        }
    }

    /// The counters, with the partitions' totals brought up to date.
    pub fn metrics(&mut self) -> SourceMetrics {
        let m = &mut self.metrics;
        (m.events, m.invalid, m.late, m.newest) = (0, 0, 0, None);
        for p in &self.parts {
            let s = p.engine.stats();
            m.events += s.events;
            m.invalid += s.invalid;
            m.late += s.late;
            m.newest = m.newest.max(p.engine.max_seen().map(|t| t.0));
        }
        *m
    }

    /// True when every partition has ended.
    pub fn done(&self) -> bool {
        self.parts.iter().all(|p| p.ended)
    }

    /// The lowest watermark tick over the partitions still open, which the source's
    /// capability may advance to; `None` while one of them has no watermark yet (or all
    /// ended).
    pub fn low(&self) -> Option<i64> {
        let mut low: Option<i64> = None;
        for p in self.parts.iter().filter(|p| !p.ended) {
            let w = p.engine.watermark()?.0;
            low = Some(low.map_or(w, |l| l.min(w)));
        }
        low
    }

    /// Reads a batch of every open partition whose watermark is not past `limit` (a tick:
    /// flow control, so that a worker does not read far ahead of the slowest partition and
    /// fill the correlators' buffers); appends what goes out to `out`. Read errors end the
    /// partition and are returned as messages for stderr. Returns whether it read at all.
    pub fn step(
        &mut self,
        limit: Option<u64>,
        out: &mut Vec<Msg>,
        errors: &mut Vec<String>,
    ) -> bool {
        let mut read = false;
        let stopping = self
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
        for pi in 0..self.parts.len() {
            if self.parts[pi].ended {
                continue;
            }
            let ahead = self.parts[pi]
                .engine
                .watermark()
                .is_some_and(|w| limit.is_some_and(|l| tick(w.0) > l));
            if ahead && !stopping {
                continue;
            }
            read = true;
            self.items.clear();
            let status = if stopping {
                Ok(Status::End)
            } else {
                let p = &mut self.parts[pi];
                p.input.read(BATCH, &mut self.items)
            };
            let p = &mut self.parts[pi];
            let now = std::time::Instant::now();
            if !self.items.is_empty() {
                p.last_read = now;
            } else if let Some(idle) = self.idle.filter(|i| now.duration_since(p.last_read) >= *i) {
                // Idle: as if a heartbeat said nothing older than now − idle is to come.
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64);
                p.engine
                    .heartbeat(Timestamp(wall - idle.as_nanos() as i64), &mut NoSink);
                p.last_read = now;
                self.metrics.idle += 1;
            }
            self.metrics.records += self.items.len() as u64;
            for (place, item) in self.items.drain(..) {
                let before = self.every.map(|_| p.state(place));
                if let Item::Line(bytes) = &item {
                    if let Some(ts) = heartbeat_time(bytes) {
                        p.engine.heartbeat(ts, &mut NoSink);
                        self.metrics.heartbeats += 1;
                        continue;
                    }
                }
                let fed = match item {
                    Item::Line(bytes) => {
                        feed_line(&mut p.engine, &mut p.adapter, &bytes, &mut NoSink)
                    }
                    Item::TooLong(n) => {
                        let o = too_long(n);
                        p.adapter.count(&o);
                        feed_outcome(&mut p.engine, o, None, &mut NoSink)
                    }
                };
                if let Err(m) = fed {
                    if p.engine.stats().invalid <= crate::cluster::MAX_REPORTED_INVALID {
                        errors.push(format!("{}:{place}: invalid event: {m}", p.input.name()));
                    }
                }
                if let (Some(every), Some(state)) = (self.every, before) {
                    p.boundaries(every, state, out);
                }
            }
            let end = match status {
                Ok(Status::More) => false,
                Ok(Status::End) => true,
                Err(e) => {
                    errors.push(e);
                    true
                }
            };
            if end {
                p.engine.finish(&mut NoSink);
                p.ended = true;
            }
            let p = &mut self.parts[pi];
            let sent = out.len();
            export(
                self.set,
                &self.comps,
                self.workers,
                self.render,
                self.skip_before,
                p,
                out,
            );
            self.metrics.matched += (out.len() - sent) as u64;
            if !p.started {
                if let Some(s) = p.engine.stream_start() {
                    p.started = true;
                    out.extend((0..self.workers).map(|to| Msg::Start { to, ts: s.0 }));
                }
            }
            if p.ended {
                if self.every.is_some() {
                    // Every later boundary resumes after the end.
                    let mut state = p.state(u64::MAX);
                    state.ended = true;
                    out.push(Msg::Resume {
                        partition: p.id,
                        from: p.next_boundary.unwrap_or(0),
                        to: u64::MAX,
                        state,
                    });
                }
                let max = p.engine.max_seen().map(|t| t.0);
                out.extend((0..self.workers).map(|to| Msg::End { to, max }));
                let s = p.engine.stats();
                out.push(Msg::Counts(Counts {
                    events: s.events,
                    invalid: s.invalid,
                    late: s.late,
                    no_timestamp: s.no_timestamp,
                    blank: s.blank,
                    skipped: p.skipped(),
                    ..Counts::default()
                }));
            }
        }
        read
    }
}

impl Part {
    /// Skipped records by reason so far.
    fn skipped(&self) -> Vec<(String, u64)> {
        let skipped = &self.adapter.accounting().skipped;
        skipped.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Its place and counters now, as a checkpoint would resume at the record at `place`.
    fn state(&self, place: u64) -> PartState {
        let s = self.engine.stats();
        let a = self.adapter.accounting();
        PartState {
            offset: place,
            ended: false,
            position: self.engine.position(),
            max_seen: self.engine.max_seen().map(|t| t.0),
            events: s.events,
            invalid: s.invalid,
            late: s.late,
            no_timestamp: s.no_timestamp,
            blank: s.blank,
            records: a.records,
            adapter_events: a.events,
            adapter_invalid: a.invalid,
            // Filled in only when sent: an event record does not change it.
            skipped: Vec::new(),
        }
    }

    /// After a record: if it was an in-order event at or after the next checkpoint
    /// boundaries, this partition resumes at it for them (`before`: the state before it).
    fn boundaries(&mut self, every: u64, mut before: PartState, out: &mut Vec<Msg>) {
        let Some((pos, ts)) = self.engine.last_in_order() else {
            return;
        };
        let t = tick(ts.0);
        let from = self.next_boundary.unwrap_or(0);
        if pos <= before.position || t < from {
            return;
        }
        before.skipped = self.skipped();
        out.push(Msg::Resume {
            partition: self.id,
            from,
            to: t,
            state: before,
        });
        self.next_boundary = Some(boundary_at_or_before(t, every) + every);
    }

    /// Starts from a checkpoint's state for this partition.
    fn resume(&mut self, s: &PartState, tick: u64, every: Option<u64>) {
        let stats = crate::engine::Stats {
            events: s.events,
            invalid: s.invalid,
            late: s.late,
            no_timestamp: s.no_timestamp,
            blank: s.blank,
            ..Default::default()
        };
        self.engine
            .resume_partition(s.position, s.max_seen.map(Timestamp), &stats);
        self.adapter.resume_accounting(crate::source::Accounting {
            records: s.records,
            events: s.adapter_events,
            invalid: s.adapter_invalid,
            skipped: s.skipped.iter().cloned().collect(),
        });
        self.next_boundary = every.map(|e| tick + e);
    }
}

/// A heartbeat record: a JSON object with a top-level `heartbeat` key and a valid
/// `timestamp`. Not an event: it only says that nothing older is to come on its partition.
fn heartbeat_time(line: &[u8]) -> Option<Timestamp> {
    const KEY: &[u8] = b"\"heartbeat\"";
    if !line.windows(KEY.len()).any(|w| w == KEY) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object()?;
    o.get("heartbeat")?;
    Timestamp::from_json(o.get("timestamp")?)
}

/// What a partition's engine exported, as messages.
#[allow(clippy::too_many_arguments)]
fn export(
    set: &RuleSet,
    comps: &Components,
    workers: u64,
    render: Render,
    skip_before: Option<i64>,
    p: &mut Part,
    out: &mut Vec<Msg>,
) {
    let x = p.engine.take_exports();
    let old = |t: i64| skip_before.is_some_and(|s| t < s);
    for a in x.alerts {
        let m = alert_msg(render, a, p.id);
        // After a restart, what is older than the checkpoint was written before it.
        if !matches!(&m, Msg::Alert { key, .. } if old(key.0)) {
            out.push(m);
        }
    }
    let mut mine: Vec<u32> = Vec::new();
    // Per destination worker, the components of this event it holds.
    let mut to: Vec<(u64, Vec<u32>)> = Vec::new();
    for r in x.records.into_iter().filter(|r| !old(r.ts.0)) {
        p.n += 1;
        mine.clear();
        for d in &r.matched {
            for &ci in &set.wiring.by_detection[*d as usize] {
                let c = comps.comps[ci as usize];
                if !mine.contains(&c) {
                    mine.push(c);
                }
            }
        }
        mine.sort_unstable();
        to.clear();
        for &comp in &mine {
            let route = if comps.alone[comp as usize] {
                let Some(key) = group_of(set, comp, &r.event, &r.matched) else {
                    continue;
                };
                comps.route(comp, &key)
            } else {
                fnv(&[&comp.to_le_bytes()])
            };
            let w = route % workers;
            match to.iter_mut().find(|(x, _)| *x == w) {
                Some((_, v)) => v.push(comp),
                None => to.push((w, vec![comp])),
            }
        }
        if to.is_empty() {
            continue;
        }
        // One message per worker; the texts are shared, not copied, within a process.
        let event = Json(Arc::new(r.event));
        for (w, comps) in to.drain(..) {
            out.push(Msg::Event(EventMsg {
                route: w,
                comps,
                ts: r.ts.0,
                seq: global_seq(p.id, r.seq),
                n: p.n,
                matched: r.matched.clone(),
                event: event.clone(),
                text: r.text.clone(),
            }));
        }
    }
}

fn alert_msg(render: Render, a: ExportedAlert, partition: u32) -> Msg {
    let (ts, pos, group, seq) = a.emitted.order;
    let seq = if seq == u64::MAX {
        seq
    } else {
        global_seq(partition, seq)
    };
    let key: Key = match a.on_arrival {
        None => (ts.0, 1, 0, pos, group, seq),
        Some(w) => (w.map_or(i64::MIN, |t| t.0), 0, seq, pos, String::new(), 0),
    };
    Msg::Alert {
        key,
        line: render.line(&a.emitted.alert),
    }
}

fn emitted_msg(render: Render, e: Emitted) -> Msg {
    let (ts, pos, group, seq) = e.order;
    Msg::Alert {
        key: (ts.0, 1, 0, pos, group, seq),
        line: render.line(&e.alert),
    }
}

/// The correlation state of the groups routed to one worker.
pub struct Correlating {
    set: &'static RuleSet,
    comps: Components,
    corr: Correlator,
    render: Render,
    eof_flush: bool,
    /// Earliest first in-order time over all partitions.
    start: Option<i64>,
    /// Newest event time over all partitions, and how many have ended.
    max: Option<i64>,
    emitted: Vec<Emitted>,
}

impl Correlating {
    /// Empty state, or the groups worker `index` of `workers` owns in a checkpoint.
    pub fn new(
        set: &'static RuleSet,
        settings: &Settings,
        render: Render,
        restored: Option<&Restored>,
        index: u64,
        workers: u64,
    ) -> Result<Correlating, String> {
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
            render,
            eof_flush: settings.eof_flush,
            start,
            max: None,
            emitted: Vec::new(),
        })
    }

    /// The state as a checkpoint part ([`WorkerState`] as JSON); an error leaves the
    /// checkpoint incomplete (not written), so a restart uses the one before.
    pub fn snapshot(&self) -> Result<String, String> {
        let w = WorkerState {
            start: self.start,
            correlator: self.corr.snapshot(self.set),
        };
        serde_json::to_string(&w).map_err(|e| format!("cannot snapshot correlation state: {e}"))
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
        batch.sort_by_key(|e| (e.ts, e.seq, e.n));
        if let Some(s) = self.start {
            // `learning` counts from the first in-order event of the whole input.
            self.corr.observe(Timestamp(s));
        }
        for e in batch.iter() {
            self.fire_before(e.ts, false, deadlines);
            let event: &serde_json::Value = &e.event.0;
            let all = &self.comps.comps;
            // Component by component, in order, as the engine goes through correlations.
            for &comp in &e.comps {
                self.corr.on_event_for(
                    self.set,
                    Input {
                        ts: Timestamp(e.ts),
                        seq: e.seq,
                        event,
                        text: &e.text,
                    },
                    &e.matched,
                    &|ci| all[ci as usize] == comp,
                    &mut self.emitted,
                );
            }
            out.extend(self.emitted.drain(..).map(|x| emitted_msg(self.render, x)));
        }
    }

    /// Fires the deadlines before `t` (all of them with `incomplete`).
    pub fn fire_before(&mut self, t: i64, incomplete: bool, out: &mut Vec<Msg>) {
        while self
            .corr
            .next_deadline()
            .is_some_and(|d| incomplete || d.0 < t)
        {
            self.corr.fire_next(self.set, incomplete, &mut self.emitted);
            out.extend(self.emitted.drain(..).map(|x| emitted_msg(self.render, x)));
        }
    }

    /// Correlation groups held.
    pub fn groups(&self) -> usize {
        self.corr.live_groups()
    }

    /// The earliest open deadline.
    pub fn next_deadline(&mut self) -> Option<i64> {
        self.corr.next_deadline().map(|d| d.0)
    }

    /// End of input (S11): deadlines before the newest event time fire; with `eof: flush`
    /// the rest fire as incomplete. Returns this worker's counters.
    pub fn finish(&mut self, out: &mut Vec<Msg>) -> Counts {
        if let Some(m) = self.max {
            self.fire_before(m, false, out);
        }
        if self.eof_flush {
            self.fire_before(i64::MAX, true, out);
        }
        let pending = self
            .corr
            .pending_keyed(self.set)
            .into_iter()
            .map(|((d, pos, g, id), p)| {
                let group = serde_json::Value::Object(p.group.into_iter().collect());
                (d.0, pos, g, id, p.rule, group.to_string())
            })
            .collect();
        Counts {
            evicted_groups: self.corr.evicted_groups(),
            evicted_entries: self.corr.evicted_entries(),
            pending,
            ..Counts::default()
        }
    }
}

/// Worker 0's output: alerts in order, as the frontier passes their time, and the
/// checkpoints.
pub struct Output {
    held: Vec<(Key, String)>,
    counts: Counts,
    /// Alerts written (or found already written after a restart).
    pub alerts: u64,
    /// Alerts the output already holds after a restart: counted, not written again.
    skip: u64,
    ckpt: Option<Checkpoints>,
}

/// The parts of the checkpoints not yet written.
struct Checkpoints {
    cfg: super::checkpoint::Config,
    workers: u64,
    /// Per partition: (first, last boundary, state).
    parts: Vec<Vec<(u64, u64, PartState)>>,
    /// Per boundary, each worker's snapshot.
    snaps: std::collections::BTreeMap<u64, Vec<Option<String>>>,
}

impl Output {
    /// Nothing held; `ckpt`: checkpoints to write, for `partitions` and `workers`;
    /// `restored`: (alerts before the checkpoint, alerts the output holds after it).
    pub fn new(
        ckpt: Option<(super::checkpoint::Config, u32, u64)>,
        restored: Option<(u64, u64)>,
    ) -> Output {
        let (alerts, skip) = restored.unwrap_or((0, 0));
        Output {
            held: Vec::new(),
            counts: Counts::default(),
            alerts,
            skip,
            ckpt: ckpt.map(|(cfg, partitions, workers)| Checkpoints {
                cfg,
                workers,
                parts: vec![Vec::new(); partitions as usize],
                snaps: Default::default(),
            }),
        }
    }

    /// Takes an alert, counters or a checkpoint part.
    pub fn take(&mut self, m: Msg) {
        match m {
            Msg::Alert { key, line } => self.held.push((key, line)),
            Msg::Counts(c) => {
                let t = &mut self.counts;
                t.events += c.events;
                t.invalid += c.invalid;
                t.late += c.late;
                t.no_timestamp += c.no_timestamp;
                t.blank += c.blank;
                t.evicted_groups += c.evicted_groups;
                t.evicted_entries += c.evicted_entries;
                t.skipped.extend(c.skipped);
                t.pending.extend(c.pending);
            }
            Msg::Resume {
                partition,
                from,
                to,
                state,
            } => {
                if let Some(c) = &mut self.ckpt {
                    if let Some(v) = c.parts.get_mut(partition as usize) {
                        v.push((from, to, state));
                    }
                }
            }
            Msg::Snapshot { tick, worker, json } => {
                if let Some(c) = &mut self.ckpt {
                    let n = c.workers as usize;
                    if let Some(slot) = c
                        .snaps
                        .entry(tick)
                        .or_insert_with(|| vec![None; n])
                        .get_mut(worker as usize)
                    {
                        *slot = Some(json);
                    }
                }
            }
            _ => {}
        }
    }

    /// Writes the held alerts with time before `before` (all with `None`), in order, and
    /// the checkpoints whose boundary that passes.
    pub fn release(
        &mut self,
        before: Option<i64>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        self.held.sort_by(|a, b| a.0.cmp(&b.0));
        let due: Vec<u64> = match (&self.ckpt, before) {
            (Some(c), Some(b)) => c
                .snaps
                .keys()
                .copied()
                .filter(|k| tick_start(*k) <= b)
                .collect(),
            _ => Vec::new(),
        };
        for k in due {
            self.write_before(Some(tick_start(k)), out)?;
            out.flush()?;
            self.checkpoint(k)?;
        }
        self.write_before(before, out)
    }

    /// Writes the held alerts with time before `t` (all with `None`); they are sorted.
    fn write_before(
        &mut self,
        t: Option<i64>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let n = match t {
            Some(t) => self.held.partition_point(|(k, _)| k.0 < t),
            None => self.held.len(),
        };
        for (_, line) in self.held.drain(..n) {
            self.alerts += 1;
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes checkpoint `k` if every part is in, then drops what it no longer needs.
    fn checkpoint(&mut self, k: u64) -> std::io::Result<()> {
        let Some(c) = &mut self.ckpt else {
            return Ok(());
        };
        let Some(snaps) = c.snaps.remove(&k) else {
            return Ok(());
        };
        let workers: Option<Vec<String>> = snaps.into_iter().collect();
        let every = c.cfg.every.max(1);
        let parts: Option<Vec<PartState>> = c
            .parts
            .iter()
            .map(|v| {
                v.iter()
                    .find(|(from, to, _)| *from <= k && k <= *to)
                    .map(|x| x.2.clone())
            })
            .collect();
        let written = match (workers, parts) {
            (Some(w), Some(p)) if is_boundary(k, every) => {
                super::checkpoint::write(&c.cfg, k, &p, &w, self.alerts)?;
                true
            }
            _ => false,
        };
        if written {
            for v in &mut c.parts {
                v.retain(|(_, to, _)| *to > k);
            }
        }
        c.snaps.retain(|t, _| *t > k);
        Ok(())
    }

    /// The run's counters (after the last release).
    pub fn stats(&mut self) -> crate::engine::Stats {
        let c = &mut self.counts;
        c.pending
            .sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
        let mut skipped = std::collections::BTreeMap::new();
        for (k, v) in &c.skipped {
            *skipped.entry(k.clone()).or_insert(0) += v;
        }
        crate::engine::Stats {
            events: c.events,
            invalid: c.invalid,
            late: c.late,
            no_timestamp: c.no_timestamp,
            blank: c.blank,
            alerts: self.alerts,
            pending: c
                .pending
                .iter()
                .map(|p| crate::correlate::Pending {
                    rule: p.4.clone(),
                    group: match serde_json::from_str(&p.5) {
                        Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
                        _ => Vec::new(),
                    },
                    deadline: Timestamp(p.0),
                })
                .collect(),
            evicted_groups: c.evicted_groups,
            evicted_entries: c.evicted_entries,
            skipped,
        }
    }
}

/// Per-worker metrics, one JSON line every interval (wall clock) and one at the end.
pub struct Metrics {
    /// Where the lines go (shared by the workers of a process).
    pub out: super::MetricsOut,
    /// Interval.
    pub every: std::time::Duration,
    /// Last line written.
    pub last: std::time::Instant,
    /// This worker's process and index.
    pub process: usize,
    /// This worker's index (over all processes).
    pub worker: usize,
}

impl Metrics {
    /// Writes a line if the interval has passed (or `last`).
    pub fn tick(&mut self, last: bool, src: SourceMetrics, groups: usize, frontier: Option<u64>) {
        let now = std::time::Instant::now();
        if !last && now.duration_since(self.last) < self.every {
            return;
        }
        self.last = now;
        let watermark = frontier.map(tick_start);
        let ts = |t: Option<i64>| t.map_or("null".to_string(), |t| format!("\"{}\"", Timestamp(t)));
        let lag = match (src.newest, watermark) {
            (Some(n), Some(w)) => format!("{:.3}", (n - w).max(0) as f64 / 1e9),
            _ => "null".into(),
        };
        let line = format!(
            "{{\"process\":{},\"worker\":{},\"final\":{last},\"records\":{},\"events\":{},\"invalid\":{},\"late\":{},\"heartbeats\":{},\"idle_timeouts\":{},\"matches_sent\":{},\"groups\":{groups},\"newest\":{},\"watermark\":{},\"watermark_lag_s\":{lag}}}\n",
            self.process,
            self.worker,
            src.records,
            src.events,
            src.invalid,
            src.late,
            src.heartbeats,
            src.idle,
            src.matched,
            ts(src.newest),
            ts(watermark),
        );
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}
