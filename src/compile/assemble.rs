//! Putting a rule set together: detection rules compiled into the shared plan, correlation
//! references resolved, correlations ordered and wired to the rules they consume.

use super::correlation::{CompiledCorrelation, GroupField, RuleRef, resolve, topological_order};
use super::{
    CompiledRule, Compiler, Item, Options, RuleIndex, RuleSet, Wiring, optimize, regex_set,
};
use crate::compile::plan::Plan;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::event::{FieldPath, FieldTable};
use crate::rule::{Reference, RuleMeta, TestDocument};
use std::sync::Arc;

/// Compiles the loaded documents into a rule set: detection rules into the shared plan,
/// then correlations resolved and wired, then the plan optimised and indexed.
pub(super) fn assemble(
    items: Vec<Item>,
    test_documents: Vec<TestDocument>,
    options: Options,
    mut diags: Diagnostics,
) -> Result<RuleSet, Diagnostics> {
    let mut set = empty_set(test_documents, options);
    let handles = handles(&items);
    let find = |name: &str| find_handle(&handles, name);
    compile_items(&mut set, &items, &find, &mut diags);
    for r in &set.rules {
        set.targets[usize::from(r.windows)] = true;
    }
    set.correlation_fields = correlation_fields(&mut set);
    set.correlation_paths = set
        .correlation_fields
        .iter()
        .map(|(_, name)| FieldPath::new(name))
        .collect();
    set.uses = slot_uses(&set);
    for t in &set.test_documents {
        if find(&t.rule).is_none() {
            diags.push(Diagnostic::new(
                Code::BadTest,
                &t.path,
                Some(t.span),
                format!("no loaded rule has the name or id `{}`", t.rule),
            ));
        }
    }
    let order = topological_order(&set.correlations, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    set.wiring = wire(&set, order);
    if set.options.optimize {
        optimize::order_by_cost(&mut set.plan);
        // Distinct regexes of one field, across rules, searched once per event.
        regex_set::share(&mut set.plan, regex_set::MIN_SET_SIZE);
    }
    set.index = RuleIndex::build(&set, set.options.use_index);
    set.items = items;
    set.warnings = diags;
    Ok(set)
}

/// A rule set with nothing compiled yet (the event fields every engine reads interned).
fn empty_set(test_documents: Vec<TestDocument>, options: Options) -> RuleSet {
    let mut set = RuleSet {
        rules: Vec::new(),
        correlations: Vec::new(),
        wiring: Wiring::default(),
        items: Vec::new(),
        options,
        plan: Plan::default(),
        fields: FieldTable::default(),
        index: RuleIndex::default(),
        test_documents,
        warnings: Diagnostics::default(),
        targets: [false; 2],
        event_slots: super::EventSlots::default(),
        uses: Vec::new(),
        correlation_fields: Vec::new(),
        correlation_paths: Vec::new(),
    };
    set.event_slots = super::EventSlots {
        timestamp: set.fields.intern("timestamp"),
        time_created: set.fields.intern("TimeCreated"),
        raw: set.fields.intern("raw"),
    };
    set
}

/// Each document's reference in the two lists (detections, correlations): positions are
/// known before anything is compiled.
fn handles(items: &[Item]) -> Vec<(RuleRef, &RuleMeta)> {
    let mut handles = Vec::new();
    let (mut nd, mut nc) = (0u32, 0u32);
    for it in items {
        match it {
            Item::Detection(r) => {
                handles.push((RuleRef::Detection(nd), &r.meta));
                nd += 1;
            }
            Item::Correlation(c) => {
                handles.push((RuleRef::Correlation(nc), &c.meta));
                nc += 1;
            }
        }
    }
    handles
}

/// A rule by id first, else by name (pySigma's rule).
fn find_handle(handles: &[(RuleRef, &RuleMeta)], name: &str) -> Option<RuleRef> {
    let by_id = handles.iter().find(|(_, m)| m.id.as_deref() == Some(name));
    by_id
        .or_else(|| {
            handles
                .iter()
                .find(|(_, m)| m.name.as_deref() == Some(name))
        })
        .map(|(r, _)| *r)
}

/// Compiles every document in load order: detection rules into the plan, correlations
/// with their references resolved.
fn compile_items(
    set: &mut RuleSet,
    items: &[Item],
    find: &dyn Fn(&str) -> Option<RuleRef>,
    diags: &mut Diagnostics,
) {
    // Identical field items of different rules compile to one predicate node, so that the
    // engine evaluates it once per event (see `predicate::Memo`).
    let mut shared = ahash::AHashMap::new();
    for (position, it) in items.iter().enumerate() {
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        match it {
            Item::Detection(r) => {
                super::field_check::unknown_fields(r, &set.options.extra_fields, diags);
                let mut c = Compiler {
                    plan: &mut set.plan,
                    fields: &mut set.fields,
                    path: &r.meta.path,
                    diags,
                    shared: &mut shared,
                };
                // A failed rule keeps its slot so that later positions stay right; the set
                // is rejected anyway.
                let root = c.rule(r).unwrap_or(0);
                set.rules.push(CompiledRule {
                    meta: Arc::new(r.meta.clone()),
                    position,
                    root,
                    windows: r
                        .logsource
                        .product
                        .as_deref()
                        .is_some_and(|p| p.eq_ignore_ascii_case("windows")),
                    tests: r.tests.clone(),
                });
            }
            Item::Correlation(c) => set
                .correlations
                .push(compile_correlation(c, position, find, diags)),
        }
    }
}

/// Every field correlations read (group-by names with their aliases, value fields),
/// sorted, interned.
fn correlation_fields(set: &mut RuleSet) -> Vec<(crate::event::Slot, String)> {
    let mut names: Vec<String> = set
        .correlations
        .iter()
        .flat_map(|c| {
            c.group_by
                .iter()
                .flat_map(|g| {
                    std::iter::once(g.path.name.clone())
                        .chain(g.by_rule.iter().map(|(_, p)| p.name.clone()))
                })
                .chain(c.fields.iter().map(|f| f.name.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    let col = |name: &str| {
        let i = names.binary_search_by(|n| n.as_str().cmp(name));
        // Every name was collected above.
        u32::try_from(i.unwrap_or(0)).unwrap_or(0)
    };
    for c in &mut set.correlations {
        for g in &mut c.group_by {
            g.col = col(&g.path.name);
            g.by_rule_cols = g.by_rule.iter().map(|(_, p)| col(&p.name)).collect();
        }
        c.field_cols = c.fields.iter().map(|f| col(&f.name)).collect();
    }
    names
        .into_iter()
        .map(|n| (set.fields.intern(&n), n))
        .collect()
}

fn compile_correlation(
    c: &crate::rule::Correlation,
    position: u32,
    find: &dyn Fn(&str) -> Option<RuleRef>,
    diags: &mut Diagnostics,
) -> CompiledCorrelation {
    let path = c.meta.path.as_str();
    let list = |refs: &[Reference], diags: &mut Diagnostics| -> Vec<RuleRef> {
        refs.iter()
            .filter_map(|r| resolve(r, find, path, diags))
            .collect()
    };
    let rules = list(&c.rules, diags);
    let expected = list(&c.expected, diags);
    let reset = list(&c.reset, diags);
    let trigger = list(&c.trigger, diags);
    let group_by = c
        .group_by
        .iter()
        .map(|g| {
            let by_rule = c
                .aliases
                .iter()
                .filter(|a| &a.name == g)
                .flat_map(|a| a.fields.iter())
                .filter_map(|(r, f)| {
                    resolve(r, find, path, diags).map(|rr| (rr, FieldPath::new(f)))
                })
                .collect();
            GroupField {
                name: g.clone(),
                path: FieldPath::new(g),
                by_rule,
                col: 0,
                by_rule_cols: Vec::new(),
            }
        })
        .collect();
    for a in &c.aliases {
        if !c.group_by.contains(&a.name) {
            diags.push(Diagnostic::new(
                Code::BadCorrelation,
                path,
                Some(c.meta.span),
                format!("alias `{}` is not used in `group-by`", a.name),
            ));
        }
    }
    let me = find(
        c.meta
            .name
            .as_deref()
            .or(c.meta.id.as_deref())
            .unwrap_or_default(),
    );
    for r in rules.iter().chain(&expected).chain(&reset).chain(&trigger) {
        if Some(*r) == me && me.is_some() {
            diags.push(Diagnostic::new(
                Code::ReferenceCycle,
                path,
                Some(c.meta.span),
                format!("correlation `{}` references itself", c.meta.handle()),
            ));
        }
    }
    CompiledCorrelation {
        meta: Arc::new(c.meta.clone()),
        position,
        def: c.clone(),
        rules,
        expected,
        reset,
        trigger,
        group_by,
        fields: c.fields.iter().map(|f| FieldPath::new(f)).collect(),
        field_cols: Vec::new(),
    }
}

fn wire(set: &RuleSet, order: Vec<u32>) -> Wiring {
    let mut w = Wiring {
        by_detection: vec![Vec::new(); set.rules.len()],
        by_correlation: vec![Vec::new(); set.correlations.len()],
        silent_detection: vec![false; set.rules.len()],
        silent_correlation: vec![false; set.correlations.len()],
        order: Vec::new(),
    };
    // Named by some correlation, and by none that says `generate: true`.
    let mut named = (
        vec![false; set.rules.len()],
        vec![false; set.correlations.len()],
    );
    let mut generated = named.clone();
    for &ci in &order {
        let c = &set.correlations[ci as usize];
        let mut inputs: Vec<RuleRef> = c.inputs().collect();
        inputs.sort();
        inputs.dedup();
        for r in inputs {
            let (list, n, g) = match r {
                RuleRef::Detection(i) => (
                    &mut w.by_detection[i as usize],
                    &mut named.0[i as usize],
                    &mut generated.0[i as usize],
                ),
                RuleRef::Correlation(i) => (
                    &mut w.by_correlation[i as usize],
                    &mut named.1[i as usize],
                    &mut generated.1[i as usize],
                ),
            };
            list.push(ci);
            *n = true;
            *g |= c.def.generate;
        }
    }
    for i in 0..set.rules.len() {
        w.silent_detection[i] = named.0[i] && !generated.0[i];
    }
    for i in 0..set.correlations.len() {
        w.silent_correlation[i] = named.1[i] && !generated.1[i];
    }
    w.order = order;
    w
}

/// Which readings each slot needs: IP addresses for `cidr`, times for time parts and for the
/// engine's event time.
fn slot_uses(set: &RuleSet) -> Vec<crate::event::Uses> {
    use super::plan::{Node, Test};
    let mut uses = vec![crate::event::Uses::default(); set.fields.len()];
    for node in &set.plan.nodes {
        let Node::Pred(p) = node else { continue };
        let Some(slot) = p.slot else { continue };
        uses[slot as usize].read = true;
        for t in &p.tests {
            match t {
                Test::Cidr(_) => uses[slot as usize].ip = true,
                Test::TimePart(..) => uses[slot as usize].time = true,
                // Regexes too: the rule index looks for their literals in lower-cased text.
                Test::Str(_) | Test::Bool(_) | Test::Regex(_) => uses[slot as usize].lower = true,
                _ => {}
            }
        }
    }
    uses[set.event_slots.timestamp as usize].time = true;
    uses[set.event_slots.time_created as usize].time = true;
    uses
}
