//! Several event files as one stream in event-time order (an external merge sort): every
//! record of every file is read once to learn its time, held until a memory budget is
//! reached, then written sorted to a run file in a temporary folder; the runs and what is
//! still held are merged by (time, file in argument order, position in the file). So no
//! record is late because of the order of the files, or of its place in its file.
//!
//! A record without a time (or one that cannot be read) keeps its place after the record
//! before it in its file. Decoded EVTX records are held in memory (an EVTX file is decoded
//! whole anyway); lines are what the budget spills.

use super::input::{self, Item, Place};
use crate::source::{Adapter, Format, Outcome};
use crate::time::Timestamp;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One record with where it sorts.
struct Entry {
    ts: i64,
    file: u32,
    seq: u64,
    place: Place,
    body: Body,
}

enum Body {
    Line(Vec<u8>),
    TooLong(usize),
    Record(Outcome),
}

impl Entry {
    fn key(&self) -> (i64, u32, u64) {
        (self.ts, self.file, self.seq)
    }

    /// Bytes it holds, roughly (what the budget counts).
    fn weight(&self) -> usize {
        64 + match &self.body {
            Body::Line(b) => b.len(),
            Body::TooLong(_) => 0,
            Body::Record(_) => 1024,
        }
    }
}

/// The time a record sorts by: a session event's `timestamp`, a Windows record's
/// `TimeCreated`.
fn time_of(outcome: &Outcome) -> Option<i64> {
    let v = match outcome {
        Outcome::Event(r) => r.event.get("timestamp"),
        Outcome::Skipped {
            windows: Some(w), ..
        } => w.get("TimeCreated"),
        _ => None,
    }?;
    Timestamp::from_json(v).map(|t| t.0)
}

/// Sorted runs written to a temporary folder, removed when dropped.
struct Runs {
    dir: PathBuf,
    files: Vec<PathBuf>,
    /// Run files made so far (their names).
    made: usize,
}

impl Drop for Runs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Runs {
    fn new(base: &Path) -> Runs {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Runs {
            dir: base.join(format!("session-sigma-sort-{}-{n}", std::process::id())),
            files: Vec::new(),
            made: 0,
        }
    }

    /// Writes `entries` (sorted) as one more run; past [`MAX_RUNS`] runs, they are merged
    /// into one first (so the final merge never holds more files open than that).
    fn spill(&mut self, entries: &[Entry]) -> std::io::Result<()> {
        if self.files.len() >= MAX_RUNS {
            let sources = self
                .files
                .iter()
                .map(|p| Ok(Source::Run(BufReader::new(std::fs::File::open(p)?))))
                .collect::<std::io::Result<Vec<_>>>()?;
            let mut w = self.create()?;
            let mut failed = None;
            merge(sources, &mut |e| match write_entry(&mut w.0, &e) {
                Ok(()) => true,
                Err(err) => {
                    failed = Some(err);
                    false
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            w.0.flush()?;
            for p in self.files.drain(..) {
                let _ = std::fs::remove_file(p);
            }
            self.files.push(w.1);
        }
        let mut w = self.create()?;
        for e in entries {
            write_entry(&mut w.0, e)?;
        }
        w.0.flush()?;
        self.files.push(w.1);
        Ok(())
    }

    /// A new run file.
    fn create(&mut self) -> std::io::Result<(BufWriter<std::fs::File>, PathBuf)> {
        std::fs::create_dir_all(&self.dir)?;
        self.made += 1;
        let path = self.dir.join(format!("run-{}", self.made));
        Ok((BufWriter::new(std::fs::File::create(&path)?), path))
    }
}

/// Most run files before they are merged into one.
const MAX_RUNS: usize = 64;

/// Merges sorted sources by key, handing each entry to `f` (false: stop).
fn merge(mut sources: Vec<Source>, f: &mut dyn FnMut(Entry) -> bool) -> std::io::Result<()> {
    let mut heads: Vec<Option<Entry>> = Vec::with_capacity(sources.len());
    let mut heap = BinaryHeap::new();
    for (k, s) in sources.iter_mut().enumerate() {
        let e = s.next()?;
        if let Some(e) = &e {
            heap.push(Reverse((e.key(), k)));
        }
        heads.push(e);
    }
    while let Some(Reverse((_, k))) = heap.pop() {
        let Some(e) = heads[k].take() else { continue };
        if !f(e) {
            break;
        }
        let next = sources[k].next()?;
        if let Some(n) = &next {
            heap.push(Reverse((n.key(), k)));
        }
        heads[k] = next;
    }
    Ok(())
}

fn write_entry(w: &mut impl Write, e: &Entry) -> std::io::Result<()> {
    w.write_all(&e.ts.to_le_bytes())?;
    w.write_all(&e.file.to_le_bytes())?;
    w.write_all(&e.seq.to_le_bytes())?;
    let (tag, n) = match e.place {
        Place::Line(n) => (0u8, n),
        Place::Record(n) => (1, n),
        Place::Position(n) => (2, n),
    };
    w.write_all(&[tag])?;
    w.write_all(&n.to_le_bytes())?;
    match &e.body {
        Body::Line(b) => {
            w.write_all(&[0])?;
            w.write_all(&(b.len() as u64).to_le_bytes())?;
            w.write_all(b)
        }
        Body::TooLong(n) => {
            w.write_all(&[1])?;
            w.write_all(&(*n as u64).to_le_bytes())
        }
        // Never spilled: records stay in memory.
        Body::Record(_) => Err(std::io::Error::other("an EVTX record cannot be spilled")),
    }
}

fn read_entry(r: &mut impl Read) -> std::io::Result<Option<Entry>> {
    let mut b8 = [0u8; 8];
    match r.read_exact(&mut b8) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let ts = i64::from_le_bytes(b8);
    let mut b4 = [0u8; 4];
    r.read_exact(&mut b4)?;
    let file = u32::from_le_bytes(b4);
    r.read_exact(&mut b8)?;
    let seq = u64::from_le_bytes(b8);
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag)?;
    r.read_exact(&mut b8)?;
    let n = u64::from_le_bytes(b8);
    let place = match tag[0] {
        0 => Place::Line(n),
        1 => Place::Record(n),
        _ => Place::Position(n),
    };
    r.read_exact(&mut tag)?;
    r.read_exact(&mut b8)?;
    let len = u64::from_le_bytes(b8);
    let body = if tag[0] == 0 {
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        r.read_exact(&mut bytes)?;
        Body::Line(bytes)
    } else {
        Body::TooLong(usize::try_from(len).unwrap_or(usize::MAX))
    };
    Ok(Some(Entry {
        ts,
        file,
        seq,
        place,
        body,
    }))
}

/// A sorted source of entries for the merge.
enum Source {
    Memory(std::vec::IntoIter<Entry>),
    Run(BufReader<std::fs::File>),
}

impl Source {
    fn next(&mut self) -> std::io::Result<Option<Entry>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::Run(r) => read_entry(r),
        }
    }
}

