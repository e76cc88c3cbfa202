//! The Linux adapter over whole logs, through the public API.
//!
//! The logs in `tests/data/linux/` were written for these tests from the documented message
//! formats of OpenSSH (`auth.c`, `packet.c`), Linux-PAM `pam_unix`, `login`, GDM / LightDM /
//! SDDM and systemd-logind:
//! - `auth.log`: Debian-style BSD lines crossing 2023-12-31 → 2024-01-01, with noise (CRON,
//!   sudo, kernel, sshd pre-authentication chatter), one blank and one truncated line;
//! - `secure-iso.log`: RFC 3339 lines (rsyslog `RSYSLOG_FileFormat`) from three hosts in two
//!   zones, OpenSSH 9.8's `sshd-session`, SDDM and LightDM with their greeters, systemd 255's
//!   `New session '7' of user 'erin' …`;
//! - `journal.jsonl`: `journalctl -o json` records, one `MESSAGE` as bytes (not UTF-8).

use serde_json::{Value, json};
use session_sigma::source::linux::Linux;
use session_sigma::source::{Outcome, Record, View};
use session_sigma::time::{Timestamp, parse_rfc3339};
use std::collections::BTreeMap;

fn read(name: &str) -> String {
    let path = format!("{}/tests/data/linux/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ts(s: &str) -> Timestamp {
    parse_rfc3339(s).unwrap_or_else(|| panic!("{s}"))
}

/// Events per action, skips per reason, blank lines, invalid lines.
type Counts = (
    BTreeMap<String, usize>,
    BTreeMap<String, usize>,
    usize,
    usize,
);

/// What every record of a file became, in order (index 0 = line 1).
struct Run {
    text: String,
    outcomes: Vec<Outcome>,
}

impl Run {
    fn syslog(name: &str, mut linux: Linux) -> Run {
        let text = read(name);
        let outcomes = text.lines().map(|l| linux.syslog_line(l)).collect();
        Run { text, outcomes }
    }

    fn journal(name: &str) -> Run {
        let text = read(name);
        let mut linux = Linux::new(None, ts("2024-06-01T00:00:00Z"));
        let outcomes = text
            .lines()
            .map(|l| match serde_json::from_str(l) {
                Ok(Value::Object(obj)) => {
                    assert!(Linux::is_journal(&obj), "{l}");
                    linux.journal(obj)
                }
                other => panic!("{l}: {other:?}"),
            })
            .collect();
        Run { text, outcomes }
    }

    /// The text of line `n` (1-based).
    fn line(&self, n: usize) -> &str {
        self.text.lines().nth(n - 1).unwrap_or_default()
    }

    /// The event of line `n` (1-based).
    fn event(&self, n: usize) -> Value {
        match &self.outcomes[n - 1] {
            Outcome::Event(Record {
                event,
                view: View::Session,
                verbatim: false,
            }) => event.clone(),
            other => panic!("line {n}: not an event: {other:?}"),
        }
    }

    /// What the records became, counted.
    fn counts(&self) -> Counts {
        let (mut actions, mut skipped, mut blank, mut invalid) =
            (BTreeMap::new(), BTreeMap::new(), 0, 0);
        for o in &self.outcomes {
            match o {
                Outcome::Event(r) => {
                    let action = r.event["action"].as_str().unwrap_or("?").to_string();
                    *actions.entry(action).or_default() += 1;
                }
                Outcome::Skipped { reason, windows } => {
                    assert!(windows.is_none());
                    *skipped.entry(reason.clone()).or_default() += 1;
                }
                Outcome::Blank => blank += 1,
                Outcome::Invalid(_) => invalid += 1,
            }
        }
        (actions, skipped, blank, invalid)
    }
}

fn map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A syslog event's `raw`.
fn raw(host: &str, program: &str, pid: Option<u64>, message: &str, line: &str) -> Value {
    json!({"host": host, "program": program, "pid": pid, "message": message, "line": line})
}

/// auth.log read with `--year 2023`.
fn auth_log() -> Run {
    Run::syslog(
        "auth.log",
        Linux::new(Some(2023), ts("2030-01-01T00:00:00Z")),
    )
}

#[test]
fn auth_log_counts() {
    let run = auth_log();
    assert_eq!(run.outcomes.len(), 50);
    // Counted by hand from auth.log, line numbers in brackets:
    // remote      [3, 42] (sshd Accepted)
    // login       [4, 43] (pam_unix(sshd:session) opened) + [5, 27, 37, 44] (logind New session)
    // failed      [14, 17] (pam_unix(sshd:auth)) + [15, 18, 19, 28] (sshd Failed; 19 is
    //             "message repeated 2 times") + [24] (pam_unix(login:auth)) + [34]
    //             (pam_unix(gdm-password:auth))
    // local       [26] (pam_unix(login:session) opened)
    // interactive [36] (pam_unix(gdm-password:session) opened)
    // disconnect  [30, 47] (sshd Disconnected from user)
    // logout      [31, 48] (pam_unix(sshd:session) closed) + [45] (pam_unix(login:session)
    //             closed) + [33, 46, 49] (logind Removed session)
    let (actions, skipped, blank, invalid) = run.counts();
    assert_eq!(
        actions,
        map(&[
            ("disconnect", 2),
            ("failed", 8),
            ("interactive", 1),
            ("local", 1),
            ("login", 6),
            ("logout", 6),
            ("remote", 2),
        ])
    );
    // Skipped, by program:
    // CRON [1, 2, 10, 11, 39, 40] (pam_unix(cron:session): cron is not a logon service);
    // (systemd) [6] (systemd-user); sudo [7, 8, 9]; kernel [23]; login [25] (FAILED LOGIN:
    // the PAM line 24 already counts it); systemd-logind [32] (logged out, waiting);
    // gdm-password [35, 38] (gkr-pam); sshd [12 Invalid user, 13 check pass, 16 Connection
    // closed, 20 maximum attempts, 21 Disconnecting authenticating user, 22 PAM 2 more,
    // 29 Received disconnect].
    assert_eq!(
        skipped,
        map(&[
            ("(systemd)", 1),
            ("CRON", 6),
            ("gdm-password", 2),
            ("kernel", 1),
            ("login", 1),
            ("sshd", 7),
            ("sudo", 3),
            ("systemd-logind", 1),
        ])
    );
    // Line 41 is blank; line 50 was cut off mid-timestamp.
    assert_eq!((blank, invalid), (1, 1));
    assert_eq!(run.outcomes[40], Outcome::Blank);
    assert!(
        matches!(&run.outcomes[49], Outcome::Invalid(why) if why.starts_with("not a syslog line: "))
    );
}

#[test]
fn auth_log_events() {
    let run = auth_log();
    assert_eq!(
        run.event(3),
        json!({
            "timestamp": "2023-12-31T23:02:11Z", "action": "remote", "hostname": "bastion",
            "user": "alice", "user_name": "alice", "user_domain": null, "logon_id": "20133", "src_ip": "203.0.113.7", "src_port": 50022,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("bastion", "sshd", Some(20133),
                "Accepted publickey for alice from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:5sQ9cYb0mPq2v1TQw6Zr4Jm8kLx3Hn7uVd1eRf0gAa4",
                run.line(3)),
        })
    );
    // PAM failure for an unknown user: no user= field.
    assert_eq!(
        run.event(14),
        json!({
            "timestamp": "2023-12-31T23:40:05Z", "action": "failed", "hostname": "bastion",
            "user": null, "user_name": null, "user_domain": null, "logon_id": "20240", "src_ip": "198.51.100.23", "src_port": null,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("bastion", "sshd", Some(20240),
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23",
                run.line(14)),
        })
    );
    // rsyslog's repeat line: the inner message, plus `repeated`.
    assert_eq!(
        run.event(19),
        json!({
            "timestamp": "2023-12-31T23:51:40Z", "action": "failed", "hostname": "bastion",
            "user": "root", "user_name": "root", "user_domain": null, "logon_id": "20260", "src_ip": "198.51.100.23", "src_port": 41300,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("bastion", "sshd", Some(20260),
                "message repeated 2 times: [ Failed password for root from 198.51.100.23 port 41300 ssh2]",
                run.line(19)),
            "repeated": 2,
        })
    );
    // After New Year …
    assert_eq!(run.event(24)["timestamp"], json!("2024-01-01T00:00:07Z"));
    // … a late December line stays in 2023.
    assert_eq!(
        run.event(28),
        json!({
            "timestamp": "2023-12-31T23:59:59Z", "action": "failed", "hostname": "bastion",
            "user": "root", "user_name": "root", "user_domain": null, "logon_id": "20302", "src_ip": "198.51.100.23", "src_port": 41388,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("bastion", "sshd", Some(20302),
                "Failed password for root from 198.51.100.23 port 41388 ssh2", run.line(28)),
        })
    );
    // logind's removal gets the user of its New session (line 5), and the session id.
    assert_eq!(
        run.event(33),
        json!({
            "timestamp": "2024-01-01T00:03:12Z", "action": "logout", "hostname": "bastion",
            "user": "alice", "user_name": "alice", "user_domain": null, "logon_id": "41", "src_ip": null, "src_port": null,
            "src_host": null, "login_type": null, "source": "syslog",
            "raw": raw("bastion", "systemd-logind", Some(612), "Removed session 41.", run.line(33)),
        })
    );
    // GDM's `gdm-password]` ident.
    assert_eq!(
        run.event(36),
        json!({
            "timestamp": "2024-01-01T00:10:51Z", "action": "interactive", "hostname": "bastion",
            "user": "dave", "user_name": "dave", "user_domain": null, "logon_id": "2210", "src_ip": null, "src_port": null,
            "src_host": null, "login_type": "interactive", "source": "syslog",
            "raw": raw("bastion", "gdm-password", Some(2210),
                "pam_unix(gdm-password:session): session opened for user dave(uid=1003) by (uid=0)",
                run.line(36)),
        })
    );
    let e = run.event(47);
    assert_eq!(
        (
            &e["action"],
            &e["user"],
            &e["src_ip"],
            &e["src_port"],
            &e["timestamp"]
        ),
        (
            &json!("disconnect"),
            &json!("bob"),
            &json!("2001:db8:4::23"),
            &json!(61022),
            &json!("2024-01-01T01:02:37Z")
        )
    );
    for (n, user) in [(46, "carol"), (49, "bob")] {
        assert_eq!(run.event(n)["user"], json!(user), "line {n}");
    }
}

#[test]
fn auth_log_default_year() {
    // Read on 2 January 2024 without --year: December is last year's, the same as --year 2023.
    let explicit = auth_log();
    let default = Run::syslog("auth.log", Linux::new(None, ts("2024-01-02T08:00:00Z")));
    assert_eq!(explicit.outcomes, default.outcomes);
}

#[test]
fn secure_iso_counts() {
    let run = Run::syslog(
        "secure-iso.log",
        Linux::new(None, ts("2024-06-01T00:00:00Z")),
    );
    assert_eq!(run.outcomes.len(), 29);
    // Counted by hand from secure-iso.log, line numbers in brackets:
    // remote      [3] (sshd-session Accepted)
    // login       [4] (pam_unix(sshd:session) opened) + [5, 8, 11, 19] (logind New session;
    //             8 is SDDM's greeter user, which logind counts as a session)
    // failed      [9] (pam_unix(sddm:auth)) + [20, 21] (sshd-session Failed; 21 repeated 3)
    // interactive [10] (pam_unix(sddm:session)), [18] (pam_unix(lightdm:session))
    // disconnect  [24]
    // logout      [25] (pam_unix(sshd:session) closed), [28] (pam_unix(sddm:session)
    //             closed), [13, 26, 29] (logind Removed session)
    let (actions, skipped, blank, invalid) = run.counts();
    assert_eq!(
        actions,
        map(&[
            ("disconnect", 1),
            ("failed", 3),
            ("interactive", 2),
            ("login", 5),
            ("logout", 5),
            ("remote", 1),
        ])
    );
    // Skipped: sshd [1, 2] (listening); systemd [6] (systemd-user); sddm-helper [7, 12] and
    // lightdm [17] (greeter sessions); sudo [14, 15, 16]; sshd-session [22 Connection closed,
    // 23 Received disconnect]; crond [27].
    assert_eq!(
        skipped,
        map(&[
            ("crond", 1),
            ("lightdm", 1),
            ("sddm-helper", 2),
            ("sshd", 2),
            ("sshd-session", 2),
            ("sudo", 3),
            ("systemd", 1),
        ])
    );
    assert_eq!((blank, invalid), (0, 0));
}

#[test]
fn secure_iso_events() {
    let run = Run::syslog(
        "secure-iso.log",
        Linux::new(None, ts("2024-06-01T00:00:00Z")),
    );
    assert_eq!(
        run.event(3),
        json!({
            "timestamp": "2024-05-01T08:00:00.123456Z", "action": "remote", "hostname": "db01",
            "user": "bob", "user_name": "bob", "user_domain": null, "logon_id": "4242", "src_ip": "192.0.2.44", "src_port": 53211,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("db01", "sshd-session", Some(4242),
                "Accepted password for bob from 192.0.2.44 port 53211 ssh2", run.line(3)),
        })
    );
    // systemd 255's wording; the short host name.
    assert_eq!(
        run.event(11),
        json!({
            "timestamp": "2024-05-01T08:05:39.790Z", "action": "login", "hostname": "ws07",
            "user": "erin", "user_name": "erin", "user_domain": null, "logon_id": "7", "src_ip": null, "src_port": null,
            "src_host": null, "login_type": null, "source": "syslog",
            "raw": raw("ws07.corp.example.com", "systemd-logind", Some(690),
                "New session '7' of user 'erin' with class 'user' and type 'x11'.", run.line(11)),
        })
    );
    assert_eq!(
        run.event(21),
        json!({
            "timestamp": "2024-05-01T08:31:09.411870Z", "action": "failed", "hostname": "db01",
            "user": "git", "user_name": "git", "user_domain": null, "logon_id": "4501", "src_ip": "198.51.100.77", "src_port": 39120,
            "src_host": null, "login_type": "remote", "source": "syslog",
            "raw": raw("db01", "sshd-session", Some(4501),
                "message repeated 3 times: [ Failed publickey for invalid user git from 198.51.100.77 port 39120 ssh2: RSA SHA256:Yd0Qv7zBf2nW1kT9uLm4sPx6cHa3Ej8rGi5oNb2Dq0M]",
                run.line(21)),
            "repeated": 3,
        })
    );
    // Session 7 exists on db01 (bob) and on ws07 (erin): each removal gets its own host's user.
    assert_eq!(run.event(26)["user"], json!("bob"));
    assert_eq!(run.event(29)["user"], json!("erin"));
    assert_eq!(run.event(13)["user"], json!("sddm"));
    // kiosk3 writes UTC: its lines sit between the +02:00 ones.
    assert_eq!(
        run.event(18)["timestamp"],
        json!("2024-05-01T08:20:19.000310Z")
    );
    let e = run.event(9);
    assert_eq!(
        (
            &e["action"],
            &e["user"],
            &e["login_type"],
            &e["src_ip"],
            &e["logon_id"]
        ),
        (
            &json!("failed"),
            &json!("erin"),
            &json!("interactive"),
            &Value::Null,
            &json!("3402")
        )
    );
}

#[test]
fn journal_counts_and_events() {
    let run = Run::journal("journal.jsonl");
    assert_eq!(run.outcomes.len(), 14);
    // Counted by hand from journal.jsonl, record numbers in brackets:
    // remote [1]; login [2] (pam_unix(sshd:session) opened) + [3, 8] (logind New session);
    // failed [6] (MESSAGE as bytes); interactive [7] (gdm-password]); disconnect [10];
    // logout [11] (pam_unix closed) + [9, 13] (logind Removed session).
    // Skipped: systemd [4] (session scope started), kernel [5], systemd-logind [12]
    // (logged out, waiting), CRON [14].
    let (actions, skipped, blank, invalid) = run.counts();
    assert_eq!(
        actions,
        map(&[
            ("disconnect", 1),
            ("failed", 1),
            ("interactive", 1),
            ("login", 3),
            ("logout", 3),
            ("remote", 1),
        ])
    );
    assert_eq!(
        skipped,
        map(&[
            ("CRON", 1),
            ("kernel", 1),
            ("systemd", 1),
            ("systemd-logind", 1)
        ])
    );
    assert_eq!((blank, invalid), (0, 0));

    let record = |n: usize| -> Value { serde_json::from_str(run.line(n)).unwrap_or(Value::Null) };
    assert_eq!(
        run.event(1),
        json!({
            "timestamp": "2024-03-14T09:00:12.104221Z", "action": "remote", "hostname": "app02",
            "user": "alice", "user_name": "alice", "user_domain": null, "logon_id": "30511", "src_ip": "192.0.2.15", "src_port": 48812,
            "src_host": null, "login_type": "remote", "source": "journald", "raw": record(1),
        })
    );
    // A name that is not UTF-8 (Latin-1 "é"): decoded lossily.
    assert_eq!(
        run.event(6),
        json!({
            "timestamp": "2024-03-14T09:05:01.771305Z", "action": "failed", "hostname": "app02",
            "user": "ren\u{fffd}", "user_name": "ren\u{fffd}", "user_domain": null, "logon_id": "30620", "src_ip": "198.51.100.9", "src_port": 52230,
            "src_host": null, "login_type": "remote", "source": "journald", "raw": record(6),
        })
    );
    // Session 9 was opened before this excerpt: the record's USER_ID names the user.
    assert_eq!(
        run.event(9),
        json!({
            "timestamp": "2024-03-14T09:10:00.002Z", "action": "logout", "hostname": "app02",
            "user": "grace", "user_name": "grace", "user_domain": null, "logon_id": "9", "src_ip": null, "src_port": null,
            "src_host": null, "login_type": null, "source": "journald", "raw": record(9),
        })
    );
    let e = run.event(8);
    assert_eq!((&e["user"], &e["logon_id"]), (&json!("dave"), &json!("13")));
    let e = run.event(13);
    assert_eq!(
        (&e["action"], &e["user"], &e["logon_id"]),
        (&json!("logout"), &json!("alice"), &json!("12"))
    );
    let e = run.event(7);
    assert_eq!(
        (&e["action"], &e["user"], &e["logon_id"], &e["login_type"]),
        (
            &json!("interactive"),
            &json!("dave"),
            &json!("2877"),
            &json!("interactive")
        )
    );
}

#[test]
fn every_line_looks_like_syslog() {
    for name in ["auth.log", "secure-iso.log"] {
        for (i, line) in read(name).lines().enumerate() {
            // auth.log: 41 is blank and 50 truncated.
            let expected = !(name == "auth.log" && (i + 1 == 41 || i + 1 == 50));
            assert_eq!(Linux::looks_like_syslog(line), expected, "{name}:{}", i + 1);
        }
    }
}

/// The CLI on the Linux test logs: events are written as session JSON (not the syslog line)
/// by `normalize` and in alerts, correlations group on the normalized fields, and the
/// summary counts skipped lines by program. Regression: alerts and `normalize` once showed
/// the syslog line itself, and correlation groups read from it came out null.
#[test]
fn cli_run_and_normalize_on_syslog() {
    use crate::common::{bin, root};
    let log = root().join("tests/data/linux/auth.log");
    let out = std::process::Command::new(bin())
        .args(["normalize", "--input-format", "syslog", "--year", "2023"])
        .arg(&log)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON event"))
        .collect();
    assert_eq!(events.len(), 26);
    assert!(events.iter().all(|e| e["source"] == "syslog"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth.log:50: invalid event: not a syslog line: bad BSD timestamp"),
        "{stderr}"
    );
    assert!(
        stderr.contains("49 records: 26 session events, 22 skipped, 1 invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("skipped        6  CRON"), "{stderr}");

    let summary =
        std::env::temp_dir().join(format!("ss-linux-summary-{}.json", std::process::id()));
    let out = std::process::Command::new(bin())
        .args(["run", "--year", "2023", "--eof", "flush", "--summary"])
        .arg(&summary)
        .arg(&log)
        .output()
        .expect("runs");
    assert!(out.status.success());
    // Under `auto` a line that is neither JSON nor syslog says so.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth.log:50: invalid event: neither JSON"),
        "{stderr}"
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert JSON"))
        .collect();
    let view: Vec<(String, String, Value)> = alerts
        .iter()
        .map(|a| {
            (
                a["rule"]["name"].as_str().unwrap_or("").to_string(),
                a["timestamp"].as_str().unwrap_or("").to_string(),
                a["group"].clone(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            (
                "remote_logon_from_public_ip".to_string(),
                "2023-12-31T23:02:11Z".to_string(),
                Value::Null
            ),
            (
                "simultaneous_logins_on_host".to_string(),
                "2024-01-01T00:10:51Z".to_string(),
                serde_json::json!({"hostname": "bastion"})
            ),
            (
                "logon_outside_business_hours".to_string(),
                "2024-01-01T00:10:51Z".to_string(),
                Value::Null
            ),
            (
                "remote_logon_from_public_ip".to_string(),
                "2024-01-01T00:25:13Z".to_string(),
                Value::Null
            ),
            (
                "logon_without_logout".to_string(),
                "2024-01-01T10:10:51Z".to_string(),
                serde_json::json!({"hostname": "bastion", "logon_id": "2210"})
            ),
        ]
    );
    for a in &alerts {
        assert!(a["events"][0].is_object(), "events are JSON objects: {a}");
        assert_eq!(a["events"][0]["source"], "syslog");
    }
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary"))
        .expect("summary JSON");
    let _ = std::fs::remove_file(&summary);
    assert_eq!(s["events"], 26);
    assert_eq!(s["invalid"], 1);
    assert_eq!(s["skipped"]["sshd"], 7);
    assert_eq!(s["skipped"]["CRON"], 6);
}
