//! The bundled rule pack: every rule compiles and every embedded test passes, with the
//! rule index on and off.

use session_sigma::{Options, RuleSet};

fn pack(use_index: bool) -> RuleSet {
    RuleSet::builder()
        .options(Options {
            use_index,
            optimize: use_index,
            placeholders: None,
            extra_fields: Vec::new(),
        })
        .add_path(&super::common::root().join("rules"))
        .build()
        .unwrap_or_else(|d| panic!("the rule pack does not compile:\n{d}"))
}

#[test]
fn every_bundled_rule_test_passes_with_and_without_the_index() {
    for use_index in [true, false] {
        let set = pack(use_index);
        let outcomes = session_sigma::testing::run_all(&set);
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|o| {
                o.failure
                    .as_ref()
                    .map(|f| format!("{} :: {} :: {}\n{f}", o.path, o.rule, o.name))
            })
            .collect();
        assert!(
            failed.is_empty(),
            "index {use_index}: {} failing rule tests:\n{}",
            failed.len(),
            failed.join("\n")
        );
        assert!(
            outcomes.len() >= 2 * set.len(),
            "every rule needs a positive and a negative test"
        );
    }
}

#[test]
fn pack_has_session_and_windows_rules_each_with_both_kinds_of_test() {
    let set = pack(true);
    let session = set
        .rules()
        .filter(|r| r.path.contains("rules/session/"))
        .count();
    let windows = set
        .rules()
        .filter(|r| r.path.contains("rules/windows/"))
        .count();
    assert!(session >= 15, "{session} session rules");
    assert!(windows >= 3, "{windows} windows rules");
    assert!(
        set.warnings().is_empty(),
        "the pack has warnings:\n{}",
        set.warnings()
    );
}

#[test]
fn a_failing_rule_test_is_reported() {
    let text = r#"
title: t
name: t
logsource: {category: test}
detection:
  sel: {action: rdp}
  condition: sel
tests:
  - name: wrong on purpose
    events: [{action: remote}]
    expect: match
  - name: also wrong
    events: [{action: rdp}]
    expect: no_match
  - name: wrong alerts
    events: [{timestamp: "2024-05-01T10:00:00Z", action: rdp}]
    expect:
      alerts:
        - {timestamp: "2024-05-01T10:00:01Z"}
  - name: right alerts
    events: [{timestamp: "2024-05-01T10:00:00Z", action: rdp}, {action: rdp}]
    expect:
      alerts:
        - {timestamp: "2024-05-01T10:00:00Z"}
        - {timestamp: null}
"#;
    let set = RuleSet::builder().add_str("t.yml", text).build().unwrap();
    let outcomes = session_sigma::testing::run_all(&set);
    let failures: Vec<bool> = outcomes.iter().map(|o| o.failure.is_some()).collect();
    assert_eq!(failures, [true, true, true, false]);
    let report = |i: usize| outcomes[i].failure.as_ref().unwrap().to_string();
    // Each failure points at the event or expectation (line:col, columns from 1) and, for
    // match / no_match, explains the event part by part.
    assert_eq!(
        report(0),
        "  t.yml:10:14: event 1 did not match (expect: match)\n      result: no match\n      condition: sel  false\n        action: rdp   false   action = \"remote\" (line 6)"
    );
    assert_eq!(
        report(1),
        "  t.yml:13:14: event 1 matched (expect: no_match)\n      result: match\n      condition: sel  true\n        action: rdp   true    action = \"rdp\" (line 6)"
    );
    assert_eq!(
        report(2),
        "  t.yml:19:11: expected alert #1 differs from alert #1\n      timestamp: expected \"2024-05-01T10:00:01Z\", got \"2024-05-01T10:00:00Z\""
    );
}

#[test]
fn test_documents_attach_to_rules_by_name() {
    let rule = "title: t\nname: rdp_any\nlogsource: {category: test}\ndetection:\n  sel: {action: rdp}\n  condition: sel\n";
    let tests =
        "rule: rdp_any\ntests:\n  - name: fires\n    events: [{action: rdp}]\n    expect: match\n";
    let set = RuleSet::builder()
        .add_str("r.yml", rule)
        .add_str("r.test.yml", tests)
        .build()
        .unwrap();
    let outcomes = session_sigma::testing::run_all(&set);
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        (outcomes[0].path.as_str(), outcomes[0].failure.is_none()),
        ("r.test.yml", true)
    );
    let dangling =
        "rule: nope\ntests:\n  - name: x\n    events: [{action: rdp}]\n    expect: match\n";
    let err = RuleSet::builder()
        .add_str("r.yml", rule)
        .add_str("n.test.yml", dangling)
        .build()
        .unwrap_err();
    assert_eq!(err.0[0].code, session_sigma::Code::BadTest);
}