/// Reads `files` as one stream in event-time order, handing each record to `f` as
/// `read_input` would (`f` returns false to stop). `budget` bounds the bytes of lines held
/// before a sorted run is written under `tmp`. Returns the exit status contribution.
pub fn read(
    files: &[PathBuf],
    format: Format,
    max_line: usize,
    budget: usize,
    tmp: &Path,
    read_bytes: &mut dyn FnMut(u64),
    f: &mut dyn FnMut(&str, Place, Item<'_>) -> bool,
) -> u8 {
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut status = 0u8;
    let mut held: Vec<Entry> = Vec::new();
    let mut records: Vec<Entry> = Vec::new();
    let mut held_bytes = 0usize;
    let mut runs = Runs::new(tmp);
    // Reads every record once for its time (an adapter of its own: the run's adapter
    // counts each record when it is processed).
    let mut timing = Adapter::new(format, None);
    for (i, path) in files.iter().enumerate() {
        let file = u32::try_from(i).unwrap_or(u32::MAX);
        let mut seq = 0u64;
        let mut last = i64::MIN;
        let mut spill_error = None;
        status = status.max(input::read_input(
            Some(path),
            format,
            max_line,
            &mut |_, place, item| {
                seq += 1;
                read_bytes(match &item {
                    Item::Line(b) => b.len() as u64 + 1,
                    Item::TooLong(n) => *n as u64 + 1,
                    Item::Record(_) => super::run::EVTX_RECORD_BYTES,
                });
                let (ts, body) = match item {
                    Item::Line(b) => (time_of(&timing.line(b)), Body::Line(b.to_vec())),
                    Item::TooLong(n) => (None, Body::TooLong(n)),
                    Item::Record(o) => (time_of(&o), Body::Record(o)),
                };
                last = ts.unwrap_or(last);
                let e = Entry {
                    ts: last,
                    file,
                    seq,
                    place,
                    body,
                };
                if matches!(e.body, Body::Record(_)) {
                    records.push(e);
                    return true;
                }
                held_bytes += e.weight();
                held.push(e);
                if held_bytes > budget {
                    held.sort_by_key(Entry::key);
                    if let Err(e) = runs.spill(&held) {
                        spill_error = Some(e);
                        return false;
                    }
                    held.clear();
                    held_bytes = 0;
                }
                true
            },
        ));
        if let Some(e) = spill_error {
            eprintln!(
                "error: cannot write a sort run under {}: {e} (--sort-memory raises the budget)",
                runs.dir.display()
            );
            return super::EXIT_ERROR;
        }
    }
    held.sort_by_key(Entry::key);
    records.sort_by_key(Entry::key);
    let mut sources = vec![
        Source::Memory(held.into_iter()),
        Source::Memory(records.into_iter()),
    ];
    for p in &runs.files {
        match std::fs::File::open(p) {
            Ok(file) => sources.push(Source::Run(BufReader::with_capacity(1 << 16, file))),
            Err(e) => {
                eprintln!("error: cannot read the sort run {}: {e}", p.display());
                return super::EXIT_ERROR;
            }
        }
    }
    let result = merge(sources, &mut |e| {
        let name = names.get(e.file as usize).map_or("", String::as_str);
        match e.body {
            Body::Line(b) => f(name, e.place, Item::Line(&b)),
            Body::TooLong(n) => f(name, e.place, Item::TooLong(n)),
            Body::Record(o) => f(name, e.place, Item::Record(o)),
        }
    });
    if let Err(e) = result {
        eprintln!("error: reading a sort run: {e}");
        return super::EXIT_ERROR;
    }
    status
}

/// Reads the expanded inputs as `run` does on one thread: several files (or a folder) as one
/// event-time stream, else each input in turn (stdin in arrival order).
pub fn read_expanded(
    expanded: &super::files::Expanded,
    format: Format,
    max_line: usize,
    budget: usize,
    f: &mut dyn FnMut(&str, Place, Item<'_>) -> bool,
) -> u8 {
    let files: Option<Vec<PathBuf>> = expanded.inputs.iter().cloned().collect();
    match files {
        Some(files) if files.len() > 1 || expanded.had_directory => read(
            &files,
            format,
            max_line,
            budget,
            &std::env::temp_dir(),
            &mut |_| {},
            f,
        ),
        _ => {
            let mut status = 0;
            for i in &expanded.inputs {
                status = status.max(input::read_input(i.as_deref(), format, max_line, f));
            }
            status
        }
    }
}
