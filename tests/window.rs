//! Stateful scenarios (docs/semantics.md §3.3, S1–S12): event sequences → the exact alerts.

use session_sigma::{Alert, Engine, RuleSet, Settings, Stats};

const BASE: &str = r#"
title: failed logon
name: failed
logsource: {category: user_session}
detection:
  sel: {action: failed}
  condition: sel
---
title: logon
name: logon
logsource: {category: user_session}
detection:
  sel: {action: [login, remote, rdp, interactive]}
  condition: sel
---
title: lock
name: lock
logsource: {category: user_session}
detection:
  sel: {action: lock}
  condition: sel
---
title: unlock
name: unlock
logsource: {category: user_session}
detection:
  sel: {action: unlock}
  condition: sel
---
title: boot
name: boot
logsource: {category: user_session}
detection:
  sel: {action: boot}
  condition: sel
"#;

fn set(correlations: &str) -> RuleSet {
    let text = format!("{BASE}---\n{correlations}");
    RuleSet::builder()
        .add_str("w.yml", text)
        .build()
        .unwrap_or_else(|d| panic!("{d}"))
}

/// "HH:MM:SS" on 2024-05-01 → RFC 3339.
fn at(hms: &str) -> String {
    format!("2024-05-01T{hms}Z")
}

fn ev(hms: &str, action: &str, user: &str, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(",{extra}")
    };
    format!(
        r#"{{"timestamp":"{}","action":"{action}","user":"{user}","hostname":"H1"{extra}}}"#,
        at(hms)
    )
}

/// One line per alert: `name ts group value values`.
fn show(a: &Alert) -> String {
    let mut s = format!(
        "{} {}",
        a.rule.handle(),
        a.timestamp.map(|t| t.to_string()).unwrap_or_default()
    );
    if let Some(g) = &a.group {
        let g: Vec<String> = g
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect();
        s.push_str(&format!(" [{}]", g.join(",")));
    }
    if let Some(v) = a.value {
        s.push_str(&format!(" value={v}"));
    }
    if let Some(vs) = &a.values {
        s.push_str(&format!(" values={}", serde_json::Value::Array(vs.clone())));
    }
    if let Some(t) = a.anchor_timestamp {
        s.push_str(&format!(" anchor={t}"));
    }
    if a.incomplete {
        s.push_str(" incomplete");
    }
    s
}

fn run_with(set: &RuleSet, settings: Settings, events: &[String]) -> (Vec<String>, Stats) {
    let mut engine = Engine::with_settings(set, settings);
    let mut alerts = Vec::new();
    for e in events {
        engine.process_line(e.as_bytes(), &mut alerts).unwrap();
    }
    let stats = engine.finish(&mut alerts);
    (alerts.iter().map(show).collect(), stats)
}

fn run(set: &RuleSet, events: &[String]) -> Vec<String> {
    run_with(set, Settings::default(), events).0
}

const MIN: i64 = 60_000_000_000;

#[test]
fn event_count_window_is_inclusive_and_resets_on_fire() {
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 3}\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:02:00", "failed", "bob", ""),
        ev("10:03:00", "failed", "eve", ""),
        // exactly 5 minutes after the first: still inside (inclusive)
        ev("10:05:00", "failed", "bob", ""),
        // window was reset by the alert: two more do not fire
        ev("10:06:00", "failed", "bob", ""),
        ev("10:07:00", "failed", "bob", ""),
        ev("10:08:00", "failed", "bob", ""),
    ];
    assert_eq!(
        run(&s, &evs),
        [
            "brute 2024-05-01T10:05:00Z [user=bob] value=3",
            "brute 2024-05-01T10:08:00Z [user=bob] value=3"
        ]
    );
}

#[test]
fn event_count_window_slides() {
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 3}\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:02:00", "failed", "bob", ""),
        ev("10:05:01", "failed", "bob", ""),
        ev("10:06:00", "failed", "bob", ""),
    ];
    // 10:05:01 sees only 10:02 and itself; 10:06 sees 10:02, 10:05:01, 10:06.
    assert_eq!(
        run(&s, &evs),
        ["brute 2024-05-01T10:06:00Z [user=bob] value=3"]
    );
}