#[path = "../benches/gen/mod.rs"]
mod generator;

/// (rule title, event) of every alert of `rules` over `lines`, with the rule index and
/// visiting every rule.
fn with_and_without_index(rules: &str, lines: &[String]) -> Vec<Vec<(String, String)>> {
    [true, false]
        .into_iter()
        .map(|use_index| {
            let set = RuleSet::builder()
                .options(Options {
                    use_index,
                    optimize: true,
                    placeholders: None,
                    extra_fields: Vec::new(),
                })
                .add_str("index.yml", rules)
                .build()
                .expect("rules compile");
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            super::common::run_lines(&set, &lines)
                .iter()
                .map(|a| (a.rule.title.clone(), a.events[0].to_string()))
                .collect()
        })
        .collect()
}

/// The anchor index (exact values, pairs, literals, networks) only narrows the rules an
/// event visits: on generated rules and events it gives exactly the alerts of visiting
/// every rule.
#[test]
fn the_index_never_hides_a_match() {
    let runs = with_and_without_index(&generator::rules(3, 400), &generator::events(11, 4_000));
    assert!(
        runs[0].len() > 1_000,
        "the rules match often: {}",
        runs[0].len()
    );
    assert_eq!(runs[0], runs[1]);
}

/// Identical field items of different rules share one predicate, evaluated once per event
/// (memoised): each rule still gets its own answer, event after event.
#[test]
fn shared_predicates_answer_every_rule_on_every_event() {
    let text = r#"
title: A
name: a
logsource: {category: test}
detection: {sel: {action: rdp}, condition: sel}
---
title: B
name: b
logsource: {category: test}
detection: {sel: {action: rdp}, other: {user: bob}, condition: other and not sel}
---
title: C
name: c
logsource: {category: test}
detection: {sel: {action: rdp}, other: {user: bob}, condition: sel and other}
"#;
    let set = super::common::rules(text);
    let lines = [
        r#"{"timestamp":"2024-05-01T10:00:00Z","action":"rdp","user":"bob"}"#,
        r#"{"timestamp":"2024-05-01T10:00:01Z","action":"remote","user":"bob"}"#,
        r#"{"timestamp":"2024-05-01T10:00:02Z","action":"rdp","user":"eve"}"#,
        r#"{"timestamp":"2024-05-01T10:00:03Z","action":"local","user":"eve"}"#,
    ];
    let got: Vec<(String, String)> = super::common::run_lines(&set, &lines)
        .iter()
        .map(|a| {
            (
                a.rule.name.clone().unwrap_or_default(),
                a.timestamp.map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("a", "2024-05-01T10:00:00Z"),
        ("c", "2024-05-01T10:00:00Z"),
        ("b", "2024-05-01T10:00:01Z"),
        ("a", "2024-05-01T10:00:02Z"),
    ]
    .iter()
    .map(|(r, t)| (r.to_string(), t.to_string()))
    .collect();
    assert_eq!(got, want);
}

/// Regexes anchor rules in the index by their literals (issue 14): a rule whose only test
/// on a field is a regex, on strings and numbers, case-sensitive or not, still fires
/// exactly as when every rule is visited.
#[test]
fn regex_literals_anchor_rules_without_hiding_a_match() {
    let lines = generator::events(5, 6_000);
    let rules = r#"
title: hosts
logsource: {category: user_session}
detection: {sel: {hostname|re: '^WS07[0-9]{2}$'}, condition: sel}
---
title: users ignoring case
logsource: {category: user_session}
detection: {sel: {user|re|i: 'USER1[0-9]$'}, condition: sel}
---
title: ports as numbers
logsource: {category: user_session}
detection: {sel: {src_port|re: '^6[0-4][0-9]{3}$'}, condition: sel}
---
title: inline flag and backslash
logsource: {category: user_session}
detection: {sel: {user|re: '(?i)corp\\user4'}, condition: sel}
---
title: alternation and suffix
logsource: {category: user_session}
detection: {sel: {logon_id|re: '(0x1[0-9a-f]{3}|ffff)$'}, other: {src_ip|re: '\.1$'}, condition: sel or other}
"#;
    let runs = with_and_without_index(rules, &lines);
    let fired: std::collections::BTreeSet<&str> = runs[1].iter().map(|a| a.0.as_str()).collect();
    assert_eq!(fired.len(), 5, "every rule fires: {fired:?}");
    assert_eq!(runs[0], runs[1]);
}
