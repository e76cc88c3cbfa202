//! YAML documents → typed rules: required keys, metadata, searches and the condition.

use super::check;
use super::correlation::lower_correlation;
use super::model::{
    Correlation, Detection, FieldItem, LogSource, Rule, RuleMeta, Search, Selection, TestDocument,
};
use super::modifiers::{ItemContext, Placeholders, lower_item};
use super::testcase::lower_tests;
use super::yaml::{Document, Node, NodeKind, Style};
use crate::condition::{self, CondSpan};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};

/// What one YAML document turned out to be.
#[derive(Debug)]
pub enum Loaded {
    /// A detection rule.
    Rule(Box<Rule>),
    /// A correlation rule.
    Correlation(Box<Correlation>),
    /// Tests for a rule defined elsewhere.
    Tests(TestDocument),
}

const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];

/// Lowers one document. Errors make the document produce nothing; warnings are added to
/// `diags` either way.
pub fn lower_document(
    doc: &Document,
    path: &str,
    placeholders: Option<&Placeholders>,
    diags: &mut Diagnostics,
) -> Option<Loaded> {
    let root = &doc.root;
    let err = |span: Span, code: Code, msg: String| Diagnostic::new(code, path, Some(span), msg);
    if !matches!(root.kind, NodeKind::Map(_)) {
        if root.as_str() == Some("")
            || matches!(root.scalar_value(), Some(super::yaml::Scalar::Null))
        {
            return None; // an empty document (e.g. a trailing `---`)
        }
        diags.push(err(
            root.span,
            Code::WrongType,
            format!("a rule document must be a map, found {}", root.kind_name()),
        ));
        return None;
    }
    for (key, what) in [
        ("action", "legacy `action:` collection documents (Sigma v1)"),
        ("filter", "filter documents"),
    ] {
        if let Some((k, _)) = root.entry(key) {
            diags.push(
                err(
                    k.span,
                    Code::Unsupported,
                    format!("{what} are not supported by this version of session-sigma"),
                )
                .with_label("this document is skipped"),
            );
            return None;
        }
    }
    if root.get("detection").is_none() {
        if let (Some((rk, rv)), Some(tests)) = (root.entry("rule"), root.get("tests")) {
            let before = diags.error_count();
            let tests = lower_tests(tests, path, diags);
            let rule = rv.as_str().filter(|s| !s.is_empty());
            if rule.is_none() {
                diags.push(err(
                    rv.span,
                    Code::WrongType,
                    "`rule` must name a rule by `name` or `id`".to_string(),
                ));
            }
            if diags.error_count() > before {
                return None;
            }
            return rule.map(|r| {
                Loaded::Tests(TestDocument {
                    rule: r.to_string(),
                    span: rk.span,
                    path: path.to_string(),
                    tests,
                })
            });
        }
    }
    if let Some(section) = root.get("correlation") {
        let before = diags.error_count();
        let meta = lower_meta(root, doc.span, path, diags);
        let tests = root
            .get("tests")
            .map(|t| lower_tests(t, path, diags))
            .unwrap_or_default();
        let c = lower_correlation(meta, root, section, path, diags);
        if diags.error_count() > before {
            return None;
        }
        return c.map(|mut c| {
            c.tests = tests;
            Loaded::Correlation(Box::new(c))
        });
    }
    lower_rule(root, doc.span, path, placeholders, diags).map(|r| Loaded::Rule(Box::new(r)))
}

