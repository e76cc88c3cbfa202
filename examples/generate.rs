//! Writes seeded benchmark inputs:
//! `cargo run --release --example generate -- events 200000 > events.jsonl`
//! `cargo run --release --example generate -- rules 1000 > rules.yml`
//! `cargo run --release --example generate -- groups 10000000 1000000 > many-groups.jsonl`

#[path = "../benches/gen/mod.rs"]
mod generator;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.first().map(String::as_str) {
        Some("events") => {
            let mut rng = generator::Rng::new(seed);
            for i in 0..n {
                let _ = writeln!(out, "{}", generator::event(&mut rng, i, 1_714_521_600));
            }
        }
        Some("groups") => {
            // `groups N USERS`: N events over USERS distinct users (and as many hosts / 10),
            // 100 events per second of event time.
            let users: u64 = args
                .get(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000);
            let mut rng = generator::Rng::new(7);
            for i in 0..n {
                let _ = writeln!(
                    out,
                    "{}",
                    generator::event_among(
                        &mut rng,
                        i,
                        1_714_521_600,
                        users,
                        (users / 10).max(1),
                        100
                    )
                );
            }
        }
        Some("rules") => {
            let _ = out.write_all(generator::rules(seed, n as usize).as_bytes());
        }
        _ => {
            eprintln!("usage: generate events N [SEED] | rules N [SEED] | groups N USERS");
            std::process::exit(2);
        }
    }
}
