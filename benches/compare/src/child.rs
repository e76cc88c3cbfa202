//! `compare run-one`: one engine, one rule file, one event file, in a process of its own
//! (so that its peak RSS is its own). Prints one JSON object ([`RunResult`]) on stdout.

use crate::args::Args;
use crate::engines::{self, Counts, Kind};
use crate::rules::RuleFile;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::time::Instant;

/// What a child reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub engine: String,
    pub rules: usize,
    /// Events in the file.
    pub events_available: usize,
    /// Events each run processed (fewer than available when the time budget capped it).
    pub events: usize,
    pub capped: bool,
    pub compile_secs: f64,
    /// Seconds of each timed run.
    pub run_secs: Vec<f64>,
    pub matches: u64,
    pub invalid: u64,
    /// Where the (rule, event) pairs were written, if asked.
    pub matches_file: Option<String>,
    /// Peak resident set of this process (`VmHWM`), KiB; `None` where /proc is missing.
    pub peak_rss_kib: Option<u64>,
}

impl RunResult {
    pub fn best_secs(&self) -> Option<f64> {
        self.run_secs.iter().copied().reduce(f64::min)
    }

    pub fn events_per_sec(&self) -> Option<f64> {
        self.best_secs()
            .filter(|s| *s > 0.0)
            .map(|s| self.events as f64 / s)
    }
}

pub fn run(args: &Args) -> Result<(), String> {
    args.allow(&[
        "engine",
        "events-file",
        "rules-file",
        "runs",
        "budget",
        "matches-out",
    ])?;
    let kind = Kind::parse(args.required("engine")?)?;
    let events_path = args.required("events-file")?;
    let rules_path = args.required("rules-file")?;
    let runs: usize = args.value("runs", 3)?;
    let budget: f64 = args.value("budget", 15.0)?;
    let events_text = std::fs::read_to_string(events_path)
        .map_err(|e| format!("cannot read events file {events_path}: {e}"))?;
    let rules_text = std::fs::read_to_string(rules_path)
        .map_err(|e| format!("cannot read rules file {rules_path}: {e}"))?;
    let lines: Vec<&str> = events_text.lines().filter(|l| !l.is_empty()).collect();
    let rules = RuleFile::new(rules_text)?;
    let mut result = RunResult {
        engine: kind.name().to_string(),
        rules: rules.len(),
        events_available: lines.len(),
        events: lines.len(),
        capped: false,
        compile_secs: 0.0,
        run_secs: Vec::new(),
        matches: 0,
        invalid: 0,
        matches_file: None,
        peak_rss_kib: None,
    };
    if kind != Kind::None {
        let start = Instant::now();
        let mut engine = engines::compile(kind, &rules)?;
        result.compile_secs = start.elapsed().as_secs_f64();

        // A probe on the first events (also a warm-up): if a full run would take longer
        // than the budget, every run (and the match check) uses a prefix of the events.
        let probe_n = lines.len().min(1000);
        let start = Instant::now();
        engine.count(&lines[..probe_n]);
        let probe = start.elapsed().as_secs_f64();
        if probe_n > 0 && probe * (lines.len() as f64 / probe_n as f64) > budget {
            let fit = (budget / probe.max(1e-9) * probe_n as f64) as usize;
            result.events = (fit / 1000 * 1000).clamp(probe_n, lines.len());
            result.capped = result.events < lines.len();
        }
        let lines = &lines[..result.events];

        let mut counts = Counts::default();
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            counts = engine.count(lines);
            result.run_secs.push(start.elapsed().as_secs_f64());
        }
        result.matches = counts.matches;
        result.invalid = counts.invalid;
        // The peak of compiling and matching, before the checking pass keeps every match.
        result.peak_rss_kib = peak_rss_kib();

        if let Some(path) = args.string("matches-out") {
            let mut pairs = Vec::with_capacity(counts.matches as usize);
            let checked = engine.record(lines, &mut pairs);
            if checked != counts {
                return Err(format!(
                    "{}: the checking pass found {checked:?}, the timed runs {counts:?}",
                    kind.name()
                ));
            }
            pairs.sort_unstable();
            write_pairs(path, &pairs)?;
            result.matches_file = Some(path.to_string());
        }
    }
    if result.peak_rss_kib.is_none() {
        result.peak_rss_kib = peak_rss_kib();
    }
    let json = serde_json::to_string(&result).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}").map_err(|e| format!("cannot write the result: {e}"))
}

/// One `rule<TAB>event` pair per line.
fn write_pairs(path: &str, pairs: &[(u32, u32)]) -> Result<(), String> {
    let mut text = String::with_capacity(pairs.len() * 12);
    for (rule, event) in pairs {
        text.push_str(&format!("{rule}\t{event}\n"));
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))
}

pub fn read_pairs(path: &str) -> Result<Vec<(u32, u32)>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read matches {path}: {e}"))?;
    text.lines()
        .map(|l| {
            let (r, e) = l
                .split_once('\t')
                .ok_or_else(|| format!("{path}: bad line `{l}`"))?;
            let parse = |s: &str| {
                s.parse::<u32>()
                    .map_err(|_| format!("{path}: bad number in `{l}`"))
            };
            Ok((parse(r)?, parse(e)?))
        })
        .collect()
}

/// The peak resident set size of this process since it was exec'd: `VmHWM` in
/// /proc/self/status (KiB).
///
/// Not `ru_maxrss`: Linux carries the resident size of the address space a process had
/// before `exec` into its `ru_maxrss` (and so into the parent's `wait4` / RUSAGE_CHILDREN
/// figure). A child spawned by this program starts from a copy of (or, with vfork, from)
/// the parent's address space, which holds the generated inputs, so every child would
/// report at least the parent's size. `VmHWM` belongs to the address space made by `exec`.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
