//! Sources → session events (docs/semantics.md §5).
//!
//! Every input record becomes exactly one [`Outcome`]: a session event, a record skipped
//! because it is not a session record (counted by reason), or an invalid record (reported).
//! Windows records also carry their flattened form, which rules with `logsource: product:
//! windows` evaluate, whether or not the record is a session event.
//!
//! - [`windows`]: Windows Security / TerminalServices records in every JSON shape (evtx_dump,
//!   Winlogbeat, NXLog/HELK, Sentinel, and the flattened form itself).
//! - [`evtx`]: `.evtx` files, through the `evtx` crate, into the same mapping.
//! - [`linux`]: syslog / auth.log lines and `journalctl -o json` records.
//! - [`detect`]: `--input-format auto`, per record.

mod build;
pub mod detect;
pub mod evtx;
pub mod linux;
pub mod windows;

pub use crate::event::{MARKER_KEYS, Record, View};
pub use build::{SessionEvent, login_type_of};
pub use detect::{Adapter, Format};

use serde_json::Value;

/// Why a source record cannot be read (its message is the record's `invalid` reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A Windows record of a recognised shape without an `EventID`.
    #[error("a Windows record without EventID")]
    NoEventId,
    /// An `EventID` that is not a number.
    #[error("EventID {0} is not a number")]
    EventIdNotNumber(String),
    /// A journal record whose time key does not hold microseconds.
    #[error("journal record: {0} is not a number of microseconds")]
    JournalTime(&'static str),
    /// A syslog date that exists in none of the candidate years.
    #[error("no such date: month {month} day {day} (near the year {year})")]
    NoSuchDate {
        /// Month (1–12).
        month: u32,
        /// Day of the month.
        day: u32,
        /// The year the line is read near.
        year: i64,
    },
    /// A file that is not EVTX at all.
    #[error("not an EVTX file: {0}")]
    NotEvtx(String),
    /// The EVTX decoder itself failed.
    #[error("the EVTX decoder failed after {0} records; the rest of the file is skipped")]
    EvtxDecoder(u64),
}

/// What one input record became.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A blank line: not a record at all.
    Blank,
    /// A session event.
    Event(Record),
    /// Not a session record. `reason` is short and stable (`Security 4672`, `sshd`); Windows
    /// records keep their flattened form for Windows rules.
    Skipped {
        /// Why, for the counts.
        reason: String,
        /// The flattened Windows record, for Windows rules.
        windows: Option<Value>,
    },
    /// Not readable as a record of the format: what is wrong.
    Invalid(String),
}

impl Outcome {
    /// The record the engine should see, if any.
    pub fn into_record(self) -> Option<Record> {
        match self {
            Outcome::Event(r) => Some(r),
            Outcome::Skipped {
                windows: Some(w), ..
            } => Some(Record {
                event: w,
                view: View::WindowsOnly,
                verbatim: false,
            }),
            _ => None,
        }
    }
}

/// Counts of what the records became (docs/semantics.md §4.2: nothing is dropped silently).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Input records (blank lines are not records).
    pub records: u64,
    /// Session events produced.
    pub events: u64,
    /// Skipped records by reason.
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Invalid records.
    pub invalid: u64,
}

/// Most distinct skip reasons counted one by one; the rest are counted as `other`.
const MAX_REASONS: usize = 1000;

impl Accounting {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Blank => return,
            Outcome::Event(_) => self.events += 1,
            Outcome::Skipped { reason, .. } => self.skip(reason),
            Outcome::Invalid(_) => self.invalid += 1,
        }
        self.records += 1;
    }

    fn skip(&mut self, reason: &str) {
        if let Some(n) = self.skipped.get_mut(reason) {
            *n += 1;
        } else if self.skipped.len() < MAX_REASONS {
            self.skipped.insert(reason.to_string(), 1);
        } else {
            *self.skipped.entry("other".to_string()).or_default() += 1;
        }
    }

    /// Records skipped, over all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds another run's counts.
    pub fn merge(&mut self, other: &Accounting) {
        self.records += other.records;
        self.events += other.events;
        self.invalid += other.invalid;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
    }
}
