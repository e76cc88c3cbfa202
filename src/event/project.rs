//! Projection: an event is read from its JSON text by looking only at the fields the rule
//! set uses. Values are spans of the line; strings are borrowed from it (unescaped into a
//! scratch buffer when they hold escapes); the readings every predicate shares (lower-cased
//! text, IP address, timestamp) are computed once per event. The buffers are reused from
//! event to event: reading an event allocates nothing once they have grown.

use super::scan::{self, Invalid, Kind, Span};
use super::{FieldPath, FieldTable, Slot, parse_decimal};
use crate::net::{IpBits, parse_ip};
use crate::time::{Timestamp, parse_rfc3339};

/// A scalar JSON value of an event, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, as `serde_json` would write it.
    Num(&'a str),
    /// A string, unescaped.
    Str(&'a str),
}

impl<'a> Scalar<'a> {
    /// The text a string matcher sees: strings as they are, numbers as written, booleans as
    /// `true`/`false`; none for null.
    pub fn text(self) -> Option<&'a str> {
        match self {
            Scalar::Str(s) | Scalar::Num(s) => Some(s),
            Scalar::Bool(b) => Some(if b { "true" } else { "false" }),
            Scalar::Null => None,
        }
    }

    /// The number a numeric matcher sees: a JSON number, or a string holding a plain decimal.
    pub fn number(self) -> Option<f64> {
        match self {
            Scalar::Num(s) => s.parse().ok(),
            Scalar::Str(s) => parse_decimal(s),
            _ => None,
        }
    }

    /// The value read as a time: RFC 3339 text, or epoch seconds / milliseconds.
    pub fn timestamp(self) -> Option<Timestamp> {
        match self {
            Scalar::Str(s) => parse_rfc3339(s),
            Scalar::Num(s) => Timestamp::from_number_text(s),
            _ => None,
        }
    }
}

/// A field's value: a scalar, or an array / object (whose elements are read on demand).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    /// A scalar.
    Scalar(Scalar<'a>),
    /// An array.
    Array(Span),
    /// An object.
    Object(Span),
}

/// Which readings a slot needs (from the predicates that use it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uses {
    /// Read as an IP address (`cidr`).
    pub ip: bool,
    /// Read as a time (time-part modifiers, event time).
    pub time: bool,
    /// Compared as lower-cased text (string and boolean tests, the rule index).
    pub lower: bool,
    /// Read by a detection predicate (a derived field is then made for every event).
    pub read: bool,
}

/// Where a text lives: in the line, or in the scratch buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Loc {
    pub(super) start: u32,
    pub(super) len: u32,
    pub(super) scratch: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct SlotValue {
    span: Option<Span>,
    text: Option<Loc>,
    lowered: Option<Loc>,
    time: Option<Timestamp>,
    ip: Option<IpBits>,
}

/// How a slot is found: an exact top-level key, or a dotted path through a top-level object.
#[derive(Debug, Clone)]
struct SlotPlan {
    exact: Option<u32>,
    first: Option<u32>,
    path: FieldPath,
    uses: Uses,
}

/// The top-level keys of interest, bucketed by length: a key of the event is compared
/// with the few of its length, without hashing.
#[derive(Debug, Clone, Default)]
struct Keys {
    /// Per length: (first eight bytes as a number, key, id).
    by_len: Vec<Vec<(u64, Box<str>, u32)>>,
    len: u32,
}

/// Up to the first eight bytes of a key as a number: most keys differ there.
fn head(s: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_le_bytes(b)
}

impl Keys {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.get(name) {
            return id;
        }
        let n = name.len();
        if self.by_len.len() <= n {
            self.by_len.resize(n + 1, Vec::new());
        }
        let id = self.len;
        self.by_len[n].push((head(name), name.into(), id));
        self.len += 1;
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        let bucket = self.by_len.get(name.len())?;
        let h = head(name);
        bucket
            .iter()
            .find(|(kh, k, _)| *kh == h && (name.len() <= 8 || k.as_ref() == name))
            .map(|(_, _, id)| *id)
    }
}

