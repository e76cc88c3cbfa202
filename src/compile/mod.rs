//! Typed rules → a [`RuleSet`]: one predicate arena for all rules, interned fields, merged
//! matchers, and an index from required literal values to the rules that need them.

mod explain;
mod index;
pub mod matcher;
mod optimize;
pub mod plan;

pub use index::RuleIndex;
use matcher::{StrMatcher, compile_regex};
use plan::{FieldPred, Node, NodeId, Plan, Test};

use crate::condition::{Cond, CondKind, Quantifier};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::event::FieldTable;
use crate::rule::{
    self, FieldItem, Loaded, Placeholders, Rule, RuleMeta, RuleTest, Selection, TestDocument,
    ValueTest,
};
use std::sync::Arc;

/// A rule compiled into the shared plan.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Identity and labels, shared with alerts.
    pub meta: Arc<RuleMeta>,
    /// The root node of its condition.
    pub root: NodeId,
    /// Its `logsource`.
    pub logsource: rule::LogSource,
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            use_index: true,
            optimize: true,
            placeholders: None,
        }
    }
}

/// Rules ready to evaluate. Build one with [`RuleSet::builder`].
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) plan: Plan,
    pub(crate) fields: FieldTable,
    pub(crate) index: RuleIndex,
    pub(crate) test_documents: Vec<TestDocument>,
    warnings: Diagnostics,
}

impl RuleSet {
    /// A builder with default options.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// The rules, in load order.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| r.meta.as_ref())
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// Position of the rule with this name, id or title.
    pub fn find(&self, handle: &str) -> Option<usize> {
        let by = |f: &dyn Fn(&RuleMeta) -> bool| self.rules.iter().position(|r| f(&r.meta));
        by(&|m| m.name.as_deref() == Some(handle))
            .or_else(|| by(&|m| m.id.as_deref() == Some(handle)))
            .or_else(|| by(&|m| m.title == handle))
    }

    /// The compiled plan of one rule, as text.
    pub fn explain(&self, rule: usize) -> String {
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
    pub fn add_str(&mut self, path: impl Into<String>, text: impl Into<String>) -> &mut Self {
        self.sources.push((path.into(), text.into()));
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
            match std::fs::read(&f) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        self.sources.push((shown, text));
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
        let mut diags = self.diags.clone();
        let mut rules = Vec::new();
        let mut test_documents = Vec::new();
        for (path, text) in &self.sources {
            let (loaded, d) = rule::load_str(path, text, self.options.placeholders.as_ref());
            diags.extend(d);
            for l in loaded {
                match l {
                    Loaded::Rule(r) => rules.push(*r),
                    Loaded::Tests(t) => test_documents.push(t),
                }
            }
        }
        check_unique(&rules, &mut diags);
        let mut set = RuleSet {
            rules: Vec::new(),
            plan: Plan::default(),
            fields: FieldTable::default(),
            index: RuleIndex::default(),
            test_documents,
            warnings: Diagnostics::default(),
        };
        for r in rules {
            let mut c = Compiler {
                plan: &mut set.plan,
                fields: &mut set.fields,
                path: &r.meta.path,
                diags: &mut diags,
            };
            if let Some(root) = c.rule(&r) {
                set.rules.push(CompiledRule {
                    meta: Arc::new(r.meta),
                    root,
                    logsource: r.logsource,
                    tests: r.tests,
                });
            }
        }
        for t in &set.test_documents {
            if set.find(&t.rule).is_none() {
                diags.push(Diagnostic::new(
                    Code::BadTest,
                    &t.path,
                    Some(t.span),
                    format!("no loaded rule has the name or id `{}`", t.rule),
                ));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        if self.options.optimize {
            optimize::order_by_cost(&mut set.plan);
        }
        set.index = RuleIndex::build(&set, self.options.use_index);
        set.warnings = diags;
        Ok(set)
    }
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

fn check_unique(rules: &[Rule], diags: &mut Diagnostics) {
    for (i, r) in rules.iter().enumerate() {
        for (what, value) in [("id", &r.meta.id), ("name", &r.meta.name)] {
            let Some(v) = value else { continue };
            let earlier = rules[..i].iter().find(|o| {
                if what == "id" {
                    o.meta.id.as_ref() == Some(v)
                } else {
                    o.meta.name.as_ref() == Some(v)
                }
            });
            if let Some(o) = earlier {
                diags.push(
                    Diagnostic::new(
                        Code::DuplicateRule,
                        &r.meta.path,
                        Some(r.meta.span),
                        format!("another rule already has the {what} `{v}`"),
                    )
                    .with_note(format!(
                        "first defined in {}:{}",
                        o.meta.path, o.meta.span.line
                    )),
                );
            }
        }
    }
}

struct Compiler<'a> {
    plan: &'a mut Plan,
    fields: &'a mut FieldTable,
    path: &'a str,
    diags: &'a mut Diagnostics,
}

impl Compiler<'_> {
    fn rule(&mut self, r: &Rule) -> Option<NodeId> {
        let before = self.diags.error_count();
        let mut ids = Vec::new();
        for s in &r.detection.searches {
            ids.push((s.name.as_str(), self.selection(&s.selection)));
        }
        if self.diags.error_count() > before {
            return None;
        }
        let ids: Vec<(&str, NodeId)> = ids
            .into_iter()
            .map(|(n, id)| (n, id.unwrap_or(0)))
            .collect();
        let roots: Vec<NodeId> = r
            .detection
            .conditions
            .iter()
            .map(|c| self.condition(c, &ids))
            .collect();
        Some(if roots.len() == 1 {
            roots[0]
        } else {
            self.plan.push(Node::Or(roots))
        })
    }

    fn condition(&mut self, c: &Cond, ids: &[(&str, NodeId)]) -> NodeId {
        match &c.kind {
            CondKind::And(items) => {
                let kids = items.iter().map(|i| self.condition(i, ids)).collect();
                self.plan.push(Node::And(kids))
            }
            CondKind::Or(items) => {
                let kids = items.iter().map(|i| self.condition(i, ids)).collect();
                self.plan.push(Node::Or(kids))
            }
            CondKind::Not(inner) => {
                let k = self.condition(inner, ids);
                self.plan.push(Node::Not(k))
            }
            // Undefined names were rejected by `rule::check`.
            CondKind::Ident(name) => ids.iter().find(|(n, _)| n == name).map_or(0, |(_, id)| *id),
            CondKind::Selector(q, target) => {
                let kids: Vec<NodeId> = ids
                    .iter()
                    .filter(|(n, _)| rule::pattern_selects(target, n))
                    .map(|(_, id)| *id)
                    .collect();
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
                let pred = self.item(item)?;
                Some(self.plan.push(Node::Pred(pred)))
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
                        Ok(re) => Some(Test::Regex(Box::new(re))),
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
    /// A rule set holding only the rules at `keep` (positions in this set), sharing the
    /// compiled plan.
    pub fn subset(&self, keep: &[usize]) -> RuleSet {
        let mut set = RuleSet {
            rules: keep
                .iter()
                .filter_map(|i| self.rules.get(*i).cloned())
                .collect(),
            plan: self.plan.clone(),
            fields: self.fields.clone(),
            index: RuleIndex::default(),
            test_documents: Vec::new(),
            warnings: Diagnostics::default(),
        };
        set.index = RuleIndex::build(&set, !self.index.is_disabled());
        set
    }
}

impl RuleSetBuilder {
    /// The texts added so far (path, text), for rendering diagnostics.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }
}
