//! Reading JSON lines with bounded memory: a line longer than the limit is skipped (and
//! reported) without being buffered whole.

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

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
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
}