/// Reads events by projection onto a rule set's fields; one per engine.
#[derive(Debug, Clone)]
pub struct Projector {
    top: Keys,
    /// Keys whose presence marks a record as something else than a plain session event.
    markers: Vec<u32>,
    key_spans: Vec<Option<Span>>,
    plans: Vec<SlotPlan>,
    slots: Vec<SlotValue>,
    /// Per top-level key: the slots found through it (their exact key or their path's
    /// first segment). An event resolves only the slots of the keys it has.
    by_key: Vec<Vec<u32>>,
    /// The keys the loaded event has, and the slots it filled: all that the next event
    /// resets (an event has a few of the rule set's keys).
    present: Vec<u32>,
    filled: Vec<u32>,
    /// Per slot, the load that resolved it last (`epoch`): a slot reached by two keys is
    /// resolved once.
    seen: Vec<u32>,
    epoch: u32,
    scratch: String,
    tmp: String,
    doc: Span,
    /// Every string and number text of the loaded event, for keyword search.
    texts: std::cell::RefCell<super::texts::EventTexts>,
    /// Slots of `user_name` / `user_domain` (true: the domain) and the key of `user` they
    /// are derived from when an event does not carry them.
    derived: Vec<(usize, bool)>,
    user_key: Option<u32>,
    /// The slot of `user` itself, when the rule set reads it: its text is already
    /// unescaped.
    user_slot: Option<usize>,
}

impl Projector {
    /// A projector for the fields of `table`; `uses[slot]` says which readings to prepare.
    /// `markers`: top-level keys whose presence [`Projector::marked`] reports.
    pub fn new(table: &FieldTable, uses: &[Uses], markers: &[&str]) -> Projector {
        let mut top = Keys::default();
        let mut plans = Vec::with_capacity(table.len());
        for (i, name) in table.names().enumerate() {
            let path = FieldPath::new(name);
            let exact = Some(top.id(name));
            let first = (path.segments.len() > 1).then(|| top.id(&path.segments[0]));
            plans.push(SlotPlan {
                exact,
                first,
                path,
                uses: uses.get(i).copied().unwrap_or_default(),
            });
        }
        let markers = markers.iter().map(|m| top.id(m)).collect();
        let named: Vec<(usize, bool)> = table
            .names()
            .enumerate()
            .filter_map(|(i, n)| {
                super::DERIVED_FROM_USER
                    .iter()
                    .position(|d| *d == n)
                    .map(|k| (i, k == 1))
            })
            .collect();
        let user_key = (!named.is_empty()).then(|| top.id("user"));
        // Made for every event only where a predicate reads them; correlations derive
        // theirs when they take an event ([`Fields::push_derived_from_user`]).
        let derived = named
            .into_iter()
            .filter(|(i, _)| uses.get(*i).is_some_and(|u| u.read))
            .collect();
        let mut by_key = vec![Vec::new(); top.len as usize];
        for (i, plan) in plans.iter().enumerate() {
            for k in [plan.exact, plan.first].into_iter().flatten() {
                if !by_key[k as usize].contains(&(i as u32)) {
                    by_key[k as usize].push(i as u32);
                }
            }
        }
        Projector {
            derived,
            user_key,
            user_slot: table.names().position(|n| n == "user"),
            key_spans: vec![None; top.len as usize],
            by_key,
            present: Vec::new(),
            filled: Vec::new(),
            seen: vec![0; plans.len()],
            epoch: 0,
            top,
            markers,
            slots: vec![SlotValue::default(); plans.len()],
            plans,
            scratch: String::new(),
            tmp: String::new(),
            texts: Default::default(),
            doc: Span {
                kind: Kind::Null,
                start: 0,
                end: 0,
            },
        }
    }

