//! `temporal_ordered` (S7): a chain of events matching the rules in order, within the
//! window from its first event.

use super::Candidate;
use super::aggregate::MAX_ALERT_EVENTS;
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `temporal_ordered`: for each stage, the latest-starting chain that reached it.
///
/// Stage `k` holds a chain e1..e(k+1) matching rules 1..k+1 in processing order. Keeping
/// only the chain with the latest start per stage is enough: any later completion within
/// the timespan is possible from it if it is possible from any chain (S7).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrderedGroup {
    #[serde(with = "chains")]
    stages: Vec<Option<(Timestamp, Vec<Arc<str>>)>>,
}

/// `stages` with their events as snapshot event texts.
mod chains {
    use super::super::event_text::{Ev, ManyRef};
    use crate::time::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    type Stages = Vec<Option<(Timestamp, Vec<Arc<str>>)>>;

    pub fn serialize<S: Serializer>(stages: &Stages, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(stages.iter().map(|c| c.as_ref().map(|(t, es)| (t, ManyRef(es)))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Stages, D::Error> {
        let read = Vec::<Option<(Timestamp, Vec<Ev>)>>::deserialize(d)?;
        Ok(read
            .into_iter()
            .map(|c| c.map(|(t, es)| (t, es.into_iter().map(|e| e.0).collect())))
            .collect())
    }
}

impl OrderedGroup {
    /// An event matching the rules at `stages` (ascending indices into `rules`, of length
    /// `n`) at `ts`. Fires when it completes a chain whose first event is within `span`.
    pub fn on_match(
        &mut self,
        n: usize,
        stages: &[usize],
        ts: Timestamp,
        text: &Arc<str>,
        span: i64,
    ) -> Option<Candidate> {
        if self.stages.len() != n {
            self.stages.resize(n, None);
        }
        let cutoff = ts.plus(-span);
        // Chains too old to complete can go.
        for s in &mut self.stages {
            if s.as_ref().is_some_and(|(start, _)| *start < cutoff) {
                *s = None;
            }
        }
        // One event fills at most one stage of a chain: extend from the state before it.
        let before = self.stages.clone();
        let mut fired = None;
        for &k in stages {
            let extended = if k == 0 {
                Some((ts, vec![text.clone()]))
            } else {
                before[k - 1].as_ref().map(|(start, events)| {
                    // The chain's ten most recent events (docs/semantics.md §4.1).
                    let mut events = events.clone();
                    if events.len() >= MAX_ALERT_EVENTS {
                        events.remove(0);
                    }
                    events.push(text.clone());
                    (*start, events)
                })
            };
            let Some((start, events)) = extended else {
                continue;
            };
            if k + 1 == n {
                let better = fired
                    .as_ref()
                    .is_none_or(|c: &Candidate| c.anchor_ts.is_some_and(|s| start > s));
                if better {
                    fired = Some(Candidate {
                        ts,
                        value: Some(n as f64),
                        values: None,
                        anchor_ts: Some(start),
                        events,
                    });
                }
            } else if self.stages[k].as_ref().is_none_or(|(s, _)| start >= *s) {
                self.stages[k] = Some((start, events));
            }
        }
        // `anchor_ts` carried the chain start only to pick the latest chain.
        fired.map(|c| Candidate {
            anchor_ts: None,
            ..c
        })
    }
}

impl GroupState for OrderedGroup {
    const EXPIRES: bool = true;
    const RESET_ON_FIRE: bool = true;

    fn describe(&self, c: &crate::compile::CompiledCorrelation) -> Vec<String> {
        let n = c.def.rules.len();
        let mut out = Vec::new();
        for (k, stage) in self.stages.iter().enumerate() {
            if let Some((start, events)) = stage {
                let names: Vec<&str> = c.def.rules[..=k.min(n - 1)]
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect();
                out.push(format!(
                    "chain started at {start}: {} of {n} rules in order ({}), {} event(s)",
                    k + 1,
                    names.join(" then "),
                    events.len()
                ));
            }
        }
        if out.is_empty() {
            out.push("no chain in progress".to_string());
        }
        out.push(format!("condition: all {n} rules in order within the window"));
        out
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        _: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        // A later stage without a chain to extend changes nothing: no group for it.
        if s.stages.is_empty() || (s.stages[0] != 0 && !groups.contains(key)) {
            return;
        }
        let g = groups.touch(key, s.input.ts, OrderedGroup::default);
        out.extend(g.on_match(s.c.rules.len(), s.stages, s.input.ts, s.input.text, s.span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp(s * 1_000_000_000)
    }

    #[test]
    fn ordered_needs_order_and_span() {
        let e: Arc<str> = Arc::from("{}");
        let mut g = OrderedGroup::default();
        assert!(
            g.on_match(2, &[1], t(0), &e, 10_000_000_000).is_none(),
            "b before a"
        );
        assert!(g.on_match(2, &[0], t(1), &e, 10_000_000_000).is_none());
        assert!(
            g.on_match(2, &[1], t(11), &e, 10_000_000_000).is_some(),
            "inclusive span"
        );
        let mut g = OrderedGroup::default();
        g.on_match(2, &[0], t(0), &e, 10_000_000_000);
        assert!(
            g.on_match(2, &[1], t(11), &e, 10_000_000_000).is_none(),
            "too late"
        );
    }

    #[test]
    fn one_event_fills_one_stage() {
        let e: Arc<str> = Arc::from("{}");
        let mut g = OrderedGroup::default();
        // An event matching both rules cannot be both e1 and e2.
        assert!(g.on_match(2, &[0, 1], t(0), &e, 10_000_000_000).is_none());
        assert!(g.on_match(2, &[0, 1], t(1), &e, 10_000_000_000).is_some());
    }

    /// docs/semantics.md §4.1: a chain of twelve stages reports its ten most recent events.
    #[test]
    fn a_long_chain_keeps_its_ten_most_recent_events() {
        let mut g = OrderedGroup::default();
        let texts: Vec<Arc<str>> = (0..12)
            .map(|i| Arc::from(format!("{{\"n\":{i}}}")))
            .collect();
        let mut fired = None;
        for (i, text) in texts.iter().enumerate() {
            fired = g.on_match(12, &[i], t(i as i64), text, 60_000_000_000);
        }
        let fired = fired.expect("the twelfth stage completes the chain");
        assert_eq!(fired.events, texts[2..].to_vec());
    }
}
