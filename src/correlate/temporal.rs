//! `temporal` (S7): every referenced rule matched in the group within the window, in any
//! order.

use super::Candidate;
use super::aggregate::MAX_ALERT_EVENTS;
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use crate::compile::correlation::RuleRef;
use crate::rule::CmpOp;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `temporal`: per referenced rule, its latest match in the group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemporalGroup {
    #[serde(with = "latest")]
    last: Vec<Option<(Timestamp, Arc<str>)>>,
}

/// `last` with its events as snapshot event texts.
mod latest {
    use super::super::event_text::{Ev, EvRef};
    use crate::time::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    type Last = Vec<Option<(Timestamp, Arc<str>)>>;

    pub fn serialize<S: Serializer>(last: &Last, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(last.iter().map(|l| l.as_ref().map(|(t, e)| (t, EvRef(e)))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Last, D::Error> {
        let read = Vec::<Option<(Timestamp, Ev)>>::deserialize(d)?;
        Ok(read.into_iter().map(|l| l.map(|(t, e)| (t, e.0))).collect())
    }
}

impl TemporalGroup {
    /// Records a match of the rules at `stages` (indices into the correlation's `rules`)
    /// and evaluates at `ts`: the number of rules that matched within `[ts − span, ts]`
    /// against the condition (default: all of them).
    pub fn on_match(
        &mut self,
        n: usize,
        stages: &[usize],
        ts: Timestamp,
        text: &Arc<str>,
        span: i64,
        condition: &[(CmpOp, f64)],
    ) -> Option<Candidate> {
        if self.last.len() != n {
            self.last.resize(n, None);
        }
        for &k in stages {
            self.last[k] = Some((ts, text.clone()));
        }
        let cutoff = ts.plus(-span);
        let mut live: Vec<&(Timestamp, Arc<str>)> = self
            .last
            .iter()
            .flatten()
            .filter(|(t, _)| *t >= cutoff)
            .collect();
        let count = live.len() as f64;
        let holds = if condition.is_empty() {
            live.len() == n
        } else {
            condition.iter().all(|(op, t)| op.test(count, *t))
        };
        if !holds {
            return None;
        }
        live.sort_by_key(|(t, _)| *t);
        // docs/semantics.md §4.1: the ten most recent, ending with this event.
        let skip = live.len().saturating_sub(MAX_ALERT_EVENTS);
        Some(Candidate {
            ts,
            value: Some(count),
            values: None,
            anchor_ts: None,
            events: live
                .into_iter()
                .skip(skip)
                .map(|(_, e)| e.clone())
                .collect(),
        })
    }
}

impl GroupState for TemporalGroup {
    const EXPIRES: bool = true;
    const RESET_ON_FIRE: bool = true;

    fn describe(&self, c: &crate::compile::CompiledCorrelation) -> Vec<String> {
        let latest = self.last.iter().flatten().map(|(t, _)| *t).max();
        let mut out = Vec::new();
        let mut count = 0;
        for (k, r) in c.def.rules.iter().enumerate() {
            match self.last.get(k).and_then(Option::as_ref) {
                Some((t, _)) => {
                    let within = latest.is_some_and(|l| *t >= l.plus(-c.def.timespan.unwrap_or(0)));
                    count += usize::from(within);
                    let note = if within { "" } else { " (outside the window)" };
                    out.push(format!("rule {}: last matched at {t}{note}", r.name));
                }
                None => out.push(format!("rule {}: not matched", r.name)),
            }
        }
        let value = Some(count as f64);
        out.push(if c.def.condition.is_empty() {
            format!(
                "condition: all {} rules within the window is {}",
                c.def.rules.len(),
                count == c.def.rules.len()
            )
        } else {
            super::aggregate::condition_line(&c.def.condition, "rules matched", value)
        });
        out
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        _: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        if s.stages.is_empty() {
            return;
        }
        // A rule listed twice counts once.
        let rules = &s.c.rules;
        let distinct = distinct_positions(rules, s.stages);
        let g = groups.touch(key, s.input.ts, TemporalGroup::default);
        out.extend(g.on_match(
            distinct_count(rules),
            &distinct,
            s.input.ts,
            s.input.text,
            s.span,
            &s.c.def.condition,
        ));
    }
}

/// Number of distinct rules in a `rules` list.
fn distinct_count(rules: &[RuleRef]) -> usize {
    let mut seen: Vec<RuleRef> = Vec::new();
    for r in rules {
        if !seen.contains(r) {
            seen.push(*r);
        }
    }
    seen.len()
}

/// Maps positions in `rules` to indices among the distinct rules.
fn distinct_positions(rules: &[RuleRef], firsts: &[usize]) -> Vec<usize> {
    let mut distinct: Vec<RuleRef> = Vec::new();
    for r in rules {
        if !distinct.contains(r) {
            distinct.push(*r);
        }
    }
    firsts
        .iter()
        .filter_map(|k| distinct.iter().position(|d| *d == rules[*k]))
        .collect()
}
