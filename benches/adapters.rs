//! Adapter throughput (records/second) on the real logs of `../shared/data`: each JSON
//! shape, EVTX decoding, syslog lines; and one end-to-end run (adapter + bundled-style
//! rules). Skipped with a message when the data folder is absent (SESSION_SIGMA_DATA).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use session_sigma::source::{self, Adapter, Format, Outcome};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn data() -> Option<PathBuf> {
    let dir = std::env::var_os("SESSION_SIGMA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("adapters bench skipped: {} not found", dir.display());
        None
    }
}

/// Every non-blank line of every `.jsonl` file of a folder.
fn lines(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if let Ok(bytes) = std::fs::read(&f) {
            out.extend(
                bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
                    .map(<[u8]>::to_vec),
            );
        }
    }
    out
}

fn count(outcome: &Outcome) -> u64 {
    u64::from(matches!(outcome, Outcome::Event(_)))
}

fn adapters(c: &mut Criterion) {
    let Some(data) = data() else { return };
    let mut group = c.benchmark_group("adapter");
    group.sample_size(10);
    for shape in [
        "evtx_dump",
        "otrf-nxlog",
        "otrf-winlogbeat6",
        "otrf-sentinel",
        "splunk-nxlog",
    ] {
        let records = lines(&data.join("windows-json").join(shape));
        group.throughput(Throughput::Elements(records.len() as u64));
        group.bench_function(shape, |b| {
            b.iter(|| {
                let mut adapter = Adapter::new(Format::Auto, None);
                let mut n = 0;
                for r in &records {
                    n += count(&adapter.line(r));
                }
                black_box(n)
            })
        });
    }
    let evtx = std::fs::read(data.join("evtx/evtx-crate__security.evtx")).unwrap_or_default();
    group.throughput(Throughput::Elements(2261));
    group.bench_function("evtx_file", |b| {
        b.iter(|| {
            let mut n = 0;
            let _ = source::evtx::read(std::io::Cursor::new(evtx.as_slice()), &mut |_, o| {
                n += count(&o);
                true
            });
            black_box(n)
        })
    });
    let syslog =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/linux/auth.log"))
            .unwrap_or_default();
    let syslog: Vec<&[u8]> = syslog.split(|b| *b == b'\n').collect();
    group.throughput(Throughput::Elements(syslog.len() as u64));
    group.bench_function("syslog", |b| {
        b.iter(|| {
            let mut adapter = Adapter::new(Format::Syslog, Some(2024));
            let mut n = 0;
            for l in &syslog {
                n += count(&adapter.line(l));
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, adapters);
criterion_main!(benches);
