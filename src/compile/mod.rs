//! Typed rules → a [`RuleSet`]: one predicate arena for all rules, interned fields, merged
//! matchers, and an index from required literal values to the rules that need them.

mod assemble;
pub mod correlation;
mod explain;
mod field_check;
pub(crate) mod index;
pub mod matcher;
mod optimize;
pub mod plan;
mod regex_literals;
mod regex_set;

pub use correlation::{CompiledCorrelation, RuleRef};
pub use index::RuleIndex;
use matcher::{StrMatcher, compile_regex};
use plan::{FieldPred, Node, NodeId, Plan, Test};

use crate::condition::{Cond, CondKind, Quantifier};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::event::FieldTable;
use crate::rule::{
    self, Correlation, FieldItem, Loaded, Placeholders, Rule, RuleMeta, RuleTest, Selection,
    TestDocument, ValueTest,
};
use std::sync::Arc;

/// A rule compiled into the shared plan.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Identity and labels, shared with alerts.
    pub meta: Arc<RuleMeta>,
    /// Position in the whole rule set (load order), for alert ordering.
    pub position: u32,
    /// The root node of its condition.
    pub root: NodeId,
    /// `logsource: product: windows`: evaluated against flattened Windows records, not
    /// session events (docs/semantics.md §5).
    pub windows: bool,
    /// Its embedded tests.
    pub tests: Vec<RuleTest>,
}

/// Options for building a rule set.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use the literal-value rule index (turn off to test the index itself).
    pub use_index: bool,
    /// Run the plan optimisation passes (turn off to test them).
    pub optimize: bool,
    /// Placeholder values for `expand`.
    pub placeholders: Option<Placeholders>,
    /// Fields that `user_session` rules may name besides the session model's (W504).
    pub extra_fields: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            use_index: true,
            optimize: true,
            placeholders: None,
            extra_fields: Vec::new(),
        }
    }
}

/// A loaded document, kept so that a subset of the rule set can be rebuilt (rule tests).
#[derive(Debug, Clone)]
pub(crate) enum Item {
    Detection(Rule),
    Correlation(Correlation),
}

impl Item {
    fn meta(&self) -> &RuleMeta {
        match self {
            Item::Detection(r) => &r.meta,
            Item::Correlation(c) => &c.meta,
        }
    }
}

/// Which correlations consume each rule, and which rules alert on their own.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wiring {
    /// Topological order of the correlations (consumed before consumers).
    pub order: Vec<u32>,
    /// For each detection rule, the correlations that consume it (in `order`).
    pub by_detection: Vec<Vec<u32>>,
    /// For each correlation, the correlations that consume it (in `order`).
    pub by_correlation: Vec<Vec<u32>>,
    /// Detection rules whose own alerts are silenced (`generate: false`).
    pub silent_detection: Vec<bool>,
    /// Correlations whose own alerts are silenced.
    pub silent_correlation: Vec<bool>,
}

/// Rules ready to evaluate. Build one with [`RuleSet::builder`].
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) correlations: Vec<CompiledCorrelation>,
    pub(crate) wiring: Wiring,
    pub(crate) items: Vec<Item>,
    pub(crate) options: Options,
    pub(crate) plan: Plan,
    pub(crate) fields: FieldTable,
    pub(crate) index: RuleIndex,
    pub(crate) test_documents: Vec<TestDocument>,
    warnings: Diagnostics,
    /// Whether any detection rule is for session events (`[0]`) / Windows records (`[1]`).
    pub(crate) targets: [bool; 2],
    /// The fields the engine itself reads: `timestamp`, `TimeCreated` and `raw`.
    pub(crate) event_slots: EventSlots,
    /// Per slot, the readings its predicates need (for projection).
    pub(crate) uses: Vec<crate::event::Uses>,
    /// Every field a correlation reads (group-by fields, aliases, value fields), with its
    /// slot: the engine hands correlations just these.
    pub(crate) correlation_fields: Vec<(crate::event::Slot, String)>,
    /// The same columns' names as paths, for reading them from a JSON object.
    pub(crate) correlation_paths: Vec<crate::event::FieldPath>,
}

