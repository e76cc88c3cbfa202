//! Shared by the fuzz targets (each includes it with `mod common;`).

#![allow(dead_code)]

use session_sigma::{Alert, Engine, RuleSet, Settings};
use std::sync::LazyLock;

/// The bundled rule pack (`rules/`), compiled once per fuzzing process.
pub static BUNDLED: LazyLock<RuleSet> = LazyLock::new(|| {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules");
    RuleSet::builder()
        .add_path(std::path::Path::new(dir))
        .build()
        .unwrap_or_else(|d| panic!("the bundled rules compile: {d}"))
});

/// Compiles the rule pack before the first input: libFuzzer's `-timeout` counts the first
/// input's time, and compiling the pack in an instrumented build can take longer than that.
pub fn warm_up() {
    LazyLock::force(&BUNDLED);
}

/// The sample session events (`examples/events.jsonl`), for engines that need traffic.
pub const SAMPLE_EVENTS: &str = include_str!("../../examples/events.jsonl");

/// The settings of the engines the targets drive: reordering and end-of-input flushing on,
/// so that the reorder buffer and the absence deadlines are exercised too.
pub fn settings() -> Settings {
    Settings {
        max_lateness: 5 * 60 * 1_000_000_000,
        eof_flush: true,
        ..Settings::default()
    }
}

/// A fresh engine of the bundled pack.
pub fn engine() -> Engine<'static> {
    Engine::with_settings(&BUNDLED, settings())
}

/// Every alert must serialise (it is what `run` writes).
pub fn check_alerts(alerts: &[Alert]) {
    for a in alerts {
        let _ = a.to_json();
        let _ = a.to_text();
    }
}
