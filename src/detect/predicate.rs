//! Pure evaluation: (plan, event) → does the node hold?
//!
//! Semantics of missing fields: a test on a missing or null field is false, except `null`
//! and `exists: false`, which are true. `not` is plain boolean negation, so `not sel` holds
//! when the field `sel` tests is missing. An array field matches when any element does.

use crate::compile::plan::{FieldPred, Node, NodeId, Plan, SharedRegex, Test};
use crate::event::{Fields, Scalar, Slot, Val, lower};
use crate::net::{in_network, ip_in};
use crate::rule::Position;
use regex_automata::{Input, PatternSet, meta};

/// The results of predicates already evaluated for the current event: rules share
/// predicate nodes (identical field items compile to one), and each is evaluated once per
/// event. Stamped with an event counter, so moving to the next event costs nothing.
///
/// It also holds, per shared regex set of the plan, which of its patterns match the
/// current event (found by the first regex test that reads the set), and the set's search
/// cache. Its buffers are made for the first plan it evaluates and reused after that.
#[derive(Debug, Clone, Default)]
pub struct Memo {
    event: u32,
    stamps: Vec<u32>,
    values: Vec<bool>,
    sets: Vec<SetMemo>,
}

/// One shared regex set's answer for the event `stamp`.
#[derive(Debug, Clone)]
struct SetMemo {
    stamp: u32,
    cache: meta::Cache,
    found: PatternSet,
}

impl Memo {
    /// Starts a new event for a plan of `nodes` nodes.
    pub fn next_event(&mut self, nodes: usize) {
        if self.stamps.len() != nodes {
            self.stamps = vec![0; nodes];
            self.values = vec![false; nodes];
            self.sets.clear();
            self.event = 0;
        }
        self.event = self.event.wrapping_add(1);
        if self.event == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.sets.iter_mut().for_each(|s| s.stamp = 0);
            self.event = 1;
        }
    }
}

/// Evaluates a node against an event.
pub fn eval(plan: &Plan, id: NodeId, fields: &Fields<'_>, memo: &mut Memo) -> bool {
    match plan.node(id) {
        Node::And(kids) => kids.iter().all(|k| eval(plan, *k, fields, memo)),
        Node::Or(kids) => kids.iter().any(|k| eval(plan, *k, fields, memo)),
        Node::Not(k) => !eval(plan, *k, fields, memo),
        Node::Pred(p) => {
            let i = id as usize;
            if memo.stamps.get(i) == Some(&memo.event) {
                return memo.values[i];
            }
            let v = pred(plan, p, fields, memo);
            if i < memo.stamps.len() {
                memo.stamps[i] = memo.event;
                memo.values[i] = v;
            }
            v
        }
    }
}

fn pred(plan: &Plan, p: &FieldPred, fields: &Fields<'_>, memo: &mut Memo) -> bool {
    let result = match p.slot {
        Some(slot) => {
            let v = fields.get(slot);
            let one = |t: &Test| match t {
                Test::Regex(re) => match re.shared {
                    Some(shared) => shared_regex(plan, shared, v, fields, memo),
                    None => test(t, slot, v, fields),
                },
                _ => test(t, slot, v, fields),
            };
            if p.all {
                p.tests.iter().all(one)
            } else {
                p.tests.iter().any(one)
            }
        }
        None => {
            let one = |t: &Test| match t {
                Test::Str(m) => {
                    // Most events hold no keyword anywhere in the line: they are told so
                    // without finding their texts.
                    let absent = m.raw_line_filter().is_some_and(|raw| {
                        fields.with_lowered_line(&mut |line| raw.is_match(line)) == Some(false)
                    });
                    !absent
                        && m.joinable()
                            .and_then(|ac| fields.with_joined_texts(&mut |j| ac.is_match(j)))
                            .unwrap_or_else(|| fields.any_text(&mut |s| m.is_match(s)))
                }
                Test::Regex(re) => match re.shared {
                    Some(shared) => shared_regex(plan, shared, None, fields, memo),
                    None => fields.any_text(&mut |s| re.regex.is_match(s)),
                },
                _ => false,
            };
            if p.all {
                p.tests.iter().all(one)
            } else {
                p.tests.iter().any(one)
            }
        }
    };
    result != p.neq
}

/// Does the regex at `shared` match? It does when it matches the text of any scalar of `v`
/// (the field's value; any string or number of the event for keyword search, `v` unused),
/// as when the regex runs alone. The set searches every such text the first time one of
/// its regexes is asked about on this event, and remembers which patterns matched.
fn shared_regex(
    plan: &Plan,
    shared: SharedRegex,
    v: Option<Val<'_>>,
    fields: &Fields<'_>,
    memo: &mut Memo,
) -> bool {
    if memo.sets.len() != plan.regex_sets.len() {
        // First use with this plan: one cache and one pattern set per shared set.
        memo.sets = plan
            .regex_sets
            .iter()
            .map(|s| SetMemo {
                stamp: memo.event.wrapping_sub(1),
                cache: s.regex.create_cache(),
                found: PatternSet::new(s.regex.pattern_len()),
            })
            .collect();
    }
    let i = shared.set as usize;
    let (Some(set), Some(m)) = (plan.regex_sets.get(i), memo.sets.get_mut(i)) else {
        return false;
    };
    if m.stamp != memo.event {
        m.stamp = memo.event;
        m.found.clear();
        // Adds each text's matching patterns; stops once every pattern has matched.
        let mut search = |text: &str| {
            set.regex
                .which_overlapping_matches_with(&mut m.cache, &Input::new(text), &mut m.found);
            m.found.is_full()
        };
        match set.slot {
            Some(_) => {
                if let Some(v) = v {
                    fields.any_scalar(v, &mut |x| x.text().is_some_and(&mut search));
                }
            }
            None => {
                fields.any_text(&mut search);
            }
        }
    }
    m.found.contains(shared.pattern)
}

