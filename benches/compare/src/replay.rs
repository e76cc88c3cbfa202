//! Real records: the Windows JSON files of the shared data folder, normalized to session
//! events by session-sigma's own adapter, placed on a common timeline and repeated.

use serde_json::Value;
use session_sigma::source::{Adapter, Format, Outcome, View};
use session_sigma::time::Timestamp;
use std::path::{Path, PathBuf};

/// 2024-05-01T00:00:00Z, where the replayed timeline (and the generated events) start.
pub const START_NANOS: i64 = 1_714_521_600 * 1_000_000_000;

/// The session events of one file, in file order.
pub struct FileEvents {
    pub events: Vec<Value>,
}

/// What the replay read.
pub struct Replay {
    pub files: Vec<FileEvents>,
    pub records: u64,
    pub skipped: u64,
    pub invalid: u64,
}

/// The data folder: `$SESSION_SIGMA_DATA`, else `../../../shared/data` from this crate.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("SESSION_SIGMA_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Normalizes every `*.json` / `*.jsonl` file under `DIR/windows-json` (sorted by path).
/// `Ok(None)` when that folder does not exist.
pub fn read(dir: &Path) -> Result<Option<Replay>, String> {
    let root = dir.join("windows-json");
    if !root.is_dir() {
        return Ok(None);
    }
    let mut paths = Vec::new();
    collect_files(&root, &mut paths)?;
    paths.sort();
    let mut replay = Replay {
        files: Vec::new(),
        records: 0,
        skipped: 0,
        invalid: 0,
    };
    for path in paths {
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut adapter = Adapter::new(Format::Auto, None);
        let mut events = Vec::new();
        for line in bytes.split(|b| *b == b'\n') {
            if let Outcome::Event(record) = adapter.line(line) {
                if record.view == View::WindowsOnly {
                    continue;
                }
                let mut event = record.event;
                if let Value::Object(map) = &mut event {
                    // The original record: not part of the session model's fields, and
                    // 1–3 KB per record that none of the rules read.
                    map.remove("raw");
                }
                events.push(event);
            }
        }
        let acc = adapter.accounting();
        replay.records += acc.records;
        replay.skipped += acc.skipped_total();
        replay.invalid += acc.invalid;
        if !events.is_empty() {
            replay.files.push(FileEvents { events });
        }
    }
    Ok(Some(replay))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "json")
        {
            out.push(path);
        }
    }
    Ok(())
}

impl Replay {
    pub fn events(&self) -> usize {
        self.files.iter().map(|f| f.events.len()).sum()
    }

    /// `n` event lines: the files one after another on one timeline starting at
    /// [`START_NANOS`] (each file shifted so that it starts one second after the previous
    /// one ends, its own spacing kept), repeated, each repetition after the last, until
    /// there are `n` lines. Events without a timestamp keep `null`.
    pub fn lines(&self, n: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(n);
        if self.events() == 0 {
            return out;
        }
        let mut cursor = START_NANOS;
        while out.len() < n {
            for file in &self.files {
                let times: Vec<Option<Timestamp>> = file
                    .events
                    .iter()
                    .map(|e| e.get("timestamp").and_then(Timestamp::from_json))
                    .collect();
                let first = times.iter().flatten().min().map_or(0, |t| t.0);
                let last = times.iter().flatten().max().map_or(0, |t| t.0);
                for (event, time) in file.events.iter().zip(&times) {
                    if out.len() == n {
                        return out;
                    }
                    let mut event = event.clone();
                    if let (Some(t), Value::Object(map)) = (time, &mut event) {
                        let shifted = Timestamp(cursor + (t.0 - first));
                        map.insert("timestamp".into(), Value::String(shifted.to_string()));
                    }
                    out.push(event.to_string());
                }
                cursor += (last - first) + 1_000_000_000;
            }
        }
        out
    }
}
