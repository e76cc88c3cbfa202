//! The source adapters on the real logs of `../shared/data` (docs/semantics.md §5): outcome
//! counts per file against counts derived independently (`sources/expected.rs`), exact
//! normalized events per shape, and the bundled rules run on the real logs.

mod expected;

use crate::common::{bin, shared_data};
use serde_json::{Value, json};
use session_sigma::source::{self, Adapter, Format, Outcome};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every outcome of one file through `--input-format auto`.
fn outcomes(path: &Path) -> Vec<Outcome> {
    let mut adapter = Adapter::new(Format::Auto, None);
    let mut out = Vec::new();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if source::evtx::is_evtx(&bytes) {
        source::evtx::read(std::io::Cursor::new(bytes), &mut |_, o| {
            adapter.count(&o);
            out.push(o);
            true
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    } else {
        for line in bytes.split(|b| *b == b'\n') {
            let o = adapter.line(line);
            if o != Outcome::Blank {
                out.push(o);
            }
        }
    }
    let acc = adapter.accounting();
    assert_eq!(acc.records as usize, out.len(), "{}", path.display());
    assert_eq!(
        acc.events + acc.skipped_total() + acc.invalid,
        acc.records,
        "every record is exactly one of event, skipped, invalid: {}",
        path.display()
    );
    out
}

/// Counts per action, `skipped` and `invalid`.
fn counts(outcomes: &[Outcome]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for o in outcomes {
        let key = match o {
            Outcome::Event(r) => r.event["action"].as_str().unwrap_or("?").to_string(),
            Outcome::Skipped { .. } => "skipped".to_string(),
            Outcome::Invalid(_) => "invalid".to_string(),
            Outcome::Blank => continue,
        };
        *m.entry(key).or_default() += 1;
    }
    m
}

fn expected_map(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
    list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn check_table(dir: &Path, table: &[(&str, &[(&str, u64)])]) {
    let mut failures = Vec::new();
    for (file, want) in table {
        let got = counts(&outcomes(&dir.join(file)));
        if got != expected_map(want) {
            failures.push(format!("{file}:\n  expected {want:?}\n  got      {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every file of a folder (recursively), relative to it.
fn files(dir: &Path, ext: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_data_file_has_expected_counts() {
    let Some(data) = shared_data() else { return };
    let mut listed: Vec<String> = expected::JSON.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files(&data.join("windows-json"), "jsonl"), listed);
    let mut listed: Vec<String> = expected::EVTX.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files(&data.join("evtx"), "evtx"), listed);
}

#[test]
fn windows_json_counts_match_independent_counts() {
    let Some(data) = shared_data() else { return };
    check_table(&data.join("windows-json"), expected::JSON);
}

#[test]
fn evtx_counts_match_independent_counts() {
    let Some(data) = shared_data() else { return };
    check_table(&data.join("evtx"), expected::EVTX);
}

#[test]
fn totals_match_the_data_readme() {
    // docs/semantics.md §5 applied to the README's totals of windows-json/: 4624 by LogonType
    // (2,11 → interactive 149; 3,8 → remote 1400; 10,12 + LSM 21 → rdp 3; 7,13 + 4801 →
    // unlock 25; others → login 836), 4625 → failed 72, 4634 + 4647 + LSM 23 → logout 1119,
    // 4779 + LSM 24 → disconnect 5, 4778 + LSM 25 → reconnect 6, 4800 → lock 2.
    let Some(data) = shared_data() else { return };
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for (file, _) in expected::JSON {
        for (k, v) in counts(&outcomes(&data.join("windows-json").join(file))) {
            *total.entry(k).or_default() += v;
        }
    }
    let want = expected_map(&[
        ("interactive", 149),
        ("remote", 1400),
        ("rdp", 3),
        ("unlock", 25),
        ("login", 836),
        ("failed", 72),
        ("logout", 1119),
        ("disconnect", 5),
        ("reconnect", 6),
        ("lock", 2),
        ("skipped", 12564 - 3617),
    ]);
    assert_eq!(total, want);
}

/// The `n`-th session event of a file (0-based) whose action is `action`.
fn nth_event(path: &Path, action: &str, n: usize) -> Value {
    outcomes(path)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Event(r) if r.event["action"] == action => Some(r.event),
            _ => None,
        })
        .nth(n)
        .unwrap_or_else(|| panic!("no {action} #{n} in {}", path.display()))
}

/// Compares an event with `want` (every field but `raw`), and the listed `raw` fields.
fn assert_event(event: &Value, want: Value, raw: &[(&str, Value)]) {
    let mut without_raw = event.clone();
    let got_raw = without_raw
        .as_object_mut()
        .and_then(|m| m.shift_remove("raw"))
        .expect("raw");
    assert_eq!(without_raw, want);
    for (k, v) in raw {
        assert_eq!(&got_raw[*k], v, "raw.{k}");
    }
}

#[test]
fn nxlog_local_session_manager_fields_come_from_the_message() {
    let Some(data) = shared_data() else { return };
    let f = data.join("windows-json/otrf-nxlog/empire_persistence_registry_modification_run_keys_standard_user_2020-09-04030609.subset.jsonl");
    assert_event(
        &nth_event(&f, "rdp", 0),
        json!({"timestamp": "2020-09-04T07:08:23.381Z", "action": "rdp", "hostname": "WORKSTATION5",
               "user": "THESHIRE\\pgustavo", "user_name": "pgustavo", "user_domain": "THESHIRE", "logon_id": "2", "src_ip": "1.2.3.4", "src_port": null,
               "src_host": null, "login_type": "rdp", "source": "nxlog"}),
        &[
            ("EventID", json!(21)),
            (
                "Channel",
                json!("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"),
            ),
            ("Computer", json!("WORKSTATION5.theshire.local")),
            ("TimeCreated", json!("2020-09-04T07:08:23.381Z")),
        ],
    );
    // 4779 on a lower-case `security` channel: AccountDomain\AccountName, LogonID, ClientName.
    assert_event(
        &nth_event(&f, "disconnect", 1),
        json!({"timestamp": "2020-09-04T07:09:30.859Z", "action": "disconnect", "hostname": "WORKSTATION5",
               "user": "THESHIRE\\pgustavo", "user_name": "pgustavo", "user_domain": "THESHIRE", "logon_id": "0xa992d", "src_ip": "1.2.3.4", "src_port": null,
               "src_host": "robertos-mbp", "login_type": "rdp", "source": "nxlog"}),
        &[
            ("EventID", json!(4779)),
            ("SessionName", json!("RDP-Tcp#0")),
        ],
    );
    assert_event(
        &nth_event(&f, "lock", 0),
        json!({"timestamp": "2020-09-04T07:09:30.860Z", "action": "lock", "hostname": "WORKSTATION5",
               "user": "THESHIRE\\pgustavo", "user_name": "pgustavo", "user_domain": "THESHIRE", "logon_id": "0xa992d", "src_ip": null, "src_port": null,
               "src_host": null, "login_type": null, "source": "nxlog"}),
        &[("EventID", json!(4800))],
    );
}

#[test]
fn sentinel_winlogbeat_and_splunk_nxlog_shapes() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("windows-json");
    let sentinel = std::fs::read_dir(dir.join("otrf-sentinel"))
        .expect("sentinel dir")
        .next()
        .expect("a sentinel file")
        .expect("entry")
        .path();
    assert_event(
        &nth_event(&sentinel, "remote", 0),
        json!({"timestamp": "2021-08-02T13:06:38.330Z", "action": "remote", "hostname": "DC01",
               "user": "SIMULANDLABS.COM\\wardog", "user_name": "wardog", "user_domain": "SIMULANDLABS.COM", "logon_id": "0x8f0cd568", "src_ip": "192.168.2.5",
               "src_port": 53085, "src_host": null, "login_type": "remote", "source": "sentinel"}),
        &[
            ("EventID", json!(4624)),
            ("LogonType", json!(3)),
            ("TimeCreated", json!("2021-08-02T13:06:38.330Z")),
            ("TimeGenerated", json!("2021-08-02T13:06:38.33Z")),
        ],
    );
    let winlogbeat = dir.join("otrf-winlogbeat6");
    let first = files(&winlogbeat, "jsonl")
        .into_iter()
        .find(|f| counts(&outcomes(&winlogbeat.join(f))).contains_key("remote"))
        .expect("a winlogbeat file with a network logon");
    let e = nth_event(&winlogbeat.join(&first), "remote", 0);
    assert_eq!(e["source"], "winlogbeat");
    assert_eq!(e["raw"]["LogonType"], "3", "event_data kept as written");
    assert!(e["raw"].get("Message").is_some_and(Value::is_string));
    let splunk = dir.join("splunk-nxlog");
    let file = files(&splunk, "jsonl")
        .into_iter()
        .next()
        .expect("a splunk file");
    let e = nth_event(&splunk.join(file), "login", 0);
    // No @timestamp: EventTime `2020-08-01 05:46:45` is read as UTC.
    assert_event(
        &e,
        json!({"timestamp": "2020-08-01T05:46:45Z", "action": "login", "hostname": "win-dc-881393",
               "user": "NT AUTHORITY\\SYSTEM", "user_name": "system", "user_domain": "NT AUTHORITY", "logon_id": "0x3e7", "src_ip": null, "src_port": null,
               "src_host": null, "login_type": null, "source": "nxlog"}),
        &[("EventID", json!(4624)), ("LogonType", json!("5"))],
    );
}

#[test]
fn evtx_dump_json_with_string_values_and_evtx_files() {
    let Some(data) = shared_data() else { return };
    let f = data.join("windows-json/evtx_dump/EVTX-to-MITRE-Attack__TA0007-Discovery__T1069-Permission_Groups_Discovery__ID4799-4624-Local_admin_group_enumerated_by_SharpHound.subset.jsonl");
    assert_event(
        &nth_event(&f, "remote", 0),
        json!({"timestamp": "2021-05-03T08:58:25.921033600Z", "action": "remote", "hostname": "atanids01",
               "user": "OFFSEC.LAN\\admmig", "user_name": "admmig", "user_domain": "OFFSEC.LAN", "logon_id": "0x88f313a8", "src_ip": "10.23.23.9",
               "src_port": 62173, "src_host": null, "login_type": "remote", "source": "evtx_dump"}),
        &[("EventID", json!(4624)), ("LogonType", json!("3"))],
    );
    let f = data.join("evtx/EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID4625-failed_login_with_denied_access_due_to_account_restriction.evtx");
    // TargetUserName `-` → null user; IpPort `0` → null port; LogonType 10 → rdp.
    assert_event(
        &nth_event(&f, "failed", 0),
        json!({"timestamp": "2021-10-23T21:50:11.666519700Z", "action": "failed", "hostname": "FS03",
               "user": null, "user_name": null, "user_domain": null, "logon_id": null, "src_ip": "10.23.23.9", "src_port": null,
               "src_host": null, "login_type": "rdp", "source": "evtx"}),
        &[
            ("EventID", json!(4625)),
            ("Computer", json!("FS03.offsec.lan")),
            ("LogonType", json!(10)),
            (
                "Provider_Name",
                json!("Microsoft-Windows-Security-Auditing"),
            ),
            ("EventRecordID", json!(90907)),
        ],
    );
}

#[test]
fn a_corrupt_evtx_chunk_is_reported_and_the_rest_is_read() {
    let Some(data) = shared_data() else { return };
    let f = data.join("evtx/evtx-crate__2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx");
    let all = outcomes(&f);
    let invalid: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Outcome::Invalid(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(invalid, vec![293, 294], "two bad records, in place");
    assert_eq!(
        all.len(),
        1797,
        "and every other record read, after them too"
    );
    let out = Command::new(bin())
        .args(["normalize"])
        .arg(&f)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("RemoteConnectionManager%4Operational.evtx: record at 294: invalid record: Failed to parse record number 463011"),
        "{err}"
    );
    assert!(
        err.contains("1797 records: 0 session events, 1795 skipped, 2 invalid"),
        "{err}"
    );
}

/// The alerts of `session-sigma run ARGS... PATH` (run from the repository root).
fn run_alerts(args: &[&str], path: &Path) -> Vec<Value> {
    let out = Command::new(bin())
        .arg("run")
        .args(args)
        .arg(path)
        .current_dir(crate::common::root())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("alert JSON"))
        .collect()
}

/// `run --eof flush` on one file with the bundled rules: the correlation alerts as
/// (rule, timestamp, group, value).
fn correlation_alerts(path: &Path) -> Vec<(String, String, Value, Value)> {
    run_alerts(&["--eof", "flush"], path)
        .into_iter()
        .filter(|a| a["rule"]["type"] != "detection")
        .map(|a| {
            (
                a["rule"]["name"].as_str().unwrap_or("").to_string(),
                a["timestamp"].as_str().unwrap_or("").to_string(),
                a["group"].clone(),
                a["value"].clone(),
            )
        })
        .collect()
}

#[test]
fn bundled_stateful_rules_on_real_logs() {
    let Some(data) = shared_data() else { return };
    let alerts = correlation_alerts(&data.join(
        "windows-json/otrf-nxlog/empire_uac_shellapi_fodhelper_2020-09-04032946.subset.jsonl",
    ));
    // The RDP user disconnects and the workstation locks at 07:15:30; it is never unlocked.
    assert_eq!(
        alerts,
        vec![(
            "workstation_locked_not_unlocked".into(),
            "2020-09-04T07:45:30.145Z".into(),
            json!({"user": "THESHIRE\\pgustavo", "hostname": "WORKSTATION5"}),
            Value::Null
        )]
    );
    let alerts = correlation_alerts(&data.join("windows-json/evtx_dump/EVTX-to-MITRE-Attack__TA0007-Discovery__T1069-Permission_Groups_Discovery__ID4799-4624-Local_admin_group_enumerated_by_SharpHound.subset.jsonl"));
    assert_eq!(
        alerts,
        vec![(
            "user_logon_to_many_hosts".into(),
            "2021-05-03T08:58:38.722262700Z".into(),
            json!({"user": "OFFSEC.LAN\\admmig"}),
            json!(5)
        )]
    );
    let alerts = correlation_alerts(&data.join("evtx/evtx-crate__Security_with_size_t.evtx"));
    let names: Vec<&str> = alerts.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "brute_force_then_logon_success",
            "logon_without_logout",
            "logon_without_logout"
        ]
    );
    assert_eq!(
        alerts[0],
        (
            // Grouped by user_name, the bare `Administrator` failure of 06:59:05 (a 4625 with
            // no domain) is the same account as `WIN-L0ZZQ76PMUF\Administrator`: the fifth
            // failure comes at 06:59:37.89 and the success right after (by `user`, 07:04:11).
            "brute_force_then_logon_success".into(),
            "2015-08-24T06:59:37.906250Z".into(),
            json!({"user_name": "administrator"}),
            json!(2)
        )
    );
    let alerts = correlation_alerts(&data.join("evtx/evtx-crate__security.evtx"));
    let simultaneous: Vec<_> = alerts
        .iter()
        .filter(|a| a.0 == "simultaneous_logins_on_host")
        .collect();
    assert_eq!(
        simultaneous,
        [&(
            "simultaneous_logins_on_host".to_string(),
            "2016-07-16T00:18:49.854824600Z".to_string(),
            json!({"hostname": "WIN-03DLIIOFRRA"}),
            json!(2)
        )]
    );
    assert_eq!(alerts.len(), 67, "and 66 logons without a logout in 10 h");
}

#[test]
fn run_works_on_every_data_file() {
    let Some(data) = shared_data() else { return };
    let mut paths: Vec<std::path::PathBuf> = files(&data.join("windows-json"), "jsonl")
        .into_iter()
        .map(|f| data.join("windows-json").join(f))
        .collect();
    paths.extend(
        files(&data.join("evtx"), "evtx")
            .into_iter()
            .map(|f| data.join("evtx").join(f)),
    );
    for p in paths {
        let summary = std::env::temp_dir().join(format!(
            "session-sigma-summary-{}-{}.json",
            std::process::id(),
            p.file_name().map(|n| n.len()).unwrap_or(0)
        ));
        let out = Command::new(bin())
            .args(["run", "--input-format", "auto", "--summary"])
            .arg(&summary)
            .arg(&p)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary"))
            .expect("summary JSON");
        let skipped: u64 = s["skipped"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        let events = s["events"].as_u64().expect("events");
        let invalid = s["invalid"].as_u64().expect("invalid");
        let expected = expected::JSON
            .iter()
            .chain(expected::EVTX)
            .find(|(f, _)| p.ends_with(f))
            .expect("listed");
        let want = expected_map(expected.1);
        assert_eq!(
            skipped,
            want.get("skipped").copied().unwrap_or(0),
            "{}",
            p.display()
        );
        assert_eq!(invalid, want.get("invalid").copied().unwrap_or(0));
        assert_eq!(
            events,
            want.iter()
                .filter(|(k, _)| *k != "skipped" && *k != "invalid")
                .map(|(_, v)| v)
                .sum::<u64>()
        );
        let _ = std::fs::remove_file(&summary);
    }
}

/// `run --rules rules/windows FILE`: (rule, timestamp, EventID, Computer) of each alert.
fn windows_rule_alerts(path: &Path) -> Vec<(String, String, Value, Value)> {
    run_alerts(&["--rules", "rules/windows"], path)
        .into_iter()
        .map(|a| {
            (
                a["rule"]["name"].as_str().unwrap_or("").to_string(),
                a["timestamp"].as_str().unwrap_or("").to_string(),
                a["events"][0]["EventID"].clone(),
                a["events"][0]["Computer"].clone(),
            )
        })
        .collect()
}

fn alert(rule: &str, ts: &str, id: u64, computer: &str) -> (String, String, Value, Value) {
    (rule.into(), ts.into(), json!(id), json!(computer))
}

#[test]
fn sigmahq_style_windows_rules_on_real_logs() {
    // Six rules of rules/windows, written on raw Windows fields, run unchanged on three
    // shapes. The expected records were found with jq on the same files (e.g. 4625 with
    // SubStatus 0xc0000072: 4 in Security_with_size_t; 4778 with SessionName RDP-Tcp#*: one
    // in each NXLog file; 4624 LogonType 9 seclogo: one in the pass-the-hash sample).
    let Some(data) = shared_data() else { return };
    let nxlog = data.join("windows-json/otrf-nxlog");
    assert_eq!(
        windows_rule_alerts(
            &nxlog.join("rdp_interactive_taskmanager_lsass_dump_2020-09-22043748.jsonl")
        ),
        [alert(
            "win_rdp_session_reconnect",
            "2020-09-22T08:38:05.699Z",
            4778,
            "WORKSTATION5.theshire.local"
        )]
    );
    assert_eq!(
        windows_rule_alerts(&nxlog.join(
            "empire_persistence_registry_modification_run_keys_standard_user_2020-09-04030609.subset.jsonl"
        )),
        [
            // Two 4624 LogonType 10 from 1.2.3.4 (OTRF's placeholder for a public address).
            alert(
                "win_rdp_logon_from_public_ip",
                "2020-09-04T07:09:22.558Z",
                4624,
                "WORKSTATION5.theshire.local"
            ),
            alert(
                "win_rdp_logon_from_public_ip",
                "2020-09-04T07:09:22.558Z",
                4624,
                "WORKSTATION5.theshire.local"
            ),
            alert(
                "win_rdp_session_reconnect",
                "2020-09-04T07:09:30.862Z",
                4778,
                "WORKSTATION5.theshire.local"
            ),
        ]
    );
    let evtx = data.join("evtx");
    assert_eq!(
        windows_rule_alerts(&evtx.join("evtx-crate__Security_with_size_t.evtx")),
        [
            "2015-08-23T10:31:19.198375Z",
            "2015-08-23T10:31:19.385875Z",
            "2015-08-23T10:52:06.731613Z",
            "2015-09-02T06:00:41.983125Z"
        ]
        .map(|t| alert(
            "win_failed_logon_disabled_account",
            t,
            4625,
            "WIN-L0ZZQ76PMUF"
        ))
    );
    assert_eq!(
        windows_rule_alerts(&evtx.join("EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1550-Use_Alternate_Authentication_Material__ID4624-Mimikatz_Pass_the_hash.evtx")),
        [alert("win_new_credentials_logon_seclogo", "2021-10-20T13:39:17.315479800Z", 4624, "FS03.offsec.lan")]
    );
    // A 4688 (not a session event) reaches Windows rules too.
    assert_eq!(
        windows_rule_alerts(&evtx.join("EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.001-Remote_Desktop_Protocol__ID4688,4778,4779_RDP_hijack_direct.evtx")),
        [
            alert("win_rdp_session_hijack_tscon", "2021-05-14T21:01:05.352230100Z", 4688, "fs01.offsec.lan"),
            alert("win_rdp_session_hijack_tscon", "2021-05-14T21:01:05.358894400Z", 4688, "fs01.offsec.lan"),
            alert("win_rdp_session_reconnect", "2021-05-14T21:01:05.831748700Z", 4778, "fs01.offsec.lan"),
        ]
    );
    let dump = data.join("windows-json/evtx_dump");
    let names: Vec<String> = windows_rule_alerts(&dump.join("EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.002-SMB_Windows_Admin_Shares__ID4688-4648_Lateral_movement_with_net_use.jsonl"))
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(names, ["win_explicit_credential_logon_remote_server"]);
}

#[test]
fn normalize_then_run_gives_the_alerts_of_run() {
    // Session events written by `normalize` keep the flattened Windows record in `raw`, so
    // Windows rules still see them when the events are run later (for session-relevant
    // records; records that are not session events are not in normalize's output).
    let Some(data) = shared_data() else { return };
    let f = data.join("windows-json/otrf-nxlog/empire_persistence_registry_modification_run_keys_standard_user_2020-09-04030609.subset.jsonl");
    let direct = Command::new(bin())
        .args(["run", "--eof", "flush"])
        .arg(&f)
        .output()
        .expect("runs");
    let normalized = Command::new(bin())
        .arg("normalize")
        .arg(&f)
        .output()
        .expect("runs");
    let tmp = std::env::temp_dir().join(format!("ss-normalized-{}.jsonl", std::process::id()));
    std::fs::write(&tmp, &normalized.stdout).expect("write");
    let piped = Command::new(bin())
        .args(["run", "--eof", "flush", "--input-format", "session"])
        .arg(&tmp)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&tmp);
    let strip = |out: &[u8]| -> Vec<(String, String, Value)> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("alert"))
            .map(|a| {
                (
                    a["rule"]["name"].as_str().unwrap_or("").to_string(),
                    a["timestamp"].as_str().unwrap_or("").to_string(),
                    a["group"].clone(),
                )
            })
            .collect()
    };
    let direct = strip(&direct.stdout);
    assert!(direct.len() >= 5, "{direct:?}");
    assert_eq!(strip(&piped.stdout), direct);
}

