//! The compared engines behind one interface. Each is given the rule file text and the
//! event lines (JSON text, in memory) and parses every line itself: what is timed is
//! "JSON line → matches", end to end.

mod rsigma;
mod session_sigma;
mod sigma_rust;

use crate::rules::RuleFile;
use std::collections::HashMap;

/// An engine the comparison knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The project itself: `RuleSet` + `Engine::process_line`.
    SessionSigma,
    /// rsigma: `rsigma_parser::parse_sigma_yaml` + `rsigma_eval::Engine::evaluate`.
    Rsigma,
    /// sigma-rust: `rule_from_yaml` per rule + `event_from_json` + `Rule::is_match`.
    SigmaRust,
    /// No engine: the child only loads the inputs (baseline for peak RSS).
    None,
}

impl Kind {
    pub const COMPARED: [Kind; 3] = [Kind::SessionSigma, Kind::Rsigma, Kind::SigmaRust];

    pub fn name(self) -> &'static str {
        match self {
            Kind::SessionSigma => "session-sigma",
            Kind::Rsigma => "rsigma",
            Kind::SigmaRust => "sigma-rust",
            Kind::None => "none",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, String> {
        match s {
            "session-sigma" | "session_sigma" => Ok(Kind::SessionSigma),
            "rsigma" | "rsigma-eval" => Ok(Kind::Rsigma),
            "sigma-rust" | "sigma_rust" => Ok(Kind::SigmaRust),
            "none" => Ok(Kind::None),
            _ => Err(format!(
                "unknown engine `{s}` (known: session-sigma, rsigma, sigma-rust, none)"
            )),
        }
    }
}

/// What one pass over the events found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// (rule, event) matches.
    pub matches: u64,
    /// Lines the engine could not read as an event.
    pub invalid: u64,
}

/// A compiled rule set of one engine.
pub trait Compiled {
    /// The timed pass: every line parsed and evaluated, matches counted.
    fn count(&mut self, lines: &[&str]) -> Counts;
    /// The checking pass (not timed): every match as (rule position, line index).
    fn record(&mut self, lines: &[&str], out: &mut Vec<(u32, u32)>) -> Counts;
}

/// Compiles `rules` for `kind`.
pub fn compile(kind: Kind, rules: &RuleFile) -> Result<Box<dyn Compiled>, String> {
    match kind {
        Kind::SessionSigma => Ok(Box::new(session_sigma::SessionSigma::compile(rules)?)),
        Kind::Rsigma => Ok(Box::new(rsigma::Rsigma::compile(rules)?)),
        Kind::SigmaRust => Ok(Box::new(sigma_rust::SigmaRust::compile(rules)?)),
        Kind::None => Err("the `none` engine compiles nothing".into()),
    }
}

/// Finds a rule's position from what an engine reports about a match (its id, else title).
pub struct RuleIndex {
    by_id: HashMap<String, u32>,
    by_title: HashMap<String, u32>,
}

impl RuleIndex {
    pub fn new(rules: &RuleFile) -> RuleIndex {
        let mut by_id = HashMap::new();
        let mut by_title = HashMap::new();
        for (i, (id, title)) in rules.ids.iter().zip(&rules.titles).enumerate() {
            let i = i as u32;
            if let Some(id) = id {
                by_id.insert(id.clone(), i);
            }
            by_title.insert(title.clone(), i);
        }
        RuleIndex { by_id, by_title }
    }

    /// The rule's position, or `u32::MAX` for a rule the file does not hold (reported as
    /// a mismatch, never dropped).
    pub fn position(&self, id: Option<&str>, title: &str) -> u32 {
        id.and_then(|id| self.by_id.get(id))
            .or_else(|| self.by_title.get(title))
            .copied()
            .unwrap_or(u32::MAX)
    }
}
