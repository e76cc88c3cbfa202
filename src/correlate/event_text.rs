//! Event texts in correlation snapshots, written once per document.
//!
//! One consumed event is kept by every correlation it feeds (a logon by four of the bundled
//! pack's), as one shared text. A snapshot written field by field would repeat it, each
//! copy escaped again. [`to_json_tabled`] writes each shared text once, in a `texts` array
//! appended to the document, and every place that holds it as its number in that array;
//! [`from_json_tabled`] reads the table first, so the restored state shares each text as
//! the original did. Documents without a table (texts written in place) read the same.
//!
//! The fields of type `Arc<str>` that hold events say `#[serde(with = "event_text")]`
//! (or use [`Ev`] where they are nested); outside the two functions they are plain strings.
//! Cluster checkpoints use the table; `run --state` files (format version 2) do not.
#![cfg_attr(not(feature = "cluster"), allow(dead_code))]

use ahash::AHashMap;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::sync::Arc;

/// What the texts of the document being written or read go through.
enum Table {
    /// Written in place.
    None,
    /// Writing: each text once, by its allocation.
    Writing {
        at: AHashMap<usize, u32>,
        texts: Vec<Arc<str>>,
    },
    /// Reading a document's table.
    Reading(Vec<Arc<str>>),
}

thread_local! {
    static TABLE: RefCell<Table> = const { RefCell::new(Table::None) };
}

/// Puts the table back to `None` however the scope ends.
struct Scope;

impl Scope {
    fn enter(t: Table) -> Scope {
        TABLE.with(|c| *c.borrow_mut() = t);
        Scope
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        TABLE.with(|c| *c.borrow_mut() = Table::None);
    }
}

/// Writes `value` (whose JSON is an object) as JSON into `out`, each shared event text once
/// in a `texts` member appended to the object.
pub fn to_json_tabled<T: Serialize>(value: &T, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let start = out.len();
    let texts = {
        let _scope = Scope::enter(Table::Writing {
            at: AHashMap::new(),
            texts: Vec::new(),
        });
        serde_json::to_writer(&mut *out, value)?;
        TABLE.with(|c| match std::mem::replace(&mut *c.borrow_mut(), Table::None) {
            Table::Writing { texts, .. } => texts,
            _ => Vec::new(),
        })
    };
    if texts.is_empty() {
        return Ok(());
    }
    // The object's closing brace gives way to the table (an empty object takes no comma).
    if out.last() != Some(&b'}') {
        return Err(de::Error::custom("a tabled document must be a JSON object"));
    }
    out.pop();
    if out.len() > start + 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"texts\":");
    serde_json::to_writer(&mut *out, &texts)?;
    out.push(b'}');
    Ok(())
}

/// Reads a document written by [`to_json_tabled`] (or one whose texts are in place).
pub fn from_json_tabled<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    #[derive(Deserialize)]
    struct TableOnly {
        #[serde(default)]
        texts: Vec<Arc<str>>,
    }
    let TableOnly { texts } = serde_json::from_str(text)?;
    let _scope = Scope::enter(Table::Reading(texts));
    serde_json::from_str(text)
}

/// An event text as a snapshot field: its number in the table while one is written.
pub fn serialize<S: Serializer>(text: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    let number = TABLE.with(|c| match &mut *c.borrow_mut() {
        Table::Writing { at, texts } => {
            let next = texts.len() as u32;
            let n = *at
                .entry(Arc::as_ptr(text) as *const u8 as usize)
                .or_insert(next);
            if n == next {
                // Held here, so that no other text can take its address meanwhile.
                texts.push(text.clone());
            }
            Some(n)
        }
        _ => None,
    });
    match number {
        Some(n) => s.serialize_u32(n),
        None => s.serialize_str(text),
    }
}

/// An event text of a snapshot: a string, or a number into the table being read.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
    struct TextOrNumber;
    impl Visitor<'_> for TextOrNumber {
        type Value = Arc<str>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an event text or its number in `texts`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(v))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Arc<str>, E> {
            TABLE.with(|c| match &*c.borrow() {
                Table::Reading(texts) => usize::try_from(n)
                    .ok()
                    .and_then(|i| texts.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        E::custom(format!("event text {n} is not in `texts` ({})", texts.len()))
                    }),
                _ => Err(E::custom(format!("event text {n} without a `texts` table"))),
            })
        }
    }
    d.deserialize_any(TextOrNumber)
}

