//! The conformance corpus: `tests/conformance/*.yml` (files starting with `_` are skipped).
//!
//! Each file is a YAML list of cases:
//! ```yaml
//! - case: contains is a case-insensitive substring   # unique name
//!   note: pySigma wraps the value in `*...*`          # optional: where the behaviour comes from
//!   rule: |                                           # a rule, or only its `detection:` block
//!     detection:
//!       sel: {user|contains: ADM}
//!       condition: sel
//!   events:                                           # events, in order
//!     - {user: xadmy}
//!     - {user: bob}
//!   expect: [true, false]                             # does the rule match each event?
//! - case: unknown modifier
//!   rule: |
//!     detection:
//!       sel: {user|contans: x}
//!       condition: sel
//!   error: {code: E302, line: 2, col: 15}             # line/col (1-based) in `rule` as written
//! ```
//! A `rule` without `title:` gets `title` and `logsource` prepended; positions in `error`
//! still count from the first line of `rule` as written. Optional `placeholders:` is a map
//! of `expand` values. Every matching case runs with the rule index on and off, and both
//! must agree with `expect`.

use serde_json::Value;
use session_sigma::rule::yaml::{self, Node, NodeKind};
use session_sigma::{Engine, Options, RuleSet};

const PREFIX: &str = "title: conformance case\nlogsource: {category: test}\n";

struct Case {
    file: String,
    name: String,
    rule: String,
    prefixed: bool,
    placeholders: Option<session_sigma::rule::Placeholders>,
    events: Vec<Value>,
    expect: Option<Vec<bool>>,
    error: Option<(String, Option<u32>, Option<u32>)>,
}

fn load_cases() -> Vec<Case> {
    let dir = super::common::root().join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let fname = f.file_name().unwrap().to_string_lossy().to_string();
        if fname.starts_with('_') || !fname.ends_with(".yml") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let docs = yaml::parse(&text, &fname).unwrap_or_else(|d| panic!("{fname}: {d}"));
        let NodeKind::Seq(items) = &docs[0].root.kind else {
            panic!("{fname}: expected a list of cases")
        };
        for item in items {
            cases.push(load_case(&fname, item));
        }
    }
    cases
}

fn load_case(file: &str, item: &Node) -> Case {
    let name = item
        .get("case")
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("{file}:{}: case without `case:`", item.span.line))
        .to_string();
    let at = format!("{file}: case `{name}`");
    let rule = item
        .get("rule")
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("{at}: no `rule`"))
        .to_string();
    let prefixed = !rule.lines().any(|l| l.starts_with("title:"));
    let events = match item.get("events") {
        Some(Node {
            kind: NodeKind::Seq(evs),
            ..
        }) => evs.iter().map(Node::to_json).collect(),
        Some(_) => panic!("{at}: `events` must be a list"),
        None => Vec::new(),
    };
    let expect: Option<Vec<bool>> = item.get("expect").map(|e| match e.to_json() {
        Value::Array(bs) => bs
            .iter()
            .map(|b| {
                b.as_bool()
                    .unwrap_or_else(|| panic!("{at}: expect holds booleans"))
            })
            .collect(),
        _ => panic!("{at}: `expect` is a list of booleans"),
    });
    let error = item.get("error").map(|e| {
        let code = e
            .get("code")
            .and_then(Node::as_str)
            .unwrap_or_else(|| panic!("{at}: error needs `code`"))
            .to_string();
        let num = |k: &str| {
            e.get(k).map(|n| {
                n.to_json()
                    .as_u64()
                    .unwrap_or_else(|| panic!("{at}: `{k}` is a number")) as u32
            })
        };
        (code, num("line"), num("col"))
    });
    assert!(
        expect.is_some() != error.is_some(),
        "{at}: give exactly one of `expect` and `error`"
    );
    if let Some(exp) = &expect {
        assert_eq!(
            exp.len(),
            events.len(),
            "{at}: `expect` needs one boolean per event"
        );
    }
    let placeholders = item.get("placeholders").map(|p| {
        let Value::Object(m) = p.to_json() else {
            panic!("{at}: placeholders is a map")
        };
        m.into_iter()
            .map(|(k, v)| {
                let vals = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().unwrap_or_default().to_string())
                        .collect(),
                    Value::String(s) => vec![s],
                    other => vec![other.to_string()],
                };
                (k, vals)
            })
            .collect()
    });
    Case {
        file: file.to_string(),
        name,
        rule,
        prefixed,
        placeholders,
        events,
        expect,
        error,
    }
}

