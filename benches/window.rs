//! Correlation state: cost of one event's window update against the number of live groups
//! (10² … 10⁶), for a count window and a first_seen history.

#[path = "gen/mod.rs"]
mod generator;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use session_sigma::{Alert, AlertSink, Engine, RuleSet};
use std::hint::black_box;

struct Count(u64);

impl AlertSink for Count {
    fn alert(&mut self, alert: Alert) {
        self.0 += 1;
        black_box(alert);
    }
}

fn line(action: &str, user: u64, second: u64, ip: u64) -> String {
    format!(
        r#"{{"timestamp":"2024-05-01T{:02}:{:02}:{:02}Z","action":"{action}","user":"CORP\\u{user}","src_ip":"10.0.{}.{}"}}"#,
        second / 3600 % 24,
        second / 60 % 60,
        second % 60,
        ip / 256 % 256,
        ip % 256
    )
}

fn window(c: &mut Criterion) {
    let set = RuleSet::builder()
        .add_str("w.yml", generator::STATEFUL_RULES)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("window_update");
    group.sample_size(20);
    for live in [100u64, 10_000, 1_000_000] {
        for action in ["failed", "rdp"] {
            let mut engine = Engine::new(&set);
            let mut sink = Count(0);
            // Populate `live` groups within the first minutes (all inside the windows).
            for u in 0..live {
                engine
                    .process_line(line(action, u, 0, u).as_bytes(), &mut sink)
                    .unwrap();
            }
            // The timed events touch existing groups, in a scattered order, at a later time.
            let probes: Vec<String> = (0..1000u64)
                .map(|i| line(action, (i * 7919) % live, 60, i))
                .collect();
            group.throughput(Throughput::Elements(probes.len() as u64));
            let name = if action == "failed" {
                "event_count"
            } else {
                "first_seen"
            };
            group.bench_with_input(BenchmarkId::new(name, live), &probes, |b, probes| {
                b.iter(|| {
                    for p in probes {
                        let _ = engine.process_line(p.as_bytes(), &mut sink);
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, window);
criterion_main!(benches);
