//! Partitioned inputs: each partition is read in its own order, by the worker that owns it
//! (partition `p` belongs to worker `p mod workers`).

use crate::ingest::{Line, LineReader};
use std::io::BufReader;
use std::path::PathBuf;

/// One record of a partition.
pub enum Item {
    /// A line (one JSON record).
    Line(Vec<u8>),
    /// A line longer than the limit (its length).
    TooLong(usize),
}

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Status {
    /// Records were appended (maybe none); more may come.
    More,
    /// The partition ended.
    End,
}

/// A partition's records: (place in the partition, record).
pub trait Partition: Send {
    /// Its name, for diagnostics.
    fn name(&self) -> &str;
    /// Appends up to `max` records to `out`.
    fn read(&mut self, max: usize, out: &mut Vec<(u64, Item)>) -> Result<Status, String>;
}

/// Where the partitions come from.
#[derive(Debug, Clone)]
pub enum Spec {
    /// One file per partition, in order.
    Files(Vec<PathBuf>),
}

impl Spec {
    /// Number of partitions.
    pub fn count(&self) -> u32 {
        match self {
            Spec::Files(f) => f.len() as u32,
        }
    }

    /// Opens partition `p`.
    pub fn open(&self, p: u32, max_line: usize) -> Result<Box<dyn Partition>, String> {
        match self {
            Spec::Files(files) => {
                let path = &files[p as usize];
                let f = std::fs::File::open(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Ok(Box::new(FilePartition {
                    name: path.display().to_string(),
                    lines: LineReader::new(BufReader::with_capacity(1 << 16, f), max_line),
                }))
            }
        }
    }
}

struct FilePartition {
    name: String,
    lines: LineReader<BufReader<std::fs::File>>,
}

impl Partition for FilePartition {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, max: usize, out: &mut Vec<(u64, Item)>) -> Result<Status, String> {
        for _ in 0..max {
            match self.lines.next_line() {
                Ok(Some((n, Line::Text(b)))) => out.push((n, Item::Line(b.to_vec()))),
                Ok(Some((n, Line::TooLong(len)))) => out.push((n, Item::TooLong(len))),
                Ok(None) => return Ok(Status::End),
                Err(e) => return Err(format!("{}: read error: {e}", self.name)),
            }
        }
        Ok(Status::More)
    }
}
