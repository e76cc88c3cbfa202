//! Windows records → session events: the mapping table of docs/semantics.md §5.

use super::shape::WinRecord;
use crate::source::build::{SessionEvent, is_placeholder, login_type_of, logon_id, number};
use crate::source::{Outcome, Record, View};
use serde_json::Value;

const SECURITY: &str = "Security";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const LSM_PROVIDER: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";

/// Maps one record: a session event (keeping the flattened record as `raw`), or skipped
/// with its flattened record for Windows rules.
pub fn map(r: WinRecord) -> Outcome {
    let event = if is_security(&r) {
        security(&r)
    } else if is_lsm(&r) {
        local_session_manager(&r)
    } else {
        None
    };
    match event {
        Some(mut e) => {
            e.timestamp = r.time;
            if let Some(c) = &r.computer {
                e.host(c);
            }
            e.raw = Value::Object(r.flat);
            Outcome::Event(Record {
                event: e.into_value(),
                view: View::SessionWithRaw,
                verbatim: false,
            })
        }
        None => Outcome::Skipped {
            reason: skip_reason(&r),
            windows: Some(Value::Object(r.flat)),
        },
    }
}

fn is_security(r: &WinRecord) -> bool {
    r.channel_is(SECURITY)
        || (r.channel.is_empty()
            && r.provider.as_deref() == Some("Microsoft-Windows-Security-Auditing"))
}

fn is_lsm(r: &WinRecord) -> bool {
    r.channel_is(LSM) || (r.channel.is_empty() && r.provider.as_deref() == Some(LSM_PROVIDER))
}

/// `Security 4672`, `LocalSessionManager 41`, `Microsoft-Windows-Sysmon/Operational 1`.
fn skip_reason(r: &WinRecord) -> String {
    let channel = if is_security(r) {
        SECURITY
    } else if is_lsm(r) {
        "LocalSessionManager"
    } else if r.channel.is_empty() {
        "(no channel)"
    } else {
        r.channel.as_str()
    };
    format!("{channel} {}", r.event_id)
}

fn security(r: &WinRecord) -> Option<SessionEvent> {
    let logon_type = number(r.get("LogonType"));
    let mut e = match r.event_id {
        4624 => {
            let (action, login_type) = match logon_type {
                Some(2 | 11) => ("interactive", Some("interactive")),
                Some(3 | 8) => ("remote", Some("remote")),
                Some(10 | 12) => ("rdp", Some("rdp")),
                Some(7 | 13) => ("unlock", None),
                _ => ("login", None),
            };
            let mut e = SessionEvent::new(action, r.source);
            e.login_type = login_type;
            e
        }
        4625 => SessionEvent::new("failed", r.source),
        4634 | 4647 => SessionEvent::new("logout", r.source),
        4778 | 4779 => {
            let mut e = SessionEvent::new(
                if r.event_id == 4778 {
                    "reconnect"
                } else {
                    "disconnect"
                },
                r.source,
            );
            e.user_in(r.str("AccountDomain"), r.str("AccountName"));
            e.logon_id = logon_id(r.get("LogonID"));
            e.source_ip(r.str("ClientAddress"));
            e.src_host = text_field(r, "ClientName");
            e.login_type = match r.str("SessionName") {
                Some(s) if s.starts_with("RDP-Tcp") => Some("rdp"),
                Some(s) if s.eq_ignore_ascii_case("Console") => Some("interactive"),
                _ => None,
            };
            return Some(e);
        }
        4800 => SessionEvent::new("lock", r.source),
        4801 => SessionEvent::new("unlock", r.source),
        _ => return None,
    };
    if matches!(r.event_id, 4625 | 4634) {
        e.login_type = logon_type.and_then(login_type_of);
    }
    e.user_in(r.str("TargetDomainName"), r.str("TargetUserName"));
    e.logon_id = logon_id(r.get("TargetLogonId"));
    e.source_ip(r.str("IpAddress"));
    e.source_port(r.get("IpPort"));
    e.src_host = text_field(r, "WorkstationName");
    Some(e)
}

fn text_field(r: &WinRecord, key: &str) -> Option<String> {
    crate::source::build::text(r.get(key))
}

/// LocalSessionManager 21 / 23 / 24 / 25. User, session id and address come from the event
/// fields (`User`, `SessionID`, `Address`), or from the `Message` text where the shape keeps
/// them only there (NXLog).
fn local_session_manager(r: &WinRecord) -> Option<SessionEvent> {
    let action = match r.event_id {
        21 => "rdp",
        23 => "logout",
        24 => "disconnect",
        25 => "reconnect",
        _ => return None,
    };
    let message = r.str("Message").unwrap_or("");
    let user = r
        .str("User")
        .map(str::to_string)
        .or_else(|| message_line(message, "User:"));
    let session = match r.get("SessionID") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.trim().to_string()),
        _ => message_line(message, "Session ID:"),
    };
    let address = r
        .str("Address")
        .map(str::to_string)
        .or_else(|| message_line(message, "Source Network Address:"));
    let local = address
        .as_deref()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("LOCAL"));
    let action = if action == "rdp" && local {
        "interactive"
    } else {
        action
    };
    let mut e = SessionEvent::new(action, r.source);
    e.user = user.filter(|u| !is_placeholder(u));
    e.logon_id = session.filter(|s| !is_placeholder(s));
    e.source_ip(address.as_deref());
    e.login_type = match &address {
        Some(_) if local => Some("interactive"),
        Some(_) => Some("rdp"),
        None => None,
    };
    Some(e)
}

/// The value after `label` on a line of a rendered message (`User: CORP\bob`).
fn message_line(message: &str, label: &str) -> Option<String> {
    message
        .lines()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
}
