//! The rule index never hides a match: generated rules of shared facts (`action` values
//! many rules need, with a second field each, so that the index files them under
//! conjunctions of facts) match exactly the same events with the index on and off.

use super::common::Rng;
use std::collections::BTreeSet;

const ACTIONS: [&str; 5] = ["failed", "login", "rdp", "remote", "lock"];

/// One selection item: a field with its modifiers and a value (YAML).
fn item(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("action: {}", ACTIONS[rng.below(ACTIONS.len())]),
        1 => format!(
            "action: [{}, {}]",
            ACTIONS[rng.below(ACTIONS.len())],
            ACTIONS[rng.below(ACTIONS.len())]
        ),
        2 => format!(
            "hostname|startswith: '{}'",
            ["WS00", "DC", "ws01"][rng.below(3)]
        ),
        3 => format!("hostname|endswith: '{}'", ["1", "07", "c2"][rng.below(3)]),
        4 => format!("user|contains: '{}'", ["adm", "user1", "SVC"][rng.below(3)]),
        5 => format!(
            "src_ip|cidr: '{}'",
            ["10.3.0.0/16", "10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0"][rng.below(4)]
        ),
        6 => format!("dest_port: {}", [445, 3389, 22][rng.below(3)]),
        _ => format!("login_type: {}", ["rdp", "remote", "network"][rng.below(3)]),
    }
}

/// A selection: an `action` (most rules share one) and one or two other items.
fn selection(rng: &mut Rng, name: &str) -> String {
    let mut items = Vec::new();
    if rng.below(4) != 0 {
        items.push(format!("action: {}", ACTIONS[rng.below(ACTIONS.len())]));
    }
    for _ in 0..1 + rng.below(2) {
        items.push(item(rng));
    }
    // One field per key in a mapping: later items on a field already named are dropped.
    let mut seen = BTreeSet::new();
    items.retain(|i| seen.insert(i.split(':').next().unwrap_or_default().to_string()));
    format!(
        "  {name}:\n{}\n",
        items
            .iter()
            .map(|i| format!("    {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

fn rule(rng: &mut Rng, i: usize) -> String {
    let (sels, condition) = match rng.below(6) {
        0 => (vec!["sel"], "sel"),
        1 => (vec!["sel", "filter"], "sel and not filter"),
        2 => (vec!["sel_a", "sel_b"], "sel_a and sel_b"),
        3 => (vec!["sel_a", "sel_b"], "1 of sel_*"),
        4 => (vec!["sel_a", "sel_b", "sel_c"], "all of sel_*"),
        _ => (
            vec!["sel_a", "sel_b", "sel_c"],
            "(sel_a or sel_b) and sel_c",
        ),
    };
    let body: String = sels.iter().map(|s| selection(rng, s)).collect();
    format!(
        "title: r{i}\nname: r{i}\nlogsource: {{category: user_session}}\ndetection:\n{body}  condition: {condition}\n"
    )
}

fn event(rng: &mut Rng, i: usize) -> String {
    let mut line = format!(r#"{{"timestamp":"2024-05-01T00:00:00Z","i":{i}"#);
    let mut add = |rng: &mut Rng, key: &str, value: String| {
        if rng.below(6) != 0 {
            line.push_str(&format!(r#","{key}":{value}"#));
        }
    };
    let action = ACTIONS[rng.below(ACTIONS.len())];
    add(rng, "action", format!("{action:?}"));
    let host = ["WS0001", "ws0107", "DC01", "DC02", "WS0021", "srv-c2"][rng.below(6)];
    add(rng, "hostname", format!("{host:?}"));
    let user = ["CORP\\\\adm1", "CORP\\\\user12", "svc_x", "bob"][rng.below(4)];
    add(rng, "user", format!("\"{user}\""));
    let ip = ["10.3.4.5", "10.9.0.1", "192.168.1.1", "8.8.8.8", "::1"][rng.below(5)];
    add(rng, "src_ip", format!("{ip:?}"));
    // A port is a number, now and then a string of one.
    let port = [445, 3389, 22, 80][rng.below(4)];
    let port = if rng.below(5) == 0 {
        format!("\"{port}\"")
    } else {
        port.to_string()
    };
    add(rng, "dest_port", port);
    let login_type = ["rdp", "remote", "network"][rng.below(3)];
    add(rng, "login_type", format!("{login_type:?}"));
    line.push('}');
    line
}

fn matches(text: &str, lines: &[&str], use_index: bool) -> BTreeSet<(String, u64)> {
    super::common::matched_pairs(&super::common::generated(text, use_index), lines)
}

#[test]
fn rules_of_shared_facts_match_the_same_events_with_the_index_on_and_off() {
    let mut rng = Rng(0x1DE7_0013);
    for round in 0..4 {
        let text = (0..80)
            .map(|i| rule(&mut rng, i))
            .collect::<Vec<_>>()
            .join("---\n");
        let lines: Vec<String> = (0..2_000).map(|i| event(&mut rng, i)).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let on = matches(&text, &lines, true);
        let off = matches(&text, &lines, false);
        let missing: Vec<_> = off.difference(&on).take(5).collect();
        let extra: Vec<_> = on.difference(&off).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "round {round}: with the index, missing {missing:?}, extra {extra:?}\n{text}"
        );
        // The rules are exercised: many matches, and far from every (rule, event).
        assert!(
            off.len() > 2_000 && off.len() < 80 * 2_000 / 4,
            "{} matches",
            off.len()
        );
    }
}
