//! Alerts, their output formats and their output order (docs/semantics.md §4.1), and the
//! sink trait.

pub mod columns;
pub mod json;

use crate::report::Paint;
use crate::rule::RuleMeta;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rule that fired.
    pub rule: Arc<RuleMeta>,
    /// `detection`, or the correlation type.
    pub rule_type: &'static str,
    /// Event time of the alert (`None` for a detection on an event without a timestamp).
    pub timestamp: Option<Timestamp>,
    /// Correlation group: field names and values.
    pub group: Option<Vec<(String, Value)>>,
    /// Correlation aggregate.
    pub value: Option<f64>,
    /// Distinct values (value_count) or the new value (first_seen).
    pub values: Option<Vec<Value>>,
    /// Absence alerts: when the anchor happened.
    pub anchor_timestamp: Option<Timestamp>,
    /// Absence alerts flushed at end of input.
    pub incomplete: bool,
    /// The contributing events, as JSON text. An event read with an [`Origin`] carries it
    /// under a key of its own at its end (see [`Alert::event_texts`] and
    /// [`Alert::origins`]); the JSON output writes the origins apart, as `origins`.
    pub events: Vec<Arc<str>>,
}

/// Where an event came from: its file, and its line (or EVTX record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The file as it was named (a folder's files with the folder's path).
    pub file: Arc<str>,
    /// Line number (from 1) of a text file, or record number of an EVTX file.
    pub at: OriginPlace,
}

/// A place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OriginPlace {
    /// A line, from 1.
    Line(u64),
    /// An EVTX record (`EventRecordID`).
    Record(u64),
}

/// The key an origin is carried under inside an event's text: it starts with a NUL, which
/// no field of an input event starts with (JSON would have to write it escaped, and no
/// source does), so it never meets a rule's field or the output.
const ORIGIN_KEY: &str = ",\"\\u0000origin\":";

impl Origin {
    /// `{"file":"…","line":N}` (or `"record":N`).
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    /// [`Origin::to_json`] appended to `out` (a name with nothing to escape is copied as it
    /// is: this runs for every event that raises an alert).
    fn write_json(&self, out: &mut String) {
        let (k, n) = match self.at {
            OriginPlace::Line(n) => ("line", n),
            OriginPlace::Record(n) => ("record", n),
        };
        out.push_str("{\"file\":");
        json::push_str(out, &self.file);
        out.push_str(",\"");
        out.push_str(k);
        out.push_str("\":");
        out.push_str(itoa::Buffer::new().format(n));
        out.push('}');
    }

    /// `file:line` (or `file#record`), for text output.
    pub fn to_text(&self) -> String {
        match self.at {
            OriginPlace::Line(n) => format!("{}:{n}", self.file),
            OriginPlace::Record(n) => format!("{}#{n}", self.file),
        }
    }

    /// The event text `text` (a JSON object) carrying this origin at its end.
    pub fn embed(&self, text: &str) -> Arc<str> {
        self.embed_with(text, &mut String::new())
    }

    /// [`Origin::embed`] built in `buf` (cleared first; reused by the engine).
    pub(crate) fn embed_with(&self, text: &str, buf: &mut String) -> Arc<str> {
        let body = text.trim_end();
        let Some(open) = body.strip_suffix('}') else {
            return Arc::from(text);
        };
        buf.clear();
        buf.push_str(open);
        // `{}` has no member to follow.
        if open.trim_end().ends_with('{') {
            buf.push_str(&ORIGIN_KEY[1..]);
        } else {
            buf.push_str(ORIGIN_KEY);
        }
        self.write_json(buf);
        buf.push('}');
        Arc::from(buf.as_str())
    }
}

/// An event text as (the event without its closing `}`, the origin's JSON) when it carries
/// an origin, else (the text, `None`).
fn origin_parts(text: &str) -> (&str, Option<&str>) {
    // A carried origin is the last member: the text ends with its object and the event's.
    let found = if text.ends_with("}}") {
        // The same last match as `str::rfind`, by a searcher built once.
        static KEY: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
            std::sync::LazyLock::new(|| {
                memchr::memmem::FinderRev::new(&ORIGIN_KEY.as_bytes()[1..])
            });
        KEY.rfind(text.as_bytes())
    } else {
        None
    };
    let Some(at) = found else {
        return (text, None);
    };
    let origin = &text[at + ORIGIN_KEY.len() - 1..text.len() - 1];
    let before = &text[..at];
    // Drop the comma that joined it, or keep `{` alone for an empty event.
    (before.strip_suffix(',').unwrap_or(before), Some(origin))
}

