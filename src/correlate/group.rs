//! Group keys (S4): the tuple of `group-by` values, compared as exact strings.

use crate::compile::correlation::{CompiledCorrelation, RuleRef};
use serde_json::Value;

/// A group: the text of each `group-by` value, in order. Shared (`Arc`) between the index
/// and the slot of a group store, and with timers.
pub type GroupKey = std::sync::Arc<[Box<str>]>;

/// The text a group or value compares by: strings as they are, numbers and booleans as
/// JSON writes them, arrays and objects as their JSON text. `None` for null.
pub fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The group of an input that arrived through `via`. `None` when a group-by field is
/// missing or null: the correlation ignores the input (S4).
pub fn group_key(c: &CompiledCorrelation, event: &Value, via: RuleRef) -> Option<GroupKey> {
    let mut key = Vec::with_capacity(c.group_by.len());
    for g in &c.group_by {
        key.push(key_text(g.path_for(via).resolve(event)?)?.into_boxed_str());
    }
    Some(key.into())
}

/// The group's values as they appear in the input, for alerts (only built for alerts and
/// obligations; [`group_key`] has already checked that they are there).
pub fn group_values(c: &CompiledCorrelation, event: &Value, via: RuleRef) -> Vec<(String, Value)> {
    c.group_by
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.path_for(via)
                    .resolve(event)
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// The value of `condition.field` / `field` for an input: one field's value, or for a list
/// of fields the tuple as a JSON array. `None` when any of them is missing or null.
pub fn value_of(c: &CompiledCorrelation, event: &Value) -> Option<(String, Value)> {
    match c.fields.as_slice() {
        [] => None,
        [one] => {
            let v = one.resolve(event)?;
            Some((key_text(v)?, v.clone()))
        }
        many => {
            // Each element compares by its text, as a single value does: (h1, 3) = (h1, "3").
            let mut vs = Vec::with_capacity(many.len());
            let mut texts = Vec::with_capacity(many.len());
            for f in many {
                let v = f.resolve(event)?;
                texts.push(Value::String(key_text(v)?));
                vs.push(v.clone());
            }
            Some((Value::Array(texts).to_string(), Value::Array(vs)))
        }
    }
}

/// The group's strings as one text, for ordering alerts of one time by group (groups
/// compare as strings, S4, so `7` and `"7"` order alike).
pub fn group_order(key: &GroupKey) -> String {
    let parts: Vec<&str> = key.iter().map(|k| &**k).collect();
    serde_json::to_string(&parts).unwrap_or_default()
}

/// Serialises a hash map with its keys sorted, so that checkpoints are deterministic.
pub fn sorted_map<S, V>(map: &ahash::AHashMap<String, V>, s: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    V: serde::Serialize,
{
    use serde::Serialize;
    let sorted: std::collections::BTreeMap<&String, &V> = map.iter().collect();
    sorted.serialize(s)
}
