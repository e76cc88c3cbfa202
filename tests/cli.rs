//! The binary, run as a user would: stdout, stderr and exit codes.

use super::common::{bin, root};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("session-sigma-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// (rule name, timestamp) of each alert line.
fn alert_keys(out: &str) -> Vec<(String, String)> {
    out.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            (
                v["rule"]["name"].as_str().unwrap().to_string(),
                v["timestamp"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The alerts the bundled pack gives on examples/events.jsonl, worked out by hand from the
/// rules (detections cross-checked by an independent script when the pack was written; the
/// 13 correlation alerts and 2 pending obligations checked by hand against S1–S12).
const EXPECTED_EXAMPLE_ALERTS: &[(&str, &str)] = &[
    (
        "failed_logon_builtin_disabled_account",
        "2024-05-01T02:14:09Z",
    ),
    ("logon_outside_business_hours", "2024-05-01T05:42:30Z"),
    ("rdp_logon", "2024-05-01T08:02:11Z"),
    ("local_account_network_logon", "2024-05-01T09:05:33Z"),
    ("interactive_logon_to_server", "2024-05-01T09:20:10Z"),
    ("service_account_interactive_logon", "2024-05-01T09:20:10Z"),
    ("rdp_logon", "2024-05-01T09:48:55Z"),
    ("rdp_logon", "2024-05-01T10:15:40Z"),
    ("simultaneous_logins_on_host", "2024-05-01T11:04:44Z"),
    ("rdp_logon", "2024-05-01T11:04:44Z"),
    ("rdp_to_domain_controller", "2024-05-01T11:04:44Z"),
    ("workstation_locked_not_unlocked", "2024-05-01T12:15:00Z"),
    ("rdp_from_new_source_ip", "2024-05-01T13:10:05Z"),
    ("rdp_logon", "2024-05-01T13:10:05Z"),
    ("remote_logon_from_loopback", "2024-05-01T13:10:05Z"),
    ("remote_logon_from_own_address", "2024-05-01T13:10:05Z"),
    ("new_credentials_logon", "2024-05-01T13:25:41Z"),
    ("workstation_locked_not_unlocked", "2024-05-01T14:35:00Z"),
    ("builtin_administrator_logon", "2024-05-01T15:17:09Z"),
    ("local_account_network_logon", "2024-05-01T15:17:09Z"),
    ("logon_without_logout", "2024-05-01T15:42:30Z"),
    ("logon_without_logout", "2024-05-01T16:58:12Z"),
    ("logon_without_logout", "2024-05-01T17:15:02Z"),
    ("logon_without_logout", "2024-05-01T18:02:11Z"),
    ("logon_without_logout", "2024-05-01T19:20:10Z"),
    ("rdp_logon", "2024-05-01T19:58:30Z"),
    ("logon_outside_business_hours", "2024-05-01T20:00:00Z"),
    ("logon_without_logout", "2024-05-01T20:02:18Z"),
    ("logon_without_logout", "2024-05-01T20:15:40Z"),
    ("rdp_from_new_source_ip", "2024-05-01T21:07:58Z"),
    ("logon_outside_business_hours", "2024-05-01T21:07:58Z"),
    ("rdp_from_default_client_hostname", "2024-05-01T21:07:58Z"),
    ("rdp_logon", "2024-05-01T21:07:58Z"),
    ("rdp_nonstandard_port", "2024-05-01T21:07:58Z"),
    ("remote_logon_from_public_ip", "2024-05-01T21:07:58Z"),
    (
        "failed_logon_builtin_disabled_account",
        "2024-05-01T21:15:30Z",
    ),
    ("builtin_administrator_logon", "2024-05-01T21:22:04Z"),
    ("builtin_administrator_logon", "2024-05-01T21:30:40Z"),
    ("logon_outside_business_hours", "2024-05-01T21:30:40Z"),
    ("rdp_logon", "2024-05-01T21:30:40Z"),
    ("rdp_to_domain_controller", "2024-05-01T21:30:40Z"),
    ("rdp_from_default_client_hostname", "2024-05-01T22:45:10Z"),
    ("logon_without_logout", "2024-05-01T23:10:05Z"),
];

#[test]
fn run_bundled_rules_on_the_example_events() {
    let summary = tmp("summary.json", "");
    let o = run(&[
        "run",
        "examples/events.jsonl",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = alert_keys(&stdout(&o));
    let want: Vec<(String, String)> = EXPECTED_EXAMPLE_ALERTS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "{\"events\":42,\"invalid\":0,\"late\":0,\"no_timestamp\":0,\"alerts\":43,\"pending\":[\
{\"rule\":\"logon_without_logout\",\"group\":{\"hostname\":\"SRV-APP1\",\"logon_id\":\"0x9011e2\"},\"deadline\":\"2024-05-02T05:58:30Z\"},\
{\"rule\":\"logon_without_logout\",\"group\":{\"hostname\":\"WS04\",\"logon_id\":\"0x9120aa\"},\"deadline\":\"2024-05-02T06:00:00Z\"}]}\n"
    );
    // Byte-identical on a second run.
    assert_eq!(run(&["run", "examples/events.jsonl"]).stdout, o.stdout);
}

#[test]
fn alert_line_format_is_the_contract() {
    let rules = tmp(
        "fmt.yml",
        "title: RDP\nid: 5f6a9d1c-2b3e-4f5a-8b9c-0d1e2f3a4b5c\nname: rdp\nlevel: high\nlogsource: {category: user_session}\ndetection:\n  sel: {action: rdp}\n  condition: sel\n",
    );
    let events = tmp(
        "fmt.jsonl",
        "{\"timestamp\": \"2024-05-01T12:00:00+02:00\", \"action\": \"rdp\", \"user\": \"bob\"}\n",
    );
    let o = run(&[
        "run",
        "--rules",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(
        stdout(&o),
        "{\"rule\":{\"id\":\"5f6a9d1c-2b3e-4f5a-8b9c-0d1e2f3a4b5c\",\"name\":\"rdp\",\"title\":\"RDP\",\"level\":\"high\",\"type\":\"detection\"},\
\"timestamp\":\"2024-05-01T10:00:00Z\",\"events\":[{\"timestamp\": \"2024-05-01T12:00:00+02:00\", \"action\": \"rdp\", \"user\": \"bob\"}]}\n"
    );
}

#[test]
fn malformed_lines_are_reported_counted_and_skipped() {
    let summary = tmp("bad-summary.json", "");
    let o = run(&[
        "run",
        "examples/events-with-errors.jsonl",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("examples/events-with-errors.jsonl:4: invalid event: invalid JSON at column"),
        "{err}"
    );
    assert!(err.contains("examples/events-with-errors.jsonl:10: invalid event: an event must be a JSON object, found an array"), "{err}");
    assert_eq!(alert_keys(&stdout(&o)).len(), 3);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        (
            s["events"].as_u64(),
            s["invalid"].as_u64(),
            s["alerts"].as_u64()
        ),
        (Some(10), Some(2), Some(3))
    );
}

#[test]
fn stdin_streaming_flushes_each_alert_line() {
    let mut child = Command::new(bin())
        .args(["run", "-"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // Write one matching event and read its alert while stdin is still open.
    writeln!(stdin, r#"{{"timestamp":"2024-05-01T10:00:00Z","action":"rdp","user":"CORP\\bob","hostname":"WS1","src_ip":"10.0.0.5"}}"#).unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("\"name\":\"rdp_logon\""), "{line}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn late_events_are_counted() {
    let events = tmp(
        "late.jsonl",
        "{\"timestamp\":\"2024-05-01T10:00:00Z\",\"action\":\"x\"}\n{\"timestamp\":\"2024-05-01T09:00:00Z\",\"action\":\"x\"}\n{\"action\":\"x\"}\n",
    );
    let summary = tmp("late-summary.json", "");
    run(&[
        "run",
        events.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        (s["late"].as_u64(), s["no_timestamp"].as_u64()),
        (Some(1), Some(1))
    );
    run(&[
        "run",
        events.to_str().unwrap(),
        "--max-lateness",
        "2h",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["late"].as_u64(), Some(0));
}

#[test]
fn check_reports_path_line_col_code_and_exit_codes() {
    let bad = tmp(
        "bad.yml",
        "title: t\nlogsource: {category: user_session}\ndetection:\n  selection:\n    user|contans: adm\n  condition: selectoin\n",
    );
    let o = run(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let p = bad.to_str().unwrap();
    assert!(
        out.contains(&format!(
            "{p}:5:10: error[E302]: unknown modifier `contans`"
        )),
        "{out}"
    );
    assert!(
        out.contains("    user|contans: adm"),
        "the offending text is shown: {out}"
    );
    assert!(
        out.contains(&format!(
            "{p}:6:14: error[E300]: unknown search identifier `selectoin`"
        )),
        "{out}"
    );
    assert!(out.contains("did you mean `selection`?"), "{out}");
    let o = run(&["check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the bundled pack is clean: {}",
        stdout(&o)
    );
    let o = run(&["check", "rules"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn test_command_summary_line_and_exit_codes() {
    let o = run(&["test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let last = stdout(&o).lines().last().unwrap_or_default().to_string();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let failing = tmp(
        "failing.yml",
        "title: t\nname: t\nlogsource: {category: test}\ndetection:\n  sel: {action: rdp}\n  condition: sel\ntests:\n  - name: passes\n    events: [{action: rdp}]\n    expect: match\n  - name: fails\n    events: [{action: remote}]\n    expect: match\n",
    );
    let o = run(&["test", failing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains(":: t :: fails ... FAILED"), "{out}");
    assert!(out.contains("event 1 did not match"), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn usage_and_input_errors_exit_2() {
    assert_eq!(
        run(&["run", "--rules", "no/such/dir", "examples/events.jsonl"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["run", "no/such/events.jsonl"]).status.code(), Some(2));
    assert_eq!(
        run(&["run", "--max-lateness", "soon", "examples/events.jsonl"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let broken = tmp(
        "broken.yml",
        "title: t\nlogsource: {category: test}\ndetection:\n  sel: {a|nope: 1}\n  condition: sel\n",
    );
    let o = run(&[
        "run",
        "--rules",
        broken.to_str().unwrap(),
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error[E302]"), "{}", stderr(&o));
    assert_eq!(
        run(&["test", broken.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

#[test]
fn explain_prints_the_compiled_plan() {
    let o = run(&["explain", "rdp_to_domain_controller"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("rule rdp_to_domain_controller ("), "{out}");
    assert!(out.contains("index: action = \"rdp\""), "{out}");
    assert_eq!(run(&["explain", "no_such_rule"]).status.code(), Some(2));
}

#[test]
fn placeholders_file_resolves_expand() {
    let rule = tmp(
        "expand.yml",
        "title: t\nname: dc_logon\nlogsource: {category: test}\ndetection:\n  sel:\n    hostname|expand: '%DomainControllers%'\n  condition: sel\n",
    );
    let o = run(&["check", rule.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("error[E305]: placeholder `%DomainControllers%` has no value"),
        "{}",
        stdout(&o)
    );
    let ph = tmp("ph.yml", "DomainControllers: [DC01, 'DC0*']\n");
    let events = tmp(
        "ph.jsonl",
        "{\"hostname\":\"dc07\"}\n{\"hostname\":\"WS1\"}\n",
    );
    let o = run(&[
        "run",
        "--rules",
        rule.to_str().unwrap(),
        "--placeholders",
        ph.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1);
}

#[test]
fn readme_lists_every_diagnostic_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for code in session_sigma::Code::ALL {
        assert!(
            readme.contains(&format!("| {code} |")),
            "README's diagnostic table lacks {code}"
        );
    }
}

#[test]
fn readme_commands_are_the_ones_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(readme.contains("cargo run --release -- run examples/events.jsonl"));
    assert!(readme.contains("\ncargo test\n") && ci.contains("cargo test"));
}

const CORRELATION_RULES: &str = "title: failed\nname: failed\nlogsource: {category: test}\ndetection: {sel: {action: failed}, condition: sel}\n---\ntitle: lock\nname: lock\nlogsource: {category: test}\ndetection: {sel: {action: lock}, condition: sel}\n---\ntitle: unlock\nname: unlock\nlogsource: {category: test}\ndetection: {sel: {action: unlock}, condition: sel}\n---\ntitle: brute\nname: brute\ncorrelation: {type: event_count, rules: [failed], group-by: [user], timespan: 10m, condition: {gte: 3}}\n---\ntitle: lock no unlock\nname: lock_no_unlock\ncorrelation: {type: absence, rules: [lock], expected: [unlock], group-by: [user], timespan: 15m}\n";

fn correlation_events() -> Vec<String> {
    let mut lines = Vec::new();
    for (m, action, user) in [
        (0, "failed", "bob"),
        (1, "lock", "amy"),
        (2, "failed", "bob"),
        (3, "failed", "eve"),
        (5, "failed", "bob"),
        (7, "lock", "bob"),
        (8, "unlock", "bob"),
        (20, "failed", "x"),
        (40, "lock", "amy"),
    ] {
        lines.push(format!(
            r#"{{"timestamp":"2024-05-01T10:{m:02}:00Z","action":"{action}","user":"{user}"}}"#
        ));
    }
    lines
}

#[test]
fn state_file_joins_two_runs_into_one() {
    let rules = tmp("state-rules.yml", CORRELATION_RULES);
    let lines = correlation_events();
    let all = tmp("state-all.jsonl", &(lines.join("\n") + "\n"));
    let first = tmp("state-1.jsonl", &(lines[..4].join("\n") + "\n"));
    let second = tmp("state-2.jsonl", &(lines[4..].join("\n") + "\n"));
    let state = std::env::temp_dir().join(format!(
        "session-sigma-cli-{}/state.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&state);
    let r = rules.to_str().unwrap();
    let one = run(&[
        "run",
        "--rules",
        r,
        "--max-lateness",
        "1m",
        all.to_str().unwrap(),
    ]);
    let a = run(&[
        "run",
        "--rules",
        r,
        "--max-lateness",
        "1m",
        "--state",
        state.to_str().unwrap(),
        first.to_str().unwrap(),
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert!(state.exists());
    let summary = tmp("state-summary.json", "");
    let b = run(&[
        "run",
        "--rules",
        r,
        "--max-lateness",
        "1m",
        "--state",
        state.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    // The second segment paused too: the 10:40 lock is still buffered (W = 10:39).
    let s = std::fs::read_to_string(&summary).unwrap();
    assert!(s.contains(r#""pending":[]"#), "{s}");
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("10:40:00Z")
    );
    // An empty last segment ends the stream: the buffered lock is released and pending.
    let empty = tmp("state-3.jsonl", "");
    let c = run(&[
        "run",
        "--rules",
        r,
        "--max-lateness",
        "1m",
        "--state",
        state.to_str().unwrap(),
        "--end-of-stream",
        "--summary",
        summary.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let joined = format!("{}{}{}", stdout(&a), stdout(&b), stdout(&c));
    assert_eq!(joined, stdout(&one));
    assert!(
        joined.contains(r#""name":"brute""#) && joined.contains(r#""name":"lock_no_unlock""#),
        "{joined}"
    );
    let s = std::fs::read_to_string(&summary).unwrap();
    assert!(s.contains(r#""pending":[{"rule":"lock_no_unlock","group":{"user":"amy"},"deadline":"2024-05-01T10:55:00Z"}]"#), "{s}");
}

#[test]
fn corrupt_state_file_is_an_error() {
    let rules = tmp("corrupt-rules.yml", CORRELATION_RULES);
    let state = tmp(
        "corrupt-state.json",
        "{\"format\": \"session-sigma-state\", \"version\": 1, \"rules\": 5",
    );
    let o = run(&[
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a valid session-sigma state file"),
        "{}",
        stderr(&o)
    );
    let old = tmp(
        "old-state.json",
        "{\"format\": \"session-sigma-state\", \"version\": 0}",
    );
    let o = run(&[
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        old.to_str().unwrap(),
        "examples/events.jsonl",
    ]);
    assert!(
        stderr(&o).contains("state file version 0 is not supported"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn sigterm_writes_the_state_and_exits_cleanly() {
    let rules = tmp("sig-rules.yml", CORRELATION_RULES);
    let state = std::env::temp_dir().join(format!(
        "session-sigma-cli-{}/sig-state.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&state);
    let mut child = Command::new(bin())
        .args([
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--eof",
            "hold",
        ])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for l in &correlation_events()[..3] {
        writeln!(stdin, "{l}").unwrap();
    }
    writeln!(
        stdin,
        r#"{{"timestamp":"2024-05-01T10:02:30Z","action":"failed","user":"bob"}}"#
    )
    .unwrap();
    stdin.flush().unwrap();
    // The third failure of bob fires `brute`: once its alert is out, the lines were read.
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains(r#""name":"brute""#), "{line}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    let saved = std::fs::read_to_string(&state).expect("state written on SIGTERM");
    assert!(
        saved.contains(r#""rule":"lock_no_unlock""#) && saved.contains(r#""user\":\"amy\""#),
        "{saved}"
    );
    drop(stdin);
}

#[test]
fn readme_correlation_examples_compile() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut docs = Vec::new();
    for block in readme.split("```yaml\n").skip(1) {
        let text = block.split("```").next().unwrap_or_default();
        if text.contains("correlation:") {
            let n = docs.len();
            let head = if text.contains("title:") {
                String::new()
            } else {
                format!("title: example {n}\n")
            };
            docs.push(format!("{head}{text}"));
        }
    }
    // Eight types; value_sum and value_avg share one example.
    assert!(
        docs.len() >= 7,
        "expected an example per correlation type, found {}",
        docs.len()
    );
    let mut text = String::new();
    for name in [
        "failed_logon",
        "vpn_session",
        "lock",
        "unlock",
        "rdp_logon",
        "logon_success",
    ] {
        text.push_str(&format!("title: {name}\nname: {name}\nlogsource: {{category: test}}\ndetection: {{sel: {{action: {name}}}, condition: sel}}\n---\n"));
    }
    text.push_str(&docs.join("---\n"));
    if let Err(d) = session_sigma::RuleSet::builder()
        .add_str("README.md", text)
        .build()
    {
        panic!("README examples do not compile:\n{d}");
    }
}

/// `--threads N` reads and matches events on N workers and partitions the correlation
/// state over N shards by group; the engine still orders everything, so alerts, the
/// summary and the diagnostics are byte-identical to one thread (bundled pack with its
/// correlations, three types of them firing; invalid lines; several inputs; with and without a
/// lateness window, under which deadlines fire between released events).
#[test]
fn threads_give_output_identical_to_one_thread() {
    #[path = "../benches/gen/mod.rs"]
    #[allow(dead_code, clippy::all)]
    mod generator;
    let mut text = generator::events(5, 20_000).join("\n");
    text.push_str("\n{broken\n[1]\n");
    let events = tmp("threads.jsonl", &text);
    for lateness in ["0s", "90s"] {
        let mut seen = Vec::new();
        for threads in ["1", "2", "3", "5"] {
            let summary = tmp(&format!("threads-summary-{threads}-{lateness}.json"), "");
            let o = run(&[
                "run",
                "--threads",
                threads,
                "--max-lateness",
                lateness,
                "--eof",
                "flush",
                "--summary",
                summary.to_str().unwrap(),
                "examples/events.jsonl",
                events.to_str().unwrap(),
                "examples/events-with-errors.jsonl",
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            seen.push((
                stdout(&o),
                std::fs::read_to_string(&summary).unwrap(),
                stderr(&o),
            ));
        }
        assert!(seen[0].0.lines().count() > 1_000, "alerts to compare");
        // Correlation alerts of several types and groups are among them.
        for kind in ["value_count", "first_seen", "absence"] {
            let n = seen[0]
                .0
                .lines()
                .filter(|l| l.contains(&format!("\"type\":\"{kind}\"")))
                .count();
            assert!(n > 0, "no {kind} alert to compare");
        }
        assert!(seen[0].1.contains("\"invalid\":4"), "{}", seen[0].1);
        for (i, s) in seen.iter().enumerate().skip(1) {
            assert!(
                s == &seen[0],
                "threads run {i} differs (lateness {lateness})"
            );
        }
    }
    let o = run(&["run", "--threads", "0", "examples/events.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Regression: `--summary FILE` naming one of the inputs wrote the summary over the events
/// (found when a command line had its arguments in the wrong order). A file the run would
/// write is refused when it is one it reads, before anything is read or written.
#[test]
fn a_summary_or_state_file_that_is_an_input_is_refused() {
    let events = std::fs::read_to_string(root().join("examples/events.jsonl")).unwrap();
    let input = tmp("keep-me.jsonl", &events);
    for flag in ["--summary", "--state"] {
        let o = run(&[
            "run",
            flag,
            input.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).trim(),
            format!(
                "error: {flag} {} is also an input: it would be written over",
                input.display()
            )
        );
        assert!(o.stdout.is_empty());
        assert_eq!(std::fs::read_to_string(&input).unwrap(), events, "{flag}");
    }
    // The same file by another name (a relative path) is the same file.
    let dir = input.parent().unwrap();
    let o = Command::new(bin())
        .args([
            "run",
            "--summary",
            "./keep-me.jsonl",
            input.to_str().unwrap(),
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), events);
}
