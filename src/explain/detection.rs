//! Why a detection rule did or did not match one event: its condition as a tree, each
//! search, field item and value marked true, false or missing, with the value compared.
//!
//! Every verdict comes from the engine's own evaluator: each field item of the rule (and
//! each of its values, and the presence of its field) is compiled as a rule of its own into
//! a probe rule set, which matches the event once. The tree above the items is the
//! condition's boolean logic over those verdicts, and its root is checked against the rule's
//! verdict in the real rule set.

use super::tree::{Line, Verdict};
use crate::compile::{Options, RuleSet};
use crate::condition::{Cond, CondKind, CondSpan, Quantifier};
use crate::event::{FieldPath, text_of};
use crate::rule::{
    Detection, FieldItem, Rule, RuleMeta, Search, SearchNames, Selection, ValueTest,
};
use serde_json::Value;

/// The probes of one field item: indices of probe rules in the probe set.
struct ItemProbes {
    whole: usize,
    exists: Option<usize>,
    values: Vec<usize>,
}

/// The verdicts of a detection rule's parts on one object (the text a rule of its target
/// reads), as tree lines.
pub(super) struct DetectionTree {
    /// The tree, from the condition down.
    pub lines: Vec<Line>,
    /// The condition's verdict computed over the parts.
    pub holds: bool,
}

/// Builds the tree of `rule` over the JSON object `text`.
pub(super) fn tree(rule: &Rule, text: &str, object: &Value) -> Result<DetectionTree, String> {
    let mut probes = Vec::new();
    let mut items = Vec::new();
    for s in &rule.detection.searches {
        collect(&s.selection, rule, &mut probes, &mut items);
    }
    let set = RuleSet::from_rules(
        probes,
        Options {
            use_index: false,
            optimize: false,
            placeholders: None,
            extra_fields: Vec::new(),
        },
    )
    .map_err(|d| format!("the rule's parts do not compile on their own: {d}"))?;
    let matched = evaluate(&set, text, rule_is_windows(rule))?;
    let mut ctx = Ctx {
        matched: &matched,
        items: &items,
        next: 0,
        object,
    };
    let searches: Vec<(bool, Vec<Line>)> = rule
        .detection
        .searches
        .iter()
        .map(|s| ctx.search(s))
        .collect();
    let mut lines = Vec::new();
    let names = SearchNames::new(rule.detection.searches.iter().map(|s| s.name.as_str()));
    let mut cond = CondTree {
        searches: &searches,
        defs: &rule.detection.searches,
        names,
    };
    let holds = match rule.detection.conditions.as_slice() {
        [one] => cond.node(one, 0, &mut lines, true),
        many => {
            let or = Cond {
                span: CondSpan::default(),
                kind: CondKind::Or(many.to_vec()),
            };
            cond.node(&or, 0, &mut lines, true)
        }
    };
    Ok(DetectionTree { lines, holds })
}

fn rule_is_windows(rule: &Rule) -> bool {
    rule.logsource
        .product
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("windows"))
}

