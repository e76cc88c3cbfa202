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
/// Each partition starts with events without a timestamp (their detection alerts are
/// ordered before any time: they must not depend on which worker reads them first) and an
/// invalid line.
fn partition(d: &Path, lines: &[String], p: usize) -> Vec<PathBuf> {
    let mut parts: Vec<String> = (0..p)
        .map(|i| {
            format!(
                "{{\"action\":\"rdp\",\"hostname\":\"WS{i:03}\",\"user\":\"CORP\\\\early{i}\"}}\n\
                 {{\"action\":\"rdp\",\"hostname\":\"DC0{i}\",\"user\":\"CORP\\\\early{i}\"}}\n\
                 {{not json\n"
            )
        })
        .collect();
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

/// A hostfile for two processes on free loopback ports.
fn hostfile(path: &Path) -> PathBuf {
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port")
    };
    std::fs::write(
        path,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", port(), port()),
    )
    .expect("hostfile");
    path.to_path_buf()
}

/// Two processes on loopback, on free ports.
fn two_processes(d: &Path, tag: &str, parts: &[PathBuf], extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let hosts = hostfile(&d.join(format!("{tag}.hosts")));
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

/// `cluster` with each thread count of one process, and with two processes, gives `want`.
fn same_everywhere(
    d: &Path,
    parts: &[PathBuf],
    extra: &[&str],
    want: &(Vec<u8>, Vec<u8>),
    threads: &[&str],
) {
    for w in threads {
        let got = cluster(d, &format!("w{w}"), parts, extra, &["-w", w]);
        assert!(got == *want, "{w} thread(s), {extra:?}");
    }
    assert!(
        two_processes(d, "p2", parts, extra) == *want,
        "2 processes, {extra:?}"
    );
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
        same_everywhere(
            &d,
            std::slice::from_ref(&file),
            extra,
            &reference,
            &["1", "2"],
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
        assert!(sum.contains("\"events\":20008,\"invalid\":4,"), "{sum}");
        assert!(!sum.contains("\"no_timestamp\":0,"), "{sum}");
        same_everywhere(&d, &parts, extra, &one, &["2", "3"]);
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs `cluster` with these arguments, expects a usage error (exit 2); its stderr.
fn usage_error(args: &[&str], paths: &[&Path]) -> String {
    let o = Command::new(bin())
        .arg("cluster")
        .args(args)
        .args(paths)
        .output()
        .expect("cluster");
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn usage_errors_are_clear() {
    let d = dir("usage");
    let bad = d.join("hosts");
    std::fs::write(&bad, "127.0.0.1:2201\nnot-an-address\n").expect("hostfile");
    let part = d.join("p.jsonl");
    std::fs::write(&part, "").expect("partition");
    let err = usage_error(&["-n", "2", "-p", "0", "-h"], &[&bad, &part]);
    assert!(
        err.contains(":2: expected `host:port`, found `not-an-address`"),
        "{err}"
    );
    let err = usage_error(&["-n", "2", "-p", "0"], &[&part]);
    assert!(err.contains("needs a hostfile"), "{err}");
    let err = usage_error(&[], &[&d.join("missing.jsonl")]);
    assert!(err.contains("missing.jsonl"), "{err}");
    let err = usage_error(&["--resume", "--checkpoint-dir", "x"], &[&part]);
    assert!(err.contains("--resume needs --output"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A `nats-server -js` on a free loopback port, killed on drop; `None` (test skipped with a
/// message) when it is not installed, except under `CI=true`.
struct NatsServer {
    child: std::process::Child,
    url: String,
    store: PathBuf,
}

impl NatsServer {
    fn start(d: &Path) -> Option<NatsServer> {
        let exe = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| {
                let found = Command::new("nats-server")
                    .arg("--version")
                    .output()
                    .is_ok();
                found.then(|| PathBuf::from("nats-server"))
            });
        let Some(exe) = exe else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "nats-server is not installed (CI=true): apt-get install nats-server"
            );
            eprintln!("skipped: nats-server is not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let store = d.join("jetstream");
        let child = Command::new(exe)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nats-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(NatsServer {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            store,
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

#[test]
fn nats_partitions_give_the_same_output_as_files() {
    use session_sigma::cluster::nats::partition_of;
    let d = dir("nats");
    let Some(server) = NatsServer::start(&d) else {
        return;
    };
    let lines = generate(8_000, 5, 60);
    // The same partitioning `publish --key user` does, written to files.
    let mut parts = vec![String::new(); 4];
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("generated JSON");
        let user = v["user"].as_str().unwrap_or_default();
        parts[partition_of(user.as_bytes(), 4) as usize].push_str(&format!("{l}\n"));
    }
    let files: Vec<PathBuf> = parts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let f = d.join(format!("nats-part-{i}.jsonl"));
            std::fs::write(&f, t).expect("write");
            f
        })
        .collect();
    let all = d.join("all.jsonl");
    std::fs::write(&all, lines.join("\n") + "\n").expect("write");
    let o = Command::new(bin())
        .args([
            "publish",
            "--nats",
            &server.url,
            "--stream",
            "sessions",
            "--partitions",
            "4",
        ])
        .arg(&all)
        .output()
        .expect("publish");
    check(&o, "publish");
    assert!(String::from_utf8_lossy(&o.stderr).contains("8000 record(s) published"));
    let from_files = cluster(&d, "files", &files, &[], &[]);
    assert!(alert_count(&from_files.0) > 300);
    let nats = [
        "--nats",
        server.url.as_str(),
        "--stream",
        "sessions",
        "--partitions",
        "4",
    ];
    assert!(
        cluster(&d, "nats1", &[], &nats, &[]) == from_files,
        "NATS, 1 worker"
    );
    assert!(
        cluster(&d, "nats2", &[], &nats, &["-w", "2"]) == from_files,
        "NATS, 2 workers"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Kills one of two processes mid-stream (after at least one checkpoint), restarts from the
/// latest checkpoint with another topology (one process, two threads), and demands exactly
/// the alerts and summary of an uninterrupted run: none lost, none twice.
#[test]
fn crash_and_restart_from_a_checkpoint_gives_the_uninterrupted_output() {
    let d = dir("crash");
    let lines = generate(30_000, 23, 90);
    let parts = partition(&d, &lines, 4);
    let lateness = ["--max-lateness", "1m"];
    let reference = cluster(&d, "ref", &parts, &lateness, &[]);
    let ck = d.join("checkpoints");
    let ck_s = ck.to_string_lossy().to_string();
    let with_ck = [
        "--max-lateness",
        "1m",
        "--checkpoint-dir",
        &ck_s,
        "--checkpoint-every",
        "10m",
    ];
    // Checkpoints change nothing in the output.
    assert!(
        cluster(&d, "ck1", &parts, &with_ck, &[]) == reference,
        "with checkpoints"
    );
    let _ = std::fs::remove_dir_all(&ck);

    let hosts = hostfile(&d.join("crash.hosts"));
    let h = hosts.to_string_lossy().to_string();
    let out = d.join("crash.out");
    let sum = d.join("crash.sum");
    let start = |p: &str, extra: &[&str]| {
        Command::new(bin())
            .arg("cluster")
            .args(with_ck)
            .args(["-n", "2", "-p", p, "-h", &h])
            .args(extra)
            .args(&parts)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start process")
    };
    let mut p1 = start("1", &[]);
    let out_s = out.to_string_lossy().to_string();
    let sum_s = sum.to_string_lossy().to_string();
    let mut p0 = start("0", &["--output", &out_s, "--summary", &sum_s]);
    // Wait for a checkpoint, then kill process 1.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !ck.join("LATEST").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint was written"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    p1.kill().expect("kill process 1");
    let _ = p1.wait();
    let status = p0.wait().expect("process 0");
    assert!(
        !status.success(),
        "process 0 must stop when its peer dies (fail-stop)"
    );
    let written = std::fs::read(&out).unwrap_or_default();
    assert!(
        alert_count(&written) < alert_count(&reference.0),
        "the run was not interrupted: {} of {} alerts",
        alert_count(&written),
        alert_count(&reference.0)
    );

    // Restart everything from the latest checkpoint, as one process with two threads.
    let args = [&with_ck[..], &["-w", "2"]].concat();
    let after = restart(&args, &out, &sum, &parts);
    same_output(&after, &reference, "the restart");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_missing_peer_is_a_clear_error_after_the_timeout() {
    let d = dir("peer");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let hosts = d.join("hosts");
    // Process 1 is never started: process 0 waits for it, then says so.
    std::fs::write(&hosts, format!("127.0.0.1:{port}\n127.0.0.1:1\n")).expect("hostfile");
    let part = d.join("p.jsonl");
    std::fs::write(&part, "").expect("partition");
    let args = ["-n", "2", "-p", "0", "--connect-timeout", "2s", "-h"];
    let err = usage_error(&args, &[&hosts, &part]);
    assert!(
        err.contains("process 0 could not connect to every process within 2 s"),
        "{err}"
    );
    // Its own address taken: it cannot listen.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    std::fs::write(&hosts, format!("127.0.0.1:{port}\n127.0.0.1:1\n")).expect("hostfile");
    let err = usage_error(&args, &[&hosts, &part]);
    assert!(
        err.contains("process 0 cannot join the cluster at 127.0.0.1:"),
        "{err}"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(&d);
}

/// A heartbeat record moves its partition's time (deterministically): an older event that
/// follows it is late; without it, the same event is in order.
#[test]
fn heartbeats_move_a_partitions_time() {
    let d = dir("heartbeat");
    let ev = |t: &str, action: &str, user: &str| {
        format!(
            "{{\"timestamp\":\"2024-05-01T{t}Z\",\"action\":\"{action}\",\"hostname\":\"H1\",\"user\":\"{user}\"}}\n"
        )
    };
    let p0 = d.join("p0.jsonl");
    std::fs::write(
        &p0,
        ev("10:00:00", "lock", "alice") + &ev("10:30:00", "interactive", "bob"),
    )
    .expect("write");
    let with = d.join("p1-with.jsonl");
    let without = d.join("p1-without.jsonl");
    let first = ev("10:00:00", "interactive", "carol");
    let older = ev("10:20:00", "interactive", "dave");
    std::fs::write(
        &with,
        format!("{first}{{\"timestamp\":\"2024-05-01T10:40:00Z\",\"heartbeat\":true}}\n{older}"),
    )
    .expect("write");
    std::fs::write(&without, format!("{first}{older}")).expect("write");
    let (alerts, sum) = cluster(&d, "with", &[p0.clone(), with.clone()], &[], &[]);
    let sum = String::from_utf8_lossy(&sum).to_string();
    assert!(
        sum.starts_with("{\"events\":4,\"invalid\":0,\"late\":1,"),
        "{sum}"
    );
    let alerts = String::from_utf8_lossy(&alerts).to_string();
    assert!(
        alerts.contains("\"name\":\"workstation_locked_not_unlocked\"")
            && alerts.contains("\"timestamp\":\"2024-05-01T10:15:00Z\""),
        "{alerts}"
    );
    assert!(cluster(&d, "with2", &[p0.clone(), with], &[], &["-w", "2"]).1 == sum.as_bytes());
    let (_, sum) = cluster(&d, "without", &[p0, without], &[], &[]);
    let sum = String::from_utf8_lossy(&sum).to_string();
    assert!(
        sum.starts_with("{\"events\":4,\"invalid\":0,\"late\":0,"),
        "{sum}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// A JetStream server and a client with `stream` created; `None` when skipped.
fn live(d: &Path, stream: &str) -> Option<(NatsServer, session_sigma::cluster::nats::Client)> {
    let server = NatsServer::start(d)?;
    let mut c = session_sigma::cluster::nats::Client::connect(
        &server.url,
        std::time::Duration::from_secs(5),
    )
    .expect("connect");
    c.ensure_stream(stream).expect("stream");
    Some((server, c))
}

/// Waits up to 30 s for `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// SIGTERM ends a live run: it must exit successfully.
fn terminate(child: std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    check(
        &child.wait_with_output().expect("cluster"),
        "cluster after SIGTERM",
    );
}

/// Live input: a silent partition holds back an absence alert until a heartbeat on it
/// moves its time; SIGTERM then ends the input and the summary is written.
#[test]
fn a_heartbeat_releases_an_absence_alert_on_a_live_stream() {
    let d = dir("live");
    let Some((server, mut c)) = live(&d, "live") else {
        return;
    };
    let ev = |t: &str, action: &str, user: &str| {
        format!(
            "{{\"timestamp\":\"2024-05-01T{t}Z\",\"action\":\"{action}\",\"hostname\":\"H1\",\"user\":\"{user}\"}}"
        )
    };
    c.publish("live", 0, ev("10:00:00", "lock", "alice").as_bytes())
        .expect("publish");
    c.publish("live", 0, ev("10:30:00", "interactive", "bob").as_bytes())
        .expect("publish");
    c.publish("live", 1, ev("10:00:00", "interactive", "carol").as_bytes())
        .expect("publish");
    let out = d.join("live.out");
    let sum = d.join("live.sum");
    let child = Command::new(bin())
        .args([
            "cluster",
            "--follow",
            "--nats",
            &server.url,
            "--stream",
            "live",
            "--partitions",
            "2",
            "--output",
        ])
        .arg(&out)
        .arg("--summary")
        .arg(&sum)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start cluster");
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    let absence = |text: &str| text.contains("workstation_locked_not_unlocked");
    // Partition 1 is silent at 10:00: the deadline (10:15) is not passed.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        !absence(&read()),
        "alerted before partition 1 moved: {}",
        read()
    );
    c.publish(
        "live",
        1,
        b"{\"timestamp\":\"2024-05-01T10:40:00Z\",\"heartbeat\":true}",
    )
    .expect("publish");
    wait_until("the absence alert", || absence(&read()));
    assert!(
        read().contains("\"timestamp\":\"2024-05-01T10:15:00Z\""),
        "{}",
        read()
    );
    terminate(child);
    let sum = std::fs::read_to_string(&sum).expect("summary");
    let written = read().lines().count();
    let want = format!(
        "{{\"events\":3,\"invalid\":0,\"late\":0,\"no_timestamp\":0,\"alerts\":{written},\"pending\":[]}}"
    );
    assert_eq!(sum.trim(), want);
    let _ = std::fs::remove_dir_all(&d);
}

/// `--idle-timeout`: silent partitions move to the wall clock, so an absence whose deadline
/// has passed in wall-clock time fires without any heartbeat.
#[test]
fn an_idle_timeout_releases_an_absence_alert() {
    use session_sigma::time::Timestamp;
    let d = dir("idle");
    let Some((server, mut c)) = live(&d, "idle") else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64;
    let at = |minutes_ago: i64, action: &str, user: &str| {
        let t = Timestamp((now / 1_000_000_000 - minutes_ago * 60) * 1_000_000_000);
        format!(
            "{{\"timestamp\":\"{t}\",\"action\":\"{action}\",\"hostname\":\"H1\",\"user\":\"{user}\"}}"
        )
    };
    c.publish("idle", 0, at(30, "lock", "alice").as_bytes())
        .expect("publish");
    c.publish("idle", 1, at(30, "interactive", "carol").as_bytes())
        .expect("publish");
    let out = d.join("idle.out");
    let child = Command::new(bin())
        .args([
            "cluster",
            "--follow",
            "--idle-timeout",
            "1s",
            "--nats",
            &server.url,
        ])
        .args(["--stream", "idle", "--partitions", "2", "--output"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start cluster");
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_until("the absence alert", || {
        read().contains("workstation_locked_not_unlocked")
    });
    terminate(child);
    let _ = std::fs::remove_dir_all(&d);
}

/// Alerts and summary after `what` are those of the uninterrupted run.
fn same_output(after: &(Vec<u8>, Vec<u8>), reference: &(Vec<u8>, Vec<u8>), what: &str) {
    assert!(
        after.0 == reference.0,
        "alerts after {what} differ from an uninterrupted run"
    );
    assert_eq!(
        String::from_utf8_lossy(&after.1),
        String::from_utf8_lossy(&reference.1),
        "summary after {what}"
    );
}

/// A restart with `--resume` and `args`, as after a run that wrote exactly the first `n` of
/// the alerts `all`: the alerts and summary it leaves.
fn resume_after(
    d: &Path,
    all: &[u8],
    n: usize,
    args: &[&str],
    parts: &[PathBuf],
) -> (Vec<u8>, Vec<u8>) {
    let out = d.join("restart.out");
    let cut: String = String::from_utf8_lossy(all)
        .lines()
        .take(n)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&out, cut).expect("cut output");
    restart(args, &out, &d.join("restart.sum"), parts)
}

/// `cluster ARGS --resume --output OUT --summary SUM PARTS`: the alerts and summary after.
fn restart(args: &[&str], out: &Path, sum: &Path, parts: &[PathBuf]) -> (Vec<u8>, Vec<u8>) {
    let o = Command::new(bin())
        .arg("cluster")
        .args(args)
        .arg("--resume")
        .arg("--output")
        .arg(out)
        .arg("--summary")
        .arg(sum)
        .args(parts)
        .output()
        .expect("restart");
    check(&o, "restart");
    (
        std::fs::read(out).expect("alerts"),
        std::fs::read(sum).expect("summary"),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy file");
        }
    }
}

/// Incremental checkpoints: a chain of one whole state per worker and then only changes
/// restores exactly. Two workers write the chains (each its own), and a restart from each
/// checkpoint kept, with one worker, from an output cut to that checkpoint's alerts, gives
/// the uninterrupted output and summary.
#[test]
fn a_chain_of_incremental_checkpoints_restores_exactly() {
    let d = dir("chain");
    let lines = generate(20_000, 31, 90);
    let parts = partition(&d, &lines, 3);
    let reference = cluster(&d, "ref", &parts, &["--max-lateness", "1m"], &[]);
    let ck = d.join("checkpoints");
    let ck_s = ck.to_string_lossy().to_string();
    let with_ck = [
        "--max-lateness",
        "1m",
        "--checkpoint-dir",
        &ck_s,
        "--checkpoint-every",
        "5m",
        "--checkpoint-full-every",
        "1000",
    ];
    assert!(
        cluster(&d, "ck", &parts, &with_ck, &["-w", "2"]) == reference,
        "checkpoints change nothing in the output"
    );
    let mut kept: Vec<String> = std::fs::read_dir(&ck)
        .expect("checkpoint dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("ckpt-"))
        .collect();
    kept.sort();
    assert_eq!(
        kept.len(),
        2,
        "this checkpoint and the one before: {kept:?}"
    );
    for name in kept {
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(ck.join(&name).join("MANIFEST")).expect("manifest"),
        )
        .expect("manifest JSON");
        let chains = manifest["chains"].as_array().expect("chains");
        assert_eq!(chains.len(), 2, "one chain per worker");
        for chain in chains {
            let chain = chain.as_array().expect("chain");
            assert!(chain.len() >= 3, "a chain of changes: {chain:?}");
            let kinds: Vec<String> = chain
                .iter()
                .map(|f| {
                    let path = ck.join("state").join(f.as_str().expect("name"));
                    let part: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(path).expect("part"))
                            .expect("part JSON");
                    part["kind"].as_str().unwrap_or("?").to_string()
                })
                .collect();
            assert_eq!(kinds[0], "full", "{kinds:?}");
            assert!(kinds[1..].iter().all(|k| k == "delta"), "{kinds:?}");
        }
        // Restart from this checkpoint, as a run that wrote exactly its alerts (in a copy:
        // the restart writes checkpoints of its own).
        let again = d.join(format!("again-{name}"));
        copy_dir(&ck, &again);
        std::fs::write(again.join("LATEST"), format!("{name}\n")).expect("LATEST");
        let again_s = again.to_string_lossy().to_string();
        let n = manifest["alerts"].as_u64().expect("alerts") as usize;
        assert!(n > 0 && n < alert_count(&reference.0), "{name}: {n} alerts");
        let again_args = [
            "--max-lateness",
            "1m",
            "--checkpoint-dir",
            &again_s,
            "--checkpoint-every",
            "5m",
            "-w",
            "1",
        ];
        let after = resume_after(&d, &reference.0, n, &again_args, &parts);
        same_output(&after, &reference, &format!("a restart from {name}"));
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A checkpoint of an earlier version (whole states in `worker-<w>.json`, a manifest
/// without chains) still restores.
#[test]
fn a_checkpoint_of_whole_worker_states_still_restores() {
    let d = dir("legacy");
    let lines = generate(6_000, 37, 30);
    let parts = partition(&d, &lines, 2);
    let reference = cluster(&d, "ref", &parts, &[], &[]);
    let ck = d.join("checkpoints");
    let ck_s = ck.to_string_lossy().to_string();
    let with_ck = ["--checkpoint-dir", &ck_s, "--checkpoint-every", "10m"];
    let extra = [&with_ck[..], &["--checkpoint-full-every", "1"]].concat();
    assert!(cluster(&d, "ck", &parts, &extra, &[]) == reference);
    // Rewrite the latest checkpoint in the earlier layout.
    let latest = std::fs::read_to_string(ck.join("LATEST")).expect("LATEST");
    let at = ck.join(latest.trim());
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(at.join("MANIFEST")).unwrap()).unwrap();
    let chain = manifest["chains"][0].as_array().expect("chain").clone();
    assert_eq!(chain.len(), 1, "whole states only: {chain:?}");
    let part: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ck.join("state").join(chain[0].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    // The earlier layout had every event text in place, not numbered in a `texts` table.
    let texts = part["texts"].as_array().expect("texts").clone();
    let mut state = part["state"].clone();
    inline_texts(&mut state, &texts);
    std::fs::write(at.join("worker-0.json"), state.to_string()).unwrap();
    manifest.as_object_mut().unwrap().remove("chains");
    std::fs::write(at.join("MANIFEST"), manifest.to_string()).unwrap();
    std::fs::remove_dir_all(ck.join("state")).unwrap();
    let n = manifest["alerts"].as_u64().expect("alerts") as usize;
    assert!(
        n > 0 && n < alert_count(&reference.0),
        "{n} alerts before it"
    );
    let after = resume_after(&d, &reference.0, n, &with_ck, &parts);
    same_output(&after, &reference, "a restart from the earlier layout");
    let _ = std::fs::remove_dir_all(&d);
}

/// Puts the event texts a part numbers back in place: obligations' `text`, windows'
/// `events` and ordered chains' events (the pack's correlation types that keep events).
fn inline_texts(v: &mut serde_json::Value, texts: &[serde_json::Value]) {
    use serde_json::Value;
    let text = |n: &Value| texts[n.as_u64().expect("a text number") as usize].clone();
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match (k.as_str(), &mut *x) {
                    ("text", Value::Number(_)) => *x = text(x),
                    ("events", Value::Array(a)) => a.iter_mut().for_each(|e| *e = text(e)),
                    _ => inline_texts(x, texts),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| inline_texts(x, texts)),
        _ => {}
    }
}

/// `--resume` before any checkpoint was written starts over, skipping the alerts the output
/// already holds (none twice); an output shorter than the checkpoint's count is refused.
#[test]
fn resume_without_a_checkpoint_and_with_a_wrong_output() {
    let d = dir("resume");
    let lines = generate(4_000, 31, 60);
    let parts = partition(&d, &lines, 2);
    let reference = cluster(&d, "ref", &parts, &[], &[]);
    let out = d.join("out.jsonl");
    let ck = d.join("ck");
    let ck_s = ck.to_string_lossy().to_string();
    let out_s = out.to_string_lossy().to_string();
    // A crashed run that wrote some alerts (and a line cut short) but no checkpoint.
    let n = reference.0.iter().take(2_000).count();
    let mut partial = reference.0[..n].to_vec();
    partial.extend_from_slice(b"{\"rule\":{\"trunc");
    std::fs::write(&out, &partial).expect("write");
    let resume = ["--checkpoint-dir", &ck_s, "--resume", "--output", &out_s];
    let o = Command::new(bin())
        .arg("cluster")
        .args(resume)
        .args(&parts)
        .output()
        .expect("cluster");
    check(&o, "resume without a checkpoint");
    assert!(std::fs::read(&out).expect("out") == reference.0);
    // A checkpoint, then an output that lost alerts: refused.
    let _ = std::fs::remove_dir_all(&ck);
    let every = [
        "--checkpoint-dir",
        &ck_s,
        "--checkpoint-every",
        "10m",
        "--output",
        &out_s,
    ];
    let o = Command::new(bin())
        .arg("cluster")
        .args(every)
        .args(&parts)
        .output()
        .expect("cluster");
    check(&o, "run with checkpoints");
    std::fs::write(&out, b"").expect("truncate");
    let err = usage_error(
        &resume,
        &parts.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert!(err.contains("fewer than the"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Issue 11: a record the adapter skips (a 4672 stamped later than the logons after it)
/// moves no partition's time when no `product: windows` rule is loaded: cluster mode gives
/// the alerts and summary of the session records alone.
#[test]
fn skipped_records_do_not_move_a_partitions_time() {
    use crate::regression::{SESSION_ONLY, logon, privileges};
    let d = dir("skipped");
    let rules = d.join("rules.yml");
    std::fs::write(&rules, SESSION_ONLY).unwrap();
    let session = [
        logon("2024-05-01T10:00:00Z", "alice"),
        logon("2024-05-01T10:00:05Z", "alice"),
        logon("2024-05-01T09:59:00Z", "carol"),
    ];
    let mut mixed = session.to_vec();
    mixed.insert(1, privileges("2024-05-01T10:00:10Z"));
    let plain = d.join("plain.jsonl");
    std::fs::write(&plain, session.join("\n") + "\n").unwrap();
    let mixed_file = d.join("mixed.jsonl");
    std::fs::write(&mixed_file, mixed.join("\n") + "\n").unwrap();
    let r = rules.to_str().unwrap();
    let want = run_single(&d, &plain, &["--rules", r]);
    assert_eq!(
        alert_count(&want.0),
        1,
        "{}",
        String::from_utf8_lossy(&want.0)
    );
    for w in ["1", "2"] {
        let got = cluster(
            &d,
            &format!("skip-w{w}"),
            std::slice::from_ref(&mixed_file),
            &["--rules", r],
            &["-w", w],
        );
        assert_eq!(
            String::from_utf8_lossy(&got.0),
            String::from_utf8_lossy(&want.0),
            "{w} worker(s)"
        );
        let mut summary: serde_json::Value = serde_json::from_slice(&got.1).expect("summary");
        let skipped = summary
            .as_object_mut()
            .and_then(|m| m.remove("skipped"))
            .expect("skipped counts");
        assert_eq!(skipped, serde_json::json!({"Security 4672": 1}));
        let want_summary: serde_json::Value = serde_json::from_slice(&want.1).expect("summary");
        assert_eq!(summary, want_summary, "{w} worker(s)");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// As `run` does: a `--summary` or `--metrics` file that is one of the partition files is
/// refused before anything is read or written.
#[test]
fn a_summary_or_metrics_file_that_is_a_partition_is_refused() {
    let d = dir("written-over");
    let part = d.join("p0.jsonl");
    let text = "{\"timestamp\":\"2024-05-01T00:00:00Z\",\"action\":\"login\",\"user\":\"a\"}\n";
    std::fs::write(&part, text).expect("partition written");
    for flag in ["--summary", "--metrics"] {
        let o = Command::new(bin())
            .args(["cluster", flag])
            .arg(&part)
            .arg(&part)
            .output()
            .expect("binary runs");
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!(
                "error: {flag} {} is also an input: it would be written over",
                part.display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(&part).expect("still there"),
            text,
            "{flag}"
        );
    }
}
