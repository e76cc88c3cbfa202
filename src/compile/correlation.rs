//! Correlation rules compiled against the rule set: references resolved to positions,
//! group-by fields (with aliases) pre-split, correlations ordered so that a correlation is
//! always evaluated after the correlations it consumes.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::event::FieldPath;
use crate::rule::{Correlation, Reference, RuleMeta};
use std::sync::Arc;

/// A rule of the set: a detection rule or a correlation, by index in its own list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum RuleRef {
    /// Index into the detection rules.
    Detection(u32),
    /// Index into the correlations.
    Correlation(u32),
}

/// One `group-by` entry: its name and where each input carries its value.
#[derive(Debug, Clone)]
pub struct GroupField {
    /// The name used in alerts (a field name or an alias).
    pub name: String,
    /// The field read by default (the name itself).
    pub path: FieldPath,
    /// Alias fields per referenced rule.
    pub by_rule: Vec<(RuleRef, FieldPath)>,
    /// The correlation column of `path` (the rule set's `correlation_fields`).
    pub col: u32,
    /// The columns of `by_rule`, in its order.
    pub by_rule_cols: Vec<u32>,
}

impl GroupField {
    /// The correlation column to read for an input that arrived through `via`.
    pub fn col_for(&self, via: RuleRef) -> u32 {
        self.by_rule
            .iter()
            .position(|(r, _)| *r == via)
            .and_then(|i| self.by_rule_cols.get(i).copied())
            .unwrap_or(self.col)
    }
}

/// A correlation ready to run.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    /// Identity and labels, shared with alerts.
    pub meta: Arc<RuleMeta>,
    /// Position in the whole rule set (load order), for alert ordering.
    pub position: u32,
    /// The rule as written (type, durations, condition, ...).
    pub def: Correlation,
    /// `rules`, resolved.
    pub rules: Vec<RuleRef>,
    /// `expected`, resolved.
    pub expected: Vec<RuleRef>,
    /// `reset`, resolved.
    pub reset: Vec<RuleRef>,
    /// `trigger`, resolved.
    pub trigger: Vec<RuleRef>,
    /// `group-by` with aliases.
    pub group_by: Vec<GroupField>,
    /// `condition.field` or `field`.
    pub fields: Vec<FieldPath>,
    /// The correlation columns of `fields`.
    pub field_cols: Vec<u32>,
}

impl CompiledCorrelation {
    /// Every rule this correlation consumes, in any role.
    pub fn inputs(&self) -> impl Iterator<Item = RuleRef> + '_ {
        self.rules
            .iter()
            .chain(&self.expected)
            .chain(&self.reset)
            .chain(&self.trigger)
            .copied()
    }
}

/// Resolves a reference: a UUID-shaped string by id first, else by name (pySigma's rule).
pub fn resolve(
    r: &Reference,
    find: &dyn Fn(&str) -> Option<RuleRef>,
    path: &str,
    diags: &mut Diagnostics,
) -> Option<RuleRef> {
    let found = find(&r.name);
    if found.is_none() {
        diags.push(
            Diagnostic::new(
                Code::UnknownReference,
                path,
                Some(r.span),
                format!("no loaded rule has the name or id `{}`", r.name),
            )
            .with_label("referenced here"),
        );
    }
    found
}

/// Orders correlations so that each comes after those it consumes; reports cycles.
pub fn topological_order(
    correlations: &[CompiledCorrelation],
    diags: &mut Diagnostics,
) -> Vec<u32> {
    let n = correlations.len();
    let mut indegree = vec![0usize; n];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, c) in correlations.iter().enumerate() {
        let mut seen = Vec::new();
        for r in c.inputs() {
            if let RuleRef::Correlation(j) = r {
                if !seen.contains(&j) {
                    seen.push(j);
                    indegree[i] += 1;
                    consumers[j as usize].push(i);
                }
            }
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i as u32);
        for &j in &consumers[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push_back(j);
            }
        }
    }
    for (i, c) in correlations.iter().enumerate() {
        if indegree[i] > 0 {
            diags.push(Diagnostic::new(
                Code::ReferenceCycle,
                &c.meta.path,
                Some(c.meta.span),
                format!(
                    "correlation `{}` is part of a reference cycle",
                    c.meta.handle()
                ),
            ));
        }
    }
    order
}
