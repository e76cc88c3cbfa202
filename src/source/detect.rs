//! The adapter of one input stream: `--input-format` and, for `auto`, recognition of each
//! record by its form (docs/semantics.md §5).

use super::linux::Linux;
use super::windows::{self, Shape};
use super::{Accounting, Outcome};
use crate::event::lines::{kind_name, parse_json};
use crate::event::{EventError, Record, View};
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Recognise each record: session JSON, a Windows JSON shape, a journal record, or a
    /// syslog line; `.evtx` files by their magic bytes.
    #[default]
    Auto,
    /// Session events (docs/semantics.md §2), one JSON object per line.
    Session,
    /// Windows event records as JSON, one per line, in any supported shape.
    Windows,
    /// `.evtx` files.
    Evtx,
    /// syslog / auth.log lines and `journalctl -o json` records.
    Syslog,
}

/// The `source` values of events made from Windows records: such an event read back as
/// session JSON (`normalize | run`) keeps its `raw` record for Windows rules.
const WINDOWS_SOURCES: [&str; 6] = [
    "evtx",
    "evtx_dump",
    "winlogbeat",
    "nxlog",
    "sentinel",
    "windows",
];

/// Turns the records of one stream into [`Outcome`]s and counts them.
#[derive(Debug)]
pub struct Adapter {
    format: Format,
    linux: Linux,
    accounting: Accounting,
}

impl Adapter {
    /// An adapter for `format`; `year` dates year-less syslog lines (default: this year).
    pub fn new(format: Format, year: Option<i64>) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Adapter::with_now(format, year, Timestamp(now))
    }

    /// As [`Adapter::new`], with "now" given (tests).
    pub fn with_now(format: Format, year: Option<i64>, now: Timestamp) -> Self {
        Adapter {
            format,
            linux: Linux::new(year, now),
            accounting: Accounting::default(),
        }
    }

    /// The fast path for session JSON (`session` and `auto`): a line that starts like a JSON
    /// object may be a plain session event, which the engine reads directly, by projection,
    /// without a `Value` being built (`Engine::process_session_line`, which hands
    /// back lines with one of the [`MARKER_KEYS`]). Count it with [`Adapter::count_plain`].
    /// `None`: use [`Adapter::line`].
    pub fn plain_session<'l>(&self, line: &'l [u8]) -> Option<&'l [u8]> {
        may_be_plain_session(self.format, line).then_some(line)
    }

    /// Counts a line taken by [`Adapter::plain_session`]: an event, or invalid.
    pub fn count_plain(&mut self, valid: bool) {
        self.accounting.records += 1;
        if valid {
            self.accounting.events += 1;
        } else {
            self.accounting.invalid += 1;
        }
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What the records so far became.
    pub fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    /// Starts from counts saved earlier (a cluster partition resumed from a checkpoint).
    pub fn resume_accounting(&mut self, accounting: Accounting) {
        self.accounting = accounting;
    }

    /// Counts an outcome produced outside [`Adapter::line`] (EVTX records).
    pub fn count(&mut self, outcome: &Outcome) {
        self.accounting.count(outcome);
    }

    /// One line of a line-based input.
    pub fn line(&mut self, line: &[u8]) -> Outcome {
        let outcome = self.read_line(line);
        self.accounting.count(&outcome);
        outcome
    }

    /// One JSON value (a rule test's event, a record from a library caller).
    pub fn json(&mut self, value: Value) -> Outcome {
        let outcome = self.read_json(value);
        self.accounting.count(&outcome);
        outcome
    }

    fn read_line(&mut self, line: &[u8]) -> Outcome {
        // A UTF-8 byte-order mark (Windows tools write one at the start of a file) is not data.
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        let Some(first) = line.iter().find(|b| !b.is_ascii_whitespace()) else {
            return Outcome::Blank;
        };
        let json_like = matches!(first, b'{' | b'[' | b'"');
        match self.format {
            Format::Evtx => {
                Outcome::Invalid("EVTX is a binary format: give the .evtx file itself".into())
            }
            Format::Syslog if !json_like => self.syslog(line),
            Format::Auto if !json_like => {
                let text = String::from_utf8_lossy(line);
                if Linux::looks_like_syslog(&text) {
                    self.linux.syslog_line(&text)
                } else {
                    Outcome::Invalid(
                        "neither JSON (no `{` at the start) nor a syslog line (no timestamp, host and program)"
                            .into(),
                    )
                }
            }
            _ => match parse_json(line) {
                Ok(v) => self.read_json(v),
                Err(e) => Outcome::Invalid(e.to_string()),
            },
        }
    }

    fn syslog(&mut self, line: &[u8]) -> Outcome {
        self.linux.syslog_line(&String::from_utf8_lossy(line))
    }

    fn read_json(&mut self, value: Value) -> Outcome {
        let Value::Object(obj) = value else {
            return Outcome::Invalid(EventError::NotObject(kind_name(&value)).to_string());
        };
        match self.format {
            Format::Session => session(obj),
            Format::Windows => match Shape::of(&obj) {
                Some(shape) => windows::from_json(shape, obj),
                None => Outcome::Invalid(
                    "not a Windows event record (no Event.System, winlog, event_id or EventID with Channel/Computer/Hostname)"
                        .into(),
                ),
            },
            Format::Syslog => {
                if Linux::is_journal(&obj) {
                    self.linux.journal(obj)
                } else {
                    Outcome::Invalid(
                        "a JSON object that is not a journal record (no __REALTIME_TIMESTAMP or MESSAGE)"
                            .into(),
                    )
                }
            }
            Format::Auto | Format::Evtx => {
                if let Some(shape) = Shape::of(&obj) {
                    windows::from_json(shape, obj)
                } else if Linux::is_journal(&obj) {
                    self.linux.journal(obj)
                } else {
                    session(obj)
                }
            }
        }
    }
}

/// A session event as it is. One made from a Windows record keeps its `raw` for Windows rules.
fn session(obj: Map<String, Value>) -> Outcome {
    let from_windows = obj
        .get("source")
        .and_then(Value::as_str)
        .is_some_and(|s| WINDOWS_SOURCES.contains(&s))
        && obj.get("raw").is_some_and(Value::is_object);
    Outcome::Event(Record {
        event: Value::Object(obj),
        view: if from_windows {
            View::SessionWithRaw
        } else {
            View::Session
        },
        verbatim: true,
    })
}

/// May `line` be a plain session event of `format` (the engine's fast path)? It starts like
/// a JSON object, and the format reads session JSON.
pub fn may_be_plain_session(format: Format, line: &[u8]) -> bool {
    matches!(format, Format::Session | Format::Auto)
        && line
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(line)
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            == Some(&b'{')
}
