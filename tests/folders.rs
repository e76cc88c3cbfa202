//! Folders and several files as one stream in event-time order (issue 16, item 1): the
//! order of the files and of the records in them does not change the alerts, nothing is
//! late because of it, and the sort spills to disk past its memory budget with the same
//! result.

use super::common::{root, run, shared_data};
use std::path::{Path, PathBuf};
use std::process::Output;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "session-sigma-folders-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The output lines, sorted (alerts of one time from different files may come in either
/// order between two runs whose inputs are split differently).
fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn sorted_lines(o: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The alerts as (rule, time, group, value, values), sorted: events of one timestamp have
/// no order of their own, so which of them a window holds (and which fired) may differ
/// when their files are shuffled; the alerts themselves may not.
fn alerts(o: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {} {} {}",
                a["rule"]["name"], a["timestamp"], a["group"], a["value"], a["values"]
            )
        })
        .collect();
    v.sort();
    v
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary written")).unwrap()
}

/// A small deterministic shuffle (xorshift), so the test needs no extra crate.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// An RFC 3339 UTC time (`…:33Z`, `…:33.2037Z`) as a key that sorts as the time does:
/// the seconds, then the fraction padded to nanoseconds.
fn time_key(t: &str) -> String {
    let t = t.trim_end_matches('Z');
    let (secs, frac) = t.split_at(t.len().min(19));
    format!("{secs}{:0<9}", frac.trim_start_matches('.'))
}

/// The real Windows logs as session events, one file per source file.
fn normalized_files(data: &Path) -> Vec<Vec<String>> {
    let src = data.join("windows-json/evtx_dump");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let o = run(&["normalize", f.to_str().unwrap()]);
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .filter(|lines: &Vec<String>| !lines.is_empty())
        .collect()
}

#[test]
fn shuffled_files_give_the_alerts_of_one_sorted_file() {
    let Some(data) = shared_data() else { return };
    let files = normalized_files(&data);
    assert!(files.len() >= 5, "{} files", files.len());
    let d = dir("shuffled");
    // One file of every event, sorted by time (stable).
    let mut all: Vec<(String, String)> = files
        .iter()
        .flatten()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                time_key(v["timestamp"].as_str().unwrap_or_default()),
                l.clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let sorted = d.join("sorted.jsonl");
    let text: Vec<&str> = all.iter().map(|(_, l)| l.as_str()).collect();
    std::fs::write(&sorted, text.join("\n") + "\n").unwrap();
    // The same events, each file's lines shuffled, the files named in another order, in a
    // folder with a sub-folder, a hidden file and a file of an unknown kind.
    let pieces = d.join("pieces");
    std::fs::create_dir_all(pieces.join("sub")).unwrap();
    for (i, lines) in files.iter().enumerate() {
        let mut lines = lines.clone();
        shuffle(&mut lines, 0x9e37_79b9 + i as u64);
        let at = if i % 2 == 0 {
            pieces.join("sub")
        } else {
            pieces.clone()
        };
        std::fs::write(
            at.join(format!("{:02}.jsonl", files.len() - i)),
            lines.join("\n") + "\n",
        )
        .unwrap();
    }
    std::fs::write(pieces.join(".hidden.jsonl"), "{\"not\": \"read\"}\n").unwrap();
    std::fs::write(pieces.join("notes.md"), "not events\n").unwrap();
    let (s1, s2) = (d.join("s1.json"), d.join("s2.json"));
    let one = run(&[
        "run",
        "--summary",
        s1.to_str().unwrap(),
        sorted.to_str().unwrap(),
    ]);
    let many = run(&[
        "run",
        "--summary",
        s2.to_str().unwrap(),
        pieces.to_str().unwrap(),
    ]);
    assert!(one.status.success() && many.status.success());
    assert!(alerts(&one).len() > 50, "{}", alerts(&one).len());
    assert_eq!(alerts(&many), alerts(&one));
    let (a, b) = (summary(&s1), summary(&s2));
    assert_eq!(a, b);
    assert_eq!(
        (a["late"].as_u64(), a["events"].as_u64()),
        (Some(0), Some(all.len() as u64))
    );
    assert_eq!(
        String::from_utf8_lossy(&many.stderr),
        format!(
            "skipped 1 file(s) of the input folders (hidden): {}\nskipped 1 file(s) of the input folders (unknown kind): {}\n",
            pieces.join(".hidden.jsonl").display(),
            pieces.join("notes.md").display()
        )
    );
    // Past the memory budget the sort spills runs to disk: the output is the same, byte for byte.
    let small = run(&["run", "--sort-memory", "4K", pieces.to_str().unwrap()]);
    assert_eq!(small.stdout, many.stdout);
    // In the order given, the shuffled files alone would have made events late.
    let arrival = d.join("arrival.json");
    let mut concat = Vec::new();
    for (i, lines) in files.iter().enumerate() {
        let mut lines = lines.clone();
        shuffle(&mut lines, 0x9e37_79b9 + i as u64);
        concat.extend(lines);
    }
    let cat = d.join("cat.jsonl");
    std::fs::write(&cat, concat.join("\n") + "\n").unwrap();
    run(&[
        "run",
        "--summary",
        arrival.to_str().unwrap(),
        cat.to_str().unwrap(),
    ]);
    assert!(summary(&arrival)["late"].as_u64().unwrap() > 100);
}

