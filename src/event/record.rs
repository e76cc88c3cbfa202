//! What the engine is given: a [`Record`] (a session event, or a Windows record only
//! Windows rules read) and how to read it ([`View`]), and the top-level keys that mark a
//! JSON object as something other than a plain session event.

use serde_json::Value;

/// How the engine reads a record (which rules see which object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// A session event: rules for the session model evaluate it.
    #[default]
    Session,
    /// A session event made from a Windows record: session rules evaluate the event, rules
    /// with `logsource: product: windows` its `raw` field (the flattened Windows record).
    SessionWithRaw,
    /// A flattened Windows record that is not a session event: only Windows rules see it.
    WindowsOnly,
}

/// A record for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session event, or the flattened Windows record for [`View::WindowsOnly`].
    pub event: Value,
    /// How to read it.
    pub view: View,
    /// The event is the input line itself (session JSON read as it is): alerts and
    /// `normalize` may show the line as written.
    pub verbatim: bool,
}

/// Top-level keys that make a JSON object something other than a plain session event (a
/// Windows shape, a journal record, or a session event carrying a Windows `raw`): the
/// engine's fast path for session lines hands such lines back (`source::Adapter::plain_session`).
pub const MARKER_KEYS: [&str; 7] = [
    "Event",
    "winlog",
    "event_id",
    "EventID",
    "__REALTIME_TIMESTAMP",
    "MESSAGE",
    "raw",
];