/// An event text split into the event as read and the JSON of its origin, if it carries one.
pub fn split_origin(text: &str) -> (std::borrow::Cow<'_, str>, Option<&str>) {
    match origin_parts(text) {
        (event, None) => (std::borrow::Cow::Borrowed(event), None),
        (open, origin) => (std::borrow::Cow::Owned(format!("{open}}}")), origin),
    }
}

impl Alert {
    /// The alert as one line of JSON (no trailing newline): DESIGN 4.1's object, the events
    /// as they were read.
    pub fn to_json(&self) -> String {
        self.json(false)
    }

    /// [`Alert::to_json`] with `"origins"`: for each event, `{"file":…,"line":N}` (or
    /// `"record":N`) or `null` when unknown; left out when no event's origin is known.
    pub fn to_json_with_origins(&self) -> String {
        self.json(true)
    }

    fn json(&self, with_origins: bool) -> String {
        // The events are most of an alert's line: room for them, not regrowth and copies.
        let events: usize = self.events.iter().map(|e| e.len() + 1).sum();
        let mut s = String::with_capacity(256 + events);
        s.push_str("{\"rule\":{");
        let mut first = true;
        let mut field = |s: &mut String, k: &str, v: &str| {
            if !first {
                s.push(',');
            }
            first = false;
            s.push('"');
            s.push_str(k);
            s.push_str("\":");
            json::push_str(s, v);
        };
        if let Some(id) = &self.rule.id {
            field(&mut s, "id", id);
        }
        if let Some(name) = &self.rule.name {
            field(&mut s, "name", name);
        }
        field(&mut s, "title", &self.rule.title);
        if let Some(level) = &self.rule.level {
            field(&mut s, "level", level);
        }
        field(&mut s, "type", self.rule_type);
        s.push_str("},\"timestamp\":");
        match self.timestamp {
            // An RFC 3339 text holds nothing a JSON string escapes.
            Some(t) => {
                s.push('"');
                t.push_rfc3339(&mut s);
                s.push('"');
            }
            None => s.push_str("null"),
        }
        if let Some(group) = &self.group {
            s.push_str(",\"group\":");
            json::push_object(&mut s, group);
        }
        if let Some(v) = self.value {
            s.push_str(",\"value\":");
            push_number(&mut s, v);
        }
        if let Some(values) = &self.values {
            s.push_str(",\"values\":");
            json::push_array(&mut s, values);
        }
        if let Some(t) = self.anchor_timestamp {
            s.push_str(",\"anchor_timestamp\":\"");
            t.push_rfc3339(&mut s);
            s.push('"');
        }
        if self.incomplete {
            s.push_str(",\"incomplete\":true");
        }
        s.push_str(",\"events\":[");
        let mut origins: Vec<Option<&str>> = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let (event, origin) = origin_parts(e);
            s.push_str(event);
            if origin.is_some() {
                s.push('}');
            }
            origins.push(origin);
        }
        s.push(']');
        if with_origins && origins.iter().any(Option::is_some) {
            s.push_str(",\"origins\":[");
            for (i, o) in origins.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(o.unwrap_or("null"));
            }
            s.push(']');
        }
        s.push('}');
        s
    }

    /// The events as they were read (without the origins they carry).
    pub fn event_texts(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| split_origin(e).0.into_owned())
            .collect()
    }

    /// Where each event came from, when known.
    pub fn origins(&self) -> Vec<Option<Origin>> {
        self.events
            .iter()
            .map(|e| split_origin(e).1.and_then(parse_origin))
            .collect()
    }

    /// The alert as one human-readable line.
    pub fn to_text(&self) -> String {
        self.to_text_painted(Paint::off())
    }

    /// [`Alert::to_text`] with the level coloured: critical and high red, medium yellow,
    /// low green, informational dim.
    pub fn to_text_painted(&self, paint: Paint) -> String {
        let ts = self
            .timestamp
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        let level = self.rule.level.as_deref().unwrap_or("-");
        let shown = columns::level_paint(level, &format!("[{level}]"), paint);
        let mut s = format!("{ts} {shown} {} ({})", self.rule.title, self.rule.handle());
        if let Some(group) = &self.group {
            let g: Vec<String> = group
                .iter()
                .map(|(k, v)| format!("{k}={}", text_of(v)))
                .collect();
            let _ = write!(s, " group[{}]", g.join(" "));
        }
        if let Some(v) = self.value {
            let _ = write!(s, " value={}", number(v));
        }
        if let Some(vs) = &self.values {
            let shown: Vec<String> = vs.iter().map(text_of).collect();
            let _ = write!(s, " values=[{}]", shown.join(","));
        }
        if let Some(t) = self.anchor_timestamp {
            let _ = write!(s, " anchor={t}");
        }
        if self.incomplete {
            s.push_str(" incomplete");
        }
        // The event that fired (absence: the anchor), and how many the alert carries.
        if self.events.len() > 1 {
            let _ = write!(s, " events={}", self.events.len());
        }
        if let Some(e) = self.events.last() {
            let (event, origin) = split_origin(e);
            if let Some(o) = origin.and_then(parse_origin) {
                let _ = write!(s, " at={}", o.to_text());
            }
            let _ = write!(s, " event={event}");
        }
        s
    }
}

