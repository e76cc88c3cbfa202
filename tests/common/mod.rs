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
