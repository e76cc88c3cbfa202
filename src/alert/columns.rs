//! Alerts as rows of columns: `--format table` (aligned, cut to a width, level in colour)
//! and `--format csv` (RFC 4180, a timeline for spreadsheets and Timeline Explorer).

use super::{Alert, split_origin};
use crate::report::Paint;
use serde_json::Value;
use std::borrow::Cow;

/// One column of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Alert time.
    Time,
    /// Rule level.
    Level,
    /// Rule name (else id, else title).
    Rule,
    /// Rule title.
    Title,
    /// `detection` or the correlation type.
    Type,
    /// The user: the group's `user` (or `user_name`), else the event's.
    User,
    /// The host: the group's `hostname`, else the event's.
    Host,
    /// The source address: the group's `src_ip`, else the event's.
    SrcIp,
    /// The aggregate.
    Value,
    /// Distinct or new values.
    Values,
    /// The group, as `k=v` pairs.
    Group,
    /// Where the event that fired was read (`file:line`, `file#record`).
    File,
    /// The event that fired (absence: the anchor), as JSON.
    Event,
}

/// Every column with its name.
const NAMES: [(Column, &str); 13] = [
    (Column::Time, "time"),
    (Column::Level, "level"),
    (Column::Rule, "rule"),
    (Column::Title, "title"),
    (Column::Type, "type"),
    (Column::User, "user"),
    (Column::Host, "host"),
    (Column::SrcIp, "src_ip"),
    (Column::Value, "value"),
    (Column::Values, "values"),
    (Column::Group, "group"),
    (Column::File, "file"),
    (Column::Event, "event"),
];

/// The table's columns unless `--fields` says otherwise.
pub const TABLE: &[Column] = &[
    Column::Time,
    Column::Level,
    Column::Rule,
    Column::User,
    Column::Host,
    Column::SrcIp,
    Column::Value,
];

/// The CSV's columns unless `--fields` says otherwise: the table's and the file.
pub const CSV: &[Column] = &[
    Column::Time,
    Column::Level,
    Column::Rule,
    Column::User,
    Column::Host,
    Column::SrcIp,
    Column::Value,
    Column::File,
];

