//! Reading input lines with bounded memory: a line longer than the limit is skipped (and
//! reported) without being buffered whole; a line's text loses its byte-order mark and
//! surrounding blanks; invalid UTF-8, invalid JSON and non-objects are [`EventError`]s.

use serde_json::Value;
use std::io::BufRead;

/// Default longest accepted line: 4 MiB.
pub const DEFAULT_MAX_LINE: usize = 4 << 20;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line (without its `\n` or `\r\n`).
    Text(&'a [u8]),
    /// A line longer than the limit; its length in bytes.
    TooLong(usize),
}

/// Splits a byte stream into lines, numbering them from 1.
pub struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    max: usize,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader accepting lines up to `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            buf: Vec::new(),
            max,
            number: 0,
        }
    }

    /// The next line and its number, or `None` at end of input.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut total = 0usize;
        let mut saw_any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr(chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            total += take;
            if total <= self.max {
                self.buf.extend_from_slice(&chunk[..take]);
            }
            self.reader.consume(if done { take + 1 } else { take });
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if total > self.max {
            return Ok(Some((self.number, Line::TooLong(total))));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.number, Line::Text(&self.buf))))
    }
}

/// The first newline (memchr's vector search: a byte-at-a-time loop was 4% of a detection run).
fn memchr(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

/// Why an input record is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not JSON (or not UTF-8); the column where parsing failed.
    #[error("invalid JSON at column {column}: {message}")]
    Json {
        /// 1-based column (byte) of the error.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// JSON, but not an object.
    #[error("an event must be a JSON object, found {0}")]
    NotObject(&'static str),
    /// Longer than the line limit.
    #[error("line of {0} bytes exceeds the limit; skipped")]
    TooLong(usize),
}

/// A line's text without byte-order mark (Windows tools write one at the start of a file)
/// and surrounding blanks; `None` for a blank line; invalid UTF-8 is an error.
pub(crate) fn line_text(line: &[u8]) -> Result<Option<&str>, EventError> {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match std::str::from_utf8(line) {
        Ok(text) => Ok(Some(text.trim())),
        Err(_) => Err(parse_json(line).err().unwrap_or(EventError::Json {
            column: 1,
            message: "invalid UTF-8".into(),
        })),
    }
}

/// Parses a JSON line; the error as reported for invalid lines.
pub(crate) fn parse_json(line: &[u8]) -> Result<Value, EventError> {
    serde_json::from_slice(line).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        EventError::Json {
            column: e.column(),
            message,
        }
    })
}

/// "an array", "a string", … for error messages.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_limits() {
        let data = b"a\r\nbbbbbbbbbb\n\nc".to_vec();
        let mut r = LineReader::new(std::io::BufReader::with_capacity(3, &data[..]), 5);
        assert_eq!(r.next_line().unwrap(), Some((1, Line::Text(b"a"))));
        assert_eq!(r.next_line().unwrap(), Some((2, Line::TooLong(10))));
        assert_eq!(r.next_line().unwrap(), Some((3, Line::Text(b""))));
        assert_eq!(r.next_line().unwrap(), Some((4, Line::Text(b"c"))));
        assert_eq!(r.next_line().unwrap(), None);
    }

    /// The lines of `data` as a plain split gives them (numbered, `\r` before the newline
    /// dropped, past `max` bytes their length), after a last newline nothing.
    fn reference(data: &[u8], max: usize) -> Vec<(u64, Result<Vec<u8>, usize>)> {
        let mut parts: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
        if data.is_empty() || data.ends_with(b"\n") {
            parts.pop();
        }
        parts
            .into_iter()
            .zip(1..)
            .map(|(p, n)| {
                if p.len() > max {
                    (n, Err(p.len()))
                } else {
                    (n, Ok(p.strip_suffix(b"\r").unwrap_or(p).to_vec()))
                }
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn lines_are_those_of_a_plain_split_whatever_the_buffer_size(
            data in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'\n', b'\r', 0xff, b'{']), 0..200),
            capacity in 1usize..20,
            max in 1usize..30,
        ) {
            let mut r = LineReader::new(std::io::BufReader::with_capacity(capacity, &data[..]), max);
            let mut got = Vec::new();
            while let Some((n, line)) = r.next_line().unwrap() {
                got.push((n, match line {
                    Line::Text(t) => Ok(t.to_vec()),
                    Line::TooLong(len) => Err(len),
                }));
            }
            proptest::prop_assert_eq!(got, reference(&data, max));
        }
    }
}
