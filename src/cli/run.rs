//! `session-sigma run`: events in, alerts out.

use super::args::{Eof, InputFormat, OutputFormat, RunArgs};
use super::{EXIT_ERROR, RuleSources};
use session_sigma::ingest::{Line, LineReader};
use session_sigma::{Alert, AlertSink, Engine, EventError, Settings};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

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

/// Is this standard stream a regular file (not a pipe or a terminal)?
#[cfg(unix)]
fn is_regular_file(stream: &impl std::os::fd::AsFd) -> bool {
    stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata().ok())
        .is_some_and(|m| m.is_file())
}

#[cfg(not(unix))]
fn is_regular_file<T>(_: &T) -> bool {
    false
}

fn stdin_is_file() -> bool {
    is_regular_file(&std::io::stdin())
}

fn stdout_is_file() -> bool {
    is_regular_file(&std::io::stdout())
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
    if let Some(path) = &a.state {
        if let Err(code) = load_state(&mut engine, path) {
            return code;
        }
    }
    let inputs: Vec<Option<PathBuf>> = if a.events.is_empty() {
        vec![None]
    } else {
        a.events
            .iter()
            .map(|p| (p.as_os_str() != "-").then(|| p.clone()))
            .collect()
    };
    // Live input (stdin not redirected from a file) and state runs read on a thread, so
    // that held alerts are written when the input goes quiet and signals are handled.
    let live = inputs.iter().any(|i| match i {
        None => !stdin_is_file(),
        // A named pipe or a device given by path is live too.
        Some(p) => std::fs::metadata(p).is_ok_and(|m| !m.is_file()),
    });
    let mut status = if a.state.is_some() || live {
        read_threaded(
            inputs,
            a.max_line_bytes,
            &mut engine,
            &mut sink,
            a.state.is_some(),
        )
    } else {
        let mut status = 0u8;
        for input in &inputs {
            status = status.max(read_one(
                input.as_deref(),
                a.max_line_bytes,
                &mut |name, number, line| handle_line(&mut engine, &mut sink, name, number, line),
            ));
            if sink.error.is_some() {
                break;
            }
        }
        status
    };
    let stats = match &a.state {
        // A run with a state file is one segment of a longer stream: nothing is released,
        // unless this is the end of the stream.
        Some(path) => {
            let stats = if a.end_of_stream {
                engine.finish(&mut sink)
            } else {
                engine.pause()
            };
            if let Err(e) = save_state(&engine, path) {
                eprintln!("error: cannot write state {}: {e}", path.display());
                status = EXIT_ERROR;
            }
            stats
        }
        None => engine.finish(&mut sink),
    };
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
    // The process ends here: freeing millions of groups one by one would only cost time.
    std::mem::forget(engine);
    status
}

/// One line of input, or a line too long to keep.
enum Read {
    Text(Vec<u8>),
    TooLong(usize),
}

/// Reads one input (a file, or stdin for `None`) line by line. Returns the exit status
/// contribution (2 when the input cannot be read).
fn read_one(
    input: Option<&std::path::Path>,
    max_line: usize,
    f: &mut dyn FnMut(&str, u64, Line<'_>) -> bool,
) -> u8 {
    let (name, reader): (String, Box<dyn BufRead>) = match input {
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
    let mut lines = LineReader::new(reader, max_line);
    loop {
        match lines.next_line() {
            Ok(Some((number, line))) => {
                if !f(&name, number, line) {
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

/// Processes one line; reports invalid ones (the first hundred per run). Returns false
/// when output failed and reading should stop.
fn handle_line(
    engine: &mut Engine<'_>,
    sink: &mut Output<impl Write>,
    name: &str,
    number: u64,
    line: Line<'_>,
) -> bool {
    let result = match line {
        Line::Text(bytes) => engine.process_line(bytes, sink),
        Line::TooLong(n) => {
            engine.record_invalid();
            Err(EventError::TooLong(n))
        }
    };
    if let Err(e) = result {
        let reported = engine.stats().invalid;
        if reported <= MAX_REPORTED_INVALID {
            eprintln!("{name}:{number}: invalid event: {e}");
        } else if reported == MAX_REPORTED_INVALID + 1 {
            eprintln!("{name}: more invalid lines; only counting them from here");
        }
    }
    sink.error.is_none()
}

enum Message {
    Line(Arc<str>, u64, Read),
    Status(u8),
    Done,
    Signal(i32),
}

/// How long the input may be quiet before held alerts are written.
const IDLE: std::time::Duration = std::time::Duration::from_millis(100);

/// Reads the inputs on a thread: when no line comes for [`IDLE`], the alerts held for
/// ordering are written (a live stream sees its alerts at once), and with a state file
/// SIGINT/SIGTERM stop the run between lines (even while waiting on stdin) so that the
/// state still gets written.
fn read_threaded(
    inputs: Vec<Option<PathBuf>>,
    max_line: usize,
    engine: &mut Engine<'_>,
    sink: &mut Output<impl Write>,
    watch_signals: bool,
) -> u8 {
    let (tx, rx) = mpsc::sync_channel::<Message>(4096);
    if watch_signals {
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]);
        match signals {
            Ok(mut signals) => {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        let _ = tx.send(Message::Signal(sig));
                    }
                });
            }
            Err(e) => eprintln!(
                "warning: cannot watch for SIGINT/SIGTERM ({e}); the state is written at end of input only"
            ),
        }
    }
    std::thread::spawn(move || {
        for input in &inputs {
            let mut name: Option<Arc<str>> = None;
            let status = read_one(input.as_deref(), max_line, &mut |n, number, line| {
                let n = name.get_or_insert_with(|| Arc::from(n)).clone();
                let read = match line {
                    Line::Text(b) => Read::Text(b.to_vec()),
                    Line::TooLong(len) => Read::TooLong(len),
                };
                tx.send(Message::Line(n, number, read)).is_ok()
            });
            if tx.send(Message::Status(status)).is_err() {
                return;
            }
        }
        let _ = tx.send(Message::Done);
    });
    let mut status = 0u8;
    loop {
        let msg = match rx.recv_timeout(IDLE) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                engine.flush(sink);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Message::Line(name, number, read) => {
                let line = match &read {
                    Read::Text(b) => Line::Text(b),
                    Read::TooLong(n) => Line::TooLong(*n),
                };
                if !handle_line(engine, sink, &name, number, line) {
                    break;
                }
            }
            Message::Status(s) => status = status.max(s),
            Message::Done => break,
            Message::Signal(sig) => {
                eprintln!("stopping on signal {sig}: writing the state");
                break;
            }
        }
    }
    status
}

fn load_state(engine: &mut Engine<'_>, path: &std::path::Path) -> Result<(), u8> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            eprintln!("error: cannot read state {}: {e}", path.display());
            return Err(EXIT_ERROR);
        }
    };
    engine.restore(&text).map_err(|e| {
        eprintln!("error: {}: {e}", path.display());
        EXIT_ERROR
    })
}

/// Writes the checkpoint next to `path`, then renames it over `path` (atomic on POSIX).
fn save_state(engine: &Engine<'_>, path: &std::path::Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(engine.checkpoint().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
