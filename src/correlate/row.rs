//! The fields one input carries for correlations: a row with one cell per field any
//! correlation reads (the rule set's correlation columns), filled from the projection the
//! detection stage already made. One row is reused for every event: reading a group key
//! or a counted value allocates nothing. Values are rebuilt as JSON only for alerts and
//! for the few states that keep them (distinct values, first-seen values).

use crate::compile::RuleSet;
use crate::event::Projector;
use crate::event::project::{Fields, Scalar, Val, load_into, to_value};
use crate::event::{number_of, parse_decimal};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    Missing,
    Null,
    Str,
    Num,
    Bool,
    /// An array or object, as compact JSON text.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cell {
    kind: Kind,
    start: u32,
    end: u32,
}

/// A position in a row's text. Rows hold one event's fields: far below 4 GiB (lines are
/// capped well below).
fn at(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

const MISSING: Cell = Cell {
    kind: Kind::Missing,
    start: 0,
    end: 0,
};

/// Most a row reserves for its texts at once (a huge event grows it as it needs).
const ROW_RESERVE_MAX: usize = 4096;

/// One input's correlation fields, by column. Cluster messages carry it as it is (a cell
/// whose span does not fit the text, from a broken peer, reads as an empty string).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    text: String,
    cells: Vec<Cell>,
}

impl Row {
    /// An empty row with `n` missing columns.
    pub fn new(n: usize) -> Row {
        Row {
            text: String::new(),
            cells: vec![MISSING; n],
        }
    }

    fn reset(&mut self, n: usize) {
        self.text.clear();
        self.cells.clear();
        self.cells.resize(n, MISSING);
    }

    fn put(&mut self, col: usize, kind: Kind, text: &str) {
        let start = self.text.len();
        self.text.push_str(text);
        self.cells[col] = Cell {
            kind,
            start: at(start),
            end: at(self.text.len()),
        };
    }

    fn put_value(&mut self, col: usize, v: &Value) {
        match v {
            Value::Null => self.put(col, Kind::Null, ""),
            Value::Bool(b) => self.put(col, Kind::Bool, if *b { "true" } else { "false" }),
            Value::Number(n) => self.put(col, Kind::Num, &n.to_string()),
            Value::String(s) => self.put(col, Kind::Str, s),
            other => self.put(col, Kind::Json, &other.to_string()),
        }
    }

    /// Fills the row from a projection of the event (the projector holds its text).
    pub fn fill(&mut self, set: &RuleSet, fields: &Fields<'_>) {
        self.reset(set.correlation_fields.len());
        // A fresh row (one per event on `--threads N`) is sized once, not grown column by
        // column: the columns' texts are mostly pieces of the event's.
        self.text.reserve(fields.text_len().min(ROW_RESERVE_MAX));
        for (col, (slot, name)) in set.correlation_fields.iter().enumerate() {
            match fields.get(*slot) {
                // `user_name` and `user_domain` of an event that has only `user`.
                None => {
                    let start = self.text.len();
                    if fields.push_derived_from_user(name, &mut self.text) {
                        self.cells[col] = Cell {
                            kind: Kind::Str,
                            start: at(start),
                            end: at(self.text.len()),
                        };
                    }
                }
                Some(Val::Scalar(Scalar::Null)) => self.put(col, Kind::Null, ""),
                Some(Val::Scalar(Scalar::Bool(b))) => {
                    self.put(col, Kind::Bool, if b { "true" } else { "false" })
                }
                Some(Val::Scalar(Scalar::Num(t))) => self.put(col, Kind::Num, t),
                Some(Val::Scalar(Scalar::Str(s))) => self.put(col, Kind::Str, s),
                Some(v) => self.put_value(col, &to_value(fields, v)),
            }
        }
    }

    /// The row of an event's JSON text, read by projection as live events are (an anchor
    /// read back for its alert or its summary line): `false`, with every column missing,
    /// when the text is not a JSON object.
    pub fn fill_text(&mut self, set: &RuleSet, projector: &mut Projector, text: &str) -> bool {
        if load_into(projector, text).is_ok() {
            self.fill(set, &projector.fields(text));
            true
        } else {
            self.reset(set.correlation_fields.len());
            false
        }
    }

    /// The row of a JSON object: each column's field resolved in it (a flat key of a
    /// dotted name first, as for events). Cluster messages and synthetic chain events
    /// carry their fields this way.
    pub fn from_json(set: &RuleSet, event: &Value) -> Row {
        let mut row = Row::new(set.correlation_fields.len());
        row.fill_json(set, event);
        row
    }

