//! `explain`: the compiled plan of one rule as an indented tree.

use super::RuleSet;
use super::plan::{Node, NodeId, Test};
use std::fmt::Write as _;

pub(super) fn explain(set: &RuleSet, rule: usize) -> String {
    let r = &set.rules[rule];
    let mut out = String::new();
    let _ = writeln!(out, "rule {} ({})", r.meta.handle(), r.meta.title);
    let _ = writeln!(out, "  file: {}", r.meta.path);
    let i = u32::try_from(rule).unwrap_or(u32::MAX);
    let _ = writeln!(out, "  index: {}", set.index.describe(i, &set.fields));
    let _ = writeln!(out, "  plan:");
    node(set, r.root, 2, &mut out);
    out
}

fn node(set: &RuleSet, id: NodeId, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match set.plan.node(id) {
        Node::And(kids) | Node::Or(kids) => {
            let op = if matches!(set.plan.node(id), Node::And(_)) {
                "and"
            } else {
                "or"
            };
            let _ = writeln!(out, "{pad}{op}");
            for k in kids {
                node(set, *k, depth + 1, out);
            }
        }
        Node::Not(k) => {
            let _ = writeln!(out, "{pad}not");
            node(set, *k, depth + 1, out);
        }
        Node::Pred(p) => {
            let field = p.slot.map_or_else(
                || "<keywords>".to_string(),
                |s| set.fields.path(s).name.clone(),
            );
            let mode = match (p.all, p.neq) {
                (false, false) => "any of",
                (true, false) => "all of",
                (false, true) => "none of (neq)",
                (true, true) => "not all of (neq)",
            };
            let _ = writeln!(out, "{pad}{field}: {mode}");
            for t in &p.tests {
                let _ = writeln!(out, "{pad}  - {}", describe(set, t));
            }
        }
    }
}

fn describe(set: &RuleSet, t: &Test) -> String {
    match t {
        Test::Str(m) => m.describe(),
        Test::Num(n) => format!("number = {n}"),
        Test::Bool(b) => format!("boolean = {b}"),
        Test::Null => "missing or null".to_string(),
        Test::Exists(b) => format!("exists = {b}"),
        Test::Regex(re) => format!("regex /{}/", re.as_str()),
        Test::Cidr(n) => format!("cidr {} /{}", if n.v4 { "ipv4" } else { "ipv6" }, n.prefix),
        Test::Compare(op, n) => format!("number {op:?} {n}"),
        Test::TimePart(p, op, n) => format!("{p:?} of timestamp {op:?} {n}"),
        Test::FieldRef {
            slot,
            position,
            cased,
        } => {
            format!(
                "field `{}` ({position:?}{})",
                set.fields.path(*slot).name,
                if *cased { ", cased" } else { "" }
            )
        }
    }
}
