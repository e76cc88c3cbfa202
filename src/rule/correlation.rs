//! Correlation documents (docs/semantics.md §3.2) → [`Correlation`].

use super::model::{Alias, Anchor, CmpOp, Correlation, CorrelationType, Reference, RuleMeta};
use super::yaml::{Node, NodeKind, Scalar};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::time::parse_duration;

const KEYS: &[&str] = &[
    "type",
    "rules",
    "group-by",
    "timespan",
    "condition",
    "aliases",
    "generate",
    "on_fire",
    "suppress",
    "reset",
    "trigger",
    "field",
    "history",
    "new_group",
    "learning",
    "expected",
    "anchor",
];

/// Lowers the `correlation:` section of a document whose metadata is `meta`.
pub fn lower_correlation(
    meta: RuleMeta,
    root: &Node,
    section: &Node,
    path: &str,
    diags: &mut Diagnostics,
) -> Option<Correlation> {
    let before = diags.error_count();
    let NodeKind::Map(entries) = &section.kind else {
        diags.push(Diagnostic::new(
            Code::WrongType,
            path,
            Some(section.span),
            format!("`correlation` must be a map, found {}", section.kind_name()),
        ));
        return None;
    };
    let sec = Section {
        node: section,
        path,
    };
    sec.check_keys(entries, diags);
    let kind = sec.kind(diags)?;
    let rules = sec.refs("rules", diags);
    if rules.is_empty() {
        diags.push(Diagnostic::new(
            Code::MissingKey,
            path,
            Some(section.span),
            "correlation needs `rules`",
        ));
    }
    let group_by = section
        .get("group-by")
        .map(|n| strings(n, "group-by", path, diags))
        .unwrap_or_default();
    let timespan = sec.duration("timespan", diags);
    let suppress = sec.duration("suppress", diags);
    let history = sec.duration("history", diags);
    let learning = sec.duration("learning", diags).unwrap_or(0);
    let (condition, mut fields) = match section.get("condition") {
        Some(c) => lower_condition(c, path, diags),
        None => (Vec::new(), Vec::new()),
    };
    if let Some(f) = section.get("field") {
        fields = strings(f, "field", path, diags);
    }
    let aliases = section
        .get("aliases")
        .map(|a| lower_aliases(a, path, diags))
        .unwrap_or_default();
    let generate = sec.generate(root, diags);
    let on_fire_reset = sec
        .choice("on_fire", &["reset", "keep"], diags)
        .is_none_or(|i| i == 0);
    let new_group_alert = sec.choice("new_group", &["learn", "alert"], diags) == Some(1);
    let anchor = match sec.choice("anchor", &["first", "each", "restart"], diags) {
        Some(1) => Anchor::Each,
        Some(2) => Anchor::Restart,
        _ => Anchor::First,
    };
    let c = Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan,
        condition,
        fields,
        aliases,
        generate,
        on_fire_reset,
        suppress,
        reset: sec.refs("reset", diags),
        trigger: sec.refs("trigger", diags),
        history,
        new_group_alert,
        learning,
        expected: sec.refs("expected", diags),
        anchor,
        tests: Vec::new(),
    };
    check_type_keys(&c, section, path, diags);
    (diags.error_count() == before).then_some(c)
}

/// Reads the keys of one `correlation:` map, reporting what is wrong.
struct Section<'a> {
    node: &'a Node,
    path: &'a str,
}

