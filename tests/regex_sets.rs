//! Regex sets shared across rules give exactly the matches of each regex run alone.
//!
//! Many rules put distinct `re` values (every flag combination, regexes that match the
//! empty string, unicode) on one field and in keyword searches. Generated events give that
//! field strings, numbers, booleans, null, objects, arrays (nested too) or nothing. The
//! alerts, with the shared sets (plan optimisation on) and without them (off), must be
//! exactly what `regex::Regex::is_match` says of each rule on each event.

use super::common::Rng;
use serde_json::Value;
use session_sigma::RuleSet;
use std::collections::BTreeSet;

/// Regexes that rules put on `cmd` and in keyword searches.
const PATTERNS: &[&str] = &[
    r"adm[0-9]+",
    r"^net +use",
    r"ADMIN",
    r"(?-i)Adm",
    r"^$",
    r"x*",
    r"",
    r"^b$",
    r"a.b",
    r"\d{4}",
    r"^4624$",
    r"^true$",
    r"^-?[0-9]+\.[0-9]+$",
    r"é",
    r"[[:upper:]]{3}",
    r"\bbob\b",
    r"ö|ø",
    r"^\s*$",
    r"rm -rf",
    r"^C:\\Windows",
    r"\.exe$",
    r"password",
    r"^.{0,3}$",
    r"(?m)^y$",
    r"[^\x00-\x7F]",
];

/// `re` flag suffixes: none, `i`, `m`, `s` and their combinations.
const FLAGS: &[&str] = &["", "|i", "|m", "|s", "|i|m", "|i|s", "|m|s", "|i|m|s"];

/// Values of `cmd` (and of `other`), as JSON.
const VALUES: &[&str] = &[
    r#""Admin""#,
    r#""ADMIN user""#,
    r#""adm42""#,
    r#""net  use \\\\srv""#,
    r#""""#,
    r#""a\nb""#,
    r#""x\nb\ny""#,
    r#""aXb""#,
    r#""C:\\Windows\\evil.EXE""#,
    r#""c:\\windows\\evil.exe""#,
    r#""bob""#,
    r#""bobby""#,
    r#""café""#,
    r#""ÉCOLE""#,
    r#""Ørsted""#,
    r#""   ""#,
    r#""password=1""#,
    r#""rm -rf /""#,
    "4624",
    "12345",
    "2.5",
    "-1",
    "true",
    "false",
    "null",
    r#"{"a": "Admin"}"#,
    "[]",
    r#"["bob", 4624, null]"#,
    r#"["x", ["adm7", false], {"k": "ADMIN"}]"#,
    r#"[true, "a\nb"]"#,
];

/// One generated rule: its regexes (OR), on `cmd` or as keywords, maybe negated.
struct GenRule {
    keyword: bool,
    flags: &'static str,
    patterns: Vec<&'static str>,
    negated: bool,
}

impl GenRule {
    fn yaml(&self, i: usize) -> String {
        let quote = |p: &str| format!("'{}'", p.replace('\'', "''"));
        let list = self
            .patterns
            .iter()
            .map(|p| quote(p))
            .collect::<Vec<_>>()
            .join(", ");
        let key = if self.keyword {
            format!("'|re{}'", self.flags)
        } else {
            format!("cmd|re{}", self.flags)
        };
        let condition = if self.negated { "not sel" } else { "sel" };
        format!(
            "title: r{i}\nname: r{i}\nlogsource: {{category: test}}\ndetection:\n  sel:\n    {key}: [{list}]\n  condition: {condition}\n"
        )
    }

    /// Each regex alone, as `regex` builds it with the rule's flags.
    fn regexes(&self) -> Vec<regex::Regex> {
        self.patterns
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .case_insensitive(self.flags.contains('i'))
                    .multi_line(self.flags.contains('m'))
                    .dot_matches_new_line(self.flags.contains('s'))
                    .build()
                    .expect("the patterns are valid")
            })
            .collect()
    }

    /// What the regexes alone say: does any text the rule would see match one of them?
    fn oracle(&self, regexes: &[regex::Regex], event: &Value) -> bool {
        let mut texts = Vec::new();
        if self.keyword {
            keyword_texts(event, &mut texts);
        } else if let Some(v) = event.get("cmd") {
            field_texts(v, &mut texts);
        }
        let hit = texts.iter().any(|t| regexes.iter().any(|r| r.is_match(t)));
        hit != self.negated
    }
}

