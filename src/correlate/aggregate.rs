//! `event_count`, `value_count`, `value_sum`, `value_avg` (S6): a sliding window per group.
//!
//! Each group keeps the window's entries in arrival order (which is time order, S2) with
//! running aggregates, so an evaluation costs O(1) after evicting what left the window.

use super::Candidate;
use super::group::{Picked, value_of};
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use super::text::{Text, hash};
use crate::rule::{CmpOp, CorrelationType};
use crate::time::Timestamp;
use ahash::AHashMap;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most contributing events an alert carries.
pub const MAX_ALERT_EVENTS: usize = 10;

/// A window entry's number when it has none (numbers are never NaN: JSON has no NaN and
/// [`push`](AggregateGroup::push) drops one).
const NO_NUMBER: f64 = f64::NAN;

/// A distinct value's JSON as a window keeps it: `None` for the common case of a string
/// equal to its key text (no second copy of it, nor a 72-byte `Value`).
type Stored = Option<Box<Value>>;

fn stored(key: &Text, v: Value) -> Stored {
    match &v {
        Value::String(s) if s.as_str() == key.as_str() => None,
        _ => Some(Box::new(v)),
    }
}

fn shown(key: &Text, v: &Stored) -> Value {
    match v {
        Some(v) => (**v).clone(),
        None => Value::String(key.as_str().to_string()),
    }
}

/// One group's window, sized for the common case: a group of one event holds its time,
/// its number, its event and (value_count) its value in place; a second event moves the
/// window to [`Many`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(into = "AggregateSnapshot", from = "AggregateSnapshot")]
pub struct AggregateGroup(Window);

#[derive(Debug, Clone, Default)]
enum Window {
    #[default]
    Empty,
    /// One entry, with its distinct-value key and JSON value (value_count).
    One {
        ts: Timestamp,
        number: f64,
        text: Arc<str>,
        distinct: Option<Box<(Text, Stored)>>,
    },
    Many(Box<Many>),
}

/// A window of any size: what each aggregate needs, and the events of the alert.
///
/// Per entry it keeps its time, its number only once the window has met one (sums and
/// averages; a count's window of names keeps none), and for value_count the number of its
/// distinct value in `values`: a value's text is held once, however many entries have it.
#[derive(Debug, Clone, Default)]
struct Many {
    /// Every entry's time, oldest first.
    times: VecDeque<Timestamp>,
    /// Every entry's number (NaN: none), in step with `times`; empty while no entry of the
    /// window had one.
    numbers: VecDeque<f64>,
    /// value_count only: every entry's distinct value (its slot in `values`, [`NO_VALUE`]
    /// for none), in step with `times`.
    keys: VecDeque<u32>,
    /// The events of the last `min(10, entries)` entries: a suffix of the window.
    ring: VecDeque<Arc<str>>,
    /// value_count only: the distinct values, in slots (a freed slot has no entry).
    values: Vec<Distinct>,
    /// Freed slots of `values`.
    free: Vec<u32>,
    /// The used slots of `values`, by their text's hash.
    index: HashTable<u32>,
    sum: f64,
    /// Entries with a number.
    numbered: u64,
    /// The window counts distinct values (`keys` is in step with `times`).
    counts_distinct: bool,
}

/// A distinct value of a window: its text, its entries, and its JSON when not that text.
#[derive(Debug, Clone)]
struct Distinct {
    key: Text,
    entries: u32,
    value: Stored,
}

/// An entry without a distinct value.
const NO_VALUE: u32 = u32::MAX;

impl Many {
    fn pop_front(&mut self) {
        if self.times.pop_front().is_none() {
            return;
        }
        let number = self.numbers.pop_front().unwrap_or(NO_NUMBER);
        if let Some(k) = self.keys.pop_front() {
            self.release(k);
        }
        if self.ring.len() > self.times.len() {
            self.ring.pop_front();
        }
        if !number.is_nan() {
            self.sum -= number;
            self.numbered -= 1;
        }
        if self.numbered == 0 {
            self.sum = 0.0; // no drift once the window has no numbers
        }
    }