/// The slots of the fields the engine reads from every event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventSlots {
    /// Event time of a session event.
    pub timestamp: crate::event::Slot,
    /// Event time of a flattened Windows record.
    pub time_created: crate::event::Slot,
    /// The flattened Windows record inside a session event made from one.
    pub raw: crate::event::Slot,
}

impl RuleSet {
    /// A builder with default options.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Every rule (detections and correlations), in load order.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.items.iter().map(Item::meta)
    }

    /// Every rule with its type as alerts name it (`detection`, `event_count`, ...), in
    /// load order.
    pub fn rules_with_types(&self) -> impl Iterator<Item = (&RuleMeta, &'static str)> {
        self.items.iter().map(|it| match it {
            Item::Detection(r) => (&r.meta, "detection"),
            Item::Correlation(c) => (&c.meta, c.kind.as_str()),
        })
    }

    /// Number of rules (detections and correlations).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of correlation rules.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// A reader of events projected onto this rule set's fields (what the engine uses;
    /// exposed for benchmarks and tools).
    #[doc(hidden)]
    pub fn projector(&self) -> crate::event::Projector {
        crate::event::Projector::new(&self.fields, &self.uses, &crate::event::MARKER_KEYS)
    }

    /// Does any detection rule evaluate this target (Windows records, or session events)?
    pub(crate) fn has_target(&self, windows: bool) -> bool {
        self.targets[usize::from(windows)]
    }

    /// The identity of a rule.
    pub(crate) fn meta(&self, r: RuleRef) -> &Arc<RuleMeta> {
        match r {
            RuleRef::Detection(i) => &self.rules[i as usize].meta,
            RuleRef::Correlation(i) => &self.correlations[i as usize].meta,
        }
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// The rule with this name, id or title.
    pub fn find(&self, handle: &str) -> Option<RuleRef> {
        let all = || {
            let d = self
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (RuleRef::Detection(i as u32), r.meta.as_ref()));
            let c = self
                .correlations
                .iter()
                .enumerate()
                .map(|(i, r)| (RuleRef::Correlation(i as u32), r.meta.as_ref()));
            d.chain(c)
        };
        let by = |f: &dyn Fn(&RuleMeta) -> bool| all().find(|(_, m)| f(m)).map(|(r, _)| r);
        by(&|m| m.name.as_deref() == Some(handle))
            .or_else(|| by(&|m| m.id.as_deref() == Some(handle)))
            .or_else(|| by(&|m| m.title == handle))
    }

    /// The compiled plan of one rule, as text.
    pub fn explain(&self, rule: RuleRef) -> String {
        explain::explain(self, rule)
    }
}

/// Collects rule texts, then compiles them all (`build`).
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    options: Options,
    sources: Vec<(String, String)>,
    diags: Diagnostics,
}

impl RuleSetBuilder {
    /// Sets the options.
    pub fn options(&mut self, options: Options) -> &mut Self {
        self.options = options;
        self
    }

    /// Adds the text of one rule file; `path` names it in diagnostics.
    /// A leading byte-order mark is not part of the rule.
    pub fn add_str(&mut self, path: impl Into<String>, text: impl Into<String>) -> &mut Self {
        let text: String = text.into();
        let text = match crate::file::without_bom(&text).len() {
            n if n == text.len() => text,
            n => text[text.len() - n..].to_string(),
        };
        self.sources.push((path.into(), text));
        self
    }