    /// Refills the row from a JSON object (see [`Row::from_json`]).
    pub fn fill_json(&mut self, set: &RuleSet, event: &Value) {
        self.reset(set.correlation_fields.len());
        for (col, path) in set.correlation_paths.iter().enumerate() {
            if let Some(v) = path.resolve(event) {
                self.put_value(col, v);
            } else if let Some(d) = event
                .get("user")
                .and_then(Value::as_str)
                .and_then(|u| crate::event::derived_from_user(&path.name, u))
            {
                // As the projection does for events that do not carry it.
                self.put(col, Kind::Str, &d);
            }
        }
    }

    /// The row as a JSON object keyed by the columns' names (missing columns left out).
    #[cfg(test)]
    pub fn to_json(&self, set: &RuleSet) -> Value {
        let mut m = serde_json::Map::new();
        for (col, (_, name)) in set.correlation_fields.iter().enumerate() {
            if let Some(v) = self.value(col as u32) {
                m.insert(name.clone(), v);
            }
        }
        Value::Object(m)
    }

    fn cell(&self, col: u32) -> (Kind, &str) {
        let c = self.cells.get(col as usize).copied().unwrap_or(MISSING);
        (
            c.kind,
            self.text.get(c.start as usize..c.end as usize).unwrap_or(""),
        )
    }

    /// The text a group or value compares by (S4): strings as they are, numbers and
    /// booleans as JSON writes them, arrays and objects as their JSON text. `None` for a
    /// missing or null field.
    pub fn key(&self, col: u32) -> Option<&str> {
        match self.cell(col) {
            (Kind::Missing | Kind::Null, _) => None,
            (_, t) => Some(t),
        }
    }

    /// Does the column hold a string (whose [`value`](Self::value) is its [`key`](Self::key))?
    pub fn is_str(&self, col: u32) -> bool {
        self.cell(col).0 == Kind::Str
    }

    /// The column's value as JSON; `None` when missing.
    pub fn value(&self, col: u32) -> Option<Value> {
        let (kind, t) = self.cell(col);
        Some(match kind {
            Kind::Missing => return None,
            Kind::Null => Value::Null,
            Kind::Bool => Value::Bool(t == "true"),
            Kind::Str => Value::String(t.to_string()),
            Kind::Num | Kind::Json => serde_json::from_str(t).unwrap_or(Value::Null),
        })
    }

    /// The column as a number (a JSON number, or a string holding a plain decimal).
    pub fn number(&self, col: u32) -> Option<f64> {
        match self.cell(col) {
            (Kind::Str, t) => parse_decimal(t),
            (Kind::Num, t) => t
                .parse::<f64>()
                .ok()
                .or_else(|| self.value(col).as_ref().and_then(number_of)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::RuleSet;

    const RULES: &str = "title: t\nname: base\nlogsource: {product: session}\ndetection:\n  sel: {action: logon}\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: value_sum\n  rules: [base]\n  group-by: [user, a.b]\n  timespan: 1m\n  condition: {gte: 1, field: n}\n";

    #[test]
    fn a_row_reads_keys_values_and_numbers_as_json_would() {
        let set = RuleSet::builder()
            .add_str("r.yml", RULES)
            .build()
            .expect("rules compile");
        let event: Value = serde_json::from_str(
            r#"{"user":"bob","a":{"b":[1, "x"]},"n":"2.5","other":1}"#,
        )
        .expect("json");
        let row = Row::from_json(&set, &event);
        let col = |name: &str| {
            set.correlation_fields
                .iter()
                .position(|(_, n)| n == name)
                .expect("column") as u32
        };
        assert_eq!(row.key(col("user")), Some("bob"));
        assert_eq!(row.key(col("a.b")), Some(r#"[1,"x"]"#));
        assert_eq!(row.value(col("a.b")), Some(serde_json::json!([1, "x"])));
        assert_eq!(row.number(col("n")), Some(2.5));
        assert_eq!(
            row.to_json(&set),
            serde_json::json!({"user": "bob", "a.b": [1, "x"], "n": "2.5"})
        );
        let empty = Row::from_json(&set, &serde_json::json!({"user": null}));
        assert_eq!(empty.key(col("user")), None);
        assert_eq!(empty.value(col("user")), Some(Value::Null));
        assert_eq!(empty.value(col("n")), None);
    }
}
