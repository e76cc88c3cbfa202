//! Tests of the Linux adapter through its public API.

use super::*;
use crate::time::parse_rfc3339;
use proptest::prelude::*;
use serde_json::json;

fn now() -> Timestamp {
    parse_rfc3339("2024-06-01T00:00:00Z").unwrap_or(Timestamp(0))
}

fn reader() -> Linux {
    Linux::new(Some(2024), now())
}

fn event(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Event(Record {
            event,
            view: View::Session,
            verbatim: false,
        }) => event,
        other => panic!("not an event: {other:?}"),
    }
}

/// The event without `raw`, for brevity.
fn brief(outcome: Outcome) -> Value {
    let mut e = event(outcome);
    if let Value::Object(m) = &mut e {
        m.remove("raw");
    }
    e
}

fn skipped(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Skipped {
            reason,
            windows: None,
        } => Some(reason),
        _ => None,
    }
}

#[test]
fn sshd_accepted_full_event() {
    let line = "May  1 10:00:00 web01.example.com sshd[4242]: Accepted publickey for alice from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:q3VxE";
    assert_eq!(
        event(reader().syslog_line(line)),
        json!({
            "timestamp": "2024-05-01T10:00:00Z",
            "action": "remote",
            "hostname": "web01",
            "user": "alice", "user_name": "alice", "user_domain": null,
            "logon_id": "4242",
            "src_ip": "203.0.113.7",
            "src_port": 50022,
            "src_host": null,
            "login_type": "remote",
            "source": "syslog",
            "raw": {
                "host": "web01.example.com",
                "program": "sshd",
                "pid": 4242,
                "message": "Accepted publickey for alice from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:q3VxE",
                "line": line,
            }
        })
    );
}

#[test]
fn every_message_kind() {
    let mut r = reader();
    let mut one = |line: &str| brief(r.syslog_line(line));
    let e = one(
        "May  1 10:00:01 h sshd[7]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
    );
    assert_eq!(
        (&e["action"], &e["login_type"], &e["user"], &e["logon_id"]),
        (
            &json!("login"),
            &json!("remote"),
            &json!("alice"),
            &json!("7")
        )
    );
    let e = one(
        "May  1 10:00:02 h sshd[7]: Disconnected from user alice ::ffff:203.0.113.7 port 50022",
    );
    assert_eq!(
        (&e["action"], &e["src_ip"], &e["src_port"]),
        (&json!("disconnect"), &json!("203.0.113.7"), &json!(50022))
    );
    let e = one("May  1 10:00:03 h sshd[7]: pam_unix(sshd:session): session closed for user alice");
    assert_eq!(
        (&e["action"], &e["login_type"]),
        (&json!("logout"), &json!("remote"))
    );
    let e = one(
        "May  1 10:00:04 h sshd[9]: Failed password for invalid user admin from 198.51.100.23 port 41234 ssh2",
    );
    assert_eq!(
        e,
        json!({"timestamp": "2024-05-01T10:00:04Z", "action": "failed", "hostname": "h",
               "user": "admin", "user_name": "admin", "user_domain": null, "logon_id": "9", "src_ip": "198.51.100.23", "src_port": 41234,
               "src_host": null, "login_type": "remote", "source": "syslog"})
    );
    let e = one(
        "May  1 10:00:05 h sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net",
    );
    assert_eq!(
        (&e["action"], &e["user"], &e["src_ip"], &e["src_host"]),
        (
            &json!("failed"),
            &Value::Null,
            &Value::Null,
            &json!("scanner.example.net")
        )
    );
    let e = one(
        "May  1 10:00:06 h login[812]: pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty2 ruser= rhost=  user=carol",
    );
    assert_eq!(
        (&e["action"], &e["login_type"], &e["user"], &e["src_ip"]),
        (
            &json!("failed"),
            &json!("local"),
            &json!("carol"),
            &Value::Null
        )
    );
    let e = one(
        "May  1 10:00:07 h login[812]: pam_unix(login:session): session opened for user carol(uid=1002) by LOGIN(uid=0)",
    );
    assert_eq!(
        (&e["action"], &e["login_type"], &e["logon_id"]),
        (&json!("local"), &json!("local"), &json!("812"))
    );
    let e = one(
        "May  1 10:00:08 h gdm-password][1500]: pam_unix(gdm-password:session): session opened for user dave(uid=1003) by (uid=0)",
    );
    assert_eq!(
        (&e["action"], &e["login_type"], &e["user"], &e["logon_id"]),
        (
            &json!("interactive"),
            &json!("interactive"),
            &json!("dave"),
            &json!("1500")
        )
    );
    let e = one(
        "May  1 10:00:09 h gdm-password][1500]: pam_unix(gdm-password:auth): authentication failure; logname= uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=dave",
    );
    assert_eq!(
        (&e["action"], &e["login_type"]),
        (&json!("failed"), &json!("interactive"))
    );
    let e =
        one("May  1 10:00:10 h lightdm: pam_unix(lightdm:session): session closed for user dave");
    assert_eq!(
        (&e["action"], &e["login_type"], &e["logon_id"]),
        (&json!("logout"), &json!("interactive"), &Value::Null)
    );
}