/// `optimized` turns both the rule index and the plan optimisation on or off.
fn build(case: &Case, optimized: bool) -> Result<RuleSet, session_sigma::Diagnostics> {
    let text = if case.prefixed {
        format!("{PREFIX}{}", case.rule)
    } else {
        case.rule.clone()
    };
    RuleSet::builder()
        .options(Options {
            use_index: optimized,
            optimize: optimized,
            placeholders: case.placeholders.clone(),
            extra_fields: Vec::new(),
        })
        .add_str("case.yml", text)
        .build()
}

fn matches(set: &RuleSet, events: &[Value]) -> Vec<bool> {
    let mut engine = Engine::new(set);
    events
        .iter()
        .map(|e| {
            let mut alerts = Vec::new();
            engine.process(e, &mut alerts).expect("events are objects");
            engine.flush(&mut alerts);
            !alerts.is_empty()
        })
        .collect()
}

fn run_case(case: &Case) -> Result<(), String> {
    let at = format!("{}: case `{}`", case.file, case.name);
    let shift = if case.prefixed {
        PREFIX.lines().count() as u32
    } else {
        0
    };
    if let Some((code, line, col)) = &case.error {
        return match build(case, true) {
            Ok(_) => Err(format!(
                "{at}: expected error {code}, but the rule compiled"
            )),
            Err(d) => {
                let found = d.iter().filter(|x| x.is_error()).find(|x| {
                    let pos = x.span.map(|s| (s.line.saturating_sub(shift), s.col + 1));
                    x.code.as_str() == code
                        && line.is_none_or(|l| pos.map(|p| p.0) == Some(l))
                        && col.is_none_or(|c| pos.map(|p| p.1) == Some(c))
                });
                match found {
                    Some(_) => Ok(()),
                    None => {
                        let got: Vec<String> = d
                            .iter()
                            .map(|x| {
                                format!(
                                    "{}@{:?}: {}",
                                    x.code,
                                    x.span.map(|s| (s.line.saturating_sub(shift), s.col + 1)),
                                    x.message
                                )
                            })
                            .collect();
                        Err(format!(
                            "{at}: expected {code} at {line:?}:{col:?}, got {got:?}"
                        ))
                    }
                }
            }
        };
    }
    let expect = case
        .expect
        .as_ref()
        .ok_or_else(|| format!("{at}: nothing to check"))?;
    for use_index in [true, false] {
        let set =
            build(case, use_index).map_err(|d| format!("{at}: rule does not compile:\n{d}"))?;
        let got = matches(&set, &case.events);
        if &got != expect {
            let detail: Vec<String> = case
                .events
                .iter()
                .zip(expect.iter().zip(&got))
                .filter(|(_, (e, g))| e != g)
                .map(|(ev, (e, g))| format!("    {ev}: expected {e}, got {g}"))
                .collect();
            return Err(format!(
                "{at} (index {}):\n{}",
                if use_index { "on" } else { "off" },
                detail.join("\n")
            ));
        }
    }
    Ok(())
}

#[test]
fn conformance_corpus() {
    let cases = load_cases();
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(
            names.insert((c.file.clone(), c.name.clone())),
            "{}: duplicate case name `{}`",
            c.file,
            c.name
        );
    }
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= 200,
        "the corpus must hold at least 200 cases, has {}",
        cases.len()
    );
}
