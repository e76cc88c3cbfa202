//! `Engine::restore` of any text into a fresh engine of the bundled pack: never a panic.
//! After a successful restore, processing the sample events and `finish` must not panic,
//! and the restored state must survive another checkpoint: an engine restored from the
//! restored engine's own checkpoint gives the same alerts on the same events.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use session_sigma::{Alert, Engine};

fn run(engine: &mut Engine<'_>) -> Vec<String> {
    let mut alerts: Vec<Alert> = Vec::new();
    for line in common::SAMPLE_EVENTS.lines() {
        let _ = engine.process_line(line.as_bytes(), &mut alerts);
    }
    engine.finish(&mut alerts);
    common::check_alerts(&alerts);
    alerts.iter().map(Alert::to_json).collect()
}

fuzz_target!(init: common::warm_up(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut first = common::engine();
    if first.restore(text).is_err() {
        return;
    }
    let again = first.checkpoint();
    let mut second = common::engine();
    if let Err(e) = second.restore(&again) {
        panic!("a restored engine's checkpoint does not restore: {e}\n{again}");
    }
    let a = run(&mut first);
    let b = run(&mut second);
    assert_eq!(a, b, "the same state gives other alerts\n{again}");
});