#[test]
fn logind_remembers_users() {
    let mut r = reader();
    let e = brief(
        r.syslog_line("May  1 10:00:00 h1 systemd-logind[600]: New session 5 of user alice."),
    );
    assert_eq!(
        e,
        json!({"timestamp": "2024-05-01T10:00:00Z", "action": "login", "hostname": "h1",
               "user": "alice", "user_name": "alice", "user_domain": null, "logon_id": "5", "src_ip": null, "src_port": null,
               "src_host": null, "login_type": null, "source": "syslog"})
    );
    // The same id on another host is another session.
    let e = brief(
        r.syslog_line("May  1 10:00:01 h2.corp systemd-logind[601]: New session 5 of user bob."),
    );
    assert_eq!(e["user"], json!("bob"));
    let e = brief(r.syslog_line("May  1 10:00:02 h1 systemd-logind[600]: Removed session 5."));
    assert_eq!(
        (&e["action"], &e["user"], &e["logon_id"], &e["login_type"]),
        (&json!("logout"), &json!("alice"), &json!("5"), &Value::Null)
    );
    // Short and qualified names of one host are one host.
    let e = brief(r.syslog_line("May  1 10:00:03 h2 systemd-logind[601]: Removed session 5."));
    assert_eq!(e["user"], json!("bob"));
    // Forgotten once removed; never seen: no user.
    let e = brief(r.syslog_line("May  1 10:00:04 h1 systemd-logind[600]: Removed session 5."));
    assert_eq!(e["user"], Value::Null);
    for line in [
        "May  1 10:00:05 h1 systemd-logind[600]: Session 5 logged out. Waiting for processes to exit.",
        "May  1 10:00:05 h1 systemd-logind[600]: Watching system buttons on /dev/input/event0 (Power Button)",
        "May  1 10:00:05 h1 sshd[7]: pam_systemd(sshd:session): New sd-bus connection (system-bus-pam-systemd-7) opened.",
    ] {
        let o = r.syslog_line(line);
        assert!(skipped(&o).is_some(), "{line}: {o:?}");
    }
}

#[test]
fn repeated_messages() {
    let mut r = reader();
    let e = event(r.syslog_line(
        "May  1 10:00:00 h sshd[9]: message repeated 4 times: [ Failed password for root from 198.51.100.23 port 41234 ssh2]",
    ));
    assert_eq!(
        (&e["action"], &e["user"], &e["repeated"]),
        (&json!("failed"), &json!("root"), &json!(4))
    );
    assert_eq!(
        e["raw"]["message"],
        json!(
            "message repeated 4 times: [ Failed password for root from 198.51.100.23 port 41234 ssh2]"
        )
    );
    // Not a session message: skipped under the program, like the message itself.
    let o =
        r.syslog_line("May  1 10:00:01 h CRON[5]: message repeated 2 times: [ (root) CMD (true)]");
    assert_eq!(skipped(&o), Some("CRON"));
    // Events that were not repeated have no such field.
    let e = event(r.syslog_line(
        "May  1 10:00:02 h sshd[9]: Failed password for root from 198.51.100.23 port 41234 ssh2",
    ));
    assert!(e.get("repeated").is_none());
}

