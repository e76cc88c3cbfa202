//! `session-sigma run`: events in, alerts out.

use super::args::{Eof, InputFormat, OutputFormat, RunArgs};
use super::{EXIT_ERROR, RuleSources};
use session_sigma::ingest::{Line, LineReader};
use session_sigma::{Alert, AlertSink, Engine, EventError, Settings};
use std::io::{BufRead, BufReader, BufWriter, Write};

/// Invalid lines reported per input before the rest are only counted.
const MAX_REPORTED_INVALID: u64 = 100;

/// Writes alerts to stdout, one per line, flushing each line unless stdout is a file.
struct Output<W: Write> {
    out: W,
    format: OutputFormat,
    line_flush: bool,
    error: Option<std::io::Error>,
}

impl<W: Write> AlertSink for Output<W> {
    fn alert(&mut self, alert: Alert) {
        if self.error.is_some() {
            return;
        }
        let line = match self.format {
            OutputFormat::Jsonl => alert.to_json(),
            OutputFormat::Text => alert.to_text(),
        };
        let r = writeln!(self.out, "{line}").and_then(|()| {
            if self.line_flush {
                self.out.flush()
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
    }
}

fn stdout_is_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.is_file())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

pub fn run(a: &RunArgs) -> u8 {
    if !matches!(a.input_format, InputFormat::Auto | InputFormat::Session) {
        eprintln!(
            "error: --input-format {:?} needs the source adapters, which this build does not have yet; use `session`",
            a.input_format
        );
        return EXIT_ERROR;
    }
    let Some(max_lateness) = session_sigma::time::parse_duration(&a.max_lateness) else {
        eprintln!(
            "error: --max-lateness `{}` is not a duration such as 30s, 10m, 2h or 1d",
            a.max_lateness
        );
        return EXIT_ERROR;
    };
    if a.max_groups == 0 || a.max_group_entries == 0 {
        eprintln!("error: --max-groups and --max-group-entries must be at least 1");
        return EXIT_ERROR;
    }
    if a.max_line_bytes == 0 {
        eprintln!("error: --max-line-bytes must be at least 1");
        return EXIT_ERROR;
    }
    let sources = match RuleSources::load(&a.rules.rules, a.rules.placeholders.as_ref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let set = match sources.build(false) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let stdout = std::io::stdout();
    let mut sink = Output {
        out: BufWriter::new(stdout.lock()),
        format: a.format,
        line_flush: !stdout_is_file(),
        error: None,
    };
    let settings = Settings {
        max_lateness,
        eof_flush: a.eof == Eof::Flush,
        limits: session_sigma::Limits {
            max_groups: a.max_groups,
            max_group_entries: a.max_group_entries,
        },
    };
    let mut engine = Engine::with_settings(&set, settings);
    let mut status = 0u8;
    let inputs: Vec<Option<&std::path::PathBuf>> = if a.events.is_empty() {
        vec![None]
    } else {
        a.events
            .iter()
            .map(|p| (p.as_os_str() != "-").then_some(p))
            .collect()
    };
    for input in inputs {
        let (name, reader): (String, Box<dyn BufRead>) = match input {
            None => (
                "<stdin>".to_string(),
                Box::new(BufReader::with_capacity(1 << 16, std::io::stdin())),
            ),
            Some(p) => match std::fs::File::open(p) {
                Ok(f) => (
                    p.display().to_string(),
                    Box::new(BufReader::with_capacity(1 << 16, f)),
                ),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", p.display());
                    status = EXIT_ERROR;
                    continue;
                }
            },
        };
        if let Err(e) = run_input(&name, reader, a.max_line_bytes, &mut engine, &mut sink) {
            eprintln!("error: reading {name}: {e}");
            status = EXIT_ERROR;
        }
        if sink.error.is_some() {
            break;
        }
    }
    let stats = engine.finish(&mut sink);
    let _ = sink.out.flush();
    if let Some(e) = &sink.error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: writing alerts: {e}");
            status = EXIT_ERROR;
        }
    }
    if let Some(path) = &a.summary {
        if let Err(e) = std::fs::write(path, stats.to_json() + "\n") {
            eprintln!("error: cannot write summary {}: {e}", path.display());
            status = EXIT_ERROR;
        }
    }
    if stats.invalid > 0 {
        eprintln!("{} invalid line(s) skipped", stats.invalid);
    }
    status
}

fn run_input(
    name: &str,
    reader: Box<dyn BufRead>,
    max_line: usize,
    engine: &mut Engine<'_>,
    sink: &mut Output<impl Write>,
) -> std::io::Result<()> {
    let mut lines = LineReader::new(reader, max_line);
    let mut reported = 0u64;
    while let Some((number, line)) = lines.next_line()? {
        let result = match line {
            Line::Text(bytes) => engine.process_line(bytes, sink),
            Line::TooLong(n) => {
                engine.record_invalid();
                Err(EventError::TooLong(n))
            }
        };
        if let Err(e) = result {
            reported += 1;
            if reported <= MAX_REPORTED_INVALID {
                eprintln!("{name}:{number}: invalid event: {e}");
            } else if reported == MAX_REPORTED_INVALID + 1 {
                eprintln!("{name}: more invalid lines; only counting them from here");
            }
        }
        if sink.error.is_some() {
            break;
        }
    }
    Ok(())
}
