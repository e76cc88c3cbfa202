//! `first_seen` (S8): per group, each value with the time it was last seen.

use super::Candidate;
use super::group::{Picked, value_of};
use super::kind::{GroupState, Shared, Step};
use super::store::GroupStore;
use super::text::Text;
use crate::time::Timestamp;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One group's remembered values. The group exists (is "known") once any value was seen,
/// even after all its values expire. One value (the common case) is held in place; a
/// second moves them to a map.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(into = "FirstSeenSnapshot", from = "FirstSeenSnapshot")]
pub struct FirstSeenGroup(Seen);

#[derive(Debug, Clone, Default)]
enum Seen {
    #[default]
    Empty,
    One(Text, Timestamp),
    Many(Box<SeenMap>),
}

#[derive(Debug, Clone, Default)]
struct SeenMap {
    seen: AHashMap<Text, Timestamp>,
    /// Size at which expired values are next swept out (amortised O(1) per event).
    sweep_at: u32,
}

impl Seen {
    fn len(&self) -> usize {
        match self {
            Seen::Empty => 0,
            Seen::One(..) => 1,
            Seen::Many(m) => m.seen.len(),
        }
    }

    fn get(&self, key: &str) -> Option<Timestamp> {
        match self {
            Seen::Empty => None,
            Seen::One(k, t) => (k.as_str() == key).then_some(*t),
            Seen::Many(m) => m.seen.get(key).copied(),
        }
    }

    fn sweep_at(&self) -> usize {
        match self {
            Seen::Many(m) => m.sweep_at as usize,
            _ => 0,
        }
    }

    /// Forgets the values last seen before `cutoff`.
    fn sweep(&mut self, cutoff: Timestamp) {
        match self {
            Seen::Empty => {}
            Seen::One(_, t) => {
                if *t < cutoff {
                    *self = Seen::Empty;
                }
            }
            Seen::Many(m) => {
                m.seen.retain(|_, t| *t >= cutoff);
                m.sweep_at = u32::try_from(m.seen.len() * 2).unwrap_or(u32::MAX);
            }
        }
    }

    /// Forgets the least recently seen value (ties: the smallest key, for determinism).
    fn forget_oldest(&mut self) -> bool {
        match self {
            Seen::Empty => false,
            Seen::One(..) => {
                *self = Seen::Empty;
                true
            }
            Seen::Many(m) => {
                let oldest = m
                    .seen
                    .iter()
                    .min_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)))
                    .map(|(k, _)| k.clone());
                oldest.is_some_and(|k| m.seen.remove(&k).is_some())
            }
        }
    }

    /// Records `key` as seen at `ts`.
    fn set(&mut self, key: &str, ts: Timestamp) {
        match self {
            Seen::Empty => *self = Seen::One(Text::new(key), ts),
            Seen::One(k, t) if k.as_str() == key => *t = ts,
            Seen::One(..) => {
                let Seen::One(k, t) = std::mem::take(self) else {
                    return;
                };
                let mut m = Box::<SeenMap>::default();
                m.seen.insert(k, t);
                m.seen.insert(Text::new(key), ts);
                *self = Seen::Many(m);
            }
            Seen::Many(m) => match m.seen.get_mut(key) {
                Some(t) => *t = ts,
                None => {
                    m.seen.insert(Text::new(key), ts);
                }
            },
        }
    }
}

/// A group's values as a checkpoint holds them: sorted by value.
#[derive(Debug, Serialize, Deserialize)]
struct FirstSeenSnapshot {
    seen: BTreeMap<Text, Timestamp>,
    #[serde(default)]
    sweep_at: u32,
}

impl From<FirstSeenGroup> for FirstSeenSnapshot {
    fn from(g: FirstSeenGroup) -> Self {
        let sweep_at = u32::try_from(g.0.sweep_at()).unwrap_or(u32::MAX);
        let seen = match g.0 {
            Seen::Empty => BTreeMap::new(),
            Seen::One(k, t) => BTreeMap::from([(k, t)]),
            Seen::Many(m) => m.seen.into_iter().collect(),
        };
        FirstSeenSnapshot { seen, sweep_at }
    }
}

impl From<FirstSeenSnapshot> for FirstSeenGroup {
    fn from(s: FirstSeenSnapshot) -> Self {
        FirstSeenGroup(match s.seen.len() {
            0 => Seen::Empty,
            1 if s.sweep_at == 0 => match s.seen.into_iter().next() {
                Some((k, t)) => Seen::One(k, t),
                None => Seen::Empty,
            },
            _ => Seen::Many(Box::new(SeenMap {
                seen: s.seen.into_iter().collect(),
                sweep_at: s.sweep_at,
            })),
        })
    }
}

/// What `first_seen` needs to know about its rule and the stream.
pub struct Policy {
    /// `history`, in ns.
    pub history: i64,
    /// `new_group: alert`.
    pub new_group_alert: bool,
    /// True while the global `learning` warm-up lasts.
    pub learning: bool,
    /// Most values a group remembers; the least recently seen goes first.
    pub max_values: usize,
}

