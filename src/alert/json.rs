//! JSON text written straight into a buffer, byte for byte as `serde_json` writes it
//! (compact, its string escapes, its number forms), without building a `Value` first.

use serde_json::Value;
use std::fmt::Write as _;

/// What a byte becomes inside a JSON string: 0 stays, `u` is `\u00XX`, anything else is
/// the letter after a backslash.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a JSON string.
pub fn push_str(buf: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[usize::from(b)];
        if esc == 0 {
            continue;
        }
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        buf.push_str(&s[start..i]);
        buf.push('\\');
        if esc == b'u' {
            buf.push_str("u00");
            buf.push(char::from(HEX[usize::from(b >> 4)]));
            buf.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            buf.push(char::from(esc));
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

/// Appends `v` as compact JSON.
pub fn push_value(buf: &mut String, v: &Value) {
    match v {
        Value::Null => buf.push_str("null"),
        Value::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(buf, "{n}");
        }
        Value::String(s) => push_str(buf, s),
        Value::Array(items) => push_array(buf, items),
        Value::Object(map) => push_members(buf, map.iter()),
    }
}

/// Appends `members` as a JSON object, in their order.
fn push_members<'a>(buf: &mut String, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    buf.push('{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            buf.push(',');
        }
        push_str(buf, k);
        buf.push(':');
        push_value(buf, v);
    }
    buf.push('}');
}

/// Appends `items` as a JSON array.
pub fn push_array(buf: &mut String, items: &[Value]) {
    buf.push('[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        push_value(buf, v);
    }
    buf.push(']');
}

/// Appends the members `pairs` as a JSON object: what `serde_json` writes for the map they
/// collect into (a repeated name keeps its first place and its last value).
pub fn push_object(buf: &mut String, pairs: &[(String, Value)]) {
    let repeated = pairs
        .iter()
        .enumerate()
        .any(|(i, (k, _))| pairs[..i].iter().any(|(j, _)| j == k));
    if repeated {
        let map: serde_json::Map<String, Value> = pairs.iter().cloned().collect();
        push_value(buf, &Value::Object(map));
        return;
    }
    push_members(buf, pairs.iter().map(|(k, v)| (k, v)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".*".prop_map(Value::String),
            "[\\x00-\\x7f]*".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-c\"\\\\]{0,2}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in ".*", t in "[\\x00-\\x7f]*") {
            for s in [&s, &t] {
                let mut buf = String::new();
                push_str(&mut buf, s);
                prop_assert_eq!(buf, serde_json::to_string(s).expect("json"));
            }
        }

        #[test]
        fn values_are_written_as_serde_json_writes_them(v in value()) {
            let mut buf = String::new();
            push_value(&mut buf, &v);
            prop_assert_eq!(buf, v.to_string());
        }

        #[test]
        fn members_are_written_as_the_map_they_make(
            kv in prop::collection::vec(("[ab]{0,1}", value()), 0..5)
        ) {
            let mut buf = String::new();
            push_object(&mut buf, &kv);
            let map: serde_json::Map<String, Value> = kv.into_iter().collect();
            prop_assert_eq!(buf, Value::Object(map).to_string());
        }
    }

    #[test]
    fn every_control_byte_and_the_two_specials_are_escaped() {
        let all: String = (0u8..0x80)
            .map(char::from)
            .chain("é€😀\u{7f}".chars())
            .collect();
        let mut buf = String::new();
        push_str(&mut buf, &all);
        assert_eq!(buf, serde_json::to_string(&all).expect("json"));
    }
}
