//! The incident responder's outputs (issue 16): tables, CSV timelines, end-of-run
//! summaries and the logon summary, through the binary with exact output.

use super::common::{bin, golden, root, run, stderr, stdout};
use std::process::Command;

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

/// Issue 16: every Windows channel (Sysmon, PowerShell, System, Task Scheduler, …) reaches
/// `product: windows` rules, not only Security: a rule matching any record with a channel
/// fires once per record of each channel, counted here from the JSON itself.
#[test]
fn every_windows_channel_reaches_windows_rules() {
    let Some(data) = super::common::shared_data() else {
        return;
    };
    let dir = data.join("windows-json");
    let rule =
        std::env::temp_dir().join(format!("session-sigma-channels-{}.yml", std::process::id()));
    std::fs::write(
        &rule,
        "title: any channel\nname: any_channel\nlogsource: {product: windows}\ndetection:\n  sel: {Channel|exists: true}\n  condition: sel\n",
    )
    .unwrap();
    let o = run(&[
        "run",
        "--rules",
        rule.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    let mut got = std::collections::BTreeMap::<String, u64>::new();
    for l in stdout(&o).lines() {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        let ch = a["events"][0]["Channel"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        // A record whose export names no channel is read with an empty one.
        if !ch.is_empty() {
            *got.entry(ch).or_default() += 1;
        }
    }
    // Independently: the channel of each JSON line, in the shapes these exports use.
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let ch = [
                    &v["Channel"],
                    &v["log_name"],
                    &v["winlog"]["channel"],
                    &v["Event"]["System"]["Channel"],
                    &v["channel"],
                ]
                .into_iter()
                .find_map(|c| c.as_str().map(str::to_ascii_lowercase));
                if let Some(ch) = ch {
                    *want.entry(ch).or_default() += 1;
                }
            }
        }
    }
    assert!(want.len() >= 5, "{want:?}");
    assert!(want.contains_key("microsoft-windows-sysmon/operational"));
    assert_eq!(got, want);
}

