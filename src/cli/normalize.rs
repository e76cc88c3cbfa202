//! `session-sigma normalize`: source records → session events (JSON lines), with the
//! accounting of every record on stderr.

use super::EXIT_ERROR;
use super::args::NormalizeArgs;
use super::input::{self, Item, Place};
use crate::source::{Adapter, Format, Outcome};
use std::io::{BufWriter, Write};

pub fn normalize(a: &NormalizeArgs) -> u8 {
    if a.max_line_bytes == 0 {
        eprintln!("error: --max-line-bytes must be at least 1");
        return EXIT_ERROR;
    }
    let format = Format::from(a.input_format);
    let mut adapter = Adapter::new(format, a.year);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut write_error: Option<std::io::Error> = None;
    // Folders are read as `run` reads them; records stay in input order.
    let expanded = match super::files::expand_reported(&a.events) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let mut status = 0u8;
    for input in &expanded.inputs {
        status = status.max(input::read_input(
            input.as_deref(),
            format,
            a.max_line_bytes,
            &mut |name, place: Place, item: Item<'_>| {
                let (outcome, line) = input::outcome(&mut adapter, item);
                let written = match outcome {
                    Outcome::Event(record) => match (record.verbatim, line) {
                        // A session event passes through as it was written.
                        (true, Some(line)) => out
                            .write_all(trim(line))
                            .and_then(|()| out.write_all(b"\n")),
                        _ => writeln!(out, "{}", record.event),
                    },
                    Outcome::Invalid(message) => {
                        input::report_invalid(name, place, &message, adapter.accounting().invalid);
                        Ok(())
                    }
                    Outcome::Blank | Outcome::Skipped { .. } => Ok(()),
                };
                match written {
                    Ok(()) => true,
                    Err(e) => {
                        write_error = Some(e);
                        false
                    }
                }
            },
        ));
        if write_error.is_some() {
            break;
        }
    }
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: writing events: {e}");
            status = EXIT_ERROR;
        }
    }
    let acc = adapter.accounting();
    eprintln!(
        "{} records: {} session events, {} skipped, {} invalid",
        acc.records,
        acc.events,
        acc.skipped_total(),
        acc.invalid
    );
    let mut reasons: Vec<(&String, &u64)> = acc.skipped.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (reason, n) in reasons {
        eprintln!("  skipped {n:>8}  {reason}");
    }
    status
}

/// The line without surrounding whitespace or a byte-order mark.
fn trim(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &line[start..end.max(start)]
}