    /// Adds a file, or every `*.yml`/`*.yaml` under a directory (sorted, recursive).
    pub fn add_path(&mut self, path: &std::path::Path) -> &mut Self {
        let mut files = Vec::new();
        if let Err(e) = collect_files(path, &mut files) {
            self.diags.push(Diagnostic::new(
                Code::YamlSyntax,
                &path.display().to_string(),
                None,
                format!("cannot read: {e}"),
            ));
        }
        for f in files {
            let shown = f.display().to_string();
            match crate::file::read_bounded(&f, crate::file::MAX_RULE_FILE) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        self.add_str(shown, text);
                    }
                    Err(e) => {
                        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                        let text = String::from_utf8_lossy(valid);
                        let line = text.matches('\n').count() + 1;
                        let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count());
                        self.diags.push(Diagnostic::new(
                            Code::YamlSyntax,
                            &shown,
                            Some(crate::diag::Span::new(line, col, 1)),
                            "the file is not valid UTF-8",
                        ));
                    }
                },
                Err(e) => self.diags.push(Diagnostic::new(
                    Code::YamlSyntax,
                    &shown,
                    None,
                    format!("cannot read: {e}"),
                )),
            }
        }
        self
    }

    /// Loads and compiles everything added. On any error, returns every diagnostic
    /// (warnings included); on success the warnings stay available on the rule set.
    pub fn build(&self) -> Result<RuleSet, Diagnostics> {
        let (items, test_documents, mut diags) = self.load();
        check_unique(&items, &mut diags);
        assemble::assemble(items, test_documents, self.options.clone(), diags)
    }

    /// Every document read and lowered; those that fail are left out (their errors are in
    /// the diagnostics).
    fn load(&self) -> (Vec<Item>, Vec<TestDocument>, Diagnostics) {
        let mut diags = self.diags.clone();
        let mut items = Vec::new();
        let mut test_documents = Vec::new();
        for (path, text) in &self.sources {
            let (loaded, d) = rule::load_str(path, text, self.options.placeholders.as_ref());
            diags.extend(d);
            for l in loaded {
                match l {
                    Loaded::Rule(r) => items.push(Item::Detection(*r)),
                    Loaded::Correlation(c) => items.push(Item::Correlation(*c)),
                    Loaded::Tests(t) => test_documents.push(t),
                }
            }
        }
        (items, test_documents, diags)
    }

    /// Builds the rule set of every rule that compiles, leaving out the others (and the
    /// correlations and test files that need them): what `run --skip-invalid-rules` runs.
    pub fn build_skipping(&self) -> Partial {
        let (mut items, mut tests, loaded) = self.load();
        let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
            loaded.0.into_iter().partition(Diagnostic::is_error);
        // A document that failed to load counts once (one per file and document start).
        let mut failed: Vec<(String, u32)> = Vec::new();
        for e in &errors {
            let doc = (e.path.clone(), 0);
            if !failed.contains(&doc) {
                failed.push(doc);
            }
        }
        let mut skipped_errors = Diagnostics(errors);
        loop {
            let mut d = Diagnostics(warnings.clone());
            check_unique(&items, &mut d);
            match assemble::assemble(items.clone(), tests.clone(), self.options.clone(), d) {
                Ok(set) => {
                    return Partial {
                        set: Some(set),
                        errors: skipped_errors,
                        skipped: failed.len(),
                    };
                }
                Err(d) => {
                    let errors: Vec<Diagnostic> = d.0.into_iter().filter(Diagnostic::is_error).collect();
                    let before = items.len() + tests.len();
                    for e in &errors {
                        // The document the error is in: the last one starting at or before it.
                        let line = e.span.map_or(u32::MAX, |s| s.line);
                        let at = items
                            .iter()
                            .enumerate()
                            .filter(|(_, it)| it.meta().path == e.path && it.meta().span.line <= line)
                            .max_by_key(|(_, it)| it.meta().span.line)
                            .map(|(i, _)| i);
                        if let Some(i) = at {
                            let m = items[i].meta();
                            failed.push((m.path.clone(), m.span.line));
                            items.remove(i);
                        }
                        tests.retain(|t| t.path != e.path);
                    }
                    skipped_errors.extend(Diagnostics(errors));
                    if items.len() + tests.len() == before {
                        // Nothing to leave out: the errors are not any rule's.
                        return Partial {
                            set: None,
                            errors: skipped_errors,
                            skipped: failed.len(),
                        };
                    }
                }
            }
        }
    }
}

/// What [`RuleSetBuilder::build_skipping`] made.
#[derive(Debug)]
pub struct Partial {
    /// The rule set of the rules that compile (`None` when errors belong to no rule).
    pub set: Option<RuleSet>,
    /// The errors of the rules left out.
    pub errors: Diagnostics,
    /// How many rule documents were left out.
    pub skipped: usize,
}

fn collect_files(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                collect_files(&e, out)?;
            } else if e.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(e);
            }
        }
        Ok(())
    } else {
        std::fs::metadata(path)?;
        out.push(path.to_path_buf());
        Ok(())
    }
}