#[test]
fn skips_and_invalid() {
    let mut r = reader();
    assert_eq!(r.syslog_line(""), Outcome::Blank);
    assert_eq!(r.syslog_line("  \r\n"), Outcome::Blank);
    for (line, reason) in [
        ("May  1 10:00:00 h CRON[5]: (root) CMD (true)", "CRON"),
        (
            "May  1 10:00:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/true",
            "sudo",
        ),
        (
            "May  1 10:00:00 h kernel: [    1.5] ACPI: Early table checksum verification disabled",
            "kernel",
        ),
        (
            "May  1 10:00:00 h sshd[7]: Received disconnect from 203.0.113.7 port 50022:11: disconnected by user",
            "sshd",
        ),
        (
            "May  1 10:00:00 h sshd-session[7]: Connection closed by 203.0.113.7 port 50022 [preauth]",
            "sshd-session",
        ),
        ("May  1 10:00:00 h -- MARK --", "(no program)"),
        ("-- Boot 0f8e2a9c4b1d4e37a1c2d3e4f5a6b7c8 --", "journalctl"),
    ] {
        assert_eq!(skipped(&r.syslog_line(line)), Some(reason), "{line}");
    }
    for line in [
        "hello",
        "{\"a\": 1",
        "May  1",
        "Foo  1 10:00:00 h p: m",
        "<999>May  1 10:00:00 h p: m",
    ] {
        match r.syslog_line(line) {
            Outcome::Invalid(why) => assert!(why.starts_with("not a syslog line: "), "{why}"),
            other => panic!("{line}: {other:?}"),
        }
    }
    // A date that exists in no candidate year.
    assert!(matches!(
        Linux::new(Some(2023), now()).syslog_line("Feb 29 10:00:00 h p: m"),
        Outcome::Invalid(_)
    ));
}

