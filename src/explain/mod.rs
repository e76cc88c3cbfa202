//! Why a rule did or did not fire: a detection rule's condition evaluated part by part on
//! one event ([`detection`]), and a correlation's groups, windows and aggregates over a
//! stream of events ([`correlation`]). `session-sigma explain` prints them, and a failing
//! `expect: match` / `no_match` rule test shows the tree of the failing event.

mod correlation;
mod detection;
pub mod tree;

use crate::compile::{RuleRef, RuleSet};
use crate::event::{Record, View};
use crate::report::Paint;
use tree::Line;

/// An explanation, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Header lines (the rule, the event, the result).
    pub header: Vec<String>,
    /// The tree.
    pub lines: Vec<Line>,
    /// Did the rule match (detection), or fire (correlation)?
    pub fired: bool,
}

impl Explanation {
    /// The explanation as text.
    pub fn render(&self, paint: Paint) -> String {
        let mut out = String::new();
        for (i, h) in self.header.iter().enumerate() {
            if i == 0 {
                out.push_str(&paint.bold(h));
            } else {
                out.push_str(h);
            }
            out.push('\n');
        }
        out.push('\n');
        tree::render(&self.lines, paint, &mut out);
        out
    }
}

/// Explains why detection rule `rule` did or did not match `record` (read as `run` reads
/// it).
pub fn event(set: &RuleSet, rule: RuleRef, record: &Record) -> Result<Explanation, String> {
    let RuleRef::Detection(i) = rule else {
        return Err("a correlation is explained over events: give --events FILE".into());
    };
    let source = set
        .source_rule(i)
        .ok_or_else(|| "the rule's source is not loaded".to_string())?;
    let meta = set.meta(rule);
    let windows = set.rules[i as usize].windows;
    let mut header = vec![rule_line(meta)];
    let Some(object) = object_for(windows, record) else {
        let why = if windows {
            "the rule reads Windows records (logsource product: windows); this event is a session event with no Windows record in `raw`"
        } else {
            "this record is a Windows record that is not a session event: only rules with logsource product: windows read it"
        };
        header.push(format!("result: no match ({why})"));
        return Ok(Explanation {
            header,
            lines: Vec::new(),
            fired: false,
        });
    };
    let text = object.to_string();
    let tree = detection::tree(source, &text, object)?;
    let real = matching(set, &text, windows)?.contains(&i);
    header.push(format!(
        "result: {}",
        if real { "match" } else { "no match" }
    ));
    let mut lines = tree.lines;
    if tree.holds != real {
        lines.push(
            Line::new(
                0,
                "the parts' verdict differs from the rule's: please report it",
                None,
            )
            .with_note(format!("parts {}, rule {real}", tree.holds)),
        );
    }
    Ok(Explanation {
        header,
        lines,
        fired: real,
    })
}

pub use correlation::stream;

/// The first header line: the rule, its title and where it is written.
fn rule_line(meta: &crate::rule::RuleMeta) -> String {
    format!(
        "rule {} ({}), {}:{}",
        meta.handle(),
        meta.title,
        meta.path,
        meta.span.line
    )
}

/// The object a rule of this target reads in a record, as the engine hands it over: the
/// session event, or the flattened Windows record (`raw` of a session event made from one).
fn object_for(windows: bool, record: &Record) -> Option<&serde_json::Value> {
    match (windows, record.view) {
        (false, View::Session | View::SessionWithRaw) => Some(&record.event),
        (true, View::SessionWithRaw) => record.event.get("raw"),
        (true, View::WindowsOnly) => Some(&record.event),
        (false, View::WindowsOnly) | (true, View::Session) => None,
    }
}

/// The detection rules of one target (`windows`) of `set` that the object `text`
/// matches, ascending: the engine's matcher on its projection.
fn matching(set: &RuleSet, text: &str, windows: bool) -> Result<Vec<u32>, String> {
    let mut projector = set.projector();
    crate::event::project::load_into(&mut projector, text).map_err(|e| e.to_string())?;
    let fields = projector.fields(text);
    let mut out = Vec::new();
    crate::detect::RuleMatcher::default().matching(set, &fields, windows, &mut out);
    Ok(out)
}

/// Every detection rule of `set` the record matches, both targets (the engine's view of
/// each: the session event, the Windows record).
fn matching_record(set: &RuleSet, record: &Record) -> Vec<u32> {
    let mut out = Vec::new();
    for windows in [false, true] {
        if let Some(o) = object_for(windows, record) {
            out.extend(matching(set, &o.to_string(), windows).unwrap_or_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Adapter, Format};

    /// Every bundled detection rule on every event of its tests (matching and not): the
    /// verdict the tree computes from its parts is the engine's verdict for the rule.
    #[test]
    fn the_tree_agrees_with_the_engine_on_every_bundled_test_event() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let set = RuleSet::builder()
            .add_path(&root)
            .build()
            .expect("pack compiles");
        let mut checked = (0, 0);
        for (i, r) in set.rules.iter().enumerate() {
            let source = set.source_rule(i as u32).expect("source kept");
            for t in &r.tests {
                for ev in &t.events {
                    let Some(record) = Adapter::new(Format::Auto, None)
                        .json(ev.clone())
                        .into_record()
                    else {
                        continue;
                    };
                    let e = event(&set, RuleRef::Detection(i as u32), &record).expect("explains");
                    let text = e.render(Paint::off());
                    assert!(
                        !text.contains("please report"),
                        "{}:\n{text}",
                        source.meta.path
                    );
                    if e.fired {
                        checked.0 += 1;
                    } else {
                        checked.1 += 1;
                    }
                }
            }
        }
        // Both outcomes are exercised, many times.
        assert!(checked.0 > 30 && checked.1 > 30, "{checked:?}");
    }
}