fn check_unique(items: &[Item], diags: &mut Diagnostics) {
    for (i, item) in items.iter().enumerate() {
        let m = item.meta();
        for (what, value) in [("id", &m.id), ("name", &m.name)] {
            let Some(v) = value else { continue };
            let earlier = items[..i].iter().map(Item::meta).find(|o| {
                if what == "id" {
                    o.id.as_ref() == Some(v)
                } else {
                    o.name.as_ref() == Some(v)
                }
            });
            if let Some(o) = earlier {
                diags.push(
                    Diagnostic::new(
                        Code::DuplicateRule,
                        &m.path,
                        Some(m.span),
                        format!("another rule already has the {what} `{v}`"),
                    )
                    .with_note(format!("first defined in {}:{}", o.path, o.span.line)),
                );
            }
        }
    }
}

pub(crate) struct Compiler<'a> {
    plan: &'a mut Plan,
    fields: &'a mut FieldTable,
    path: &'a str,
    diags: &'a mut Diagnostics,
    /// Predicate nodes by what they test (field, values and modifiers), shared by rules.
    pub(crate) shared: &'a mut ahash::AHashMap<String, NodeId>,
}

impl Compiler<'_> {
    pub(crate) fn rule(&mut self, r: &Rule) -> Option<NodeId> {
        let before = self.diags.error_count();
        let mut ids = Vec::new();
        for s in &r.detection.searches {
            ids.push((s.name.as_str(), self.selection(&s.selection)));
        }
        if self.diags.error_count() > before {
            return None;
        }
        let mut names = rule::SearchNames::new(ids.iter().map(|(n, _)| *n));
        let ids: Vec<NodeId> = ids.iter().map(|(_, id)| id.unwrap_or(0)).collect();
        let roots: Vec<NodeId> = r
            .detection
            .conditions
            .iter()
            .map(|c| self.condition(c, &ids, &mut names))
            .collect();
        Some(if roots.len() == 1 {
            roots[0]
        } else {
            self.plan.push(Node::Or(roots))
        })
    }

    /// The plan of a condition; `ids` are the searches' nodes, in the order of `names`.
    fn condition(&mut self, c: &Cond, ids: &[NodeId], names: &mut rule::SearchNames<'_>) -> NodeId {
        match &c.kind {
            CondKind::And(items) => {
                let kids = items
                    .iter()
                    .map(|i| self.condition(i, ids, names))
                    .collect();
                self.plan.push(Node::And(kids))
            }
            CondKind::Or(items) => {
                let kids = items
                    .iter()
                    .map(|i| self.condition(i, ids, names))
                    .collect();
                self.plan.push(Node::Or(kids))
            }
            CondKind::Not(inner) => {
                let k = self.condition(inner, ids, names);
                self.plan.push(Node::Not(k))
            }
            // Undefined names were rejected by `rule::check`.
            CondKind::Ident(name) => names.find(name).map_or(0, |i| ids[i]),
            CondKind::Selector(q, target) => {
                let kids: Vec<NodeId> = names.selected(target).iter().map(|&i| ids[i]).collect();
                self.plan.push(match q {
                    Quantifier::Any => Node::Or(kids),
                    Quantifier::All => Node::And(kids),
                })
            }
        }
    }

    fn selection(&mut self, s: &Selection) -> Option<NodeId> {
        match s {
            Selection::All(items) | Selection::Any(items) => {
                let kids = items
                    .iter()
                    .map(|i| self.selection(i))
                    .collect::<Option<Vec<_>>>()?;
                if kids.len() == 1 {
                    return Some(kids[0]);
                }
                Some(self.plan.push(if matches!(s, Selection::All(_)) {
                    Node::And(kids)
                } else {
                    Node::Or(kids)
                }))
            }
            Selection::Item(item) => {
                // Everything the predicate depends on, not where it is written.
                let key = format!(
                    "{:?}|{:?}|{}|{}|{}",
                    item.field, item.values, item.all, item.neq, item.cased
                );
                if let Some(id) = self.shared.get(&key) {
                    return Some(*id);
                }
                let pred = self.item(item)?;
                let id = self.plan.push(Node::Pred(pred));
                self.shared.insert(key, id);
                Some(id)
            }
        }
    }

    fn item(&mut self, item: &FieldItem) -> Option<FieldPred> {
        let slot = item.field.as_deref().map(|f| self.fields.intern(f));
        let mut tests = Vec::new();
        let mut strings = Vec::new();
        let mut ok = true;
        for v in &item.values {
            let t = match v {
                ValueTest::Str(variants) if !item.all => {
                    strings.extend(variants.iter().cloned());
                    continue;
                }
                ValueTest::Str(variants) => self
                    .str_matcher(variants, item)
                    .map(|m| Test::Str(Box::new(m))),
                ValueTest::Num(n) => Some(Test::Num(*n)),
                ValueTest::Bool(b) => Some(Test::Bool(*b)),
                ValueTest::Null => Some(Test::Null),
                ValueTest::Exists(b) => Some(Test::Exists(*b)),
                ValueTest::Regex(src, flags) => {
                    match compile_regex(src, *flags, self.path, item.span) {
                        Ok(regex) => Some(Test::Regex(Box::new(plan::RegexTest {
                            regex,
                            flags: *flags,
                            shared: None,
                        }))),
                        Err(d) => {
                            self.diags.push(d);
                            None
                        }
                    }
                }
                ValueTest::Cidr(n) => Some(Test::Cidr(*n)),
                ValueTest::Compare(op, n) => Some(Test::Compare(*op, *n)),
                ValueTest::TimePart(p, op, n) => Some(Test::TimePart(*p, *op, *n)),
                ValueTest::FieldRef(other, position) => Some(Test::FieldRef {
                    slot: self.fields.intern(other),
                    position: *position,
                    cased: item.cased,
                }),
            };
            match t {
                Some(t) => tests.push(t),
                None => ok = false,
            }
        }
        if !strings.is_empty() {
            match self.str_matcher(&strings, item) {
                Some(m) => tests.insert(0, Test::Str(Box::new(m))),
                None => ok = false,
            }
        }
        ok.then_some(FieldPred {
            slot,
            tests,
            all: item.all,
            neq: item.neq,
        })
    }

    fn str_matcher(
        &mut self,
        patterns: &[crate::pattern::Pattern],
        item: &FieldItem,
    ) -> Option<StrMatcher> {
        match StrMatcher::new(patterns, item.cased) {
            Ok(m) => Some(m),
            Err(e) => {
                self.diags.push(Diagnostic::new(
                    Code::RegexTooLarge,
                    self.path,
                    Some(item.span),
                    format!("the wildcard patterns do not compile: {e}"),
                ));
                None
            }
        }
    }
}

