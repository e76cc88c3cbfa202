//! Helpers shared by the integration tests.

#![allow(dead_code)]

use session_sigma::{Alert, Engine, Options, RuleSet};
use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds a rule set from one rule text, panicking with the diagnostics on failure.
pub fn rules(text: &str) -> RuleSet {
    RuleSet::builder()
        .add_str("test.yml", text)
        .build()
        .unwrap_or_else(|d| panic!("rule does not compile:\n{d}"))
}

/// Builds a rule set with options.
pub fn rules_with(text: &str, options: Options) -> Result<RuleSet, session_sigma::Diagnostics> {
    RuleSet::builder()
        .options(options)
        .add_str("test.yml", text)
        .build()
}

/// Runs JSON lines through a fresh engine; returns the alerts.
pub fn run_lines(set: &RuleSet, lines: &[&str]) -> Vec<Alert> {
    let mut engine = Engine::new(set);
    let mut alerts = Vec::new();
    for l in lines {
        let _ = engine.process_line(l.as_bytes(), &mut alerts);
    }
    engine.finish(&mut alerts);
    alerts
}

/// The path of the built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_session-sigma"))
}

/// The shared real-log folder (`SESSION_SIGMA_DATA`, default `../shared/data`). When it is
/// absent the calling test is skipped with a message, except under `CI=true`, where its
/// absence is a failure.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("SESSION_SIGMA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the shared data folder {} is missing (CI=true); set SESSION_SIGMA_DATA",
        dir.display()
    );
    eprintln!(
        "skipped: the shared data folder {} is not here (set SESSION_SIGMA_DATA)",
        dir.display()
    );
    None
}

/// The binary run from the repository root with `args` (no `NO_COLOR` inherited).
pub fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("binary runs")
}

/// A command's stdout as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Compares `actual` with `tests/golden/NAME`, or rewrites it under `UPDATE_GOLDEN=1`
/// (review the diff).
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, want, "output differs from {}", path.display());
}

/// xorshift64*, so that generated cases are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// Builds generated rules with the rule index and optimisation both on or both off.
pub fn generated(text: &str, optimize: bool) -> RuleSet {
    RuleSet::builder()
        .options(Options {
            use_index: optimize,
            optimize,
            placeholders: None,
            extra_fields: Vec::new(),
        })
        .add_str("generated.yml", text)
        .build()
        .unwrap_or_else(|d| panic!("the generated rules compile:\n{d}"))
}

/// The (rule name, event `i`) pairs the alerts of `lines` give: events carry their index
/// as `i`.
pub fn matched_pairs(set: &RuleSet, lines: &[&str]) -> std::collections::BTreeSet<(String, u64)> {
    run_lines(set, lines)
        .iter()
        .map(|a| {
            let event: serde_json::Value =
                serde_json::from_str(&a.events[0]).expect("alert events are JSON");
            (
                a.rule.name.clone().unwrap_or_default(),
                event["i"].as_u64().expect("every event has its index"),
            )
        })
        .collect()
}
