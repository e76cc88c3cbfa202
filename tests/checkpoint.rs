//! Checkpoints: a stream cut anywhere into two runs joined by a checkpoint gives exactly
//! the alerts of one run.

use proptest::prelude::*;
use session_sigma::{Alert, Engine, RuleSet, Settings, StateError};

const RULES: &str = r#"
title: failed
name: failed
logsource: {category: test}
detection: {sel: {action: failed}, condition: sel}
---
title: logon
name: logon
logsource: {category: test}
detection: {sel: {action: login}, condition: sel}
---
title: lock
name: lock
logsource: {category: test}
detection: {sel: {action: lock}, condition: sel}
---
title: unlock
name: unlock
logsource: {category: test}
detection: {sel: {action: unlock}, condition: sel}
---
title: boot
name: boot
logsource: {category: test}
detection: {sel: {action: boot}, condition: sel}
---
title: count
name: count
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 10m, condition: {gte: 3}, generate: true}
---
title: spray
name: spray
correlation: {type: value_count, rules: [failed], group-by: [src], timespan: 10m, condition: {field: user, gte: 2}, on_fire: keep, suppress: 5m}
---
title: sum
name: sum
correlation: {type: value_sum, rules: [logon], group-by: [user], timespan: 30m, condition: {field: bytes, gt: 10}, reset: [boot]}
---
title: avg
name: avg
correlation: {type: value_avg, rules: [logon], group-by: [user], timespan: 30m, condition: {field: bytes, gte: 5}, trigger: [boot]}
---
title: temporal
name: temporal
correlation: {type: temporal, rules: [lock, failed], group-by: [user], timespan: 15m}
---
title: ordered
name: ordered
correlation: {type: temporal_ordered, rules: [count, logon], group-by: [user], timespan: 30m}
---
title: new src
name: new_src
correlation: {type: first_seen, rules: [logon], group-by: [user], field: src, history: 20m}
---
title: absence
name: absence
correlation: {type: absence, rules: [lock], expected: [unlock], group-by: [user], timespan: 7m, anchor: each}
"#;

fn set() -> RuleSet {
    RuleSet::builder()
        .add_str("cp.yml", RULES)
        .build()
        .unwrap_or_else(|d| panic!("{d}"))
}

fn show(a: &Alert) -> String {
    a.to_json()
}

fn settings(lateness_min: i64, flush: bool) -> Settings {
    Settings {
        max_lateness: lateness_min * 60_000_000_000,
        eof_flush: flush,
        ..Settings::default()
    }
}

/// One run over all lines.
fn whole(set: &RuleSet, s: &Settings, lines: &[String]) -> Vec<String> {
    let mut engine = Engine::with_settings(set, s.clone());
    let mut alerts = Vec::new();
    for l in lines {
        engine.process_line(l.as_bytes(), &mut alerts).unwrap();
    }
    engine.finish(&mut alerts);
    alerts.iter().map(show).collect()
}

/// Two runs joined by a checkpoint after `cut` lines.
fn split(set: &RuleSet, s: &Settings, lines: &[String], cut: usize) -> Vec<String> {
    let mut alerts = Vec::new();
    let mut first = Engine::with_settings(set, s.clone());
    for l in &lines[..cut] {
        first.process_line(l.as_bytes(), &mut alerts).unwrap();
    }
    first.pause();
    let state = first.checkpoint();
    let mut second = Engine::with_settings(set, s.clone());
    second.restore(&state).unwrap();
    for l in &lines[cut..] {
        second.process_line(l.as_bytes(), &mut alerts).unwrap();
    }
    second.finish(&mut alerts);
    alerts.iter().map(show).collect()
}

fn line(minute: u32, second: u32, action: &str, user: u8, src: u8, bytes: u8) -> String {
    format!(
        r#"{{"timestamp":"2024-05-01T{:02}:{:02}:{:02}Z","action":"{action}","user":"u{user}","src":"10.0.0.{src}","bytes":{bytes}}}"#,
        10 + minute / 60,
        minute % 60,
        second
    )
}

fn stream() -> impl Strategy<Value = Vec<String>> {
    let event = (
        0u32..90,
        0u32..2,
        prop::sample::select(vec!["failed", "login", "lock", "unlock", "boot"]),
        0u8..3,
        0u8..3,
        0u8..12,
    );
    prop::collection::vec(event, 0..80).prop_map(|mut evs| {
        // Mostly increasing time with some disorder: sort, then swap a few neighbours.
        evs.sort_by_key(|e| (e.0, e.1));
        let n = evs.len();
        for i in (1..n).step_by(7) {
            evs.swap(i - 1, i);
        }
        evs.into_iter()
            .map(|(m, s, a, u, src, b)| line(m, s * 30, a, u, src, b))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_checkpoint_anywhere_gives_the_alerts_of_one_run(lines in stream(), cut_frac in 0.0f64..=1.0, lateness in prop::sample::select(vec![0i64, 2, 10]), flush in any::<bool>()) {
        let set = set();
        let s = settings(lateness, flush);
        let cut = ((lines.len() as f64) * cut_frac) as usize;
        prop_assert_eq!(split(&set, &s, &lines, cut.min(lines.len())), whole(&set, &s, &lines));
    }
}

#[test]
fn a_checkpoint_round_trips_through_json_unchanged() {
    let set = set();
    let lines: Vec<String> = (0..40)
        .map(|i| {
            line(
                i,
                0,
                ["failed", "login", "lock"][i as usize % 3],
                (i % 3) as u8,
                (i % 2) as u8,
                i as u8,
            )
        })
        .collect();
    let mut engine = Engine::with_settings(&set, settings(10, false));
    let mut alerts = Vec::new();
    for l in &lines {
        engine.process_line(l.as_bytes(), &mut alerts).unwrap();
    }
    engine.pause();
    let state = engine.checkpoint();
    let mut again = Engine::with_settings(&set, settings(10, false));
    again.restore(&state).unwrap();
    assert_eq!(again.checkpoint(), state);
    assert!(
        state.starts_with(r#"{"format":"session-sigma-state","version":2,"#),
        "{}",
        &state[..80]
    );
}

#[test]
fn corrupt_foreign_and_incompatible_states_are_refused() {
    let set = set();
    let mut e = Engine::new(&set);
    assert!(matches!(
        e.restore("{not json"),
        Err(StateError::Corrupt(_))
    ));
    assert!(matches!(
        e.restore(r#"{"format":"other"}"#),
        Err(StateError::Corrupt(_))
    ));
    assert_eq!(
        e.restore(r#"{"format":"session-sigma-state","version":99}"#),
        Err(StateError::Version(99))
    );
    let state = Engine::new(&set).checkpoint();
    let other = RuleSet::builder()
        .add_str(
            "o.yml",
            RULES.replace(
                "timespan: 10m, condition: {gte: 3}",
                "timespan: 11m, condition: {gte: 3}",
            ),
        )
        .build()
        .unwrap();
    let mut e = Engine::new(&other);
    assert!(
        matches!(e.restore(&state), Err(StateError::Rules(_))),
        "a changed timespan invalidates the state"
    );
    let mut used = Engine::new(&set);
    used.process_line(br#"{"action":"x"}"#, &mut Vec::new())
        .unwrap();
    assert_eq!(used.restore(&state), Err(StateError::NotFresh));
}
