//! What `run` tells at its end (on a terminal, or with `--stats`): events per input, skipped
//! records by reason, invalid, late, and alerts per rule and level, noisiest first; and the
//! progress bar while file inputs are read (`indicatif`, on a terminal only).

use crate::alert::Alert;
use crate::engine::Stats;
use crate::rule::RuleMeta;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts kept while a run goes.
#[derive(Default)]
pub struct RunCounts {
    /// Per input, in the order first read: records and events.
    inputs: Vec<(Arc<str>, u64, u64)>,
    /// Where each input is in `inputs` (a folder's files interleave in a merged run).
    index: HashMap<Arc<str>, usize>,
    /// Per rule (by identity): the rule and its alerts.
    rules: HashMap<usize, (Arc<RuleMeta>, u64)>,
}

impl RunCounts {
    /// One record of `input`, which made `events` events (0 or 1).
    pub fn record(&mut self, input: &Arc<str>, events: u64) {
        let i = match self.inputs.last() {
            Some((name, ..)) if Arc::ptr_eq(name, input) => self.inputs.len() - 1,
            _ => *self.index.entry(input.clone()).or_insert_with(|| {
                self.inputs.push((input.clone(), 0, 0));
                self.inputs.len() - 1
            }),
        };
        let (_, r, e) = &mut self.inputs[i];
        *r += 1;
        *e += events;
    }

    /// One alert written.
    pub fn alert(&mut self, a: &Alert) {
        let key = Arc::as_ptr(&a.rule) as usize;
        self.rules
            .entry(key)
            .or_insert_with(|| (a.rule.clone(), 0))
            .1 += 1;
    }

    /// The end-of-run table.
    pub fn render(&self, stats: &Stats, elapsed: Duration) -> String {
        let mut out = String::new();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            format!(
                " ({} events/s)",
                thousands((stats.events as f64 / secs) as u64)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} events from {} input(s) in {secs:.2} s{rate}",
            thousands(stats.events),
            self.inputs.len()
        );
        if self.inputs.len() > 1 {
            let w = self
                .inputs
                .iter()
                .map(|(n, ..)| n.chars().count())
                .max()
                .unwrap_or(0)
                .min(70);
            let _ = writeln!(
                out,
                "  {:<w$}  {:>10}  {:>10}",
                "input", "records", "events"
            );
            for (n, r, e) in &self.inputs {
                let _ = writeln!(
                    out,
                    "  {:<w$}  {:>10}  {:>10}",
                    cut(n, w),
                    thousands(*r),
                    thousands(*e)
                );
            }
        }
        let skipped: u64 = stats.skipped.values().sum();
        let mut reasons: Vec<(&String, &u64)> = stats.skipped.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(out, "  skipped  {:>10}", thousands(skipped));
        for (why, n) in reasons.iter().take(10) {
            let _ = writeln!(out, "    {:>10}  {why}", thousands(**n));
        }
        if reasons.len() > 10 {
            let rest: u64 = reasons[10..].iter().map(|(_, n)| **n).sum();
            let _ = writeln!(
                out,
                "    {:>10}  ({} other reasons)",
                thousands(rest),
                reasons.len() - 10
            );
        }
        let _ = writeln!(out, "  invalid  {:>10}", thousands(stats.invalid));
        let _ = writeln!(out, "  late     {:>10}", thousands(stats.late));
        let mut rules: Vec<&(Arc<RuleMeta>, u64)> = self.rules.values().collect();
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.handle().cmp(b.0.handle())));
        let total: u64 = rules.iter().map(|r| r.1).sum();
        let mut levels: Vec<(String, u64)> = Vec::new();
        for (r, n) in &rules {
            let l = r.level.clone().unwrap_or_else(|| "-".into());
            match levels.iter_mut().find(|(k, _)| *k == l) {
                Some((_, c)) => *c += n,
                None => levels.push((l, *n)),
            }
        }
        levels.sort_by_key(|(l, _)| level_rank(l));
        let by_level: Vec<String> = levels
            .iter()
            .map(|(l, n)| format!("{l} {}", thousands(*n)))
            .collect();
        let _ = writeln!(
            out,
            "{} alert(s){}",
            thousands(total),
            if by_level.is_empty() {
                String::new()
            } else {
                format!(": {}", by_level.join(", "))
            }
        );
        if !rules.is_empty() {
            let w = rules
                .iter()
                .map(|(r, _)| r.handle().chars().count())
                .max()
                .unwrap_or(0)
                .min(50);
            let _ = writeln!(out, "  {:<w$}  {:<13}  {:>10}", "rule", "level", "alerts");
            for (r, n) in rules {
                let share = (*n * 100).checked_div(total).unwrap_or(0);
                let _ = writeln!(
                    out,
                    "  {:<w$}  {:<13}  {:>10}  {share:>3}%",
                    cut(r.handle(), w),
                    r.level.as_deref().unwrap_or("-"),
                    thousands(*n)
                );
            }
        }
        out
    }
}

fn level_rank(l: &str) -> u8 {
    match l {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "informational" => 4,
        _ => 5,
    }
}

fn cut(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(w.saturating_sub(1))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A progress bar on stderr over the bytes of the file inputs (hidden when stderr is not a
/// terminal, and with `--quiet`).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    events: u64,
    started: Instant,
}

impl Progress {
    /// A bar for `total` bytes, shown when `show`.
    pub fn new(total: u64, show: bool) -> Progress {
        let bar = show.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            events: 0,
            started: Instant::now(),
        }
    }

    /// `bytes` more read, `events` more events.
    pub fn advance(&mut self, bytes: u64, events: u64) {
        let Some(bar) = &self.bar else { return };
        self.events += events;
        bar.inc(bytes);
        if self.events % 4096 == 0 && events > 0 {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{} events/s",
                thousands((self.events as f64 / secs) as u64)
            ));
        }
    }

    /// Counts `bytes` read ahead of processing (the sorting pass of several files).
    pub fn reader(&self) -> impl FnMut(u64) + use<> {
        let bar = self.bar.clone();
        move |bytes| {
            if let Some(b) = &bar {
                b.inc(bytes);
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
