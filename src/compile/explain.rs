//! `explain`: the compiled plan of one rule as an indented tree.

use super::plan::{Node, NodeId, Test};
use super::{RuleRef, RuleSet};
use std::fmt::Write as _;

pub(super) fn explain(set: &RuleSet, rule: RuleRef) -> String {
    let mut out = String::new();
    let meta = set.meta(rule);
    let _ = writeln!(out, "rule {} ({})", meta.handle(), meta.title);
    let _ = writeln!(out, "  file: {}", meta.path);
    match rule {
        RuleRef::Detection(i) => {
            let r = &set.rules[i as usize];
            let _ = writeln!(out, "  index: {}", set.index.describe(i, &set.fields));
            if set.wiring.silent_detection[i as usize] {
                let _ = writeln!(
                    out,
                    "  own alerts: off (consumed by a correlation with generate: false)"
                );
            }
            let _ = writeln!(out, "  plan:");
            node(set, r.root, 2, &mut out);
        }
        RuleRef::Correlation(i) => {
            let c = &set.correlations[i as usize];
            let names = |refs: &[RuleRef]| {
                refs.iter()
                    .map(|r| set.meta(*r).handle().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "  type: {}", c.def.kind.as_str());
            let _ = writeln!(out, "  rules: [{}]", names(&c.rules));
            let groups: Vec<String> = c
                .group_by
                .iter()
                .map(|g| {
                    let aliases: Vec<String> = g
                        .by_rule
                        .iter()
                        .map(|(r, p)| format!("{} from {}", p.name, set.meta(*r).handle()))
                        .collect();
                    if aliases.is_empty() {
                        g.name.clone()
                    } else {
                        format!("{} ({})", g.name, aliases.join(", "))
                    }
                })
                .collect();
            let _ = writeln!(out, "  group-by: [{}]", groups.join(", "));
            if let Some(t) = c.def.timespan {
                let _ = writeln!(out, "  timespan: {}", crate::time::format_duration(t));
            }
            for (what, refs) in [
                ("expected", &c.expected),
                ("reset", &c.reset),
                ("trigger", &c.trigger),
            ] {
                if !refs.is_empty() {
                    let _ = writeln!(out, "  {what}: [{}]", names(refs));
                }
            }
            if !c.def.condition.is_empty() {
                let _ = writeln!(
                    out,
                    "  condition: {}",
                    crate::rule::CmpOp::describe_all(&c.def.condition, "value")
                );
            }
            if set.wiring.silent_correlation[i as usize] {
                let _ = writeln!(
                    out,
                    "  own alerts: off (consumed by a correlation with generate: false)"
                );
            }
        }
    }
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
        Test::Regex(re) => match re.shared {
            Some(shared) => format!(
                "regex /{}/ (pattern {} of shared regex set {})",
                re.regex.as_str(),
                shared.pattern.as_usize(),
                shared.set
            ),
            None => format!("regex /{}/", re.regex.as_str()),
        },
        Test::Cidr(n) => format!("cidr {} /{}", if n.v4 { "ipv4" } else { "ipv6" }, n.prefix),
        Test::Compare(op, n) => format!("number {} {n}", op.symbol()),
        Test::TimePart(p, op, n) => format!("{} of timestamp {} {n}", p.name(), op.symbol()),
        Test::FieldRef {
            slot,
            position,
            cased,
        } => {
            let how = match position {
                crate::rule::Position::Whole => "equals",
                crate::rule::Position::Contains => "contains",
                crate::rule::Position::Start => "starts with",
                crate::rule::Position::End => "ends with",
            };
            format!(
                "{how} field `{}`{}",
                set.fields.path(*slot).name,
                if *cased { " (cased)" } else { "" }
            )
        }
    }
}
