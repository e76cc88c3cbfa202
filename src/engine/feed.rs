//! Feeding records to an engine through an adapter: the one path `run` and cluster mode
//! share. A plain session line takes the engine's fast path (read by projection); anything
//! else goes through the adapter, and the record it becomes (if any) to the engine.

use super::Engine;
use crate::alert::AlertSink;
use crate::event::{EventError, View};
use crate::source::{Adapter, Outcome};

/// Why a record fed to the engine was invalid (it is counted; the caller reports it with
/// the record's place).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The source adapter could not read the record: what is wrong with it.
    #[error("{0}")]
    Record(String),
    /// The record is not an event.
    #[error(transparent)]
    Event(#[from] EventError),
}

/// One line of input: `Ok(())` when it was an event, a skipped record or blank; `Err` with
/// what is wrong when it is invalid (counted by the engine and the adapter; the caller
/// reports it with the line's place).
pub fn feed_line(
    engine: &mut Engine<'_>,
    adapter: &mut Adapter,
    line: &[u8],
    sink: &mut dyn AlertSink,
) -> Result<(), FeedError> {
    if let Some(plain) = adapter.plain_session(line) {
        match engine.process_session_line(plain, sink) {
            Ok(true) => {
                adapter.count_plain(true);
                return Ok(());
            }
            // Another shape (a Windows or journal record): the adapter reads it.
            Ok(false) => {}
            Err(e) => {
                adapter.count_plain(false);
                return Err(e.into());
            }
        }
    }
    let outcome = adapter.line(line);
    feed_outcome(engine, outcome, Some(line), sink)
}

/// A record the adapter has read (`line`: its text, when it was a line), to the engine.
pub fn feed_outcome(
    engine: &mut Engine<'_>,
    outcome: Outcome,
    line: Option<&[u8]>,
    sink: &mut dyn AlertSink,
) -> Result<(), FeedError> {
    match outcome {
        Outcome::Invalid(message) => {
            engine.record_invalid();
            return Err(FeedError::Record(message));
        }
        Outcome::Blank => {
            engine.record_blank();
            return Ok(());
        }
        _ => {}
    }
    let Some(record) = outcome.into_record() else {
        return Ok(());
    };
    // A session event read as a JSON line goes into alerts as it was written.
    let text = line
        .filter(|_| record.verbatim && record.view == View::Session)
        .and_then(|l| std::str::from_utf8(l).ok())
        .map(|t| t.trim().trim_start_matches('\u{feff}'));
    Ok(engine.process_record(record, text, sink)?)
}

/// What a line longer than the reader's limit becomes: invalid (it was not held in memory).
pub fn too_long(len: usize) -> Outcome {
    Outcome::Invalid(EventError::TooLong(len).to_string())
}