impl Section<'_> {
    fn err(&self, span: Span, msg: String) -> Diagnostic {
        Diagnostic::new(Code::BadCorrelation, self.path, Some(span), msg)
    }

    /// Unknown keys, with a did-you-mean.
    fn check_keys(&self, entries: &[(Node, Node)], diags: &mut Diagnostics) {
        for (k, _) in entries {
            let key = k.as_str().unwrap_or_default();
            if !KEYS.contains(&key) {
                let mut d = self.err(k.span, format!("unknown correlation key `{key}`"));
                if let Some(s) = crate::diag::suggest(key, KEYS.iter().copied()) {
                    d = d.with_note(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }

    /// `type`, which must be there and known.
    fn kind(&self, diags: &mut Diagnostics) -> Option<CorrelationType> {
        let Some(t) = self.node.get("type") else {
            diags.push(Diagnostic::new(
                Code::MissingKey,
                self.path,
                Some(self.node.span),
                "correlation has no `type`",
            ));
            return None;
        };
        let found = CorrelationType::ALL
            .iter()
            .find(|c| Some(c.as_str()) == t.as_str());
        if found.is_none() {
            let names: Vec<&str> = CorrelationType::ALL.iter().map(|c| c.as_str()).collect();
            diags.push(self.err(
                t.span,
                format!(
                    "unknown correlation type `{}` (expected one of {})",
                    t.as_str().unwrap_or("?"),
                    names.join(", ")
                ),
            ));
        }
        found.copied()
    }

    /// A list of rule references (`rules`, `reset`, ...), empty when absent.
    fn refs(&self, key: &str, diags: &mut Diagnostics) -> Vec<Reference> {
        self.node
            .get(key)
            .map(|n| references(n, key, self.path, diags))
            .unwrap_or_default()
    }

    /// A duration key, if present and valid (`timespan` must be longer than 0s).
    fn duration(&self, key: &str, diags: &mut Diagnostics) -> Option<i64> {
        let n = self.node.get(key)?;
        let Some(text) = n.as_str() else {
            diags.push(self.err(
                n.span,
                format!("`{key}` is a duration such as 30s, 10m, 2h or 7d"),
            ));
            return None;
        };
        match parse_duration(text) {
            Ok(d) if d > 0 || key != "timespan" => Some(d),
            Ok(_) => {
                diags.push(self.err(n.span, format!("`{key}` must be longer than 0s")));
                None
            }
            Err(e) => {
                diags.push(self.err(n.span, format!("`{key}` {e}")));
                None
            }
        }
    }

    /// `generate`, in the section or at the document's top level; false when absent.
    fn generate(&self, root: &Node, diags: &mut Diagnostics) -> bool {
        let Some(g) = self.node.get("generate").or_else(|| root.get("generate")) else {
            return false;
        };
        match g.scalar_value() {
            Some(Scalar::Bool(b)) => b,
            _ => {
                diags.push(Diagnostic::new(
                    Code::WrongType,
                    self.path,
                    Some(g.span),
                    "`generate` is `true` or `false`",
                ));
                false
            }
        }
    }

    /// The position in `options` of a key's value, if present (an error when it is none
    /// of them).
    fn choice(&self, key: &str, options: &[&str], diags: &mut Diagnostics) -> Option<usize> {
        let n = self.node.get(key)?;
        let found = options.iter().position(|o| Some(*o) == n.as_str());
        if found.is_none() {
            diags.push(Diagnostic::new(
                Code::BadValue,
                self.path,
                Some(n.span),
                format!("`{key}` is one of {}", options.join(", ")),
            ));
        }
        found
    }
}

/// Keys that only some types take, and keys some types need.
fn check_type_keys(c: &Correlation, section: &Node, path: &str, diags: &mut Diagnostics) {
    use CorrelationType as T;
    let err =
        |span: Span, msg: String| Diagnostic::new(Code::BadCorrelation, path, Some(span), msg);
    let ty = c.kind.as_str();
    let only = |key: &str, allowed: bool, diags: &mut Diagnostics| {
        if let (false, Some((k, _))) = (allowed, section.entry(key)) {
            diags.push(err(
                k.span,
                format!("`{key}` does not apply to `{ty}` correlations"),
            ));
        }
    };
    only("trigger", c.kind.is_aggregate(), diags);
    only(
        "on_fire",
        c.kind.is_aggregate() || matches!(c.kind, T::Temporal | T::TemporalOrdered),
        diags,
    );
    only("history", c.kind == T::FirstSeen, diags);
    only("new_group", c.kind == T::FirstSeen, diags);
    only("learning", c.kind == T::FirstSeen, diags);
    only("field", c.kind == T::FirstSeen, diags);
    only("expected", c.kind == T::Absence, diags);
    only("anchor", c.kind == T::Absence, diags);
    only(
        "condition",
        !matches!(c.kind, T::FirstSeen | T::Absence),
        diags,
    );
    only("timespan", c.kind != T::FirstSeen, diags);
    let need = |what: bool, msg: &str, diags: &mut Diagnostics| {
        if !what {
            diags.push(Diagnostic::new(
                Code::BadCorrelation,
                path,
                Some(section.span),
                format!("`{ty}` correlations need {msg}"),
            ));
        }
    };
    if c.kind != T::FirstSeen {
        need(
            c.timespan.is_some() || section.get("timespan").is_some(),
            "a `timespan`",
            diags,
        );
    }
    if c.kind.is_aggregate() {
        need(
            !c.condition.is_empty() || section.get("condition").is_some(),
            "a `condition` such as `{gte: 5}`",
            diags,
        );
    }
    if matches!(c.kind, T::ValueCount | T::ValueSum | T::ValueAvg) {
        need(!c.fields.is_empty(), "`condition.field`", diags);
    }
    if matches!(c.kind, T::ValueSum | T::ValueAvg) && c.fields.len() > 1 {
        diags.push(err(
            section.span,
            format!("`{ty}` takes one `condition.field`"),
        ));
    }
    if c.kind == T::FirstSeen {
        need(!c.fields.is_empty(), "a `field`", diags);
        need(
            c.history.is_some() || section.get("history").is_some(),
            "a `history`",
            diags,
        );
    }
    if c.kind == T::Absence {
        need(!c.expected.is_empty(), "`expected` rules", diags);
    }
    for g in &c.group_by {
        if g.is_empty() {
            diags.push(err(
                section.span,
                "a `group-by` field name is empty".to_string(),
            ));
        }
    }
}

fn lower_condition(
    node: &Node,
    path: &str,
    diags: &mut Diagnostics,
) -> (Vec<(CmpOp, f64)>, Vec<String>) {
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::new(
            Code::WrongType,
            path,
            Some(node.span),
            "a correlation `condition` is a map such as `{gte: 5}`",
        ));
        return (Vec::new(), Vec::new());
    };
    let mut ops = Vec::new();
    let mut fields = Vec::new();
    for (k, v) in entries {
        let op = match k.as_str().unwrap_or_default() {
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "eq" => CmpOp::Eq,
            "neq" => CmpOp::Neq,
            "field" => {
                fields = strings(v, "condition.field", path, diags);
                continue;
            }
            other => {
                diags.push(Diagnostic::new(
                    Code::BadCorrelation,
                    path,
                    Some(k.span),
                    format!("unknown condition operator `{other}` (expected gt, gte, lt, lte, eq, neq, field)"),
                ));
                continue;
            }
        };
        match v.scalar_value() {
            Some(Scalar::Int(i)) => ops.push((op, i as f64)),
            Some(Scalar::Float(f)) => ops.push((op, f)),
            _ => diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(v.span),
                format!("a condition threshold is a number, found {}", v.kind_name()),
            )),
        }
    }
    (ops, fields)
}