    /// One entry less of the value in slot `k`: the value goes with its last entry.
    fn release(&mut self, k: u32) {
        let Some(d) = self.values.get_mut(k as usize).filter(|d| d.entries > 0) else {
            return;
        };
        d.entries -= 1;
        if d.entries == 0 {
            let h = hash(d.key.as_bytes());
            if let Ok(e) = self.index.find_entry(h, |&i| i == k) {
                e.remove();
            }
            d.key = Text::new("");
            d.value = None;
            self.free.push(k);
        }
    }

    /// The slot of value `key`, one entry more (a new value takes a slot).
    fn hold(&mut self, key: Text, value: Stored) -> u32 {
        let h = hash(key.as_bytes());
        let values = &self.values;
        if let Some(&k) = self.index.find(h, |&i| values[i as usize].key == key) {
            self.values[k as usize].entries += 1;
            return k;
        }
        let d = Distinct {
            key,
            entries: 1,
            value,
        };
        let k = match self.free.pop() {
            Some(k) => {
                self.values[k as usize] = d;
                k
            }
            None => {
                self.values.push(d);
                (self.values.len() - 1) as u32
            }
        };
        let values = &self.values;
        self.index
            .insert_unique(h, k, |&i| hash(values[i as usize].key.as_bytes()));
        k
    }

    /// The distinct value `key`, if the window has it.
    fn find(&self, key: &Text) -> Option<&Distinct> {
        let values = &self.values;
        self.index
            .find(hash(key.as_bytes()), |&i| values[i as usize].key == *key)
            .map(|&k| &values[k as usize])
    }

    /// The distinct values the window has.
    fn distinct(&self) -> impl Iterator<Item = &Distinct> {
        self.values.iter().filter(|d| d.entries > 0)
    }

    /// How many distinct values the window has (the index holds each once).
    fn distinct_count(&self) -> usize {
        self.index.len()
    }

    /// Entry `i`'s distinct value.
    fn key_at(&self, i: usize) -> Option<&Text> {
        let k = *self.keys.get(i)?;
        self.values.get(k as usize).map(|d| &d.key)
    }

    /// Entry `i`'s number.
    fn number_at(&self, i: usize) -> f64 {
        self.numbers.get(i).copied().unwrap_or(NO_NUMBER)
    }

    /// A window counting distinct values or not.
    fn new(counts_distinct: bool) -> Box<Many> {
        Box::new(Many {
            counts_distinct,
            ..Many::default()
        })
    }

    fn push(&mut self, ts: Timestamp, number: f64, key: Option<(Text, Stored)>, text: Arc<str>) {
        if !number.is_nan() {
            self.sum += number;
            self.numbered += 1;
            // The first number of the window: the entries before it had none.
            self.numbers.resize(self.times.len(), NO_NUMBER);
            self.numbers.push_back(number);
        } else if !self.numbers.is_empty() {
            self.numbers.push_back(number);
        }
        self.times.push_back(ts);
        if self.counts_distinct {
            let k = key.map_or(NO_VALUE, |(k, v)| self.hold(k, v));
            self.keys.push_back(k);
        }
        if self.ring.len() == MAX_ALERT_EVENTS {
            self.ring.pop_front();
        } else if self.ring.len() == self.ring.capacity() {
            // Grow to at most the ten the ring holds (not the next power of two).
            let more = self.ring.len().max(2).min(MAX_ALERT_EVENTS - self.ring.len());
            self.ring.reserve_exact(more);
        }
        self.ring.push_back(text);
    }
}

impl AggregateGroup {
    fn len(&self) -> usize {
        match &self.0 {
            Window::Empty => 0,
            Window::One { .. } => 1,
            Window::Many(m) => m.times.len(),
        }
    }

    /// Drops entries older than `cutoff` (S5: `c.ts ≥ e.ts − timespan` stays).
    pub fn evict_before(&mut self, cutoff: Timestamp) {
        match &mut self.0 {
            Window::Empty => {}
            Window::One { ts, .. } => {
                if *ts < cutoff {
                    self.0 = Window::Empty;
                }
            }
            Window::Many(m) => {
                while m.times.front().is_some_and(|t| *t < cutoff) {
                    m.pop_front();
                }
            }
        }
    }

    fn pop_front(&mut self) {
        match &mut self.0 {
            Window::Empty => {}
            Window::One { .. } => self.0 = Window::Empty,
            Window::Many(m) => m.pop_front(),
        }
    }

