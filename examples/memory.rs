//! Memory per live correlation group: feeds N events of N distinct groups through an
//! engine and prints the resident-memory growth per group (Linux, /proc/self/statm).
//! `cargo run --release --example memory -- 1000000`

#[path = "../benches/gen/mod.rs"]
mod generator;

use session_sigma::{Alert, AlertSink, Engine, RuleSet};

struct Drop0;

impl AlertSink for Drop0 {
    fn alert(&mut self, _: Alert) {}
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Feeds `n` events of `action`, each of its own user, and prints the growth per group.
fn measure(set: &RuleSet, action: &str, n: u64) {
    let mut engine = Engine::new(set);
    let before = rss_bytes();
    for u in 0..n {
        let line = format!(
            r#"{{"timestamp":"2024-05-01T10:00:00Z","action":"{action}","user":"CORP\\u{u}","src_ip":"10.0.{}.{}"}}"#,
            u / 256 % 256,
            u % 256
        );
        let _ = engine.process_line(line.as_bytes(), &mut Drop0);
    }
    let after = rss_bytes();
    // The event each group holds for its alert (DESIGN.md 4.1) is part of the figure: a
    // shared text of the line's length plus its reference counts and the allocator's word.
    let line_len = format!(
        r#"{{"timestamp":"2024-05-01T10:00:00Z","action":"{action}","user":"CORP\\u{}","src_ip":"10.0.{}.{}"}}"#,
        n / 2,
        n / 2 / 256 % 256,
        n / 2 % 256
    )
    .len();
    let kind = if action == "failed" {
        "event_count"
    } else {
        "first_seen"
    };
    println!(
        "{kind}: {} live groups, {:.0} bytes per group (RSS +{} MiB; events of ~{line_len} B)",
        engine.live_groups(),
        (after.saturating_sub(before)) as f64 / n as f64,
        (after.saturating_sub(before)) >> 20
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let set = RuleSet::builder()
        .add_str("m.yml", generator::STATEFUL_RULES)
        .build()
        .expect("rules compile");
    if let Some(action) = args.next() {
        measure(&set, &action, n);
        return;
    }
    // Each kind in a fresh process: memory freed by one measurement would otherwise be
    // reused by the next and hide its growth.
    let me = std::env::current_exe().expect("own path");
    for action in ["failed", "rdp"] {
        let status = std::process::Command::new(&me)
            .arg(n.to_string())
            .arg(action)
            .status()
            .expect("child runs");
        assert!(status.success(), "measuring {action} failed");
    }
}
