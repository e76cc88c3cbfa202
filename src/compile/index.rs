//! The rule index: rules keyed by a literal value they require, so that an event visits
//! only rules that can match it.
//!
//! For each rule, [`required`] looks for a field whose value the condition forces into a
//! finite set of literals (`action: rdp`, `EventID: [4624, 4625]`). Such a rule is filed
//! under each (field, literal); any other rule is always visited. The keys are the
//! case-folded text of the literal and, for integral numbers, the number, so that `4624`,
//! `'4624'` and `" 4624 "` reach the same rules as the matchers would accept them.

use super::RuleSet;
use super::plan::{Node, NodeId, Plan, Test};
use crate::event::{Fields, Scalar, Slot, Val, lower, parse_decimal};

/// A literal an event value can be looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Lower-cased text.
    Str(String),
    /// An integral number.
    Int(i64),
}

/// Rules by required literal, plus the rules that must always be visited.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// Indexed fields and, per key, the rules filed under it (ascending).
    by_slot: Vec<(Slot, ahash::AHashMap<Key, Vec<u32>>)>,
    /// Rules visited for every event (ascending).
    always: Vec<u32>,
    disabled: bool,
    /// The same keys split by type, looked up by borrowed text without allocating.
    lookup: Vec<Lookup>,
}

/// One indexed field's keys, by text and by integer.
#[derive(Debug, Clone, Default)]
struct Lookup {
    slot: Slot,
    text: ahash::AHashMap<Box<str>, Vec<u32>>,
    int: ahash::AHashMap<i64, Vec<u32>>,
}

impl Lookup {
    fn add(&self, out: &mut Vec<u32>, text: &str) {
        if let Some(rules) = self.text.get(text) {
            out.extend_from_slice(rules);
        }
    }

    fn add_int(&self, out: &mut Vec<u32>, n: Option<f64>) {
        if let Some(rules) = n.and_then(integral).and_then(|i| self.int.get(&i)) {
            out.extend_from_slice(rules);
        }
    }
}

impl RuleIndex {
    /// Builds the index; with `enabled = false` every rule is always visited.
    pub fn build(set: &RuleSet, enabled: bool) -> RuleIndex {
        let mut idx = RuleIndex {
            disabled: !enabled,
            ..RuleIndex::default()
        };
        for (i, r) in set.rules.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match required(&set.plan, r.root).filter(|_| enabled) {
                Some((slot, keys)) => {
                    let pos = match idx.by_slot.iter().position(|(s, _)| *s == slot) {
                        Some(p) => p,
                        None => {
                            idx.by_slot.push((slot, Default::default()));
                            idx.by_slot.len() - 1
                        }
                    };
                    for k in keys {
                        let list = idx.by_slot[pos].1.entry(k).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
                None => idx.always.push(i),
            }
        }
        idx.lookup = idx
            .by_slot
            .iter()
            .map(|(slot, map)| {
                let mut l = Lookup {
                    slot: *slot,
                    ..Lookup::default()
                };
                for (k, rules) in map {
                    match k {
                        Key::Str(t) => l.text.insert(t.as_str().into(), rules.clone()),
                        Key::Int(n) => l.int.insert(*n, rules.clone()),
                    };
                }
                l
            })
            .collect();
        idx
    }

    /// True when built with the index turned off.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The rules an event must visit, ascending, into `out` (no allocation once `out` has
    /// grown).
    pub fn candidates(&self, fields: &Fields<'_>, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        if self.lookup.is_empty() {
            return;
        }
        for l in &self.lookup {
            match fields.get(l.slot) {
                Some(Val::Scalar(Scalar::Str(s))) => {
                    if let Some(low) = fields.lowered(l.slot) {
                        l.add(out, low);
                    }
                    l.add_int(out, parse_decimal(s));
                }
                Some(v) => {
                    fields.any_scalar(v, &mut |x| {
                        match x {
                            Scalar::Str(s) => {
                                l.add(out, &lower(s));
                                l.add_int(out, parse_decimal(s));
                            }
                            Scalar::Num(t) => {
                                l.add(out, t);
                                l.add_int(out, t.parse().ok());
                            }
                            Scalar::Bool(b) => l.add(out, if b { "true" } else { "false" }),
                            Scalar::Null => {}
                        }
                        false
                    });
                }
                None => {}
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The key sets of a rule, for `explain`.
    pub fn describe(&self, rule: u32, fields: &crate::event::FieldTable) -> String {
        let mut parts = Vec::new();
        for (slot, map) in &self.by_slot {
            let mut keys: Vec<&Key> = map
                .iter()
                .filter(|(_, rs)| rs.contains(&rule))
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            if !keys.is_empty() {
                parts.push(format!("{} ∈ {keys:?}", fields.path(*slot).name));
            }
        }
        if parts.is_empty() {
            "none: visited by every event".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// A field and a finite set of keys, one of which any event matching `node` must have.
fn required(plan: &Plan, node: NodeId) -> Option<(Slot, Vec<Key>)> {
    match plan.node(node) {
        Node::Pred(p) => {
            let slot = p.slot?;
            if p.neq || p.tests.is_empty() {
                return None;
            }
            let mut keys = Vec::new();
            for t in &p.tests {
                match t {
                    Test::Str(m) => {
                        keys.extend(m.exact_only()?.map(|s| Key::Str(s.to_lowercase())))
                    }
                    Test::Num(n) => keys.push(Key::Int(integral(*n)?)),
                    Test::Bool(b) => keys.push(Key::Str(b.to_string())),
                    _ => return None,
                }
            }
            Some((slot, keys))
        }
        Node::And(kids) => kids
            .iter()
            .filter_map(|k| required(plan, *k))
            .min_by_key(|(_, keys)| keys.len()),
        Node::Or(kids) => {
            let mut acc: Option<(Slot, Vec<Key>)> = None;
            for k in kids {
                let (slot, keys) = required(plan, *k)?;
                match &mut acc {
                    None => acc = Some((slot, keys)),
                    Some((s, all)) if *s == slot => all.extend(keys),
                    Some(_) => return None,
                }
            }
            acc
        }
        Node::Not(_) => None,
    }
}