    /// Adds a contributing event (its value counted as distinct when `count_distinct`).
    /// When the window holds `cap` entries already, the oldest is dropped first and `true`
    /// returned (the caller counts it).
    pub fn push(
        &mut self,
        ts: Timestamp,
        value: Option<Picked<'_>>,
        text: Arc<str>,
        cap: usize,
        count_distinct: bool,
    ) -> bool {
        let over = self.len() >= cap.max(1);
        if over {
            // The oldest entry goes, whatever its time.
            self.pop_front();
        }
        let number = value
            .as_ref()
            .and_then(Picked::number)
            .filter(|n| !n.is_nan())
            .unwrap_or(NO_NUMBER);
        let key = value
            .filter(|_| count_distinct)
            .map(|p| {
                let k = Text::new(&p.key);
                // A string value equal to its key is kept as the key alone.
                let v = if p.is_key_string() {
                    None
                } else {
                    stored(&k, p.value())
                };
                (k, v)
            });
        match std::mem::take(&mut self.0) {
            Window::Empty => {
                self.0 = Window::One {
                    ts,
                    number,
                    text,
                    distinct: key.map(Box::new),
                }
            }
            Window::One {
                ts: t0,
                number: n0,
                text: e0,
                distinct: d0,
            } => {
                let mut m = Many::new(count_distinct);
                m.push(t0, n0, d0.map(|d| *d), e0);
                m.push(ts, number, key, text);
                self.0 = Window::Many(m);
            }
            Window::Many(mut m) => {
                m.push(ts, number, key, text);
                self.0 = Window::Many(m);
            }
        }
        over
    }

    /// The aggregate of the window, if it has one (an average needs a number).
    pub fn aggregate(&self, kind: CorrelationType) -> Option<f64> {
        let (sum, numbers) = match &self.0 {
            Window::Empty => (0.0, 0),
            Window::One { number, .. } if number.is_nan() => (0.0, 0),
            Window::One { number, .. } => (0.0 + number, 1),
            Window::Many(m) => (m.sum, m.numbered),
        };
        match kind {
            CorrelationType::EventCount => Some(self.len() as f64),
            CorrelationType::ValueCount => Some(match &self.0 {
                Window::Many(m) => m.distinct_count() as f64,
                Window::One {
                    distinct: Some(_), ..
                } => 1.0,
                _ => 0.0,
            }),
            CorrelationType::ValueSum => Some(sum),
            CorrelationType::ValueAvg => (numbers > 0).then(|| sum / numbers as f64),
            _ => None,
        }
    }

    /// Evaluates the condition at time `ts`; the candidate alert when it holds.
    pub fn evaluate(
        &self,
        kind: CorrelationType,
        condition: &[(CmpOp, f64)],
        ts: Timestamp,
    ) -> Option<Candidate> {
        let value = self.aggregate(kind)?;
        if !condition.iter().all(|(op, t)| op.test(value, *t)) {
            return None;
        }
        let values = (kind == CorrelationType::ValueCount).then(|| match &self.0 {
            Window::Many(m) => {
                let mut vs: Vec<(&Text, &Stored)> =
                    m.distinct().map(|d| (&d.key, &d.value)).collect();
                vs.sort_by(|a, b| a.0.cmp(b.0));
                vs.into_iter().map(|(k, v)| shown(k, v)).collect()
            }
            Window::One {
                distinct: Some(d), ..
            } => vec![shown(&d.0, &d.1)],
            _ => Vec::new(),
        });
        Some(Candidate {
            ts,
            value: Some(value),
            values,
            anchor_ts: None,
            // docs/semantics.md §4.1: the ten most recent, in time order, ending with this event.
            events: match &self.0 {
                Window::Empty => Vec::new(),
                Window::One { text, .. } => vec![text.clone()],
                Window::Many(m) => m.ring.iter().cloned().collect(),
            },
        })
    }
}

/// `condition.field` of a value type, as written.
fn fields_of(c: &crate::compile::CompiledCorrelation) -> String {
    c.def.fields.join(", ")
}

