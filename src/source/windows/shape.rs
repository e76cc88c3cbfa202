//! The JSON shapes of Windows event records, each read into one [`WinRecord`]: the System
//! fields by their usual names plus every event field at the top level (the flattened
//! record of DESIGN.md section 5).

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
pub fn read(shape: Shape, obj: Map<String, Value>) -> Result<WinRecord, String> {
    match shape {
        Shape::EvtxDump => read_evtx(obj, Shape::EvtxDump.source()),
        Shape::Winlogbeat => read_winlogbeat(obj),
        Shape::Nxlog | Shape::Sentinel | Shape::Flat => read_flat(shape, obj),
    }
}

/// An EventID: a number, a decimal string, or evtx's `{"#attributes": …, "#text": N}`.
fn event_id(v: Option<&Value>) -> Result<u64, String> {
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
        None => "a Windows record without EventID".to_string(),
        Some(v) => format!("EventID {v} is not a number"),
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

/// Starts a flattened record with the System fields, in a fixed order.
fn system(
    event_id: u64,
    channel: &str,
    computer: Option<&str>,
    time: Option<Timestamp>,
) -> Map<String, Value> {
    let mut flat = Map::new();
    flat.insert("EventID".into(), Value::from(event_id));
    flat.insert("Channel".into(), Value::String(channel.into()));
    if let Some(c) = computer {
        flat.insert("Computer".into(), Value::String(c.into()));
    }
    if let Some(t) = time {
        flat.insert("TimeCreated".into(), Value::String(t.to_string()));
    }
    flat
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
}

/// `evtx_dump` / `evtx` crate JSON.
pub(crate) fn read_evtx(
    obj: Map<String, Value>,
    source: &'static str,
) -> Result<WinRecord, String> {
    let event = obj.get("Event");
    let sys = event.and_then(|e| e.get("System"));
    let id = event_id(sys.and_then(|s| s.get("EventID")))?;
    let channel = string(sys.and_then(|s| s.get("Channel"))).unwrap_or_default();
    let computer = string(sys.and_then(|s| s.get("Computer")));
    let provider = attr(sys.and_then(|s| s.get("Provider")), "Name").and_then(|v| string(Some(v)));
    let t = time(attr(sys.and_then(|s| s.get("TimeCreated")), "SystemTime"));
    let mut flat = system(id, &channel, computer.as_deref(), t);
    if let Some(p) = &provider {
        flat.insert("Provider_Name".into(), Value::String(p.clone()));
    }
    if let Some(r) = sys.and_then(|s| s.get("EventRecordID")) {
        flat.insert("EventRecordID".into(), r.clone());
    }
    add_fields(&mut flat, event.and_then(|e| e.get("EventData")), false);
    add_fields(&mut flat, event.and_then(|e| e.get("UserData")), true);
    Ok(WinRecord {
        source,
        event_id: id,
        channel,
        provider,
        computer,
        time: t,
        flat,
    })
}

/// Winlogbeat 6 (fields at the top) or 7+ (under `winlog`).
fn read_winlogbeat(obj: Map<String, Value>) -> Result<WinRecord, String> {
    let w = obj.get("winlog").filter(|w| w.is_object());
    let field = |v6: &str, v7: &str| match w {
        Some(w) => w.get(v7),
        None => obj.get(v6),
    };
    let id = event_id(field("event_id", "event_id"))?;
    let channel = string(field("log_name", "channel")).unwrap_or_default();
    let computer = string(field("computer_name", "computer_name"));
    let provider = string(field("source_name", "provider_name"));
    let t = time(obj.get("@timestamp"));
    let mut flat = system(id, &channel, computer.as_deref(), t);
    if let Some(p) = &provider {
        flat.insert("Provider_Name".into(), Value::String(p.clone()));
    }
    if let Some(r) = field("record_number", "record_id") {
        flat.insert("EventRecordID".into(), r.clone());
    }
    add_fields(&mut flat, field("event_data", "event_data"), false);
    add_fields(&mut flat, field("user_data", "user_data"), true);
    if let Some(m) = obj.get("message") {
        flat.entry("Message").or_insert_with(|| m.clone());
    }
    Ok(WinRecord {
        source: Shape::Winlogbeat.source(),
        event_id: id,
        channel,
        provider,
        computer,
        time: t,
        flat,
    })
}

/// NXLog/HELK, Sentinel and already flattened records: every field is at the top level.
fn read_flat(shape: Shape, obj: Map<String, Value>) -> Result<WinRecord, String> {
    let id = event_id(obj.get("EventID"))?;
    let channel = string(obj.get("Channel")).unwrap_or_default();
    let computer = string(obj.get("Computer").or_else(|| obj.get("Hostname")));
    let provider = string(
        obj.get("Provider_Name")
            .or_else(|| obj.get("SourceName"))
            .or_else(|| obj.get("EventSourceName")),
    );
    // DESIGN.md 5: NXLog/HELK `@timestamp` when present, else `EventTime` read as UTC
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
    let mut flat = system(id, &channel, computer.as_deref(), t);
    for (k, v) in obj {
        if !flat.contains_key(&k) {
            flat.insert(k, v);
        }
    }
    Ok(WinRecord {
        source: shape.source(),
        event_id: id,
        channel,
        provider,
        computer,
        time: t,
        flat,
    })
}
