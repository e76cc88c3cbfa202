//! Keyword search (values with no field) matches exactly the events one of whose strings or
//! numbers contains a keyword, case-insensitively, whatever the line's escapes, numbers,
//! nesting and characters. Issue 14 filters most events on the raw line before finding
//! their texts: the filter must never drop an event whose texts match. The oracle reads
//! the event with `serde_json` and searches its texts as Sigma says.

use super::common::Rng;
use serde_json::Value;
use std::collections::BTreeSet;

/// Keywords: ASCII with the characters JSON escapes (`"`, `\`), `/` (escaped as `\/` or
/// not), letters that a non-ASCII character lower-cases to (`k` from the Kelvin sign),
/// digits and number pieces (`000` of `1e3` read as `1000.0`, `.5`), and plain words.
const KEYWORDS: &[&str] = &[
    "dc0",
    "user42\"",
    r"corp\adm",
    "a/b",
    "k",
    "000",
    ".5",
    "e3",
    "ADMIN",
    "4624",
    "x\"y\\z",
    "é",
    "true",
    "null",
    "i\u{307}",
];

/// Values, as JSON.
const VALUES: &[&str] = &[
    r#""DC01""#,
    r#""ws-dc0""#,
    r#""user42\"""#,
    r#""user42\u0022""#,
    r#""CORP\\Admin""#,
    r#""CORP\u005cadmin""#,
    r#""a\/b""#,
    r#""a/b""#,
    "\"\u{212a}elvin\"",
    r#""\u212aelvin""#,
    "\"\u{130}stanbul\"",
    "1e3",
    "1000",
    "1.50",
    "0.5",
    "-0",
    "4624",
    "123456789012345678901",
    "true",
    "null",
    r#""x\"y\\z""#,
    r#""\u0078\"y\\z""#,
    r#""caf\u00e9""#,
    r#""CAFÉ""#,
    r#""tab\there""#,
    r#"{"inner": "dc0"}"#,
    r#"{"n": 1e3}"#,
    r#"["user42\"", 7]"#,
    r#"[1.5]"#,
    r#""plain""#,
];

/// Rules of one to seven keywords (past four the line filter is one automaton).
fn gen_rules(rng: &mut Rng) -> Vec<Vec<&'static str>> {
    let mut rules: Vec<Vec<&str>> = KEYWORDS.iter().map(|k| vec![*k]).collect();
    for _ in 0..30 {
        let n = 1 + rng.below(7);
        rules.push(
            (0..n)
                .map(|_| KEYWORDS[rng.below(KEYWORDS.len())])
                .collect(),
        );
    }
    rules
}

fn yaml(i: usize, keywords: &[&str]) -> String {
    let list: Vec<String> = keywords
        .iter()
        .map(|k| format!("    - {}", serde_json::to_string(k).expect("a string")))
        .collect();
    format!(
        "title: r{i}\nname: r{i}\nlogsource: {{category: user_session}}\ndetection:\n  keywords:\n{}\n  condition: keywords\n",
        list.join("\n")
    )
}

fn gen_events(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut line = format!(r#"{{"timestamp":"2024-05-01T00:00:00Z","i":{i}"#);
            for key in ["user", "hostname", "other"] {
                if rng.below(5) != 0 {
                    line.push_str(&format!(r#","{key}":{}"#, VALUES[rng.below(VALUES.len())]));
                }
            }
            // A repeated key now and then: the last value is the event's.
            if rng.below(10) == 0 {
                line.push_str(&format!(r#","user":{}"#, VALUES[rng.below(VALUES.len())]));
            }
            line.push('}');
            line
        })
        .collect()
}

/// The texts a keyword search sees: every string and number in the event.
fn texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        Value::Object(m) => m.values().for_each(|x| texts(x, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

#[test]
fn keyword_rules_match_exactly_the_events_whose_texts_hold_a_keyword() {
    let mut rng = Rng(0x5EED_0014);
    let rules = gen_rules(&mut rng);
    let text = rules
        .iter()
        .enumerate()
        .map(|(i, r)| yaml(i, r))
        .collect::<Vec<_>>()
        .join("---\n");
    let lines = gen_events(&mut rng, 4_000);
    let mut want = BTreeSet::new();
    for line in &lines {
        let event: Value = serde_json::from_str(line).expect("generated events are JSON");
        let i = event["i"].as_u64().expect("every event has its index");
        let mut found = Vec::new();
        texts(&event, &mut found);
        let lowered: Vec<String> = found.iter().map(|t| t.to_lowercase()).collect();
        for (k, r) in rules.iter().enumerate() {
            if r.iter()
                .any(|kw| lowered.iter().any(|t| t.contains(&kw.to_lowercase())))
            {
                want.insert((format!("r{k}"), i));
            }
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    for optimize in [true, false] {
        let set = super::common::generated(&text, optimize);
        let got = super::common::matched_pairs(&set, &lines);
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&want).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "optimize {optimize}: missing {missing:?}, extra {extra:?} (of {} wanted)",
            want.len()
        );
        // Every rule is exercised: some events match it and some do not.
        assert!(want.len() > 1_000, "{} matches", want.len());
    }
}
