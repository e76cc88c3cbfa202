//! Hostile input: every case gives a clear error or is counted and skipped, never a panic
//! and never unbounded memory, and the other events still get through.

use super::common::{rules, run_lines};
use session_sigma::{Code, Engine, EventError, RuleSet};

const RULE: &str = "title: t\nname: t\nlogsource: {category: test}\ndetection:\n  sel: {action: rdp}\n  condition: sel\n";

fn first_error(text: &str) -> session_sigma::Diagnostic {
    let d = RuleSet::builder()
        .add_str("h.yml", text)
        .build()
        .expect_err("must not compile");
    d.iter().find(|x| x.is_error()).cloned().expect("an error")
}

#[test]
fn invalid_utf8_line_is_counted_and_skipped() {
    let set = rules(RULE);
    let mut engine = Engine::new(&set);
    let mut alerts = Vec::new();
    let bad = b"{\"action\":\"rdp\",\"user\":\"\xff\xfe\"}";
    let err = engine.process_line(bad, &mut alerts).unwrap_err();
    assert!(matches!(err, EventError::Json { .. }), "{err}");
    engine
        .process_line(br#"{"action":"rdp"}"#, &mut alerts)
        .unwrap();
    let stats = engine.finish(&mut alerts);
    assert_eq!((stats.invalid, stats.events, alerts.len()), (1, 1, 1));
}

#[test]
fn ten_mib_line_is_skipped_by_the_reader_without_buffering() {
    use session_sigma::event::{Line, LineReader};
    let mut data = Vec::new();
    data.extend_from_slice(b"{\"action\":\"rdp\",\"pad\":\"");
    data.resize(10 << 20, b'x');
    data.extend_from_slice(b"\"}\n{\"action\":\"rdp\"}\n");
    let mut r = LineReader::new(std::io::BufReader::new(&data[..]), 4 << 20);
    match r.next_line().unwrap() {
        Some((1, Line::TooLong(n))) => assert_eq!(n, (10 << 20) + 2),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        r.next_line().unwrap(),
        Some((2, Line::Text(&br#"{"action":"rdp"}"#[..])))
    );
}

#[test]
fn ten_mib_event_is_processed_by_the_engine() {
    let set = rules(RULE);
    let mut line = String::from("{\"action\":\"rdp\",\"pad\":\"");
    line.push_str(&"x".repeat(10 << 20));
    line.push_str("\"}");
    let alerts = run_lines(&set, &[&line]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn deeply_nested_json_is_invalid_not_a_crash() {
    let set = rules(RULE);
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let mut engine = Engine::new(&set);
    let mut alerts = Vec::new();
    let err = engine
        .process_line(deep.as_bytes(), &mut alerts)
        .unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
    assert_eq!(engine.stats().invalid, 1);
}

#[test]
fn non_object_events_are_invalid() {
    let set = rules(RULE);
    let mut engine = Engine::new(&set);
    let mut alerts = Vec::new();
    for (line, kind) in [
        ("[1,2]", "an array"),
        ("\"x\"", "a string"),
        ("42", "a number"),
        ("null", "null"),
    ] {
        let err = engine
            .process_line(line.as_bytes(), &mut alerts)
            .unwrap_err();
        assert_eq!(err, EventError::NotObject(kind));
    }
    assert_eq!(engine.stats().invalid, 4);
}

#[test]
fn yaml_alias_bomb_is_rejected() {
    let mut text = String::from(
        "title: bomb\nlogsource: {category: test}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("detection:\n  sel: {x: *a9}\n  condition: sel\n");
    let e = first_error(&text);
    assert_eq!(e.code, Code::YamlTooLarge);
    assert!(e.span.is_some());
}

#[test]
fn deeply_nested_yaml_is_rejected() {
    let text = format!(
        "title: t\nlogsource: {{category: test}}\ndetection:\n  sel: {}x{}\n  condition: sel\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(first_error(&text).code, Code::YamlTooLarge);
}

#[test]
fn condition_nested_ten_thousand_deep_is_rejected_with_column() {
    let cond = format!("{}sel{}", "(".repeat(10_000), ")".repeat(10_000));
    let text = format!(
        "title: t\nlogsource: {{category: test}}\ndetection:\n  sel: {{action: rdp}}\n  condition: {cond}\n"
    );
    let e = first_error(&text);
    assert_eq!(e.code, Code::ConditionTooDeep);
    let span = e.span.unwrap();
    assert_eq!((span.line, span.col + 1), (5, 14 + 64));
}

#[test]
fn ten_thousand_nots_fold_without_recursion() {
    let cond = "not ".repeat(10_000) + "sel";
    let text = format!(
        "title: t\nlogsource: {{category: test}}\ndetection:\n  sel: {{action: rdp}}\n  condition: {cond}\n"
    );
    let set = rules(&text);
    assert_eq!(
        run_lines(&set, &[r#"{"action":"rdp"}"#, r#"{"action":"x"}"#]).len(),
        1
    );
}

#[test]
fn regex_compiling_to_gigabytes_is_rejected() {
    let text = "title: t\nlogsource: {category: test}\ndetection:\n  sel:\n    user|re: '((a{100}){100}){100}'\n  condition: sel\n";
    let e = first_error(text);
    assert_eq!(e.code, Code::RegexTooLarge);
    assert_eq!(e.span.map(|s| s.line), Some(5));
}

#[test]
fn windash_explosion_is_bounded() {
    let text = "title: t\nlogsource: {category: test}\ndetection:\n  sel:\n    cmd|windash|contains: '-a -b -c -d -e -f -g'\n  condition: sel\n";
    assert_eq!(first_error(text).code, Code::BadModifierValue);
}

#[test]
fn huge_flat_condition_compiles() {
    let mut text = String::from(
        "title: t\nlogsource: {category: test}\ndetection:\n  sel: {action: rdp}\n  condition: sel",
    );
    for _ in 0..20_000 {
        text.push_str(" and sel");
    }
    text.push('\n');
    let set = rules(&text);
    assert_eq!(run_lines(&set, &[r#"{"action":"rdp"}"#]).len(), 1);
}

#[test]
fn wrong_types_in_events_do_not_match_and_do_not_fail() {
    let text = "title: t\nlogsource: {category: test}\ndetection:\n  sel:\n    src_ip|cidr: 10.0.0.0/8\n    port|gt: 10\n    ts|hour: 3\n  condition: sel\n";
    let set = rules(text);
    let lines = [
        r#"{"src_ip":{"nested":true},"port":"x","ts":[1,2]}"#,
        r#"{"src_ip":12,"port":null,"ts":"not a time"}"#,
        r#"{"src_ip":"10.1.1.1","port":"11","ts":"2024-05-01T03:00:00Z"}"#,
    ];
    let alerts = run_lines(&set, &lines);
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].events[0].contains("10.1.1.1"));
}

#[test]
fn byte_order_mark_and_crlf_are_not_data() {
    let set = rules(RULE);
    let alerts = run_lines(
        &set,
        &["\u{feff}{\"action\":\"rdp\"}", "{\"action\":\"rdp\"}\r"],
    );
    assert_eq!(alerts.len(), 2);
    assert_eq!(&*alerts[0].events[0], "{\"action\":\"rdp\"}");
}

/// Regression: with stdout or stderr closed early (`session-sigma test | head -1`,
/// `run … 2>&1 | head`), the CLI used to panic (exit 101) on its next write.
#[test]
fn closed_output_streams_do_not_panic() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(super::common::bin())
        .arg("test")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let status = child.wait().expect("waits");
    assert_eq!(
        status.code(),
        Some(0),
        "rule tests pass; closed stdout is not a crash"
    );
    let mut child = Command::new(super::common::bin())
        .args(["run", "--input-format", "session"])
        .arg(super::common::root().join("examples/events-with-errors.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stderr.take());
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(0));
}

/// A damaged EVTX file (bytes overwritten at random past the header) is read record by
/// record: damaged records are invalid, the rest are read, nothing panics.
#[test]
fn damaged_evtx_is_read_around_the_damage() {
    let Some(data) = super::common::shared_data() else {
        return;
    };
    let mut bytes = std::fs::read(data.join("evtx/evtx-crate__security.evtx")).expect("sample");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = 4096 + (x as usize) % (bytes.len() - 4096);
        bytes[i] = (x >> 32) as u8;
    }
    let (mut ok, mut bad) = (0, 0);
    session_sigma::source::evtx::read(std::io::Cursor::new(bytes), &mut |_, o| {
        match o {
            session_sigma::source::Outcome::Invalid(_) => bad += 1,
            _ => ok += 1,
        }
        true
    })
    .expect("the file header is intact");
    assert!(bad > 0, "the damage is reported");
    assert!(ok > 1500, "most of the 2261 records are still read: {ok}");
}
