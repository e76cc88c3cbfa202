//! Short texts held without an allocation: group keys and remembered values.
//!
//! Most group keys (`["CORP\\bob"]`, `["WS1","0x3e7"]`) and remembered values (addresses,
//! host names) are a couple of dozen bytes. A [`Text`] keeps up to [`INLINE`] bytes in
//! place and shares longer ones (one allocation, cloned by reference count), so a group of
//! one short key costs no allocation for its key at all.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Longest text kept in place.
pub const INLINE: usize = 22;

/// An immutable text: in place when short, shared otherwise. Compares, orders and hashes
/// as its bytes (which order as the `str` does).
#[derive(Clone)]
pub enum Text {
    /// Up to [`INLINE`] bytes, in place.
    Inline {
        /// Length in bytes.
        len: u8,
        /// The bytes (UTF-8 up to `len`, zero after).
        bytes: [u8; INLINE],
    },
    /// A longer text, shared.
    Shared(Arc<str>),
}

impl Text {
    /// The text of `s`.
    pub fn new(s: &str) -> Text {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE => {
                let mut bytes = [0u8; INLINE];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Text::Inline { len, bytes }
            }
            _ => Text::Shared(Arc::from(s)),
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Text::Shared(s) => s.as_bytes(),
        }
    }

    /// The text. (An inline text was copied whole from a `str`, so it is UTF-8; the check
    /// is what `forbid(unsafe_code)` asks for, and costs a pass over at most 22 bytes.)
    pub fn as_str(&self) -> &str {
        match self {
            Text::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Text::Shared(s) => s,
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Text {
    /// As the `str` hashes, so that maps keyed by texts are looked up by `&str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        Ok(Text::new(&s))
    }
}

/// The hash every store of texts uses: one random seed per process (as `HashMap`'s default
/// is per map), so that crafted keys cannot be made to collide.
pub fn hash(bytes: &[u8]) -> u64 {
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_in_place_long_ones_shared_and_both_compare_as_str() {
        let short = Text::new("CORP\\bob");
        let edge = Text::new(&"é".repeat(11)); // 22 bytes
        let long = Text::new(&"x".repeat(23));
        assert!(matches!(short, Text::Inline { .. }));
        assert!(matches!(edge, Text::Inline { .. }));
        assert!(matches!(long, Text::Shared(_)));
        assert_eq!(edge.as_str(), "é".repeat(11));
        assert_eq!(long.as_str(), "x".repeat(23));
        let mut texts = [Text::new("b"), long.clone(), Text::new(""), Text::new("ab")];
        texts.sort();
        let as_str: Vec<&str> = texts.iter().map(Text::as_str).collect();
        let mut expected = vec!["b", long.as_str(), "", "ab"];
        expected.sort();
        assert_eq!(as_str, expected);
        assert_eq!(std::mem::size_of::<Text>(), 24);
        let mut map = ahash::AHashMap::new();
        map.insert(short.clone(), 1);
        assert_eq!(map.get("CORP\\bob"), Some(&1));
        assert_eq!(serde_json::to_string(&long).ok(), serde_json::to_string(long.as_str()).ok());
    }
}
