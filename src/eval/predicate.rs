//! Pure evaluation: (plan, event) → does the node hold?
//!
//! Semantics of missing fields: a test on a missing or null field is false, except `null`
//! and `exists: false`, which are true. `not` is plain boolean negation, so `not sel` holds
//! when the field `sel` tests is missing. An array field matches when any element does.

use crate::compile::plan::{FieldPred, Node, NodeId, Plan, Test};
use crate::event::{Fields, IpBits, Slot, any_text, lower, number_of, parse_ip, text_of};
use crate::rule::modifiers::mask;
use crate::rule::{Network, Position};
use crate::time::Timestamp;
use serde_json::Value;

/// Evaluates a node against an event.
pub fn eval(plan: &Plan, id: NodeId, fields: &mut Fields<'_, '_>) -> bool {
    match plan.node(id) {
        Node::And(kids) => kids.iter().all(|k| eval(plan, *k, fields)),
        Node::Or(kids) => kids.iter().any(|k| eval(plan, *k, fields)),
        Node::Not(k) => !eval(plan, *k, fields),
        Node::Pred(p) => pred(p, fields),
    }
}

fn pred(p: &FieldPred, fields: &mut Fields<'_, '_>) -> bool {
    let result = match p.slot {
        Some(slot) => {
            let v = fields.get(slot);
            let one = |t: &Test, fields: &mut Fields<'_, '_>| test(t, slot, v, fields);
            if p.all {
                p.tests.iter().all(|t| one(t, fields))
            } else {
                p.tests.iter().any(|t| one(t, fields))
            }
        }
        None => {
            let event = fields.event();
            let one = |t: &Test| match t {
                Test::Str(m) => any_text(event, &mut |s| m.is_match(s)),
                Test::Regex(re) => any_text(event, &mut |s| re.is_match(s)),
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

fn test(t: &Test, slot: Slot, v: Option<&Value>, fields: &mut Fields<'_, '_>) -> bool {
    match t {
        Test::Null => matches!(v, None | Some(Value::Null)),
        Test::Exists(b) => v.is_some() == *b,
        // Fast path: a string field, lower-cased once per event for every matcher.
        Test::Str(m) if matches!(v, Some(Value::String(_))) => {
            let Some(Value::String(s)) = v else {
                return false;
            };
            match fields.lowered(slot) {
                Some(l) => m.is_match_with_lowered(s, l),
                None => m.is_match(s),
            }
        }
        // Scalars parsed once per event; arrays take the general path below.
        Test::Cidr(net) if matches!(v, Some(Value::String(_))) => {
            fields.ip(slot).is_some_and(|ip| ip_in(ip, net))
        }
        Test::TimePart(part, op, n) if !matches!(v, Some(Value::Array(_))) => fields
            .timestamp(slot)
            .is_some_and(|ts| op.test(ts.part(*part) as f64, *n)),
        Test::FieldRef {
            slot,
            position,
            cased,
        } => {
            let Some(other) = fields.get(*slot) else {
                return false;
            };
            let Some(v) = v else { return false };
            any_scalar(v, &mut |x| {
                any_scalar(other, &mut |o| field_ref(x, o, *position, *cased))
            })
        }
        _ => v.is_some_and(|v| any_scalar(v, &mut |x| scalar(t, x))),
    }
}

/// Applies `f` to a scalar, or to each element of an array (recursively).
fn any_scalar(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| any_scalar(i, f)),
        Value::Null => false,
        other => f(other),
    }
}

fn scalar(t: &Test, x: &Value) -> bool {
    match t {
        Test::Str(m) => text_of(x).is_some_and(|s| m.is_match(&s)),
        Test::Num(n) => number_of(x) == Some(*n),
        Test::Bool(b) => match x {
            Value::Bool(v) => v == b,
            Value::String(s) => s
                .trim()
                .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Test::Regex(re) => text_of(x).is_some_and(|s| re.is_match(&s)),
        Test::Cidr(net) => x.as_str().is_some_and(|s| in_network(s, net)),
        Test::Compare(op, n) => number_of(x).is_some_and(|v| op.test(v, *n)),
        Test::TimePart(part, op, n) => {
            Timestamp::from_json(x).is_some_and(|ts| op.test(ts.part(*part) as f64, *n))
        }
        Test::Null | Test::Exists(_) | Test::FieldRef { .. } => false,
    }
}

fn field_ref(x: &Value, other: &Value, position: Position, cased: bool) -> bool {
    let (Some(a), Some(b)) = (text_of(x), text_of(other)) else {
        return false;
    };
    let (a, b) = if cased {
        (a, b)
    } else {
        (lower(&a).into_owned().into(), lower(&b).into_owned().into())
    };
    let (a, b): (&str, &str) = (&a, &b);
    match position {
        Position::Whole => a == b,
        Position::Contains => a.contains(b),
        Position::Start => a.starts_with(b),
        Position::End => a.ends_with(b),
    }
}

/// Is the text an IP address inside `net`? IPv4-mapped IPv6 addresses count as IPv4.
pub fn in_network(s: &str, net: &Network) -> bool {
    parse_ip(s).is_some_and(|ip| ip_in(ip, net))
}

fn ip_in((bits, v4): IpBits, net: &Network) -> bool {
    v4 == net.v4 && mask(bits, net.prefix, if v4 { 32 } else { 128 }) == net.addr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::modifiers::parse_cidr;

    #[test]
    fn networks() {
        let n = parse_cidr("10.0.0.0/8").unwrap();
        assert!(in_network("10.1.2.3", &n));
        assert!(in_network("::ffff:10.1.2.3", &n));
        assert!(!in_network("11.0.0.1", &n));
        assert!(!in_network("fe80::1", &n));
        assert!(!in_network("-", &n));
        let v6 = parse_cidr("fe80::/10").unwrap();
        assert!(in_network("fe80::1%eth0", &v6));
        assert!(in_network("[fe80::1]", &v6));
        assert!(!in_network("10.0.0.1", &v6));
        let all = parse_cidr("0.0.0.0/0").unwrap();
        assert!(in_network("8.8.8.8", &all));
    }
}