impl FirstSeenGroup {
    /// A contributing event with value `v` at `ts`. `known` says whether the group existed
    /// before this event. The value is recorded whether or not it alerts. Also returns how
    /// many remembered values the `max_values` bound pushed out.
    pub fn on_value(
        &mut self,
        known: bool,
        value: &Picked<'_>,
        ts: Timestamp,
        text: &Arc<str>,
        p: &Policy,
    ) -> (Option<Candidate>, u64) {
        let cutoff = ts.plus(-p.history);
        // A value last seen before the cutoff is new again; expired values are swept out
        // lazily, when the map has doubled since the last sweep or is full.
        let key = &*value.key;
        let seen = &mut self.0;
        let is_new = seen.get(key).is_none_or(|t| t < cutoff);
        if seen.len() >= seen.sweep_at().max(16) || seen.len() >= p.max_values {
            seen.sweep(cutoff);
        }
        let mut evicted = 0;
        if is_new && seen.get(key).is_none() && seen.len() >= p.max_values.max(1) && seen.forget_oldest()
        {
            evicted = 1;
        }
        seen.set(key, ts);
        let alert = is_new && (known || p.new_group_alert) && !p.learning;
        let cand = alert.then(|| Candidate {
            ts,
            value: None,
            values: Some(match value.value() {
                Value::Array(vs) => vs,
                v => vec![v],
            }),
            anchor_ts: None,
            events: vec![text.clone()],
        });
        (cand, evicted)
    }

    /// Forgets the values (the group stays known).
    pub fn clear(&mut self) {
        self.0 = Seen::Empty;
    }
}

impl GroupState for FirstSeenGroup {
    /// A group once seen stays known even when all its values expired (S8).
    const EXPIRES: bool = false;
    const RESET_ON_FIRE: bool = false;

    fn describe(&self, c: &crate::compile::CompiledCorrelation) -> Vec<String> {
        let mut seen: Vec<(&str, Timestamp)> = match &self.0 {
            Seen::Empty => Vec::new(),
            Seen::One(k, t) => vec![(k.as_str(), *t)],
            Seen::Many(m) => m.seen.iter().map(|(k, t)| (k.as_str(), *t)).collect(),
        };
        seen.sort();
        let field = c.def.fields.join(", ");
        let mut out = vec![format!("known values of {field}: {}", seen.len())];
        const SHOWN: usize = 10;
        for (k, t) in seen.iter().take(SHOWN) {
            out.push(format!("  {} last seen at {t}", Value::String((*k).to_string())));
        }
        if seen.len() > SHOWN {
            out.push(format!("  … and {} more", seen.len() - SHOWN));
        }
        out.push("condition: a value not known within the history fires".to_string());
        out
    }

    /// A reset forgets the values; the group stays known.
    fn reset(groups: &mut GroupStore<Self>, key: &str) {
        if let Some(g) = groups.get_mut(key) {
            g.clear();
        }
    }

    fn step(
        groups: &mut GroupStore<Self>,
        key: &str,
        s: &Step<'_>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Candidate>,
    ) {
        if s.stages.is_empty() {
            return;
        }
        let Some(value) = value_of(s.c, s.input.row) else {
            return;
        };
        let known = groups.contains(key);
        let policy = Policy {
            history: s.c.def.history.unwrap_or(0),
            new_group_alert: s.c.def.new_group_alert,
            learning: s.learning,
            max_values: s.cap,
        };
        let g = groups.touch(key, s.input.ts, FirstSeenGroup::default);
        let (cand, evicted) = g.on_value(known, &value, s.input.ts, s.input.text, &policy);
        *shared.evicted_entries += evicted;
        out.extend(cand);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_in_place_more_in_a_map_the_oldest_forgotten_first() {
        let mut s = Seen::default();
        s.set("10.0.0.1", Timestamp(1));
        assert!(matches!(s, Seen::One(..)));
        s.set("10.0.0.1", Timestamp(2));
        assert_eq!(s.get("10.0.0.1"), Some(Timestamp(2)));
        s.set("10.0.0.2", Timestamp(3));
        s.set("10.0.0.0", Timestamp(2));
        assert_eq!(s.len(), 3);
        // Least recently seen first; a tie goes to the smallest value.
        assert!(s.forget_oldest());
        assert_eq!(s.get("10.0.0.0"), None);
        assert_eq!(s.get("10.0.0.1"), Some(Timestamp(2)));
        s.sweep(Timestamp(3));
        assert_eq!((s.len(), s.get("10.0.0.2")), (1, Some(Timestamp(3))));
        let g = FirstSeenGroup(s);
        let json = serde_json::to_string(&g).unwrap_or_default();
        assert_eq!(json, r#"{"seen":{"10.0.0.2":3},"sweep_at":2}"#);
        let back: FirstSeenGroup = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.0.get("10.0.0.2"), Some(Timestamp(3)));
        let one: FirstSeenGroup =
            serde_json::from_str(r#"{"seen":{"a":1}}"#).unwrap_or_default();
        assert!(matches!(one.0, Seen::One(..)));
    }
}