/// An origin's JSON, as [`Origin::to_json`] writes it.
fn parse_origin(json: &str) -> Option<Origin> {
    let v: Value = serde_json::from_str(json).ok()?;
    let file: Arc<str> = Arc::from(v.get("file")?.as_str()?);
    let at = match (v.get("line"), v.get("record")) {
        (Some(n), _) => OriginPlace::Line(n.as_u64()?),
        (_, Some(n)) => OriginPlace::Record(n.as_u64()?),
        _ => return None,
    };
    Some(Origin { file, at })
}

/// A value in text output: a string as it is, anything else as JSON.
fn text_of(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn number(v: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, v);
    s
}

/// [`number`] appended to `out`.
fn push_number(out: &mut String, v: f64) {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        match serde_json::Number::from_f64(v) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        }
    }
}

/// How alerts are written, one per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// One JSON object per line (docs/semantics.md §4.1).
    #[default]
    Jsonl,
    /// [`Format::Jsonl`] with each alert's `origins` ([`Alert::to_json_with_origins`]).
    JsonlWithOrigins,
    /// One human-readable line.
    Text,
    /// Aligned columns under a header line.
    Table(columns::Table),
    /// Comma-separated values under a header line.
    Csv(Vec<columns::Column>),
}

impl Format {
    /// The alert as one line of this format (no trailing newline).
    pub fn render(&self, alert: &Alert) -> String {
        self.render_painted(alert, Paint::off())
    }

    /// [`Format::render`], text coloured by level when `paint` is on (JSON and CSV never
    /// are).
    pub fn render_painted(&self, alert: &Alert, paint: Paint) -> String {
        match self {
            Format::Jsonl => alert.to_json(),
            Format::JsonlWithOrigins => alert.to_json_with_origins(),
            Format::Text => alert.to_text_painted(paint),
            Format::Table(t) => t.row(alert, paint),
            Format::Csv(c) => columns::csv_row(alert, c),
        }
    }

    /// The line written before the first alert (tables and CSV).
    pub fn header(&self) -> Option<String> {
        match self {
            Format::Table(t) => Some(t.header()),
            Format::Csv(c) => Some(columns::csv_header(c)),
            _ => None,
        }
    }
}

/// Alerts written in time order come after the alerts written on arrival at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Class {
    /// Detection alerts of a late event or of one without a timestamp.
    OnArrival,
    /// Everything else.
    InOrder,
}