fn test(t: &Test, slot: Slot, v: Option<Val<'_>>, fields: &Fields<'_>) -> bool {
    match t {
        Test::Null => matches!(v, None | Some(Val::Scalar(Scalar::Null))),
        Test::Exists(b) => v.is_some() == *b,
        // Fast path: a string field, lower-cased once per event for every matcher.
        Test::Str(m) if matches!(v, Some(Val::Scalar(Scalar::Str(_)))) => {
            let Some(Val::Scalar(Scalar::Str(s))) = v else {
                return false;
            };
            match fields.lowered(slot) {
                Some(l) => m.is_match_with_lowered(s, l),
                None => m.is_match(s),
            }
        }
        // Scalars read once per event; arrays take the general path below.
        Test::Cidr(net) if matches!(v, Some(Val::Scalar(Scalar::Str(_)))) => {
            fields.ip(slot).is_some_and(|ip| ip_in(ip, net))
        }
        Test::TimePart(part, op, n) if matches!(v, Some(Val::Scalar(_))) => fields
            .timestamp(slot)
            .is_some_and(|ts| op.test(ts.part(*part) as f64, *n)),
        Test::FieldRef {
            slot,
            position,
            cased,
        } => {
            let (Some(v), Some(other)) = (v, fields.get(*slot)) else {
                return false;
            };
            fields.any_scalar(v, &mut |x| {
                let Some(x) = x.text() else { return false };
                fields.any_scalar(other, &mut |o| {
                    o.text().is_some_and(|o| field_ref(x, o, *position, *cased))
                })
            })
        }
        _ => v.is_some_and(|v| fields.any_scalar(v, &mut |x| scalar(t, x))),
    }
}

fn scalar(t: &Test, x: Scalar<'_>) -> bool {
    match t {
        Test::Str(m) => x.text().is_some_and(|s| m.is_match(s)),
        Test::Num(n) => x.number() == Some(*n),
        Test::Bool(b) => match x {
            Scalar::Bool(v) => v == *b,
            Scalar::Str(s) => s
                .trim()
                .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Test::Regex(re) => x.text().is_some_and(|s| re.regex.is_match(s)),
        Test::Cidr(net) => match x {
            Scalar::Str(s) => in_network(s, net),
            _ => false,
        },
        Test::Compare(op, n) => x.number().is_some_and(|v| op.test(v, *n)),
        Test::TimePart(part, op, n) => x
            .timestamp()
            .is_some_and(|ts| op.test(ts.part(*part) as f64, *n)),
        Test::Null | Test::Exists(_) | Test::FieldRef { .. } => false,
    }
}

fn field_ref(a: &str, b: &str, position: Position, cased: bool) -> bool {
    if !cased && a.is_ascii() && b.is_ascii() {
        // ASCII: compare without lower-casing copies (this runs on every event).
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let at = |i: usize| a[i..i + b.len()].eq_ignore_ascii_case(b);
        return match position {
            Position::Whole => a.eq_ignore_ascii_case(b),
            Position::Start => a.len() >= b.len() && at(0),
            Position::End => a.len() >= b.len() && at(a.len() - b.len()),
            Position::Contains => {
                b.is_empty() || (a.len() >= b.len() && (0..=a.len() - b.len()).any(at))
            }
        };
    }
    field_ref_lowered(a, b, position, cased)
}

/// `field_ref` by lower-cased copies (any text).
fn field_ref_lowered(a: &str, b: &str, position: Position, cased: bool) -> bool {
    let (a, b) = if cased {
        (std::borrow::Cow::Borrowed(a), std::borrow::Cow::Borrowed(b))
    } else {
        (lower(a), lower(b))
    };
    let (a, b): (&str, &str) = (&a, &b);
    match position {
        Position::Whole => a == b,
        Position::Contains => a.contains(b),
        Position::Start => a.starts_with(b),
        Position::End => a.ends_with(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ref_ascii_fast_path_agrees_with_lower_casing() {
        let texts = [
            "",
            "a",
            "A",
            "ab",
            "Ab",
            "WS1",
            "ws1",
            "CORP\\WS1",
            "ws1\\bob",
            "xWs1y",
            "b",
        ];
        for a in texts {
            for b in texts {
                for position in [
                    Position::Whole,
                    Position::Start,
                    Position::End,
                    Position::Contains,
                ] {
                    for cased in [false, true] {
                        assert_eq!(
                            field_ref(a, b, position, cased),
                            field_ref_lowered(a, b, position, cased),
                            "{a:?} {b:?} {position:?} {cased}"
                        );
                    }
                }
            }
        }
    }
}
