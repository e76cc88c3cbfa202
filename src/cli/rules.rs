//! `rules list` (one line per rule) and `rules export DIR` (the bundled pack as files),
//! and the generated `completions SHELL` and `man` page.

use super::args::{Cli, CompletionsArgs, RulesArgs, RulesCommand, RulesExportArgs};
use super::{EXIT_ERROR, RuleSources, bundled};
use clap::CommandFactory;

pub fn rules(a: &RulesArgs) -> u8 {
    match &a.command {
        RulesCommand::List(l) => list(&l.rules),
        RulesCommand::Export(e) => export(e),
    }
}

/// Aligned columns: id, name, level, type, file:line.
fn list(a: &super::args::RuleArgs) -> u8 {
    let set = match RuleSources::compile(a) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rows: Vec<[String; 5]> = set
        .rules_with_types()
        .map(|(m, kind)| {
            [
                m.id.clone().unwrap_or_else(|| "-".into()),
                m.name.clone().unwrap_or_else(|| "-".into()),
                m.level.clone().unwrap_or_else(|| "-".into()),
                kind.to_string(),
                format!("{}:{}", m.path, m.span.line),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "LEVEL", "TYPE", "FILE"].map(String::from);
    let mut widths = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (w, c)) in widths.iter().zip(r).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{line}");
    }
    0
}

/// Writes each bundled file under DIR, its path without the leading `rules/`.
fn export(a: &RulesExportArgs) -> u8 {
    let mut written = 0;
    for (path, text) in bundled::BUNDLED {
        let rel = path.strip_prefix("rules/").unwrap_or(path);
        let target = a.dir.join(rel);
        if target.exists() && !a.force {
            eprintln!(
                "error: {} exists (--force replaces it); nothing more was written",
                target.display()
            );
            return EXIT_ERROR;
        }
        let made = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, text));
        if let Err(e) = made {
            eprintln!("error: cannot write {}: {e}", target.display());
            return EXIT_ERROR;
        }
        written += 1;
    }
    eprintln!("wrote {written} rule file(s) under {}", a.dir.display());
    0
}

/// Every `%name%` of an `expand` value in the rule files, with where it is used, as a
/// placeholder file to fill in (YAML: `name: []`).
pub fn placeholders(a: &super::args::PlaceholdersArgs) -> u8 {
    let sources = match RuleSources::load(&a.paths, None, &[], super::args::UnsetChoice::Error) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let mut names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, text) in &sources.texts {
        let Ok(docs) = crate::rule::yaml::parse(text, path) else {
            continue;
        };
        for d in &docs {
            expand_names(&d.root, false, path, &mut names);
        }
    }
    if names.is_empty() {
        eprintln!("no rule uses an `expand` placeholder");
        return 0;
    }
    println!("# Placeholder values for `expand` (session-sigma run --placeholders FILE).");
    println!("# Each name takes a value or a list of values; a name left empty is an error");
    println!("# unless --unset-placeholders skip|wildcard says otherwise.");
    for (name, places) in &names {
        let shown: Vec<&String> = places.iter().take(3).collect();
        let more = if places.len() > 3 {
            format!(" and {} more", places.len() - 3)
        } else {
            String::new()
        };
        // A plain name as it is; anything else quoted (a JSON string is a YAML scalar).
        let key = if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            name.clone()
        } else {
            serde_json::Value::String(name.clone()).to_string()
        };
        println!(
            "{key}: []  # {}{more}",
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    0
}

/// The `%name%` tokens of scalars under keys with the `expand` modifier.
fn expand_names(
    n: &crate::rule::yaml::Node,
    expanding: bool,
    path: &str,
    out: &mut std::collections::BTreeMap<String, Vec<String>>,
) {
    use crate::rule::yaml::NodeKind;
    match &n.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                let expands = key.split('|').skip(1).any(|m| m == "expand");
                expand_names(v, expands, path, out);
            }
        }
        NodeKind::Seq(items) => items
            .iter()
            .for_each(|i| expand_names(i, expanding, path, out)),
        NodeKind::Scalar(s, _) if expanding => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find('%') {
                let after = &rest[start + 1..];
                let Some(end) = after.find('%') else { break };
                let name = &after[..end];
                if !name.is_empty() {
                    let place = format!("{path}:{}", n.span.line);
                    let places = out.entry(name.to_string()).or_default();
                    if !places.contains(&place) {
                        places.push(place);
                    }
                }
                rest = &after[end + 1..];
            }
        }
        NodeKind::Scalar(..) => {}
    }
}

pub fn completions(a: &CompletionsArgs) -> u8 {
    let mut cmd = Cli::command();
    // Into a buffer: the generator panics when its writer fails (`| head`).
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "session-sigma", &mut out);
    print!("{}", String::from_utf8_lossy(&out));
    0
}

pub fn man() -> u8 {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    if let Err(e) = page.render(&mut out) {
        eprintln!("error: cannot render the man page: {e}");
        return EXIT_ERROR;
    }
    print!("{}", String::from_utf8_lossy(&out));
    0
}