/// Where an alert goes in the output (docs/semantics.md §4.1). Alerts are written in
/// event-time order, ties broken by rule position, group, then input position. The
/// detection alerts of a late event (or one without a timestamp) are written when it
/// arrives: after every alert older than the watermark W at that moment, so they are keyed
/// by (W, arrival). One key orders both, so `run` and cluster mode write the same sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertOrder {
    /// In order: the alert's time. On arrival: W when the event arrived, or the earliest
    /// time (`i64::MIN` ns) before any event had a time: those alerts come before all
    /// others, and cluster mode holds them in its first tick like any alert of that time.
    time: Timestamp,
    class: Class,
    /// On arrival: the event's input position (0 in order).
    arrival: u64,
    /// The rule's position in the rule set.
    rule: u32,
    /// The group's text (empty for detection alerts).
    group: String,
    /// In order: the input position of the event it was raised at (`u64::MAX` for absence
    /// deadlines, which follow every event of their time); 0 on arrival.
    input: u64,
}

impl AlertOrder {
    /// An alert raised in time order at `time`.
    pub(crate) fn in_order(time: Timestamp, rule: u32, group: String, input: u64) -> Self {
        AlertOrder {
            time,
            class: Class::InOrder,
            arrival: 0,
            rule,
            group,
            input,
        }
    }

    /// A detection alert written on arrival, when the watermark was `w`.
    pub(crate) fn on_arrival(w: Option<Timestamp>, arrival: u64, rule: u32) -> Self {
        AlertOrder {
            time: w.unwrap_or(Timestamp(i64::MIN)),
            class: Class::OnArrival,
            arrival,
            rule,
            group: String::new(),
            input: 0,
        }
    }

    /// The smallest key of time `t`: every alert before it is older than `t`.
    pub(crate) fn first_at(t: Timestamp) -> Self {
        AlertOrder::on_arrival(Some(t), 0, 0)
    }

    /// The smallest key after every alert written on arrival of input position `arrival`
    /// when the watermark was `w`.
    pub(crate) fn after_arrival(w: Option<Timestamp>, arrival: u64) -> Self {
        AlertOrder::on_arrival(w, arrival.saturating_add(1), 0)
    }

    /// The time the key orders by.
    pub(crate) fn time(&self) -> Timestamp {
        self.time
    }

    /// The rule position.
    pub(crate) fn rule(&self) -> u32 {
        self.rule
    }

    /// The group text.
    pub(crate) fn group(&self) -> &str {
        &self.group
    }

    /// The input position an in-order alert was raised at.
    pub(crate) fn input(&self) -> u64 {
        self.input
    }

    /// The key with its input positions mapped by `f` (a cluster partition's positions
    /// made global); the deadline position `u64::MAX` stays.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn map_positions(mut self, f: impl Fn(u64) -> u64) -> Self {
        match self.class {
            Class::OnArrival => self.arrival = f(self.arrival),
            Class::InOrder if self.input != u64::MAX => self.input = f(self.input),
            Class::InOrder => {}
        }
        self
    }
}

/// An alert with its place in the output.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The alert.
    pub alert: Alert,
    /// Where it goes.
    pub order: AlertOrder,
}

/// Receives alerts as the engine produces them (in output order).
pub trait AlertSink {
    /// Called once per alert.
    fn alert(&mut self, alert: Alert);
}

impl AlertSink for Vec<Alert> {
    fn alert(&mut self, alert: Alert) {
        self.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let rule = Arc::new(RuleMeta {
            id: None,
            name: Some("r".into()),
            title: "T \"q\"".into(),
            level: Some("high".into()),
            ..Default::default()
        });
        let a = Alert {
            rule,
            rule_type: "detection",
            timestamp: crate::time::parse_rfc3339("2024-05-01T10:00:00Z"),
            group: None,
            value: None,
            values: None,
            anchor_timestamp: None,
            incomplete: false,
            events: vec![Arc::from("{\"a\":1}")],
        };
        assert_eq!(
            a.to_json(),
            r#"{"rule":{"name":"r","title":"T \"q\"","level":"high","type":"detection"},"timestamp":"2024-05-01T10:00:00Z","events":[{"a":1}]}"#
        );
        assert_eq!(
            a.to_text(),
            r#"2024-05-01T10:00:00Z [high] T "q" (r) event={"a":1}"#
        );
    }

