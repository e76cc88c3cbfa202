//! The reference model of the correlation semantics: a brute-force second implementation of
//! docs/semantics.md §3.2–3.3 (see the module doc of `tests/reference.rs`), the engine run on the same
//! scenario, and their comparison.
//!
//! Pure: no test framework. `tests/reference.rs` (property and pinned tests) and the fuzz target
//! `fuzz/fuzz_targets/engine_reference.rs` (through `#[path]`) both include it, so that both
//! check the same properties.

use serde_json::{Map, Value};
use session_sigma::time::{Timestamp, parse_rfc3339};
use session_sigma::{Alert, Engine, RuleSet, Settings};
use std::collections::{BTreeMap, BTreeSet};

/// `prop_assert!` without proptest: returns the message as the error.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

pub const SEC: i64 = 1_000_000_000;
pub const MIN: i64 = 60 * SEC;

/// 2024-05-01T10:00:00Z, in ns.
pub fn base() -> i64 {
    parse_rfc3339("2024-05-01T10:00:00Z").expect("valid").0
}

pub fn rfc(ns: i64) -> String {
    Timestamp(ns).to_string()
}

/// "HH:MM[:SS]" on 2024-05-01, in ns.
pub fn hm(s: &str) -> i64 {
    let full = if s.len() == 5 {
        format!("2024-05-01T{s}:00Z")
    } else {
        format!("2024-05-01T{s}Z")
    };
    parse_rfc3339(&full).expect("valid time").0
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// The detection rules every scenario loads (positions 0–4 in the rule set): `r_x` matches
/// `action: x`, `r_ab` matches `a` or `b`. Action `z` matches nothing.
pub const DETECTIONS: &str = "title: r_a\nname: r_a\nlogsource: {category: user_session}\ndetection:\n  sel: {action: a}\n  condition: sel\n\
---\ntitle: r_b\nname: r_b\nlogsource: {category: user_session}\ndetection:\n  sel: {action: b}\n  condition: sel\n\
---\ntitle: r_c\nname: r_c\nlogsource: {category: user_session}\ndetection:\n  sel: {action: c}\n  condition: sel\n\
---\ntitle: r_d\nname: r_d\nlogsource: {category: user_session}\ndetection:\n  sel: {action: d}\n  condition: sel\n\
---\ntitle: r_ab\nname: r_ab\nlogsource: {category: user_session}\ndetection:\n  sel: {action: [a, b]}\n  condition: sel\n";

/// Which of the detection rules above an event matches.
pub fn detect(event: &Value) -> BTreeSet<String> {
    let action = event.get("action").and_then(Value::as_str).unwrap_or("");
    let names: &[&str] = match action {
        "a" => &["r_a", "r_ab"],
        "b" => &["r_b", "r_ab"],
        "c" => &["r_c"],
        "d" => &["r_d"],
        _ => &[],
    };
    names.iter().map(|s| (*s).to_string()).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    ValueSum,
    ValueAvg,
    Temporal,
    Ordered,
    FirstSeen,
    Absence,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::Temporal => "temporal",
            Kind::Ordered => "temporal_ordered",
            Kind::FirstSeen => "first_seen",
            Kind::Absence => "absence",
        }
    }

    pub fn is_counting(self) -> bool {
        matches!(
            self,
            Kind::EventCount | Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Op {
    pub fn key(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Eq => "eq",
            Op::Neq => "neq",
        }
    }

    #[allow(clippy::float_cmp)]
    pub fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Op::Gt => v > t,
            Op::Gte => v >= t,
            Op::Lt => v < t,
            Op::Lte => v <= t,
            Op::Eq => v == t,
            Op::Neq => v != t,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnchorMode {
    First,
    Each,
    Restart,
}

/// One correlation rule, as the reference understands it (docs/semantics.md §3.2).
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub kind: Kind,
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan: i64,
    pub conds: Vec<(Op, i64)>,
    /// `condition.field` (value types) or `field` (first_seen).
    pub field: Option<String>,
    pub keep: bool,
    pub suppress: Option<i64>,
    pub reset: Vec<String>,
    pub trigger: Vec<String>,
    pub generate: bool,
    pub history: i64,
    pub new_group_alert: bool,
    pub learning: i64,
    pub expected: Vec<String>,
    pub anchor: AnchorMode,
    /// `aliases`: group-by name → (rule → the event field it reads for that rule).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

impl Spec {
    pub fn new(name: &str, kind: Kind, rules: &[&str], group_by: &[&str], timespan: i64) -> Spec {
        Spec {
            name: name.to_string(),
            kind,
            rules: strs(rules),
            group_by: strs(group_by),
            timespan,
            conds: Vec::new(),
            field: None,
            keep: false,
            suppress: None,
            reset: Vec::new(),
            trigger: Vec::new(),
            generate: false,
            history: 0,
            new_group_alert: false,
            learning: 0,
            expected: Vec::new(),
            anchor: AnchorMode::First,
            aliases: Vec::new(),
        }
    }

    /// Every rule this correlation names (for `generate`).
    pub fn named(&self) -> impl Iterator<Item = &String> {
        self.rules
            .iter()
            .chain(&self.reset)
            .chain(&self.trigger)
            .chain(&self.expected)
    }

    pub fn yaml(&self) -> String {
        let list = |v: &[String]| v.join(", ");
        let mut s = format!(
            "title: {n}\nname: {n}\ncorrelation:\n  type: {}\n  rules: [{}]\n  group-by: [{}]\n",
            self.kind.name(),
            list(&self.rules),
            list(&self.group_by),
            n = self.name,
        );
        if self.kind != Kind::FirstSeen {
            s += &format!("  timespan: {}\n", dur(self.timespan));
        }
        if self.kind.is_counting() {
            let mut parts = Vec::new();
            if self.kind != Kind::EventCount {
                parts.push(format!("field: {}", self.field.as_deref().expect("field")));
            }
            for (op, t) in &self.conds {
                parts.push(format!("{}: {t}", op.key()));
            }
            s += &format!("  condition: {{{}}}\n", parts.join(", "));
        }
        if self.keep {
            s += "  on_fire: keep\n";
        }
        if let Some(d) = self.suppress {
            s += &format!("  suppress: {}\n", dur(d));
        }
        if !self.reset.is_empty() {
            s += &format!("  reset: [{}]\n", list(&self.reset));
        }
        if !self.aliases.is_empty() {
            s += "  aliases:\n";
            for (name, map) in &self.aliases {
                s += &format!("    {name}:\n");
                for (rule, field) in map {
                    s += &format!("      {rule}: {field}\n");
                }
            }
        }
        if !self.trigger.is_empty() {
            s += &format!("  trigger: [{}]\n", list(&self.trigger));
        }
        if self.generate {
            s += "  generate: true\n";
        }
        if self.kind == Kind::FirstSeen {
            s += &format!(
                "  field: {}\n  history: {}\n  new_group: {}\n",
                self.field.as_deref().expect("field"),
                dur(self.history),
                if self.new_group_alert {
                    "alert"
                } else {
                    "learn"
                }
            );
            if self.learning > 0 {
                s += &format!("  learning: {}\n", dur(self.learning));
            }
        }
        if self.kind == Kind::Absence {
            s += &format!(
                "  expected: [{}]\n  anchor: {}\n",
                list(&self.expected),
                match self.anchor {
                    AnchorMode::First => "first",
                    AnchorMode::Each => "each",
                    AnchorMode::Restart => "restart",
                }
            );
        }
        s
    }
}

pub fn dur(ns: i64) -> String {
    if ns % MIN == 0 {
        format!("{}m", ns / MIN)
    } else {
        format!("{}s", ns / SEC)
    }
}

pub fn rules_yaml(specs: &[Spec]) -> String {
    let mut s = DETECTIONS.to_string();
    for spec in specs {
        s.push_str("---\n");
        s.push_str(&spec.yaml());
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Outcome
// ---------------------------------------------------------------------------------------------

pub type Group = Vec<(String, String)>;

/// One correlation alert, reduced to what is compared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Out {
    pub ts: i64,
    pub rule: String,
    pub group: Group,
    pub value: Option<String>,
    pub values: Option<Vec<String>>,
    pub anchor: Option<i64>,
    pub incomplete: bool,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g: Vec<String> = self.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{} {} [{}]", self.rule, rfc(self.ts), g.join(","))?;
        if let Some(v) = &self.value {
            write!(f, " value={v}")?;
        }
        if let Some(v) = &self.values {
            write!(f, " values={v:?}")?;
        }
        if let Some(a) = self.anchor {
            write!(f, " anchor={}", rfc(a))?;
        }
        if self.incomplete {
            write!(f, " incomplete")?;
        }
        Ok(())
    }
}

pub fn num(v: f64) -> String {
    format!("{:.6}", v + 0.0) // no "-0"
}

pub fn val_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PendingOut {
    pub rule: String,
    pub group: Group,
    pub deadline: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Correlation alerts, in output order.
    pub alerts: Vec<Out>,
    /// Each correlation alert with its `events` (None: not checked).
    pub events: Vec<(Out, Option<Vec<String>>)>,
    /// Detection alerts (rule, event time), sorted.
    pub detections: Vec<(String, i64)>,
    pub late: u64,
    pub no_timestamp: u64,
    /// Sorted.
    pub pending: Vec<PendingOut>,
}

impl Outcome {
    pub fn show(&self) -> String {
        let mut s = String::new();
        for a in &self.alerts {
            s += &format!("  {a}\n");
        }
        s += &format!("  late={} pending=[", self.late);
        for p in &self.pending {
            let g: Vec<String> = p.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s += &format!(" {} [{}] {}", p.rule, g.join(","), rfc(p.deadline));
        }
        s += " ]\n";
        s
    }
}

// ---------------------------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------------------------

/// One element of the processed stream: an event (or, S12, a correlation alert as an event).
#[derive(Clone, Debug)]
pub struct Item {
    pub ts: i64,
    pub fields: Map<String, Value>,
    pub matched: BTreeSet<String>,
    /// The input line (None for a correlation alert seen as an event).
    pub text: Option<String>,
}

/// S1: RFC 3339 text or epoch seconds (the generators use no other form).
pub fn ts_of(e: &Value) -> Option<i64> {
    match e.get("timestamp")? {
        Value::String(s) => parse_rfc3339(s).map(|t| t.0),
        Value::Number(n) => n.as_i64().map(|secs| secs * SEC),
        _ => None,
    }
}

/// S4: the group, or None when a group-by field is missing or null.
/// With `aliases`, a group-by name reads, for an event of rule r, the field the alias gives
/// for r (the generators never let one event match two rules of an alias).
pub fn group_of(spec: &Spec, it: &Item) -> Option<Group> {
    spec.group_by
        .iter()
        .map(|f| {
            let source = spec
                .aliases
                .iter()
                .find(|(name, _)| name == f)
                .and_then(|(_, map)| map.iter().find(|(rule, _)| it.matched.contains(rule)))
                .map_or(f, |(_, field)| field);
            match it.fields.get(source) {
                None | Some(Value::Null) => None,
                Some(v) => Some((f.clone(), val_str(v))),
            }
        })
        .collect()
}

pub fn matches_any(it: &Item, rules: &[String]) -> bool {
    rules.iter().any(|r| it.matched.contains(r))
}

/// A raised alert and the index (in the stream it was evaluated on) of the item it was raised at.
pub struct Raised {
    pub at: usize,
    pub out: Out,
    /// The alert's `events` (docs/semantics.md §4.1: the contributing events, the ten most recent), where the
    /// reference decides them: the window of a count or value type, the event of a
    /// first_seen, the anchor of an absence. None: not checked (temporal types, where which
    /// of several matching events contribute is not specified, and chained events).
    pub events: Option<Vec<String>>,
}

/// The first index whose events belong to the group's state at evaluation point `p`: after the
/// latest `on_fire: reset` alert of the group, and from the latest reset event (inclusive).
pub fn clear_start(spec: &Spec, items: &[Item], raised: &[Raised], g: &Group, p: usize) -> usize {
    let mut start = 0;
    for (q, it) in items.iter().enumerate().take(p + 1) {
        if matches_any(it, &spec.reset) && group_of(spec, it).as_ref() == Some(g) {
            start = start.max(q);
        }
    }
    if !spec.keep {
        for r in raised {
            if r.at < p && &r.out.group == g {
                start = start.max(r.at + 1);
            }
        }
    }
    start
}

/// S10: emits the candidate unless suppressed.
pub fn candidate(
    spec: &Spec,
    raised: &mut Vec<Raised>,
    at: usize,
    out: Out,
    events: Option<Vec<String>>,
) {
    if let Some(d) = spec.suppress {
        let last = raised
            .iter()
            .filter(|r| r.out.group == out.group)
            .map(|r| r.out.ts)
            .max();
        if last.is_some_and(|l| out.ts <= l + d) {
            return;
        }
    }
    raised.push(Raised { at, out, events });
}

pub fn out(spec: &Spec, ts: i64, g: &Group) -> Out {
    Out {
        ts,
        rule: spec.name.clone(),
        group: g.clone(),
        value: None,
        values: None,
        anchor: None,
        incomplete: false,
    }
}

/// S6: event_count, value_count, value_sum, value_avg.
pub fn eval_counting(spec: &Spec, items: &[Item]) -> Vec<Raised> {
    let mut raised = Vec::new();
    // Trigger events are not counted, even when they also match `rules`.
    let counts = |c: &Item| {
        matches_any(c, &spec.rules) && (spec.trigger.is_empty() || !matches_any(c, &spec.trigger))
    };
    for (p, e) in items.iter().enumerate() {
        let Some(g) = group_of(spec, e) else {
            continue;
        };
        let evaluate = if spec.trigger.is_empty() {
            matches_any(e, &spec.rules)
        } else {
            matches_any(e, &spec.trigger)
        };
        if !evaluate {
            continue;
        }
        let start = clear_start(spec, items, &raised, &g, p);
        let window: Vec<&Item> = items[start..=p]
            .iter()
            .filter(|c| {
                counts(c)
                    && group_of(spec, c).as_ref() == Some(&g)
                    && e.ts - spec.timespan <= c.ts
                    && c.ts <= e.ts
            })
            .collect();
        let field_values = || {
            let f = spec.field.as_deref().expect("field");
            window
                .iter()
                .filter_map(|c| c.fields.get(f))
                .filter(|v| !v.is_null())
                .cloned()
                .collect::<Vec<Value>>()
        };
        let numbers = || {
            field_values()
                .iter()
                .filter_map(|v| match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                })
                .collect::<Vec<f64>>()
        };
        let (value, values) = match spec.kind {
            Kind::EventCount => (Some(window.len() as f64), None),
            Kind::ValueCount => {
                // Distinct as strings (3 and "3" are one value), like groups (S4).
                let distinct: BTreeSet<String> = field_values().iter().map(val_str).collect();
                (
                    Some(distinct.len() as f64),
                    Some(distinct.into_iter().collect()),
                )
            }
            Kind::ValueSum => (Some(numbers().iter().fold(0.0, |a, b| a + b)), None),
            Kind::ValueAvg => {
                let ns = numbers();
                if ns.is_empty() {
                    (None, None)
                } else {
                    (
                        Some(ns.iter().fold(0.0, |a, b| a + b) / ns.len() as f64),
                        None,
                    )
                }
            }
            _ => unreachable!(),
        };
        let Some(value) = value else {
            continue;
        };
        if !spec.conds.iter().all(|(op, t)| op.holds(value, *t as f64)) {
            continue;
        }
        let mut o = out(spec, e.ts, &g);
        o.value = Some(num(value));
        o.values = values;
        let skip = window.len().saturating_sub(10);
        let events = window.iter().skip(skip).map(|c| c.text.clone()).collect();
        candidate(spec, &mut raised, p, o, events);
    }
    raised
}

/// S7: temporal (any order).
pub fn eval_temporal(spec: &Spec, items: &[Item]) -> Vec<Raised> {
    let mut raised = Vec::new();
    for (p, e) in items.iter().enumerate() {
        if !matches_any(e, &spec.rules) {
            continue;
        }
        let Some(g) = group_of(spec, e) else {
            continue;
        };
        let start = clear_start(spec, items, &raised, &g, p);
        let all = spec.rules.iter().all(|r| {
            items[start..=p].iter().any(|c| {
                c.matched.contains(r)
                    && group_of(spec, c).as_ref() == Some(&g)
                    && e.ts - spec.timespan <= c.ts
            })
        });
        if all {
            let mut o = out(spec, e.ts, &g);
            o.value = Some(num(spec.rules.len() as f64));
            candidate(spec, &mut raised, p, o, None);
        }
    }
    raised
}

/// S7: temporal_ordered, by searching every chain e1 < … < en = e in the history.
pub fn eval_ordered(spec: &Spec, items: &[Item]) -> Vec<Raised> {
    let mut raised = Vec::new();
    let n = spec.rules.len();
    for (p, e) in items.iter().enumerate() {
        if !e.matched.contains(&spec.rules[n - 1]) {
            continue;
        }
        let Some(g) = group_of(spec, e) else {
            continue;
        };
        let start = clear_start(spec, items, &raised, &g, p);
        let cands: Vec<usize> = (start..=p)
            .filter(|&q| group_of(spec, &items[q]).as_ref() == Some(&g))
            .collect();
        // starts[k][j]: the start times of every chain r1..r(k+1) ending at cands[j].
        let mut starts: Vec<Vec<BTreeSet<i64>>> = vec![vec![BTreeSet::new(); cands.len()]; n];
        for (j, &q) in cands.iter().enumerate() {
            for k in 0..n {
                if !items[q].matched.contains(&spec.rules[k]) {
                    continue;
                }
                starts[k][j] = if k == 0 {
                    [items[q].ts].into_iter().collect()
                } else {
                    (0..j).flat_map(|i| starts[k - 1][i].clone()).collect()
                };
            }
        }
        let last = cands.len() - 1;
        if starts[n - 1][last]
            .iter()
            .any(|s| e.ts - s <= spec.timespan)
        {
            let mut o = out(spec, e.ts, &g);
            o.value = Some(num(n as f64));
            candidate(spec, &mut raised, p, o, None);
        }
    }
    raised
}

/// S8: first_seen.
pub fn eval_first_seen(spec: &Spec, items: &[Item]) -> Vec<Raised> {
    let mut raised = Vec::new();
    let Some(t0) = items.first().map(|i| i.ts) else {
        return raised;
    };
    // `field: f` or `field: [f, g]`: the value is the tuple; null if any part is null.
    let fields: Vec<String> = spec
        .field
        .as_deref()
        .expect("field")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|f| f.trim().to_string())
        .collect();
    // Values compare as strings (3 and "3" are one value), like groups (S4).
    let value = |it: &Item| -> Option<Vec<String>> {
        fields
            .iter()
            .map(|f| it.fields.get(f).filter(|v| !v.is_null()).map(val_str))
            .collect()
    };
    for (p, e) in items.iter().enumerate() {
        if !matches_any(e, &spec.rules) {
            continue;
        }
        let Some(g) = group_of(spec, e) else {
            continue;
        };
        let Some(v) = value(e) else {
            continue;
        };
        let earlier: Vec<&Item> = items[..p]
            .iter()
            .filter(|c| {
                matches_any(c, &spec.rules)
                    && group_of(spec, c).as_ref() == Some(&g)
                    && value(c).is_some()
            })
            .collect();
        let group_known = !earlier.is_empty();
        let is_new = !earlier
            .iter()
            .any(|c| value(c).as_ref() == Some(&v) && c.ts >= e.ts - spec.history);
        let learning = e.ts < t0 + spec.learning;
        if is_new && (group_known || spec.new_group_alert) && !learning {
            let mut o = out(spec, e.ts, &g);
            o.values = Some(v.clone());
            let events = e.text.clone().map(|t| vec![t]);
            candidate(spec, &mut raised, p, o, events);
        }
    }
    raised
}

