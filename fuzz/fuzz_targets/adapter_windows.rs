//! Windows records as JSON (evtx_dump, Winlogbeat 6 / 7+, NXLog / HELK, Sentinel, flattened)
//! through `Adapter::json` (the input parsed as one JSON value) and `Adapter::line` (each
//! line of the input), with `Format::Windows` and `Format::Auto`. Nothing panics, events and
//! flattened records are objects, every line is counted once; then the lines through
//! `feed_line` (the path `run` takes) into an engine of the bundled pack (which has
//! `product: windows` rules).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use session_sigma::Alert;
use session_sigma::engine::feed;
use session_sigma::source::{Adapter, Format, Outcome};
use session_sigma::time::Timestamp;

const NOW: Timestamp = Timestamp(1_717_200_000_000_000_000);

fn check(outcome: &Outcome) {
    match outcome {
        Outcome::Event(r) => assert!(r.event.is_object(), "an event is an object"),
        Outcome::Skipped {
            windows: Some(w), ..
        } => assert!(w.is_object(), "a flattened record is an object"),
        _ => {}
    }
}

fuzz_target!(init: common::warm_up(), |data: &[u8]| {
    let mut alerts: Vec<Alert> = Vec::new();
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').take(100).collect();
    for format in [Format::Windows, Format::Auto] {
        let mut engine = common::engine();
        let mut adapter = Adapter::with_now(format, None, NOW);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            let outcome = adapter.json(value);
            check(&outcome);
            let _ = feed::feed_outcome(&mut engine, outcome, None, &mut alerts);
        }
        let mut adapter = Adapter::with_now(format, None, NOW);
        let mut blank = 0;
        for line in &lines {
            let outcome = adapter.line(line);
            check(&outcome);
            blank += u64::from(outcome == Outcome::Blank);
        }
        let a = adapter.accounting();
        assert_eq!(
            a.records + blank,
            lines.len() as u64,
            "every line counted once"
        );
        assert_eq!(a.records, a.events + a.invalid + a.skipped_total());
        let mut adapter = Adapter::with_now(format, None, NOW);
        for line in &lines {
            let _ = feed::feed_line(&mut engine, &mut adapter, line, &mut alerts);
        }
        engine.finish(&mut alerts);
    }
    common::check_alerts(&alerts);
});
