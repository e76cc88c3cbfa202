//! Run counters and the summary JSON (docs/semantics.md §4.2).

use crate::correlate::Pending;
use serde_json::Value;

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Valid events processed.
    pub events: u64,
    /// Input records that were not valid events.
    pub invalid: u64,
    /// Blank input lines (neither events nor records).
    pub blank: u64,
    /// Events that arrived behind the watermark.
    pub late: u64,
    /// Events without a valid timestamp.
    pub no_timestamp: u64,
    /// Alerts emitted.
    pub alerts: u64,
    /// Absence obligations open at end of input (`--eof hold`): the first
    /// [`MAX_PENDING_LISTED`] by deadline.
    pub pending: Vec<Pending>,
    /// How many absence obligations are open (listed or not).
    pub pending_total: u64,
    /// Correlation groups pushed out by `max_groups` (least recently used first).
    pub evicted_groups: u64,
    /// Window entries, remembered values and obligations pushed out by `max_group_entries`.
    pub evicted_entries: u64,
    /// Input records that are not session events, by reason (filled by the source adapter).
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Rules left out because they do not compile (`run --skip-invalid-rules`).
    pub rules_skipped: u64,
}

/// Most pending obligations the summary lists (docs/semantics.md §4.2); `pending_total` counts all.
pub const MAX_PENDING_LISTED: usize = 1000;

impl Stats {
    /// The summary JSON of docs/semantics.md §4.2.
    pub fn to_json(&self) -> String {
        let pending: Vec<Value> = self
            .pending
            .iter()
            .take(MAX_PENDING_LISTED)
            .map(Pending::to_json)
            .collect();
        let mut out = format!(
            "{{\"events\":{},\"invalid\":{},\"late\":{},\"no_timestamp\":{},\"alerts\":{},\"pending\":{}",
            self.events,
            self.invalid,
            self.late,
            self.no_timestamp,
            self.alerts,
            Value::Array(pending)
        );
        // Keys that are zero in most runs appear only when they are not (docs/semantics.md §4.2).
        for (key, n) in [
            ("blank", self.blank),
            ("pending_total", self.pending_total),
            ("evicted_groups", self.evicted_groups),
            ("evicted_entries", self.evicted_entries),
            ("rules_skipped", self.rules_skipped),
        ] {
            let shown = if key == "pending_total" {
                n > MAX_PENDING_LISTED as u64
            } else {
                n > 0
            };
            if shown {
                out.push_str(&format!(",\"{key}\":{n}"));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn pending(n: usize) -> Vec<Pending> {
        (0..n)
            .map(|i| Pending {
                rule: "lock_no_unlock".into(),
                group: vec![("user".into(), Value::from(format!("u{i}")))],
                deadline: Timestamp(i as i64 * 1_000_000_000),
            })
            .collect()
    }

    /// docs/semantics.md §4.2: zero-in-most-runs keys appear only when non-zero, each on its own;
    /// `pending` lists at most 1,000 obligations and `pending_total` counts them all.
    #[test]
    fn rare_keys_appear_only_when_non_zero() {
        let s = Stats::default();
        assert_eq!(
            s.to_json(),
            r#"{"events":0,"invalid":0,"late":0,"no_timestamp":0,"alerts":0,"pending":[]}"#
        );
        let s = Stats {
            blank: 2,
            evicted_entries: 3,
            ..Stats::default()
        };
        assert_eq!(
            s.to_json(),
            r#"{"events":0,"invalid":0,"late":0,"no_timestamp":0,"alerts":0,"pending":[],"blank":2,"evicted_entries":3}"#
        );
        let s = Stats {
            pending: pending(1000),
            pending_total: 1000,
            ..Stats::default()
        };
        assert!(!s.to_json().contains("pending_total"));
        let s = Stats {
            pending: pending(1001),
            pending_total: 1001,
            ..Stats::default()
        };
        let v: Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["pending"].as_array().map(Vec::len), Some(1000));
        assert_eq!(v["pending_total"], 1001);
        assert_eq!(
            v["pending"][999]["group"]["user"], "u999",
            "the first 1,000 by deadline"
        );
    }
}
