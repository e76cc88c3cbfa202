//! `session-sigma run`: events in, alerts out.

use super::args::RunArgs;
use super::input::{self, Item, Place};
use super::{EXIT_ERROR, RuleSources};
use crate::alert::{Alert, AlertSink};
use crate::engine::Engine;
use crate::engine::feed::{feed_line, feed_outcome};
use crate::event::EventError;
use crate::source::{Adapter, Format, Outcome};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Writes alerts to stdout, one per line, flushing each line unless stdout is a file.
struct Output<W: Write> {
    out: W,
    /// Alerts per rule (and records per input) for the end-of-run table.
    counts: super::stats::RunCounts,
    format: crate::alert::Format,
    /// Colour of text alerts (`--color`, stdout a terminal).
    paint: crate::report::Paint,
    line_flush: bool,
    error: Option<std::io::Error>,
}

impl<W: Write> AlertSink for Output<W> {
    fn alert(&mut self, alert: Alert) {
        if self.error.is_some() {
            return;
        }
        self.counts.alert(&alert);
        let line = self.format.render_painted(&alert, self.paint);
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
    let settings = match a.engine.settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    if a.threads == Some(0) {
        eprintln!("error: --threads must be at least 1");
        return EXIT_ERROR;
    }
    let (set, rules_skipped) = match RuleSources::compile_counting(&a.rules) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let expanded = match super::files::expand_reported(&a.events) {
        Ok(e) => e,
        Err(c) => return c,
    };
    let merged = expanded.had_directory || expanded.inputs.len() > 1;
    let inputs = expanded.inputs;
    let written = [
        ("--summary", a.engine.summary.as_deref()),
        ("--state", a.state.as_deref()),
    ];
    if let Err(code) = super::files::refuse_writing_inputs(&inputs, &written) {
        return code;
    }
    // Live input (stdin not redirected from a file) and state runs read on a thread, so
    // that held alerts are written when the input goes quiet and signals are handled.
    let live = inputs.iter().any(|i| match i {
        None => !stdin_is_file(),
        // A named pipe or a device given by path is live too.
        Some(p) => std::fs::metadata(p).is_ok_and(|m| !m.is_file()),
    });
    let stdout = std::io::stdout();
    let format = a.engine.alert_format();
    let mut out = BufWriter::new(stdout.lock());
    if let Some(h) = format.header() {
        let _ = writeln!(out, "{h}");
    }
    let mut sink = Output {
        out,
        counts: super::stats::RunCounts::default(),
        format,
        paint: super::paint_stdout(),
        // A live input's alerts go out as they are written (a pipeline stage downstream
        // sees them at once); files are read as fast as they can be, so their alerts go out
        // in buffer-sized writes, not a system call per alert.
        line_flush: live && !stdout_is_file(),
        error: None,
    };
    // On a terminal (unless --quiet): a progress bar over the file inputs' bytes, and the
    // end-of-run table (also with --stats).
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let total_bytes: u64 = inputs
        .iter()
        .flatten()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let show_progress = stderr_tty && !a.quiet && !live;
    let show_stats = a.stats || (stderr_tty && !a.quiet);
    let started = Instant::now();
    let mut engine = Engine::with_settings(&set, settings);
    if let Some(path) = &a.state {
        if let Err(code) = load_state(&mut engine, path) {
            return code;
        }
        // Before any input is read: a state that cannot be written would lose the run.
        if let Err(e) = probe_writable(path) {
            eprintln!("error: cannot write state {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    let format = Format::from(a.engine.input_format);
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let (mut status, skipped, stats) = std::thread::scope(|scope| {
        if threads > 1 && parallel_reading(a, format, live) {
            // Correlation state partitioned by group over `threads` shards.
            engine.shard_correlations(scope, threads);
        }
        let mut runner = Runner {
            adapter: Adapter::new(format, a.year),
            engine: &mut engine,
            sink: &mut sink,
            file: None,
            // Several files are read twice: once to sort them, once to run them.
            progress: super::stats::Progress::new(
                if merged { 2 * total_bytes } else { total_bytes },
                show_progress,
            ),
        };
        let mut status = read_all(a, &set, inputs, live, merged, threads, &mut runner);
        runner.progress.finish();
        let skipped = runner.adapter.accounting().skipped.clone();
        let (stats, saved) = end_of_input(a, &mut engine, &mut sink);
        if !saved {
            status = EXIT_ERROR;
        }
        engine.stop_shards();
        (status, skipped, stats)
    });
    let stats = crate::engine::Stats {
        skipped,
        rules_skipped: rules_skipped as u64,
        ..stats
    };
    let _ = sink.out.flush();
    if let Some(e) = &sink.error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: writing alerts: {e}");
            status = EXIT_ERROR;
        }
    }
    status = status.max(finish_report(&stats, a.engine.summary.as_deref()));
    if show_stats {
        eprint!("{}", sink.counts.render(&stats, started.elapsed()));
    }
    // The process ends here: freeing millions of groups one by one would only cost time.
    std::mem::forget(engine);
    status
}

/// Reads every input through the runner: on a reader thread for live input and state
/// runs, on worker threads for session JSON with `--threads` above 1, else in place.
/// Returns the exit status contribution of the inputs.
#[allow(clippy::too_many_arguments)]
fn read_all(
    a: &RunArgs,
    set: &crate::compile::RuleSet,
    inputs: Vec<Option<PathBuf>>,
    live: bool,
    merged: bool,
    threads: usize,
    runner: &mut Runner<'_, '_, impl Write>,
) -> u8 {
    let format = runner.adapter.format();
    let max_line = a.engine.max_line_bytes;
    if a.state.is_some() || live {
        return read_threaded(inputs, format, max_line, runner, a.state.is_some(), live);
    }
    // Several files (no stdin among them): one stream in event-time order.
    let files: Option<Vec<PathBuf>> = inputs.iter().cloned().collect();
    if let (true, Some(files)) = (merged, files) {
        let tmp = std::env::temp_dir();
        let mut read_bytes = runner.progress.reader();
        return super::merge::read(
            &files,
            format,
            max_line,
            a.sort_memory,
            &tmp,
            &mut read_bytes,
            &mut |n, p, i| runner.handle(n, p, i),
        );
    }
    if threads > 1 && parallel_reading(a, format, live) {
        return super::parallel::read(set, inputs, format, max_line, threads, &mut |data, e| {
            runner.handle_entry(data, e)
        });
    }
    let mut status = 0u8;
    for input in &inputs {
        status = status.max(input::read_input(
            input.as_deref(),
            format,
            max_line,
            &mut |name, place, item| runner.handle(name, place, item),
        ));
        if runner.sink.error.is_some() {
            break;
        }
    }
    status
}

/// What the progress bar counts for one EVTX record (records are decoded, not read as
/// bytes; a Security record is about this size).
pub(super) const EVTX_RECORD_BYTES: u64 = 600;

/// Says on stderr which files of the input directories were left out, by reason.
pub(super) fn report_skipped_files(skipped: &[(PathBuf, &'static str)]) {
    for why in ["hidden", "unknown kind"] {
        let these: Vec<String> = skipped
            .iter()
            .filter(|(_, w)| *w == why)
            .map(|(p, _)| p.display().to_string())
            .collect();
        if these.is_empty() {
            continue;
        }
        let shown = these.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        let more = if these.len() > 3 { ", …" } else { "" };
        eprintln!(
            "skipped {} file(s) of the input folders ({why}): {shown}{more}",
            these.len()
        );
    }
}

/// Whether the input is read (and correlated) on worker threads when `--threads` allows:
/// session JSON from files, without a state file (whose run keeps its state in one place).
fn parallel_reading(a: &RunArgs, format: Format, live: bool) -> bool {
    a.state.is_none() && !live && matches!(format, Format::Auto | Format::Session)
}

/// The end of the input: a run with a state file is one segment of a longer stream, so
/// nothing is released unless this is the end of the stream, and the state is written
/// (`false` with the counters when it cannot be).
fn end_of_input(
    a: &RunArgs,
    engine: &mut Engine<'_>,
    sink: &mut dyn AlertSink,
) -> (crate::engine::Stats, bool) {
    let Some(path) = &a.state else {
        return (engine.finish(sink), true);
    };
    let stats = if a.end_of_stream {
        engine.finish(sink)
    } else {
        engine.pause()
    };
    match save_state(engine, path) {
        Ok(()) => (stats, true),
        Err(e) => {
            eprintln!("error: cannot write state {}: {e}", path.display());
            (stats, false)
        }
    }
}

/// Writes the summary (if asked) and says how many records were invalid; the exit status.
pub fn finish_report(stats: &crate::engine::Stats, summary: Option<&std::path::Path>) -> u8 {
    let mut status = 0;
    if let Some(path) = summary {
        if let Err(e) = std::fs::write(path, stats.to_json() + "\n") {
            eprintln!("error: cannot write summary {}: {e}", path.display());
            status = EXIT_ERROR;
        }
    }
    if stats.invalid > 0 {
        eprintln!("{} invalid record(s) skipped", stats.invalid);
    }
    status
}

/// The reading side of a run: the adapter and where its records go.
struct Runner<'e, 'r, W: Write> {
    adapter: Adapter,
    engine: &'e mut Engine<'r>,
    sink: &'e mut Output<W>,
    /// The name of the input being read, shared by its records' origins.
    file: Option<Arc<str>>,
    progress: super::stats::Progress,
}

impl<W: Write> Runner<'_, '_, W> {
    /// Tells the engine where the next record comes from.
    fn locate(&mut self, name: &str, place: Place) {
        if self.file.as_deref() != Some(name) {
            self.file = Some(Arc::from(name));
        }
        let at = match place {
            Place::Line(n) => Some(crate::alert::OriginPlace::Line(n)),
            Place::Record(n) => Some(crate::alert::OriginPlace::Record(n)),
            Place::Position(_) => None,
        };
        let origin = at
            .zip(self.file.clone())
            .map(|(at, file)| crate::alert::Origin { file, at });
        self.engine.set_origin(origin);
    }

    /// A record from the parallel reader: a line already matched by a worker goes to the
    /// engine without being read again; anything else as in [`Runner::handle`].
    fn handle_entry(&mut self, data: &[u8], e: super::parallel::Entry) -> bool {
        let before = self.engine.stats().events;
        let bytes = match &e.owned {
            super::parallel::Owned::Line(r) => r.len() as u64 + 1,
            super::parallel::Owned::TooLong(n) => *n as u64 + 1,
            super::parallel::Owned::Record(_) => EVTX_RECORD_BYTES,
        };
        let name = e.name.clone();
        let go = self.entry(data, e);
        self.counted(&name, bytes, before);
        go
    }

    /// Counts a record of `name` for the table and the progress bar.
    fn counted(&mut self, name: &str, bytes: u64, events_before: u64) {
        let made = self.engine.stats().events - events_before;
        if let Some(f) = &self.file {
            if &**f == name {
                self.sink.counts.record(f, made);
            }
        }
        self.progress.advance(bytes, made);
    }

    fn entry(&mut self, data: &[u8], e: super::parallel::Entry) -> bool {
        use super::parallel::Owned;
        self.locate(&e.name, e.place);
        match (e.owned, e.detected) {
            (Owned::Line(range), Some(d)) => {
                let bytes = &data[range];
                let taken = self.engine.process_detected(bytes, d, self.sink);
                match self.plain(&e.name, e.place, taken) {
                    Some(go) => go,
                    None => self.handle_adapter(&e.name, e.place, bytes),
                }
            }
            (Owned::Line(range), None) => {
                self.handle_item(&e.name, e.place, Item::Line(&data[range]))
            }
            (Owned::TooLong(n), _) => self.handle_item(&e.name, e.place, Item::TooLong(n)),
            (Owned::Record(o), _) => self.handle_item(&e.name, e.place, Item::Record(o)),
        }
    }

    /// Processes one record; reports invalid ones. Returns false when output failed and
    /// reading should stop.
    fn handle(&mut self, name: &str, place: Place, item: Item<'_>) -> bool {
        let before = self.engine.stats().events;
        let bytes = match &item {
            Item::Line(b) => b.len() as u64 + 1,
            Item::TooLong(n) => *n as u64 + 1,
            Item::Record(_) => EVTX_RECORD_BYTES,
        };
        let go = self.handle_item(name, place, item);
        self.counted(name, bytes, before);
        go
    }

    fn handle_item(&mut self, name: &str, place: Place, item: Item<'_>) -> bool {
        self.locate(name, place);
        let fed = match item {
            Item::Line(bytes) => feed_line(self.engine, &mut self.adapter, bytes, self.sink),
            item => {
                let (outcome, line) = input::outcome(&mut self.adapter, item);
                feed_outcome(self.engine, outcome, line, self.sink)
            }
        };
        if let Err(message) = fed {
            input::report_invalid(
                name,
                place,
                &message.to_string(),
                self.engine.stats().invalid,
            );
        }
        self.sink.error.is_none()
    }

    /// Accounts for a line the engine's session fast path took: `Some(keep going)`, or
    /// `None` when the line is another shape for the adapter to read.
    fn plain(&mut self, name: &str, place: Place, taken: Result<bool, EventError>) -> Option<bool> {
        match taken {
            Ok(true) => self.adapter.count_plain(true),
            Ok(false) => return None,
            Err(e) => {
                self.adapter.count_plain(false);
                input::report_invalid(name, place, &e.to_string(), self.engine.stats().invalid);
            }
        }
        Some(self.sink.error.is_none())
    }

    /// A line the parallel reader's detector found not to be a plain session event.
    fn handle_adapter(&mut self, name: &str, place: Place, line: &[u8]) -> bool {
        let outcome = self.adapter.line(line);
        if let Err(message) = feed_outcome(self.engine, outcome, Some(line), self.sink) {
            input::report_invalid(
                name,
                place,
                &message.to_string(),
                self.engine.stats().invalid,
            );
        }
        self.sink.error.is_none()
    }
}

/// A record read on the reader thread.
enum Owned {
    Line(Vec<u8>),
    TooLong(usize),
    Record(Outcome),
}

enum Message {
    Item(Arc<str>, Place, Owned),
    Status(u8),
    Done,
    Signal(i32),
}

/// On live input, the longest wall time an alert is held for ordering.
const MAX_HOLD: Duration = Duration::from_millis(100);

/// On live input, the most alerts held for ordering before they are written.
const MAX_HELD: usize = 10_000;

/// When a live stream's held alerts are due: alerts of one event time wait for time to
/// move on (so that ties come out in rule order), but on live input at most [`MAX_HOLD`]
/// of wall time and at most [`MAX_HELD`] alerts, so that a stream whose events share one
/// timestamp still produces output and holds bounded memory. The tie order then holds
/// within each written batch.
#[derive(Debug, Default)]
struct HoldBound {
    since: Option<Instant>,
}

impl HoldBound {
    /// After a record: are the `held` alerts due at `now`?
    fn due(&mut self, held: usize, now: Instant) -> bool {
        if held == 0 {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert(now);
        held > MAX_HELD || now.duration_since(since) >= MAX_HOLD
    }

    /// How long to wait for the next record before the held alerts are due.
    fn wait(&self, now: Instant) -> Option<Duration> {
        self.since
            .map(|since| MAX_HOLD.saturating_sub(now.duration_since(since)))
    }

    fn written(&mut self) {
        self.since = None;
    }
}

/// Reads the inputs on a thread. On live input (`live`) the alerts held for ordering are
/// bounded in time and number ([`HoldBound`]), so a live stream sees its alerts at once;
/// file input is never flushed by the clock (its output is a function of the input). With
/// a state file SIGINT/SIGTERM stop the run between records (even while waiting on stdin)
/// so that the state still gets written.
fn read_threaded(
    inputs: Vec<Option<PathBuf>>,
    format: Format,
    max_line: usize,
    runner: &mut Runner<'_, '_, impl Write>,
    watch_signals: bool,
    live: bool,
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
            let status =
                input::read_input(input.as_deref(), format, max_line, &mut |n, place, item| {
                    let n = name.get_or_insert_with(|| Arc::from(n)).clone();
                    let owned = match item {
                        Item::Line(b) => Owned::Line(b.to_vec()),
                        Item::TooLong(len) => Owned::TooLong(len),
                        Item::Record(o) => Owned::Record(o),
                    };
                    tx.send(Message::Item(n, place, owned)).is_ok()
                });
            if tx.send(Message::Status(status)).is_err() {
                return;
            }
        }
        let _ = tx.send(Message::Done);
    });
    let mut status = 0u8;
    let mut bound = HoldBound::default();
    loop {
        let wait = bound.wait(Instant::now()).filter(|_| live);
        let msg = match wait {
            Some(wait) => match rx.recv_timeout(wait) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    runner.engine.flush(runner.sink);
                    bound.written();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        match msg {
            Message::Item(name, place, owned) => {
                let go = match owned {
                    Owned::Line(b) => runner.handle(&name, place, Item::Line(&b)),
                    Owned::TooLong(n) => runner.handle(&name, place, Item::TooLong(n)),
                    Owned::Record(o) => runner.handle(&name, place, Item::Record(o)),
                };
                if !go {
                    break;
                }
                if live && bound.due(runner.engine.held(), Instant::now()) {
                    runner.engine.flush(runner.sink);
                    bound.written();
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
    let text = match crate::file::read_text_bounded(path, crate::file::MAX_STATE_FILE) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(()),
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

/// The file a checkpoint is written to before it is renamed over `path`.
fn temporary(path: &std::path::Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Can the checkpoint be written at `path`? Creates (and removes) its temporary file, so
/// that a missing directory or a read-only place fails the run before input is read.
fn probe_writable(path: &std::path::Path) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(std::io::Error::other("not a regular file"));
    }
    let tmp = temporary(path);
    std::fs::File::create(&tmp)?;
    std::fs::remove_file(&tmp)
}

/// Writes the checkpoint next to `path`, then renames it over `path` (atomic on POSIX).
fn save_state(engine: &Engine<'_>, path: &std::path::Path) -> std::io::Result<()> {
    let tmp = temporary(path);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(engine.checkpoint().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_alerts_are_due_after_the_hold_time_or_past_the_count() {
        let t0 = Instant::now();
        let mut b = HoldBound::default();
        assert!(!b.due(0, t0), "nothing held");
        assert_eq!(b.wait(t0), None, "nothing to wait for");
        assert!(!b.due(3, t0));
        assert_eq!(
            b.wait(t0 + Duration::from_millis(30)),
            Some(Duration::from_millis(70))
        );
        assert!(!b.due(5, t0 + Duration::from_millis(99)));
        assert!(b.due(5, t0 + MAX_HOLD), "held for the longest wall time");
        b.written();
        let t1 = t0 + Duration::from_millis(200);
        assert!(!b.due(MAX_HELD, t1), "the clock restarts after a write");
        assert!(b.due(MAX_HELD + 1, t1), "more than the most alerts held");
        b.written();
        assert!(!b.due(0, t1));
        assert_eq!(b.wait(t1), None);
    }
}
