//! Evaluation throughput: pre-parsed events, and end to end (JSON line → alerts), with 10,
//! 100 and 1,000 rules. Rules are compiled outside the timed loop.

#[path = "gen/mod.rs"]
mod generator;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_sigma::{Alert, AlertSink, Engine, RuleSet};
use std::hint::black_box;

/// Counts alerts without keeping them.
struct Count(u64);

impl AlertSink for Count {
    fn alert(&mut self, alert: Alert) {
        self.0 += 1;
        black_box(alert);
    }
}

const EVENTS: u64 = 20_000;

fn eval(c: &mut Criterion) {
    let lines = generator::events(7, EVENTS);
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut group = c.benchmark_group("eval");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    for n in [10usize, 100, 1000] {
        let set = RuleSet::builder()
            .add_str("gen.yml", generator::rules(1, n))
            .build()
            .unwrap();
        group.bench_function(format!("preparsed_{n}_rules"), |b| {
            b.iter(|| {
                let mut engine = Engine::new(&set);
                let mut sink = Count(0);
                for e in &parsed {
                    let _ = engine.process(e, &mut sink);
                }
                black_box(sink.0)
            })
        });
        group.bench_function(format!("end_to_end_{n}_rules"), |b| {
            b.iter(|| {
                let mut engine = Engine::new(&set);
                let mut sink = Count(0);
                for l in &lines {
                    let _ = engine.process_line(l.as_bytes(), &mut sink);
                }
                black_box(sink.0)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, eval);
criterion_main!(benches);
