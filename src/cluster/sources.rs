//! A worker's partitions: each read by an exporting engine (time, lateness and detection
//! exactly as `run` decides them), whose correlation inputs and alerts become messages for
//! the workers that own the groups and for the output.

use super::checkpoint::{PartState, Restored};
use super::clock::{boundary_at_or_before, tick, tick_start};
use super::input::{Item, Partition, Status};
use super::msg::{Counts, EventMsg, Msg, global_seq};
use crate::alert::{Alert, AlertSink, Format};
use crate::compile::RuleSet;
use crate::correlate::route::Components;
use crate::correlate::{RouteScratch, routes};
use crate::engine::Engine;
use crate::engine::feed::{feed_line, feed_outcome, too_long};
use crate::source::Adapter;
use crate::time::Timestamp;

/// The partitions one worker reads.
pub struct Sources {
    set: &'static RuleSet,
    comps: Components,
    workers: u64,
    output: Format,
    parts: Vec<Part>,
    items: Vec<(u64, Item)>,
    /// Checkpoint interval in ticks.
    every: Option<u64>,
    /// Resumed from a checkpoint at this time: what is older was sent before it.
    skip_before: Option<Timestamp>,
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
    pub newest: Option<Timestamp>,
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
            output: job.output.clone(),
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
            m.newest = m.newest.max(p.engine.max_seen());
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
    pub fn low(&self) -> Option<Timestamp> {
        let mut low: Option<Timestamp> = None;
        for p in self.parts.iter().filter(|p| !p.ended) {
            let w = p.engine.watermark()?;
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
                .is_some_and(|w| limit.is_some_and(|l| tick(w) > l));
            if ahead && !stopping {
                continue;
            }
            read = true;
            self.read_batch(pi, stopping, out, errors);
            let p = &mut self.parts[pi];
            let sent = out.len();
            export(
                self.set,
                &self.comps,
                self.workers,
                &self.output,
                self.skip_before,
                p,
                out,
            );
            self.metrics.matched += (out.len() - sent) as u64;
            self.announce(pi, out);
        }
        read
    }

    /// Reads one batch of partition `pi` into its engine (the end of input when
    /// `stopping`); an empty read past the idle timeout moves its time to the wall clock.
    fn read_batch(
        &mut self,
        pi: usize,
        stopping: bool,
        out: &mut Vec<Msg>,
        errors: &mut Vec<String>,
    ) {
        self.items.clear();
        let p = &mut self.parts[pi];
        let status = if stopping {
            Ok(Status::End)
        } else {
            p.input.read(BATCH, &mut self.items)
        };
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
            if p.record(place, item, self.every, out, errors) {
                self.metrics.heartbeats += 1;
            }
        }
        let end = match status {
            Ok(Status::More) => false,
            Ok(Status::End) => true,
            Err(e) => {
                errors.push(e.to_string());
                true
            }
        };
        if end {
            p.engine.finish(&mut NoSink);
            p.ended = true;
        }
    }

    /// What the workers learn of partition `pi` after a batch: its first in-order time
    /// (for `learning`), and when it ended, its newest time, counters and final resume place.
    fn announce(&mut self, pi: usize, out: &mut Vec<Msg>) {
        let p = &mut self.parts[pi];
        if !p.started {
            if let Some(s) = p.engine.stream_start() {
                p.started = true;
                out.extend((0..self.workers).map(|to| Msg::Start { to, ts: s }));
            }
        }
        if !p.ended {
            return;
        }
        if self.every.is_some() {
            // Every later boundary resumes after the end.
            let mut state = p.state(u64::MAX);
            state.ended = true;
            out.push(Msg::Resume {
                partition: p.id,
                from: p.next_boundary.unwrap_or(0),
                to: u64::MAX,
                state: Box::new(state),
            });
        }
        let max = p.engine.max_seen();
        out.extend((0..self.workers).map(|to| Msg::End { to, max }));
        let s = p.engine.stats();
        out.push(Msg::Counts(Box::new(Counts {
            events: s.events,
            invalid: s.invalid,
            late: s.late,
            no_timestamp: s.no_timestamp,
            blank: s.blank,
            skipped: p.skipped(),
            ..Counts::default()
        })));
    }
}