    /// Reads one event's text: validates it and resolves every slot. The span of the whole
    /// document is returned (the caller checks that it is an object).
    pub fn load(&mut self, text: &str) -> Result<Span, Invalid> {
        for k in self.present.drain(..) {
            self.key_spans[k as usize] = None;
        }
        for i in self.filled.drain(..) {
            self.slots[i as usize] = SlotValue::default();
        }
        self.scratch.clear();
        let top = &self.top;
        let key_spans = &mut self.key_spans;
        let present = &mut self.present;
        let mut unescaped = String::new();
        let members = self.texts.get_mut().start();
        let line = text.as_ptr() as usize;
        let doc = scan::top_members(text, &mut |key, escaped, span| {
            // Keys are slices of the line (quotes are ASCII: the bounds fit in u32, the
            // line being shorter than u32::MAX).
            members.push((
                (key.as_ptr() as usize - line) as u32,
                key.len() as u32,
                escaped,
                span,
            ));
            let id = if escaped {
                unescaped.clear();
                scan::unescape(key, &mut unescaped);
                top.get(unescaped.as_str())
            } else {
                top.get(key)
            };
            if let Some(id) = id {
                // A repeated key: the last one wins, as in serde_json.
                if key_spans[id as usize].replace(span).is_none() {
                    present.push(id);
                }
            }
        })?;
        self.doc = doc;
        if doc.kind == Kind::Object {
            self.epoch = self.epoch.wrapping_add(1);
            if self.epoch == 0 {
                self.seen.iter_mut().for_each(|e| *e = 0);
                self.epoch = 1;
            }
            // Slots whose keys the event lacks stay empty (reset above).
            for p in 0..self.present.len() {
                let k = self.present[p] as usize;
                for j in 0..self.by_key[k].len() {
                    let i = self.by_key[k][j] as usize;
                    if std::mem::replace(&mut self.seen[i], self.epoch) == self.epoch {
                        continue;
                    }
                    if let Some(span) = self.resolve(text, i) {
                        self.slots[i] = self.read(text, Some(span), self.plans[i].uses);
                        self.filled.push(i as u32);
                    }
                }
            }
        }
        if doc.kind == Kind::Object && !self.derived.is_empty() {
            self.derive_identity(text);
        }
        Ok(doc)
    }

    /// `user_name` and `user_domain` of an event that has a `user` but not them: the person
    /// behind it (as the adapters write them, [`super::identity`]), so that rules grouping
    /// by the person work on session events written by hand too.
    fn derive_identity(&mut self, text: &str) {
        let Some(user) = self.user_key.and_then(|k| self.key_spans[k as usize]) else {
            return;
        };
        let Kind::Str { escaped } = user.kind else {
            return;
        };
        let raw = user.raw(text);
        let mut tmp = std::mem::take(&mut self.tmp);
        tmp.clear();
        if escaped {
            scan::unescape(raw, &mut tmp);
        } else {
            tmp.push_str(raw);
        }
        let (name, domain) = super::identity_parts(&tmp);
        for k in 0..self.derived.len() {
            let (i, is_domain) = self.derived[k];
            if self.slots[i].span.is_some() {
                continue;
            }
            let Some(value) = (if is_domain { domain } else { name }) else {
                continue;
            };
            // Into the scratch buffer: the name lower-case, the domain as written.
            let start = self.scratch.len();
            if is_domain {
                self.scratch.push_str(value);
            } else {
                push_lower(&mut self.scratch, value);
            }
            let t = loc(start, self.scratch.len() - start, true);
            let lowered = self.plans[i].uses.lower.then(|| {
                if is_domain {
                    let start = self.scratch.len();
                    push_lower(&mut self.scratch, value);
                    loc(start, self.scratch.len() - start, true)
                } else {
                    t
                }
            });
            self.filled.push(i as u32);
            self.slots[i] = SlotValue {
                // Where it comes from in the text: the `user` string.
                span: Some(Span {
                    kind: Kind::Str { escaped: false },
                    ..user
                }),
                text: Some(t),
                lowered,
                ..SlotValue::default()
            };
        }
        self.tmp = tmp;
    }

    /// Did the loaded event have one of the marker keys at its top level?
    pub fn marked(&self) -> bool {
        self.markers
            .iter()
            .any(|m| self.key_spans[*m as usize].is_some())
    }

