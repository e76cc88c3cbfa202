//! The session event every adapter builds, with the field rules of docs/semantics.md §5:
//! placeholders (`-`, `LOCAL`, `?`, empty) become null, ports ≤ 0 become null, IPv4-mapped
//! IPv6 addresses become IPv4, and host names lose their domain.

use crate::time::Timestamp;
use serde_json::{Map, Value};

/// A session event under construction. Setters apply the field rules; [`Self::into_value`]
/// writes the fields in a fixed order, unknown ones as null.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    /// Event time.
    pub timestamp: Option<Timestamp>,
    /// One of the actions of docs/semantics.md §2.
    pub action: &'static str,
    /// Short host name.
    pub hostname: Option<String>,
    /// `DOMAIN\name` (Windows) or the bare name (Linux).
    pub user: Option<String>,
    /// Windows logon id (lower-case hex) or a Linux session / process id.
    pub logon_id: Option<String>,
    /// Origin address.
    pub src_ip: Option<String>,
    /// Origin port.
    pub src_port: Option<u64>,
    /// Client workstation name.
    pub src_host: Option<String>,
    /// CAR's `login_type`.
    pub login_type: Option<&'static str>,
    /// The adapter that produced it.
    pub source: &'static str,
    /// The original record (flattened for Windows).
    pub raw: Value,
}

/// Is this one of the placeholder values that mean "none"?
pub fn is_placeholder(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s == "-" || s == "?" || s.eq_ignore_ascii_case("LOCAL")
}

/// The text of a string or number, without placeholders.
pub fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!is_placeholder(&s)).then_some(s)
}

/// An unsigned number from a number or a decimal string (`"3"`).
pub fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The host name without its domain (`WS1.corp.local` → `WS1`); addresses stay whole.
pub fn short_host(s: &str) -> Option<String> {
    let s = s.trim();
    if is_placeholder(s) {
        return None;
    }
    if s.parse::<std::net::IpAddr>().is_ok() {
        return Some(s.to_string());
    }
    Some(s.split('.').next().unwrap_or(s).to_string())
}

/// An address without placeholders, IPv4-mapped IPv6 written as IPv4.
pub fn address(s: &str) -> Option<String> {
    let s = s.trim();
    if is_placeholder(s) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some(v4) = lower.strip_prefix("::ffff:") {
        if v4.parse::<std::net::Ipv4Addr>().is_ok() {
            return Some(v4.to_string());
        }
    }
    Some(s.to_string())
}

