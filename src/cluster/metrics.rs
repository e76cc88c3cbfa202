//! Per-worker metrics (`--metrics`): one JSON line every interval (wall clock) and one at
//! the end.

use super::clock::tick_start;
use super::sources::SourceMetrics;
use crate::time::Timestamp;
use std::io::Write;

/// Per-worker metrics, one JSON line every interval (wall clock) and one at the end.
pub struct Metrics {
    /// Where the lines go (shared by the workers of a process).
    pub out: super::MetricsOut,
    /// Interval.
    pub every: std::time::Duration,
    /// Last line written.
    pub last: std::time::Instant,
    /// This worker's process and index.
    pub process: usize,
    /// This worker's index (over all processes).
    pub worker: usize,
}

impl Metrics {
    /// Writes a line if the interval has passed (or `last`).
    pub fn tick(&mut self, last: bool, src: SourceMetrics, groups: usize, frontier: Option<u64>) {
        let now = std::time::Instant::now();
        if !last && now.duration_since(self.last) < self.every {
            return;
        }
        self.last = now;
        let watermark = frontier.map(tick_start);
        let ts = |t: Option<Timestamp>| t.map_or("null".to_string(), |t| format!("\"{t}\""));
        let lag = match (src.newest, watermark) {
            (Some(n), Some(w)) => format!("{:.3}", (n.0 - w.0).max(0) as f64 / 1e9),
            _ => "null".into(),
        };
        let line = format!(
            "{{\"process\":{},\"worker\":{},\"final\":{last},\"records\":{},\"events\":{},\"invalid\":{},\"late\":{},\"heartbeats\":{},\"idle_timeouts\":{},\"matches_sent\":{},\"groups\":{groups},\"newest\":{},\"watermark\":{},\"watermark_lag_s\":{lag}}}\n",
            self.process,
            self.worker,
            src.records,
            src.events,
            src.invalid,
            src.late,
            src.heartbeats,
            src.idle,
            src.matched,
            ts(src.newest),
            ts(watermark),
        );
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}
