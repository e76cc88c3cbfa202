//! Reading inputs for `run` and `normalize`: files or stdin, line by line through the
//! source adapter, or record by record for EVTX; invalid records reported with their place.

use super::EXIT_ERROR;
use super::args::InputFormat;
use crate::event::lines::{Line, LineReader};
use crate::source::{self, Adapter, Format, Outcome};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Invalid records reported per run before the rest are only counted.
pub const MAX_REPORTED_INVALID: u64 = 100;

impl From<InputFormat> for Format {
    fn from(f: InputFormat) -> Format {
        match f {
            InputFormat::Auto => Format::Auto,
            InputFormat::Session => Format::Session,
            InputFormat::Windows => Format::Windows,
            InputFormat::Evtx => Format::Evtx,
            InputFormat::Syslog => Format::Syslog,
        }
    }
}

/// Where a record is in its input.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// Line number (1-based).
    Line(u64),
    /// EVTX record (`EventRecordID`).
    Record(u64),
    /// An EVTX record that could not be read: its position in the file.
    Position(u64),
}

/// One record of an input, before the adapter (lines) or after it (EVTX records).
pub enum Item<'a> {
    /// A line of text.
    Line(&'a [u8]),
    /// A line longer than the limit (its length).
    TooLong(usize),
    /// An EVTX record, already mapped.
    Record(Outcome),
}

/// Turns an item into an outcome (counting it in the adapter); `text` is the line, for
/// session events kept as written.
pub fn outcome<'a>(adapter: &mut Adapter, item: Item<'a>) -> (Outcome, Option<&'a [u8]>) {
    match item {
        Item::Line(bytes) => (adapter.line(bytes), Some(bytes)),
        Item::TooLong(n) => {
            let o = crate::engine::feed::too_long(n);
            adapter.count(&o);
            (o, None)
        }
        Item::Record(o) => {
            adapter.count(&o);
            (o, None)
        }
    }
}

/// Reports an invalid record on stderr: the first [`MAX_REPORTED_INVALID`] of a run, then
/// one line saying the rest are only counted. `invalid` is the count including this one.
pub fn report_invalid(name: &str, place: Place, message: &str, invalid: u64) {
    if invalid <= MAX_REPORTED_INVALID {
        match place {
            Place::Line(n) => eprintln!("{name}:{n}: invalid event: {message}"),
            Place::Record(n) => eprintln!("{name}: record {n}: invalid record: {message}"),
            Place::Position(n) => eprintln!("{name}: record at {n}: invalid record: {message}"),
        }
    } else if invalid == MAX_REPORTED_INVALID + 1 {
        eprintln!("{name}: more invalid records; only counting them from here");
    }
}

/// Reads one input (a file, or stdin for `None`): EVTX record by record when the format
/// says so or (auto) the bytes start like an EVTX file, otherwise line by line. `f` returns
/// false to stop. Returns the exit status contribution (2 when the input cannot be read).
pub fn read_input(
    input: Option<&Path>,
    format: Format,
    max_line: usize,
    f: &mut dyn FnMut(&str, Place, Item<'_>) -> bool,
) -> u8 {
    let (name, mut reader): (String, Box<dyn BufRead>) = match input {
        None => (
            "<stdin>".to_string(),
            Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())),
        ),
        Some(p) => match std::fs::File::open(p) {
            Ok(file) => (
                p.display().to_string(),
                Box::new(BufReader::with_capacity(1 << 16, file)),
            ),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return EXIT_ERROR;
            }
        },
    };
    let evtx = match format {
        Format::Evtx => true,
        Format::Auto => match reader.fill_buf() {
            Ok(head) => source::evtx::is_evtx(head),
            Err(e) => {
                eprintln!("error: reading {name}: {e}");
                return EXIT_ERROR;
            }
        },
        _ => false,
    };
    if evtx {
        return read_evtx(&name, reader, f);
    }
    let mut lines = LineReader::new(reader, max_line);
    loop {
        match lines.next_line() {
            Ok(Some((number, line))) => {
                let item = match line {
                    Line::Text(b) => Item::Line(b),
                    Line::TooLong(n) => Item::TooLong(n),
                };
                if !f(&name, Place::Line(number), item) {
                    return 0;
                }
            }
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("error: reading {name}: {e}");
                return EXIT_ERROR;
            }
        }
    }
}

/// An EVTX input. The decoder needs to seek, so stdin (or a pipe) is read into memory first.
fn read_evtx(
    name: &str,
    mut reader: Box<dyn BufRead>,
    f: &mut dyn FnMut(&str, Place, Item<'_>) -> bool,
) -> u8 {
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        eprintln!("error: reading {name}: {e}");
        return EXIT_ERROR;
    }
    let result = source::evtx::read(std::io::Cursor::new(bytes), &mut |at, outcome| {
        let place = match at {
            source::evtx::At::Record(n) => Place::Record(n),
            source::evtx::At::Position(n) => Place::Position(n),
        };
        f(name, place, Item::Record(outcome))
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {name}: {e}");
            EXIT_ERROR
        }
    }
}