    fn resolve(&self, text: &str, i: usize) -> Option<Span> {
        let plan = &self.plans[i];
        if let Some(s) = plan.exact.and_then(|k| self.key_spans[k as usize]) {
            return Some(s);
        }
        let mut cur = plan.first.and_then(|k| self.key_spans[k as usize])?;
        // Walk the rest of the path: at each level an exact key of the remaining dotted
        // name wins over descending (FieldPath::resolve).
        let mut buf = String::new();
        for level in 1..plan.path.segments.len() {
            if cur.kind != Kind::Object {
                return None;
            }
            let (rest, seg) = (&plan.path.rests[level], &plan.path.segments[level]);
            let (mut whole, mut next) = (None, None);
            scan::members(text, cur, &mut |k, escaped, s| {
                let k = if escaped {
                    buf.clear();
                    scan::unescape(k, &mut buf);
                    buf.as_str()
                } else {
                    k
                };
                if k == rest.as_str() {
                    whole = Some(s);
                }
                if k == seg.as_str() {
                    next = Some(s);
                }
            });
            if whole.is_some() {
                return whole;
            }
            cur = next?;
        }
        None
    }

    fn read(&mut self, text: &str, span: Option<Span>, uses: Uses) -> SlotValue {
        let Some(span) = span else {
            return SlotValue::default();
        };
        let mut v = SlotValue {
            span: Some(span),
            ..SlotValue::default()
        };
        let raw = span.raw(text);
        v.text = match span.kind {
            Kind::Str { escaped: false } => Some(loc(span.start as usize, raw.len(), false)),
            Kind::Str { escaped: true } => {
                let start = self.scratch.len();
                scan::unescape(raw, &mut self.scratch);
                Some(loc(start, self.scratch.len() - start, true))
            }
            Kind::Num => {
                let mut buf = String::new();
                let t = scan::number_text(raw, &mut buf);
                if std::ptr::eq(t, raw) {
                    Some(loc(span.start as usize, raw.len(), false))
                } else {
                    let start = self.scratch.len();
                    self.scratch.push_str(t);
                    Some(loc(start, t.len(), true))
                }
            }
            _ => None,
        };
        if let (Kind::Str { .. }, Some(t), true) = (span.kind, v.text, uses.lower) {
            let s = self.text_at(text, t);
            if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
                v.lowered = Some(t);
            } else {
                // Lower-cased into the scratch buffer (no allocation once it has grown).
                let (start, from) = (self.scratch.len(), t);
                let src = if from.scratch {
                    None
                } else {
                    text.get(from.start as usize..(from.start + from.len) as usize)
                };
                match src {
                    Some(src) => push_lower(&mut self.scratch, src),
                    None => {
                        // The text is in the scratch buffer itself: copy it out first
                        // (into a buffer kept for that).
                        let mut tmp = std::mem::take(&mut self.tmp);
                        tmp.clear();
                        tmp.push_str(self.text_at(text, from));
                        push_lower(&mut self.scratch, &tmp);
                        self.tmp = tmp;
                    }
                }
                v.lowered = Some(loc(start, self.scratch.len() - start, true));
            }
        }
        if let (Kind::Str { .. }, Some(t), true) = (span.kind, v.text, uses.ip) {
            v.ip = parse_ip(self.text_at(text, t));
        }
        if uses.time {
            let scalar = match (span.kind, v.text) {
                (Kind::Str { .. }, Some(t)) => Scalar::Str(self.text_at(text, t)),
                (Kind::Num, Some(t)) => Scalar::Num(self.text_at(text, t)),
                _ => Scalar::Null,
            };
            v.time = scalar.timestamp();
        }
        v
    }

    fn text_at<'a>(&'a self, text: &'a str, l: Loc) -> &'a str {
        let src = if l.scratch {
            self.scratch.as_str()
        } else {
            text
        };
        src.get(l.start as usize..(l.start + l.len) as usize)
            .unwrap_or_default()
    }

    /// The loaded event, for the predicates.
    pub fn fields<'a>(&'a self, text: &'a str) -> Fields<'a> {
        Fields {
            text,
            doc: self.doc,
            projector: self,
        }
    }
}