#[test]
fn timestamp_forms() {
    let mut r = reader();
    let t = |o: Outcome| event(o)["timestamp"].clone();
    assert_eq!(
        t(r.syslog_line(
            "<38>Jan  5 03:04:05.250 h sshd[1]: Accepted password for a from 10.0.0.1 port 2 ssh2"
        )),
        json!("2024-01-05T03:04:05.250Z")
    );
    assert_eq!(
        t(r.syslog_line("2024-05-01T10:00:00.123456+02:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 2 ssh2")),
        json!("2024-05-01T08:00:00.123456Z")
    );
    let e = event(r.syslog_line(
        "<38>1 2024-05-01T10:00:00Z h.example.com sshd 31 - [meta x=\"1\"] Accepted password for a from 10.0.0.1 port 2 ssh2",
    ));
    assert_eq!(
        (
            &e["timestamp"],
            &e["hostname"],
            &e["logon_id"],
            &e["raw"]["program"],
            &e["raw"]["pid"]
        ),
        (
            &json!("2024-05-01T10:00:00Z"),
            &json!("h"),
            &json!("31"),
            &json!("sshd"),
            &json!(31)
        )
    );
    let e = event(
        r.syslog_line("<38>1 - - sshd - - - Accepted password for a from 10.0.0.1 port 2 ssh2"),
    );
    assert_eq!(
        (&e["timestamp"], &e["hostname"], &e["logon_id"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
}

#[test]
fn rollover_through_the_api() {
    let mut r = Linux::new(
        None,
        parse_rfc3339("2025-01-02T00:00:00Z").unwrap_or(Timestamp(0)),
    );
    let lines = [
        "Dec 31 23:59:58 h CRON[1]: tick",
        "Dec 31 23:59:59 h sshd[2]: Failed password for root from 10.0.0.9 port 1 ssh2",
        "Jan  1 00:00:01 h sshd[2]: Failed password for root from 10.0.0.9 port 1 ssh2",
        "Dec 31 23:59:59 h sshd[2]: Failed password for root from 10.0.0.9 port 1 ssh2",
    ];
    let times: Vec<Value> = lines
        .iter()
        .map(|l| match r.syslog_line(l) {
            Outcome::Event(rec) => rec.event["timestamp"].clone(),
            _ => Value::Null,
        })
        .collect();
    assert_eq!(
        times,
        [
            Value::Null,
            json!("2024-12-31T23:59:59Z"),
            json!("2025-01-01T00:00:01Z"),
            json!("2024-12-31T23:59:59Z"),
        ]
    );
}

#[test]
fn looks_like_syslog() {
    for line in [
        "Jan  5 03:04:05 host sshd[1]: x",
        "<13>Jan  5 03:04:05 host x",
        "2024-05-01T10:00:00Z host x",
        "<34>1 2024-05-01T10:00:00Z host app - - - x",
        "-- No entries --",
    ] {
        assert!(Linux::looks_like_syslog(line), "{line}");
    }
    for line in [
        "{\"MESSAGE\":\"x\"}",
        "hello world",
        "Jan",
        "2024-05-01",
        "1 2 3",
    ] {
        assert!(!Linux::looks_like_syslog(line), "{line}");
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[test]
fn journal_records() {
    let mut r = reader();
    let record = json!({
        "__CURSOR": "s=1;i=2",
        "__REALTIME_TIMESTAMP": "1714557600123456",
        "_HOSTNAME": "web01.example.com",
        "SYSLOG_IDENTIFIER": "sshd",
        "_PID": "4242",
        "MESSAGE": "Accepted password for alice from 203.0.113.7 port 50022 ssh2"
    });
    assert!(Linux::is_journal(&obj(record.clone())));
    assert_eq!(
        event(r.journal(obj(record.clone()))),
        json!({
            "timestamp": "2024-05-01T10:00:00.123456Z",
            "action": "remote",
            "hostname": "web01",
            "user": "alice", "user_name": "alice", "user_domain": null,
            "logon_id": "4242",
            "src_ip": "203.0.113.7",
            "src_port": 50022,
            "src_host": null,
            "login_type": "remote",
            "source": "journald",
            "raw": record,
        })
    );
    // A message that is not UTF-8 arrives as bytes.
    let bytes: Vec<u8> =
        b"Failed password for invalid user \xff from 10.0.0.1 port 22 ssh2".to_vec();
    let e = event(r.journal(obj(json!({
        "__REALTIME_TIMESTAMP": "1714557600000000", "_HOSTNAME": "h", "SYSLOG_IDENTIFIER": "sshd",
        "SYSLOG_PID": "77", "MESSAGE": bytes,
    }))));
    assert_eq!(
        (&e["user"], &e["logon_id"]),
        (&json!("\u{fffd}"), &json!("77"))
    );
    // logind: the memory, then the record's USER_ID.
    let logind = |msg: &str, user_id: Option<&str>| {
        let mut o = obj(
            json!({"__REALTIME_TIMESTAMP": "1714557600000000", "_HOSTNAME": "h",
                               "SYSLOG_IDENTIFIER": "systemd-logind", "_PID": "600", "MESSAGE": msg}),
        );
        if let Some(u) = user_id {
            o.insert("USER_ID".into(), json!(u));
        }
        o
    };
    assert_eq!(
        brief(r.journal(logind("New session 3 of user carol.", None)))["user"],
        json!("carol")
    );
    assert_eq!(
        brief(r.journal(logind("Removed session 3.", Some("other"))))["user"],
        json!("carol")
    );
    assert_eq!(
        brief(r.journal(logind("Removed session 4.", Some("erin"))))["user"],
        json!("erin")
    );
    // Not session records; no message; a broken time.
    let o = r.journal(obj(
        json!({"__REALTIME_TIMESTAMP": "1", "SYSLOG_IDENTIFIER": "CRON", "MESSAGE": "x"}),
    ));
    assert_eq!(skipped(&o), Some("CRON"));
    let o = r.journal(obj(
        json!({"__REALTIME_TIMESTAMP": "1", "_COMM": "gdm-session-wor"}),
    ));
    assert_eq!(skipped(&o), Some("gdm-session-wor"));
    let o = r.journal(obj(json!({"__REALTIME_TIMESTAMP": "1", "MESSAGE": null})));
    assert_eq!(skipped(&o), Some("(no program)"));
    assert!(matches!(
        r.journal(obj(json!({"__REALTIME_TIMESTAMP": "x"}))),
        Outcome::Invalid(_)
    ));
    // No time at all: an event without one.
    let e = brief(r.journal(obj(json!({"_BOOT_ID": "b", "SYSLOG_IDENTIFIER": "gdm-password]",
        "MESSAGE": "pam_unix(gdm-password:session): session opened for user dave(uid=1003) by (uid=0)"}))));
    assert_eq!(
        (&e["timestamp"], &e["action"]),
        (&Value::Null, &json!("interactive"))
    );
}

#[test]
fn garbage_bytes_never_panic() {
    // A deterministic xorshift stream of bytes, read as the adapter reads them (lossily).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut r = reader();
    let prefixes = [
        "",
        "<13>",
        "Jan  5 03:04:05 ",
        "Dec 31 23:59:59 h ",
        "2024-05-01T10:00:00Z h ",
        "<34>1 2024-05-01T10:00:00Z h a 1 m [",
        "<34>1 - ",
        "Jan  5 03:04:05 h sshd[1]: ",
        "Jan  5 03:04:05 h sshd[1]: Accepted ",
        "Jan  5 03:04:05 h sshd[1]: Failed a for ",
        "Jan  5 03:04:05 h x: pam_unix(",
        "Jan  5 03:04:05 h x: pam_unix(sshd:auth): authentication failure;",
        "Jan  5 03:04:05 h systemd-logind[1]: New session ",
        "Jan  5 03:04:05 h sshd[1]: message repeated ",
        "Jan  5 03:04:05 h sshd[1]: Disconnected from user ",
    ];
    let alphabet = b" :[]()<>-.'\"\\=;0123456789abcJan\xff\xe2\x82\xac\n\r\tfromportssh2user";
    for i in 0..20_000 {
        let mut bytes = prefixes[i % prefixes.len()].as_bytes().to_vec();
        let len = (i * 7) % 90;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = if i % 3 == 0 {
                state as u8
            } else {
                alphabet[(state as usize) % alphabet.len()]
            };
            bytes.push(b);
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = Linux::looks_like_syslog(&text);
        let _ = r.syslog_line(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_line_any_outcome_but_no_panic(line in "\\PC{0,120}", year in proptest::option::of(-5i64..10_005)) {
        let mut r = Linux::new(year, now());
        let _ = Linux::looks_like_syslog(&line);
        let _ = r.syslog_line(&line);
    }

    #[test]
    fn structured_lines_no_panic(
        head in "(<[0-9]{1,4}>)?(1 )?([A-Z][a-z]{2} [ 0-9]{1,3} [0-9:.]{4,12}|[0-9T:.+Z-]{10,32}|-) ",
        rest in "[ -~\u{a0}-\u{2fff}]{0,80}",
    ) {
        let mut r = reader();
        let line = format!("{head}{rest}");
        let _ = r.syslog_line(&line);
        let _ = r.syslog_line(&format!("{head}h sshd[1]: {rest}"));
    }

    #[test]
    fn any_journal_record_no_panic(
        message in proptest::option::of("\\PC{0,60}"),
        bytes in proptest::collection::vec(0u16..300, 0..20),
        time in "[0-9x-]{0,22}",
        pid in "[0-9a]{0,21}",
    ) {
        let mut r = reader();
        let mut o = Map::new();
        o.insert("__REALTIME_TIMESTAMP".into(), json!(time));
        o.insert("_PID".into(), json!(pid));
        o.insert("SYSLOG_IDENTIFIER".into(), json!("systemd-logind"));
        o.insert("MESSAGE".into(), message.map_or_else(|| json!(bytes), Value::from));
        let _ = Linux::is_journal(&o);
        let _ = r.journal(o);
    }
}