/// S9/S11: absence. Returns the alerts and the obligations pending at the end.
pub fn eval_absence(
    spec: &Spec,
    items: &[Item],
    max_seen: Option<i64>,
    eof_flush: bool,
) -> (Vec<Raised>, Vec<PendingOut>) {
    struct Obligation {
        anchor: usize,
        deadline: i64,
        group: Group,
    }
    let in_group = |it: &Item, g: &Group| group_of(spec, it).as_ref() == Some(g);
    let is_anchor = |it: &Item| matches_any(it, &spec.rules) && group_of(spec, it).is_some();
    let is_expected = |it: &Item| matches_any(it, &spec.expected);
    // Discharged by an expected event of the group processed after the anchor and before `p`
    // (exclusive), at or before the deadline.
    let discharged_before = |o: &Obligation, p: usize| {
        items[o.anchor + 1..p]
            .iter()
            .any(|x| is_expected(x) && in_group(x, &o.group) && x.ts <= o.deadline)
    };
    // Live at `p` (before `p` is processed), ignoring replacement: not discharged, and not fired
    // (a deadline fires before any event with a later timestamp; an event at the deadline's
    // own time goes first).
    let live_at = |o: &Obligation, p: usize| {
        !discharged_before(o, p) && (p == items.len() || items[p].ts <= o.deadline)
    };
    // `restart`: replaced by the next anchor of the group if still pending there.
    let replaced_before = |o: &Obligation, p: usize| {
        if spec.anchor != AnchorMode::Restart {
            return false;
        }
        let next =
            (o.anchor + 1..p).find(|&q| is_anchor(&items[q]) && in_group(&items[q], &o.group));
        next.is_some_and(|q| live_at(o, q))
    };
    let pending_at = |o: &Obligation, p: usize| live_at(o, p) && !replaced_before(o, p);
    // An event that is both an anchor and an expected event first discharges the obligations
    // anchored before it, then anchors (the design does not order the two; this is what the
    // engine does, and `anchor: first` then opens a new obligation).
    let pending_for_anchor = |o: &Obligation, p: usize| {
        pending_at(o, p)
            && !(is_expected(&items[p])
                && in_group(&items[p], &o.group)
                && items[p].ts <= o.deadline)
    };

    let mut obligations: Vec<Obligation> = Vec::new();
    for (p, a) in items.iter().enumerate() {
        if !is_anchor(a) {
            continue;
        }
        let g = group_of(spec, a).expect("anchor has a group");
        let open = match spec.anchor {
            AnchorMode::First => !obligations
                .iter()
                .any(|o| o.group == g && pending_for_anchor(o, p)),
            AnchorMode::Each | AnchorMode::Restart => true,
        };
        if open {
            obligations.push(Obligation {
                anchor: p,
                deadline: a.ts + spec.timespan,
                group: g,
            });
        }
    }
    let end = items.len();
    let mut alerts = Vec::new();
    let mut pending = Vec::new();
    for o in &obligations {
        if !pending_at(o, end) {
            continue;
        }
        let fired = max_seen.is_some_and(|w| w > o.deadline);
        if fired || eof_flush {
            let mut a = out(spec, o.deadline, &o.group);
            a.anchor = Some(items[o.anchor].ts);
            a.incomplete = !fired;
            // Where a chained correlation sees it (S12): after the events up to the deadline.
            let at = items
                .iter()
                .rposition(|it| it.ts <= o.deadline)
                .unwrap_or(0);
            let events = items[o.anchor].text.clone().map(|t| vec![t]);
            alerts.push(Raised { at, out: a, events });
        } else {
            pending.push(PendingOut {
                rule: spec.name.clone(),
                group: o.group.clone(),
                deadline: o.deadline,
            });
        }
    }
    // Deadlines fire in time order, then by group (obligations are in anchor order); S10
    // `suppress` applies to them as to any candidate (3.2 lists it for every type).
    alerts.sort_by(|a, b| (a.out.ts, &a.out.group).cmp(&(b.out.ts, &b.out.group)));
    let mut emitted = Vec::new();
    for a in alerts {
        let at = a.at;
        candidate(spec, &mut emitted, at, a.out, a.events);
    }
    (emitted, pending)
}

