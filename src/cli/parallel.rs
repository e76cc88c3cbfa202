//! `run --threads N`: lines are read on one thread, read and matched against the detection
//! rules on N worker threads (a batch of lines each), and handed to the engine in input
//! order on the main thread, which does what must see events in order (time, lateness,
//! correlations, alert order). The output is therefore exactly that of `--threads 1`.

use super::input::{self, Item, Place};
use crate::compile::RuleSet;
use crate::engine::detector::{Detected, Detector};
use crate::source::Format;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

/// Lines per batch: large enough to amortise the hand-offs, small enough to keep memory low.
const BATCH: usize = 512;

/// A record read on the reader thread.
pub enum Owned {
    /// A line: its bytes in the batch's buffer.
    Line(std::ops::Range<usize>),
    TooLong(usize),
    Record(crate::source::Outcome),
}

/// One record of a batch, with what a worker found in it (plain session lines only).
pub struct Entry {
    pub name: Arc<str>,
    pub place: Place,
    pub owned: Owned,
    pub detected: Option<Detected>,
}

/// Lines are copied into one buffer per batch, not one allocation per line.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    entries: Vec<Entry>,
}

/// Reads `inputs` with `threads` workers and calls `handle` on every entry in input order;
/// `handle` returns false to stop. Returns the exit status contribution of the inputs.
pub fn read(
    set: &RuleSet,
    inputs: Vec<Option<PathBuf>>,
    format: Format,
    max_line: usize,
    threads: usize,
    handle: &mut dyn FnMut(&[u8], Entry) -> bool,
) -> u8 {
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Batch)>(threads * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, Batch)>(threads * 2);
    let (status_tx, status_rx) = mpsc::channel::<u8>();
    // Handled batches go back to the reader, emptied: their buffers are reused (fresh ones
    // cost page faults and regrowth, 10% of a two-thread run).
    let (recycle_tx, recycle_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || detect_batches(set, format, threads, &work_rx, &done_tx));
        }
        drop(done_tx);
        // Only the workers hold the queue now: when they stop, the reader stops too.
        drop(work_rx);
        scope.spawn(move || {
            read_batches(&inputs, format, max_line, &work_tx, &status_tx, &recycle_rx)
        });
        in_input_order(&done_rx, handle, &recycle_tx);
        drop(done_rx);
    });
    status_rx.try_iter().fold(0, u8::max)
}

/// A worker: matches the plain session lines of each batch it takes.
fn detect_batches(
    set: &RuleSet,
    format: Format,
    threads: usize,
    work: &Mutex<mpsc::Receiver<(u64, Batch)>>,
    done: &mpsc::SyncSender<(u64, Batch)>,
) {
    // The engine partitions correlation state over as many shards as there are workers.
    let mut detector = Detector::new(set).routing_for_shards(threads);
    loop {
        let job = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((n, mut batch)) = job else { return };
        for e in &mut batch.entries {
            if let Owned::Line(range) = &e.owned {
                let bytes = &batch.data[range.clone()];
                if crate::source::detect::may_be_plain_session(format, bytes) {
                    e.detected = Some(detector.detect_line(bytes));
                }
            }
        }
        if done.send((n, batch)).is_err() {
            return;
        }
    }
}

/// The reader: cuts the inputs into numbered batches for the workers; each input's exit
/// status goes to `status`.
fn read_batches(
    inputs: &[Option<PathBuf>],
    format: Format,
    max_line: usize,
    work: &mpsc::SyncSender<(u64, Batch)>,
    status: &mpsc::Sender<u8>,
    recycled: &mpsc::Receiver<Batch>,
) {
    let mut n = 0u64;
    let mut batch = Batch::default();
    for input in inputs {
        let mut name: Option<Arc<str>> = None;
        let s = input::read_input(
            input.as_deref(),
            format,
            max_line,
            &mut |nm, place, item| {
                let nm = name.get_or_insert_with(|| Arc::from(nm)).clone();
                let owned = match item {
                    Item::Line(b) => {
                        let start = batch.data.len();
                        batch.data.extend_from_slice(b);
                        Owned::Line(start..batch.data.len())
                    }
                    Item::TooLong(len) => Owned::TooLong(len),
                    Item::Record(o) => Owned::Record(o),
                };
                batch.entries.push(Entry {
                    name: nm,
                    place,
                    owned,
                    detected: None,
                });
                if batch.entries.len() == BATCH {
                    // A new batch, when none came back yet, is sized as this one: not grown
                    // (and copied) from empty.
                    let empty = recycled.try_recv().unwrap_or_else(|_| Batch {
                        data: Vec::with_capacity(batch.data.len()),
                        entries: Vec::with_capacity(BATCH),
                    });
                    let full = std::mem::replace(&mut batch, empty);
                    if work.send((n, full)).is_err() {
                        return false;
                    }
                    n += 1;
                }
                true
            },
        );
        let _ = status.send(s);
    }
    if !batch.entries.is_empty() {
        let _ = work.send((n, batch));
    }
}

/// Hands the entries of finished batches to `handle` in input order (batches may finish
/// out of order), until the workers are done or `handle` says stop (output failed: the
/// caller then drops the results channel, which stops workers and reader).
fn in_input_order(
    done: &mpsc::Receiver<(u64, Batch)>,
    handle: &mut dyn FnMut(&[u8], Entry) -> bool,
    recycle: &mpsc::Sender<Batch>,
) {
    let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
    let mut next = 0u64;
    for (n, batch) in done.iter() {
        pending.insert(n, batch);
        while let Some(mut batch) = pending.remove(&next) {
            next += 1;
            for e in batch.entries.drain(..) {
                if !handle(&batch.data, e) {
                    return;
                }
            }
            batch.data.clear();
            // The reader may have finished: then the batch is simply dropped.
            let _ = recycle.send(batch);
        }
    }
}
