//! session-sigma: the whole rule file compiled into one `RuleSet`; one `Engine` per pass,
//! fed with `process_line` (it parses the JSON itself), then `finish`.

use super::{Compiled, Counts, RuleIndex};
use crate::rules::RuleFile;
use session_sigma::{Alert, AlertSink, Engine, RuleSet};

pub struct SessionSigma {
    set: RuleSet,
    index: RuleIndex,
}

impl SessionSigma {
    pub fn compile(rules: &RuleFile) -> Result<SessionSigma, String> {
        let set = RuleSet::builder()
            .add_str("rules.yml", rules.text.clone())
            .build()
            .map_err(|diags| {
                let mut s = String::from("session-sigma rejected the rules:");
                for d in diags.iter().take(5) {
                    s.push_str(&format!("\n  {d:?}"));
                }
                s
            })?;
        Ok(SessionSigma {
            set,
            index: RuleIndex::new(rules),
        })
    }
}

/// Counts alerts (the timed pass keeps nothing).
struct CountSink(u64);

impl AlertSink for CountSink {
    fn alert(&mut self, _alert: Alert) {
        self.0 += 1;
    }
}

/// Keeps (rule, line) for every alert; the line is the one just processed, since the
/// checking pass flushes after each line.
struct RecordSink<'a> {
    index: &'a RuleIndex,
    line: u32,
    out: &'a mut Vec<(u32, u32)>,
}

impl AlertSink for RecordSink<'_> {
    fn alert(&mut self, alert: Alert) {
        let rule = self
            .index
            .position(alert.rule.id.as_deref(), &alert.rule.title);
        self.out.push((rule, self.line));
    }
}

impl Compiled for SessionSigma {
    fn count(&mut self, lines: &[&str]) -> Counts {
        let mut engine = Engine::new(&self.set);
        let mut sink = CountSink(0);
        let mut invalid = 0;
        for line in lines {
            if engine.process_line(line.as_bytes(), &mut sink).is_err() {
                invalid += 1;
            }
        }
        engine.finish(&mut sink);
        Counts {
            matches: sink.0,
            invalid,
        }
    }

    fn record(&mut self, lines: &[&str], out: &mut Vec<(u32, u32)>) -> Counts {
        let mut engine = Engine::new(&self.set);
        let before = out.len();
        let mut sink = RecordSink {
            index: &self.index,
            line: 0,
            out,
        };
        let mut invalid = 0;
        for (i, line) in lines.iter().enumerate() {
            sink.line = i as u32;
            if engine.process_line(line.as_bytes(), &mut sink).is_err() {
                invalid += 1;
            }
            // Alerts of one event time are held until time moves on (for their order);
            // flushing here attributes every alert to the line that caused it.
            engine.flush(&mut sink);
        }
        // Nothing should be left; anything that is gets an impossible line number and so
        // shows up as a mismatch.
        sink.line = u32::MAX;
        engine.finish(&mut sink);
        Counts {
            matches: (out.len() - before) as u64,
            invalid,
        }
    }
}
