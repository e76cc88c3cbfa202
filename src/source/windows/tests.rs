//! Shapes and mapping rules on records written from the documented formats.

use crate::source::{Adapter, Format, Outcome, View};
use proptest::prelude::*;
use serde_json::{Value, json};

fn one(v: Value) -> Outcome {
    Adapter::new(Format::Auto, None).json(v)
}

fn event(v: Value) -> Value {
    match one(v) {
        Outcome::Event(r) => {
            assert_eq!(r.view, View::SessionWithRaw);
            let mut e = r.event;
            e.as_object_mut().and_then(|m| m.shift_remove("raw"));
            e
        }
        other => panic!("not an event: {other:?}"),
    }
}

#[test]
fn winlogbeat_7_documents() {
    let doc = json!({
        "@timestamp": "2024-05-01T10:00:00.123Z",
        "event": {"code": "4624", "provider": "Microsoft-Windows-Security-Auditing"},
        "winlog": {
            "event_id": "4624", "channel": "Security", "computer_name": "WS7.corp.example",
            "provider_name": "Microsoft-Windows-Security-Auditing", "record_id": 991,
            "event_data": {"LogonType": "10", "TargetUserName": "eve", "TargetDomainName": "CORP",
                           "TargetLogonId": "0x1A2B", "IpAddress": "198.51.100.4", "IpPort": "50123",
                           "WorkstationName": "LAPTOP9"}
        },
        "message": "An account was successfully logged on."
    });
    assert_eq!(
        event(doc),
        json!({"timestamp": "2024-05-01T10:00:00.123Z", "action": "rdp", "hostname": "WS7",
               "user": "CORP\\eve", "user_name": "eve", "user_domain": "CORP", "logon_id": "0x1a2b", "src_ip": "198.51.100.4", "src_port": 50123,
               "src_host": "LAPTOP9", "login_type": "rdp", "source": "winlogbeat"})
    );
}