/// A Windows logon id in lower-case hex (`0x3E7` → `0x3e7`; a number → `0x…`).
pub fn logon_id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => n.as_u64().map(|n| format!("{n:#x}")),
        Value::String(s) => {
            let s = s.trim();
            if is_placeholder(s) {
                return None;
            }
            Some(s.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// `login_type` for a Windows LogonType (docs/semantics.md §5).
pub fn login_type_of(logon_type: u64) -> Option<&'static str> {
    match logon_type {
        2 | 11 => Some("interactive"),
        3 | 8 => Some("remote"),
        10 | 12 => Some("rdp"),
        _ => None,
    }
}

pub use crate::event::identity;

impl SessionEvent {
    /// An event of `action` from adapter `source`, every other field unknown.
    pub fn new(action: &'static str, source: &'static str) -> Self {
        SessionEvent {
            timestamp: None,
            action,
            hostname: None,
            user: None,
            logon_id: None,
            src_ip: None,
            src_port: None,
            src_host: None,
            login_type: None,
            source,
            raw: Value::Null,
        }
    }

    /// Sets the host from a (possibly qualified) name.
    pub fn host(&mut self, name: &str) {
        self.hostname = short_host(name);
    }

    /// Sets the user from a domain and a name: `DOMAIN\name`, the bare name when the domain
    /// is a placeholder, nothing when the name is.
    pub fn user_in(&mut self, domain: Option<&str>, name: Option<&str>) {
        let Some(name) = name.map(str::trim).filter(|n| !is_placeholder(n)) else {
            self.user = None;
            return;
        };
        self.user = Some(match domain.map(str::trim).filter(|d| !is_placeholder(d)) {
            Some(d) => format!("{d}\\{name}"),
            None => name.to_string(),
        });
    }

    /// Sets the source address.
    pub fn source_ip(&mut self, s: Option<&str>) {
        self.src_ip = s.and_then(address);
    }

    /// Sets the source port from a number or a decimal string; 0 and placeholders are none.
    pub fn source_port(&mut self, v: Option<&Value>) {
        self.src_port = number(v).filter(|p| *p > 0);
    }

    /// The event as JSON, fields in a fixed order.
    pub fn into_value(self) -> Value {
        let s = |v: Option<String>| v.map_or(Value::Null, Value::String);
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            self.timestamp
                .map_or(Value::Null, |t| Value::String(t.to_string())),
        );
        m.insert("action".into(), Value::String(self.action.into()));
        m.insert("hostname".into(), s(self.hostname));
        let (name, domain) = self.user.as_deref().map_or((None, None), identity);
        m.insert("user".into(), s(self.user.clone()));
        m.insert("user_name".into(), s(name));
        m.insert("user_domain".into(), s(domain));
        m.insert("logon_id".into(), s(self.logon_id));
        m.insert("src_ip".into(), s(self.src_ip));
        m.insert(
            "src_port".into(),
            self.src_port.map_or(Value::Null, Value::from),
        );
        m.insert("src_host".into(), s(self.src_host));
        m.insert(
            "login_type".into(),
            self.login_type
                .map_or(Value::Null, |t| Value::String(t.into())),
        );
        m.insert("source".into(), Value::String(self.source.into()));
        m.insert("raw".into(), self.raw);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_joins_windows_upn_and_bare_names() {
        let id = |u: &str| identity(u);
        let s = |x: &str| Some(x.to_string());
        assert_eq!(id("OFFSEC\\admmig"), (s("admmig"), s("OFFSEC")));
        assert_eq!(id("admmig@offsec.lan"), (s("admmig"), s("offsec.lan")));
        assert_eq!(id("AdmMig"), (s("admmig"), None));
        assert_eq!(id("NT AUTHORITY\\SYSTEM"), (s("system"), s("NT AUTHORITY")));
        assert_eq!(id("a@b@corp"), (s("a@b"), s("corp")));
        assert_eq!(id("CORP\\"), (None, s("CORP")));
        assert_eq!(id("@corp"), (None, s("corp")));
    }

    #[test]
    fn field_rules() {
        assert!(is_placeholder(" - ") && is_placeholder("local") && is_placeholder("?"));
        assert!(!is_placeholder("localhost"));
        assert_eq!(address("::FFFF:10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(address("::ffff:zz").as_deref(), Some("::ffff:zz"));
        assert_eq!(address("fe80::1").as_deref(), Some("fe80::1"));
        assert_eq!(address("-"), None);
        assert_eq!(short_host("WS1.corp.local").as_deref(), Some("WS1"));
        assert_eq!(short_host("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(logon_id(Some(&json!("0x3E7"))).as_deref(), Some("0x3e7"));
        assert_eq!(logon_id(Some(&json!(999))).as_deref(), Some("0x3e7"));
        assert_eq!(number(Some(&json!("3"))), Some(3));
        let mut e = SessionEvent::new("remote", "test");
        e.user_in(Some("-"), Some("bob"));
        assert_eq!(e.user.as_deref(), Some("bob"));
        e.user_in(Some("CORP"), Some("-"));
        assert_eq!(e.user, None);
        e.source_port(Some(&json!("0")));
        assert_eq!(e.src_port, None);
        e.source_port(Some(&json!(-1)));
        assert_eq!(e.src_port, None);
        e.source_port(Some(&json!("51234")));
        assert_eq!(e.src_port, Some(51234));
    }
}