/// `condition: count >= 5 → false` for an explanation.
pub(super) fn condition_line(condition: &[(CmpOp, f64)], what: &str, value: Option<f64>) -> String {
    let holds = value.is_some_and(|v| condition.iter().all(|(op, t)| op.test(v, *t)));
    format!(
        "condition: {} is {holds}",
        CmpOp::describe_all(condition, what)
    )
}

/// A window as a checkpoint holds it, independent of the in-memory layout: every entry
/// (oldest first) with its number and distinct-value key, the events of the last ten,
/// the running sum (restored as it was: a recomputed sum could differ in its last bits),
/// and each distinct value's JSON, sorted by key.
#[derive(Debug, Serialize, Deserialize)]
struct AggregateSnapshot {
    entries: Vec<(Timestamp, Option<f64>, Option<Text>)>,
    #[serde(with = "super::event_text::many")]
    events: Vec<Arc<str>>,
    sum: f64,
    distinct: bool,
    values: Vec<(Text, Value)>,
}

impl From<AggregateGroup> for AggregateSnapshot {
    /// The whole window is its tail since the beginning of time.
    fn from(g: AggregateGroup) -> Self {
        let t = g.tail_since(Timestamp(i64::MIN));
        AggregateSnapshot {
            entries: t.added,
            events: t.events,
            sum: t.sum,
            distinct: t.distinct,
            values: t.values,
        }
    }
}

impl From<AggregateSnapshot> for AggregateGroup {
    fn from(s: AggregateSnapshot) -> Self {
        if s.entries.len() == 1 {
            // In place unless its sum drifted (a window of many that shrank to one).
            if let (Some((ts, n, key)), Some(text)) = (s.entries.first(), s.events.first())
                && s.sum.to_bits() == n.map_or(0.0, |n| 0.0 + n).to_bits()
            {
                let distinct = key.as_ref().map(|k| {
                    let v = s.values.iter().find(|v| v.0 == *k).map(|v| v.1.clone());
                    Box::new((k.clone(), stored(k, v.unwrap_or(Value::Null))))
                });
                return AggregateGroup(Window::One {
                    ts: *ts,
                    number: n.unwrap_or(NO_NUMBER),
                    text: text.clone(),
                    distinct,
                });
            }
        }
        if s.entries.is_empty() {
            return AggregateGroup(Window::Empty);
        }
        let values: AHashMap<Text, Value> = s.values.into_iter().collect();
        let mut m = Many::new(s.distinct);
        let skip = s.entries.len().saturating_sub(s.events.len());
        let mut events = s.events.into_iter();
        for (i, (ts, n, key)) in s.entries.into_iter().enumerate() {
            let key = key.map(|k| {
                let v = stored(&k, values.get(&k).cloned().unwrap_or(Value::Null));
                (k, v)
            });
            let text = if i >= skip {
                events.next().unwrap_or_default()
            } else {
                Arc::from("")
            };
            m.push(ts, n.unwrap_or(NO_NUMBER), key, text);
        }
        m.sum = s.sum;
        AggregateGroup(Window::Many(m))
    }
}

/// What a window gained since a time, for an incremental checkpoint: the window is the
/// last `len` entries of the earlier window followed by `added` (entries arrive in time
/// order and leave from the front), with its current sum. The alert's events are those of
/// the last entries, so only the added entries' events among them are written.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(super) struct AggregateTail {
    len: usize,
    added: Vec<(Timestamp, Option<f64>, Option<Text>)>,
    /// The events of the last `min(10, added)` added entries.
    #[serde(with = "super::event_text::many")]
    events: Vec<Arc<str>>,
    sum: f64,
    distinct: bool,
    /// The JSON of the distinct values of `added`.
    values: Vec<(Text, Value)>,
}

