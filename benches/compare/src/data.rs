//! `compare prepare`: writes the inputs every child reads (event lines and rule files) to
//! the work folder, so that all engines get the very same bytes.

use crate::args::Args;
use crate::generator;
use crate::replay;
use crate::rules;
use std::path::{Path, PathBuf};

/// The real-data rule pack (hand-written, see the file's header).
pub const REAL_PACK: &str = include_str!("real_pack.yml");

/// The session pack for the generated events (hand-written, issue 14's shapes).
pub const SESSION_PACK: &str = include_str!("session_pack.yml");

/// Generated watch rules run on the generated events (issue 14).
pub const WATCH_RULES: usize = 500;

/// One set of events to run.
pub struct Dataset {
    /// `generated` or `real`.
    pub name: &'static str,
    pub events_file: PathBuf,
    pub events: usize,
    /// Rule files for this dataset: (label, rule count, path).
    pub rule_files: Vec<(String, usize, PathBuf)>,
}

/// Options shared by `prepare` and `all`.
pub struct Plan {
    pub work: PathBuf,
    pub seed: u64,
    pub events: usize,
    pub real_events: usize,
    pub rule_counts: Vec<usize>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Plan, String> {
        let work = match args.string("work") {
            Some(w) => PathBuf::from(w),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compare-data"),
        };
        let events: usize = args.value("events", 100_000)?;
        Ok(Plan {
            work,
            seed: args.value("seed", 7)?,
            events,
            real_events: args.value("real-events", events)?,
            rule_counts: args.list("rules", &[20, 200, 2000])?,
        })
    }
}

/// Writes the generated events, the rule files and (when the data folder exists) the
/// replayed real events. Returns them and notes saying what was written (and left out).
pub fn prepare(plan: &Plan) -> Result<(Vec<Dataset>, Vec<String>), String> {
    let mut notes = Vec::new();
    std::fs::create_dir_all(&plan.work)
        .map_err(|e| format!("cannot create {}: {e}", plan.work.display()))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, String> {
        let path = plan.work.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    };

    let mut generated_rules = Vec::new();
    for &n in &plan.rule_counts {
        let text = rules::comparable(plan.seed, n);
        let path = write(&format!("rules-{n}.yml"), &text)?;
        generated_rules.push((format!("{n}"), n, path));
    }
    notes.push(format!(
        "rules: the project's generator (benches/gen, seed {}), shapes all engines support: {}",
        plan.seed,
        rules::KEPT_SHAPES
    ));
    for (shape, why) in rules::EXCLUDED_SHAPES {
        notes.push(format!("  left out: generator shape {shape}, {why}"));
    }

    let mut text = String::with_capacity(plan.events * 220);
    for line in generator::events(plan.seed, plan.events as u64) {
        text.push_str(&line);
        text.push('\n');
    }
    let session_count = rules::RuleFile::new(SESSION_PACK.to_string())?.len();
    let mut generated_files = vec![
        (
            "session".to_string(),
            session_count,
            write("rules-session-pack.yml", SESSION_PACK)?,
        ),
        (
            format!("watch-{WATCH_RULES}"),
            WATCH_RULES,
            write(
                &format!("rules-watch-{WATCH_RULES}.yml"),
                &rules::watch(plan.seed, WATCH_RULES),
            )?,
        ),
    ];
    notes.push(format!(
        "  generated events also run with a hand-written session pack of {session_count} rules (src/session_pack.yml) and {WATCH_RULES} generated watch rules (rules::watch)"
    ));
    generated_files.extend(generated_rules.iter().cloned());
    let mut datasets = vec![Dataset {
        name: "generated",
        events_file: write("generated-events.jsonl", &text)?,
        events: plan.events,
        rule_files: generated_files,
    }];
    notes.push(format!(
        "generated events: {} (benches/gen `events`, seed {}), {:.1} MiB",
        plan.events,
        plan.seed,
        text.len() as f64 / 1048576.0
    ));

    let dir = replay::data_dir();
    let dir = dir.canonicalize().unwrap_or(dir);
    match replay::read(&dir)? {
        None => notes.push(format!(
            "real records: skipped, no {}/windows-json (set SESSION_SIGMA_DATA to the shared data folder)",
            dir.display()
        )),
        Some(replay) if replay.events() == 0 => notes.push(format!(
            "real records: skipped, the files under {}/windows-json gave no session event",
            dir.display()
        )),
        Some(replay) => {
            let lines = replay.lines(plan.real_events);
            let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
            for line in &lines {
                text.push_str(line);
                text.push('\n');
            }
            let pack_count = rules::RuleFile::new(REAL_PACK.to_string())?.len();
            notes.push(format!(
                "real events: {} session events from {} files under {}/windows-json ({} records, {} skipped, {} invalid), `raw` dropped, placed on one timeline from 2024-05-01 and repeated to {} ({:.1} MiB)",
                replay.events(),
                replay.files.len(),
                dir.display(),
                replay.records,
                replay.skipped,
                replay.invalid,
                lines.len(),
                text.len() as f64 / 1048576.0
            ));
            notes.push(format!(
                "  real events run with the generated rule sets and with a hand-written pack of {pack_count} rules (src/real_pack.yml)"
            ));
            let mut rule_files = vec![(
                "pack".to_string(),
                pack_count,
                write("rules-real-pack.yml", REAL_PACK)?,
            )];
            rule_files.extend(generated_rules);
            datasets.push(Dataset {
                name: "real",
                events_file: write("real-events.jsonl", &text)?,
                events: lines.len(),
                rule_files,
            });
        }
    }
    Ok((datasets, notes))
}
