//! `explain RULE`: the compiled plan, or why the rule does (not) match an event, or how a
//! correlation's groups stand over a file of events.

use super::args::ExplainArgs;
use super::{EXIT_ERROR, RuleSources};
use crate::compile::{RuleRef, RuleSet};
use crate::event::Record;
use crate::source::{Adapter, Format};

pub fn explain(a: &ExplainArgs) -> u8 {
    let set = match RuleSources::compile(&a.rules) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let Some(rule) = set.find(&a.rule) else {
        eprintln!("error: no rule has the name, id or title `{}`", a.rule);
        return EXIT_ERROR;
    };
    let result = if let Some(json) = &a.event {
        one_event(json.as_bytes(), "--event")
            .and_then(|r| crate::explain::event(&set, rule, &r).map_err(|e| format!("error: {e}")))
    } else if let Some(path) = &a.events {
        from_file(&set, rule, path, a.line)
    } else {
        print!("{}", set.explain(rule));
        return 0;
    };
    match result {
        Ok(e) => {
            print!("{}", e.render(super::paint_stdout()));
            0
        }
        Err(m) => {
            eprintln!("{m}");
            EXIT_ERROR
        }
    }
}

/// One line of JSON read as `run --input-format auto` reads it: its record, `None` for a
/// blank line, or why it is not an event.
fn record_of(adapter: &mut Adapter, line: &[u8], what: &str) -> Result<Option<Record>, String> {
    match adapter.line(line) {
        crate::source::Outcome::Invalid(e) => Err(format!("{what} is not an event: {e}")),
        crate::source::Outcome::Blank => Ok(None),
        other => other
            .into_record()
            .map(Some)
            .ok_or_else(|| format!("{what} is a record no rule reads (the adapters skip it)")),
    }
}

/// The record of `--event`.
fn one_event(line: &[u8], what: &str) -> Result<Record, String> {
    record_of(&mut Adapter::new(Format::Auto, None), line, what)
        .map_err(|e| format!("error: {e}"))?
        .ok_or_else(|| format!("error: {what} is blank"))
}

/// Largest --events file read (explanations are for a few events, not a whole log).
const MAX_EVENTS_FILE: u64 = 256 << 20;

/// The events of a file (JSON lines), with their line numbers.
fn read_events(path: &std::path::Path) -> Result<Vec<(u64, Record)>, String> {
    let shown = path.display();
    let bytes = crate::file::read_bounded(path, MAX_EVENTS_FILE)
        .map_err(|e| format!("error: cannot read {shown}: {e}"))?;
    let mut adapter = Adapter::new(Format::Auto, None);
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let n = i as u64 + 1;
        match record_of(&mut adapter, line, "the line") {
            Ok(Some(r)) => out.push((n, r)),
            Ok(None) => {}
            Err(e) => eprintln!("{shown}:{n}: skipped: {e}"),
        }
    }
    Ok(out)
}

fn from_file(
    set: &RuleSet,
    rule: RuleRef,
    path: &std::path::Path,
    line: Option<u64>,
) -> Result<crate::explain::Explanation, String> {
    let events = read_events(path)?;
    let shown = path.display();
    match rule {
        RuleRef::Detection(_) => {
            let pick = match (line, events.as_slice()) {
                (Some(n), _) => events.iter().find(|(l, _)| *l == n).ok_or_else(|| {
                    format!("error: {shown}:{n} is not an event (blank, invalid or past the end)")
                })?,
                (None, [one]) => one,
                (None, []) => return Err(format!("error: {shown} holds no event")),
                (None, many) => {
                    return Err(format!(
                        "error: {shown} holds {} events: pick one with --line N",
                        many.len()
                    ));
                }
            };
            let mut e = crate::explain::event(set, rule, &pick.1)?;
            e.header.insert(1, format!("event: {shown}:{}", pick.0));
            Ok(e)
        }
        RuleRef::Correlation(_) => {
            let upto = line.unwrap_or(u64::MAX);
            let stream: Vec<(u64, Record)> =
                events.into_iter().filter(|(l, _)| *l <= upto).collect();
            crate::explain::stream(set, rule, &stream, &shown.to_string())
        }
    }
}