impl Part {
    /// One record of the partition: a heartbeat (returns true) or a record for the engine;
    /// invalid ones reported; checkpoint resume places recorded.
    fn record(
        &mut self,
        place: u64,
        item: Item,
        every: Option<u64>,
        out: &mut Vec<Msg>,
        errors: &mut Vec<String>,
    ) -> bool {
        let before = every.map(|_| self.state(place));
        if let Item::Line(bytes) = &item {
            if let Some(ts) = heartbeat_time(bytes) {
                self.engine.heartbeat(ts, &mut NoSink);
                return true;
            }
        }
        let fed = match item {
            Item::Line(bytes) => {
                feed_line(&mut self.engine, &mut self.adapter, &bytes, &mut NoSink)
            }
            Item::TooLong(n) => {
                let o = too_long(n);
                self.adapter.count(&o);
                feed_outcome(&mut self.engine, o, None, &mut NoSink)
            }
        };
        if let Err(m) = fed {
            if self.engine.stats().invalid <= crate::cluster::MAX_REPORTED_INVALID {
                errors.push(format!("{}:{place}: invalid event: {m}", self.input.name()));
            }
        }
        if let (Some(every), Some(state)) = (every, before) {
            self.boundaries(every, state, out);
        }
        false
    }

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
            max_seen: self.engine.max_seen(),
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
        let t = tick(ts);
        let from = self.next_boundary.unwrap_or(0);
        if pos <= before.position || t < from {
            return;
        }
        before.skipped = self.skipped();
        out.push(Msg::Resume {
            partition: self.id,
            from,
            to: t,
            state: Box::new(before),
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
        self.engine.resume_partition(s.position, s.max_seen, &stats);
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
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"heartbeat\""));
    KEY.find(line)?;
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
    format: &Format,
    skip_before: Option<Timestamp>,
    p: &mut Part,
    out: &mut Vec<Msg>,
) {
    let x = p.engine.take_exports();
    // After a restart, what is older than the checkpoint was written before it.
    let old = |t: Timestamp| skip_before.is_some_and(|s| t < s);
    for a in x.alerts.iter().filter(|a| !old(a.order.time())) {
        out.push(Msg::alert(format, a, Some(p.id)));
    }
    let mut scratch = RouteScratch::default();
    // Per destination worker, the components of this event it holds.
    let mut to: Vec<(u64, Vec<u32>)> = Vec::new();
    for r in x.records.into_iter().filter(|r| !old(r.ts)) {
        p.n += 1;
        to.clear();
        routes(
            set,
            comps,
            &r.row,
            &r.matched,
            &mut scratch,
            workers,
            &mut |comp, w| match to.iter_mut().find(|(x, _)| *x == w) {
                Some((_, v)) => v.push(comp),
                None => {
                    // Room for the few components an event feeds: no regrowth.
                    let mut v = Vec::with_capacity(4);
                    v.push(comp);
                    to.push((w, v));
                }
            },
        );
        // One message per worker; the texts are shared, not copied, within a process.
        let (last, mut matched) = (to.len(), r.matched);
        for (i, (w, comps)) in to.drain(..).enumerate() {
            // The last message takes the list, the others a copy.
            let matched = if i + 1 == last {
                std::mem::take(&mut matched)
            } else {
                matched.clone()
            };
            out.push(Msg::Event(EventMsg {
                route: w,
                comps,
                ts: r.ts,
                seq: global_seq(p.id, r.seq),
                n: p.n,
                matched,
                row: r.row.clone(),
                text: r.text.clone(),
            }));
        }
    }
}
