//! `session-sigma report --html FILE [inputs]`: one self-contained HTML page (no network
//! fetches) with, per user and host, sessions as bars from logon to logoff (lock/unlock and
//! disconnect/reconnect marked), failed logons and alerts as markers on them, filters by
//! user, host and rule, and the summary tables.
//!
//! The inputs are read as `run` reads them (folders, several files in event-time order) and
//! run through the engine with the rules; the sessions come from the session events.

use super::args::ReportArgs;
use super::input::{self, Item, Place};
use super::{EXIT_ERROR, RuleSources};
use crate::alert::Alert;
use crate::alert::columns::Column;
use crate::engine::Engine;
use crate::engine::feed::feed_outcome;
use crate::source::{Adapter, Format, Outcome};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One session: from a logon to its logoff (or the end of the data).
#[derive(Debug, Clone)]
struct Session {
    start: i64,
    end: Option<i64>,
    action: String,
    logon_id: Option<String>,
    marks: Vec<(i64, String)>,
}

/// What happened to one user on one host.
#[derive(Debug, Default)]
struct Row {
    sessions: Vec<Session>,
    failed: Vec<i64>,
    alerts: Vec<(i64, String, String, String)>,
}

const STARTS: &[&str] = &["interactive", "local", "login", "rdp", "remote"];
const MARKS: &[&str] = &["lock", "unlock", "disconnect", "reconnect"];

/// Sessions, failures and alerts per (user, host).
#[derive(Default)]
struct Timeline {
    rows: BTreeMap<(String, String), Row>,
    first: Option<i64>,
    last: Option<i64>,
    actions: BTreeMap<String, u64>,
}

impl Timeline {
    fn time(&mut self, t: i64) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    /// A session event.
    fn event(&mut self, e: &Value) {
        let Some(t) = e
            .get("timestamp")
            .and_then(crate::time::Timestamp::from_json)
        else {
            return;
        };
        let ms = t.0 / 1_000_000;
        let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(user), Some(host)) = (text("user"), text("hostname")) else {
            return;
        };
        let action = text("action").unwrap_or_default();
        *self.actions.entry(action.clone()).or_default() += 1;
        self.time(ms);
        let logon_id = text("logon_id");
        let row = self.rows.entry((user, host)).or_default();
        // The open session this event belongs to: its logon id's, else the latest open one.
        let open = |row: &mut Row| -> Option<usize> {
            let same =
                |s: &Session| s.end.is_none() && (logon_id.is_none() || s.logon_id == logon_id);
            row.sessions.iter().rposition(same)
        };
        match action.as_str() {
            a if STARTS.contains(&a) => row.sessions.push(Session {
                start: ms,
                end: None,
                action,
                logon_id,
                marks: Vec::new(),
            }),
            "logout" => {
                if let Some(i) = open(row) {
                    row.sessions[i].end = Some(ms);
                }
            }
            a if MARKS.contains(&a) => match open(row) {
                Some(i) => row.sessions[i].marks.push((ms, action)),
                // A lock of a session that started before the data: the session from here.
                None => row.sessions.push(Session {
                    start: ms,
                    end: None,
                    action: "unknown".into(),
                    logon_id,
                    marks: vec![(ms, action)],
                }),
            },
            "failed" => row.failed.push(ms),
            _ => {}
        }
    }

    fn alert(&mut self, a: &Alert) {
        let Some(t) = a.timestamp else { return };
        let ms = t.0 / 1_000_000;
        self.time(ms);
        let key = (Column::User.cell(a), Column::Host.cell(a));
        self.rows.entry(key).or_default().alerts.push((
            ms,
            a.rule.handle().to_string(),
            a.rule.title.clone(),
            a.rule.level.clone().unwrap_or_else(|| "-".into()),
        ));
    }

    fn counts(&self) -> (usize, usize) {
        let sessions = self.rows.values().map(|r| r.sessions.len()).sum();
        let alerts = self.rows.values().map(|r| r.alerts.len()).sum();
        (sessions, alerts)
    }

    /// The page's data.
    fn to_json(&self) -> Value {
        let last = self.last.unwrap_or(0);
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|((user, host), r)| {
                json!({
                    "user": user,
                    "host": host,
                    "sessions": r.sessions.iter().map(|s| json!({
                        "s": s.start,
                        "e": s.end.unwrap_or(last),
                        "open": s.end.is_none(),
                        "action": s.action,
                        "marks": s.marks.iter().map(|(t, k)| json!([t, k])).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "failed": r.failed,
                    "alerts": r.alerts.iter().map(|(t, rule, title, level)| json!({
                        "t": t, "rule": rule, "title": title, "level": level,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"start": self.first.unwrap_or(0), "end": last, "rows": rows})
    }
}

pub fn report(a: &ReportArgs) -> u8 {
    let set = match RuleSources::compile(&a.rules) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let expanded = match super::files::expand_reported(&a.input.events) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let format = Format::from(a.input.input_format);
    let mut adapter = Adapter::new(format, None);
    let mut engine = Engine::new(&set);
    let mut alerts: Vec<Alert> = Vec::new();
    let mut timeline = Timeline::default();
    let mut handle = |name: &str, place: Place, item: Item<'_>| {
        let (outcome, line) = input::outcome(&mut adapter, item);
        if let Outcome::Event(r) = &outcome {
            timeline.event(&r.event);
        }
        if let Err(e) = feed_outcome(&mut engine, outcome, line, &mut alerts) {
            input::report_invalid(name, place, &e.to_string(), engine.stats().invalid);
        }
        true
    };
    let mut status = super::merge::read_expanded(
        &expanded,
        format,
        a.input.max_line_bytes,
        a.input.sort_memory,
        &mut handle,
    );
    let mut stats = engine.finish(&mut alerts);
    stats.skipped = adapter.accounting().skipped.clone();
    for al in &alerts {
        timeline.alert(al);
    }
    let page = super::report_html::page(&timeline.to_json(), &stats, &alerts, &timeline.actions);
    if let Err(e) = std::fs::write(&a.html, page) {
        eprintln!("error: cannot write {}: {e}", a.html.display());
        status = EXIT_ERROR;
    }
    let (sessions, marked) = timeline.counts();
    eprintln!(
        "wrote {}: {} user/host rows, {sessions} sessions, {marked} alerts on them ({} alerts in all), {} events",
        a.html.display(),
        timeline.rows.len(),
        alerts.len(),
        stats.events
    );
    status
}
