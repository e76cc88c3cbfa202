//! Detection throughput by stage, with 20, 200 and 2,000 generated rules over generated
//! session events (~190 bytes each):
//! - `parse/*`: reading events only: into a `serde_json::Value`, into a typed struct (the
//!   parsing limit), and by projection onto the rule set's fields (what the engine does);
//! - `eval/*`: the whole engine, JSON line → alerts (parse, index, predicates, alerts).
//!
//! Rules are compiled outside the timed loop. Correlation updates: `benches/window.rs`.

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

/// The session event as a typed struct: what parsing costs when nothing else is done.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Typed<'a> {
    timestamp: &'a str,
    action: &'a str,
    hostname: Option<&'a str>,
    #[serde(borrow)]
    user: Option<std::borrow::Cow<'a, str>>,
    logon_id: Option<&'a str>,
    src_ip: Option<&'a str>,
    src_port: Option<u64>,
    dest_port: Option<u64>,
    login_type: Option<&'a str>,
}

const EVENTS: u64 = 20_000;

fn rules(n: usize) -> RuleSet {
    RuleSet::builder()
        .add_str("gen.yml", generator::rules(1, n))
        .build()
        .expect("generated rules compile")
}

fn parse(c: &mut Criterion) {
    let lines = generator::events(7, EVENTS);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_str::<serde_json::Value>(l).ok());
            }
        })
    });
    group.bench_function("typed_struct", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_str::<Typed<'_>>(l).ok());
            }
        })
    });
    for n in [20usize, 200, 2000] {
        let set = rules(n);
        let mut projector = set.projector();
        group.bench_function(format!("projection_{n}_rules"), |b| {
            b.iter(|| {
                for l in &lines {
                    black_box(projector.load(l).ok());
                }
            })
        });
    }
    group.finish();
}

fn eval(c: &mut Criterion) {
    let lines = generator::events(7, EVENTS);
    let mut group = c.benchmark_group("eval");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    for n in [20usize, 200, 2000] {
        let set = rules(n);
        group.bench_function(format!("end_to_end_{n}_rules"), |b| {
            b.iter(|| {
                let mut engine = Engine::new(&set);
                let mut sink = Count(0);
                for l in &lines {
                    let _ = engine.process_line(l.as_bytes(), &mut sink);
                }
                engine.finish(&mut sink);
                black_box(sink.0)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, eval);
criterion_main!(benches);
