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
//!
//! A worker's state is written incrementally: every `--checkpoint-full-every`-th part (and
//! the first of a run) is the whole state, the others only what changed since the worker's
//! previous part ([`CorrelatorDelta`]). Parts are files under `state/`, named by run, worker
//! and boundary; a manifest lists each worker's chain (a full part, then deltas, oldest
//! first), and loading applies the chain. Workers see the frontier pass boundaries at their
//! own pace, so a worker may have parts at boundaries another skipped: every part is
//! written, as a link of its chain, with the next checkpoint every worker has a part for.

use super::ClusterError;
use crate::correlate::{CorrelatorDelta, CorrelatorSnapshot};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Checkpoint settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where checkpoints go (`ckpt-<tick>/` folders and a `LATEST` file).
    pub dir: PathBuf,
    /// Interval in ticks (seconds of event time).
    pub every: u64,
    /// Every this many parts of a worker, the whole state (1: always).
    pub full_every: u32,
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

/// One worker's part of a checkpoint at boundary `tick`: its whole state, or what changed
/// since its previous part (at boundary `since`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerPart {
    /// The whole state.
    Full {
        /// The boundary.
        tick: u64,
        /// The state.
        state: WorkerState,
    },
    /// The changes since the part at `since`.
    Delta {
        /// The boundary.
        tick: u64,
        /// The boundary of the part it follows.
        since: u64,
        /// As in [`WorkerState`].
        start: Option<crate::time::Timestamp>,
        /// The changed groups.
        delta: CorrelatorDelta,
    },
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
    /// Per worker, its parts under `state/` (a full one, then deltas). Absent in the
    /// checkpoints of earlier versions, which hold `worker-<w>.json` (whole states).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<Vec<Vec<String>>>,
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

fn write_atomic(path: &Path, text: impl AsRef<[u8]>) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn to_json<T: Serialize>(v: &T) -> std::io::Result<String> {
    serde_json::to_string(v).map_err(std::io::Error::other)
}

/// Where parts go, under the checkpoint folder.
const STATE: &str = "state";

/// Writes a worker's part (JSON of a [`WorkerPart`], as bytes) of run `run` at boundary `tick`;
/// returns its name for the manifest's chain.
pub fn write_part(
    cfg: &Config,
    run: &str,
    worker: usize,
    tick: u64,
    json: &[u8],
) -> std::io::Result<String> {
    let dir = cfg.dir.join(STATE);
    std::fs::create_dir_all(&dir)?;
    let name = format!("{run}-w{worker}-{tick}.json");
    write_atomic(&dir.join(&name), json)?;
    Ok(name)
}

/// Writes checkpoint `tick`: partitions, then the manifest (with each worker's chain of
/// parts, written before) and `LATEST`; removes the checkpoints, and the parts, that
/// neither this one nor the one before it needs.
pub fn write(
    cfg: &Config,
    tick: u64,
    parts: &[PartState],
    chains: &[Vec<String>],
    alerts: u64,
) -> std::io::Result<()> {
    let dir = cfg.dir.join(format!("ckpt-{tick}"));
    std::fs::create_dir_all(&dir)?;
    for (p, s) in parts.iter().enumerate() {
        write_atomic(&dir.join(format!("part-{p}.json")), &to_json(s)?)?;
    }
    let manifest = Manifest {
        tick,
        time: super::clock::tick_start(tick).to_string(),
        partitions: parts.len() as u32,
        workers: chains.len() as u64,
        alerts,
        chains: Some(chains.to_vec()),
    };
    write_atomic(&dir.join("MANIFEST"), &to_json(&manifest)?)?;
    let previous = std::fs::read_to_string(cfg.dir.join("LATEST")).ok();
    write_atomic(&cfg.dir.join("LATEST"), format!("ckpt-{tick}\n"))?;
    // Keep this one and the one before it, and the parts their chains name.
    let this = format!("ckpt-{tick}");
    let keep = previous
        .map(|p| p.trim().to_string())
        .filter(|p| *p != this);
    let mut needed: std::collections::HashSet<String> = chains.iter().flatten().cloned().collect();
    if let Some(p) = &keep {
        let old = std::fs::read_to_string(cfg.dir.join(p).join("MANIFEST")).ok();
        if let Some(m) = old.and_then(|t| serde_json::from_str::<Manifest>(&t).ok()) {
            needed.extend(m.chains.into_iter().flatten().flatten());
        }
    }
    if let Ok(entries) = std::fs::read_dir(&cfg.dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("ckpt-") && name != this && Some(&name) != keep.as_ref() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    // Parts of later boundaries may belong to chains not complete yet: only older go.
    if let Ok(entries) = std::fs::read_dir(cfg.dir.join(STATE)) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let part_tick = name
                .strip_suffix(".json")
                .and_then(|n| n.rsplit('-').next())
                .and_then(|t| t.parse::<u64>().ok());
            if part_tick.is_some_and(|t| t <= tick) && !needed.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// A worker's state from its chain of parts: a full part, then deltas, each following the
/// one before it.
fn load_chain(dir: &Path, chain: &[String]) -> Result<WorkerState, ClusterError> {
    let mut state: Option<(u64, WorkerState)> = None;
    for name in chain {
        let path = dir.join(name);
        let err = |message: String| ClusterError::Checkpoint {
            path: path.display().to_string(),
            message,
        };
        let text = crate::file::read_text_bounded(&path, crate::file::MAX_STATE_FILE)
            .map_err(|e| err(e.to_string()))?;
        let part: WorkerPart = crate::correlate::event_text::from_json_tabled(&text)
            .map_err(|e| err(e.to_string()))?;
        state = Some(match (part, state) {
            (WorkerPart::Full { tick, state }, _) => (tick, state),
            (
                WorkerPart::Delta {
                    tick,
                    since,
                    start,
                    delta,
                },
                Some((prev, mut w)),
            ) if since == prev => {
                w.correlator.apply(delta).map_err(|e| err(e.to_string()))?;
                w.start = start;
                (tick, w)
            }
            (WorkerPart::Delta { since, .. }, prev) => {
                return Err(err(format!(
                    "changes since boundary {since} follow {}",
                    prev.map_or("no state".to_string(), |p| format!("boundary {}", p.0))
                )));
            }
        });
    }
    state.map(|s| s.1).ok_or_else(|| ClusterError::Checkpoint {
        path: dir.display().to_string(),
        message: "a worker's chain of parts is empty".to_string(),
    })
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
    match &manifest.chains {
        Some(chains) => {
            for chain in chains {
                workers.push(load_chain(&dir.join(STATE), chain)?);
            }
        }
        None => {
            for w in 0..manifest.workers {
                let name = format!("worker-{w}.json");
                workers.push(serde_json::from_str(&read(&name)?).map_err(|e| bad(&name, e))?);
            }
        }
    }
    Ok(Some(Restored {
        tick: manifest.tick,
        parts,
        workers,
        alerts: manifest.alerts,
    }))
}