/// A scenario: correlations (referenced ones before the ones that reference them), events in
/// arrival order, engine settings.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub specs: Vec<Spec>,
    pub events: Vec<Value>,
    pub lateness: i64,
    pub eof_flush: bool,
}

/// Whether a rule alerts on its own (docs/semantics.md §3.2 `generate`).
pub fn silent(specs: &[Spec], rule: &str) -> bool {
    let namers: Vec<&Spec> = specs
        .iter()
        .filter(|s| s.named().any(|n| n == rule))
        .collect();
    !namers.is_empty() && namers.iter().all(|s| !s.generate)
}

/// The whole reference: S2/S3 lateness and order, then every correlation by brute force.
pub fn reference(sc: &Scenario) -> Outcome {
    // S2/S3: W before each arrival is the largest timestamp seen so far − max_lateness.
    let mut max_seen: Option<i64> = None;
    let mut late = 0;
    let mut no_timestamp = 0;
    let mut kept: Vec<(i64, usize)> = Vec::new();
    let mut detections = Vec::new();
    for (i, e) in sc.events.iter().enumerate() {
        let ts = ts_of(e);
        for r in detect(e) {
            if !silent(&sc.specs, &r) {
                detections.push((r, ts.unwrap_or(i64::MIN)));
            }
        }
        // S1: no timestamp: detection only; it does not move W and is not late.
        let Some(ts) = ts else {
            no_timestamp += 1;
            continue;
        };
        if max_seen.is_some_and(|m| ts < m - sc.lateness) {
            late += 1;
            continue;
        }
        max_seen = Some(max_seen.map_or(ts, |m| m.max(ts)));
        kept.push((ts, i));
    }
    detections.sort();
    kept.sort();
    let mut stream: Vec<Item> = kept
        .iter()
        .map(|&(ts, i)| Item {
            ts,
            fields: sc.events[i].as_object().expect("object").clone(),
            matched: detect(&sc.events[i]),
            text: Some(sc.events[i].to_string()),
        })
        .collect();

    let mut alerts: Vec<(usize, Out)> = Vec::new(); // (rule position, alert)
    let mut events: Vec<(Out, Option<Vec<String>>)> = Vec::new();
    let mut pending = Vec::new();
    for (pos, spec) in sc.specs.iter().enumerate() {
        let raised = match spec.kind {
            Kind::EventCount | Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg => {
                eval_counting(spec, &stream)
            }
            Kind::Temporal => eval_temporal(spec, &stream),
            Kind::Ordered => eval_ordered(spec, &stream),
            Kind::FirstSeen => eval_first_seen(spec, &stream),
            Kind::Absence => {
                let (a, p) = eval_absence(spec, &stream, max_seen, sc.eof_flush);
                pending.extend(p);
                a
            }
        };
        // S12: a referenced correlation's alerts become events right after the event they
        // were raised at (absence: after the last event at or before the deadline).
        if sc.specs.iter().any(|s| s.named().any(|n| *n == spec.name)) {
            let mut next = Vec::with_capacity(stream.len() + raised.len());
            for (p, it) in stream.iter().enumerate() {
                next.push(it.clone());
                for r in raised.iter().filter(|r| r.at == p) {
                    let fields: Map<String, Value> = r
                        .out
                        .group
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    next.push(Item {
                        ts: r.out.ts,
                        fields,
                        matched: [spec.name.clone()].into_iter().collect(),
                        text: None,
                    });
                }
            }
            stream = next;
        }
        if !silent(&sc.specs, &spec.name) {
            for r in raised {
                events.push((r.out.clone(), r.events));
                alerts.push((pos, r.out));
            }
        }
    }
    // docs/semantics.md §4.1: event time, rule position, group (the alerts of one rule at one time are
    // in distinct groups, so the input position never decides here).
    alerts.sort_by(|(pa, a), (pb, b)| (a.ts, pa, &a.group).cmp(&(b.ts, pb, &b.group)));
    pending.sort();
    Outcome {
        alerts: alerts.into_iter().map(|(_, a)| a).collect(),
        events,
        detections,
        late,
        no_timestamp,
        pending,
    }
}

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

