//! The work of one worker, apart from timely: reading its partitions (time, lateness and
//! detection, by an exporting engine per partition), correlating the groups routed to it,
//! and, on worker 0, writing the alerts in order. The dataflow in `mod.rs` only moves
//! [`Msg`]s between these under event-time capabilities.

use super::input::{Item, Partition, Status};
use super::msg::{Counts, EventMsg, Key, Msg, fnv, global_seq};
use crate::alert::{Alert, AlertSink};
use crate::compile::RuleSet;
use crate::correlate::group::group_order;
use crate::correlate::{Correlator, Emitted, Input, group_of};
use crate::eval::{Engine, ExportedAlert, Settings};
use crate::source::feed::feed_line;
use crate::source::{Adapter, Format};
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
}

/// The partitions one worker reads.
pub struct Sources {
    set: &'static RuleSet,
    comps: Components,
    workers: u64,
    render: Render,
    parts: Vec<Part>,
    items: Vec<(u64, Item)>,
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
}

/// Sinks nothing: an exporting engine writes no alert itself.
struct NoSink;
impl AlertSink for NoSink {
    fn alert(&mut self, _: Alert) {}
}

/// Records read per partition per activation.
const BATCH: usize = 1024;

impl Sources {
    /// The worker's partitions, opened.
    pub fn new(
        set: &'static RuleSet,
        settings: &Settings,
        format: Format,
        render: Render,
        workers: u64,
        inputs: Vec<(u32, Box<dyn Partition>)>,
    ) -> Sources {
        let parts = inputs
            .into_iter()
            .map(|(id, input)| Part {
                id,
                input,
                engine: Engine::exporting(set, settings.clone()),
                adapter: Adapter::new(format, None),
                n: 0,
                started: false,
                ended: false,
            })
            .collect();
        Sources {
            set,
            comps: Components::of(set),
            workers,
            render,
            parts,
            items: Vec::new(),
        }
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

    /// Reads a batch of every open partition; appends what goes out to `out`. Read
    /// errors end the partition and are returned as messages for stderr.
    pub fn step(&mut self, out: &mut Vec<Msg>, errors: &mut Vec<String>) {
        for pi in 0..self.parts.len() {
            if self.parts[pi].ended {
                continue;
            }
            self.items.clear();
            let status = {
                let p = &mut self.parts[pi];
                p.input.read(BATCH, &mut self.items)
            };
            let p = &mut self.parts[pi];
            for (place, item) in self.items.drain(..) {
                let fed = match item {
                    Item::Line(bytes) => {
                        feed_line(&mut p.engine, &mut p.adapter, &bytes, &mut NoSink)
                    }
                    Item::TooLong(n) => {
                        p.engine.record_invalid();
                        p.adapter.count_plain(false);
                        Err(format!("line of {n} bytes exceeds the limit; skipped"))
                    }
                };
                if let Err(m) = fed {
                    if p.engine.stats().invalid <= crate::cluster::MAX_REPORTED_INVALID {
                        errors.push(format!("{}:{place}: invalid event: {m}", p.input.name()));
                    }
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
            export(self.set, &self.comps, self.render, p, out);
            if !p.started {
                if let Some(s) = p.engine.stream_start() {
                    p.started = true;
                    out.extend((0..self.workers).map(|to| Msg::Start { to, ts: s.0 }));
                }
            }
            if p.ended {
                let max = p.engine.max_seen().map(|t| t.0);
                out.extend((0..self.workers).map(|to| Msg::End { to, max }));
                let s = p.engine.stats();
                out.push(Msg::Counts(Counts {
                    events: s.events,
                    invalid: s.invalid,
                    late: s.late,
                    no_timestamp: s.no_timestamp,
                    skipped: p
                        .adapter
                        .accounting()
                        .skipped
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect(),
                    ..Counts::default()
                }));
            }
        }
    }
}

/// What a partition's engine exported, as messages.
fn export(set: &RuleSet, comps: &Components, render: Render, p: &mut Part, out: &mut Vec<Msg>) {
    let x = p.engine.take_exports();
    for a in x.alerts {
        out.push(alert_msg(render, a, p.id));
    }
    let mut mine: Vec<u32> = Vec::new();
    for r in x.records {
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
        let event = r.event.to_string();
        for &comp in &mine {
            let route = if comps.alone[comp as usize] {
                let Some(key) = group_of(set, comp, &r.event, &r.matched) else {
                    continue;
                };
                fnv(&[&comp.to_le_bytes(), group_order(&key).as_bytes()])
            } else {
                fnv(&[&comp.to_le_bytes()])
            };
            out.push(Msg::Event(EventMsg {
                route,
                comp,
                ts: r.ts.0,
                seq: global_seq(p.id, r.seq),
                n: p.n,
                matched: r.matched.clone(),
                event: event.clone(),
                text: r.text.to_string(),
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
    /// Empty state.
    pub fn new(set: &'static RuleSet, settings: &Settings, render: Render) -> Correlating {
        Correlating {
            set,
            comps: Components::of(set),
            corr: Correlator::new(set, settings.limits),
            render,
            eof_flush: settings.eof_flush,
            start: None,
            max: None,
            emitted: Vec::new(),
        }
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
        batch.sort_by_key(|e| (e.ts, e.seq, e.n, e.comp));
        if let Some(s) = self.start {
            // `learning` counts from the first in-order event of the whole input.
            self.corr.observe(Timestamp(s));
        }
        for e in batch.iter() {
            self.fire_before(e.ts, false, deadlines);
            let event: serde_json::Value =
                serde_json::from_str(&e.event).unwrap_or(serde_json::Value::Null);
            let text: Arc<str> = Arc::from(e.text.as_str());
            let comps = &self.comps.comps;
            let comp = e.comp;
            self.corr.on_event_for(
                self.set,
                Input {
                    ts: Timestamp(e.ts),
                    seq: e.seq,
                    event: &event,
                    text: &text,
                },
                &e.matched,
                &|ci| comps[ci as usize] == comp,
                &mut self.emitted,
            );
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

/// Worker 0's output: alerts in order, as the frontier passes their time.
pub struct Output {
    held: Vec<(Key, String)>,
    counts: Counts,
    /// Alerts written.
    pub alerts: u64,
}

impl Default for Output {
    fn default() -> Self {
        Output::new()
    }
}

impl Output {
    /// Nothing held.
    pub fn new() -> Output {
        Output {
            held: Vec::new(),
            counts: Counts::default(),
            alerts: 0,
        }
    }

    /// Takes an alert or counters.
    pub fn take(&mut self, m: Msg) {
        match m {
            Msg::Alert { key, line } => self.held.push((key, line)),
            Msg::Counts(c) => {
                let t = &mut self.counts;
                t.events += c.events;
                t.invalid += c.invalid;
                t.late += c.late;
                t.no_timestamp += c.no_timestamp;
                t.evicted_groups += c.evicted_groups;
                t.evicted_entries += c.evicted_entries;
                t.skipped.extend(c.skipped);
                t.pending.extend(c.pending);
            }
            _ => {}
        }
    }

    /// Writes the held alerts with time before `before` (all with `None`), in order.
    pub fn release(&mut self, before: Option<i64>, write: &mut dyn FnMut(&str)) {
        self.held.sort_by(|a, b| a.0.cmp(&b.0));
        let n = match before {
            None => self.held.len(),
            Some(t) => self.held.partition_point(|(k, _)| k.0 < t),
        };
        for (_, line) in self.held.drain(..n) {
            self.alerts += 1;
            write(&line);
        }
    }

    /// The run's counters (after the last release).
    pub fn stats(&mut self) -> crate::eval::Stats {
        let c = &mut self.counts;
        c.pending
            .sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
        let mut skipped = std::collections::BTreeMap::new();
        for (k, v) in &c.skipped {
            *skipped.entry(k.clone()).or_insert(0) += v;
        }
        crate::eval::Stats {
            events: c.events,
            invalid: c.invalid,
            late: c.late,
            no_timestamp: c.no_timestamp,
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
