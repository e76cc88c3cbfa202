//! Worker 0's output: alerts in order as the frontier passes their time, through the
//! engine's own [`Held`] and [`AlertOrder`] (so `cluster` writes what `run` writes), and
//! the checkpoints.

use super::checkpoint::PartState;
use super::clock::{is_boundary, tick_start};
use super::msg::{Counts, Msg};
use crate::alert::AlertOrder;
use crate::engine::order::Held;
use crate::time::Timestamp;

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
            held: Held::default(),
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
        before: Option<Timestamp>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
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

    /// Writes the held alerts with time before `t` (all with `None`), in order, through
    /// the engine's own [`Held`].
    fn write_before(
        &mut self,
        t: Option<Timestamp>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
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
                    deadline: p.0,
                })
                .collect(),
            evicted_groups: c.evicted_groups,
            evicted_entries: c.evicted_entries,
            skipped,
        }
    }
}