#[test]
fn evtx_files_in_any_order_are_one_stream() {
    let Some(data) = shared_data() else { return };
    let evtx = data.join("evtx");
    let mut files: Vec<String> = std::fs::read_dir(&evtx)
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".evtx"))
        .collect();
    files.sort();
    let d = dir("evtx");
    let s = |n: &str| d.join(n).display().to_string();
    let mut forward = vec!["run".to_string(), "--summary".into(), s("f.json")];
    forward.extend(files.iter().cloned());
    let mut backward = vec!["run".to_string(), "--summary".into(), s("b.json")];
    backward.extend(files.iter().rev().cloned());
    let f = run(&as_refs(&forward));
    let b = run(&as_refs(&backward));
    let folder = run(&["run", evtx.to_str().unwrap()]);
    assert_eq!(sorted_lines(&f), sorted_lines(&b));
    // The folder is its files in name order: the same bytes.
    assert_eq!(folder.stdout, f.stdout);
    let sf = summary(&d.join("f.json"));
    assert_eq!(sf, summary(&d.join("b.json")));
    assert_eq!(sf["late"], 0, "{sf}");
    // Alerts come out in event-time order across the files.
    let times: Vec<String> = String::from_utf8_lossy(&f.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["timestamp"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(times.len() > 100);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "alerts out of time order"
    );
}

#[test]
fn folder_errors_are_clear() {
    let d = dir("errors");
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("README.md"), "no events\n").unwrap();
    let o = run(&["run", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("error: {} holds no event file\n", empty.display())
    );
    let o = run(&["run", "--sort-memory", "lots", "examples/events.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`lots` is not a size such as 512M"));
}