/// Appends the lower-cased `s` (as `str::to_lowercase`, ASCII without per-char work).
fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase());
    }
}

pub(super) fn loc(start: usize, len: usize, scratch: bool) -> Loc {
    Loc {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        len: u32::try_from(len).unwrap_or(0),
        scratch,
    }
}

/// One loaded event, read through its slots.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    text: &'a str,
    doc: Span,
    projector: &'a Projector,
}

impl<'a> Fields<'a> {
    /// The value of a slot.
    pub fn get(&self, slot: Slot) -> Option<Val<'a>> {
        let v = self.projector.slots.get(slot as usize)?;
        let span = v.span?;
        Some(match span.kind {
            Kind::Array => Val::Array(span),
            Kind::Object => Val::Object(span),
            Kind::Null => Val::Scalar(Scalar::Null),
            Kind::Bool(b) => Val::Scalar(Scalar::Bool(b)),
            Kind::Num => Val::Scalar(Scalar::Num(self.text_of(v.text?))),
            Kind::Str { .. } => Val::Scalar(Scalar::Str(self.text_of(v.text?))),
        })
    }

    fn text_of(&self, l: Loc) -> &'a str {
        self.projector.text_at(self.text, l)
    }

    /// Appends to `out` the field `field` derived from `user` ([`super::DERIVED_FROM_USER`])
    /// for an event that does not carry it, as [`super::derived_from_user`] gives it;
    /// false, with `out` as it was, when there is none. Built in place: no allocation.
    pub fn push_derived_from_user(&self, field: &str, out: &mut String) -> bool {
        let is_domain = match field {
            "user_name" => false,
            "user_domain" => true,
            _ => return false,
        };
        let p = self.projector;
        let Some(span) = p.user_key.and_then(|k| p.key_spans[k as usize]) else {
            return false;
        };
        let Kind::Str { escaped } = span.kind else {
            return false;
        };
        let slot = p.user_slot.and_then(|i| p.slots[i].text);
        if let Some(user) = slot.map(|l| p.text_at(self.text, l)) {
            let (name, domain) = super::identity_parts(user);
            return match (is_domain, name, domain) {
                (true, _, Some(d)) => {
                    out.push_str(d);
                    true
                }
                (false, Some(n), _) => {
                    push_lower(out, n);
                    true
                }
                _ => false,
            };
        }
        let start = out.len();
        let raw = span.raw(self.text);
        if escaped {
            scan::unescape(raw, out);
        } else {
            out.push_str(raw);
        }
        let user = &out[start..];
        let (name, domain) = super::identity_parts(user);
        let Some(part) = (if is_domain { domain } else { name }) else {
            out.truncate(start);
            return false;
        };
        // The part is a slice of what was just written: keep only it.
        let (from, len, ascii) = (
            part.as_ptr() as usize - out.as_ptr() as usize,
            part.len(),
            part.is_ascii(),
        );
        if !is_domain && !ascii {
            let lowered = part.to_lowercase();
            out.truncate(start);
            out.push_str(&lowered);
            return true;
        }
        out.truncate(from + len);
        out.replace_range(start..from, "");
        if !is_domain {
            out[start..].make_ascii_lowercase();
        }
        true
    }

    /// The lower-cased text of a slot holding a string.
    pub fn lowered(&self, slot: Slot) -> Option<&'a str> {
        let l = self.projector.slots.get(slot as usize)?.lowered?;
        Some(self.text_of(l))
    }

    /// The slot's value read as a time (for slots that use it).
    pub fn timestamp(&self, slot: Slot) -> Option<Timestamp> {
        self.projector.slots.get(slot as usize)?.time
    }

    /// The slot's string read as an IP address (for slots that use it).
    pub fn ip(&self, slot: Slot) -> Option<IpBits> {
        self.projector.slots.get(slot as usize)?.ip
    }

    /// Calls `f` on each scalar of a value: the value itself, or each element of an array
    /// (recursively), stopping when `f` returns true.
    pub fn any_scalar(&self, v: Val<'a>, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> bool {
        match v {
            Val::Scalar(Scalar::Null) | Val::Object(_) => false,
            Val::Scalar(s) => f(s),
            Val::Array(span) => self.any_element(span, f),
        }
    }

    fn any_element(&self, arr: Span, f: &mut dyn FnMut(Scalar<'_>) -> bool) -> bool {
        let mut items = Vec::new();
        scan::elements(self.text, arr, &mut |s| items.push(s));
        let mut buf = String::new();
        let mut num = String::new();
        items.into_iter().any(|s| {
            let raw = s.raw(self.text);
            match s.kind {
                Kind::Array => self.any_element(s, f),
                Kind::Null | Kind::Object => false,
                Kind::Bool(b) => f(Scalar::Bool(b)),
                Kind::Num => f(Scalar::Num(scan::number_text(raw, &mut num))),
                Kind::Str { escaped: false } => f(Scalar::Str(raw)),
                Kind::Str { escaped: true } => {
                    buf.clear();
                    scan::unescape(raw, &mut buf);
                    f(Scalar::Str(&buf))
                }
            }
        })
    }

    /// Calls `f` on the text of every string and number in the event (keyword search),
    /// stopping when it returns true.
    pub fn any_text(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        // The event's texts are found once (a walk of the line only if a callback searches
        // again from inside).
        let Ok(mut texts) = self.projector.texts.try_borrow_mut() else {
            return scan::any_text(self.text, self.doc, &mut String::new(), f);
        };
        texts.fill(self.text, self.doc);
        texts.any(self.text, f)
    }

    /// `f` of the event's texts joined by [`JOIN`](super::JOIN), when they are all ASCII
    /// (for lists of `contains` patterns: one automaton pass over all of them); `None`
    /// otherwise.
    pub fn with_joined_texts(&self, f: &mut dyn FnMut(&str) -> bool) -> Option<bool> {
        let mut texts = self.projector.texts.try_borrow_mut().ok()?;
        texts.fill(self.text, self.doc);
        texts.joined(self.text).map(f)
    }

    /// `f` of the whole line lower-cased, when every text of the event is in it as JSON
    /// writes it in a string (only `\\`, `\"` and control characters escaped; see
    /// [`crate::compile::matcher::StrMatcher::raw_line_filter`]); `None` otherwise.
    pub fn with_lowered_line(&self, f: &mut dyn FnMut(&[u8]) -> bool) -> Option<bool> {
        if self.doc.kind != Kind::Object {
            return None;
        }
        let mut texts = self.projector.texts.try_borrow_mut().ok()?;
        texts.lowered_line(self.text).map(f)
    }

    /// The raw JSON text of a value (objects, arrays).
    pub fn raw(&self, span: Span) -> &'a str {
        span.raw(self.text)
    }

    /// The length of the event's text: what copies of its values add up to, about.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