/// The metadata every rule document has: `title` (required), `id`, `name`, `level`, `status`.
fn lower_meta(root: &Node, doc_span: Span, path: &str, diags: &mut Diagnostics) -> RuleMeta {
    let err = |span: Span, code: Code, msg: String| Diagnostic::new(code, path, Some(span), msg);
    let start = match &root.kind {
        NodeKind::Map(entries) => entries.first().map_or(doc_span, |(k, _)| k.span),
        _ => doc_span,
    };
    let string_key = |key: &str, required: bool, diags: &mut Diagnostics| -> Option<String> {
        match root.get(key) {
            None if required => {
                diags.push(err(
                    start,
                    Code::MissingKey,
                    format!("missing required key `{key}`"),
                ));
                None
            }
            None => None,
            Some(v) => match &v.kind {
                NodeKind::Scalar(s, _) if !s.is_empty() => Some(s.clone()),
                _ => {
                    diags.push(err(
                        v.span,
                        Code::WrongType,
                        format!("`{key}` must be text, found {}", v.kind_name()),
                    ));
                    None
                }
            },
        }
    };
    let title = string_key("title", true, diags).unwrap_or_default();
    let id = string_key("id", false, diags);
    let name = string_key("name", false, diags);
    let level = string_key("level", false, diags);
    let status = string_key("status", false, diags);
    if let (Some(id), Some(v)) = (&id, root.get("id")) {
        if !is_uuid(id) {
            diags.push(err(
                v.span,
                Code::BadId,
                format!("`id` must be a UUID, found `{id}`"),
            ));
        }
    }
    for (key, value, allowed) in [("level", &level, LEVELS), ("status", &status, STATUSES)] {
        if let (Some(value), Some(node)) = (value, root.get(key)) {
            if !allowed.contains(&value.as_str()) {
                diags.push(err(
                    node.span,
                    Code::BadValue,
                    format!(
                        "`{key}` must be one of {}, found `{value}`",
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    RuleMeta {
        id,
        name,
        title,
        level,
        status,
        path: path.to_string(),
        span: start,
    }
}

fn lower_rule(
    root: &Node,
    doc_span: Span,
    path: &str,
    placeholders: Option<&Placeholders>,
    diags: &mut Diagnostics,
) -> Option<Rule> {
    let before = diags.error_count();
    let meta = lower_meta(root, doc_span, path, diags);
    let start = meta.span;
    let err = |span: Span, code: Code, msg: String| Diagnostic::new(code, path, Some(span), msg);
    let logsource = lower_logsource(root, start, path, diags);
    let detection = match root.get("detection") {
        None => {
            diags.push(err(
                start,
                Code::MissingKey,
                "missing required key `detection`".to_string(),
            ));
            None
        }
        Some(d) => lower_detection(d, path, placeholders, diags),
    };
    let tests = root
        .get("tests")
        .map(|t| lower_tests(t, path, diags))
        .unwrap_or_default();
    if diags.error_count() > before {
        return None;
    }
    Some(Rule {
        meta,
        logsource,
        detection: detection?,
        tests,
    })
}

fn lower_logsource(root: &Node, start: Span, path: &str, diags: &mut Diagnostics) -> LogSource {
    let mut ls = LogSource::default();
    let Some(node) = root.get("logsource") else {
        diags.push(Diagnostic::new(
            Code::MissingKey,
            path,
            Some(start),
            "missing required key `logsource`",
        ));
        return ls;
    };
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::new(
            Code::WrongType,
            path,
            Some(node.span),
            format!("`logsource` must be a map, found {}", node.kind_name()),
        ));
        return ls;
    };
    for (k, v) in entries {
        let slot = match k.as_str() {
            Some("category") => &mut ls.category,
            Some("product") => &mut ls.product,
            Some("service") => &mut ls.service,
            _ => continue,
        };
        match v.as_str() {
            Some(s) => *slot = Some(s.to_string()),
            None => diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(v.span),
                format!("logsource values are text, found {}", v.kind_name()),
            )),
        }
    }
    if ls.category.is_none() && ls.product.is_none() && ls.service.is_none() {
        diags.push(Diagnostic::new(
            Code::EmptyLogsource,
            path,
            Some(node.span),
            "`logsource` sets none of `category`, `product`, `service`",
        ));
    }
    ls
}

fn lower_detection(
    node: &Node,
    path: &str,
    placeholders: Option<&Placeholders>,
    diags: &mut Diagnostics,
) -> Option<Detection> {
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::new(
            Code::WrongType,
            path,
            Some(node.span),
            format!("`detection` must be a map, found {}", node.kind_name()),
        ));
        return None;
    };
    let cx = ItemContext { path, placeholders };
    let mut searches = Vec::new();
    let mut condition_node = None;
    let mut failed = false;
    for (k, v) in entries {
        let name = k.as_str().unwrap_or_default();
        match name {
            "condition" => condition_node = Some((k, v)),
            "timeframe" => diags.push(
                Diagnostic::new(
                    Code::IgnoredTimeframe,
                    path,
                    Some(k.span),
                    "`timeframe` (Sigma v1) is ignored",
                )
                .with_note("use a correlation rule with `timespan`"),
            ),
            _ => {
                let (search, ok) = search_of(name, k, v, &cx, diags);
                failed |= !ok;
                searches.push(search);
            }
        }
    }
    let Some((ck, cv)) = condition_node else {
        diags.push(Diagnostic::new(
            Code::MissingKey,
            path,
            Some(node.span),
            "`detection` has no `condition`",
        ));
        return None;
    };
    if searches.is_empty() && !failed {
        diags.push(Diagnostic::new(
            Code::NoSearch,
            path,
            Some(node.span),
            "`detection` defines no search identifier",
        ));
        return None;
    }
    let conditions = lower_conditions(cv, &searches, path, diags);
    let _ = ck;
    (!failed && !conditions.is_empty()).then_some(Detection {
        searches,
        conditions,
    })
}

/// The condition (or list of conditions) of a detection, parsed and checked against its
/// searches; unused searches are warned about.
fn lower_conditions(
    cv: &Node,
    searches: &[Search],
    path: &str,
    diags: &mut Diagnostics,
) -> Vec<crate::condition::Cond> {
    let texts: Vec<&Node> = match &cv.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        _ => vec![cv],
    };
    let mut conditions = Vec::new();
    let mut names = check::SearchNames::new(searches.iter().map(|s| s.name.as_str()));
    for t in texts {
        let Some(text) = t
            .as_str()
            .filter(|_| !matches!(t.kind, NodeKind::Seq(_) | NodeKind::Map(_)))
        else {
            diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(t.span),
                format!("a condition is text, found {}", t.kind_name()),
            ));
            continue;
        };
        let map = |s: CondSpan| condition_span(t, text, s);
        match condition::parse(text) {
            Ok(c) => {
                check::check_condition(&c, &mut names, path, &map, diags);
                conditions.push(c);
            }
            Err(e) => {
                let mut d =
                    Diagnostic::new(e.code, path, Some(map(e.span)), e.message).with_label("here");
                if let Some(n) = e.note {
                    d = d.with_note(n);
                }
                diags.push(d);
            }
        }
    }
    check::check_unused(&conditions, searches, &mut names, path, diags);
    conditions
}

