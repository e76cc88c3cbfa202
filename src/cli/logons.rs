//! `session-sigma logons [inputs]`: a logon summary per user and host: successful and failed
//! logons by type, first and last time, distinct source addresses (table, CSV or JSON).

use super::args::{LogonsArgs, LogonsFormat};
use super::input::{self, Item, Place};
use crate::source::{Adapter, Format, Outcome};
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Successful logon actions, in the order their columns are shown.
const KINDS: &[&str] = &[
    "interactive",
    "local",
    "login",
    "rdp",
    "remote",
    "reconnect",
];

#[derive(Default)]
struct Tally {
    ok: BTreeMap<&'static str, u64>,
    failed: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    sources: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, action: &str, ts: Option<Timestamp>, src: Option<&str>) {
        if action == "failed" {
            self.failed += 1;
        } else if let Some(k) = KINDS.iter().find(|k| **k == action) {
            *self.ok.entry(k).or_default() += 1;
        } else {
            return;
        }
        if let Some(t) = ts {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        if let Some(s) = src {
            self.sources.insert(s.to_string());
        }
    }

    fn successes(&self) -> u64 {
        self.ok.values().sum()
    }
}

pub fn logons(a: &LogonsArgs) -> u8 {
    let expanded = match super::files::expand_reported(&a.input.events) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let format = Format::from(a.input.input_format);
    let mut adapter = Adapter::new(format, None);
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut invalid = 0u64;
    let status = super::merge::read_expanded(
        &expanded,
        format,
        a.input.max_line_bytes,
        a.input.sort_memory,
        &mut |name: &str, place: Place, item: Item<'_>| {
            match input::outcome(&mut adapter, item).0 {
                Outcome::Event(r) => {
                    let e = &r.event;
                    let text = |k: &str| e.get(k).and_then(Value::as_str);
                    let key = (
                        text("user").unwrap_or("-").to_string(),
                        text("hostname").unwrap_or("-").to_string(),
                    );
                    let ts = e.get("timestamp").and_then(Timestamp::from_json);
                    tallies.entry(key).or_default().add(
                        text("action").unwrap_or(""),
                        ts,
                        text("src_ip"),
                    );
                }
                Outcome::Invalid(m) => {
                    invalid += 1;
                    input::report_invalid(name, place, &m, invalid);
                }
                _ => {}
            }
            true
        },
    );
    // Users and hosts with no logon at all (only locks, logoffs) are not listed.
    tallies.retain(|_, t| t.successes() + t.failed > 0);
    let rows: Vec<Vec<String>> = tallies
        .iter()
        .map(|((user, host), t)| {
            let mut row = vec![
                user.clone(),
                host.clone(),
                t.successes().to_string(),
                t.failed.to_string(),
            ];
            row.extend(
                KINDS
                    .iter()
                    .map(|k| t.ok.get(k).copied().unwrap_or(0).to_string()),
            );
            row.push(t.first.map(|x| x.to_string()).unwrap_or_default());
            row.push(t.last.map(|x| x.to_string()).unwrap_or_default());
            row.push(t.sources.len().to_string());
            row.push(t.sources.iter().cloned().collect::<Vec<_>>().join(" "));
            row
        })
        .collect();
    let mut header: Vec<&str> = vec!["user", "host", "logons", "failed"];
    header.extend(KINDS);
    header.extend(["first", "last", "sources", "addresses"]);
    match a.format {
        LogonsFormat::Json => {
            for ((user, host), t) in &tallies {
                let by_type: serde_json::Map<String, Value> =
                    t.ok.iter()
                        .map(|(k, n)| (k.to_string(), json!(n)))
                        .collect();
                println!(
                    "{}",
                    json!({
                        "user": user, "host": host, "logons": t.successes(), "failed": t.failed,
                        "by_type": by_type,
                        "first": t.first.map(|x| x.to_string()), "last": t.last.map(|x| x.to_string()),
                        "sources": t.sources.iter().collect::<Vec<_>>(),
                    })
                );
            }
        }
        LogonsFormat::Csv => {
            println!("{}", header.join(","));
            for r in &rows {
                let cells: Vec<String> = r
                    .iter()
                    .map(|c| {
                        if c.contains([',', '"', '\n']) {
                            format!("\"{}\"", c.replace('"', "\"\""))
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                println!("{}", cells.join(","));
            }
        }
        LogonsFormat::Table => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &[String]| {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    if i + 1 == cells.len() {
                        s.push_str(c);
                    } else if i >= 2
                        && i < cells.len() - 2
                        && !(header[i] == "first" || header[i] == "last")
                    {
                        // Counts right-aligned.
                        s.push_str(&format!("{c:>w$}  "));
                    } else {
                        s.push_str(&format!("{c:<w$}  "));
                    }
                }
                s.trim_end().to_string()
            };
            let head: Vec<String> = header.iter().map(|h| h.to_ascii_uppercase()).collect();
            println!("{}", line(&head));
            for r in &rows {
                println!("{}", line(r));
            }
        }
    }
    status
}
