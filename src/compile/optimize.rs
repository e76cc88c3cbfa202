//! Plan optimisation: evaluate cheap children of `and`/`or` first.
//!
//! Evaluation is pure, so the order of children never changes a result, only how soon
//! `and` finds a false child or `or` a true one. Every rule test and conformance case runs
//! with and without this pass.

use super::plan::{Node, NodeId, Plan, Test};

/// Sorts the children of every `and`/`or` node by estimated cost (stable).
pub fn order_by_cost(plan: &mut Plan) {
    // Children are always pushed before their parent, so one ascending pass sees every
    // child's cost before the parent needs it.
    let mut costs = Vec::with_capacity(plan.nodes.len());
    for i in 0..plan.nodes.len() {
        let cost = match &plan.nodes[i] {
            Node::Pred(p) if p.slot.is_none() => 50,
            Node::Pred(p) => p.tests.iter().map(test_cost).sum(),
            Node::Not(k) => costs[*k as usize],
            Node::And(kids) | Node::Or(kids) => kids.iter().map(|k| costs[*k as usize]).sum(),
        };
        costs.push(cost);
        if let Node::And(kids) | Node::Or(kids) = &mut plan.nodes[i] {
            kids.sort_by_key(|k: &NodeId| costs[*k as usize]);
        }
    }
}

fn test_cost(t: &Test) -> u32 {
    match t {
        Test::Null | Test::Exists(_) | Test::Num(_) | Test::Bool(_) => 1,
        Test::Str(m) if m.exact_only().is_some() => 1,
        Test::Str(_) | Test::Compare(..) => 3,
        Test::Cidr(_) => 4,
        Test::TimePart(..) | Test::FieldRef { .. } => 5,
        Test::Regex(_) => 12,
    }
}
