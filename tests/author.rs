//! The detection author's loop through the binary (issue 15): `explain` on an event and
//! over a stream, test failures that point, JUnit and SARIF reports, `check --format json`,
//! composable rule sets, colour. Outputs are compared with golden files under
//! `tests/golden/` (`UPDATE_GOLDEN=1 cargo test author::` rewrites them; review the diff).

use super::common::{bin, golden, root, run, stderr, stdout};
use serde::Deserialize;
use std::process::{Command, Output};

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).current_dir(root()).env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "session-sigma-author-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const RDP: &str = "tests/data/author/rdp_public.yml";
const BRUTE: &str = "tests/data/author/brute.yml";
const EVENTS: &str = "tests/data/author/events.jsonl";
const FAILING: &str = "tests/data/author/failing.yml";

/// `explain rdp_public` on line `n` of the events file.
fn explain_rdp_line(n: &str) -> Output {
    run(&[
        "explain",
        "rdp_public",
        "--rules",
        RDP,
        "--events",
        EVENTS,
        "--line",
        n,
    ])
}

#[test]
fn explain_marks_every_part_of_a_detection_rule_on_one_event() {
    let o = explain_rdp_line("5");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("explain_detection.txt", &stdout(&o));
    // The same event given inline gives the same tree (without the file line).
    let line5 = std::fs::read_to_string(root().join(EVENTS)).unwrap();
    let line5 = line5.lines().nth(4).unwrap();
    let inline = run(&["explain", "rdp_public", "--rules", RDP, "--event", line5]);
    assert_eq!(
        stdout(&inline),
        stdout(&o).replace("event: tests/data/author/events.jsonl:5\n", "")
    );
}

#[test]
fn explain_a_field_missing_from_the_event() {
    let o = run(&[
        "explain",
        "rdp_public",
        "--rules",
        RDP,
        "--event",
        r#"{"timestamp":"2024-05-01T10:00:00Z","action":"rdp"}"#,
    ]);
    let out = stdout(&o);
    // No address: `private` is false because the field is missing, so `not private` holds.
    assert!(
        out.contains("      src_ip|cidr                             missing src_ip is not in the event (line 8)\n"),
        "{out}"
    );
    assert!(out.contains("result: match\n"), "{out}");
}