/// A projected value as a `serde_json::Value` (for correlations, which keep values).
pub fn to_value(fields: &Fields<'_>, v: Val<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Val::Scalar(Scalar::Null) => Value::Null,
        Val::Scalar(Scalar::Bool(b)) => Value::Bool(b),
        Val::Scalar(Scalar::Str(s)) => Value::String(s.to_string()),
        Val::Scalar(Scalar::Num(t)) => serde_json::from_str(t).unwrap_or(Value::Null),
        Val::Array(span) | Val::Object(span) => {
            serde_json::from_str(fields.raw(span)).unwrap_or(Value::Null)
        }
    }
}

/// Loads an event's text into a projector; invalid JSON and non-objects are errors.
pub(crate) fn load_into(projector: &mut Projector, text: &str) -> Result<(), super::EventError> {
    match projector.load(text) {
        Ok(doc) if doc.kind == Kind::Object => Ok(()),
        Ok(doc) => Err(super::EventError::NotObject(match doc.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Num => "a number",
            Kind::Str { .. } => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        })),
        Err(_) => Err(super::lines::parse_json(text.as_bytes()).err().unwrap_or(
            super::EventError::Json {
                column: 1,
                message: "invalid JSON".into(),
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{FieldTable, Projector, derived_from_user};

    /// `push_derived_from_user` appends what `derived_from_user` gives for the `user` the
    /// event holds, and leaves the buffer as it was when there is nothing.
    fn agrees(user: &str) {
        agrees_with(user, false);
        agrees_with(user, true);
    }

    /// [`agrees`], with the rule set reading `user` itself or not.
    fn agrees_with(user: &str, reads_user: bool) {
        let mut table = FieldTable::default();
        table.intern("user_name");
        table.intern("user_domain");
        if reads_user {
            table.intern("user");
        }
        let mut p = Projector::new(&table, &[], &[]);
        let text = serde_json::json!({ "user": user }).to_string();
        assert!(p.load(&text).is_ok());
        let f = p.fields(&text);
        for field in ["user_name", "user_domain", "user"] {
            let mut out = String::from("before|");
            let pushed = f.push_derived_from_user(field, &mut out);
            let want = derived_from_user(field, user);
            assert_eq!(pushed, want.is_some(), "{user:?} {field}");
            assert_eq!(out, format!("before|{}", want.unwrap_or_default()), "{user:?} {field}");
        }
    }

    #[test]
    fn derived_user_fields_are_built_in_place_as_derived_from_user_gives_them() {
        for user in [
            "CORP\\Alice",
            "alice@Corp.Example",
            " Bob ",
            "",
            "\\",
            "DOM\\",
            "@",
            "ÉVA@x",
            "DOM\\ÉVA\u{212a}",
            "a\"b\\c@d",
            "x\u{1}y",
        ] {
            agrees(user);
        }
    }

    /// Every reading of every slot, as text.
    fn readings(p: &Projector, table: &FieldTable, text: &str) -> Vec<String> {
        let f = p.fields(text);
        (0..table.len() as u32)
            .map(|slot| {
                format!(
                    "{:?} {:?} {:?} {:?}",
                    f.get(slot),
                    f.lowered(slot),
                    f.timestamp(slot),
                    f.ip(slot)
                )
            })
            .collect()
    }

    proptest::proptest! {
        /// A projector reused from event to event reads each one as a fresh one does: the
        /// slots an earlier event filled and its keys do not linger (also after a line that
        /// is not JSON).
        #[test]
        fn a_reused_projector_reads_each_event_as_a_fresh_one(
            events in proptest::collection::vec(
                proptest::collection::vec((0usize..6, "[a-zA-Z0-9.:]{0,6}"), 0..6),
                1..6,
            ),
            broken in 0usize..6,
        ) {
            let keys = ["a", "x", "x.y", "ts", "ip", "user"];
            let mut table = FieldTable::default();
            for name in ["a", "x.y", "x.y.z", "ts", "ip", "user_name", "user_domain", "user"] {
                table.intern(name);
            }
            let uses = vec![
                super::Uses { ip: true, time: true, lower: true, read: true };
                table.len()
            ];
            let mut reused = Projector::new(&table, &uses, &[]);
            for (n, members) in events.iter().enumerate() {
                let mut obj = serde_json::Map::new();
                for (k, v) in members {
                    let value = if keys[*k] == "x" {
                        serde_json::json!({ "y": v, "y.z": v })
                    } else {
                        serde_json::json!(v)
                    };
                    obj.insert(keys[*k].to_string(), value);
                }
                let text = serde_json::Value::Object(obj).to_string();
                if n == broken {
                    let cut = &text[..text.len() - 1];
                    proptest::prop_assert!(reused.load(cut).is_err());
                }
                let mut fresh = Projector::new(&table, &uses, &[]);
                proptest::prop_assert!(reused.load(&text).is_ok());
                proptest::prop_assert!(fresh.load(&text).is_ok());
                proptest::prop_assert_eq!(
                    readings(&reused, &table, &text),
                    readings(&fresh, &table, &text)
                );
            }
        }

        #[test]
        fn derived_user_fields_agree_for_any_user(user in "[a-zA-Z\\\\@ é\"]{0,10}") {
            agrees(&user);
        }
    }
}
