//! Worker 0's output: alerts in order as the frontier passes their time, through the
//! engine's own [`Held`] and [`AlertOrder`] (so `cluster` writes what `run` writes), and
//! the checkpoints.

use super::checkpoint::PartState;
use super::clock::{is_boundary, tick_start};
use super::msg::{Counts, Msg};
use crate::alert::AlertOrder;
use crate::engine::order::Held;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Worker 0's output: alerts in order, as the frontier passes their time, and the
/// checkpoints.
pub struct Output {
    held: Held<String>,
    counts: Counts,
    /// Alerts written (or found already written after a restart).
    pub alerts: u64,
    /// Alerts the output already holds after a restart: counted, not written again.
    skip: u64,
    ckpt: Option<Checkpoints>,
}

/// A worker's checkpoint part: the boundary of the part it follows (`None`: whole), JSON.
type Part = (Option<u64>, Vec<u8>);

/// The parts of the checkpoints not yet written.
struct Checkpoints {
    cfg: super::checkpoint::Config,
    /// Names this run's worker parts apart from an earlier run's.
    run: String,
    /// Per partition: (first, last boundary, state).
    parts: Vec<Vec<(u64, u64, PartState)>>,
    /// Boundaries a worker sent a part for, not yet checkpointed.
    due: BTreeSet<u64>,
    /// Per worker, parts not written yet, by boundary: (the part it follows, JSON).
    pending: Vec<BTreeMap<u64, Part>>,
    /// Per worker, its chain of written parts: the boundary of the last, and their names
    /// (`None` until a whole part, or after a link went missing).
    chains: Vec<Option<(u64, Vec<String>)>>,
    /// Alerts are written up to this time.
    written_to: Option<Timestamp>,
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
            held: Held::default(),
            counts: Counts::default(),
            alerts,
            skip,
            ckpt: ckpt.map(|(cfg, partitions, workers)| Checkpoints {
                cfg,
                run: format!(
                    "r{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis())
                ),
                parts: vec![Vec::new(); partitions as usize],
                due: BTreeSet::new(),
                pending: vec![BTreeMap::new(); workers as usize],
                chains: vec![None; workers as usize],
                written_to: None,
            }),
        }
    }

    /// Takes an alert, counters or a checkpoint part.
    pub fn take(&mut self, m: Msg) {
        match m {
            Msg::Alert { key, line } => self.held.push(key, line),
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
                t.pending_total += c.pending_total;
            }
            Msg::Resume {
                partition,
                from,
                to,
                state,
            } => {
                if let Some(c) = &mut self.ckpt {
                    if let Some(v) = c.parts.get_mut(partition as usize) {
                        v.push((from, to, *state));
                    }
                }
            }
            Msg::Snapshot {
                tick,
                worker,
                since,
                json,
            } => {
                if let Some(c) = &mut self.ckpt {
                    if let Some(p) = c.pending.get_mut(worker as usize) {
                        p.insert(tick, (since, json));
                        c.due.insert(tick);
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
        before: Option<Timestamp>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let due: Vec<u64> = match (&self.ckpt, before) {
            (Some(c), Some(b)) => c
                .due
                .iter()
                .copied()
                .take_while(|k| tick_start(*k) <= b)
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

    /// Writes the held alerts with time before `t` (all with `None`), in order, through
    /// the engine's own [`Held`].
    fn write_before(
        &mut self,
        t: Option<Timestamp>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if let Some(c) = &mut self.ckpt {
            c.written_to = match (c.written_to, t) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => Some(t.unwrap_or(Timestamp(i64::MAX))),
            };
        }
        let (alerts, skip) = (&mut self.alerts, &mut self.skip);
        let mut result = Ok(());
        let mut write = |line: String| {
            *alerts += 1;
            if *skip > 0 {
                *skip -= 1;
                return;
            }
            if result.is_ok() {
                result = out
                    .write_all(line.as_bytes())
                    .and_then(|()| out.write_all(b"\n"));
            }
        };
        match t {
            Some(t) => self
                .held
                .release_before(&AlertOrder::first_at(t), &mut write),
            None => self.held.release_all(&mut write),
        }
        result
    }

    /// Writes checkpoint `k` if every part is in (and the parts before it of each
    /// worker's chain), then drops what it no longer needs.
    fn checkpoint(&mut self, k: u64) -> std::io::Result<()> {
        let Some(c) = &mut self.ckpt else {
            return Ok(());
        };
        c.due.remove(&k);
        // Alerts after the boundary already written: too late for this one.
        let in_time = c.written_to.is_none_or(|t| t <= tick_start(k));
        if !in_time || !c.pending.iter().all(|p| p.contains_key(&k)) {
            return Ok(());
        }
        for (w, pending) in c.pending.iter_mut().enumerate() {
            let later = pending.split_off(&(k + 1));
            for (tick, (since, json)) in std::mem::replace(pending, later) {
                let name = super::checkpoint::write_part(&c.cfg, &c.run, w, tick, &json)?;
                let chain = &mut c.chains[w];
                match (since, chain.as_mut()) {
                    (None, _) => *chain = Some((tick, vec![name])),
                    (Some(s), Some((last, names))) if s == *last => {
                        *last = tick;
                        names.push(name);
                    }
                    (Some(s), _) => {
                        eprintln!(
                            "warning: checkpoint: worker {w}'s changes since boundary {s} follow no part written; checkpoints resume with its next whole state"
                        );
                        *chain = None;
                    }
                }
            }
        }
        let workers: Option<Vec<Vec<String>>> = c
            .chains
            .iter()
            .map(|ch| {
                ch.as_ref()
                    .filter(|(last, _)| *last == k)
                    .map(|x| x.1.clone())
            })
            .collect();
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
        Ok(())
    }

    /// The run's counters (after the last release).
    pub fn stats(&mut self) -> crate::engine::Stats {
        let c = &mut self.counts;
        c.pending
            .sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
        c.pending.truncate(crate::engine::MAX_PENDING_LISTED);
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
                    deadline: p.0,
                })
                .collect(),
            pending_total: c.pending_total,
            evicted_groups: c.evicted_groups,
            // Rules left out by --skip-invalid-rules are reported on stderr at start.
            rules_skipped: 0,
            evicted_entries: c.evicted_entries,
            skipped,
        }
    }
}
