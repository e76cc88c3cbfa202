//! The JSON shapes of Windows event records, each read into one [`WinRecord`]: the System
//! fields by their usual names plus every event field at the top level (the flattened
//! record of docs/semantics.md §5).

use crate::source::SourceError;
use crate::time::{Timestamp, parse_rfc3339};
use serde_json::{Map, Value};

/// Which shape a JSON record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `evtx_dump -o jsonl` (and the `evtx` crate's JSON): `Event.System`, `Event.EventData`.
    EvtxDump,
    /// Winlogbeat 6 (`event_id`, `event_data`) or 7+ (`winlog.event_id`, `winlog.event_data`).
    Winlogbeat,
    /// NXLog `im_msvistalog` / HELK: flat, `Hostname`, `EventTime` and/or `@timestamp`.
    Nxlog,
    /// Azure Sentinel / Log Analytics `SecurityEvent` rows: flat, `TimeGenerated`.
    Sentinel,
    /// An already flattened record (`EventID`, `Channel`, `Computer`, `TimeCreated`, fields):
    /// what `raw` holds, and what rule tests write.
    Flat,
}

impl Shape {
    /// The `source` name of events read from this shape.
    pub fn source(self) -> &'static str {
        match self {
            Shape::EvtxDump => "evtx_dump",
            Shape::Winlogbeat => "winlogbeat",
            Shape::Nxlog => "nxlog",
            Shape::Sentinel => "sentinel",
            Shape::Flat => "windows",
        }
    }

    /// Recognises a Windows record by its keys; `None` for anything else.
    pub fn of(obj: &Map<String, Value>) -> Option<Shape> {
        if obj
            .get("Event")
            .and_then(Value::as_object)
            .is_some_and(|e| e.contains_key("System"))
        {
            return Some(Shape::EvtxDump);
        }
        if obj
            .get("winlog")
            .and_then(Value::as_object)
            .is_some_and(|w| w.contains_key("event_id"))
            || (obj.contains_key("event_id")
                && (obj.contains_key("log_name") || obj.contains_key("computer_name")))
        {
            return Some(Shape::Winlogbeat);
        }
        if !obj.contains_key("EventID") {
            return None;
        }
        if obj.contains_key("TimeGenerated")
            || obj.get("Type").and_then(Value::as_str) == Some("SecurityEvent")
        {
            return Some(Shape::Sentinel);
        }
        if obj.contains_key("Hostname") {
            return Some(Shape::Nxlog);
        }
        if obj.contains_key("Channel") || obj.contains_key("Computer") {
            return Some(Shape::Flat);
        }
        None
    }
}

/// A Windows record in one common form.
#[derive(Debug, Clone, PartialEq)]
pub struct WinRecord {
    /// The shape it was read from (or `evtx` for EVTX files).
    pub source: &'static str,
    /// `EventID`.
    pub event_id: u64,
    /// `Channel` as written (NXLog writes `security` too).
    pub channel: String,
    /// Provider name, where the shape has it.
    pub provider: Option<String>,
    /// `Computer` (fully qualified as written).
    pub computer: Option<String>,
    /// Event time.
    pub time: Option<Timestamp>,
    /// The flattened record: `EventID`, `Channel`, `Computer`, `TimeCreated`, then the event
    /// fields (and, for flat shapes, every other original field).
    pub flat: Map<String, Value>,
}

impl WinRecord {
    /// An event field (or, for flat shapes, any top-level field).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.flat.get(key)
    }

    /// An event field as text, if it is a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.flat.get(key).and_then(Value::as_str)
    }

    /// Is the channel this one (ASCII case-insensitive)?
    pub fn channel_is(&self, name: &str) -> bool {
        self.channel.eq_ignore_ascii_case(name)
    }
}

/// Reads a record of a recognised shape. The error says what is missing.
pub fn read(shape: Shape, obj: Map<String, Value>) -> Result<WinRecord, SourceError> {
    match shape {
        Shape::EvtxDump => read_evtx(obj, Shape::EvtxDump.source()),
        Shape::Winlogbeat => read_winlogbeat(obj),
        Shape::Nxlog | Shape::Sentinel | Shape::Flat => read_flat(shape, obj),
    }
}

/// An EventID: a number, a decimal string, or evtx's `{"#attributes": …, "#text": N}`.
fn event_id(v: Option<&Value>) -> Result<u64, SourceError> {
    let v = match v {
        Some(Value::Object(o)) => o.get("#text"),
        other => other,
    };
    match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| match v {
        None => SourceError::NoEventId,
        Some(v) => SourceError::EventIdNotNumber(v.to_string()),
    })
}

fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn attr<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    v?.get("#attributes")?.get(name)
}

/// A time written as RFC 3339, or without a zone (read as UTC).
fn time(v: Option<&Value>) -> Option<Timestamp> {
    parse_rfc3339(v?.as_str()?)
}

/// The System fields every shape reads.
struct System {
    event_id: u64,
    channel: String,
    computer: Option<String>,
    provider: Option<String>,
    time: Option<Timestamp>,
    record_id: Option<Value>,
}

