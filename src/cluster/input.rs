//! Partitioned inputs: each partition is read in its own order, by the worker that owns it
//! (partition `p` belongs to worker `p mod workers`).

use super::ClusterError;
use crate::event::lines::{Line, LineReader};
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
    fn read(&mut self, max: usize, out: &mut Vec<(u64, Item)>) -> Result<Status, ClusterError>;
}

/// Where the partitions come from.
#[derive(Debug, Clone)]
pub enum Spec {
    /// One file per partition, in order.
    Files(Vec<PathBuf>),
    /// A JetStream stream whose subject `<stream>.p.<n>` is partition `n`; each partition
    /// is read from its first message to the last one stored when the run starts.
    Nats {
        /// Server address (`nats://host:port` or `host:port`).
        url: String,
        /// Stream name.
        stream: String,
        /// Number of partitions.
        partitions: u32,
        /// Keep reading new messages until stopped (else end at the last message stored
        /// when the run starts).
        follow: bool,
    },
}

impl Spec {
    /// Number of partitions.
    pub fn count(&self) -> u32 {
        match self {
            Spec::Files(f) => f.len() as u32,
            Spec::Nats { partitions, .. } => *partitions,
        }
    }

    /// Checks that every partition can be opened, before any process connects: a missing
    /// file or stream stops the run at once instead of leaving a partition out.
    pub fn check(&self, max_line: usize) -> Result<(), ClusterError> {
        match self {
            Spec::Files(_) => {
                (0..self.count()).try_for_each(|p| self.open(p, max_line, None).map(|_| ()))
            }
            Spec::Nats {
                url,
                stream,
                partitions,
                ..
            } => {
                let fail = |source| ClusterError::Nats {
                    name: format!("{url}/{stream}"),
                    source,
                };
                let mut client =
                    super::nats::Client::connect(url, std::time::Duration::from_secs(5))
                        .map_err(fail)?;
                (0..*partitions)
                    .try_for_each(|p| client.last_seq(stream, p).map(|_| ()).map_err(fail))
            }
        }
    }

    /// Opens partition `p`, at the place a checkpoint says (`from`).
    pub fn open(
        &self,
        p: u32,
        max_line: usize,
        from: Option<&super::checkpoint::PartState>,
    ) -> Result<Box<dyn Partition>, ClusterError> {
        if from.is_some_and(|f| f.ended) {
            return Ok(Box::new(Ended(format!("partition {p}"))));
        }
        let offset = from.map_or(0, |f| f.offset);
        match self {
            Spec::Files(files) => {
                let path = &files[p as usize];
                let f = std::fs::File::open(path).map_err(|source| ClusterError::Open {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok(Box::new(FilePartition {
                    name: path.display().to_string(),
                    lines: LineReader::new(BufReader::with_capacity(1 << 16, f), max_line),
                    skip_below: offset,
                }))
            }
            Spec::Nats {
                url,
                stream,
                follow,
                ..
            } => {
                let name = format!("{url}/{stream}.p.{p}");
                let fail = |source| ClusterError::Nats {
                    name: name.clone(),
                    source,
                };
                let mut client =
                    super::nats::Client::connect(url, std::time::Duration::from_secs(5))
                        .map_err(fail)?;
                let last = if *follow {
                    u64::MAX
                } else {
                    client.last_seq(stream, p).map_err(fail)?
                };
                let reader = super::nats::PartitionReader::open(url, stream, p, offset.max(1))
                    .map_err(fail)?;
                Ok(Box::new(NatsPartition {
                    name,
                    reader,
                    last,
                    read: offset.saturating_sub(1),
                    max_line,
                    batch: Vec::new(),
                }))
            }
        }
    }
}

/// A JetStream partition up to the last message stored when it was opened.
struct NatsPartition {
    name: String,
    reader: super::nats::PartitionReader,
    /// Last stream sequence to read.
    last: u64,
    /// Last stream sequence read.
    read: u64,
    max_line: usize,
    batch: Vec<(u64, Vec<u8>)>,
}

impl Partition for NatsPartition {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, max: usize, out: &mut Vec<(u64, Item)>) -> Result<Status, ClusterError> {
        if self.read >= self.last {
            return Ok(Status::End);
        }
        self.batch.clear();
        self.reader
            .fetch(max, std::time::Duration::from_millis(20), &mut self.batch)
            .map_err(|source| ClusterError::Nats {
                name: self.name.clone(),
                source,
            })?;
        for (seq, payload) in self.batch.drain(..) {
            if seq > self.last {
                self.read = self.last;
                break;
            }
            self.read = seq;
            out.push(if payload.len() > self.max_line {
                (seq, Item::TooLong(payload.len()))
            } else {
                (seq, Item::Line(payload))
            });
        }
        Ok(if self.read >= self.last {
            Status::End
        } else {
            Status::More
        })
    }
}

struct FilePartition {
    name: String,
    lines: LineReader<BufReader<std::fs::File>>,
    /// Lines before this number were read before the checkpoint resumed from.
    skip_below: u64,
}

/// A partition that ended before the checkpoint resumed from.
struct Ended(String);

impl Partition for Ended {
    fn name(&self) -> &str {
        &self.0
    }

    fn read(&mut self, _: usize, _: &mut Vec<(u64, Item)>) -> Result<Status, ClusterError> {
        Ok(Status::End)
    }
}

impl Partition for FilePartition {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, max: usize, out: &mut Vec<(u64, Item)>) -> Result<Status, ClusterError> {
        for _ in 0..max {
            match self.lines.next_line() {
                Ok(Some((n, _))) if n < self.skip_below => {}
                Ok(Some((n, Line::Text(b)))) => out.push((n, Item::Line(b.to_vec()))),
                Ok(Some((n, Line::TooLong(len)))) => out.push((n, Item::TooLong(len))),
                Ok(None) => return Ok(Status::End),
                Err(source) => {
                    return Err(ClusterError::Read {
                        name: self.name.clone(),
                        source,
                    });
                }
            }
        }
        Ok(Status::More)
    }
}
