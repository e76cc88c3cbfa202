//! Findings of the fuzzing campaign (`fuzz/`, issue 11): one test per finding, with the
//! minimised input inline, each written before its fix.

use session_sigma::{Alert, Engine, RuleSet};

fn rules(text: &str) -> RuleSet {
    RuleSet::builder()
        .add_str("fuzz.yml", text)
        .build()
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Alerts of one line, read as a line (by projection) and as its parsed `Value`.
fn both_ways(set: &RuleSet, line: &str) -> (usize, usize) {
    let mut a: Vec<Alert> = Vec::new();
    let mut e = Engine::new(set);
    e.process_line(line.as_bytes(), &mut a).expect("valid");
    e.finish(&mut a);
    let mut b: Vec<Alert> = Vec::new();
    let mut e = Engine::new(set);
    let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
    e.process(&value, &mut b).expect("valid");
    e.finish(&mut b);
    (a.len(), b.len())
}

/// projection: a repeated key's earlier value is not in the event (serde_json and field
/// projection keep the last one), so keyword search must not see it: the line and its parsed
/// `Value` gave different alerts (`any_text` walked every member as written).
#[test]
fn keyword_search_skips_values_of_repeated_keys() {
    let set = rules(
        "title: k\nlogsource: {category: user_session}\ndetection:\n  kw: [mimikatz]\n  condition: kw\n",
    );
    for line in [
        r#"{"a":"mimikatz","a":"x"}"#,
        r#"{"a":"mimikatz","\u0061":"x"}"#,
        r#"{"r":{"a":["mimikatz"],"a":1}}"#,
    ] {
        assert_eq!(both_ways(&set, line), (0, 0), "{line}");
    }
    // The last value is searched, and so are distinct keys.
    for line in [
        r#"{"a":"x","a":"mimikatz"}"#,
        r#"{"a":"mimikatz","b":"x","A":1}"#,
    ] {
        assert_eq!(both_ways(&set, line), (1, 1), "{line}");
    }
    // More members than are checked on the stack.
    let mut many: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
    many.insert(10, r#""k50":"mimikatz""#.to_string());
    let line = format!("{{{}}}", many.join(","));
    assert_eq!(both_ways(&set, &line), (0, 0));
    many.push(r#""k5":"mimikatz""#.to_string());
    let line = format!("{{{}}}", many.join(","));
    assert_eq!(both_ways(&set, &line), (1, 1));
}

/// condition: the printer puts parentheses around every `and` / `or`, so a condition within
/// the 64-level limit can print deeper than it (here 65 levels: the outer `and` gets a pair
/// of its own). Such a print is refused as too deep (E202), never read as another tree; up
/// to the limit it parses back to the same tree (src/condition/ast.rs says so).
#[test]
fn condition_printed_beyond_the_nesting_limit_is_refused_as_too_deep() {
    use session_sigma::Code;
    use session_sigma::condition::{MAX_NESTING, parse};
    let nested = |levels: usize| {
        let mut s = String::from("a");
        for _ in 0..levels {
            s = format!("(a and {s})");
        }
        s
    };
    let src = format!("x and {}", nested(MAX_NESTING));
    let printed = parse(&src).expect("64 levels parse").to_string();
    let e = parse(&printed).expect_err("65 levels");
    assert_eq!(e.code, Code::ConditionTooDeep);
    let src = format!("x and {}", nested(MAX_NESTING - 1));
    let printed = parse(&src).expect("63 levels parse").to_string();
    assert_eq!(parse(&printed).expect("64 levels").to_string(), printed);
}

/// condition (`not(not c)`, minimised from `not (( not c))`): `not not c` folds to `c`, but
/// a `not` in parentheses under a `not` stayed `not (not c)`, which prints as `not not c`
/// and so parsed back to another tree (`c`). Double negation folds through parentheses too.
#[test]
fn condition_double_negation_through_parentheses_prints_back_to_the_same_tree() {
    use session_sigma::condition::parse;
    for (src, printed) in [
        ("not(not c)", "c"),
        ("not (( not c))", "c"),
        ("not (not (not c))", "not c"),
        ("not (not a and b)", "not (not a and b)"),
        ("not (not not c)", "not c"),
    ] {
        let tree = parse(src).expect("parses");
        assert_eq!(tree.to_string(), printed, "{src}");
        // The print parses back to a tree that prints the same (the printer writes every
        // `and` / `or` in parentheses, so equal prints are equal trees).
        assert_eq!(parse(printed).expect("printed parses").to_string(), printed);
    }
}

/// projection (issue 14): the texts keyword search reads are found once per event and
/// shared by every keyword rule. They must be the event's own: unescaped strings and
/// numbers as serde_json writes them, found again for each new event (not the last one's).
#[test]
fn keyword_rules_share_the_events_texts_and_each_event_has_its_own() {
    let set = rules(
        "title: k1\nlogsource: {category: user_session}\ndetection:\n  kw: [mimikatz]\n  condition: kw\n---\n\
         title: k2\nlogsource: {category: user_session}\ndetection:\n  kw: ['a\"b']\n  condition: kw\n---\n\
         title: k3\nlogsource: {category: user_session}\ndetection:\n  kw: ['1500']\n  condition: kw\n---\n\
         title: k4\nlogsource: {category: user_session}\ndetection:\n  kw: [ab, 'äb']\n  condition: kw\n",
    );
    let lines = [
        r#"{"x":"run mimi\u006batz now","y":"a\"b","n":[1,{"m":1500}]}"#,
        r#"{"x":"nothing here","y":"plain","n":15e2}"#,
        r#"{"x":"a\"b"}"#,
        r#"{"x":"MIMIKATZ"}"#,
        // Texts are searched one by one: no match across two of them.
        r#"{"p":"xa","q":"bx","r":["a","b"]}"#,
        r#"{"p":"x","q":"xAB"}"#,
        r#"{"p":"ÄB"}"#,
    ];
    let mut alerts: Vec<Alert> = Vec::new();
    let mut e = Engine::new(&set);
    let mut fired = Vec::new();
    for l in lines {
        alerts.clear();
        e.process_line(l.as_bytes(), &mut alerts).expect("valid");
        let mut titles: Vec<String> = alerts.iter().map(|a| a.rule.title.clone()).collect();
        titles.sort();
        fired.push(titles.join(","));
    }
    assert_eq!(fired, ["k1,k2,k3", "k3", "k2", "k1", "", "k4", "k4"]);
    for l in lines {
        let (a, b) = both_ways(&set, l);
        assert_eq!(a, b, "{l}");
    }
}
