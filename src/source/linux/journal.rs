//! `journalctl -o json` records: the fields this adapter reads.
//!
//! journald writes a field as a string; as an array of byte values when it is not valid
//! UTF-8 (decoded here lossily, invalid sequences becoming U+FFFD); as an array of such values
//! when the field occurs more than once (the first is read); and as `null` when it is larger
//! than journalctl's field limit (treated as absent).

use crate::source::SourceError;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Is this a journal record: `__REALTIME_TIMESTAMP`, or `MESSAGE` with one of `_HOSTNAME`,
/// `_BOOT_ID`, `__CURSOR`?
pub(super) fn is_journal(obj: &Map<String, Value>) -> bool {
    obj.contains_key("__REALTIME_TIMESTAMP")
        || (obj.contains_key("MESSAGE")
            && ["_HOSTNAME", "_BOOT_ID", "__CURSOR"]
                .iter()
                .any(|k| obj.contains_key(*k)))
}

/// A field's text.
pub(super) fn text(v: Option<&Value>) -> Option<Cow<'_, str>> {
    match v? {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Array(items) => bytes(items).or_else(|| match items.first()? {
            // A repeated field: its first value.
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Array(first) => bytes(first),
            _ => None,
        }),
        _ => None,
    }
}

/// An array of byte values as text.
fn bytes(items: &[Value]) -> Option<Cow<'static, str>> {
    let bytes = items
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect::<Option<Vec<u8>>>()?;
    Some(Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A field holding a decimal number (`_PID`).
pub(super) fn number(v: Option<&Value>) -> Option<u64> {
    text(v)?.trim().parse().ok()
}

/// The record's time: `__REALTIME_TIMESTAMP` (microseconds since the epoch), else
/// `_SOURCE_REALTIME_TIMESTAMP`; `Ok(None)` when it has neither, an error when the one it
/// has is not a time.
pub(super) fn time(obj: &Map<String, Value>) -> Result<Option<Timestamp>, SourceError> {
    for key in ["__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP"] {
        let Some(v) = obj.get(key) else {
            continue;
        };
        let micros = text(Some(v)).and_then(|t| t.trim().parse::<i64>().ok());
        return match micros.and_then(|m| m.checked_mul(1_000)) {
            Some(nanos) => Ok(Some(Timestamp(nanos))),
            None => Err(SourceError::JournalTime(key)),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn recognises_records() {
        assert!(is_journal(&obj(json!({"__REALTIME_TIMESTAMP": "1"}))));
        assert!(is_journal(&obj(json!({"MESSAGE": "x", "_BOOT_ID": "b"}))));
        assert!(is_journal(&obj(json!({"MESSAGE": "x", "__CURSOR": "c"}))));
        assert!(!is_journal(&obj(json!({"MESSAGE": "x"}))));
        assert!(!is_journal(&obj(
            json!({"action": "login", "_HOSTNAME": "h"})
        )));
    }

    #[test]
    fn field_text() {
        assert_eq!(text(Some(&json!("a b"))).as_deref(), Some("a b"));
        assert_eq!(text(Some(&json!(42))).as_deref(), Some("42"));
        assert_eq!(text(Some(&json!([104, 105]))).as_deref(), Some("hi"));
        assert_eq!(
            text(Some(&json!([104, 255, 105]))).as_deref(),
            Some("h\u{fffd}i")
        );
        assert_eq!(
            text(Some(&json!(["first", "second"]))).as_deref(),
            Some("first")
        );
        assert_eq!(text(Some(&json!([[111, 107], "x"]))).as_deref(), Some("ok"));
        assert_eq!(text(Some(&json!([[[1]]]))), None);
        assert_eq!(text(Some(&json!([256]))), None);
        assert_eq!(text(Some(&json!([{"a": 1}]))), None);
        assert_eq!(text(Some(&Value::Null)), None);
        assert_eq!(text(None), None);
        assert_eq!(number(Some(&json!("1234"))), Some(1234));
        assert_eq!(number(Some(&json!("x"))), None);
    }

    #[test]
    fn record_time() {
        let t = time(&obj(json!({"__REALTIME_TIMESTAMP": "1714557600123456"})));
        assert_eq!(
            t.map(|t| t.map(|t| t.to_string())),
            Ok(Some("2024-05-01T10:00:00.123456Z".into()))
        );
        let t = time(&obj(
            json!({"_SOURCE_REALTIME_TIMESTAMP": 1_714_557_600_000_000_i64}),
        ));
        assert_eq!(
            t.map(|t| t.map(|t| t.to_string())),
            Ok(Some("2024-05-01T10:00:00Z".into()))
        );
        assert_eq!(time(&obj(json!({"MESSAGE": "x"}))), Ok(None));
        assert!(time(&obj(json!({"__REALTIME_TIMESTAMP": "soon"}))).is_err());
        assert!(
            time(&obj(
                json!({"__REALTIME_TIMESTAMP": "99999999999999999999"})
            ))
            .is_err()
        );
        assert!(time(&obj(json!({"__REALTIME_TIMESTAMP": "9223372036854775807"}))).is_err());
    }
}