pub fn to_out(a: &Alert) -> Out {
    Out {
        ts: a.timestamp.expect("correlation alerts have a time").0,
        rule: a.rule.name.clone().unwrap_or_default(),
        group: a
            .group
            .as_ref()
            .map(|g| g.iter().map(|(k, v)| (k.clone(), val_str(v))).collect())
            .unwrap_or_default(),
        value: a.value.map(num),
        values: a.values.as_ref().map(|vs| vs.iter().map(val_str).collect()),
        anchor: a.anchor_timestamp.map(|t| t.0),
        incomplete: a.incomplete,
    }
}

pub fn engine(sc: &Scenario) -> Outcome {
    let text = rules_yaml(&sc.specs);
    let set = RuleSet::builder()
        .add_str("reference.yml", text.clone())
        .build()
        .unwrap_or_else(|d| panic!("{d}\n{text}"));
    let settings = Settings {
        max_lateness: sc.lateness,
        eof_flush: sc.eof_flush,
        ..Settings::default()
    };
    let mut engine = Engine::with_settings(&set, settings);
    let mut alerts: Vec<Alert> = Vec::new();
    for e in &sc.events {
        engine
            .process_line(e.to_string().as_bytes(), &mut alerts)
            .expect("valid event");
    }
    let stats = engine.finish(&mut alerts);
    let mut detections: Vec<(String, i64)> = alerts
        .iter()
        .filter(|a| a.rule_type == "detection")
        .map(|a| {
            (
                a.rule.name.clone().unwrap_or_default(),
                a.timestamp.map_or(i64::MIN, |t| t.0),
            )
        })
        .collect();
    detections.sort();
    let mut pending: Vec<PendingOut> = stats
        .pending
        .iter()
        .map(|p| PendingOut {
            rule: p.rule.clone(),
            group: p
                .group
                .iter()
                .map(|(k, v)| (k.clone(), val_str(v)))
                .collect(),
            deadline: p.deadline.0,
        })
        .collect();
    pending.sort();
    Outcome {
        alerts: alerts
            .iter()
            .filter(|a| a.rule_type != "detection")
            .map(to_out)
            .collect(),
        events: alerts
            .iter()
            .filter(|a| a.rule_type != "detection")
            .map(|a| {
                let events = a.events.iter().map(|e| e.to_string()).collect();
                (to_out(a), Some(events))
            })
            .collect(),
        detections,
        late: stats.late,
        no_timestamp: stats.no_timestamp,
        pending,
    }
}