impl System {
    /// Starts a flattened record with the System fields, in a fixed order.
    fn flat(&self) -> Map<String, Value> {
        let mut flat = Map::new();
        flat.insert("EventID".into(), Value::from(self.event_id));
        flat.insert("Channel".into(), Value::String(self.channel.clone()));
        if let Some(c) = &self.computer {
            flat.insert("Computer".into(), Value::String(c.clone()));
        }
        if let Some(t) = self.time {
            flat.insert("TimeCreated".into(), Value::String(t.to_string()));
        }
        if let Some(p) = &self.provider {
            flat.insert("Provider_Name".into(), Value::String(p.clone()));
        }
        if let Some(r) = &self.record_id {
            flat.insert("EventRecordID".into(), r.clone());
        }
        flat
    }

    fn record(self, source: &'static str, flat: Map<String, Value>) -> WinRecord {
        WinRecord {
            source,
            event_id: self.event_id,
            channel: self.channel,
            provider: self.provider,
            computer: self.computer,
            time: self.time,
            flat,
        }
    }
}

/// Adds every field of an `EventData` / `UserData` / `event_data` object at the top level
/// (without overwriting the System fields). `UserData` holds one element (`EventXML`, …)
/// whose children are the fields.
fn add_fields(flat: &mut Map<String, Value>, data: Option<&Value>, nested: bool) {
    let Some(Value::Object(data)) = data else {
        return;
    };
    for (k, v) in data {
        if k == "#attributes" {
            continue;
        }
        if nested {
            if let Value::Object(_) = v {
                add_fields(flat, Some(v), false);
                continue;
            }
        }
        if !flat.contains_key(k) {
            flat.insert(k.clone(), v.clone());
        }
    }
    // Some providers name their data with spaces (Windows Defender: `Threat Name`,
    // `Process Name`); Sigma rules write them without (`ThreatName`): both are there (after
    // every name as written, which wins).
    for (k, v) in data {
        if k.contains(' ') && !v.is_object() {
            let joined: String = k.split(' ').collect();
            if !flat.contains_key(&joined) {
                flat.insert(joined, v.clone());
            }
        }
    }
}

/// `evtx_dump` / `evtx` crate JSON.
pub(crate) fn read_evtx(
    obj: Map<String, Value>,
    source: &'static str,
) -> Result<WinRecord, SourceError> {
    let event = obj.get("Event");
    let sys = event.and_then(|e| e.get("System"));
    let field = |k: &str| sys.and_then(|s| s.get(k));
    let system = System {
        event_id: event_id(field("EventID"))?,
        channel: string(field("Channel")).unwrap_or_default(),
        computer: string(field("Computer")),
        provider: attr(field("Provider"), "Name").and_then(|v| string(Some(v))),
        time: time(attr(field("TimeCreated"), "SystemTime")),
        record_id: field("EventRecordID").cloned(),
    };
    let mut flat = system.flat();
    add_fields(&mut flat, event.and_then(|e| e.get("EventData")), false);
    add_fields(&mut flat, event.and_then(|e| e.get("UserData")), true);
    Ok(system.record(source, flat))
}

/// Winlogbeat 6 (fields at the top) or 7+ (under `winlog`).
fn read_winlogbeat(obj: Map<String, Value>) -> Result<WinRecord, SourceError> {
    let w = obj.get("winlog").filter(|w| w.is_object());
    let field = |v6: &str, v7: &str| match w {
        Some(w) => w.get(v7),
        None => obj.get(v6),
    };
    let system = System {
        event_id: event_id(field("event_id", "event_id"))?,
        channel: string(field("log_name", "channel")).unwrap_or_default(),
        computer: string(field("computer_name", "computer_name")),
        provider: string(field("source_name", "provider_name")),
        time: time(obj.get("@timestamp")),
        record_id: field("record_number", "record_id").cloned(),
    };
    let mut flat = system.flat();
    add_fields(&mut flat, field("event_data", "event_data"), false);
    add_fields(&mut flat, field("user_data", "user_data"), true);
    if let Some(m) = obj.get("message") {
        flat.entry("Message").or_insert_with(|| m.clone());
    }
    Ok(system.record(Shape::Winlogbeat.source(), flat))
}

/// NXLog/HELK, Sentinel and already flattened records: every field is at the top level.
fn read_flat(shape: Shape, obj: Map<String, Value>) -> Result<WinRecord, SourceError> {
    // docs/semantics.md §5: NXLog/HELK `@timestamp` when present, else `EventTime` read as UTC
    // (else `TimeCreated`, which the newer exports write without a zone when they lack
    // `@timestamp`); Sentinel `TimeGenerated`.
    let t = match shape {
        Shape::Sentinel => time(obj.get("TimeGenerated")),
        Shape::Nxlog => time(obj.get("@timestamp"))
            .or_else(|| time(obj.get("EventTime")))
            .or_else(|| time(obj.get("TimeCreated"))),
        _ => time(obj.get("TimeCreated"))
            .or_else(|| time(obj.get("timestamp")))
            .or_else(|| time(obj.get("@timestamp"))),
    };
    let system = System {
        event_id: event_id(obj.get("EventID"))?,
        channel: string(obj.get("Channel")).unwrap_or_default(),
        computer: string(obj.get("Computer").or_else(|| obj.get("Hostname"))),
        provider: string(
            obj.get("Provider_Name")
                .or_else(|| obj.get("SourceName"))
                .or_else(|| obj.get("EventSourceName")),
        ),
        time: t,
        // The original fields follow; a record number there stays under its own name.
        record_id: None,
    };
    let mut flat = system.flat();
    for (k, v) in obj {
        if !flat.contains_key(&k) {
            flat.insert(k, v);
        }
    }
    Ok(system.record(shape.source(), flat))
}
