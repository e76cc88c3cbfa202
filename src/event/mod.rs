//! Events: JSON objects, read through interned field paths.
//!
//! A rule set interns every field it reads into a [`Slot`]. A dotted path
//! (`raw.EventData.LogonType`) walks nested objects, but an exact flat key of that name wins
//! at every level. Helpers here give the text and number readings of JSON values that the
//! matchers share.

pub mod lines;
pub mod project;
pub mod record;
pub mod scan;
mod texts;
pub(crate) use texts::JOIN;

pub use lines::{EventError, Line, LineReader};
pub use project::{Fields, Projector, Scalar, Uses, Val};
pub use record::{MARKER_KEYS, Record, View};

use serde_json::Value;
use std::borrow::Cow;

/// The index of an interned field path.
pub type Slot = u32;

/// A field path, pre-split so that resolving it allocates nothing.
#[derive(Debug, Clone)]
pub struct FieldPath {
    /// The path as written.
    pub name: String,
    pub(crate) segments: Vec<String>,
    /// `rests[i]` = `segments[i..].join(".")`.
    pub(crate) rests: Vec<String>,
}

impl FieldPath {
    /// Splits a dotted name.
    pub fn new(name: &str) -> FieldPath {
        let segments: Vec<String> = name.split('.').map(str::to_string).collect();
        let rests = (0..segments.len())
            .map(|i| segments[i..].join("."))
            .collect();
        FieldPath {
            name: name.to_string(),
            segments,
            rests,
        }
    }

    /// The value at this path in `event`, if any.
    pub fn resolve<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        let mut cur = event;
        for i in 0..self.segments.len() {
            let map = cur.as_object()?;
            if let Some(v) = map.get(&self.rests[i]) {
                return Some(v);
            }
            cur = map.get(&self.segments[i])?;
        }
        None
    }
}

/// The interned field paths of a rule set.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    paths: Vec<FieldPath>,
    by_name: ahash::AHashMap<String, Slot>,
}

impl FieldTable {
    /// The slot of `name`, interning it if new.
    pub fn intern(&mut self, name: &str) -> Slot {
        if let Some(s) = self.by_name.get(name) {
            return *s;
        }
        let slot = Slot::try_from(self.paths.len()).unwrap_or(Slot::MAX);
        self.paths.push(FieldPath::new(name));
        self.by_name.insert(name.to_string(), slot);
        slot
    }

    /// The path of a slot.
    pub fn path(&self, slot: Slot) -> &FieldPath {
        &self.paths[slot as usize]
    }

    /// Number of interned fields.
    pub(crate) fn len(&self) -> usize {
        self.paths.len()
    }

    /// All field names, in slot order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(|p| p.name.as_str())
    }
}

/// The text a string matcher sees for a scalar: strings as they are, numbers as JSON
/// writes them, booleans as `true`/`false`. Objects and null have none. (What projection
/// gives for a field, stated on a `Value`: the projection fuzz target compares the two.)
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// The number a numeric matcher sees: a JSON number, or a string whose trimmed text is a
/// plain decimal number (`42`, `-1.5`; not hex, not exponents, not `inf`).
pub fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// Parses a trimmed plain decimal number.
pub fn parse_decimal(s: &str) -> Option<f64> {
    // Most strings are words: an ASCII first or last byte that is neither a digit, a sign
    // (first), a dot (last: refused below) nor white space rules them out at once.
    let edge = |b: u8, first: bool| {
        !b.is_ascii()
            || b.is_ascii_digit()
            || matches!(b, b'\t'..=b'\r' | b' ')
            || (first && matches!(b, b'-' | b'+'))
    };
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if edge(a, true) && edge(z, false) => {}
        _ => return None,
    }
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.ends_with('.'));
    if ok { t.parse().ok() } else { None }
}

/// Lower-cases for case-insensitive comparison, borrowing when nothing changes.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// The person behind a `user` value, so that one account joins across sources: the bare
/// account name, lower-case, and the domain as written. `DOMAIN\\name` and `name@domain`
/// (a UPN, as OpenSSH and Kerberos write it) split at the separator (the first `\\`, the
/// last `@`); a bare name has no domain. `CORP\\Bob`, `bob@corp.example` and `BOB` are all
/// `bob`.
pub fn identity(user: &str) -> (Option<String>, Option<String>) {
    let (name, domain) = identity_parts(user);
    (name.map(str::to_lowercase), domain.map(str::to_string))
}

/// [`identity`] as slices of `user` (the name not yet lower-cased).
pub fn identity_parts(user: &str) -> (Option<&str>, Option<&str>) {
    let (name, domain) = if let Some((d, n)) = user.split_once('\\') {
        (n, Some(d))
    } else if let Some((n, d)) = user.rsplit_once('@') {
        (n, Some(d))
    } else {
        (user, None)
    };
    let name = name.trim();
    let domain = domain.map(str::trim).filter(|d| !d.is_empty());
    ((!name.is_empty()).then_some(name), domain)
}

/// The fields derived from `user` when an event does not carry them (`user_name`: the bare
/// account, lower-case; `user_domain`: the domain as written), by name.
pub const DERIVED_FROM_USER: [&str; 2] = ["user_name", "user_domain"];

/// The value of a [`DERIVED_FROM_USER`] field for `user`.
pub fn derived_from_user(field: &str, user: &str) -> Option<String> {
    let (name, domain) = identity(user);
    match field {
        "user_name" => name,
        "user_domain" => domain,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `parse_decimal` without its quick refusal of words.
    fn decimal_reference(s: &str) -> Option<f64> {
        let t = s.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let ok = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !(digits.ends_with('.'));
        if ok { t.parse().ok() } else { None }
    }

    proptest::proptest! {
        #[test]
        fn parse_decimal_refuses_words_quickly_and_reads_numbers_as_before(
            s in "[ \t\n\u{b}\u{c}\r\u{a0}\u{2003}\u{1c}+.0-9a-z-]{0,8}"
        ) {
            proptest::prop_assert_eq!(parse_decimal(&s), decimal_reference(&s), "{:?}", s);
        }
    }

    #[test]
    fn parse_decimal_reads_padded_and_signed_numbers() {
        for (s, want) in [
            (" 4624 ", Some(4624.0)),
            ("\u{a0}-1.5\u{2003}", Some(-1.5)),
            ("+7", Some(7.0)),
            ("1.", None),
            (".5", None),
            ("WS0028", None),
            ("0x1f", None),
            ("\u{1c}1", None),
        ] {
            assert_eq!(parse_decimal(s), want, "{s:?}");
        }
    }

    #[test]
    fn dotted_paths_walk_and_flat_keys_win() {
        let ev = json!({"raw": {"EventData": {"LogonType": 10}}, "a.b": 1, "a": {"b": 2}});
        assert_eq!(
            FieldPath::new("raw.EventData.LogonType").resolve(&ev),
            Some(&json!(10))
        );
        assert_eq!(FieldPath::new("a.b").resolve(&ev), Some(&json!(1)));
        assert_eq!(FieldPath::new("raw.nope").resolve(&ev), None);
        let ev = json!({"raw": {"EventData.LogonType": 3}});
        assert_eq!(
            FieldPath::new("raw.EventData.LogonType").resolve(&ev),
            Some(&json!(3))
        );
    }

    #[test]
    fn decimal_readings() {
        assert_eq!(parse_decimal(" 42 "), Some(42.0));
        assert_eq!(parse_decimal("-1.5"), Some(-1.5));
        for s in ["0x10", "1e3", "inf", "", "4.", ".5", "1 2"] {
            assert_eq!(parse_decimal(s), None, "{s}");
        }
    }
}