fn lower_aliases(node: &Node, path: &str, diags: &mut Diagnostics) -> Vec<Alias> {
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::new(
            Code::WrongType,
            path,
            Some(node.span),
            "`aliases` maps each alias to `{rule: field}`",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let NodeKind::Map(per_rule) = &v.kind else {
            diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(v.span),
                "an alias maps rule names to field names",
            ));
            continue;
        };
        let mut fields = Vec::new();
        for (rk, rv) in per_rule {
            match rv.as_str() {
                Some(f) if !f.is_empty() => fields.push((
                    Reference {
                        name: rk.as_str().unwrap_or_default().to_string(),
                        span: rk.span,
                    },
                    f.to_string(),
                )),
                _ => diags.push(Diagnostic::new(
                    Code::WrongType,
                    path,
                    Some(rv.span),
                    "an alias field is a field name",
                )),
            }
        }
        out.push(Alias {
            name: k.as_str().unwrap_or_default().to_string(),
            fields,
        });
    }
    out
}

fn references(node: &Node, key: &str, path: &str, diags: &mut Diagnostics) -> Vec<Reference> {
    let items: Vec<&Node> = match &node.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for n in items {
        match n.as_str() {
            Some(s) if !s.is_empty() && !matches!(n.kind, NodeKind::Seq(_) | NodeKind::Map(_)) => {
                out.push(Reference {
                    name: s.to_string(),
                    span: n.span,
                });
            }
            _ => diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(n.span),
                format!("`{key}` lists rule names or ids"),
            )),
        }
    }
    out
}

fn strings(node: &Node, key: &str, path: &str, diags: &mut Diagnostics) -> Vec<String> {
    let items: Vec<&Node> = match &node.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for n in items {
        match (&n.kind, n.as_str()) {
            (NodeKind::Scalar(..), Some(s)) if !s.is_empty() => out.push(s.to_string()),
            _ => diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(n.span),
                format!("`{key}` lists field names"),
            )),
        }
    }
    out
}