impl RuleSet {
    /// A rule set holding only `keep` and every rule they reference (transitively), compiled
    /// afresh: what a rule test runs on.
    pub fn subset(&self, keep: &[RuleRef]) -> RuleSet {
        let mut wanted: Vec<RuleRef> = keep.to_vec();
        let mut i = 0;
        while i < wanted.len() {
            if let RuleRef::Correlation(c) = wanted[i] {
                for r in self.correlations[c as usize].inputs() {
                    if !wanted.contains(&r) {
                        wanted.push(r);
                    }
                }
            }
            i += 1;
        }
        let metas: Vec<&Arc<RuleMeta>> = wanted.iter().map(|r| self.meta(*r)).collect();
        let items: Vec<Item> = self
            .items
            .iter()
            .filter(|it| metas.iter().any(|m| m.as_ref() == it.meta()))
            .cloned()
            .collect();
        // The full set compiled, so a subset of it does too.
        assemble::assemble(
            items,
            Vec::new(),
            self.options.clone(),
            Diagnostics::default(),
        )
        .unwrap_or_else(|_| self.clone())
    }
}

impl RuleSet {
    /// A rule set of detection rules built in code (explanations compile each field item of
    /// a rule as a rule of its own), with `options`.
    pub(crate) fn from_rules(rules: Vec<Rule>, options: Options) -> Result<RuleSet, Diagnostics> {
        let items = rules.into_iter().map(Item::Detection).collect();
        assemble::assemble(items, Vec::new(), options, Diagnostics::default())
    }

    /// The typed rule a detection rule was compiled from.
    pub(crate) fn source_rule(&self, i: u32) -> Option<&Rule> {
        let meta = &self.rules.get(i as usize)?.meta;
        self.items.iter().find_map(|it| match it {
            Item::Detection(r) if r.meta == **meta => Some(r),
            _ => None,
        })
    }
}

impl RuleSetBuilder {
    /// The texts added so far (path, text), for rendering diagnostics.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }
}
