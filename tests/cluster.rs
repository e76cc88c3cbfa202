//! Cluster mode (feature `cluster`): for the same partitioned input, `run` (one partition)
//! and `cluster` with 1 process, 1 process × 2 threads and 2 processes on loopback write
//! byte-identical alerts and summaries, over the bundled rule pack (stateful rules
//! included) and a generated stream with disorder, late events and chained correlations.

use crate::common::bin;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A seeded stream of session events: few users and hosts (groups fill up), all actions,
/// public and private sources, and up to `jitter` seconds of disorder.
fn generate(n: usize, seed: u64, jitter: u64) -> Vec<String> {
    let mut s = seed;
    let mut next = move |m: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % m
    };
    let actions = [
        "interactive",
        "local",
        "lock",
        "login",
        "logout",
        "rdp",
        "reconnect",
        "remote",
        "unlock",
        "failed",
        "failed",
        "failed",
        "disconnect",
    ];
    let base = 1_714_521_600u64; // 2024-05-01T00:00:00Z
    (0..n)
        .map(|i| {
            let t = base + i as u64 * 3 + 10_000 - next(jitter + 1);
            let (h, mi, se) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
            let day = 1 + (t - base) / 86_400;
            let action = actions[next(actions.len() as u64) as usize];
            let user = next(40);
            let host = next(25);
            let ip = if next(10) == 0 {
                format!("203.0.113.{}", next(30))
            } else {
                format!("10.0.{}.{}", next(4), next(50))
            };
            format!(
                "{{\"timestamp\":\"2024-05-{day:02}T{h:02}:{mi:02}:{se:02}Z\",\"action\":\"{action}\",\"hostname\":\"{}{host:03}\",\"user\":\"CORP\\\\user{user}\",\"logon_id\":\"0x{:x}\",\"src_ip\":\"{ip}\",\"src_port\":{},\"dest_port\":{}}}",
                if host < 3 { "DC" } else { "WS" },
                0x1000 + next(300),
                1024 + next(60000),
                if action == "rdp" { 3389 } else { 445 },
            )
        })
        .collect()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "session-sigma-cluster-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Splits lines into `p` partition files by user (a stable key), keeping their order.
fn partition(d: &Path, lines: &[String], p: usize) -> Vec<PathBuf> {
    let mut parts = vec![String::new(); p];
    for l in lines {
        let user = l.split("\"user\":\"").nth(1).unwrap_or("");
        let h = user
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        parts[(h % p as u64) as usize].push_str(&format!("{l}\n"));
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let f = d.join(format!("part-{i}.jsonl"));
            std::fs::write(&f, text).expect("write partition");
            f
        })
        .collect()
}

fn check(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Alerts and summary of one `cluster` configuration.
fn cluster(
    d: &Path,
    tag: &str,
    parts: &[PathBuf],
    extra: &[&str],
    topology: &[&str],
) -> (Vec<u8>, Vec<u8>) {
    let out = d.join(format!("{tag}.out"));
    let sum = d.join(format!("{tag}.sum"));
    let o = Command::new(bin())
        .arg("cluster")
        .args(extra)
        .args(topology)
        .arg("--output")
        .arg(&out)
        .arg("--summary")
        .arg(&sum)
        .args(parts)
        .output()
        .expect("run cluster");
    check(&o, tag);
    (
        std::fs::read(out).expect("alerts"),
        std::fs::read(sum).expect("summary"),
    )
}

/// Two processes on loopback, on free ports.
fn two_processes(d: &Path, tag: &str, parts: &[PathBuf], extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port")
        })
        .collect();
    let hosts = d.join(format!("{tag}.hosts"));
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .expect("hostfile");
    let h = hosts.to_string_lossy().to_string();
    let peer = Command::new(bin())
        .arg("cluster")
        .args(extra)
        .args(["-n", "2", "-p", "1", "-h", &h])
        .args(parts)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start process 1");
    let first = cluster(d, tag, parts, extra, &["-n", "2", "-p", "0", "-h", &h]);
    let o = peer.wait_with_output().expect("process 1");
    check(&o, "process 1");
    first
}

fn run_single(d: &Path, file: &Path, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let sum = d.join("run.sum");
    let o = Command::new(bin())
        .args(["run", "--threads", "1"])
        .args(extra)
        .arg("--summary")
        .arg(&sum)
        .arg(file)
        .output()
        .expect("run");
    check(&o, "run");
    (o.stdout, std::fs::read(sum).expect("summary"))
}

fn alert_count(out: &[u8]) -> usize {
    out.iter().filter(|b| **b == b'\n').count()
}

#[test]
fn one_partition_run_and_cluster_agree() {
    let d = dir("one");
    let lines = generate(6_000, 7, 150);
    let file = d.join("all.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    for extra in [
        &["--max-lateness", "0s"][..],
        &["--max-lateness", "2m", "--eof", "flush"],
    ] {
        let reference = run_single(&d, &file, extra);
        let sum = String::from_utf8_lossy(&reference.1).to_string();
        assert!(
            alert_count(&reference.0) > 500,
            "too few alerts to compare: {sum}"
        );
        assert!(
            !sum.contains("\"late\":0,"),
            "the stream must have late events: {sum}"
        );
        let parts = [file.clone()];
        assert!(
            cluster(&d, "c1", &parts, extra, &[]) == reference,
            "1 process, {extra:?}"
        );
        assert!(
            cluster(&d, "c2", &parts, extra, &["-w", "2"]) == reference,
            "2 threads, {extra:?}"
        );
        assert!(
            two_processes(&d, "p2", &parts, extra) == reference,
            "2 processes, {extra:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn four_partitions_same_output_on_any_topology() {
    let d = dir("four");
    let lines = generate(20_000, 11, 90);
    let parts = partition(&d, &lines, 4);
    for extra in [&["--max-lateness", "0s"][..], &["--max-lateness", "1m"]] {
        let one = cluster(&d, "c1", &parts, extra, &[]);
        let sum = String::from_utf8_lossy(&one.1).to_string();
        assert!(alert_count(&one.0) > 1_000, "too few alerts: {sum}");
        assert!(sum.contains("\"events\":20000,"), "{sum}");
        assert!(
            cluster(&d, "c2", &parts, extra, &["-w", "2"]) == one,
            "2 threads, {extra:?}"
        );
        assert!(
            cluster(&d, "c3", &parts, extra, &["-w", "3"]) == one,
            "3 threads, {extra:?}"
        );
        assert!(
            two_processes(&d, "p2", &parts, extra) == one,
            "2 processes, {extra:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn usage_errors_are_clear() {
    let d = dir("usage");
    let bad = d.join("hosts");
    std::fs::write(&bad, "127.0.0.1:2201\nnot-an-address\n").expect("hostfile");
    let part = d.join("p.jsonl");
    std::fs::write(&part, "").expect("partition");
    let o = Command::new(bin())
        .args(["cluster", "-n", "2", "-p", "0", "-h"])
        .arg(&bad)
        .arg(&part)
        .output()
        .expect("cluster");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(":2: expected `host:port`, found `not-an-address`"),
        "{err}"
    );
    let o = Command::new(bin())
        .args(["cluster", "-n", "2", "-p", "0"])
        .arg(&part)
        .output()
        .expect("cluster");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a hostfile"));
    let o = Command::new(bin())
        .args(["cluster"])
        .arg(d.join("missing.jsonl"))
        .output()
        .expect("cluster");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.jsonl"));
    let _ = std::fs::remove_dir_all(&d);
}