#[test]
fn explain_a_correlation_over_a_file() {
    let o = run(&[
        "explain",
        "three_failures",
        "--rules",
        BRUTE,
        "--events",
        EVENTS,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("explain_correlation.txt", &stdout(&o));
    // Up to a line: the state before the alert.
    let o = run(&[
        "explain",
        "three_failures",
        "--rules",
        BRUTE,
        "--events",
        EVENTS,
        "--line",
        "4",
    ]);
    let out = stdout(&o);
    assert!(out.contains("result: 0 alert(s)\n"), "{out}");
    assert!(
        out.contains("    window: 2 events, 2024-05-01T10:00:00Z to 2024-05-01T10:03:00Z\n    count: 2\n    condition: count >= 3 is false\n"),
        "{out}"
    );
}

#[test]
fn explain_errors_are_clear() {
    let o = run(&["explain", "rdp_public", "--rules", RDP, "--events", EVENTS]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: tests/data/author/events.jsonl holds 8 events: pick one with --line N\n"
    );
    let o = run(&[
        "explain",
        "rdp_public",
        "--rules",
        RDP,
        "--event",
        "{not json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: --event is not an event: "),
        "{}",
        stderr(&o)
    );
    let o = explain_rdp_line("99");
    assert_eq!(
        stderr(&o),
        "error: tests/data/author/events.jsonl:99 is not an event (blank, invalid or past the end)\n"
    );
}

#[test]
fn failing_tests_point_at_the_expectation_and_explain_the_event() {
    let o = run(&["test", FAILING]);
    assert_eq!(o.status.code(), Some(1));
    golden("test_failures.txt", &stdout(&o));
}

#[test]
fn filter_runs_only_the_named_tests() {
    let o = run(&["test", FAILING, "--filter", "passes"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "test tests/data/author/failing.yml :: rdp_outside :: passes ... ok\n1 passed, 0 failed\n"
    );
    let o = run(&["test", FAILING, "--filter", "an * fire*"]);
    // "an address outside fires" and "an inside address does not fire", not "an alert that never comes".
    assert_eq!(stdout(&o).lines().last(), Some("0 passed, 2 failed"));
    let o = run(&["test", FAILING, "--filter", "nothing like it"]);
    assert_eq!(stdout(&o), "0 passed, 0 failed\n");
    assert_eq!(
        stderr(&o),
        "warning: --filter `nothing like it` selects no test\n"
    );
}

/// Runs the failing tests with `--report KIND=FILE`; the file.
fn failing_report(kind: &str) -> std::path::PathBuf {
    let file = tmp_dir(&format!("report-{kind}")).join("report");
    let o = run(&[
        "test",
        FAILING,
        "--report",
        &format!("{kind}={}", file.display()),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    file
}

#[test]
fn junit_report_is_well_formed_and_complete() {
    let file = failing_report("junit");
    let text = std::fs::read_to_string(&file).unwrap();
    // A strict XML parser: any malformed or unescaped text fails here.
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    assert_eq!(
        (suites.attribute("tests"), suites.attribute("failures")),
        (Some("6"), Some("5"))
    );
    let suite: Vec<_> = suites.children().filter(|n| n.is_element()).collect();
    assert_eq!(suite.len(), 1);
    assert_eq!(suite[0].attribute("name"), Some(FAILING));
    let cases: Vec<(String, Option<String>, Option<String>)> = suite[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            let failure = c.children().find(|n| n.has_tag_name("failure"));
            (
                format!(
                    "{}@{}",
                    c.attribute("name").unwrap(),
                    c.attribute("line").unwrap()
                ),
                failure.and_then(|f| f.attribute("message").map(str::to_string)),
                failure.and_then(|f| f.text().map(|t| t.lines().next().unwrap_or("").to_string())),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        cases,
        vec![
            (
                "an address outside fires@11".to_string(),
                s("event 1 did not match (expect: match)"),
                s("  tests/data/author/failing.yml:13:9: event 1 did not match (expect: match)")
            ),
            (
                "an inside address does not fire@15".to_string(),
                s("event 1 matched (expect: no_match)"),
                s("  tests/data/author/failing.yml:17:9: event 1 matched (expect: no_match)")
            ),
            (
                "alerts in order@19".to_string(),
                s("expected alert #2 differs from alert #2"),
                s("  tests/data/author/failing.yml:27:11: expected alert #2 differs from alert #2")
            ),
            (
                "a second event no one expected@29".to_string(),
                s("extra alert #2: {\"timestamp\":\"2024-05-01T10:00:05Z\"}"),
                s(
                    "  tests/data/author/failing.yml:34:7: extra alert #2: {\"timestamp\":\"2024-05-01T10:00:05Z\"}"
                )
            ),
            ("passes@36".to_string(), None, None),
            (
                "an alert that never comes@40".to_string(),
                s("expected alert #2 is missing: {\"timestamp\":\"2024-05-01T10:05:00Z\"}"),
                s(
                    "  tests/data/author/failing.yml:46:11: expected alert #2 is missing: {\"timestamp\":\"2024-05-01T10:05:00Z\"}"
                )
            ),
        ]
    );
}

// SARIF 2.1.0, read strictly: only the properties the standard defines at each place
// this tool writes, every required one present (`deny_unknown_fields`, no defaults).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: String,
    version: String,
    runs: Vec<SarifRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifRun {
    tool: SarifTool,
    results: Vec<SarifResult>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifTool {
    driver: SarifDriver,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifDriver {
    name: String,
    version: String,
    rules: Vec<SarifRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SarifRule {
    id: String,
    short_description: Option<SarifText>,
    default_configuration: Option<SarifConfiguration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifConfiguration {
    level: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifText {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    level: String,
    message: SarifText,
    locations: Vec<SarifLocation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SarifLocation {
    physical_location: SarifPhysical,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SarifPhysical {
    artifact_location: SarifArtifact,
    region: Option<SarifRegion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SarifArtifact {
    uri: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SarifRegion {
    start_line: u32,
    start_column: u32,
    end_column: u32,
}

fn read_sarif(path: &std::path::Path) -> SarifLog {
    let log: SarifLog = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("not SARIF 2.1.0 as this test reads it: {e}"));
    assert_eq!(log.version, "2.1.0");
    assert!(log.schema.ends_with("sarif-2.1.0.json"));
    assert_eq!(log.runs.len(), 1);
    assert_eq!(log.runs[0].tool.driver.name, "session-sigma");
    assert!(!log.runs[0].tool.driver.version.is_empty());
    let levels = ["none", "note", "warning", "error"];
    for r in &log.runs[0].results {
        assert!(levels.contains(&r.level.as_str()));
        // Every result's rule is declared by the driver.
        assert!(
            log.runs[0]
                .tool
                .driver
                .rules
                .iter()
                .any(|d| d.id == r.rule_id)
        );
        for l in &r.locations {
            if let Some(g) = &l.physical_location.region {
                assert!(g.start_line >= 1 && g.start_column >= 1 && g.end_column > g.start_column);
            }
        }
    }
    for d in &log.runs[0].tool.driver.rules {
        assert!(
            d.short_description
                .as_ref()
                .is_none_or(|t| !t.text.is_empty())
        );
        assert!(
            d.default_configuration
                .as_ref()
                .is_none_or(|c| levels.contains(&c.level.as_str()))
        );
    }
    log
}

/// (rule id, uri, line, column, first line of the message) of each result.
fn results(log: &SarifLog) -> Vec<(String, String, u32, u32, String)> {
    log.runs[0]
        .results
        .iter()
        .map(|r| {
            let p = &r.locations[0].physical_location;
            let g = p.region.as_ref().expect("a region");
            (
                r.rule_id.clone(),
                p.artifact_location.uri.clone(),
                g.start_line,
                g.start_column,
                r.message.text.lines().next().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn sarif_report_of_tests_points_at_each_failed_expectation() {
    let file = failing_report("sarif");
    let log = read_sarif(&file);
    let f = FAILING.to_string();
    let t = "test-failure".to_string();
    assert_eq!(
        results(&log),
        vec![
            (t.clone(), f.clone(), 13, 9, "rdp_outside :: an address outside fires: event 1 did not match (expect: match)".into()),
            (t.clone(), f.clone(), 17, 9, "rdp_outside :: an inside address does not fire: event 1 matched (expect: no_match)".into()),
            (t.clone(), f.clone(), 27, 11, "rdp_outside :: alerts in order: expected alert #2 differs from alert #2".into()),
            (t.clone(), f.clone(), 28, 11, "rdp_outside :: alerts in order: expected alert #3 differs from alert #3".into()),
            (t.clone(), f.clone(), 34, 7, "rdp_outside :: a second event no one expected: extra alert #2: {\"timestamp\":\"2024-05-01T10:00:05Z\"}".into()),
            (t, f, 46, 11, "rdp_outside :: an alert that never comes: expected alert #2 is missing: {\"timestamp\":\"2024-05-01T10:05:00Z\"}".into()),
        ]
    );
}

const BROKEN: &str = "title: t\nname: t\nlogsource: {category: user_session}\ndetection:\n  sel: {action|contians: rdp}\n  unused: {user: x}\n  condition: sel\n";

#[test]
fn check_writes_json_lines_and_sarif_on_the_rule_line() {
    let dir = tmp_dir("check");
    let rule = dir.join("broken.yml");
    std::fs::write(&rule, BROKEN).unwrap();
    let sarif = dir.join("check.sarif");
    let path = rule.display().to_string();
    let o = run(&[
        "check",
        "--format",
        "json",
        &path,
        "--report",
        &format!("sarif={}", sarif.display()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(
        lines,
        vec![
            serde_json::json!({
                "path": path, "severity": "error", "code": "E302",
                "message": "unknown modifier `contians`", "line": 5, "column": 16, "end_column": 24,
                "label": "not a Sigma modifier", "notes": ["did you mean `contains`?"],
            }),
            serde_json::json!({
                "path": path, "severity": "warning", "code": "W500",
                "message": "search identifier `unused` is never used by the condition",
                "line": 6, "column": 3, "end_column": 9, "label": "defined here",
            }),
        ]
    );
    let log = read_sarif(&sarif);
    assert_eq!(
        results(&log),
        vec![
            (
                "E302".to_string(),
                path.clone(),
                5,
                16,
                "unknown modifier `contians`".to_string()
            ),
            (
                "W500".to_string(),
                path.clone(),
                6,
                3,
                "search identifier `unused` is never used by the condition".to_string()
            ),
        ]
    );
    let levels: Vec<&str> = log.runs[0]
        .results
        .iter()
        .map(|r| r.level.as_str())
        .collect();
    assert_eq!(levels, ["error", "warning"]);
}

#[test]
fn bundled_rules_combine_with_ones_own() {
    let own = run(&["run", "--rules", RDP, EVENTS]);
    let bundled = run(&["run", EVENTS]);
    let both = run(&["run", "--rules", "bundled", "--rules", RDP, EVENTS]);
    let count = |o: &Output| stdout(o).lines().count();
    assert_eq!(count(&own), 1, "{}", stdout(&own));
    assert_eq!(count(&both), count(&bundled) + 1);
    assert!(stdout(&both).contains("\"name\":\"rdp_public\""));
    // `bundled` twice is the pack once.
    let twice = run(&["run", "--rules", "bundled", "--rules", "bundled", EVENTS]);
    assert_eq!(stdout(&twice), stdout(&bundled));
    // test and check take --rules too, and the positional form still works.
    let t = run(&["test", "--rules", FAILING, "--filter", "passes"]);
    assert_eq!(stdout(&t).lines().last(), Some("1 passed, 0 failed"));
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let args = ["test", FAILING, "--filter", "passes"];
    let plain = "test tests/data/author/failing.yml :: rdp_outside :: passes ... ok\n";
    // Not a terminal: no colour unless asked.
    assert!(stdout(&run(&args)).starts_with(plain));
    let always = run(&[&args[..], &["--color", "always"]].concat());
    assert!(
        stdout(&always).starts_with("test tests/data/author/failing.yml :: rdp_outside :: passes ... \u{1b}[32mok\u{1b}[0m\n"),
        "{}",
        stdout(&always)
    );
    let never = run_env(
        &[&args[..], &["--color", "never"]].concat(),
        &[("NO_COLOR", "")],
    );
    assert!(stdout(&never).starts_with(plain));
    let o = run(&["--color", "sometimes", "test"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_field_outside_the_session_model_is_a_warning_with_a_suggestion() {
    let dir = tmp_dir("fields");
    let rule = dir.join("typo.yml");
    std::fs::write(
        &rule,
        "title: t\nlogsource: {category: user_session}\ndetection:\n  sel: {actoin: failed, raw.EventID: 4625, custom_x: 1}\n  condition: sel\n",
    )
    .unwrap();
    let path = rule.display().to_string();
    let o = run(&["check", "--format", "json", &path]);
    // Warnings only: the rule compiles, check passes.
    assert_eq!(o.status.code(), Some(0));
    let got: Vec<(String, u64, String, Vec<String>)> = stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let notes = v["notes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (
                v["code"].as_str().unwrap().to_string(),
                v["column"].as_u64().unwrap(),
                v["message"].as_str().unwrap().to_string(),
                notes,
            )
        })
        .collect();
    let hint = "fields outside the model are read under `raw.` or declared with --extra-field NAME"
        .to_string();
    assert_eq!(
        got,
        vec![
            (
                "W504".into(),
                9,
                "`actoin` is not a field of the session model".into(),
                vec!["did you mean `action`?".into(), hint.clone()]
            ),
            (
                "W504".into(),
                44,
                "`custom_x` is not a field of the session model".into(),
                vec![hint]
            ),
        ]
    );
    // Declared: no warning for it; `raw.*` never warns.
    let o = run(&[
        "check",
        "--format",
        "json",
        "--extra-field",
        "custom_x",
        &path,
    ]);
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(stdout(&o).contains("`actoin`"));
}

#[test]
fn rules_list_names_each_rule_with_its_type_and_place() {
    let o = run(&["rules", "list", "--rules", BRUTE, "--rules", RDP]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "ID  NAME            LEVEL   TYPE         FILE\n\
         -   failed          -       detection    tests/data/author/brute.yml:1\n\
         -   three_failures  medium  event_count  tests/data/author/brute.yml:8\n\
         -   rdp_public      high    detection    tests/data/author/rdp_public.yml:1\n"
    );
    let all = run(&["rules", "list"]);
    let lines: Vec<String> = stdout(&all).lines().map(str::to_string).collect();
    // The header and one line per bundled rule (`check` counts them too).
    let check = stderr(&run(&["check"]));
    let compiled: usize = check
        .split(" rule(s) compiled")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("check prints a count");
    assert_eq!(lines.len(), compiled + 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" brute_force_then_logon_success ")
                && l.contains(" temporal_ordered ")
                && l.ends_with("rules/correlation/brute_force_then_logon_success.yml:132")),
        "{lines:?}"
    );
}

#[test]
fn rules_export_writes_the_bundled_pack_that_runs_as_the_pack() {
    let dir = tmp_dir("export");
    let out = dir.join("pack");
    let o = run(&["rules", "export", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut files = 0;
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                // Each exported file is the repository's rules/ file, byte for byte.
                let rel = e.path().strip_prefix(&out).unwrap().to_path_buf();
                assert_eq!(
                    std::fs::read(e.path()).unwrap(),
                    std::fs::read(root().join("rules").join(&rel)).unwrap(),
                    "{}",
                    rel.display()
                );
            }
        }
    }
    assert_eq!(
        stderr(&o),
        format!("wrote {files} rule file(s) under {}\n", out.display())
    );
    // The exported folder is the pack: the same alerts as the bundled rules.
    let from_dir = run(&[
        "run",
        "--rules",
        out.to_str().unwrap(),
        "examples/events.jsonl",
    ]);
    let bundled = run(&["run", "examples/events.jsonl"]);
    let strip = |o: &Output| stdout(o).replace(&format!("{}/", out.display()), "rules/");
    assert_eq!(strip(&from_dir), stdout(&bundled));
    // It does not overwrite without --force.
    let again = run(&["rules", "export", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists (--force replaces it)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        run(&["rules", "export", "--force", out.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn completions_and_man_page_are_generated() {
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = stdout(&bash);
    for sub in [
        "run",
        "test",
        "check",
        "explain",
        "rules",
        "completions",
        "man",
    ] {
        assert!(
            script.contains(&format!("session__sigma,{sub})")),
            "no {sub} in the bash script"
        );
    }
    // bash reads it without a syntax error (where bash exists).
    if let Ok(mut child) = Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(run(&["completions", "nushell"]).status.code(), Some(2));
    let man = stdout(&run(&["man"]));
    assert!(man.contains(".TH session-sigma 1"), "{man}");
    assert!(man.contains("session\\-sigma\\-explain(1)"), "{man}");
}

#[test]
fn explain_shows_each_correlation_types_state() {
    let dir = tmp_dir("types");
    let events = dir.join("mix.jsonl");
    std::fs::write(
        &events,
        concat!(
            r#"{"timestamp":"2024-05-01T10:00:00Z","action":"rdp","user":"CORP\\bob","hostname":"WS1","src_ip":"10.0.0.5"}"#, "\n",
            r#"{"timestamp":"2024-05-01T10:01:00Z","action":"lock","user":"CORP\\bob","hostname":"WS1"}"#, "\n",
            r#"{"timestamp":"2024-05-01T10:02:00Z","action":"rdp","user":"CORP\\bob","hostname":"WS1","src_ip":"10.0.0.6"}"#, "\n",
        ),
    )
    .unwrap();
    let groups = |rule: &str| {
        let o = run(&["explain", rule, "--events", events.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        out[out.find("groups held").expect("groups section")..].to_string()
    };
    assert_eq!(
        groups("rdp_from_new_source_ip"),
        "groups held after line 3: 1\n  group {\"user\":\"CORP\\\\bob\"}\n    known values of src_ip: 2\n      \"10.0.0.5\" last seen at 2024-05-01T10:00:00Z\n      \"10.0.0.6\" last seen at 2024-05-01T10:02:00Z\n    condition: a value not known within the history fires\n"
    );
    assert_eq!(
        groups("workstation_locked_not_unlocked"),
        "groups held after line 3: 1\n  group {\"user\":\"CORP\\\\bob\",\"hostname\":\"WS1\"}\n    pending obligations: 1\n      anchor at 2024-05-01T10:01:00Z: fires at 2024-05-01T10:16:00Z unless an expected event comes first\n    expected: bb_unlock\n"
    );
}

#[test]
fn diagnostics_and_text_alerts_are_coloured_when_asked() {
    let dir = tmp_dir("colour");
    let rule = dir.join("typo.yml");
    std::fs::write(&rule, BROKEN).unwrap();
    let path = rule.display().to_string();
    let o = run(&["--color", "always", "check", &path]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "{path}:5:16: \u{1b}[31merror[E302]\u{1b}[0m: unknown modifier `contians`\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("  |                \u{1b}[31m^^^^^^^^ not a Sigma modifier\u{1b}[0m\n"),
        "{out}"
    );
    // Not a terminal, no flag: plain.
    assert!(stdout(&run(&["check", &path])).starts_with(&format!("{path}:5:16: error[E302]: ")));
    let alerts = run(&[
        "--color", "always", "run", "--rules", RDP, "--format", "text", EVENTS,
    ]);
    assert!(
        stdout(&alerts).starts_with("2024-05-01T10:07:00Z \u{1b}[31m[high]\u{1b}[0m RDP logon from a public address (rdp_public) at=tests/data/author/events.jsonl:8 event="),
        "{}",
        stdout(&alerts)
    );
}

/// The bundled brute-force chain, through the binary: the alert of
/// `brute_force_then_logon_success` carries the five failures and the success.
#[test]
fn a_chained_alert_carries_the_events_behind_it() {
    let dir = tmp_dir("chain");
    let events = dir.join("chain.jsonl");
    let mut lines: Vec<String> = (0..5)
        .map(|m| format!(r#"{{"timestamp":"2024-05-01T10:0{m}:00Z","action":"failed","user":"CORP\\bob","hostname":"DC01"}}"#))
        .collect();
    lines.push(r#"{"timestamp":"2024-05-01T10:06:00Z","action":"remote","user":"CORP\\bob","hostname":"DC01"}"#.to_string());
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let o = run(&["run", events.to_str().unwrap()]);
    let alert: serde_json::Value = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|a| a["rule"]["name"] == "brute_force_then_logon_success")
        .expect("the chain fires");
    let got: Vec<String> = alert["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(got, lines);
    let text = run(&["run", "--format", "text", events.to_str().unwrap()]);
    let line = stdout(&text)
        .lines()
        .find(|l| l.contains("(brute_force_then_logon_success)"))
        .unwrap()
        .to_string();
    assert_eq!(
        line,
        format!(
            "2024-05-01T10:06:00Z [high] Brute Force Followed by a Successful Logon (brute_force_then_logon_success) group[user_name=bob] value=2 events=6 at={}:6 event={}",
            events.display(),
            lines[5]
        )
    );
}

#[test]
fn the_plan_of_a_correlation_reads_as_written() {
    let o = run(&["explain", "three_failures", "--rules", BRUTE]);
    assert_eq!(
        stdout(&o),
        "rule three_failures (three failures of one user in ten minutes)\n  file: tests/data/author/brute.yml\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 10m\n  condition: value >= 3\n"
    );
}
