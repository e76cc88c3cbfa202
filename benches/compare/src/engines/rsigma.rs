//! rsigma (rsigma-eval): the rule file parsed by `rsigma_parser::parse_sigma_yaml` into one
//! detection `Engine` (its candidate index built once); each line parsed with `serde_json`
//! into a `Value` and evaluated through `JsonEvent` (the way rsigma's own CLI reads NDJSON).

use super::{Compiled, Counts, RuleIndex};
use crate::rules::RuleFile;
use rsigma_eval::Engine;
use rsigma_eval::event::JsonEvent;
use serde_json::Value;

pub struct Rsigma {
    engine: Engine,
    index: RuleIndex,
}

impl Rsigma {
    pub fn compile(rules: &RuleFile) -> Result<Rsigma, String> {
        let collection = rsigma_parser::parse_sigma_yaml(&rules.text)
            .map_err(|e| format!("rsigma cannot parse the rules: {e}"))?;
        if !collection.errors.is_empty() {
            return Err(format!(
                "rsigma rejected {} rule document(s), first: {}",
                collection.errors.len(),
                collection.errors[0]
            ));
        }
        let mut engine = Engine::new();
        engine
            .add_collection(&collection)
            .map_err(|e| format!("rsigma cannot compile the rules: {e}"))?;
        if engine.rule_count() != rules.len() {
            return Err(format!(
                "rsigma loaded {} rules of {}",
                engine.rule_count(),
                rules.len()
            ));
        }
        Ok(Rsigma {
            engine,
            index: RuleIndex::new(rules),
        })
    }
}

impl Compiled for Rsigma {
    fn count(&mut self, lines: &[&str]) -> Counts {
        let mut counts = Counts::default();
        for line in lines {
            match serde_json::from_str::<Value>(line) {
                Ok(value) => {
                    let event = JsonEvent::borrow(&value);
                    counts.matches += self.engine.evaluate(&event).len() as u64;
                }
                Err(_) => counts.invalid += 1,
            }
        }
        counts
    }

    fn record(&mut self, lines: &[&str], out: &mut Vec<(u32, u32)>) -> Counts {
        let mut counts = Counts::default();
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str::<Value>(line) {
                Ok(value) => {
                    let event = JsonEvent::borrow(&value);
                    for m in self.engine.evaluate(&event) {
                        let rule = self
                            .index
                            .position(m.header.rule_id.as_deref(), &m.header.rule_title);
                        out.push((rule, i as u32));
                        counts.matches += 1;
                    }
                }
                Err(_) => counts.invalid += 1,
            }
        }
        counts
    }
}
