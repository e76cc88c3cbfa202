//! Bytes as an `.evtx` file through `source::evtx::read` (as `run` reads one), every record's
//! outcome through an engine of the bundled pack.
//!
//! `evtx::read` catches a panic of the third-party decoder on purpose (the file is reported
//! and the run goes on), but libFuzzer's panic hook aborts on every panic. The hook here lets
//! a panic unwind to that `catch_unwind` only when it comes from a registry crate (the
//! decoder and its dependencies); a panic in session-sigma's own code (the mapping, the
//! engine) still aborts: that is a finding.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use session_sigma::Alert;
use session_sigma::source::Outcome;
use std::sync::Once;

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info
                .location()
                .is_some_and(|l| l.file().contains("/.cargo/registry/"));
            if !third_party {
                fuzzer_hook(info); // prints and aborts
            }
        }));
    });
}

fuzz_target!(init: common::warm_up(), |data: &[u8]| {
    install_hook();
    let mut engine = common::engine();
    let mut alerts: Vec<Alert> = Vec::new();
    let mut records = 0u32;
    let _ = session_sigma::source::evtx::read(std::io::Cursor::new(data), &mut |_, outcome| {
        records += 1;
        if let Outcome::Event(r) = &outcome {
            assert!(r.event.is_object(), "an event is an object");
        }
        if let Some(record) = outcome.into_record() {
            let _ = engine.process_record(record, None, &mut alerts);
        }
        records < 5_000
    });
    engine.finish(&mut alerts);
    common::check_alerts(&alerts);
});