/// An event text where it is nested in another type, to read (as [`deserialize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev(pub Arc<str>);

impl<'de> Deserialize<'de> for Ev {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ev, D::Error> {
        deserialize(d).map(Ev)
    }
}

/// An event text where it is nested in another type, to write (as [`serialize`]).
pub struct EvRef<'a>(pub &'a Arc<str>);

impl Serialize for EvRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, s)
    }
}

/// Event texts nested in another type, to write (each as [`serialize`]).
pub struct ManyRef<'a>(pub &'a [Arc<str>]);

impl Serialize for ManyRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(EvRef))
    }
}

/// `Vec<Arc<str>>` fields of event texts.
pub mod many {
    use super::{Ev, ManyRef};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    /// Each as [`super::serialize`].
    pub fn serialize<S: Serializer>(texts: &[Arc<str>], s: S) -> Result<S::Ok, S::Error> {
        ManyRef(texts).serialize(s)
    }

    /// Each as [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Arc<str>>, D::Error> {
        Ok(Vec::<Ev>::deserialize(d)?.into_iter().map(|e| e.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        #[serde(with = "super")]
        one: Arc<str>,
        #[serde(with = "many")]
        all: Vec<Arc<str>>,
    }

    fn doc() -> Doc {
        let a: Arc<str> = Arc::from(r#"{"user":"CORP\\alice","n":1}"#);
        let b: Arc<str> = Arc::from(r#"{"user":"bob"}"#);
        // Equal to `b` but another allocation: written twice.
        let b2: Arc<str> = Arc::from(r#"{"user":"bob"}"#);
        Doc {
            one: a.clone(),
            all: vec![b.clone(), a, b, b2],
        }
    }

    #[test]
    fn each_shared_text_is_written_once_and_read_back_shared() {
        let mut out = b"junk before ".to_vec();
        let start = out.len();
        to_json_tabled(&doc(), &mut out).unwrap();
        let json = std::str::from_utf8(&out[start..]).unwrap();
        assert_eq!(
            json,
            r#"{"one":0,"all":[1,0,1,2],"texts":["{\"user\":\"CORP\\\\alice\",\"n\":1}","{\"user\":\"bob\"}","{\"user\":\"bob\"}"]}"#
        );
        let back: Doc = from_json_tabled(json).unwrap();
        assert_eq!(back, doc());
        assert!(Arc::ptr_eq(&back.one, &back.all[1]));
        assert!(Arc::ptr_eq(&back.all[0], &back.all[2]));
        assert!(!Arc::ptr_eq(&back.all[0], &back.all[3]));
    }

    #[test]
    fn outside_a_tabled_document_texts_are_strings_and_both_forms_read() {
        let plain = serde_json::to_string(&doc()).unwrap();
        assert!(plain.starts_with(r#"{"one":"{\"user\""#), "{plain}");
        assert_eq!(from_json_tabled::<Doc>(&plain).unwrap(), doc());
        assert_eq!(serde_json::from_str::<Doc>(&plain).unwrap(), doc());
    }

    #[test]
    fn a_number_outside_the_table_is_an_error_not_a_text() {
        let e = from_json_tabled::<Doc>(r#"{"one":0,"all":[3],"texts":["{}"]}"#).unwrap_err();
        assert!(e.to_string().contains("event text 3 is not in `texts` (1)"), "{e}");
        let e = serde_json::from_str::<Doc>(r#"{"one":0,"all":[]}"#).unwrap_err();
        assert!(e.to_string().contains("without a `texts` table"), "{e}");
        // And the table is gone after a failed read.
        assert!(serde_json::from_str::<Doc>(r#"{"one":0,"all":[]}"#).is_err());
    }

    #[test]
    fn a_document_without_texts_gets_no_table() {
        #[derive(Serialize)]
        struct Empty {
            n: u32,
        }
        let mut out = Vec::new();
        to_json_tabled(&Empty { n: 1 }, &mut out).unwrap();
        assert_eq!(out, br#"{"n":1}"#);
    }
}
