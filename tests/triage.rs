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
