//! Rule compilation: parse + lower + compile the bundled pack and generated sets.

#[path = "gen/mod.rs"]
mod generator;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_sigma::RuleSet;
use std::hint::black_box;

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    group.bench_function("bundled_pack", |b| {
        b.iter(|| {
            black_box(
                RuleSet::builder()
                    .add_path(&pack)
                    .build()
                    .map(|s| s.len())
                    .ok(),
            )
        })
    });
    for n in [10usize, 100, 1000] {
        let text = generator::rules(1, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("generated_{n}_rules"), |b| {
            b.iter(|| {
                black_box(
                    RuleSet::builder()
                        .add_str("gen.yml", text.as_str())
                        .build()
                        .map(|s| s.len())
                        .ok(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
