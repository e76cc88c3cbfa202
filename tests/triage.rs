//! The incident responder's outputs (issue 16): tables, CSV timelines, end-of-run
//! summaries and the logon summary, through the binary with exact output.

use super::common::{bin, root};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, want, "output differs from {}", path.display());
}

#[test]
fn table_of_the_example_events() {
    let o = run(&["run", "--format", "table", "examples/events.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("table_events.txt", &stdout(&o));
    let o = run(&[
        "run",
        "--format",
        "table",
        "--fields",
        "time,rule,group,values",
        "examples/events.jsonl",
    ]);
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(
        lines[0],
        "TIME                            RULE                                      GROUP                                             VALUES"
    );
    assert!(
        lines.contains(&"2024-05-01T11:04:44Z            simultaneous_logins_on_host               hostname=DC01                                     CORP\\adm-bob,CORP\\bob".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn csv_timeline_is_strict_csv_with_one_row_per_alert() {
    let csv_out = run(&["run", "--format", "csv", "examples/events.jsonl"]);
    let json_out = run(&["run", "--origins", "examples/events.jsonl"]);
    let alerts: Vec<serde_json::Value> = stdout(&json_out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(csv_out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "time", "level", "rule", "user", "host", "src_ip", "value", "file"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("a well-formed row"))
        .collect();
    assert_eq!(rows.len(), alerts.len());
    for (row, a) in rows.iter().zip(&alerts) {
        assert_eq!(&row[0], a["timestamp"].as_str().unwrap());
        assert_eq!(&row[2], a["rule"]["name"].as_str().unwrap());
        let last = a["origins"].as_array().unwrap().last().unwrap();
        assert_eq!(
            row[7].to_string(),
            format!("examples/events.jsonl:{}", last["line"])
        );
        match a["value"].as_f64() {
            Some(v) => assert_eq!(row[6].parse::<f64>().unwrap(), v),
            None => assert_eq!(&row[6], ""),
        }
    }
}

/// The end-of-run table, without its first line (which has the time taken).
fn table_after_first_line(text: &str) -> String {
    text.split_once('\n')
        .map_or("", |(_, rest)| rest)
        .to_string()
}

#[test]
fn stats_table_counts_inputs_skips_and_alerts_noisiest_first() {
    let o = run(&[
        "run",
        "--stats",
        "tests/data/author/events.jsonl",
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.starts_with("50 events from 2 input(s) in "), "{err}");
    golden("stats_table.txt", &table_after_first_line(&err));
    // Alerts per rule add up to the alerts written.
    let written = run(&[
        "run",
        "tests/data/author/events.jsonl",
        "examples/events.jsonl",
    ]);
    assert!(err.contains(&format!(
        "\n{} alert(s): ",
        stdout(&written).lines().count()
    )));
    // Not a terminal and no --stats: nothing on stderr.
    assert_eq!(stderr(&written), "");
}

#[test]
fn skipped_records_are_listed_by_reason() {
    let Some(data) = super::common::shared_data() else {
        return;
    };
    let o = run(&["run", "--stats", data.join("evtx").to_str().unwrap()]);
    let err = stderr(&o);
    assert!(err.contains("\n  skipped  "), "{err}");
    let reasons: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("  skipped"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        // The last line may sum the reasons past the first ten.
        .filter(|l| !l.ends_with("other reasons)"))
        .collect();
    assert!(!reasons.is_empty(), "{err}");
    // Each reason line is `count  reason`, the counts in decreasing order.
    let counts: Vec<u64> = reasons
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap()
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{reasons:?}");
}

/// Runs `cmd` (a shell line) on a pseudo-terminal with `script`: what a user at a terminal
/// sees on stderr. `None` where `script` is missing.
fn on_terminal(cmd: &str) -> Option<String> {
    let o = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&o.stdout).replace('\r', ""))
}

#[test]
fn on_a_terminal_a_progress_bar_and_the_table_unless_quiet() {
    let exe = bin().display().to_string();
    let Some(seen) = on_terminal(&format!(
        "{exe} run examples/events.jsonl tests/data/author/events.jsonl > /dev/null"
    )) else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    // indicatif draws the bar (bytes of total) and clears it; then the table.
    assert!(seen.contains(" B/") && seen.contains("eta"), "{seen}");
    assert!(seen.contains("50 events from 2 input(s)"), "{seen}");
    let quiet = on_terminal(&format!(
        "{exe} run --quiet examples/events.jsonl > /dev/null"
    ))
    .unwrap();
    assert_eq!(quiet, "");
}
