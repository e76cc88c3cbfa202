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
fn glob(p: &[u8], s: &[u8]) -> bool {
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

/// Reports undefined identifiers (`E300`) and patterns matching nothing (`E301`).
pub fn check_condition(
    c: &Cond,
    searches: &[Search],
    path: &str,
    map: &dyn Fn(CondSpan) -> Span,
    diags: &mut Diagnostics,
) {
    match &c.kind {
        CondKind::And(items) | CondKind::Or(items) => items
            .iter()
            .for_each(|i| check_condition(i, searches, path, map, diags)),
        CondKind::Not(inner) => check_condition(inner, searches, path, map, diags),
        CondKind::Ident(name) => {
            if !searches.iter().any(|s| &s.name == name) {
                let mut d = Diagnostic::new(
                    Code::UndefinedIdentifier,
                    path,
                    Some(map(c.span)),
                    format!("unknown search identifier `{name}`"),
                )
                .with_label("not defined under `detection`");
                if let Some(s) = suggest(name, searches.iter().map(|s| s.name.as_str())) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
        CondKind::Selector(_, target) => {
            if !searches.iter().any(|s| pattern_selects(target, &s.name)) {
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

fn uses(c: &Cond, name: &str) -> bool {
    match &c.kind {
        CondKind::And(items) | CondKind::Or(items) => items.iter().any(|i| uses(i, name)),
        CondKind::Not(inner) => uses(inner, name),
        CondKind::Ident(n) => n == name,
        CondKind::Selector(_, t) => pattern_selects(t, name),
    }
}

/// Warns about searches that no condition uses (`W500`).
pub fn check_unused(conditions: &[Cond], searches: &[Search], path: &str, diags: &mut Diagnostics) {
    if conditions.is_empty() {
        return;
    }
    for s in searches {
        if !conditions.iter().any(|c| uses(c, &s.name)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = |s: &str| Target::Pattern(s.to_string());
        assert!(pattern_selects(&p("sel*"), "selection"));
        assert!(pattern_selects(&p("selection"), "selection"));
        assert!(!pattern_selects(&p("selection"), "selection_extra"));
        assert!(!pattern_selects(&p("*"), "_hidden"));
        assert!(pattern_selects(&p("_*"), "_hidden"));
        assert!(!pattern_selects(&Target::Them, "_hidden"));
        assert!(pattern_selects(&p("*_filter"), "main_filter"));
        assert!(pattern_selects(&p("s*x"), "sux"));
    }
}