const WIN_RULES: &str = r#"
title: Windows 4672
name: win_special_privileges
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4672, SubjectUserName: admin}
  condition: sel
---
title: Session remote logon
name: session_remote
logsource: {category: user_session}
detection:
  sel: {action: remote}
  condition: sel
---
title: Windows 4624 type 3
name: win_network_logon
logsource: {product: windows}
detection:
  sel: {EventID: 4624, LogonType: 3}
  condition: sel
"#;

fn win_records() -> Vec<Value> {
    vec![
        json!({"EventID": 4624, "Channel": "Security", "Computer": "DC1.corp", "TimeCreated": "2024-05-01T10:00:00Z",
               "LogonType": "3", "TargetUserName": "admin", "TargetDomainName": "CORP", "TargetLogonId": "0xAB", "IpAddress": "::ffff:10.0.0.9", "IpPort": "0"}),
        json!({"EventID": 4672, "Channel": "Security", "Computer": "DC1.corp", "TimeCreated": "2024-05-01T10:00:01Z",
               "SubjectUserName": "admin", "SubjectLogonId": "0xab"}),
        json!({"action": "remote", "timestamp": "2024-05-01T10:00:02Z", "user": "bob"}),
    ]
}

/// Runs records through the auto adapter and an engine; (rule name, event JSON) per alert.
fn run_records(
    set: &session_sigma::RuleSet,
    records: &[Value],
    lateness: i64,
) -> Vec<(String, Value)> {
    let settings = session_sigma::Settings {
        max_lateness: lateness,
        ..Default::default()
    };
    let mut engine = session_sigma::Engine::with_settings(set, settings);
    let mut adapter = Adapter::new(Format::Auto, None);
    let mut alerts = Vec::new();
    for r in records {
        if let Some(rec) = adapter.json(r.clone()).into_record() {
            engine
                .process_record(rec, None, &mut alerts)
                .expect("valid");
        }
    }
    engine.finish(&mut alerts);
    alerts
        .iter()
        .map(|a| {
            (
                a.rule.name.clone().unwrap_or_default(),
                serde_json::from_str(&a.events[0]).expect("event JSON"),
            )
        })
        .collect()
}