#[test]
fn local_session_manager_from_user_data() {
    // evtx_dump renders LSM events with UserData.EventXML; LOCAL means the console.
    let lsm = |id: u64, address: &str| {
        json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-TerminalServices-LocalSessionManager"}},
            "EventID": id, "Channel": "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "Computer": "WS1.corp", "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T09:00:00.0000001Z"}}},
            "UserData": {"EventXML": {"User": "CORP\\bob", "SessionID": 3, "Address": address}}}})
    };
    let e = event(lsm(21, "LOCAL"));
    assert_eq!(
        (
            &e["action"],
            &e["login_type"],
            &e["src_ip"],
            &e["logon_id"],
            &e["user"]
        ),
        (
            &json!("interactive"),
            &json!("interactive"),
            &Value::Null,
            &json!("3"),
            &json!("CORP\\bob")
        )
    );
    assert_eq!(e["timestamp"], "2024-05-01T09:00:00.000000100Z");
    let e = event(lsm(21, "::ffff:203.0.113.9"));
    assert_eq!(
        (&e["action"], &e["login_type"], &e["src_ip"]),
        (&json!("rdp"), &json!("rdp"), &json!("203.0.113.9"))
    );
    assert_eq!(event(lsm(25, "10.0.0.7"))["action"], "reconnect");
    assert_eq!(event(lsm(24, "10.0.0.7"))["action"], "disconnect");
    match one(lsm(22, "10.0.0.7")) {
        Outcome::Skipped { reason, windows } => {
            assert_eq!(reason, "LocalSessionManager 22");
            let w = windows.expect("flattened");
            assert_eq!(w["User"], "CORP\\bob", "UserData fields at the top level");
            assert_eq!(
                w["Provider_Name"],
                "Microsoft-Windows-TerminalServices-LocalSessionManager"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_mapped_security_event() {
    let sec = |id: u64, data: Value| {
        let mut m = json!({"EventID": id, "Channel": "Security", "Computer": "H1", "TimeCreated": "2024-05-01T08:00:00Z"});
        for (k, v) in data.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    };
    let cases = [
        (
            4624,
            json!({"LogonType": 2}),
            "interactive",
            json!("interactive"),
        ),
        (
            4624,
            json!({"LogonType": 11}),
            "interactive",
            json!("interactive"),
        ),
        (4624, json!({"LogonType": 3}), "remote", json!("remote")),
        (4624, json!({"LogonType": "8"}), "remote", json!("remote")),
        (4624, json!({"LogonType": 10}), "rdp", json!("rdp")),
        (4624, json!({"LogonType": 12}), "rdp", json!("rdp")),
        (4624, json!({"LogonType": 7}), "unlock", Value::Null),
        (4624, json!({"LogonType": 13}), "unlock", Value::Null),
        (4624, json!({"LogonType": 5}), "login", Value::Null),
        (4624, json!({}), "login", Value::Null),
        (4625, json!({"LogonType": 3}), "failed", json!("remote")),
        (4625, json!({"LogonType": 7}), "failed", Value::Null),
        (4634, json!({"LogonType": 10}), "logout", json!("rdp")),
        (4647, json!({}), "logout", Value::Null),
        (
            4778,
            json!({"SessionName": "RDP-Tcp#3"}),
            "reconnect",
            json!("rdp"),
        ),
        (
            4779,
            json!({"SessionName": "Console"}),
            "disconnect",
            json!("interactive"),
        ),
        (4800, json!({}), "lock", Value::Null),
        (4801, json!({}), "unlock", Value::Null),
    ];
    for (id, data, action, login_type) in cases {
        let e = event(sec(id, data.clone()));
        assert_eq!(e["action"], action, "{id} {data}");
        assert_eq!(e["login_type"], login_type, "{id} {data}");
    }
    // Placeholders: `-` user, `?` domain, empty workstation, port 0, LOCAL address.
    let e = event(sec(
        4624,
        json!({"LogonType": 3, "TargetUserName": "svc", "TargetDomainName": "?", "WorkstationName": "",
               "IpPort": 0, "IpAddress": "LOCAL", "TargetLogonId": 255}),
    ));
    assert_eq!(
        (
            &e["user"],
            &e["src_host"],
            &e["src_port"],
            &e["src_ip"],
            &e["logon_id"]
        ),
        (
            &json!("svc"),
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!("0xff")
        )
    );
    assert!(
        matches!(one(sec(4672, json!({}))), Outcome::Skipped { ref reason, .. } if reason == "Security 4672")
    );
}

#[test]
fn wrong_types_are_invalid_or_ignored_never_a_panic() {
    assert!(matches!(
        one(json!({"EventID": "four", "Channel": "Security"})),
        Outcome::Invalid(ref m) if m.contains("EventID")
    ));
    assert!(matches!(
        one(json!({"Event": {"System": {"Channel": "Security"}}})),
        Outcome::Invalid(ref m) if m.contains("without EventID")
    ));
    // Fields of the wrong type are simply not used.
    let e = event(
        json!({"EventID": 4624, "Channel": "Security", "LogonType": [3],
                         "TargetUserName": 42, "IpAddress": {"a": 1}, "IpPort": "x", "Computer": 7}),
    );
    assert_eq!(e["action"], "login");
    assert_eq!(e["user"], Value::Null);
    assert_eq!(e["src_ip"], Value::Null);
    // EventID with qualifiers, as evtx renders it.
    let e = event(
        json!({"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4800},
                                              "Channel": "Security"}, "EventData": null}}),
    );
    assert_eq!(e["action"], "lock");
    assert_eq!(e["timestamp"], Value::Null);
}

proptest! {
    #[test]
    fn any_windows_like_object_is_one_outcome(
        id in prop_oneof![Just(json!(4624)), Just(json!("4625")),
                                    (0u64..70000).prop_map(|n| json!(n)), ".{0,6}".prop_map(|s| json!(s))],
        lt in prop_oneof![(0u64..20).prop_map(|n| json!(n)), ".{0,4}".prop_map(|s| json!(s)), Just(Value::Null)],
        user in ".{0,8}", ip in ".{0,20}", port in prop_oneof![(-5i64..70000).prop_map(|n| json!(n)), ".{0,6}".prop_map(|s| json!(s))],
        chan in prop_oneof![Just("Security".to_string()), ".{0,10}"],
        time in ".{0,30}",
    ) {
        let rec = json!({"EventID": id, "Channel": chan, "Computer": "X.y", "TimeCreated": time,
                         "LogonType": lt, "TargetUserName": user, "IpAddress": ip, "IpPort": port,
                         "ClientAddress": ip, "SessionName": user, "Message": format!("User: {user}\nSession ID: {port}")});
        let mut a = Adapter::new(Format::Auto, None);
        let o = a.json(rec);
        prop_assert_eq!(a.accounting().records, 1);
        if let Outcome::Event(r) = o {
            prop_assert!(r.event["raw"].is_object());
        }
    }
}

#[test]
fn data_names_with_spaces_are_also_there_without_them() {
    // Windows Defender writes `Threat Name`, `Process Name`; Sigma rules read `ThreatName`.
    let o = one(json!({"Event": {"System": {
        "EventID": 1119, "Channel": "Microsoft-Windows-Windows Defender/Operational",
        "Computer": "WS1", "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T09:00:00Z"}}},
        "EventData": {"Threat Name": "Virus:DOS/EICAR_Test_File", "Source Name": "Real-Time Protection",
                      "SourceName": "kept as written"}}}));
    let Outcome::Skipped {
        windows: Some(w), ..
    } = o
    else {
        panic!("a Windows record: {o:?}")
    };
    assert_eq!(w["ThreatName"], "Virus:DOS/EICAR_Test_File");
    assert_eq!(w["Threat Name"], "Virus:DOS/EICAR_Test_File");
    // A name already there is not overwritten.
    assert_eq!(w["SourceName"], "kept as written");
}
