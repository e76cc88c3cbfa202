//! syslog / auth.log / journal lines through `Adapter::line` with `Format::Syslog` (year
//! 2024) and `Format::Auto`: the input's lines in order (the adapter keeps state across
//! lines: the year turn, logind sessions). Nothing panics, every line is counted once,
//! events are objects; then the same lines through `feed_line` (the path `run` takes) into
//! an engine of the bundled pack.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use session_sigma::Alert;
use session_sigma::engine::feed;
use session_sigma::source::{Adapter, Format, Outcome};
use session_sigma::time::Timestamp;

/// "Now" for year-less lines without `--year`: fixed, so that runs reproduce.
const NOW: Timestamp = Timestamp(1_717_200_000_000_000_000); // 2024-06-01T00:00:00Z

fuzz_target!(init: common::warm_up(), |data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').take(200).collect();
    let mut alerts: Vec<Alert> = Vec::new();
    for format in [Format::Syslog, Format::Auto] {
        let year = (format == Format::Syslog).then_some(2024);
        let mut adapter = Adapter::with_now(format, year, NOW);
        let mut blank = 0;
        for line in &lines {
            match adapter.line(line) {
                Outcome::Blank => blank += 1,
                Outcome::Event(r) => assert!(r.event.is_object(), "an event is an object"),
                _ => {}
            }
        }
        let a = adapter.accounting();
        assert_eq!(
            a.records + blank,
            lines.len() as u64,
            "every line counted once"
        );
        assert_eq!(a.records, a.events + a.invalid + a.skipped_total());

        let mut adapter = Adapter::with_now(format, year, NOW);
        let mut engine = common::engine();
        for line in &lines {
            let _ = feed::feed_line(&mut engine, &mut adapter, line, &mut alerts);
        }
        engine.finish(&mut alerts);
        let a = adapter.accounting();
        assert_eq!(a.records, a.events + a.invalid + a.skipped_total());
    }
    common::check_alerts(&alerts);
});
