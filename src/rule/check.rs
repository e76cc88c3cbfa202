//! Semantic checks of a condition against the searches it names.

use super::model::Search;
use crate::condition::{Cond, CondKind, CondSpan, Target};
use crate::diag::{Code, Diagnostic, Diagnostics, Span, suggest};

/// Does a `1 of`/`all of` pattern select this identifier? `*` matches any run; names
/// starting with `_` are skipped unless the pattern starts with `_` too.
pub fn pattern_selects(pattern: &Target, name: &str) -> bool {
    match pattern {
        Target::Them => !name.starts_with('_'),
        Target::Pattern(p) => {
            (p.starts_with('_') || !name.starts_with('_')) && glob(p.as_bytes(), name.as_bytes())
        }
    }
}

/// `*`-only wildcard match in O(len(p) * len(s)) (backtracks to the last star only).
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The search identifiers of one rule, for resolving the names a condition uses: O(1)
/// per identifier, and each distinct pattern matched against the names once (a condition
/// of 100,000 terms over 100,000 searches was quadratic).
pub struct SearchNames<'n> {
    names: Vec<&'n str>,
    index: ahash::AHashMap<&'n str, usize>,
    selected: ahash::AHashMap<Target, Vec<usize>>,
}

impl<'n> SearchNames<'n> {
    /// The names, in definition order (the first of duplicate names wins).
    pub fn new(names: impl IntoIterator<Item = &'n str>) -> Self {
        let names: Vec<&str> = names.into_iter().collect();
        let mut index = ahash::AHashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            index.entry(*n).or_insert(i);
        }
        SearchNames {
            names,
            index,
            selected: Default::default(),
        }
    }

    /// The position of a name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The positions of the names a `1 of`/`all of` target selects, in definition order.
    pub fn selected(&mut self, target: &Target) -> &[usize] {
        let names = &self.names;
        self.selected.entry(target.clone()).or_insert_with(|| {
            (0..names.len())
                .filter(|&i| pattern_selects(target, names[i]))
                .collect()
        })
    }

    fn names(&self) -> &[&'n str] {
        &self.names
    }
}

/// Reports undefined identifiers (`E300`) and patterns matching nothing (`E301`).
pub fn check_condition(
    c: &Cond,
    names: &mut SearchNames<'_>,
    path: &str,
    map: &dyn Fn(CondSpan) -> Span,
    diags: &mut Diagnostics,
) {
    match &c.kind {
        CondKind::And(items) | CondKind::Or(items) => items
            .iter()
            .for_each(|i| check_condition(i, names, path, map, diags)),
        CondKind::Not(inner) => check_condition(inner, names, path, map, diags),
        CondKind::Ident(name) => {
            if names.find(name).is_none() {
                let mut d = Diagnostic::new(
                    Code::UndefinedIdentifier,
                    path,
                    Some(map(c.span)),
                    format!("unknown search identifier `{name}`"),
                )
                .with_label("not defined under `detection`");
                if let Some(s) = suggest(name, names.names().iter().copied()) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
        CondKind::Selector(_, target) => {
            if names.selected(target).is_empty() {
                let what = match target {
                    Target::Them => {
                        "`them` selects no search identifier (all start with `_`)".to_string()
                    }
                    Target::Pattern(p) => format!("pattern `{p}` matches no search identifier"),
                };
                diags.push(Diagnostic::new(
                    Code::PatternMatchesNothing,
                    path,
                    Some(map(c.span)),
                    what,
                ));
            }
        }
    }
}

/// Marks the searches a condition uses.
fn mark_used(c: &Cond, names: &mut SearchNames<'_>, used: &mut [bool]) {
    match &c.kind {
        CondKind::And(items) | CondKind::Or(items) => {
            items.iter().for_each(|i| mark_used(i, names, used));
        }
        CondKind::Not(inner) => mark_used(inner, names, used),
        CondKind::Ident(n) => {
            if let Some(i) = names.find(n) {
                used[i] = true;
            }
        }
        CondKind::Selector(_, t) => {
            for &i in names.selected(t) {
                used[i] = true;
            }
        }
    }
}

/// Warns about searches that no condition uses (`W500`).
pub fn check_unused(
    conditions: &[Cond],
    searches: &[Search],
    names: &mut SearchNames<'_>,
    path: &str,
    diags: &mut Diagnostics,
) {
    if conditions.is_empty() {
        return;
    }
    let mut used = vec![false; searches.len()];
    for c in conditions {
        mark_used(c, names, &mut used);
    }
    for s in searches {
        // A duplicate name counts as used when its first definition is.
        if !names.find(&s.name).is_some_and(|i| used[i]) {
            diags.push(
                Diagnostic::new(
                    Code::UnusedSearch,
                    path,
                    Some(s.span),
                    format!(
                        "search identifier `{}` is never used by the condition",
                        s.name
                    ),
                )
                .with_label("defined here"),
            );
        }
    }
}