#[test]
fn windows_rules_see_flattened_records_and_session_rules_session_events() {
    let set = crate::common::rules(WIN_RULES);
    let got = run_records(&set, &win_records(), 0);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    // The 4624 is a session event (session_remote) and a Windows record (win_network_logon,
    // LogonType "3" matching 3); the 4672 is skipped as a session record but reaches the
    // Windows rule; the session event reaches only the session rule.
    assert_eq!(
        names,
        [
            "session_remote",
            "win_network_logon",
            "win_special_privileges",
            "session_remote"
        ]
    );
    assert_eq!(got[0].1["user"], "CORP\\admin");
    assert_eq!(
        got[0].1["src_ip"], "10.0.0.9",
        "IPv4-mapped IPv6 becomes IPv4"
    );
    assert_eq!(got[0].1["src_port"], Value::Null, "port 0 is none");
    assert_eq!(got[0].1["logon_id"], "0xab");
    assert_eq!(
        got[1].1["EventID"], 4624,
        "Windows rules report the flat record"
    );
    assert_eq!(got[1].1, got[0].1["raw"]);
}

#[test]
fn buffered_windows_records_survive_a_checkpoint() {
    let set = crate::common::rules(WIN_RULES);
    let records = win_records();
    let whole = run_records(&set, &records, 60_000_000_000);
    // Cut after the first two records: both still in the reorder buffer.
    let settings = session_sigma::Settings {
        max_lateness: 60_000_000_000,
        ..Default::default()
    };
    let mut adapter = Adapter::new(Format::Auto, None);
    let mut alerts = Vec::new();
    let state = {
        let mut engine = session_sigma::Engine::with_settings(&set, settings.clone());
        for r in &records[..2] {
            let rec = adapter.json(r.clone()).into_record().expect("record");
            engine
                .process_record(rec, None, &mut alerts)
                .expect("valid");
        }
        engine.pause();
        engine.checkpoint()
    };
    assert!(alerts.is_empty());
    let mut engine = session_sigma::Engine::with_settings(&set, settings);
    engine.restore(&state).expect("restores");
    let rec = adapter
        .json(records[2].clone())
        .into_record()
        .expect("record");
    engine
        .process_record(rec, None, &mut alerts)
        .expect("valid");
    engine.finish(&mut alerts);
    let split: Vec<(String, Value)> = alerts
        .iter()
        .map(|a| {
            (
                a.rule.name.clone().unwrap_or_default(),
                serde_json::from_str(&a.events[0]).expect("event JSON"),
            )
        })
        .collect();
    assert_eq!(split, whole);
    assert_eq!(whole.len(), 4);
}

