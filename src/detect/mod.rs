//! Detection: the pure evaluation of a rule set's plan on one event ([`predicate`]) and the
//! [`RuleMatcher`] that finds the rules an event matches (the engine's `Detector` runs it
//! on any thread).

pub mod predicate;

use crate::compile::RuleSet;
use crate::compile::index::Scratch;
use crate::event::Fields;

/// The working memory of matching events against a rule set (reused: no allocation per
/// event once grown). The engine and each `Detector` own one.
#[derive(Debug, Default)]
pub struct RuleMatcher {
    candidates: Vec<u32>,
    scratch: Scratch,
    memo: predicate::Memo,
}

impl RuleMatcher {
    /// The detection rules of one target an event matches, ascending, into `out`
    /// (`windows`: the rules for flattened Windows records, else those for session
    /// events). Only the rules the index says the event can match are evaluated.
    pub fn matching(&mut self, set: &RuleSet, fields: &Fields<'_>, windows: bool, out: &mut Vec<u32>) {
        out.clear();
        if !set.has_target(windows) {
            return;
        }
        set.index
            .candidates(fields, &mut self.candidates, &mut self.scratch);
        self.memo.next_event(set.plan.nodes.len());
        for &i in &self.candidates {
            let rule = &set.rules[i as usize];
            if rule.windows == windows
                && predicate::eval(&set.plan, rule.root, fields, &mut self.memo)
            {
                out.push(i);
            }
        }
    }
}
