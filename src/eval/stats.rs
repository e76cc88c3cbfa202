//! Run counters and the summary JSON (DESIGN.md 4.2).

use crate::correlate::Pending;
use serde_json::Value;

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Valid events processed.
    pub events: u64,
    /// Input records that were not valid events.
    pub invalid: u64,
    /// Events that arrived behind the watermark.
    pub late: u64,
    /// Events without a valid timestamp.
    pub no_timestamp: u64,
    /// Alerts emitted.
    pub alerts: u64,
    /// Absence obligations open at end of input (`--eof hold`).
    pub pending: Vec<Pending>,
    /// Correlation groups pushed out by `max_groups` (least recently used first).
    pub evicted_groups: u64,
    /// Window entries, remembered values and obligations pushed out by `max_group_entries`.
    pub evicted_entries: u64,
    /// Input records that are not session events, by reason (filled by the source adapter).
    pub skipped: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    /// The summary JSON of DESIGN.md 4.2.
    pub fn to_json(&self) -> String {
        let pending: Vec<Value> = self.pending.iter().map(Pending::to_json).collect();
        let mut out = format!(
            "{{\"events\":{},\"invalid\":{},\"late\":{},\"no_timestamp\":{},\"alerts\":{},\"pending\":{}",
            self.events,
            self.invalid,
            self.late,
            self.no_timestamp,
            self.alerts,
            Value::Array(pending)
        );
        // Beyond the contract's keys, and only when they happened, so that a run within
        // its bounds writes exactly the documented summary.
        if self.evicted_groups > 0 || self.evicted_entries > 0 {
            out.push_str(&format!(
                ",\"evicted_groups\":{},\"evicted_entries\":{}",
                self.evicted_groups, self.evicted_entries
            ));
        }
        if !self.skipped.is_empty() {
            out.push_str(&format!(
                ",\"skipped\":{}",
                serde_json::to_string(&self.skipped).unwrap_or_else(|_| "{}".into())
            ));
        }
        out.push('}');
        out
    }
}
