//! sigma-rust: one `Rule` per YAML document (`rule_from_yaml`); each line parsed with
//! `event_from_json` into its `Event`, then every rule's `is_match` (the library has no
//! rule index: each event is tested against every rule).

use super::{Compiled, Counts};
use crate::rules::RuleFile;
use sigma_rust::{Rule, event_from_json, rule_from_yaml};

pub struct SigmaRust {
    rules: Vec<Rule>,
}

impl SigmaRust {
    pub fn compile(rules: &RuleFile) -> Result<SigmaRust, String> {
        let compiled = rules
            .documents
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                rule_from_yaml(doc).map_err(|e| {
                    format!(
                        "sigma-rust rejected rule {} (`{}`): {e}",
                        i + 1,
                        rules.titles[i]
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SigmaRust { rules: compiled })
    }
}

impl Compiled for SigmaRust {
    fn count(&mut self, lines: &[&str]) -> Counts {
        let mut counts = Counts::default();
        for line in lines {
            match event_from_json(line) {
                Ok(event) => {
                    counts.matches +=
                        self.rules.iter().filter(|r| r.is_match(&event)).count() as u64;
                }
                Err(_) => counts.invalid += 1,
            }
        }
        counts
    }

    fn record(&mut self, lines: &[&str], out: &mut Vec<(u32, u32)>) -> Counts {
        let mut counts = Counts::default();
        for (i, line) in lines.iter().enumerate() {
            match event_from_json(line) {
                Ok(event) => {
                    for (r, rule) in self.rules.iter().enumerate() {
                        if rule.is_match(&event) {
                            out.push((r as u32, i as u32));
                            counts.matches += 1;
                        }
                    }
                }
                Err(_) => counts.invalid += 1,
            }
        }
        counts
    }
}