/// Each alert event's origin names the file and line (or EVTX record) it was read from:
/// the line there is the event (or the Windows record it was made from); an EVTX record
/// number always names the same event.
fn check_origins(out: &str) -> usize {
    let mut checked = 0;
    let mut records = std::collections::HashMap::new();
    for l in out.lines() {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        let events = a["events"].as_array().unwrap();
        let origins = a["origins"]
            .as_array()
            .unwrap_or_else(|| panic!("no origins: {l}"));
        assert_eq!(events.len(), origins.len());
        for (e, o) in events.iter().zip(origins) {
            let file = o["file"].as_str().unwrap();
            if let Some(n) = o["line"].as_u64() {
                let text = std::fs::read_to_string(root().join(file)).unwrap();
                let line = text.lines().nth(n as usize - 1).unwrap();
                let read: serde_json::Value = serde_json::from_str(line).unwrap();
                // A session line is the event; a Windows line is the record the event holds.
                assert!(read == *e || read == e["raw"], "{file}:{n} is not {e}");
            } else {
                // The EVTX record number (its header's): one record, one event, wherever
                // it is named.
                // (A session event made from a record holds it as `raw`.)
                let n = o["record"].as_u64().unwrap();
                let record = if e["raw"].is_object() { &e["raw"] } else { e };
                let seen = records
                    .entry((file.to_string(), n))
                    .or_insert_with(|| record.clone());
                assert_eq!(seen, record, "{file}#{n} named for two records");
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn alerts_say_where_each_event_came_from() {
    // Session lines of two files, through detections and a correlation, a lateness window
    // (buffered events) and a state file between two runs.
    let d = dir("origins");
    let a = d.join("a.jsonl");
    let b = d.join("b.jsonl");
    let ev = |m: u32, action: &str, user: &str| {
        format!(
            r#"{{"timestamp":"2024-05-01T10:{m:02}:00Z","action":"{action}","user":"CORP\\{user}","hostname":"DC01","src_ip":"203.0.113.{m}"}}"#
        )
    };
    let la: Vec<String> = [0, 2, 4].iter().map(|m| ev(*m, "failed", "bob")).collect();
    let lb: Vec<String> = vec![
        ev(1, "failed", "bob"),
        ev(3, "failed", "bob"),
        ev(6, "rdp", "bob"),
    ];
    std::fs::write(&a, la.join("\n") + "\n").unwrap();
    std::fs::write(&b, lb.join("\n") + "\n").unwrap();
    let (ap, bp) = (a.display().to_string(), b.display().to_string());
    let o = run(&["run", "--origins", &ap, &bp]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(check_origins(&out) >= 6, "{out}");
    // The brute force (five failures over both files) then the RDP logon: the chain's
    // alert holds the six events, in time order, each with its file and line.
    let chain: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|a| a["rule"]["name"] == "brute_force_then_logon_success")
        .expect("the chain fires");
    let places: Vec<String> = chain["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}:{}",
                o["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                o["line"]
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "a.jsonl:1",
            "b.jsonl:1",
            "a.jsonl:2",
            "b.jsonl:2",
            "a.jsonl:3",
            "b.jsonl:3"
        ]
    );
    // Without --origins the JSON is DESIGN 4.1's, unchanged.
    let plain = run(&["run", &ap, &bp]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("origins"));
    // Text output names the event's place.
    let text = run(&["run", "--format", "text", &ap, &bp]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!(" at={bp}:3 event=")),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // Buffered by a lateness window, and across a state file: the same origins.
    let late = run(&["run", "--origins", "--max-lateness", "5m", &ap, &bp]);
    assert_eq!(late.stdout, o.stdout);
    let state = d.join("state.json");
    let s = state.display().to_string();
    let first = run(&[
        "run",
        "--origins",
        "--max-lateness",
        "5m",
        "--state",
        &s,
        &ap,
    ]);
    let second = run(&[
        "run",
        "--origins",
        "--max-lateness",
        "5m",
        "--state",
        &s,
        "--end-of-stream",
        &bp,
    ]);
    let joined = format!(
        "{}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(check_origins(&joined) >= 6, "{joined}");
}

#[test]
fn evtx_alerts_name_their_records() {
    let Some(data) = shared_data() else { return };
    let o = run(&["run", "--origins", data.join("evtx").to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(check_origins(&out) > 100);
}

/// Issue 16: `OFFSEC\admmig` (Security 4624) and `admmig@offsec.lan` (OpenSSH) are one
/// person: every adapter writes `user_name: admmig` for both.
#[test]
fn one_account_across_windows_and_openssh_is_one_user_name() {
    let Some(data) = shared_data() else { return };
    let o = run(&["normalize", data.join("windows-json").to_str().unwrap()]);
    let mut seen = std::collections::BTreeMap::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        if e["user_name"] == "admmig" {
            *seen
                .entry((
                    e["user"].as_str().unwrap().to_string(),
                    e["user_domain"].to_string(),
                ))
                .or_insert(0) += 1;
        }
    }
    let users: Vec<&(String, String)> = seen.keys().collect();
    assert_eq!(
        users,
        [
            &(
                "OFFSEC.LAN\\admmig".to_string(),
                "\"OFFSEC.LAN\"".to_string()
            ),
            &("OFFSEC\\admmig".to_string(), "\"OFFSEC\"".to_string()),
            &(
                "admmig@offsec.lan".to_string(),
                "\"offsec.lan\"".to_string()
            ),
        ]
    );
}
