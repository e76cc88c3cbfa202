//! Rule files: YAML text → typed [`Rule`]s (and test documents), with diagnostics.
//!
//! `yaml` is the only module that knows YAML; `lower` and `modifiers` turn nodes into the
//! typed model; `check` validates conditions against searches.

mod chain;
mod check;
mod correlation;
mod lower;
pub mod model;
pub mod modifiers;
mod testcase;
pub mod yaml;

pub use check::{SearchNames, glob};
pub use lower::Loaded;
pub use model::*;
pub use modifiers::{Placeholders, UnsetPlaceholders};

use crate::diag::{Code, Diagnostic, Diagnostics};

/// Loads every document of one rule file. Documents that fail are left out; all
/// diagnostics (errors and warnings) of the file are returned together.
pub fn load_str(
    path: &str,
    text: &str,
    placeholders: Option<&Placeholders>,
) -> (Vec<Loaded>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let docs = match yaml::parse(text, path) {
        Ok(d) => d,
        Err(e) => return (Vec::new(), e),
    };
    let loaded = docs
        .iter()
        .filter_map(|doc| lower::lower_document(doc, path, placeholders, &mut diags))
        .collect();
    (loaded, diags)
}

/// Reads a placeholder file: a YAML map from names to a value or a list of values.
pub fn load_placeholders(path: &str, text: &str) -> Result<Placeholders, Diagnostics> {
    let docs = yaml::parse(text, path)?;
    let mut out = Placeholders::default();
    let mut diags = Diagnostics::default();
    for doc in docs {
        let yaml::NodeKind::Map(entries) = &doc.root.kind else {
            diags.push(Diagnostic::new(
                Code::WrongType,
                path,
                Some(doc.root.span),
                "a placeholder file is a map of names to values",
            ));
            continue;
        };
        for (k, v) in entries {
            let values: Vec<String> = match &v.kind {
                yaml::NodeKind::Seq(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                yaml::NodeKind::Scalar(s, _) => vec![s.clone()],
                yaml::NodeKind::Map(_) => {
                    diags.push(Diagnostic::new(
                        Code::WrongType,
                        path,
                        Some(v.span),
                        "a placeholder holds a value or a list of values",
                    ));
                    continue;
                }
            };
            out.insert(k.as_str().unwrap_or_default().to_string(), values);
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}
