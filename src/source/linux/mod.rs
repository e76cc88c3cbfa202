//! Linux sources: syslog / auth.log lines and `journalctl -o json` records → session events
//! (docs/semantics.md §5).
//!
//! One [`Linux`] reads one stream: it keeps the year of year-less lines and the user of each
//! open systemd-logind session.
//!
//! **Lines.** BSD (`Jan  5 03:04:05 host prog[pid]: msg`, optionally with fractional
//! seconds), RFC 3339 (`2024-05-01T10:00:00.123456+02:00 host prog[pid]: msg`, as rsyslog's
//! `RSYSLOG_FileFormat` and `journalctl -o short-iso` write) and RFC 5424 (`<34>1
//! 2024-05-01T10:00:00Z host app procid msgid [sd] msg`), each optionally behind `<PRI>`.
//! BSD times carry no zone and are read as **UTC**; their year is chosen per stream (see
//! `clock.rs`: `--year` or the year of "now" for the first line, then whichever of the
//! neighbouring years is closest to the previous line, so logs crossing New Year stay in
//! order). `journalctl` text markers (`-- Boot … --`) are skipped as `journalctl`.
//!
//! **Messages** are mapped as in `message.rs` (sshd, Linux-PAM `pam_unix`, `login`, GDM /
//! LightDM / SDDM, systemd-logind). Every other well-formed line is skipped, counted under its
//! program name (`CRON`, `sudo`, `sshd`), or `(no program)` when it has no tag.
//!
//! **Events.** `user` is the bare name, `hostname` the short host name, `source` `syslog` or
//! `journald`. `logon_id` is the logind session id for logind messages, else the pid of the
//! process that logged the line (for sshd: the sshd pid). `src_ip` is the client address
//! (PAM's `rhost` when it is an address; a host name there becomes `src_host`), `src_port`
//! its port. `raw` is, for a line, `{"host", "program", "pid", "message", "line"}` (the host
//! as written, the pid a number or null, `line` the whole line); for a journal record, the
//! record.
//!
//! **`repeated`.** rsyslog folds identical messages into `message repeated N times: [ msg]`.
//! Such a line is read as `msg`, and its event gets one extra field, `"repeated": N` (a
//! number): N further occurrences, which the engine sees as that one event.
//!
//! `Removed session S.` gets the user of the `New session S of user U.` seen before it on the
//! same host (the most recent 100,000 sessions are remembered); failing that, a journal
//! record's own `USER_ID` field.

mod clock;
mod header;
mod journal;
mod message;
mod sessions;

use super::build::{SessionEvent, is_placeholder};
use super::{Outcome, Record, View};
use crate::time::Timestamp;
use clock::Clock;
use message::{Logind, Mapped};
use serde_json::{Map, Value};
use sessions::Sessions;

/// The skip reason of a line without a program.
const NO_PROGRAM: &str = "(no program)";

/// Reads Linux records of one stream (keeps the year of year-less lines and logind sessions).
#[derive(Debug)]
pub struct Linux {
    clock: Clock,
    sessions: Sessions,
}

/// What a syslog line or journal record says, independent of its form.
struct Entry<'a> {
    time: Option<Timestamp>,
    host: Option<&'a str>,
    program: Option<&'a str>,
    pid: Option<u64>,
    message: &'a str,
    source: &'static str,
}

/// The result of reading an [`Entry`]: an event (without `raw`) and its repeat count, or
/// the skip reason.
enum Decision {
    Event(Box<SessionEvent>, Option<u64>),
    Skip(String),
}

impl Linux {
    /// A reader; `year` for year-less syslog lines (default: the year of `now`).
    pub fn new(year: Option<i64>, now: Timestamp) -> Self {
        Linux {
            clock: Clock::new(year, now),
            sessions: Sessions::default(),
        }
    }

    /// Does this line look like a syslog line (a `<PRI>`, a BSD, RFC 3339 or RFC 5424
    /// timestamp, and a host or tag; or a `journalctl` marker line)? Cheap: no allocation.
    pub fn looks_like_syslog(line: &str) -> bool {
        header::is_journalctl_marker(line) || header::parse(line).is_ok()
    }

