//! The projection scanner (src/event/scan.rs, project.rs) against serde_json.
//!
//! For every input text:
//! - the scanner accepts exactly the documents serde_json accepts, and agrees whether the
//!   document is an object (the engine's `process_line` reports invalid JSON and non-objects
//!   apart, as serde_json would classify the line);
//! - for an object, every projected field (flat, dotted, nested, escaped names) has the value
//!   serde_json gives (`FieldPath::resolve` on the parsed `Value`): the same JSON value, the
//!   same matcher text, lower-cased text, time and IP readings, and the same scalars of an
//!   array;
//! - keyword search (`any_text`) sees the same strings and numbers as a walk of the parsed
//!   `Value` (as multisets: a repeated key moves its value's place).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use session_sigma::event::{
    self, FieldPath, FieldTable, Projector, Scalar, Uses, Val, project::to_value, scan,
};
use session_sigma::time::{Timestamp, parse_rfc3339};
use session_sigma::{Alert, Engine, EventError, RuleSet};
use std::sync::LazyLock;

/// The fields projected: top-level, dotted through objects, a dotted name that is also
/// written flat, non-ASCII, a name needing escapes, and the ones the engine reads.
const FIELDS: [&str; 14] = [
    "user",
    "a",
    "a.b",
    "a.b.c",
    "b.c",
    "n",
    "timestamp",
    "src_ip",
    "raw",
    "raw.EventData.LogonType",
    "é",
    "q\"t",
    "",
    "TimeCreated",
];

struct Setup {
    table: FieldTable,
    slots: Vec<u32>,
    uses: Vec<Uses>,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let mut table = FieldTable::default();
    let slots: Vec<u32> = FIELDS.iter().map(|f| table.intern(f)).collect();
    // Every reading on every slot.
    let uses = vec![
        Uses {
            ip: true,
            time: true,
            lower: true,
        };
        table.names().count()
    ];
    Setup { table, slots, uses }
});

/// A rule set reading a few of the fields (incl. a dotted one), for the engine's own view.
static RULES: LazyLock<RuleSet> = LazyLock::new(|| {
    let text = "title: t\nlogsource: {category: user_session}\ndetection:\n  sel:\n    user|contains: a\n    raw.EventData.LogonType: 10\n  ip:\n    src_ip|cidr: 10.0.0.0/8\n  kw: [xyz]\n  condition: sel or ip or kw\n";
    RuleSet::builder()
        .add_str("p.yml", text)
        .build()
        .expect("compiles")
});

/// The strings and numbers of a parsed value, in document order, as keyword search sees them.
fn walk(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| walk(x, out)),
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

/// The scalars of a value as `any_scalar` visits them: the value, or an array's elements
/// (recursively), without nulls and objects.
fn scalars(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| scalars(x, out)),
        Value::Null | Value::Object(_) => {}
        other => out.push(other.clone()),
    }
}

fn scalar_value(s: Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Num(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Scalar::Str(t) => Value::String(t.to_string()),
    }
}

fn check_fields(text: &str, value: &Value, p: &Projector) {
    let setup = &*SETUP;
    let fields = p.fields(text);
    for (name, &slot) in FIELDS.iter().zip(&setup.slots) {
        let want = FieldPath::new(name).resolve(value);
        let got = fields.get(slot);
        let got_value = got.map(|v| to_value(&fields, v));
        assert_eq!(got_value.as_ref(), want, "field {name:?} of {text:?}");
        let Some(want) = want else { continue };
        let got = got.expect("present");
        // The readings the predicates use.
        let want_text = event::text_of(want).map(|t| t.into_owned());
        let got_text = match got {
            Val::Scalar(s) => s.text().map(str::to_string),
            _ => None,
        };
        assert_eq!(got_text, want_text, "text of {name:?} in {text:?}");
        let want_lower = match want {
            Value::String(s) => Some(s.to_lowercase()),
            _ => None,
        };
        assert_eq!(
            fields.lowered(slot).map(str::to_string),
            want_lower,
            "lower-cased {name:?} in {text:?}"
        );
        let want_ip = match want {
            Value::String(s) => session_sigma::net::parse_ip(s),
            _ => None,
        };
        assert_eq!(fields.ip(slot), want_ip, "ip of {name:?} in {text:?}");
        let want_time = match want {
            Value::String(s) => parse_rfc3339(s),
            Value::Number(n) => Timestamp::from_number_text(&n.to_string()),
            _ => None,
        };
        assert_eq!(
            fields.timestamp(slot),
            want_time,
            "time of {name:?} in {text:?}"
        );
        let mut want_scalars = Vec::new();
        scalars(want, &mut want_scalars);
        let mut got_scalars = Vec::new();
        fields.any_scalar(got, &mut |s| {
            got_scalars.push(scalar_value(s));
            false
        });
        assert_eq!(got_scalars, want_scalars, "scalars of {name:?} in {text:?}");
    }
}