/// The texts a field test sees: each scalar of the value (array elements, recursively);
/// numbers as written, booleans as `true`/`false`; null and objects none.
fn field_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(a) => a.iter().for_each(|x| field_texts(x, out)),
        Value::Null | Value::Object(_) => {}
    }
}

/// The texts a keyword search sees: every string and number in the event.
fn keyword_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| keyword_texts(x, out)),
        Value::Object(m) => m.values().for_each(|x| keyword_texts(x, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

fn gen_rules() -> Vec<GenRule> {
    let mut rng = Rng(0x5EED_0001);
    let mut rules = Vec::new();
    // Every pattern under every flag combination on `cmd`: many distinct regexes per set.
    for (k, p) in PATTERNS.iter().enumerate() {
        for (f, flags) in FLAGS.iter().enumerate() {
            if (k + f) % 3 == 0 || f == 0 {
                rules.push(GenRule {
                    keyword: false,
                    flags,
                    patterns: vec![p],
                    negated: (k + f) % 5 == 0,
                });
            }
        }
    }
    // Lists of regexes (OR), and keyword searches.
    for i in 0..40 {
        let n = 1 + rng.below(3);
        rules.push(GenRule {
            keyword: i % 2 == 0,
            flags: FLAGS[rng.below(FLAGS.len())],
            patterns: (0..n)
                .map(|_| PATTERNS[rng.below(PATTERNS.len())])
                .collect(),
            negated: rng.below(4) == 0,
        });
    }
    rules
}

fn gen_events(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5EED_0002);
    (0..n)
        .map(|i| {
            let mut line = format!(
                r#"{{"timestamp":"2024-05-01T{:02}:{:02}:{:02}Z","i":{i}"#,
                i / 3600,
                (i / 60) % 60,
                i % 60
            );
            // Missing in one event of eight.
            if rng.below(8) != 0 {
                line.push_str(&format!(r#","cmd":{}"#, VALUES[rng.below(VALUES.len())]));
            }
            line.push_str(&format!(
                r#","other":{}}}"#,
                VALUES[rng.below(VALUES.len())]
            ));
            line
        })
        .collect()
}

fn alerts(set: &RuleSet, lines: &[String]) -> BTreeSet<(String, u64)> {
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    super::common::matched_pairs(set, &lines)
}

#[test]
fn shared_regex_sets_match_exactly_as_each_regex_alone() {
    let rules = gen_rules();
    let text = rules
        .iter()
        .enumerate()
        .map(|(i, r)| r.yaml(i))
        .collect::<Vec<_>>()
        .join("---\n");
    let lines = gen_events(3_000);
    let regexes: Vec<Vec<regex::Regex>> = rules.iter().map(GenRule::regexes).collect();
    let mut want = BTreeSet::new();
    for line in &lines {
        let event: Value = serde_json::from_str(line).expect("generated events are JSON");
        let i = event["i"].as_u64().expect("every event has its index");
        for (k, r) in rules.iter().enumerate() {
            if r.oracle(&regexes[k], &event) {
                want.insert((format!("r{k}"), i));
            }
        }
    }
    assert!(want.len() > 10_000, "the rules match often: {}", want.len());
    for optimize in [true, false] {
        let set = super::common::generated(&text, optimize);
        let shared = (0..rules.len())
            .filter(|k| {
                let r = set.find(&format!("r{k}")).expect("every rule is loaded");
                set.explain(r).contains("shared regex set")
            })
            .count();
        if optimize {
            eprintln!("{shared} of {} rules use a shared set", rules.len());
            assert!(
                shared * 4 >= rules.len() * 3,
                "most regexes are in a shared set: {shared} of {}",
                rules.len()
            );
        } else {
            assert_eq!(shared, 0, "without optimisation every regex runs alone");
        }
        let got = alerts(&set, &lines);
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&want).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "optimize {optimize}: missing {missing:?}, extra {extra:?}"
        );
    }
}