impl Column {
    /// Its name, as `--fields` and headers write it.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("?", |(_, n)| n)
    }

    /// The widest a table cell of this column is before it is cut (`None`: as wide as it is).
    fn max_width(self) -> Option<usize> {
        match self {
            Column::Time | Column::Value => None,
            Column::Level => Some(13),
            Column::Type => Some(16),
            Column::Rule => Some(40),
            Column::User => Some(28),
            Column::Host => Some(18),
            Column::SrcIp => Some(39),
            _ => Some(48),
        }
    }

    /// The cell of an alert.
    pub fn cell(self, a: &Alert) -> String {
        let event = a.events.last().map(|e| split_origin(e));
        let from_event = |keys: &[&str]| -> Option<String> {
            let (text, _) = event.as_ref()?;
            let v: Value = serde_json::from_str(text).ok()?;
            keys.iter()
                .find_map(|k| text_of(v.get(*k)?).or_else(|| text_of(v.get("raw")?.get(*k)?)))
        };
        let from_group = |keys: &[&str]| -> Option<String> {
            let g = a.group.as_ref()?;
            keys.iter()
                .find_map(|k| g.iter().find(|(n, _)| n == k).and_then(|(_, v)| text_of(v)))
        };
        let pick = |group: &[&str], event: &[&str]| {
            from_group(group)
                .or_else(|| from_event(event))
                .unwrap_or_default()
        };
        match self {
            Column::Time => a.timestamp.map(|t| t.to_string()).unwrap_or_default(),
            Column::Level => a.rule.level.clone().unwrap_or_default(),
            Column::Rule => a.rule.handle().to_string(),
            Column::Title => a.rule.title.clone(),
            Column::Type => a.rule_type.to_string(),
            Column::User => pick(
                &["user", "user_name"],
                &["user", "TargetUserName", "SubjectUserName"],
            ),
            Column::Host => pick(&["hostname", "host"], &["hostname", "Computer"]),
            Column::SrcIp => pick(&["src_ip"], &["src_ip", "IpAddress", "ClientAddress"]),
            Column::Value => a.value.map(super::number).unwrap_or_default(),
            Column::Values => a
                .values
                .as_ref()
                .map(|vs| {
                    vs.iter()
                        .map(|v| text_of(v).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            Column::Group => a
                .group
                .as_ref()
                .map(|g| {
                    g.iter()
                        .map(|(k, v)| format!("{k}={}", text_of(v).unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            Column::File => event
                .as_ref()
                .and_then(|(_, o)| o.and_then(super::parse_origin))
                .map(|o| o.to_text())
                .unwrap_or_default(),
            Column::Event => event.map(|(t, _)| t.into_owned()).unwrap_or_default(),
        }
    }
}

/// A scalar as cell text (strings as they are, numbers and booleans as JSON); objects and
/// arrays are not cell values.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.is_empty() || s == "-" => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

/// Parses `--fields time,rule,user`.
pub fn parse_fields(s: &str) -> Result<Vec<Column>, String> {
    let out: Vec<Column> = s
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            NAMES
                .iter()
                .find(|(_, n)| *n == f)
                .map(|(c, _)| *c)
                .ok_or_else(|| {
                    let all: Vec<&str> = NAMES.iter().map(|(_, n)| *n).collect();
                    format!("unknown field `{f}` (one of {})", all.join(", "))
                })
        })
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err("--fields names no column".into());
    }
    Ok(out)
}

/// `--format table`: columns padded to their width, the line cut to `width`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The columns.
    pub columns: Vec<Column>,
    /// The terminal's width, when lines are cut to it.
    pub width: Option<usize>,
}

/// Fixed widths keep a streamed table aligned (a row is written as its alert comes): the
/// width of each cell is its column's header or maximum, whichever is larger.
fn cell_width(c: Column, text: &str) -> usize {
    c.max_width()
        .map_or(text.chars().count(), |m| m.max(c.name().len()))
}

/// `text` cut to `w` characters (the last one `…` when cut) and padded to `w`.
fn fit(text: &str, w: usize) -> String {
    let n = text.chars().count();
    if n > w {
        let cut: String = text.chars().take(w.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        format!("{text}{}", " ".repeat(w - n))
    }
}

impl Table {
    fn line(&self, cells: &[(Column, String)], level: Option<&str>, paint: Paint) -> String {
        // The plain pieces, cut to the width, then the level coloured.
        let mut pieces: Vec<(Column, String)> = Vec::new();
        for (i, (c, text)) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            let w = if matches!(c, Column::Time) {
                // An RFC 3339 time with nanoseconds.
                30.max(text.chars().count())
            } else {
                cell_width(*c, text)
            };
            let piece = if last {
                text.clone()
            } else {
                format!("{}  ", fit(text, w))
            };
            pieces.push((*c, piece));
        }
        if let Some(w) = self.width {
            let mut used = 0usize;
            let mut kept = Vec::new();
            for (c, p) in pieces {
                let n = p.chars().count();
                if used + n <= w {
                    used += n;
                    kept.push((c, p));
                } else {
                    let room = w.saturating_sub(used);
                    if room > 1 {
                        let cut: String = p.chars().take(room - 1).collect();
                        kept.push((c, format!("{cut}…")));
                    }
                    break;
                }
            }
            pieces = kept;
        }
        let mut out = String::new();
        for (c, p) in pieces {
            match (c, level) {
                (Column::Level, Some(l)) => {
                    let t = p.trim_end();
                    out.push_str(&level_paint(l, t, paint));
                    out.push_str(&p[t.len()..]);
                }
                _ => out.push_str(&p),
            }
        }
        out.trim_end().to_string()
    }

    /// The header line.
    pub fn header(&self) -> String {
        let cells: Vec<(Column, String)> = self
            .columns
            .iter()
            .map(|c| (*c, c.name().to_ascii_uppercase()))
            .collect();
        self.line(&cells, None, Paint::off())
    }

    /// One alert's line.
    pub fn row(&self, a: &Alert, paint: Paint) -> String {
        let cells: Vec<(Column, String)> = self.columns.iter().map(|c| (*c, c.cell(a))).collect();
        self.line(&cells, a.rule.level.as_deref(), paint)
    }
}

/// A level's colour: critical and high red, medium yellow, low green, informational dim.
pub(super) fn level_paint(level: &str, text: &str, paint: Paint) -> String {
    match level {
        "critical" | "high" => paint.red(text),
        "medium" => paint.yellow(text),
        "low" => paint.green(text),
        "informational" => paint.dim(text),
        _ => text.to_string(),
    }
}

/// One CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break).
fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// The CSV header line.
pub fn csv_header(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// One alert as a CSV line.
pub fn csv_row(a: &Alert, columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| csv_field(&c.cell(a)).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleMeta;
    use std::sync::Arc;

    fn alert() -> Alert {
        Alert {
            rule: Arc::new(RuleMeta {
                name: Some("brute".into()),
                title: "Brute, \"force\"".into(),
                level: Some("high".into()),
                ..Default::default()
            }),
            rule_type: "event_count",
            timestamp: crate::time::parse_rfc3339("2024-05-01T10:00:00Z"),
            group: Some(vec![("user".into(), Value::from("CORP\\bob"))]),
            value: Some(5.0),
            values: None,
            anchor_timestamp: None,
            incomplete: false,
            events: vec![Arc::from(
                r#"{"user":"CORP\\bob","hostname":"DC01","src_ip":"203.0.113.7"}"#,
            )],
        }
    }

    #[test]
    fn cells_come_from_the_group_then_the_event() {
        let a = alert();
        let cells: Vec<String> = TABLE.iter().map(|c| c.cell(&a)).collect();
        assert_eq!(
            cells,
            [
                "2024-05-01T10:00:00Z",
                "high",
                "brute",
                "CORP\\bob",
                "DC01",
                "203.0.113.7",
                "5"
            ]
        );
    }

    #[test]
    fn table_lines_align_and_cut_to_the_width_keeping_the_level_colour() {
        let t = Table {
            columns: vec![Column::Time, Column::Level, Column::Rule, Column::Value],
            width: None,
        };
        assert_eq!(
            t.header(),
            "TIME                            LEVEL          RULE                                      VALUE"
        );
        assert_eq!(
            t.row(&alert(), Paint::off()),
            "2024-05-01T10:00:00Z            high           brute                                     5"
        );
        let cut = Table {
            width: Some(50),
            ..t
        };
        let line = cut.row(&alert(), Paint::on());
        assert_eq!(
            line,
            "2024-05-01T10:00:00Z            \u{1b}[31mhigh\u{1b}[0m           br…"
        );
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let cols = [Column::Title, Column::User, Column::Value];
        assert_eq!(csv_header(&cols), "title,user,value");
        assert_eq!(
            csv_row(&alert(), &cols),
            "\"Brute, \"\"force\"\"\",CORP\\bob,5"
        );
    }
}
