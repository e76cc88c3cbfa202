//! Group keys (S4): the tuple of `group-by` values, compared as exact strings.

use crate::compile::correlation::{CompiledCorrelation, RuleRef};
use super::row::Row;
use super::text::Text;
use serde_json::Value;

/// A group: the texts of its `group-by` values, held as the JSON array of them
/// (`["CORP\\bob","WS1"]`). That text is what alerts of one time are ordered by (groups
/// compare as strings, S4, so `7` and `"7"` order alike), so comparing keys is comparing
/// that order. A key of up to 22 bytes is held in place, a longer one is one shared
/// allocation made when its group is created ([`Text`]). Stores are looked up by the text
/// ([`GroupKey::write`] into a reused buffer): reading an event's group allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey(Text);

impl std::borrow::Borrow<str> for GroupKey {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for GroupKey {
    fn from(text: &str) -> Self {
        GroupKey(Text::new(text))
    }
}

impl GroupKey {
    /// The key of these parts.
    pub fn of<S: AsRef<str>>(parts: &[S]) -> GroupKey {
        let mut text = String::new();
        GroupKey::write(&mut text, parts.iter().map(AsRef::as_ref));
        GroupKey::from(text.as_str())
    }

    /// Writes the key text of `parts` into `buf` (cleared first).
    pub fn write<'a>(buf: &mut String, parts: impl Iterator<Item = &'a str>) {
        buf.clear();
        buf.push('[');
        for (i, p) in parts.enumerate() {
            if i > 0 {
                buf.push(',');
            }
            crate::alert::json::push_str(buf, p);
        }
        buf.push(']');
    }

    /// The key's text: the JSON array of its parts.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The key's bytes (what stores hash and compare).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The parts, in order.
    pub fn parts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.each_part(&mut |p| out.push(p.to_string())) {
            return serde_json::from_str(self.0.as_str()).unwrap_or_default();
        }
        out
    }

    /// Calls `f` with each part, in order, read from the key text as [`GroupKey::write`]
    /// wrote it (a part without an escape is borrowed from it). False, after some calls
    /// maybe, when the text is not such an array of strings.
    fn each_part(&self, f: &mut dyn FnMut(&str)) -> bool {
        let text = self.0.as_str();
        let b = text.as_bytes();
        let Some(mut i) = (b.first() == Some(&b'[')).then_some(1) else {
            return false;
        };
        let mut buf = String::new();
        if b.get(i) == Some(&b']') {
            return i + 1 == b.len();
        }
        loop {
            if b.get(i) != Some(&b'"') {
                return false;
            }
            let (start, mut j, mut escaped) = (i + 1, i + 1, false);
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => break,
                    b'\\' => {
                        escaped = true;
                        j += 2;
                    }
                    _ => j += 1,
                }
            }
            // Quotes and backslashes are ASCII: `start..j` lies on character boundaries.
            let Some(raw) = text.get(start..j) else {
                return false;
            };
            if escaped {
                buf.clear();
                crate::event::scan::unescape(raw, &mut buf);
                f(&buf);
            } else {
                f(raw);
            }
            match b.get(j + 1) {
                Some(b',') => i = j + 2,
                Some(b']') => return j + 2 == b.len(),
                _ => return false,
            }
        }
    }
}