#[test]
fn generate_false_silences_the_referenced_rule_and_true_keeps_it() {
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 2}\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:01:00", "failed", "bob", ""),
        ev("10:01:30", "login", "bob", ""),
    ];
    assert_eq!(
        run(&s, &evs),
        [
            "brute 2024-05-01T10:01:00Z [user=bob] value=2",
            "logon 2024-05-01T10:01:30Z"
        ]
    );
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 2}\n  generate: true\n",
    );
    assert_eq!(
        run(&s, &evs),
        [
            "failed 2024-05-01T10:00:00Z",
            "failed 2024-05-01T10:01:00Z",
            "brute 2024-05-01T10:01:00Z [user=bob] value=2",
            "logon 2024-05-01T10:01:30Z"
        ]
    );
}

#[test]
fn value_count_counts_distinct_values_sorted_as_strings() {
    let s = set(
        "title: spray\nname: spray\ncorrelation:\n  type: value_count\n  rules: [failed]\n  group-by: [src_ip]\n  timespan: 10m\n  condition: {field: user, gte: 3}\n",
    );
    let ip = r#""src_ip":"10.0.0.9""#;
    let evs = [
        ev("10:00:00", "failed", "zed", ip),
        ev("10:01:00", "failed", "amy", ip),
        ev("10:02:00", "failed", "zed", ip),
        ev("10:03:00", "failed", "bob", ip),
    ];
    assert_eq!(
        run(&s, &evs),
        [r#"spray 2024-05-01T10:03:00Z [src_ip=10.0.0.9] value=3 values=["amy","bob","zed"]"#]
    );
}

#[test]
fn value_sum_and_avg() {
    let s = set(
        "title: sum\nname: sum\ncorrelation:\n  type: value_sum\n  rules: [logon]\n  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gt: 100}\n  on_fire: keep\n---\ntitle: avg\nname: avg\ncorrelation:\n  type: value_avg\n  rules: [logon]\n  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gte: 60}\n  generate: true\n",
    );
    let evs = [
        ev("10:00:00", "login", "bob", r#""bytes":50"#),
        ev("10:01:00", "login", "bob", r#""bytes":"70""#),
        ev("10:02:00", "login", "bob", r#""bytes":"n/a""#),
    ];
    assert_eq!(
        run(&s, &evs),
        [
            "logon 2024-05-01T10:00:00Z",
            "logon 2024-05-01T10:01:00Z",
            "sum 2024-05-01T10:01:00Z [user=bob] value=120",
            "avg 2024-05-01T10:01:00Z [user=bob] value=60",
            "logon 2024-05-01T10:02:00Z",
            "sum 2024-05-01T10:02:00Z [user=bob] value=120",
        ]
    );
}

#[test]
fn temporal_in_any_order_within_the_span() {
    let s = set(
        "title: t\nname: t\ncorrelation:\n  type: temporal\n  rules: [lock, failed]\n  group-by: [user]\n  timespan: 10m\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:09:00", "lock", "eve", ""),
        ev("10:10:00", "lock", "bob", ""),
        ev("10:30:00", "lock", "bob", ""),
    ];
    assert_eq!(run(&s, &evs), ["t 2024-05-01T10:10:00Z [user=bob] value=2"]);
}

#[test]
fn temporal_ordered_needs_the_order() {
    let s = set(
        "title: o\nname: o\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, logon]\n  group-by: [user]\n  timespan: 10m\n",
    );
    let evs = [
        ev("10:00:00", "login", "bob", ""),
        ev("10:01:00", "failed", "bob", ""),
        ev("10:02:00", "login", "bob", ""),
        ev("10:03:00", "login", "bob", ""),
        ev("10:20:00", "failed", "bob", ""),
        ev("10:30:01", "login", "bob", ""),
    ];
    // `failed` and `logon` are consumed (generate: false), so only `o` alerts; after its
    // alert the chains are reset, and 10:30:01 is more than 10m after 10:20.
    assert_eq!(run(&s, &evs), ["o 2024-05-01T10:02:00Z [user=bob] value=2"]);
}

#[test]
fn brute_force_then_success_chains_an_event_count_into_temporal_ordered() {
    let s = set(
        "title: many failures\nname: many_failures\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 10m\n  condition: {gte: 3}\n---\ntitle: brute force then success\nname: brute_success\ncorrelation:\n  type: temporal_ordered\n  rules: [many_failures, logon]\n  group-by: [user]\n  timespan: 30m\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:01:00", "failed", "bob", ""),
        ev("10:02:00", "failed", "bob", ""),
        ev("10:05:00", "login", "bob", ""),
        ev("10:06:00", "login", "eve", ""),
    ];
    // many_failures and logon are consumed with generate: false; only the outer alerts.
    assert_eq!(
        run(&s, &evs),
        ["brute_success 2024-05-01T10:05:00Z [user=bob] value=2"]
    );
}

#[test]
fn absence_lock_without_unlock() {
    let s = set(
        "title: lock no unlock\nname: lock_no_unlock\ncorrelation:\n  type: absence\n  rules: [lock]\n  expected: [unlock]\n  group-by: [user, hostname]\n  timespan: 15m\n",
    );
    let evs = [
        ev("10:00:00", "lock", "carol", ""),
        ev("10:20:00", "lock", "carol", ""),
        ev("10:21:00", "lock", "dave", ""),
        ev("10:30:00", "unlock", "dave", ""),
    ];
    let (alerts, stats) = run_with(&s, Settings::default(), &evs);
    assert_eq!(
        alerts,
        [
            "lock_no_unlock 2024-05-01T10:15:00Z [user=carol,hostname=H1] anchor=2024-05-01T10:00:00Z"
        ]
    );
    assert_eq!(stats.pending.len(), 1);
    assert_eq!(
        stats.pending[0].deadline.to_string(),
        "2024-05-01T10:35:00Z"
    );
    assert!(stats.to_json().contains(r#""pending":[{"rule":"lock_no_unlock","group":{"user":"carol","hostname":"H1"},"deadline":"2024-05-01T10:35:00Z"}]"#), "{}", stats.to_json());
    let (alerts, stats) = run_with(
        &s,
        Settings {
            eof_flush: true,
            ..Settings::default()
        },
        &evs,
    );
    assert_eq!(
        alerts,
        [
            "lock_no_unlock 2024-05-01T10:15:00Z [user=carol,hostname=H1] anchor=2024-05-01T10:00:00Z",
            "lock_no_unlock 2024-05-01T10:35:00Z [user=carol,hostname=H1] anchor=2024-05-01T10:20:00Z incomplete",
        ]
    );
    assert!(stats.pending.is_empty());
}

#[test]
fn absence_expected_at_the_deadline_discharges_and_anchor_modes() {
    let base = "title: a\nname: a\ncorrelation:\n  type: absence\n  rules: [lock]\n  expected: [unlock]\n  group-by: [user]\n  timespan: 15m\n";
    let s = set(base);
    let evs = [
        ev("10:00:00", "lock", "carol", ""),
        ev("10:15:00", "unlock", "carol", ""),
        ev("11:00:00", "lock", "x", ""),
    ];
    assert_eq!(run(&s, &evs), Vec::<String>::new());
    let evs = [
        ev("10:00:00", "lock", "carol", ""),
        ev("10:10:00", "lock", "carol", ""),
        ev("11:00:00", "lock", "x", ""),
    ];
    assert_eq!(
        run(&s, &evs),
        ["a 2024-05-01T10:15:00Z [user=carol] anchor=2024-05-01T10:00:00Z"]
    );
    let each = set(&format!("{base}  anchor: each\n"));
    assert_eq!(
        run(&each, &evs),
        [
            "a 2024-05-01T10:15:00Z [user=carol] anchor=2024-05-01T10:00:00Z",
            "a 2024-05-01T10:25:00Z [user=carol] anchor=2024-05-01T10:10:00Z"
        ]
    );
    let restart = set(&format!("{base}  anchor: restart\n"));
    assert_eq!(
        run(&restart, &evs),
        ["a 2024-05-01T10:25:00Z [user=carol] anchor=2024-05-01T10:10:00Z"]
    );
}

#[test]
fn first_seen_learns_new_groups_and_forgets_after_history() {
    let s = set(
        "title: new src\nname: new_src\ncorrelation:\n  type: first_seen\n  rules: [logon]\n  group-by: [user]\n  field: src_ip\n  history: 1d\n",
    );
    let ip = |a: &str| format!(r#""src_ip":"{a}""#);
    let evs = [
        ev("10:00:00", "rdp", "alice", &ip("10.0.0.1")), // new group: learned
        ev("10:01:00", "rdp", "alice", &ip("10.0.0.1")),
        ev("10:02:00", "rdp", "alice", &ip("10.0.0.9")), // new value: alert
        ev("10:03:00", "rdp", "alice", r#""src_ip":null"#), // null: skipped
        // > 1d since 10:01: new again
        r#"{"timestamp":"2024-05-02T10:01:01Z","action":"rdp","user":"alice","src_ip":"10.0.0.1"}"#
            .to_string(),
        // exactly 1d: not new
        r#"{"timestamp":"2024-05-02T10:02:00Z","action":"rdp","user":"alice","src_ip":"10.0.0.9"}"#
            .to_string(),
    ];
    assert_eq!(
        run(&s, &evs),
        [
            r#"new_src 2024-05-01T10:02:00Z [user=alice] values=["10.0.0.9"]"#,
            r#"new_src 2024-05-02T10:01:01Z [user=alice] values=["10.0.0.1"]"#
        ]
    );
    let alert_new = set(
        "title: new src\nname: new_src\ncorrelation:\n  type: first_seen\n  rules: [logon]\n  group-by: [user]\n  field: src_ip\n  history: 1d\n  new_group: alert\n  learning: 1m\n",
    );
    let evs = [
        ev("10:00:00", "rdp", "alice", &ip("10.0.0.1")),
        ev("10:01:00", "rdp", "bob", &ip("10.0.0.1")),
        ev("10:01:01", "rdp", "carl", &ip("10.0.0.1")),
    ];
    // learning covers [10:00, 10:01); at 10:01 it is over.
    assert_eq!(
        run(&alert_new, &evs),
        [
            r#"new_src 2024-05-01T10:01:00Z [user=bob] values=["10.0.0.1"]"#,
            r#"new_src 2024-05-01T10:01:01Z [user=carl] values=["10.0.0.1"]"#
        ]
    );
}

#[test]
fn suppress_drops_candidates_within_the_duration() {
    let s = set(
        "title: c\nname: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 1}\n  on_fire: keep\n  suppress: 5m\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:05:00", "failed", "bob", ""),
        ev("10:05:01", "failed", "bob", ""),
        ev("10:06:00", "failed", "eve", ""),
    ];
    assert_eq!(
        run(&s, &evs),
        [
            "c 2024-05-01T10:00:00Z [user=bob] value=1",
            "c 2024-05-01T10:05:01Z [user=bob] value=3",
            "c 2024-05-01T10:06:00Z [user=eve] value=1"
        ]
    );
}

#[test]
fn reset_and_trigger() {
    let s = set(
        "title: since boot\nname: since_boot\ncorrelation:\n  type: value_count\n  rules: [logon]\n  reset: [boot]\n  trigger: [lock]\n  group-by: [hostname]\n  timespan: 1d\n  condition: {field: user, gte: 1}\n",
    );
    let evs = [
        ev("09:00:00", "login", "old", ""),
        ev("09:30:00", "boot", "-", ""),
        ev("10:00:00", "login", "bob", ""),
        ev("10:01:00", "login", "amy", ""),
        ev("10:02:00", "lock", "x", ""),
    ];
    assert_eq!(
        run(&s, &evs),
        [r#"since_boot 2024-05-01T10:02:00Z [hostname=H1] value=2 values=["amy","bob"]"#]
    );
}

#[test]
fn missing_group_field_is_ignored_and_aliases_map_fields() {
    let s = set(
        "title: c\nname: c\ncorrelation:\n  type: temporal\n  rules: [failed, logon]\n  group-by: [account]\n  aliases:\n    account:\n      failed: target\n      logon: user\n  timespan: 5m\n",
    );
    let evs = [
        format!(
            r#"{{"timestamp":"{}","action":"failed","user":"x","target":"bob"}}"#,
            at("10:00:00")
        ),
        format!(
            r#"{{"timestamp":"{}","action":"failed","user":"bob"}}"#,
            at("10:00:30")
        ),
        ev("10:01:00", "login", "bob", ""),
    ];
    let (alerts, _) = run_with(&s, Settings::default(), &evs);
    assert_eq!(alerts, ["c 2024-05-01T10:01:00Z [account=bob] value=2"]);
}

#[test]
fn late_events_run_detection_but_not_correlations() {
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 2}\n  generate: true\n",
    );
    let evs = [
        ev("10:00:00", "failed", "bob", ""),
        ev("10:10:00", "login", "x", ""),
        ev("10:05:00", "failed", "bob", ""),
    ];
    let (alerts, stats) = run_with(&s, Settings::default(), &evs);
    // The late alert is written when it arrives; the 10:10 alert is still held then (alerts of
    // one time wait until processing passes it, so that ties across events are ordered).
    assert_eq!(
        alerts,
        [
            "failed 2024-05-01T10:00:00Z",
            "failed 2024-05-01T10:05:00Z",
            "logon 2024-05-01T10:10:00Z"
        ]
    );
    assert_eq!(stats.late, 1);
    // With enough lateness allowed, the event is reordered and counted.
    let (alerts, stats) = run_with(
        &s,
        Settings {
            max_lateness: 10 * MIN,
            ..Settings::default()
        },
        &evs,
    );
    assert_eq!(
        alerts,
        [
            "failed 2024-05-01T10:00:00Z",
            "failed 2024-05-01T10:05:00Z",
            "brute 2024-05-01T10:05:00Z [user=bob] value=2",
            "logon 2024-05-01T10:10:00Z"
        ]
    );
    assert_eq!(stats.late, 0);
}

#[test]
fn events_without_timestamp_are_counted_and_skip_correlations() {
    let s = set(
        "title: brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 1}\n  generate: true\n",
    );
    let evs = [r#"{"action":"failed","user":"bob"}"#.to_string()];
    let (alerts, stats) = run_with(&s, Settings::default(), &evs);
    assert_eq!(alerts, ["failed "]);
    assert_eq!(stats.no_timestamp, 1);
}

#[test]
fn bad_correlations_are_rejected_with_codes() {
    let cases = [
        (
            "title: c\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: {gte: 1}\n",
            "E308",
        ),
        (
            "title: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  condition: {gte: 1}\n",
            "E310",
        ),
        (
            "title: c\ncorrelation:\n  type: value_count\n  rules: [failed]\n  timespan: 5m\n  condition: {gte: 1}\n",
            "E310",
        ),
        (
            "title: c\ncorrelation:\n  type: first_seen\n  rules: [failed]\n  field: user\n",
            "E310",
        ),
        (
            "title: c\ncorrelation:\n  type: absence\n  rules: [failed]\n  timespan: 5m\n",
            "E310",
        ),
        (
            "title: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  timespam: 5m\n  condition: {gte: 1}\n",
            "E310",
        ),
        (
            "title: c\ncorrelation:\n  type: counting\n  rules: [failed]\n",
            "E310",
        ),
        (
            "title: a\nname: a\ncorrelation:\n  type: temporal\n  rules: [b]\n  timespan: 5m\n---\ntitle: b\nname: b\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 5m\n",
            "E309",
        ),
    ];
    for (text, code) in cases {
        let full = format!("{BASE}---\n{text}");
        let d = RuleSet::builder()
            .add_str("c.yml", full)
            .build()
            .expect_err(text);
        assert!(
            d.iter().any(|x| x.code.as_str() == code),
            "{text}: expected {code}, got:\n{d}"
        );
    }
}

#[test]
fn max_groups_evicts_the_least_recently_used_group_and_counts_it() {
    let s = set(
        "title: c\nname: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 2}\n",
    );
    let evs = [
        ev("10:00:00", "failed", "a", ""),
        ev("10:01:00", "failed", "b", ""),
        ev("10:02:00", "failed", "c", ""), // evicts a
        ev("10:03:00", "failed", "a", ""), // a starts again (evicts b): no alert
        ev("10:04:00", "failed", "c", ""), // c kept its count
    ];
    let limits = session_sigma::Limits {
        max_groups: 2,
        max_group_entries: 100,
    };
    let (alerts, stats) = run_with(
        &s,
        Settings {
            limits,
            ..Settings::default()
        },
        &evs,
    );
    assert_eq!(alerts, ["c 2024-05-01T10:04:00Z [user=c] value=2"]);
    assert_eq!((stats.evicted_groups, stats.evicted_entries), (2, 0));
    assert!(
        stats
            .to_json()
            // docs/semantics.md §4.2: each rare key only when non-zero.
            .ends_with(r#""pending":[],"evicted_groups":2}"#),
        "{}",
        stats.to_json()
    );
}

#[test]
fn max_group_entries_drops_the_oldest_entries_and_counts_them() {
    let s = set(
        "title: c\nname: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 1h\n  condition: {gte: 3}\n",
    );
    let evs = [
        ev("10:00:00", "failed", "a", ""),
        ev("10:01:00", "failed", "a", ""),
        ev("10:02:00", "failed", "a", ""),
    ];
    let limits = session_sigma::Limits {
        max_groups: 10,
        max_group_entries: 2,
    };
    let (alerts, stats) = run_with(
        &s,
        Settings {
            limits,
            ..Settings::default()
        },
        &evs,
    );
    assert_eq!(
        alerts,
        Vec::<String>::new(),
        "the window never holds three entries"
    );
    assert_eq!(stats.evicted_entries, 1);
}

#[test]
fn idle_groups_are_dropped_once_their_window_has_passed() {
    let s = set(
        "title: c\nname: c\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 100}\n",
    );
    let mut engine = Engine::new(&s);
    let mut alerts = Vec::new();
    for i in 0..1000 {
        engine
            .process_line(
                ev("10:00:00", "failed", &format!("u{i}"), "").as_bytes(),
                &mut alerts,
            )
            .unwrap();
    }
    assert_eq!(engine.live_groups(), 1000);
    engine
        .process_line(
            ev("10:05:00", "failed", "late_one", "").as_bytes(),
            &mut alerts,
        )
        .unwrap();
    assert_eq!(
        engine.live_groups(),
        1001,
        "10:00 is still inside [10:00, 10:05]"
    );
    engine
        .process_line(ev("10:05:01", "failed", "last", "").as_bytes(), &mut alerts)
        .unwrap();
    assert_eq!(
        engine.live_groups(),
        2,
        "groups last touched before 10:00:01 cannot matter any more"
    );
}

/// docs/semantics.md §4.1: a late event's detection alerts are written when it arrives, after the
/// alerts held for ordering that are older than W (nothing can join those any more), and
/// before those at W. So the output is ordered by (time, …) and, for late events, by W at
/// arrival: a function of the input, which cluster mode reproduces. Regression: they used
/// to jump ahead of held alerts older than W.
#[test]
fn late_alerts_follow_the_held_alerts_older_than_the_watermark() {
    let s = set("");
    let settings = Settings {
        max_lateness: 5 * MIN,
        ..Settings::default()
    };
    let evs = [
        ev("10:00:00", "failed", "a", ""),
        // W = 10:05: releases 10:00 (its alert is held for ordering at 10:00).
        ev("10:10:00", "lock", "b", ""),
        // Late (09:50 < W): written at once, but after the 10:00 alert.
        ev("09:50:00", "unlock", "c", ""),
    ];
    let (alerts, stats) = run_with(&s, settings, &evs);
    assert_eq!(stats.late, 1);
    assert_eq!(
        alerts,
        [
            "failed 2024-05-01T10:00:00Z",
            "unlock 2024-05-01T09:50:00Z",
            "lock 2024-05-01T10:10:00Z",
        ]
    );
}
