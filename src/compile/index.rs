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
use crate::event::{Fields, Slot, lower, parse_decimal};
use serde_json::Value;

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
        idx
    }

    /// True when built with the index turned off.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The rules an event must visit, ascending, into `out`.
    pub fn candidates(&self, fields: &mut Fields<'_, '_>, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        if self.by_slot.is_empty() {
            return;
        }
        let mut keys = Vec::new();
        for (slot, map) in &self.by_slot {
            keys.clear();
            if let Some(v) = fields.get(*slot) {
                keys_of(v, &mut keys);
            }
            for k in &keys {
                if let Some(rules) = map.get(k) {
                    out.extend_from_slice(rules);
                }
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

/// The lookup keys of an event value.
fn keys_of(v: &Value, out: &mut Vec<Key>) {
    match v {
        Value::String(s) => {
            out.push(Key::Str(lower(s).into_owned()));
            if let Some(n) = parse_decimal(s).and_then(integral) {
                out.push(Key::Int(n));
            }
        }
        Value::Number(n) => {
            out.push(Key::Str(n.to_string()));
            if let Some(i) = n.as_f64().and_then(integral) {
                out.push(Key::Int(i));
            }
        }
        Value::Bool(b) => out.push(Key::Str(b.to_string())),
        Value::Array(items) => items.iter().for_each(|i| keys_of(i, out)),
        _ => {}
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