/// One search identifier. A search that does not lower keeps its name (so that the
/// condition check does not also report it) and says so (`false`).
fn search_of(
    name: &str,
    k: &Node,
    v: &Node,
    cx: &ItemContext<'_>,
    diags: &mut Diagnostics,
) -> (Search, bool) {
    match lower_search(v, cx) {
        Ok(selection) => {
            warn_single_all(&selection, cx.path, diags);
            let search = Search {
                name: name.to_string(),
                span: k.span,
                selection,
            };
            (search, true)
        }
        Err(ds) => {
            ds.into_iter().for_each(|d| diags.push(d));
            let search = Search {
                name: name.to_string(),
                span: k.span,
                selection: Selection::Any(Vec::new()),
            };
            (search, false)
        }
    }
}

/// Maps a span inside a condition text to the file, for plain, quoted and block scalars.
pub(crate) fn condition_span(node: &Node, text: &str, s: CondSpan) -> Span {
    match node.kind {
        NodeKind::Scalar(_, Style::Block) => {
            let before: String = text.chars().take(s.start).collect();
            let line_no = before.matches('\n').count();
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
            Span::new(
                node.span.line as usize + line_no,
                node.span.col as usize + col,
                s.len.max(1),
            )
        }
        NodeKind::Scalar(_, Style::Quoted) => node.span.shifted(1 + s.start, s.len.max(1)),
        _ => node.span.shifted(s.start, s.len.max(1)),
    }
}

fn lower_search(node: &Node, cx: &ItemContext<'_>) -> Result<Selection, Vec<Diagnostic>> {
    match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                return Err(vec![Diagnostic::new(
                    Code::BadSearch,
                    cx.path,
                    Some(node.span),
                    "an empty search identifier matches nothing",
                )]);
            }
            let mut items = Vec::new();
            let mut errs = Vec::new();
            for (k, v) in entries {
                match lower_item(k, v, cx) {
                    Ok(item) => items.push(Selection::Item(item)),
                    Err(mut e) => errs.append(&mut e),
                }
            }
            if errs.is_empty() {
                Ok(Selection::All(items))
            } else {
                Err(errs)
            }
        }
        NodeKind::Seq(list) => {
            if list.is_empty() {
                return Err(vec![Diagnostic::new(
                    Code::BadSearch,
                    cx.path,
                    Some(node.span),
                    "an empty search identifier matches nothing",
                )]);
            }
            if list.iter().all(|n| matches!(n.kind, NodeKind::Scalar(..))) {
                return keywords(node, cx);
            }
            let mut any = Vec::new();
            let mut errs = Vec::new();
            for n in list {
                let r = match &n.kind {
                    NodeKind::Map(_) => lower_search(n, cx),
                    NodeKind::Scalar(..) => keywords(n, cx),
                    NodeKind::Seq(_) => Err(vec![Diagnostic::new(
                        Code::BadSearch,
                        cx.path,
                        Some(n.span),
                        "a search list holds maps or values, not nested lists",
                    )]),
                };
                match r {
                    Ok(s) => any.push(s),
                    Err(mut e) => errs.append(&mut e),
                }
            }
            if errs.is_empty() {
                Ok(Selection::Any(any))
            } else {
                Err(errs)
            }
        }
        NodeKind::Scalar(..) => keywords(node, cx),
    }
}

/// `W501`: `all` over a single value means nothing.
fn warn_single_all(s: &Selection, path: &str, diags: &mut Diagnostics) {
    match s {
        Selection::All(items) | Selection::Any(items) => {
            items.iter().for_each(|i| warn_single_all(i, path, diags))
        }
        Selection::Item(item) if item.all && item.values.len() < 2 => diags.push(
            Diagnostic::new(
                Code::SuspiciousAll,
                path,
                Some(item.span),
                "`all` on a single value has no effect",
            )
            .with_note("remove `|all`, or list several values"),
        ),
        Selection::Item(_) => {}
    }
}

/// A list of plain values (or one value): a keyword search.
fn keywords(node: &Node, cx: &ItemContext<'_>) -> Result<Selection, Vec<Diagnostic>> {
    let key = Node {
        span: node.span,
        kind: NodeKind::Scalar(String::new(), Style::Plain),
    };
    let item: FieldItem = lower_item(&key, node, cx)?;
    Ok(Selection::Item(item))
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("5f6a9d1c-2b3e-4f5a-8b9c-0d1e2f3a4b5c"));
        assert!(!is_uuid("5f6a9d1c2b3e4f5a8b9c0d1e2f3a4b5c"));
        assert!(!is_uuid("zf6a9d1c-2b3e-4f5a-8b9c-0d1e2f3a4b5c"));
    }
}
