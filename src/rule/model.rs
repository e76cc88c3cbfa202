//! Typed, validated rules: what `lower` produces from YAML and `compile` consumes.

use crate::condition::Cond;
use crate::diag::Span;
use crate::net::Network;
use crate::pattern::Pattern;
use crate::time::TimePart;

/// Facts about a rule that alerts carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleMeta {
    /// `id` (a UUID).
    pub id: Option<String>,
    /// `name`, the handle correlations use.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// The file the rule came from.
    pub path: String,
    /// Where the rule's document starts.
    pub span: Span,
}

impl RuleMeta {
    /// The best short handle of the rule for messages: name, else id, else title.
    pub fn handle(&self) -> &str {
        self.name
            .as_deref()
            .or(self.id.as_deref())
            .unwrap_or(&self.title)
    }
}

/// `logsource`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogSource {
    /// `category`.
    pub category: Option<String>,
    /// `product`.
    pub product: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

/// A Sigma detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Identity and labels.
    pub meta: RuleMeta,
    /// `logsource`.
    pub logsource: LogSource,
    /// `detection`.
    pub detection: Detection,
    /// Embedded `tests:`.
    pub tests: Vec<RuleTest>,
}

/// `detection`: named searches and the condition over them.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Search identifiers in source order.
    pub searches: Vec<Search>,
    /// The condition; a YAML list of conditions is their OR.
    pub conditions: Vec<Cond>,
}

/// One search identifier.
#[derive(Debug, Clone)]
pub struct Search {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// What it tests.
    pub selection: Selection,
}

/// The boolean shape of a search.
#[derive(Debug, Clone)]
pub enum Selection {
    /// A map: every entry holds.
    All(Vec<Selection>),
    /// A list of maps: one holds.
    Any(Vec<Selection>),
    /// One field (or keyword) test.
    Item(FieldItem),
}

/// A field with its modifiers and values, or a keyword search (`field` is `None`).
#[derive(Debug, Clone)]
pub struct FieldItem {
    /// The field path (dotted for nested objects); `None` for keyword search.
    pub field: Option<String>,
    /// Where the key is.
    pub span: Span,
    /// The key as written (`src_ip|cidr`), for explanations.
    pub key: String,
    /// The values; OR-ed unless `all`.
    pub values: Vec<ValueTest>,
    /// Each value as written (`[]` for an empty list), in step with `values`.
    pub written: Vec<String>,
    /// `all`: every value must match.
    pub all: bool,
    /// `neq`: the whole item is negated.
    pub neq: bool,
    /// `cased`: string comparisons are case-sensitive.
    pub cased: bool,
}

/// Comparison operators of `gt`, `gte`, `lt`, `lte` (and equality for time parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// Plain equality.
    Eq,
    /// Inequality (correlation conditions).
    Neq,
}

impl CmpOp {
    /// The operator as written in a correlation condition (`gte` → `>=`).
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
        }
    }

    /// A condition list as text: `value >= 5 and value < 10` (`what` names the value).
    pub fn describe_all(condition: &[(CmpOp, f64)], what: &str) -> String {
        condition
            .iter()
            .map(|(op, n)| format!("{what} {} {n}", op.symbol()))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Applies the operator.
    pub fn test(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Gt => left > right,
            CmpOp::Gte => left >= right,
            CmpOp::Lt => left < right,
            CmpOp::Lte => left <= right,
            CmpOp::Eq => left == right,
            CmpOp::Neq => left != right,
        }
    }
}

/// Where a `fieldref` value must sit in the other field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Equal.
    Whole,
    /// A substring.
    Contains,
    /// A prefix.
    Start,
    /// A suffix.
    End,
}

/// Regex flags from `re|i`, `re|m`, `re|s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReFlags {
    /// `i`: ignore case.
    pub ignore_case: bool,
    /// `m`: `^`/`$` match at line ends.
    pub multi_line: bool,
    /// `s`: `.` matches newlines.
    pub dot_all: bool,
}

/// One value of a field item, with its modifiers applied.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// Sigma string patterns (variants from `windash`, `base64offset`, `expand`), OR-ed.
    Str(Vec<Pattern>),
    /// A number: equal to a number, or to a string whose trimmed text is that number.
    Num(f64),
    /// A boolean: equal to a boolean, or to the string `true`/`false`.
    Bool(bool),
    /// `null`: the field is missing or null.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    /// `re`: an unanchored regular expression.
    Regex(String, ReFlags),
    /// `cidr`.
    Cidr(Network),
    /// `gt`, `gte`, `lt`, `lte` against a number.
    Compare(CmpOp, f64),
    /// A time part (`hour`, ...) of a timestamp field compared with a number.
    TimePart(TimePart, CmpOp, f64),
    /// `fieldref`: compare with another field of the same event.
    FieldRef(String, Position),
}

/// Engine settings a rule test may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestSettings {
    /// `max_lateness`, in nanoseconds.
    pub max_lateness: Option<i64>,
    /// `eof: flush`.
    pub eof_flush: bool,
}