/// The probe rules of every field item under `s`, in pre-order.
fn collect(s: &Selection, rule: &Rule, probes: &mut Vec<Rule>, items: &mut Vec<ItemProbes>) {
    match s {
        Selection::All(kids) | Selection::Any(kids) => {
            for k in kids {
                collect(k, rule, probes, items);
            }
        }
        Selection::Item(item) => {
            let mut add = |it: FieldItem| {
                probes.push(probe(rule, probes.len(), it));
                probes.len() - 1
            };
            let whole = add(item.clone());
            let exists = item.field.as_ref().map(|_| {
                add(FieldItem {
                    values: vec![ValueTest::Exists(true)],
                    written: vec!["exists".into()],
                    all: false,
                    neq: false,
                    ..item.clone()
                })
            });
            let values = if item.values.len() > 1 {
                item.values
                    .iter()
                    .zip(&item.written)
                    .map(|(v, w)| {
                        add(FieldItem {
                            values: vec![v.clone()],
                            written: vec![w.clone()],
                            all: false,
                            neq: false,
                            ..item.clone()
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            items.push(ItemProbes {
                whole,
                exists,
                values,
            });
        }
    }
}

/// A rule of one field item, for the same target as `rule`.
fn probe(rule: &Rule, n: usize, item: FieldItem) -> Rule {
    let span = item.span;
    Rule {
        meta: RuleMeta {
            name: Some(format!("probe-{n}")),
            title: format!("probe {n}"),
            path: rule.meta.path.clone(),
            span,
            ..RuleMeta::default()
        },
        logsource: rule.logsource.clone(),
        detection: Detection {
            searches: vec![Search {
                name: "item".into(),
                span,
                selection: Selection::Item(item),
            }],
            conditions: vec![Cond {
                span: CondSpan::default(),
                kind: CondKind::Ident("item".into()),
            }],
        },
        tests: Vec::new(),
    }
}

/// Which probe rules match the object `text`.
fn evaluate(set: &RuleSet, text: &str, windows: bool) -> Result<Vec<bool>, String> {
    let mut matched = vec![false; set.rules.len()];
    for i in super::matching(set, text, windows)? {
        matched[i as usize] = true;
    }
    Ok(matched)
}

struct Ctx<'a> {
    matched: &'a [bool],
    items: &'a [ItemProbes],
    next: usize,
    object: &'a Value,
}

impl Ctx<'_> {
    /// A search's verdict and its lines (depth 0 = the search's children).
    fn search(&mut self, s: &Search) -> (bool, Vec<Line>) {
        let mut lines = Vec::new();
        let holds = match &s.selection {
            // A map's entries and a list's maps are shown directly under the search.
            Selection::All(kids) | Selection::Any(kids) => {
                let all = matches!(s.selection, Selection::All(_));
                let mut results = Vec::new();
                for (i, k) in kids.iter().enumerate() {
                    results.push(self.selection(k, 0, &mut lines, (!all).then_some(i)));
                }
                if all {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                }
            }
            Selection::Item(_) => self.selection(&s.selection, 0, &mut lines, None),
        };
        (holds, lines)
    }

    /// Lines of one selection node; `alternative` numbers the maps of a list.
    fn selection(
        &mut self,
        s: &Selection,
        depth: usize,
        out: &mut Vec<Line>,
        alternative: Option<usize>,
    ) -> bool {
        match s {
            Selection::Item(item) => self.item(item, depth, out),
            Selection::All(kids) | Selection::Any(kids) => {
                let all = matches!(s, Selection::All(_));
                let at = out.len();
                let label = match alternative {
                    Some(i) => format!("map {} of the list", i + 1),
                    None if all => "all of".to_string(),
                    None => "one of".to_string(),
                };
                out.push(Line::new(depth, label, None));
                let results: Vec<bool> = kids
                    .iter()
                    .enumerate()
                    .map(|(i, k)| self.selection(k, depth + 1, out, (!all).then_some(i)))
                    .collect();
                let holds = if all {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                };
                out[at].verdict = Some(Verdict::of(holds));
                holds
            }
        }
    }

    fn item(&mut self, item: &FieldItem, depth: usize, out: &mut Vec<Line>) -> bool {
        let probes = &self.items[self.next];
        self.next += 1;
        let holds = self.matched[probes.whole];
        let present = probes.exists.is_none_or(|e| self.matched[e]);
        let verdict = if !holds && !present {
            Verdict::Missing
        } else {
            Verdict::of(holds)
        };
        let field = item.field.as_deref();
        let shown = match field {
            Some(f) => match FieldPath::new(f).resolve(self.object) {
                Some(v) => format!("{f} = {}", short(v)),
                None => format!("{f} is not in the event"),
            },
            None => "any string of the event".to_string(),
        };
        let at = format!("line {}", item.span.line);
        let label = if item.values.len() == 1 {
            format!("{}: {}", key_label(item), item.written[0])
        } else {
            key_label(item)
        };
        out.push(Line::new(depth, label, Some(verdict)).with_note(format!("{shown} ({at})")));
        for (p, w) in probes.values.iter().zip(&item.written) {
            out.push(Line::new(
                depth + 1,
                w.clone(),
                Some(Verdict::of(self.matched[*p])),
            ));
        }
        holds
    }
}

/// The key of an item as written; keyword lists have none.
fn key_label(item: &FieldItem) -> String {
    if item.key.is_empty() {
        "keywords".to_string()
    } else {
        item.key.clone()
    }
}

/// A value as JSON, cut to a readable length.
fn short(v: &Value) -> String {
    const MAX: usize = 80;
    let s = match text_of(v) {
        Some(t) if v.is_string() => Value::String(t.into_owned()).to_string(),
        _ => v.to_string(),
    };
    if s.chars().count() <= MAX {
        s
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// The condition over the searches' verdicts.
struct CondTree<'a> {
    searches: &'a [(bool, Vec<Line>)],
    defs: &'a [Search],
    names: SearchNames<'a>,
}

impl CondTree<'_> {
    fn node(&mut self, c: &Cond, depth: usize, out: &mut Vec<Line>, root: bool) -> bool {
        let at = out.len();
        let prefix = if root { "condition: " } else { "" };
        out.push(Line::new(depth, format!("{prefix}{}", shown(c)), None));
        let holds = match &c.kind {
            // Every child is shown, so none is skipped once the answer is known.
            CondKind::And(kids) | CondKind::Or(kids) => {
                let results: Vec<bool> = kids
                    .iter()
                    .map(|k| self.node(k, depth + 1, out, false))
                    .collect();
                if matches!(c.kind, CondKind::And(_)) {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                }
            }
            CondKind::Not(inner) => !self.node(inner, depth + 1, out, false),
            CondKind::Ident(name) => match self.names.find(name) {
                Some(i) => self.search(i, depth, out),
                None => false,
            },
            CondKind::Selector(q, target) => {
                let selected = self.names.selected(target).to_vec();
                let results: Vec<bool> = selected
                    .iter()
                    .map(|&i| {
                        let line = out.len();
                        out.push(Line::new(depth + 1, self.defs[i].name.clone(), None));
                        let r = self.search(i, depth + 1, out);
                        out[line].verdict = Some(Verdict::of(r));
                        r
                    })
                    .collect();
                match q {
                    Quantifier::Any => results.iter().any(|r| *r),
                    Quantifier::All => results.iter().all(|r| *r),
                }
            }
        };
        out[at].verdict = Some(Verdict::of(holds));
        holds
    }

    /// The lines of search `i` under a line at `depth`.
    fn search(&self, i: usize, depth: usize, out: &mut Vec<Line>) -> bool {
        let (holds, lines) = &self.searches[i];
        out.extend(lines.iter().map(|l| Line {
            depth: l.depth + depth + 1,
            ..l.clone()
        }));
        *holds
    }
}

/// A condition node as the author would write it: no parentheses around the whole.
fn shown(c: &Cond) -> String {
    let s = c.to_string();
    match &c.kind {
        CondKind::And(_) | CondKind::Or(_) => s
            .strip_prefix('(')
            .and_then(|x| x.strip_suffix(')'))
            .map_or(s.clone(), str::to_string),
        _ => s,
    }
}
