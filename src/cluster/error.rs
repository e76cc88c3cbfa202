//! What can go wrong in a cluster run, with the messages the CLI prints.

use super::nats::NatsError;
use crate::correlate::SnapshotError;

/// Why a cluster run cannot start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A hostfile line that is not `host:port`.
    #[error("{file}:{line}: expected `host:port`, found `{text}`")]
    HostfileLine {
        /// The hostfile.
        file: String,
        /// 1-based line.
        line: usize,
        /// What it holds.
        text: String,
    },
    /// Fewer addresses than processes.
    #[error("{file}: {found} address(es) for {processes} processes")]
    TooFewAddresses {
        /// The hostfile.
        file: String,
        /// Addresses in it.
        found: usize,
        /// `-n`.
        processes: usize,
    },
    /// `-p` not below `-n`.
    #[error("process index {process} is not below the process count {processes}")]
    ProcessIndex {
        /// `-p`.
        process: usize,
        /// `-n`.
        processes: usize,
    },
    /// A partition file cannot be opened.
    #[error("cannot read {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Reading a partition file failed.
    #[error("{name}: read error: {source}")]
    Read {
        /// The partition.
        name: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A NATS stream or partition cannot be reached or read.
    #[error("{name}: {source}")]
    Nats {
        /// The stream or partition (`url/stream.p.N`).
        name: String,
        /// What the server or connection said.
        source: NatsError,
    },
    /// A checkpoint file cannot be read or is not a checkpoint.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The checkpoint was taken with another number of partitions.
    #[error("{dir}: the checkpoint has {found} partitions, this run {partitions}")]
    CheckpointPartitions {
        /// The checkpoint folder.
        dir: String,
        /// Partitions in the checkpoint.
        found: u32,
        /// Partitions of this run.
        partitions: u32,
    },
    /// `--resume` without `--checkpoint-dir`.
    #[error("resuming needs a checkpoint folder")]
    NoCheckpointDir,
    /// The output of a resumed run holds fewer alerts than were written before the
    /// checkpoint.
    #[error(
        "the output holds {found} alerts, fewer than the {before} written before the checkpoint: it is not the output of the interrupted run"
    )]
    OutputTooShort {
        /// Alerts in the output.
        found: u64,
        /// Alerts before the checkpoint.
        before: u64,
    },
    /// A worker's share of a checkpoint cannot be restored.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A process cannot join the cluster.
    #[error("process {process} cannot join the cluster at {address}: {message}")]
    Join {
        /// This process.
        process: usize,
        /// Its address.
        address: String,
        /// timely's error.
        message: String,
    },
    /// Not every process connected in time.
    #[error(
        "process {process} could not connect to every process within {seconds} s ({addresses}): are all {count} processes started, with the same hostfile?"
    )]
    ConnectTimeout {
        /// This process.
        process: usize,
        /// `--connect-timeout`.
        seconds: u64,
        /// Every address.
        addresses: String,
        /// How many processes.
        count: usize,
    },
    /// A worker's correlation state cannot be written as JSON (the checkpoint is then
    /// left incomplete).
    #[error("cannot snapshot correlation state: {0}")]
    SnapshotWrite(serde_json::Error),
    /// timely's workers failed, or several workers reported errors (one per line).
    #[error("{0}")]
    Workers(String),
}