/// What a rule test expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Every event matches.
    Match,
    /// No event matches.
    NoMatch,
    /// The full outcome for the rule under test.
    Outcome {
        /// Exactly these alerts, in order; each lists only the keys it checks.
        alerts: Vec<serde_json::Map<String, serde_json::Value>>,
        /// Pending obligations at end of input, when given.
        pending: Option<Vec<serde_json::Value>>,
        /// Late events, when given.
        late: Option<u64>,
        /// Where each expected alert, `pending` and `late` are written.
        spans: OutcomeSpans,
    },
}

/// Where the parts of an expected outcome are written (for test failures that point).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutcomeSpans {
    /// `alerts:`.
    pub alerts: Span,
    /// Each expected alert.
    pub each: Vec<Span>,
    /// `pending:`.
    pub pending: Span,
    /// `late:`.
    pub late: Span,
}

/// One entry of `tests:`.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// `name`.
    pub name: String,
    /// Where the test is.
    pub span: Span,
    /// Where its `expect` value is.
    pub expect_span: Span,
    /// Where each event is.
    pub event_spans: Vec<Span>,
    /// `settings`.
    pub settings: TestSettings,
    /// `events`, in arrival order.
    pub events: Vec<serde_json::Value>,
    /// `expect`.
    pub expect: Expect,
}

/// A `NAME.test.yml` document: tests for a rule defined elsewhere.
#[derive(Debug, Clone)]
pub struct TestDocument {
    /// `rule`: the name or id of the rule under test.
    pub rule: String,
    /// Where `rule:` is.
    pub span: Span,
    /// The file.
    pub path: String,
    /// The tests.
    pub tests: Vec<RuleTest>,
}

/// The correlation types (Sigma's four and two value aggregates, plus the session types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// Number of events in the window.
    EventCount,
    /// Number of distinct values of a field in the window.
    ValueCount,
    /// Sum of a numeric field in the window.
    ValueSum,
    /// Average of a numeric field in the window.
    ValueAvg,
    /// Every referenced rule matched in the window, in any order.
    Temporal,
    /// The referenced rules matched in order within the window.
    TemporalOrdered,
    /// A value not seen for the group within `history`.
    FirstSeen,
    /// An anchor not followed by an expected event within `timespan`.
    Absence,
}

impl CorrelationType {
    /// The name used in rules and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::FirstSeen => "first_seen",
            CorrelationType::Absence => "absence",
        }
    }

    /// Every type, for parsing and messages.
    pub const ALL: [CorrelationType; 8] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::FirstSeen,
        CorrelationType::Absence,
    ];

    /// Counting and value types (`event_count`, `value_*`).
    pub fn is_aggregate(self) -> bool {
        matches!(
            self,
            CorrelationType::EventCount
                | CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
        )
    }
}

/// A reference to another rule by `name` or `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The name or id as written.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// `aliases`: one group-by name standing for a different field in each referenced rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The alias, usable in `group-by`.
    pub name: String,
    /// For each referenced rule, the field its events carry the value in.
    pub fields: Vec<(Reference, String)>,
}

/// `anchor` of an absence rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// Ignore new anchors while an obligation is pending.
    #[default]
    First,
    /// One obligation per anchor.
    Each,
    /// A new anchor replaces the pending obligation.
    Restart,
}

/// A correlation rule (docs/semantics.md §3.2).
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Identity and labels.
    pub meta: RuleMeta,
    /// `type`.
    pub kind: CorrelationType,
    /// `rules`: the contributing (or anchor) rules.
    pub rules: Vec<Reference>,
    /// `group-by` (field names or aliases).
    pub group_by: Vec<String>,
    /// `timespan`, in nanoseconds.
    pub timespan: Option<i64>,
    /// `condition` operators, ANDed.
    pub condition: Vec<(CmpOp, f64)>,
    /// `condition.field` (value types) or `field` (first_seen); several fields form a tuple.
    pub fields: Vec<String>,
    /// `aliases`.
    pub aliases: Vec<Alias>,
    /// `generate`.
    pub generate: bool,
    /// `on_fire: reset` (the default) clears the group's state after an alert.
    pub on_fire_reset: bool,
    /// `suppress`, in nanoseconds.
    pub suppress: Option<i64>,
    /// `reset`: rules whose match clears the group's state.
    pub reset: Vec<Reference>,
    /// `trigger`: rules at whose match the window is evaluated.
    pub trigger: Vec<Reference>,
    /// `history` (first_seen), in nanoseconds.
    pub history: Option<i64>,
    /// `new_group: alert` (first_seen).
    pub new_group_alert: bool,
    /// `learning` (first_seen), in nanoseconds.
    pub learning: i64,
    /// `expected` (absence).
    pub expected: Vec<Reference>,
    /// `anchor` (absence).
    pub anchor: Anchor,
    /// Embedded tests.
    pub tests: Vec<RuleTest>,
}