fuzz_target!(init: {
    // Compiled before the first input (whose time counts against -timeout).
    LazyLock::force(&SETUP);
    LazyLock::force(&RULES);
}, |data: &[u8]| {
    let setup = &*SETUP;
    // The engine's classification of the raw line: invalid, not an object, or an event.
    let mut engine = Engine::new(&RULES);
    let mut alerts: Vec<Alert> = Vec::new();
    let engine_says = engine.process_line(data, &mut alerts);
    engine.finish(&mut alerts);

    let Ok(text) = std::str::from_utf8(data) else {
        assert!(
            matches!(engine_says, Err(EventError::Json { .. })),
            "invalid UTF-8 is invalid JSON: {engine_says:?}"
        );
        return;
    };
    let theirs = serde_json::from_str::<Value>(text);
    // The engine reads a line without a leading byte-order mark and surrounding blanks
    // (`line_text`), and a line of blanks is no event at all.
    let line = text.strip_prefix('\u{feff}').unwrap_or(text);
    if line.bytes().all(|b| b.is_ascii_whitespace()) {
        assert_eq!(engine_says, Ok(()), "a blank line");
    } else {
        let line_value = serde_json::from_str::<Value>(line.trim());
        match (&engine_says, &line_value) {
            (Ok(()), Ok(v)) => assert!(v.is_object(), "engine took a non-object {line:?}"),
            (Err(EventError::NotObject(_)), Ok(v)) => {
                assert!(!v.is_object(), "engine refused an object {line:?}")
            }
            (Err(EventError::Json { .. }), Err(_)) => {}
            (ours, theirs) => panic!("engine {ours:?}, serde_json {theirs:?} on {line:?}"),
        }
    }

    // The projector on the exact text.
    let mut p = Projector::new(
        &setup.table,
        &setup.uses,
        &session_sigma::source::MARKER_KEYS,
    );
    let ours = p.load(text);
    match (&ours, &theirs) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("scanner {ours:?}, serde_json {theirs:?} on {text:?}"),
    }
    assert_eq!(ours.is_ok(), scan::document(text).is_ok());
    let (Ok(doc), Ok(value)) = (ours, theirs) else {
        return;
    };
    assert_eq!(
        doc.kind == scan::Kind::Object,
        value.is_object(),
        "object or not: {text:?}"
    );
    if !value.is_object() {
        return;
    }
    check_fields(text, &value, &p);
    // Keyword search: the same texts in the same order (a repeated key's earlier values are
    // not in the event: fuzz_regressions::keyword_search_skips_values_of_repeated_keys).
    let mut got = Vec::new();
    p.fields(text).any_text(&mut |t| {
        got.push(t.to_string());
        false
    });
    let mut want = Vec::new();
    walk(&value, &mut want);
    // As multisets: serde_json keeps a repeated key at its first place (with the last
    // value), the scanner meets the value at the last place; only the order differs.
    got.sort();
    want.sort();
    assert_eq!(got, want, "keyword texts of {text:?}");
});
