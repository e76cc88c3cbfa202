//! The crate's layout (README "Architecture"): every top-level module uses only the modules
//! before it in the pipeline, so there is no import cycle. This test reads the sources and
//! fails on a reference that looks upward (`crate::x` in a module listed before `x`).

use super::common::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The pipeline, in order. A module may use any module before it, never one after it.
const LAYERS: &[&str] = &[
    "diag",
    "report",
    "time",
    "pattern",
    "net",
    "file", // leaves
    "condition",
    "rule",
    "event",
    "source",
    "compile",
    "alert",
    "detect",
    "correlate",
    "engine",
    "explain",
    "testing",
    "cluster",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/engine/order.rs` → `engine`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    Some(first.trim_end_matches(".rs").to_string())
}

/// Top-level modules a source text names as `crate::x` (in `use` lines and paths), with
/// `use crate::{a, b::c}` groups read too. Comments are skipped.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn modules_only_use_modules_before_them() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else {
            continue;
        };
        if m == "lib" || m == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("source file");
        let deps = graph.entry(m.clone()).or_default();
        for u in uses(&text) {
            if u != m {
                deps.insert(u);
            }
        }
    }
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for (m, deps) in &graph {
        let Some(rm) = rank(m) else {
            wrong.push(format!("`{m}` is not in the layer list of tests/layout.rs"));
            continue;
        };
        for d in deps {
            match rank(d) {
                Some(rd) if rd < rm => {}
                Some(_) => wrong.push(format!("`{m}` uses `{d}`, which comes after it")),
                // A root re-export hides which stage it comes from: name the module.
                None if d.starts_with(char::is_uppercase) => wrong.push(format!(
                    "`{m}` uses `crate::{d}`: use the module path, so the layer shows"
                )),
                None => wrong.push(format!("`{m}` uses `{d}`, which is not a layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "layout violations:\n{}", wrong.join("\n"));
}

#[test]
fn the_reader_sees_grouped_and_plain_uses() {
    let text =
        "use crate::{alert::Alert, compile};\nlet x = crate::time::Timestamp(0); // crate::cli\n";
    let got: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(got, ["alert", "compile", "time"]);
}