    #[test]
    fn an_origin_rides_at_the_end_of_an_event_and_comes_off_whole() {
        let o = Origin {
            file: Arc::from("logs/a \"b\".jsonl"),
            at: OriginPlace::Line(7),
        };
        for event in [r#"{"a":1,"b":{"c":[1,2]}}"#, "{}", "{ }", r#"{"x":"}"}  "#] {
            let carried = o.embed(event);
            let v: Value = serde_json::from_str(&carried).expect("still one JSON object");
            assert_eq!(v["\u{0}origin"]["line"], 7);
            let (back, origin) = split_origin(&carried);
            let want: Value = serde_json::from_str(event).unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(&back).unwrap(),
                want,
                "{event}"
            );
            assert_eq!(origin.and_then(parse_origin), Some(o.clone()));
        }
        // An event that carries none comes back as it is.
        assert_eq!(
            split_origin(r#"{"a":1}"#),
            (std::borrow::Cow::Borrowed(r#"{"a":1}"#), None)
        );
        let r = Origin {
            file: Arc::from("x.evtx"),
            at: OriginPlace::Record(42),
        };
        assert_eq!(
            (r.to_json(), r.to_text()),
            (
                r#"{"file":"x.evtx","record":42}"#.to_string(),
                "x.evtx#42".to_string()
            )
        );
    }

    #[test]
    fn json_has_origins_only_when_asked() {
        let o = Origin {
            file: Arc::from("a.jsonl"),
            at: OriginPlace::Line(3),
        };
        let a = Alert {
            rule: Arc::new(RuleMeta {
                name: Some("r".into()),
                title: "T".into(),
                ..Default::default()
            }),
            rule_type: "detection",
            timestamp: None,
            group: None,
            value: None,
            values: None,
            anchor_timestamp: None,
            incomplete: false,
            events: vec![o.embed(r#"{"a":1}"#), Arc::from(r#"{"b":2}"#)],
        };
        assert_eq!(
            a.to_json(),
            r#"{"rule":{"name":"r","title":"T","type":"detection"},"timestamp":null,"events":[{"a":1},{"b":2}]}"#
        );
        assert_eq!(
            a.to_json_with_origins(),
            r#"{"rule":{"name":"r","title":"T","type":"detection"},"timestamp":null,"events":[{"a":1},{"b":2}],"origins":[{"file":"a.jsonl","line":3},null]}"#
        );
        assert_eq!(a.event_texts(), [r#"{"a":1}"#, r#"{"b":2}"#]);
        assert_eq!(a.origins(), [Some(o), None]);
    }

    #[test]
    fn text_shows_group_value_values_anchor_and_the_event_that_fired() {
        let rule = Arc::new(RuleMeta {
            name: Some("c".into()),
            title: "C".into(),
            ..Default::default()
        });
        let ts = crate::time::parse_rfc3339;
        let a = Alert {
            rule,
            rule_type: "value_count",
            timestamp: ts("2024-05-01T10:05:00Z"),
            group: Some(vec![
                ("user".into(), Value::from("bob")),
                ("n".into(), Value::from(7)),
            ]),
            value: Some(2.0),
            values: Some(vec![Value::from("10.0.0.1"), Value::from(8)]),
            anchor_timestamp: None,
            incomplete: false,
            events: vec![Arc::from("{\"e\":1}"), Arc::from("{\"e\":2}")],
        };
        assert_eq!(
            a.to_text(),
            r#"2024-05-01T10:05:00Z [-] C (c) group[user=bob n=7] value=2 values=[10.0.0.1,8] events=2 event={"e":2}"#
        );
        let absence = Alert {
            rule_type: "absence",
            group: Some(vec![("user".into(), Value::from("bob"))]),
            value: None,
            values: None,
            anchor_timestamp: ts("2024-05-01T10:00:00Z"),
            incomplete: true,
            events: vec![Arc::from("{\"e\":0}")],
            ..a
        };
        assert_eq!(
            absence.to_text(),
            r#"2024-05-01T10:05:00Z [-] C (c) group[user=bob] anchor=2024-05-01T10:00:00Z incomplete event={"e":0}"#
        );
    }
}