#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
impl AggregateGroup {
    /// The entries added at or after `since` (every entry before the last checkpoint is
    /// older), and what an earlier window needs to become this one.
    pub(super) fn tail_since(&self, since: Timestamp) -> AggregateTail {
        let some = |n: f64| (!n.is_nan()).then_some(n);
        match &self.0 {
            Window::Empty => AggregateTail {
                len: 0,
                added: Vec::new(),
                events: Vec::new(),
                sum: 0.0,
                distinct: false,
                values: Vec::new(),
            },
            Window::One {
                ts,
                number,
                text,
                distinct,
            } => {
                let d = distinct.as_ref().map(|d| (d.0.clone(), shown(&d.0, &d.1)));
                let new = *ts >= since;
                AggregateTail {
                    len: 1,
                    added: if new {
                        vec![(*ts, some(*number), d.as_ref().map(|d| d.0.clone()))]
                    } else {
                        Vec::new()
                    },
                    events: if new { vec![text.clone()] } else { Vec::new() },
                    sum: some(*number).map_or(0.0, |n| 0.0 + n),
                    distinct: d.is_some(),
                    values: d.filter(|_| new).into_iter().collect(),
                }
            }
            Window::Many(m) => {
                let from = m.times.partition_point(|t| *t < since);
                let added: Vec<_> = (from..m.times.len())
                    .map(|i| (m.times[i], some(m.number_at(i)), m.key_at(i).cloned()))
                    .collect();
                let mut values: Vec<(Text, Value)> = added
                    .iter()
                    .filter_map(|e| e.2.as_ref())
                    .filter_map(|k| m.find(k).map(|d| (k.clone(), shown(k, &d.value))))
                    .collect();
                values.sort_by(|a, b| a.0.cmp(&b.0));
                values.dedup_by(|a, b| a.0 == b.0);
                let new_events = m.ring.len().min(added.len());
                AggregateTail {
                    len: m.times.len(),
                    added,
                    events: m.ring.iter().skip(m.ring.len() - new_events).cloned().collect(),
                    sum: m.sum,
                    distinct: m.counts_distinct,
                    values,
                }
            }
        }
    }

    /// The window `base` (none: a group created since) became, given its tail.
    pub(super) fn with_tail(base: Option<AggregateGroup>, t: AggregateTail) -> AggregateGroup {
        let mut s = AggregateSnapshot::from(base.unwrap_or_default());
        s.entries.extend(t.added);
        let drop = s.entries.len().saturating_sub(t.len);
        s.entries.drain(..drop);
        let mut events = s.events;
        events.extend(t.events);
        let keep = MAX_ALERT_EVENTS.min(s.entries.len());
        events.drain(..events.len().saturating_sub(keep));
        let mut values: AHashMap<Text, Value> = s.values.into_iter().collect();
        values.extend(t.values);
        let used: ahash::AHashSet<&Text> = s.entries.iter().filter_map(|e| e.2.as_ref()).collect();
        let mut values: Vec<(Text, Value)> = values
            .into_iter()
            .filter(|(k, _)| used.contains(k))
            .collect();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        AggregateGroup::from(AggregateSnapshot {
            entries: s.entries,
            events,
            sum: t.sum,
            distinct: t.distinct,
            values,
        })
    }
}

impl GroupState for AggregateGroup {
    const EXPIRES: bool = true;
    const RESET_ON_FIRE: bool = true;