impl serde::Serialize for GroupKey {
    /// As the list of its parts (the checkpoint format), read from the text in place.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        let mut failed = None;
        let whole = self.each_part(&mut |p| {
            if failed.is_none() {
                failed = seq.serialize_element(p).err();
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if !whole {
            return Err(serde::ser::Error::custom(format!(
                "a group key that is not an array of strings: {}",
                self.as_str()
            )));
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for GroupKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parts: Vec<String> = serde::Deserialize::deserialize(d)?;
        Ok(GroupKey::of(&parts))
    }
}

/// The group of an input that arrived through `via`, as key text in `buf`. False when a
/// group-by field is missing or null: the correlation ignores the input (S4).
pub fn group_key_into(c: &CompiledCorrelation, row: &Row, via: RuleRef, buf: &mut String) -> bool {
    let mut parts: [&str; 8] = [""; 8];
    if c.group_by.len() <= parts.len() {
        for (i, g) in c.group_by.iter().enumerate() {
            match row.key(g.col_for(via)) {
                Some(k) => parts[i] = k,
                None => return false,
            }
        }
        GroupKey::write(buf, parts[..c.group_by.len()].iter().copied());
        return true;
    }
    let mut many = Vec::with_capacity(c.group_by.len());
    for g in &c.group_by {
        match row.key(g.col_for(via)) {
            Some(k) => many.push(k),
            None => return false,
        }
    }
    GroupKey::write(buf, many.into_iter());
    true
}

/// The group's values as they appear in the input, for alerts (only built for alerts and
/// obligations; [`group_key`] has already checked that they are there).
pub fn group_values(c: &CompiledCorrelation, row: &Row, via: RuleRef) -> Vec<(String, Value)> {
    c.group_by
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                row.value(g.col_for(via)).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// The value of `condition.field` / `field` of an input, read from its row: its text
/// (what distinct values and first-seen values compare by) and, when asked, its JSON.
pub struct Picked<'r> {
    /// The comparison text: one field's key, or for a list of fields the JSON array of
    /// their keys (`(h1, 3)` = `(h1, "3")`).
    pub key: std::borrow::Cow<'r, str>,
    cols: &'r [u32],
    row: &'r Row,
}

impl Picked<'_> {
    /// The value as the input has it: one field's value, or the tuple as a JSON array.
    pub fn value(&self) -> Value {
        match self.cols {
            [one] => self.row.value(*one).unwrap_or(Value::Null),
            many => Value::Array(
                many.iter()
                    .map(|c| self.row.value(*c).unwrap_or(Value::Null))
                    .collect(),
            ),
        }
    }

    /// True when [`value`](Self::value) is the string [`key`](Self::key) itself (one
    /// string field): then a state keeps the key alone, and the value is never built.
    pub fn is_key_string(&self) -> bool {
        matches!(self.cols, [one] if self.row.is_str(*one))
    }

    /// The value as a number (one field only: sums and averages read one).
    pub fn number(&self) -> Option<f64> {
        match self.cols {
            [one] => self.row.number(*one),
            _ => None,
        }
    }
}

/// The value of `condition.field` / `field` for an input. `None` when any of the fields
/// is missing or null.
pub fn value_of<'r>(c: &'r CompiledCorrelation, row: &'r Row) -> Option<Picked<'r>> {
    let cols = c.field_cols.as_slice();
    let key = match cols {
        [] => return None,
        [one] => std::borrow::Cow::Borrowed(row.key(*one)?),
        many => {
            let mut texts = Vec::with_capacity(many.len());
            for col in many {
                texts.push(row.key(*col)?);
            }
            std::borrow::Cow::Owned(serde_json::to_string(&texts).unwrap_or_default())
        }
    };
    Some(Picked { key, cols, row })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_the_json_array_serde_json_writes() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é€😀 \\u0000");
        for parts in [vec![all.as_str()], vec!["a", "b\"c"], vec![], vec!["CORP\\bob"]] {
            let key = GroupKey::of(&parts);
            assert_eq!(key.as_str(), serde_json::to_string(&parts).expect("json"));
            assert_eq!(key.parts(), parts);
        }
    }

    proptest::proptest! {
        /// Parts read from the key text in place are the parts serde_json reads, and the
        /// key serializes as its own text.
        #[test]
        fn parts_read_in_place_are_serde_jsons(parts in proptest::collection::vec(".{0,6}", 0..4)) {
            let key = GroupKey::of(&parts);
            let mut read = Vec::new();
            proptest::prop_assert!(key.each_part(&mut |p| read.push(p.to_string())));
            proptest::prop_assert_eq!(&read, &parts);
            proptest::prop_assert_eq!(key.parts(), parts);
            proptest::prop_assert_eq!(serde_json::to_string(&key).unwrap(), key.as_str());
        }
    }

    #[test]
    fn a_key_text_that_is_not_an_array_of_strings_is_refused() {
        for text in ["", "[", "[\"a\"", "[\"a\",]", "[1]", "[\"a\"]x", "{}"] {
            let key = GroupKey::from(text);
            assert!(!key.each_part(&mut |_| {}), "{text}");
            assert!(serde_json::to_string(&key).is_err(), "{text}");
        }
        assert!(GroupKey::from("[]").each_part(&mut |_| panic!("no part")));
    }

    #[test]
    fn keys_order_as_their_text_and_round_trip_through_serde() {
        let a = GroupKey::of(&["john smith"]);
        let b = GroupKey::of(&["john"]);
        // `"john smith"` < `"john"` as text: the space sorts before the closing quote.
        assert!(a < b);
        let json = serde_json::to_string(&a).expect("json");
        assert_eq!(json, r#"["john smith"]"#);
        let back: GroupKey = serde_json::from_str(&json).expect("key");
        assert_eq!(back, a);
    }
}