pub fn show_events(events: &[Value]) -> String {
    events.iter().map(|e| format!("  {e}\n")).collect()
}

/// Runs both and compares. `ordered`: also demand the exact output order of docs/semantics.md §4.1.
pub fn check(sc: &Scenario, ordered: bool) -> Result<(), String> {
    let want = reference(sc);
    let got = engine(sc);
    let context = || {
        format!(
            "rules:\n{}\nmax_lateness={} eof_flush={}\nevents (arrival order):\n{}reference:\n{}engine:\n{}",
            sc.specs
                .iter()
                .map(Spec::yaml)
                .collect::<Vec<_>>()
                .join("---\n"),
            dur(sc.lateness),
            sc.eof_flush,
            show_events(&sc.events),
            want.show(),
            got.show()
        )
    };
    let mut a = want.alerts.clone();
    let mut b = got.alerts.clone();
    a.sort();
    b.sort();
    ensure!(a == b, "correlation alerts differ\n{}", context());
    if ordered {
        ensure!(
            want.alerts == got.alerts,
            "alert order differs\n{}",
            context()
        );
    } else {
        let times: Vec<i64> = got.alerts.iter().map(|a| a.ts).collect();
        ensure!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "alerts not in event-time order\n{}",
            context()
        );
    }
    // 4.1 `events`, where the reference decides them; alerts equal in every other field are
    // matched as multisets.
    #[derive(Default)]
    struct Same<'a> {
        want: Vec<&'a Vec<String>>,
        got: Vec<&'a Vec<String>>,
        unchecked: bool,
    }
    let mut by_alert: BTreeMap<&Out, Same> = BTreeMap::new();
    for (o, e) in &want.events {
        let entry = by_alert.entry(o).or_default();
        match e {
            Some(e) => entry.want.push(e),
            None => entry.unchecked = true,
        }
    }
    for (o, e) in &got.events {
        if let (Some(entry), Some(e)) = (by_alert.get_mut(o), e) {
            entry.got.push(e);
        }
    }
    for (o, mut same) in by_alert {
        if same.unchecked {
            continue;
        }
        same.want.sort();
        same.got.sort();
        ensure!(
            same.want == same.got,
            "events of {} differ: want {:?} got {:?}\n{}",
            o,
            same.want,
            same.got,
            context()
        );
    }
    ensure!(want.late == got.late, "late differs\n{}", context());
    ensure!(
        want.no_timestamp == got.no_timestamp,
        "no_timestamp differs\n{}",
        context()
    );
    ensure!(
        want.pending == got.pending,
        "pending differs\n{}",
        context()
    );
    ensure!(
        want.detections == got.detections,
        "detection alerts differ: want {:?} got {:?}\n{}",
        want.detections,
        got.detections,
        context()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generated streams (shared by the property tests and the fuzz target)
// ---------------------------------------------------------------------------------------------

/// Users: case variants (groups compare as exact strings), and the number 7 next to the string
/// "7" (the same group: "compared as exact strings", S4).
pub fn user(i: usize) -> Value {
    match i {
        0 => Value::from("u1"),
        1 => Value::from("U1"),
        2 => Value::from(7),
        3 => Value::from("7"),
        _ => Value::from("u2"),
    }
}
pub const HOSTS: [&str; 3] = ["h1", "H1", "h2"];
/// Weighted: more a and b.
pub const ACTIONS: [&str; 8] = ["a", "a", "a", "b", "b", "c", "d", "z"];

/// One generated event before it is built: (minute, action, user, host, bytes, jitter, timestamp
/// form, peer), as the `stream` strategy of `tests/reference.rs` draws it.
pub type RawEvent = (i64, usize, usize, usize, Option<i64>, i64, usize, usize);

/// The events of a generated stream, in arrival order: `raw[i]` on whole minutes of `span`
/// minutes (of one hour), over `users` users, with the arrival order jittered by `amp`.
pub fn stream_events(span: i64, users: usize, amp: i64, raw: Vec<RawEvent>) -> Vec<Value> {
    let b = base();
    let mut evs: Vec<(i64, usize, Value)> = raw
        .into_iter()
        .enumerate()
        .map(|(i, (m, a, u, h, bytes, jitter, form, peer))| {
            let m = m * span / 60;
            let mut o = Map::new();
            match form {
                0 => {}
                1..=3 => {
                    o.insert("timestamp".into(), Value::from((b + m * MIN) / SEC));
                }
                _ => {
                    o.insert("timestamp".into(), Value::String(rfc(b + m * MIN)));
                }
            }
            o.insert("action".into(), Value::String(ACTIONS[a].into()));
            match u {
                0 => {}
                1 => {
                    o.insert("user".into(), Value::Null);
                }
                _ => {
                    o.insert("user".into(), user((u - 2) % users));
                }
            }
            if h > 0 {
                o.insert("host".into(), Value::String(HOSTS[h % HOSTS.len()].into()));
            }
            // Another user-like field, for `aliases`.
            if peer > 0 {
                o.insert("peer".into(), user((peer - 1) % users));
            }
            match bytes {
                Some(n @ 0..10) => {
                    o.insert("bytes".into(), Value::from(n));
                }
                // A number as a string: sums read it; "3" and 3 are one value.
                Some(n) => {
                    o.insert("bytes".into(), Value::from((n - 10).to_string()));
                }
                None => {}
            }
            (m * 10 + jitter * amp, i, Value::Object(o))
        })
        .collect();
    evs.sort_by_key(|(k, i, _)| (*k, *i));
    evs.into_iter().map(|(_, _, e)| e).collect()
}