/// A folder of rules: one good, one with an unknown modifier, one with a placeholder that
/// has no value, and a correlation that needs the broken one.
fn mixed_rules(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("session-sigma-mixed-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let w = |n: &str, t: &str| std::fs::write(d.join(n), t).unwrap();
    w(
        "a_good.yml",
        "title: rdp\nname: rdp\nlogsource: {category: user_session}\ndetection:\n  sel: {action: rdp}\n  condition: sel\n",
    );
    w(
        "b_bad.yml",
        "title: bad\nname: bad\nlogsource: {category: user_session}\ndetection:\n  sel: {action|contians: rdp}\n  condition: sel\n",
    );
    w(
        "c_expand.yml",
        "title: dcs\nname: dcs\nlogsource: {category: user_session}\ndetection:\n  sel: {hostname|expand: '%DomainControllers%'}\n  condition: sel\n",
    );
    w(
        "d_needs_bad.yml",
        "title: twice\nname: twice\ncorrelation: {type: event_count, rules: [bad], group-by: [user], timespan: 1h, condition: {gte: 2}}\n",
    );
    d
}

#[test]
fn invalid_rules_are_reported_and_the_rest_run_when_asked() {
    let d = mixed_rules("skip");
    let r = d.to_str().unwrap();
    // Without the flag: nothing runs, and the error says the flag exists.
    let o = run(&["run", "--rules", r, "examples/events.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).ends_with(
        "error: 3 rule error(s); nothing was run (--skip-invalid-rules runs the rules that compile)\n"
    ), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // With it: each broken rule reported at file:line:col, the good one runs, the summary counts them.
    let summary = d.join("summary.json");
    let o = run(&[
        "run",
        "--skip-invalid-rules",
        "--summary",
        summary.to_str().unwrap(),
        "--rules",
        r,
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let heads: Vec<&str> = err.lines().filter(|l| l.contains(": error[")).collect();
    assert_eq!(
        heads,
        [
            format!("{r}/b_bad.yml:5:16: error[E302]: unknown modifier `contians`").as_str(),
            format!(
                "{r}/c_expand.yml:5:26: error[E305]: placeholder `%DomainControllers%` has no value"
            )
            .as_str(),
            format!(
                "{r}/d_needs_bad.yml:3:42: error[E308]: no loaded rule has the name or id `bad`"
            )
            .as_str(),
        ]
    );
    assert!(
        err.ends_with("warning: 3 rule(s) do not compile and were left out; 1 rule(s) run\n"),
        "{err}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["rules_skipped"], 3);
    let rdp = run(&[
        "run",
        "--rules",
        &format!("{r}/a_good.yml"),
        "examples/events.jsonl",
    ]);
    assert_eq!(stdout(&o), stdout(&rdp));
    // check counts what compiles apart from what does not.
    let c = run(&["check", r]);
    assert_eq!(c.status.code(), Some(1));
    assert!(
        stderr(&c).ends_with(
            "checked 4 file(s): 1 rule(s) compiled, 3 failed, 3 error(s), 0 warning(s)\n"
        ),
        "{}",
        stderr(&c)
    );
}

#[test]
fn placeholders_with_no_value_follow_the_policy() {
    let d = mixed_rules("unset");
    std::fs::remove_file(d.join("b_bad.yml")).unwrap();
    std::fs::remove_file(d.join("d_needs_bad.yml")).unwrap();
    let r = d.to_str().unwrap();
    // A template of every placeholder the rules use.
    let t = run(&["placeholders", r]);
    assert_eq!(
        stdout(&t),
        format!(
            "# Placeholder values for `expand` (session-sigma run --placeholders FILE).\n# Each name takes a value or a list of values; a name left empty is an error\n# unless --unset-placeholders skip|wildcard says otherwise.\nDomainControllers: []  # {r}/c_expand.yml:5\n"
        )
    );
    // error (the default): nothing runs.
    assert_eq!(
        run(&["run", "--rules", r, "examples/events.jsonl"])
            .status
            .code(),
        Some(2)
    );
    // skip: the rule is left out (and counted), the others run.
    let summary = d.join("s.json");
    let o = run(&[
        "run",
        "--unset-placeholders",
        "skip",
        "--summary",
        summary.to_str().unwrap(),
        "--rules",
        r,
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("\"name\":\"dcs\""));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["rules_skipped"], 1);
    // wildcard: `%name%` is `*`: every event with a hostname matches.
    let o = run(&[
        "run",
        "--unset-placeholders",
        "wildcard",
        "--rules",
        r,
        "examples/events.jsonl",
    ]);
    let dcs = stdout(&o)
        .lines()
        .filter(|l| l.contains("\"name\":\"dcs\""))
        .count();
    let with_host = std::fs::read_to_string(root().join("examples/events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["hostname"].is_string())
        .count();
    assert_eq!(dcs, with_host);
    // A filled template runs the rule on its values.
    // (Outside the rule folder: every YAML file in it is read as rules.)
    let file = d.with_extension("placeholders.yml");
    std::fs::write(&file, "DomainControllers: [DC01]\n").unwrap();
    let o = run(&[
        "run",
        "--placeholders",
        file.to_str().unwrap(),
        "--rules",
        r,
        "examples/events.jsonl",
    ]);
    let hosts: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.contains("\"name\":\"dcs\""))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["events"][0]["hostname"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        !hosts.is_empty() && hosts.iter().all(|h| h == "DC01"),
        "{hosts:?}"
    );
}

/// Debian's chromium, or `None` (the test says it skipped; under CI=true a failure).
fn chromium() -> Option<String> {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(c).exists() {
            return Some(c.to_string());
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is missing (CI=true): apt-get install chromium"
    );
    eprintln!("skipped: no chromium for the HTML report test");
    None
}

/// The page after its script ran, as chromium renders it.
fn rendered(chromium: &str, url: &str) -> String {
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn html_report_draws_sessions_and_alerts_in_a_real_browser() {
    let out = root().join("target/report-test");
    std::fs::create_dir_all(&out).unwrap();
    let html = out.join("timeline.html");
    let o = run(&[
        "report",
        "--html",
        html.to_str().unwrap(),
        "examples/events.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Independently: sessions start at logons, marks at lock/unlock/disconnect/reconnect.
    let events: Vec<serde_json::Value> =
        std::fs::read_to_string(root().join("examples/events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let count = |acts: &[&str]| {
        events
            .iter()
            .filter(|e| acts.contains(&e["action"].as_str().unwrap_or("")))
            .count()
    };
    let sessions = count(&["interactive", "local", "login", "rdp", "remote"]);
    let marks = count(&["lock", "unlock", "disconnect", "reconnect"]);
    let alerts = stdout(&run(&["run", "examples/events.jsonl"]))
        .lines()
        .count();
    assert!(
        stderr(&o).contains(&format!(
            ", {sessions} sessions, {alerts} alerts on them ({alerts} alerts in all), 42 events\n"
        )),
        "{}",
        stderr(&o)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing to fetch.
    for fetch in ["src=\"http", "href=\"http", "url(http", "<link", "import("] {
        assert!(!page.contains(fetch), "the page fetches: {fetch}");
    }
    let Some(chromium) = chromium() else { return };
    let url = format!("file://{}", html.display());
    let dom = rendered(&chromium, &url);
    let n = |needle: &str| dom.matches(needle).count();
    assert_eq!(n("class=\"session "), sessions, "session bars");
    assert_eq!(n("class=\"alert "), alerts, "alert markers");
    assert_eq!(
        n("class=\"mark "),
        marks,
        "lock/unlock/disconnect/reconnect marks"
    );
    assert_eq!(n("class=\"failed\""), count(&["failed"]), "failed logons");
    assert!(
        dom.contains(
            "title=\"Remote Desktop Logon (rdp_logon, informational) 2024-05-01T08:02:11.000Z\""
        ),
        "alert titles"
    );
    // A rule filter (from the link) hides the rows without that rule's alerts.
    let filtered = rendered(&chromium, &format!("{url}#rule=rdp_logon"));
    let rows = filtered.matches("class=\"row\"").count();
    let hidden = filtered
        .matches("style=\"display: none;\"><div class=\"label\"")
        .count();
    let with_rdp = dom
        .split("<div class=\"row\"")
        .skip(1)
        .filter(|r| r.contains("data-rule=\"rdp_logon\""))
        .count();
    assert!(
        with_rdp > 0 && hidden > 0,
        "{with_rdp} rows with rdp_logon, {hidden} hidden"
    );
    assert_eq!(rows - hidden, with_rdp, "rows shown under the rule filter");
    // A screenshot for the eyes, kept in the test's output folder.
    let png = out.join("timeline.png");
    let _ = std::fs::remove_file(&png);
    let o = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1400,900",
            &format!("--screenshot={}", png.display()),
            &url,
        ])
        .output()
        .expect("chromium runs");
    assert!(o.status.success());
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "a screenshot with something in it"
    );
}

#[test]
fn logon_summary_per_user_and_host() {
    let o = run(&["logons", "examples/events.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("logons_table.txt", &stdout(&o));
    // The JSON form against a tally of the events made here.
    let j = run(&["logons", "--format", "json", "examples/events.jsonl"]);
    let got: std::collections::BTreeMap<(String, String), (u64, u64, usize)> = stdout(&j)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                (
                    v["user"].as_str().unwrap().to_string(),
                    v["host"].as_str().unwrap().to_string(),
                ),
                (
                    v["logons"].as_u64().unwrap(),
                    v["failed"].as_u64().unwrap(),
                    v["sources"].as_array().unwrap().len(),
                ),
            )
        })
        .collect();
    let mut want: std::collections::BTreeMap<
        (String, String),
        (u64, u64, std::collections::BTreeSet<String>),
    > = Default::default();
    for l in std::fs::read_to_string(root().join("examples/events.jsonl"))
        .unwrap()
        .lines()
    {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        let a = e["action"].as_str().unwrap_or("");
        let ok = [
            "interactive",
            "local",
            "login",
            "rdp",
            "remote",
            "reconnect",
        ]
        .contains(&a);
        if !ok && a != "failed" {
            continue;
        }
        let key = (
            e["user"].as_str().unwrap_or("-").to_string(),
            e["hostname"].as_str().unwrap_or("-").to_string(),
        );
        let t = want.entry(key).or_default();
        if ok {
            t.0 += 1;
        } else {
            t.1 += 1;
        }
        if let Some(s) = e["src_ip"].as_str() {
            t.2.insert(s.to_string());
        }
    }
    let want: std::collections::BTreeMap<_, _> = want
        .into_iter()
        .map(|(k, (a, b, c))| (k, (a, b, c.len())))
        .collect();
    assert_eq!(got, want);
    // CSV: strict, one row per user and host.
    let c = run(&["logons", "--format", "csv", "examples/events.jsonl"]);
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(c.stdout.as_slice());
    assert_eq!(&r.headers().unwrap()[0], "user");
    assert_eq!(r.records().count(), want.len());
}
