//! Checkpoints of a cluster run (timely has none; README "Cluster mode").
//!
//! A checkpoint is taken at an event-time boundary `T` (every `--checkpoint-every` of event
//! time). Because alerts are a function of the partitioned input, it needs no coordination
//! beyond the dataflow's own frontier:
//! - each correlator, when its input frontier passes `T`, has processed exactly the events
//!   before `T` and fired the deadlines before `T`: it snapshots its groups then;
//! - each partition records where to resume: the first record that is an in-order event at
//!   or after `T`, with the counters and newest time just before it (every event before it
//!   is older than `T` or late, so nothing buffered needs keeping);
//! - worker 0, when its frontier passes `T`, has written exactly the alerts before `T`:
//!   with all parts in, it writes them and then the manifest, and points `LATEST` at it.
//!
//! A restart (`--resume`) with any number of processes and threads loads the latest
//! complete checkpoint: partitions seek to their resume records and replay (events before
//! `T` only redo the lateness check), workers take the groups they now own from every
//! snapshot, and worker 0 skips the alerts the output file already holds after `T`.

use super::ClusterError;
use crate::correlate::CorrelatorSnapshot;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Checkpoint settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where checkpoints go (`ckpt-<tick>/` folders and a `LATEST` file).
    pub dir: PathBuf,
    /// Interval in ticks (seconds of event time).
    pub every: u64,
}

/// Where a partition resumes, and its counters just before.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartState {
    /// Place of the first record to read again (line number or stream sequence).
    pub offset: u64,
    /// The partition ended before the checkpoint: read nothing more.
    pub ended: bool,
    /// Input positions given before it.
    pub position: u64,
    /// Newest event time before it.
    pub max_seen: Option<crate::time::Timestamp>,
    /// Engine counters before it.
    pub events: u64,
    /// Engine counters before it.
    pub invalid: u64,
    /// Engine counters before it.
    pub late: u64,
    /// Engine counters before it.
    pub no_timestamp: u64,
    /// Engine counters before it.
    #[serde(default)]
    pub blank: u64,
    /// Adapter counters before it.
    pub records: u64,
    /// Adapter counters before it.
    pub adapter_events: u64,
    /// Adapter counters before it.
    pub adapter_invalid: u64,
    /// Skipped records by reason before it.
    pub skipped: Vec<(String, u64)>,
}

/// One worker's correlation state at a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerState {
    /// Earliest first in-order time over the partitions (`learning`).
    pub start: Option<crate::time::Timestamp>,
    /// The groups it held.
    pub correlator: CorrelatorSnapshot,
}

/// The manifest: written last, so a checkpoint without one is incomplete.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The boundary, in ticks.
    pub tick: u64,
    /// The boundary as a time.
    pub time: String,
    /// Partitions.
    pub partitions: u32,
    /// Workers that wrote a snapshot.
    pub workers: u64,
    /// Alerts written before the boundary.
    pub alerts: u64,
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Restored {
    /// The boundary, in ticks.
    pub tick: u64,
    /// Per partition, where to resume.
    pub parts: Vec<PartState>,
    /// Every worker's snapshot.
    pub workers: Vec<WorkerState>,
    /// Alerts written before the boundary.
    pub alerts: u64,
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn to_json<T: Serialize>(v: &T) -> std::io::Result<String> {
    serde_json::to_string(v).map_err(std::io::Error::other)
}

/// Writes checkpoint `tick`: parts, snapshots, then the manifest and `LATEST`; removes
/// checkpoints older than the previous one.
pub fn write(
    cfg: &Config,
    tick: u64,
    parts: &[PartState],
    workers: &[String],
    alerts: u64,
) -> std::io::Result<()> {
    let dir = cfg.dir.join(format!("ckpt-{tick}"));
    std::fs::create_dir_all(&dir)?;
    for (p, s) in parts.iter().enumerate() {
        write_atomic(&dir.join(format!("part-{p}.json")), &to_json(s)?)?;
    }
    for (w, json) in workers.iter().enumerate() {
        write_atomic(&dir.join(format!("worker-{w}.json")), json)?;
    }
    let manifest = Manifest {
        tick,
        time: super::clock::tick_start(tick).to_string(),
        partitions: parts.len() as u32,
        workers: workers.len() as u64,
        alerts,
    };
    write_atomic(&dir.join("MANIFEST"), &to_json(&manifest)?)?;
    let previous = std::fs::read_to_string(cfg.dir.join("LATEST")).ok();
    write_atomic(&cfg.dir.join("LATEST"), &format!("ckpt-{tick}\n"))?;
    // Keep this one and the one before it.
    let keep = previous.map(|p| p.trim().to_string());
    if let Ok(entries) = std::fs::read_dir(&cfg.dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("ckpt-")
                && name != format!("ckpt-{tick}")
                && Some(&name) != keep.as_ref()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

/// The latest complete checkpoint in `dir`, if any.
pub fn load_latest(dir: &Path, partitions: u32) -> Result<Option<Restored>, ClusterError> {
    let latest = match std::fs::read_to_string(dir.join("LATEST")) {
        Ok(t) => t.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ClusterError::Checkpoint {
                path: dir.join("LATEST").display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let ck = dir.join(&latest);
    let read = |name: &str| -> Result<String, ClusterError> {
        let path = ck.join(name);
        crate::file::read_text_bounded(&path, crate::file::MAX_STATE_FILE).map_err(|e| {
            ClusterError::Checkpoint {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })
    };
    let bad = |name: &str, e: serde_json::Error| ClusterError::Checkpoint {
        path: ck.join(name).display().to_string(),
        message: e.to_string(),
    };
    let manifest: Manifest =
        serde_json::from_str(&read("MANIFEST")?).map_err(|e| bad("MANIFEST", e))?;
    if manifest.partitions != partitions {
        return Err(ClusterError::CheckpointPartitions {
            dir: ck.display().to_string(),
            found: manifest.partitions,
            partitions,
        });
    }
    let mut parts = Vec::new();
    for p in 0..partitions {
        let name = format!("part-{p}.json");
        parts.push(serde_json::from_str(&read(&name)?).map_err(|e| bad(&name, e))?);
    }
    let mut workers = Vec::new();
    for w in 0..manifest.workers {
        let name = format!("worker-{w}.json");
        workers.push(serde_json::from_str(&read(&name)?).map_err(|e| bad(&name, e))?);
    }
    Ok(Some(Restored {
        tick: manifest.tick,
        parts,
        workers,
        alerts: manifest.alerts,
    }))
}