    fn describe(&self, c: &crate::compile::CompiledCorrelation) -> Vec<String> {
        let times: Vec<Timestamp> = match &self.0 {
            Window::Empty => Vec::new(),
            Window::One { ts, .. } => vec![*ts],
            Window::Many(m) => m.times.iter().copied().collect(),
        };
        let mut out = vec![match (times.first(), times.last()) {
            (Some(a), Some(b)) if times.len() > 1 => {
                format!("window: {} events, {a} to {b}", times.len())
            }
            (Some(a), _) => format!("window: 1 event, at {a}"),
            _ => "window: empty".to_string(),
        }];
        let kind = c.def.kind;
        let what = match kind {
            CorrelationType::EventCount => "count".to_string(),
            CorrelationType::ValueCount => format!("distinct {}", fields_of(c)),
            CorrelationType::ValueSum => format!("sum of {}", fields_of(c)),
            _ => format!("average of {}", fields_of(c)),
        };
        let value = self.aggregate(kind);
        let shown = value.map_or_else(|| "none (no number)".to_string(), |v| v.to_string());
        out.push(format!("{what}: {shown}"));
        if let Some(Candidate {
            values: Some(vs), ..
        }) = self.evaluate(kind, &[], Timestamp(0))
        {
            let list: Vec<String> = vs.iter().map(Value::to_string).collect();
            out.push(format!("values: [{}]", list.join(", ")));
        }
        out.push(condition_line(&c.def.condition, &what, value));
        out
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        let (c, ts) = (s.c, s.input.ts);
        if s.trigger {
            // Trigger events are evaluation points, not counted (S6).
            let empty = AggregateGroup::default();
            let g = match groups.get_mut(key) {
                Some(g) => {
                    g.evict_before(s.cutoff);
                    &*g
                }
                None => &empty,
            };
            out.extend(g.evaluate(c.def.kind, &c.def.condition, ts));
        } else if !s.stages.is_empty() {
            let g = groups.touch(key, ts, AggregateGroup::default);
            g.evict_before(s.cutoff);
            let distinct = c.def.kind == CorrelationType::ValueCount;
            let value = value_of(c, s.input.row);
            if g.push(ts, value, s.input.text.clone(), s.cap, distinct) {
                *shared.evicted_entries += 1;
            }
            if c.trigger.is_empty() {
                out.extend(g.evaluate(c.def.kind, &c.def.condition, ts));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(g: &AggregateGroup) -> Vec<String> {
        g.evaluate(CorrelationType::EventCount, &[], Timestamp(0))
            .map(|c| c.events.iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    fn round_trip(g: &AggregateGroup) -> AggregateGroup {
        let json = serde_json::to_string(g).unwrap_or_default();
        serde_json::from_str(&json).unwrap_or_default()
    }

    #[test]
    fn a_window_keeps_the_ten_most_recent_events_and_survives_a_checkpoint() {
        let mut g = AggregateGroup::default();
        assert!(!g.push(Timestamp(1), None, Arc::from("e1"), 100, false));
        assert!(matches!(g.0, Window::One { .. }), "one event is held in place");
        assert_eq!(events(&round_trip(&g)), ["e1"]);
        assert!(matches!(round_trip(&g).0, Window::One { .. }));
        for i in 2..=12 {
            g.push(Timestamp(i), None, Arc::from(format!("e{i}")), 100, false);
        }
        let last_ten: Vec<String> = (3..=12).map(|i| format!("e{i}")).collect();
        assert_eq!(g.aggregate(CorrelationType::EventCount), Some(12.0));
        assert_eq!(events(&g), last_ten);
        assert_eq!(events(&round_trip(&g)), last_ten);
        assert_eq!(
            round_trip(&g).aggregate(CorrelationType::EventCount),
            Some(12.0)
        );
        g.evict_before(Timestamp(6));
        assert_eq!(g.aggregate(CorrelationType::EventCount), Some(7.0));
        assert_eq!(events(&g), ["e6", "e7", "e8", "e9", "e10", "e11", "e12"]);
        // The cap pushes out the oldest entry and its event.
        let mut capped = AggregateGroup::default();
        for i in 1..=3 {
            let over = capped.push(Timestamp(i), None, Arc::from(format!("e{i}")), 2, false);
            assert_eq!(over, i == 3);
        }
        assert_eq!(events(&capped), ["e2", "e3"]);
        capped.evict_before(Timestamp(4));
        assert_eq!(capped.aggregate(CorrelationType::EventCount), Some(0.0));
        assert_eq!(capped.evaluate(CorrelationType::EventCount, &[], Timestamp(4)).map(|c| c.events.len()), Some(0));
    }

    /// Regression: a window whose first number came with its first entry of many (the
    /// in-place entry moving over) lost that number, so sums and averages missed it.
    #[test]
    fn numbers_are_kept_from_the_first_entry_that_has_one() {
        let mut m = Many::new(false);
        m.push(Timestamp(1), 1.0, None, Arc::from("e1"));
        m.push(Timestamp(1), NO_NUMBER, None, Arc::from("e2"));
        assert_eq!((m.sum, m.numbered), (1.0, 1));
        assert_eq!((m.number_at(0), m.number_at(1).is_nan()), (1.0, true));
        let mut g = AggregateGroup(Window::Many(m.clone()));
        g.evict_before(Timestamp(2));
        assert_eq!(g.aggregate(CorrelationType::ValueSum), Some(0.0));
        assert_eq!(g.aggregate(CorrelationType::ValueAvg), None);
        // Entries before the window's first number have none; the average is of numbers.
        let mut m = Many::new(false);
        m.push(Timestamp(1), NO_NUMBER, None, Arc::from("e1"));
        m.push(Timestamp(2), 0.0, None, Arc::from("e2"));
        m.push(Timestamp(3), 5.0, None, Arc::from("e3"));
        assert_eq!(m.numbers.len(), 3);
        let g = AggregateGroup(Window::Many(m));
        assert_eq!(g.aggregate(CorrelationType::ValueAvg), Some(2.5));
        assert_eq!(round_trip(&g).aggregate(CorrelationType::ValueAvg), Some(2.5));
        // A count's window of names keeps no number at all.
        let mut m = Many::new(true);
        for i in 0..4 {
            m.push(Timestamp(i), NO_NUMBER, Some((Text::new("u"), None)), Arc::from("e"));
        }
        assert!(m.numbers.is_empty());
        assert_eq!((m.distinct().count(), m.values.len()), (1, 1));
    }

    #[test]
    fn a_value_count_window_of_one_holds_its_value_in_place() {
        let v = serde_json::json!("alice");
        let mut g = AggregateGroup(Window::One {
            ts: Timestamp(1),
            number: NO_NUMBER,
            text: Arc::from("e1"),
            distinct: Some(Box::new((Text::new("alice"), None))),
        });
        let kind = CorrelationType::ValueCount;
        assert_eq!(g.aggregate(kind), Some(1.0));
        let values = |g: &AggregateGroup| g.evaluate(kind, &[], Timestamp(9)).and_then(|c| c.values);
        assert_eq!(values(&g), Some(vec![v.clone()]));
        let back = round_trip(&g);
        assert!(matches!(back.0, Window::One { distinct: Some(_), .. }));
        assert_eq!(values(&back), Some(vec![v.clone()]));
        // A second entry without a value: two entries, still one distinct value.
        g.push(Timestamp(2), None, Arc::from("e2"), 100, true);
        assert!(matches!(g.0, Window::Many(_)));
        assert_eq!(g.aggregate(kind), Some(1.0));
        assert_eq!(g.aggregate(CorrelationType::EventCount), Some(2.0));
        assert_eq!(values(&round_trip(&g)), Some(vec![v]));
        g.evict_before(Timestamp(2));
        assert_eq!(g.aggregate(kind), Some(0.0));
        assert_eq!(events(&g), ["e2"]);
    }

    proptest::proptest! {
        /// A window's tail since the last checkpoint, applied to the window then, gives
        /// what a whole snapshot of the window now restores (entries, values, events, sum): through the cap, the time window,
        /// windows of one and distinct values that come and go.
        #[test]
        fn a_window_is_its_earlier_self_and_its_tail(
            steps in proptest::collection::vec((0u8..5, 0u8..5, proptest::bool::ANY), 0..80),
            cap in 1usize..16,
        ) {
            let set = crate::compile::RuleSet::builder()
                .add_str("r.yml", "title: t\nname: base\nlogsource: {product: session}\ndetection:\n  sel: {action: logon}\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: value_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {gte: 1, field: user}\n")
                .build()
                .expect("rules compile");
            let c = &set.correlations[0];
            let show = |g: &AggregateGroup| serde_json::to_string(g).unwrap_or_default();
            let mut g = AggregateGroup::default();
            let (mut now, mut since) = (0i64, Timestamp(0));
            let mut base = g.clone();
            for (what, user, tick) in steps {
                now += i64::from(tick);
                match what {
                    0..=2 => {
                        let ev = serde_json::json!({"user": format!("u{user}"), "host": "h"});
                        let row = crate::correlate::Row::from_json(&set, &ev);
                        let value = crate::correlate::group::value_of(c, &row);
                        g.push(Timestamp(now), value, Arc::from(format!("e{now}")), cap, true);
                    }
                    3 => g.evict_before(Timestamp(now - 8)),
                    _ => {
                        now += 1;
                        let rebuilt = AggregateGroup::with_tail(Some(base), g.tail_since(since));
                        proptest::prop_assert_eq!(show(&rebuilt), show(&round_trip(&g)));
                        base = rebuilt;
                        since = Timestamp(now);
                    }
                }
            }
            let rebuilt = AggregateGroup::with_tail(Some(base), g.tail_since(since));
            proptest::prop_assert_eq!(show(&rebuilt), show(&round_trip(&g)));
        }
    }
}
