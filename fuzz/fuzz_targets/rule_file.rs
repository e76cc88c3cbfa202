//! Whole rule files: parse, check and compile them, render every diagnostic against the text;
//! a rule set that compiles also runs its own `tests:` and the sample events, and explains
//! every rule. Nothing may panic.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use session_sigma::{Alert, Engine, RuleSet, report};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let built = RuleSet::builder()
        .add_str("fuzz.yml", text.as_ref())
        .build();
    match built {
        Err(diags) => {
            assert!(diags.has_errors(), "a failed build reports an error");
            for d in diags.iter() {
                let _ = report::render(d, Some(&text));
            }
        }
        Ok(set) => {
            for d in set.warnings().iter() {
                let _ = report::render(d, Some(&text));
            }
            for meta in set.rules() {
                if let Some(r) = set.find(&meta.title) {
                    let _ = set.explain(r);
                }
            }
            let _ = session_sigma::testing::run_all(&set);
            let mut engine = Engine::with_settings(&set, common::settings());
            let mut alerts: Vec<Alert> = Vec::new();
            for line in common::SAMPLE_EVENTS.lines() {
                let _ = engine.process_line(line.as_bytes(), &mut alerts);
            }
            engine.finish(&mut alerts);
            common::check_alerts(&alerts);
        }
    }
});