    /// One syslog line: [`Outcome::Blank`] for a blank line, an event, a skip counted under
    /// the program name, or [`Outcome::Invalid`] for a line that is not syslog.
    pub fn syslog_line(&mut self, line: &str) -> Outcome {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            return Outcome::Blank;
        }
        if header::is_journalctl_marker(line) {
            return skip("journalctl".into());
        }
        let h = match header::parse(line) {
            Ok(h) => h,
            Err(why) => return Outcome::Invalid(format!("not a syslog line: {why}")),
        };
        let time = match self.clock.resolve(h.stamp) {
            Ok(t) => t,
            Err(why) => return Outcome::Invalid(format!("not a syslog line: {why}")),
        };
        let entry = Entry {
            time,
            host: h.host,
            program: h.program,
            pid: h.pid,
            message: h.message,
            source: "syslog",
        };
        match self.decide(&entry, None) {
            Decision::Skip(reason) => skip(reason),
            Decision::Event(mut e, repeated) => {
                let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.into()));
                let mut raw = Map::new();
                raw.insert("host".into(), text(h.host));
                raw.insert("program".into(), text(h.program));
                raw.insert("pid".into(), h.pid.map_or(Value::Null, Value::from));
                raw.insert("message".into(), Value::String(h.message.into()));
                raw.insert("line".into(), Value::String(line.into()));
                e.raw = Value::Object(raw);
                event(*e, repeated)
            }
        }
    }

    /// Is this JSON object a `journalctl -o json` record (`__REALTIME_TIMESTAMP`, or
    /// `MESSAGE` with `_HOSTNAME`, `_BOOT_ID` or `__CURSOR`)?
    pub fn is_journal(obj: &Map<String, Value>) -> bool {
        journal::is_journal(obj)
    }

    /// One journal record: `__REALTIME_TIMESTAMP`, `_HOSTNAME`, `SYSLOG_IDENTIFIER` (else
    /// `_COMM`), `_PID` (else `SYSLOG_PID`) and `MESSAGE` are read as a syslog line's parts;
    /// the event's `raw` is the record. A record whose time field is not a time is invalid;
    /// one without a message is skipped under its program.
    pub fn journal(&mut self, obj: Map<String, Value>) -> Outcome {
        let time = match journal::time(&obj) {
            Ok(t) => t,
            Err(why) => return Outcome::Invalid(why.to_string()),
        };
        if let Some(t) = time {
            self.clock.observe(t);
        }
        let decision = {
            let host = journal::text(obj.get("_HOSTNAME"));
            let program = journal::text(obj.get("SYSLOG_IDENTIFIER"))
                .or_else(|| journal::text(obj.get("_COMM")));
            let message = journal::text(obj.get("MESSAGE"));
            let user_id = journal::text(obj.get("USER_ID"));
            let entry = Entry {
                time,
                host: host.as_deref(),
                program: program.as_deref().and_then(header::normalize_program),
                pid: journal::number(obj.get("_PID"))
                    .or_else(|| journal::number(obj.get("SYSLOG_PID"))),
                message: message.as_deref().unwrap_or("").trim(),
                source: "journald",
            };
            self.decide(&entry, user_id.as_deref())
        };
        match decision {
            Decision::Skip(reason) => skip(reason),
            Decision::Event(mut e, repeated) => {
                e.raw = Value::Object(obj);
                event(*e, repeated)
            }
        }
    }

    /// Maps an entry; `user_id` is a journal record's `USER_ID`, for logind removals.
    fn decide(&mut self, entry: &Entry<'_>, user_id: Option<&str>) -> Decision {
        let (message, repeated) = message::unrepeat(entry.message);
        let Some(m) = message::map(entry.program, message) else {
            return Decision::Skip(entry.program.unwrap_or(NO_PROGRAM).to_string());
        };
        let Mapped {
            action,
            login_type,
            user,
            origin,
            port,
            logind,
        } = m;
        let mut e = SessionEvent::new(action, entry.source);
        e.timestamp = entry.time;
        if let Some(h) = entry.host {
            e.host(h);
        }
        let host = e.hostname.as_deref();
        let mut user = user.map(str::to_string);
        e.logon_id = match logind {
            Some(Logind::New(id)) => {
                if let Some(u) = user.as_deref().filter(|u| !is_placeholder(u)) {
                    self.sessions.open(host, id, u);
                }
                Some(id.to_string())
            }
            Some(Logind::Removed(id)) => {
                user = self
                    .sessions
                    .close(host, id)
                    .or_else(|| user_id.map(str::to_string));
                Some(id.to_string())
            }
            None => entry.pid.map(|p| p.to_string()),
        };
        e.user_in(None, user.as_deref());
        if let Some(origin) = origin.map(str::trim) {
            let address = origin.split('%').next().unwrap_or(origin);
            if address.parse::<std::net::IpAddr>().is_ok() {
                e.source_ip(Some(origin));
            } else if !is_placeholder(origin) && !origin.eq_ignore_ascii_case("UNKNOWN") {
                e.src_host = Some(origin.to_string());
            }
        }
        e.src_port = port.filter(|p| *p > 0);
        e.login_type = login_type;
        Decision::Event(Box::new(e), repeated)
    }
}

fn skip(reason: String) -> Outcome {
    Outcome::Skipped {
        reason,
        windows: None,
    }
}

fn event(e: SessionEvent, repeated: Option<u64>) -> Outcome {
    let mut event = e.into_value();
    if let (Some(n), Value::Object(fields)) = (repeated, &mut event) {
        fields.insert("repeated".into(), Value::from(n));
    }
    Outcome::Event(Record {
        event,
        view: View::Session,
        verbatim: false,
    })
}

#[cfg(test)]
mod tests;
