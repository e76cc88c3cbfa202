//! W504: a rule for the session model (`logsource: category: user_session`) that names a
//! field the model does not have is probably misspelt (`actoin: failed` never fires).

use crate::diag::{Code, Diagnostic, Diagnostics, suggest};
use crate::rule::{Rule, Selection};

/// The fields of a session event (DESIGN §2: the model and its optional extras).
pub const SESSION_FIELDS: &[&str] = &[
    "timestamp",
    "action",
    "hostname",
    "user",
    "user_name",
    "user_domain",
    "logon_id",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "login_type",
    "src_host",
    "source",
    "object",
    "raw",
];

/// Warns about each field of a `user_session` rule that is neither in the model, nor under
/// `raw.`, nor in `extra`.
pub(super) fn unknown_fields(rule: &Rule, extra: &[String], diags: &mut Diagnostics) {
    let session = rule
        .logsource
        .category
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("user_session"))
        && rule.logsource.product.is_none();
    if !session {
        return;
    }
    for s in &rule.detection.searches {
        walk(&s.selection, rule, extra, diags);
    }
}

fn walk(s: &Selection, rule: &Rule, extra: &[String], diags: &mut Diagnostics) {
    match s {
        Selection::All(kids) | Selection::Any(kids) => {
            kids.iter().for_each(|k| walk(k, rule, extra, diags));
        }
        Selection::Item(item) => {
            let Some(field) = item.field.as_deref() else {
                return;
            };
            let known = SESSION_FIELDS.contains(&field)
                || field.starts_with("raw.")
                || extra.iter().any(|e| e == field);
            if known {
                return;
            }
            let len = field.chars().count();
            let mut d = Diagnostic::new(
                Code::UnknownField,
                &rule.meta.path,
                Some(crate::diag::Span {
                    len: u32::try_from(len).unwrap_or(u32::MAX),
                    ..item.span
                }),
                format!("`{field}` is not a field of the session model"),
            )
            .with_label("no session event has it");
            let candidates = SESSION_FIELDS
                .iter()
                .copied()
                .chain(extra.iter().map(String::as_str));
            d = match suggest(field, candidates) {
                Some(s) => d.with_note(format!("did you mean `{s}`?")),
                None => d,
            };
            diags.push(d.with_note(
                "fields outside the model are read under `raw.` or declared with --extra-field NAME",
            ));
        }
    }
}