#[test]
fn evtx_on_stdin_is_recognised_and_formats_can_be_forced() {
    let Some(data) = shared_data() else { return };
    let f = data.join("evtx/EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID4625-failed_login_with_denied_access_due_to_account_restriction.evtx");
    let out = Command::new(bin())
        .arg("normalize")
        .stdin(std::fs::File::open(&f).expect("sample"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let actions: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("event")["action"].to_string())
        .collect();
    assert_eq!(actions, ["\"failed\"", "\"failed\""]);
    // A JSON file read as EVTX is an unreadable input (exit 2); an EVTX file read as
    // session JSON lines is invalid line by line, never a crash.
    let out = Command::new(bin())
        .args(["run", "--input-format", "evtx", "examples/events.jsonl"])
        .current_dir(crate::common::root())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("examples/events.jsonl: not an EVTX file")
    );
    let out = Command::new(bin())
        .args(["normalize", "--input-format", "session"])
        .arg(&f)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid event: invalid JSON at column"));
    // Session JSON forced through the Windows reader is invalid, with the reason.
    let out = Command::new(bin())
        .args([
            "run",
            "--input-format",
            "windows",
            "--summary",
            "/dev/stdout",
            "examples/events.jsonl",
        ])
        .current_dir(crate::common::root())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"events\":0,\"invalid\":42"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("examples/events.jsonl:1: invalid event: not a Windows event record")
    );
}
