//! Windows Security and TerminalServices records, in every JSON shape of docs/semantics.md §5.

mod map;
pub mod shape;
#[cfg(test)]
mod tests;

pub use shape::{Shape, WinRecord};

use super::Outcome;
use serde_json::{Map, Value};

/// Maps a JSON record of a recognised shape (see [`Shape::of`]).
pub fn from_json(shape: Shape, obj: Map<String, Value>) -> Outcome {
    match shape::read(shape, obj) {
        Ok(r) => map::map(r),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}

/// Maps a record already read (EVTX files).
pub fn from_record(r: WinRecord) -> Outcome {
    map::map(r)
}
