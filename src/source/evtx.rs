//! `.evtx` files, read with the `evtx` crate into the same JSON shape `evtx_dump` writes,
//! then mapped like every other Windows record. A record or chunk that cannot be read is
//! reported (as invalid) and the rest of the file is read.

use super::Outcome;
use super::windows::{self, shape};
use crate::source::SourceError;
use evtx::{EvtxParser, ParserSettings};
use std::io::{Read, Seek};

/// The first bytes of every EVTX file.
pub const MAGIC: &[u8; 8] = b"ElfFile\0";

/// Is this the start of an EVTX file?
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Where a record is in an EVTX file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A record read: its `EventRecordID`.
    Record(u64),
    /// A record that could not be read: its position in the file (1-based).
    Position(u64),
}

/// Reads every record of an EVTX file. `f` gets where the record is and its outcome; it
/// returns false to stop. An error is returned only when the file cannot be read at all.
pub fn read<T: Read + Seek>(
    input: T,
    f: &mut dyn FnMut(At, Outcome) -> bool,
) -> Result<(), SourceError> {
    let parser =
        EvtxParser::from_read_seek(input).map_err(|e| SourceError::NotEvtx(e.to_string()))?;
    let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1));
    let mut position = 0u64;
    // The parser is a third-party decoder of untrusted bytes: should it panic, the file is
    // reported and the run goes on with the next input.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for record in parser.records_json_value() {
            position += 1;
            let (number, outcome) = match record {
                Ok(r) => {
                    let obj = match r.data {
                        serde_json::Value::Object(o) => o,
                        _ => serde_json::Map::new(),
                    };
                    let outcome = match shape::read_evtx(obj, "evtx") {
                        Ok(rec) => windows::from_record(rec),
                        Err(e) => Outcome::Invalid(e.to_string()),
                    };
                    (At::Record(r.event_record_id), outcome)
                }
                Err(e) => (At::Position(position), Outcome::Invalid(error_text(&e))),
            };
            if !f(number, outcome) {
                return;
            }
        }
    }));
    result.map_err(|_| SourceError::EvtxDecoder(position))
}

/// The error and its causes on one line.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}
