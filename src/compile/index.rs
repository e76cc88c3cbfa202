//! The rule index: each rule is filed under an *anchor*, a set of cheap facts one of which
//! any event matching the rule must have, so that an event visits only the rules whose
//! anchor it meets.
//!
//! Facts ("atoms") are tested once per event for all rules together, per field:
//! - an exact value (`action: rdp`, `EventID: 4624`): a hash lookup of the event's
//!   lower-cased text, or of its integer value, so that `4624`, `'4624'` and `" 4624 "`
//!   reach the same rules as the matchers would accept them;
//! - a pair of exact values on two fields (`action: remote` with `dest_port: 445`);
//! - a literal prefix, suffix or substring (`user|endswith: '\admin'`): one Aho-Corasick
//!   automaton per field over every rule's literals, run on the lower-cased text; a
//!   regex gives the ASCII literals its matches start or end with (`regex_literals`), as
//!   substrings;
//! - a network (`src_ip|cidr: 10.0.0.0/8`): a hash lookup per prefix length.
//!
//! A rule's anchor comes from its condition: a predicate gives the facts its tests need; an
//! `and` may use any one child (or a pair of exact children); an `or` needs one from every
//! child; `not` gives none. Among the possible anchors the index picks the one shared by the
//! fewest rules (weighted by how selective the kind of fact is). Rules without an anchor are
//! visited by every event. Every fact is a necessary condition, so the index never hides a
//! match; the rules it selects are then evaluated in full.

use super::RuleSet;
use super::plan::{Node, NodeId, Plan, Test};
use crate::event::{Fields, Scalar, Slot, Val, lower, parse_decimal};
use crate::net::{Network, mask};
use crate::rule::Position;
use aho_corasick::AhoCorasick;
use std::fmt::Write as _;

/// Most exact keys a pair anchor may expand to.
const MAX_PAIR_KEYS: usize = 16;

/// One fact about one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Atom {
    /// The value's key (see [`int_key`]) is this.
    Key(String),
    /// The lower-cased text has this literal at this position.
    Lit(PosKey, String),
    /// The address is in this network (prefix, IPv4, masked address).
    Net(u8, bool, u128),
    /// This field's key and another field's key are these.
    Pair(Slot, String, String),
}

/// `Position`, orderable and hashable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PosKey {
    Start,
    End,
    Contains,
}

type Anchor = Vec<(Slot, Atom)>;

/// Rules by key text.
type KeyMap = ahash::AHashMap<Box<str>, Vec<u32>>;

/// The literals of one field: (position, literal, rule).
type SlotLiterals = (Slot, Vec<(PosKey, String, u32)>);

/// The key of an integral number: kept apart from text keys by a leading NUL.
fn int_key(n: i64, out: &mut String) {
    let _ = write!(out, "\0{n}");
}

fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// The atoms one field's structures answer.
#[derive(Debug, Clone, Default)]
struct SlotIndex {
    slot: Slot,
    keys: KeyMap,
    lits: Vec<(PosKey, Vec<u32>)>,
    automaton: Option<AhoCorasick>,
    nets: Vec<(u8, bool, ahash::AHashMap<u128, Vec<u32>>)>,
    pairs: Vec<(Slot, KeyMap)>,
}

/// Rules by anchor, plus the rules every event visits.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    slots: Vec<SlotIndex>,
    /// Rules visited for every event (ascending).
    always: Vec<u32>,
    /// Per rule, its anchor in words (for `explain`).
    described: Vec<String>,
}

/// Per-event working memory of the index (reused; no allocation once grown).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    text: String,
    keys: Vec<(u32, u32)>,
    other_text: String,
    other: Vec<(u32, u32)>,
    pair: String,
}

impl SlotIndex {
    /// Rules anchored on a pair of exact values: this slot's (in `scratch.keys`) and
    /// another field's.
    fn pair_hits(&self, fields: &Fields<'_>, scratch: &mut Scratch, out: &mut Vec<u32>) {
        for (other, map) in &self.pairs {
            let Some(w) = fields.get(*other) else {
                continue;
            };
            keys_of(
                fields,
                *other,
                w,
                &mut scratch.other_text,
                &mut scratch.other,
            );
            for &(a, b) in &scratch.keys {
                for &(c, d) in &scratch.other {
                    scratch.pair.clear();
                    scratch.pair.push_str(&scratch.text[a as usize..b as usize]);
                    scratch.pair.push('\u{1}');
                    scratch
                        .pair
                        .push_str(&scratch.other_text[c as usize..d as usize]);
                    if let Some(rules) = map.get(scratch.pair.as_str()) {
                        out.extend_from_slice(rules);
                    }
                }
            }
        }
    }

    /// Rules anchored on a literal the field's (lower-cased) text starts with, ends with
    /// or contains, found in one Aho-Corasick pass.
    fn literal_hits(&self, ac: &AhoCorasick, fields: &Fields<'_>, v: Val<'_>, out: &mut Vec<u32>) {
        let mut scan = |text: &str| {
            for m in ac.find_overlapping_iter(text) {
                let (pos, rules) = &self.lits[m.pattern().as_usize()];
                let hit = match pos {
                    PosKey::Start => m.start() == 0,
                    PosKey::End => m.end() == text.len(),
                    PosKey::Contains => true,
                };
                if hit {
                    out.extend_from_slice(rules);
                }
            }
        };
        match v {
            Val::Scalar(Scalar::Str(_)) => {
                if let Some(low) = fields.lowered(self.slot) {
                    scan(low);
                }
            }
            v => {
                fields.any_scalar(v, &mut |x| {
                    if let Some(t) = x.text() {
                        scan(&lower(t));
                    }
                    false
                });
            }
        }
    }

    /// Rules anchored on a network the field's address lies in.
    fn network_hits(&self, fields: &Fields<'_>, v: Val<'_>, out: &mut Vec<u32>) {
        let mut probe = |ip: crate::net::IpBits| {
            for (prefix, v4, map) in &self.nets {
                if *v4 == ip.1 {
                    let width = if ip.1 { 32 } else { 128 };
                    if let Some(rules) = map.get(&mask(ip.0, *prefix, width)) {
                        out.extend_from_slice(rules);
                    }
                }
            }
        };
        match v {
            Val::Scalar(Scalar::Str(_)) => {
                if let Some(ip) = fields.ip(self.slot) {
                    probe(ip);
                }
            }
            v => {
                fields.any_scalar(v, &mut |x| {
                    if let Scalar::Str(t) = x {
                        if let Some(ip) = crate::net::parse_ip(t) {
                            probe(ip);
                        }
                    }
                    false
                });
            }
        }
    }
}

impl RuleIndex {
    /// Builds the index; with `enabled = false` every rule is always visited.
    pub fn build(set: &RuleSet, enabled: bool) -> RuleIndex {
        let mut idx = RuleIndex::default();
        let anchors = |score: &dyn Fn(&Anchor) -> u64| -> Vec<Vec<Anchor>> {
            set.rules
                .iter()
                .map(|r| {
                    if enabled {
                        alternatives(&set.plan, r.root, score)
                    } else {
                        Vec::new()
                    }
                })
                .collect()
        };
        // How many rules could be filed under each atom: the popular ones select little.
        // A first pass (kinds of facts only) finds the candidates; the second chooses
        // knowing how many rules share each fact.
        let first = anchors(&|a: &Anchor| a.iter().map(|x| weight(&x.1)).sum());
        let mut freq: ahash::AHashMap<(Slot, Atom), u32> = ahash::AHashMap::new();
        for alts in &first {
            let mut seen: Vec<&(Slot, Atom)> = alts.iter().flatten().collect();
            seen.sort();
            seen.dedup();
            for a in seen {
                *freq.entry(a.clone()).or_default() += 1;
            }
        }
        let score = |anchor: &Anchor| -> u64 {
            anchor
                .iter()
                .map(|a| u64::from(freq.get(a).copied().unwrap_or(1)) * weight(&a.1))
                .sum()
        };
        let options = anchors(&score);
        let chosen: Vec<Option<&Anchor>> = options
            .iter()
            .map(|alts| alts.iter().min_by_key(|a| score(a)))
            .collect();
        for (i, anchor) in chosen.iter().enumerate() {
            let rule = u32::try_from(i).unwrap_or(u32::MAX);
            match anchor {
                Some(anchor) => {
                    idx.described.push(describe(anchor, set));
                    for (slot, atom) in *anchor {
                        idx.file(*slot, atom, rule);
                    }
                }
                None => {
                    idx.described.push("none: visited by every event".into());
                    idx.always.push(rule);
                }
            }
        }
        idx.build_automata(&chosen);
        idx
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut SlotIndex {
        let pos = match self.slots.iter().position(|s| s.slot == slot) {
            Some(p) => p,
            None => {
                self.slots.push(SlotIndex {
                    slot,
                    ..SlotIndex::default()
                });
                self.slots.len() - 1
            }
        };
        &mut self.slots[pos]
    }

    fn file(&mut self, slot: Slot, atom: &Atom, rule: u32) {
        let s = self.slot_mut(slot);
        let push = |list: &mut Vec<u32>| {
            if list.last() != Some(&rule) {
                list.push(rule);
            }
        };
        match atom {
            Atom::Key(k) => push(s.keys.entry(k.as_str().into()).or_default()),
            Atom::Lit(..) => {} // filed when the automata are built
            Atom::Net(prefix, v4, addr) => {
                let pos = match s.nets.iter().position(|n| n.0 == *prefix && n.1 == *v4) {
                    Some(p) => p,
                    None => {
                        s.nets.push((*prefix, *v4, Default::default()));
                        s.nets.len() - 1
                    }
                };
                push(s.nets[pos].2.entry(*addr).or_default());
            }
            Atom::Pair(other, a, b) => {
                let pos = match s.pairs.iter().position(|p| p.0 == *other) {
                    Some(p) => p,
                    None => {
                        s.pairs.push((*other, Default::default()));
                        s.pairs.len() - 1
                    }
                };
                let key = format!("{a}\u{1}{b}");
                push(s.pairs[pos].1.entry(key.into()).or_default());
            }
        }
    }

    /// One automaton per field over the literals of the chosen anchors.
    fn build_automata(&mut self, chosen: &[Option<&Anchor>]) {
        let mut per_slot: Vec<SlotLiterals> = Vec::new();
        for (i, anchor) in chosen.iter().enumerate() {
            let rule = u32::try_from(i).unwrap_or(u32::MAX);
            for (slot, atom) in anchor.iter().flat_map(|a| a.iter()) {
                if let Atom::Lit(pos, lit) = atom {
                    let entry = match per_slot.iter().position(|(s, _)| s == slot) {
                        Some(p) => p,
                        None => {
                            per_slot.push((*slot, Vec::new()));
                            per_slot.len() - 1
                        }
                    };
                    per_slot[entry].1.push((*pos, lit.clone(), rule));
                }
            }
        }
        for (slot, mut lits) in per_slot {
            lits.sort();
            let mut patterns: Vec<(PosKey, String, Vec<u32>)> = Vec::new();
            for (pos, lit, rule) in lits {
                match patterns.last_mut() {
                    Some((p, l, rules)) if *p == pos && *l == lit => {
                        if rules.last() != Some(&rule) {
                            rules.push(rule);
                        }
                    }
                    _ => patterns.push((pos, lit, vec![rule])),
                }
            }
            let lits: Vec<&[u8]> = patterns.iter().map(|(_, l, _)| l.as_bytes()).collect();
            let automaton = super::matcher::automaton_builder(&lits)
                .match_kind(aho_corasick::MatchKind::Standard)
                .prefilter(false)
                .build(&lits);
            match automaton {
                Ok(a) => {
                    let s = self.slot_mut(slot);
                    s.automaton = Some(a);
                    s.lits = patterns.into_iter().map(|(p, _, r)| (p, r)).collect();
                }
                Err(_) => {
                    // Too large an automaton: these rules are visited by every event.
                    for (_, _, rules) in patterns {
                        self.always.extend(rules);
                    }
                    self.always.sort_unstable();
                    self.always.dedup();
                }
            }
        }
    }

    /// The rules an event must visit, ascending, into `out` (no allocation once `out` and
    /// `scratch` have grown).
    pub fn candidates(&self, fields: &Fields<'_>, out: &mut Vec<u32>, scratch: &mut Scratch) {
        out.clear();
        out.extend_from_slice(&self.always);
        for s in &self.slots {
            let Some(v) = fields.get(s.slot) else {
                continue;
            };
            keys_of(fields, s.slot, v, &mut scratch.text, &mut scratch.keys);
            for &(a, b) in &scratch.keys {
                if let Some(rules) = s.keys.get(&scratch.text[a as usize..b as usize]) {
                    out.extend_from_slice(rules);
                }
            }
            s.pair_hits(fields, scratch, out);
            if let Some(ac) = &s.automaton {
                s.literal_hits(ac, fields, v, out);
            }
            if !s.nets.is_empty() {
                s.network_hits(fields, v, out);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// A rule's anchor, for `explain`.
    pub fn describe(&self, rule: u32, _fields: &crate::event::FieldTable) -> String {
        self.described
            .get(rule as usize)
            .cloned()
            .unwrap_or_else(|| "none: visited by every event".into())
    }
}

/// The keys of an event value (into `text`, as ranges): its lower-cased text, and its
/// integer value when it has one; for arrays, those of every element.
fn keys_of(
    fields: &Fields<'_>,
    slot: Slot,
    v: Val<'_>,
    text: &mut String,
    out: &mut Vec<(u32, u32)>,
) {
    text.clear();
    out.clear();
    let mut push = |text: &mut String, f: &dyn Fn(&mut String)| {
        let a = text.len();
        f(text);
        out.push((
            u32::try_from(a).unwrap_or(0),
            u32::try_from(text.len()).unwrap_or(0),
        ));
    };
    match v {
        Val::Scalar(Scalar::Str(s)) => {
            if let Some(low) = fields.lowered(slot) {
                push(text, &|t| t.push_str(low));
            }
            if let Some(n) = parse_decimal(s).and_then(integral) {
                push(text, &|t| int_key(n, t));
            }
        }
        v => {
            let mut items: Vec<(String, Option<i64>)> = Vec::new();
            let mut one = |x: Scalar<'_>| {
                match x {
                    Scalar::Str(s) => {
                        items.push((lower(s).into_owned(), parse_decimal(s).and_then(integral)))
                    }
                    Scalar::Num(t) => {
                        items.push((t.to_string(), t.parse().ok().and_then(integral)))
                    }
                    Scalar::Bool(b) => items.push((b.to_string(), None)),
                    Scalar::Null => {}
                }
                false
            };
            if let Val::Scalar(x) = v {
                // Numbers and booleans: no allocation for the common integer case.
                if let Scalar::Num(t) = x {
                    push(text, &|s| s.push_str(t));
                    if crate::event::scan::is_plain_number(t) {
                        // A plain integer is written as `int_key` would write it.
                        push(text, &|s| {
                            s.push('\0');
                            s.push_str(t);
                        });
                    } else if let Some(n) = t.parse().ok().and_then(integral) {
                        push(text, &|s| int_key(n, s));
                    }
                    return;
                }
                one(x);
            } else {
                fields.any_scalar(v, &mut one);
            }
            for (t, n) in items {
                push(text, &|s| s.push_str(&t));
                if let Some(n) = n {
                    push(text, &|s| int_key(n, s));
                }
            }
        }
    }
}

/// How selective a kind of fact is (lower is better), times how many rules share it.
fn weight(a: &Atom) -> u64 {
    match a {
        Atom::Key(_) | Atom::Pair(..) => 1,
        Atom::Lit(PosKey::Contains, l) if l.len() < 4 => 8,
        Atom::Lit(PosKey::Contains, _) => 3,
        Atom::Lit(_, l) if l.len() < 3 => 6,
        Atom::Lit(..) => 2,
        Atom::Net(prefix, v4, _) if (*v4 && *prefix < 8) || (!*v4 && *prefix < 16) => 16,
        Atom::Net(..) => 2,
    }
}

/// The exact keys of a matcher value test, as the index stores them.
fn exact_keys(t: &Test) -> Option<Vec<String>> {
    match t {
        Test::Str(m) => m
            .exact_only()
            .map(|keys| keys.map(|s| s.to_lowercase()).collect()),
        Test::Num(n) => {
            let mut k = String::new();
            int_key(integral(*n)?, &mut k);
            Some(vec![k])
        }
        Test::Bool(b) => Some(vec![b.to_string()]),
        _ => None,
    }
}

/// The facts of one test, one of which any value it accepts has.
fn atoms_of(slot: Slot, t: &Test) -> Option<Vec<(Slot, Atom)>> {
    if let Some(keys) = exact_keys(t) {
        return Some(keys.into_iter().map(|k| (slot, Atom::Key(k))).collect());
    }
    match t {
        Test::Str(m) => Some(
            m.literals()?
                .into_iter()
                .map(|(pos, lit)| {
                    let atom = match pos {
                        Position::Whole => Atom::Key(lit),
                        Position::Start => Atom::Lit(PosKey::Start, lit),
                        Position::End => Atom::Lit(PosKey::End, lit),
                        Position::Contains => Atom::Lit(PosKey::Contains, lit),
                    };
                    (slot, atom)
                })
                .collect(),
        ),
        Test::Cidr(Network { addr, prefix, v4 }) => {
            Some(vec![(slot, Atom::Net(*prefix, *v4, *addr))])
        }
        // A match of the regex starts (or ends) with one of its literals, wherever it is.
        Test::Regex(re) => Some(
            super::regex_literals::index_literals(re.regex.as_str(), re.flags)?
                .into_iter()
                .map(|lit| (slot, Atom::Lit(PosKey::Contains, lit)))
                .collect(),
        ),
        _ => None,
    }
}

/// A predicate's anchor: the facts of all its tests (one of them holds when it holds).
fn pred_anchor(plan: &Plan, node: NodeId) -> Option<Anchor> {
    let Node::Pred(p) = plan.node(node) else {
        return None;
    };
    let slot = p.slot?;
    if p.neq || p.tests.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for t in &p.tests {
        out.extend(atoms_of(slot, t)?);
    }
    Some(out)
}

/// The exact keys a predicate requires on its field, if it is a plain value match.
fn exact_pred(plan: &Plan, node: NodeId) -> Option<(Slot, Vec<String>)> {
    let Node::Pred(p) = plan.node(node) else {
        return None;
    };
    let slot = p.slot?;
    if p.neq || p.tests.is_empty() {
        return None;
    }
    let mut keys = Vec::new();
    for t in &p.tests {
        keys.extend(exact_keys(t)?);
    }
    Some((slot, keys))
}

/// Every anchor the node offers; empty when it offers none. `score` ranks the anchors of
/// the branches of an `or` (lower is better).
fn alternatives(plan: &Plan, node: NodeId, score: &dyn Fn(&Anchor) -> u64) -> Vec<Anchor> {
    match plan.node(node) {
        Node::Pred(_) => pred_anchor(plan, node).into_iter().collect(),
        Node::And(kids) => {
            let mut alts: Vec<Anchor> = kids
                .iter()
                .flat_map(|k| alternatives(plan, *k, score))
                .collect();
            // Pairs of exact values on two fields select far fewer rules than either. One
            // candidate per field (the fewest values) keeps this quadratic in the number of
            // fields, not of terms (`sel and sel and …` has 100,000 terms on one field).
            let mut exact: Vec<(Slot, Vec<String>)> = Vec::new();
            for (slot, keys) in kids.iter().filter_map(|k| exact_pred(plan, *k)) {
                match exact.iter_mut().find(|(s, _)| *s == slot) {
                    Some(e) if keys.len() < e.1.len() => e.1 = keys,
                    Some(_) => {}
                    None => exact.push((slot, keys)),
                }
            }
            for (i, (sa, ka)) in exact.iter().enumerate() {
                for (sb, kb) in &exact[i + 1..] {
                    if sa == sb || ka.len() * kb.len() > MAX_PAIR_KEYS {
                        continue;
                    }
                    let (first, second, k1, k2) = if sa < sb {
                        (*sa, *sb, ka, kb)
                    } else {
                        (*sb, *sa, kb, ka)
                    };
                    let mut anchor = Vec::new();
                    for a in k1 {
                        for b in k2 {
                            anchor.push((first, Atom::Pair(second, a.clone(), b.clone())));
                        }
                    }
                    alts.push(anchor);
                }
            }
            alts
        }
        Node::Or(kids) => {
            // One anchor from every branch; the smallest of each.
            let mut union = Vec::new();
            for k in kids {
                let Some(best) = alternatives(plan, *k, score)
                    .into_iter()
                    .min_by_key(|a| score(a))
                else {
                    return Vec::new();
                };
                union.extend(best);
            }
            union.sort();
            union.dedup();
            vec![union]
        }
        Node::Not(_) => Vec::new(),
    }
}

/// A key as written in `explain`: integers bare, text quoted.
fn key_words(k: &str) -> String {
    match k.strip_prefix('\0') {
        Some(n) => n.to_string(),
        None => format!("{k:?}"),
    }
}

fn anchor_words(anchor: &Anchor) -> String {
    let mut parts: Vec<String> = anchor
        .iter()
        .map(|(slot, atom)| match atom {
            Atom::Key(k) => format!("#{slot} = {}", key_words(k)),
            Atom::Lit(PosKey::Start, l) => format!("#{slot} starts with {l:?}"),
            Atom::Lit(PosKey::End, l) => format!("#{slot} ends with {l:?}"),
            Atom::Lit(PosKey::Contains, l) => format!("#{slot} contains {l:?}"),
            Atom::Net(p, _, a) => format!("#{slot} in {a:x}/{p}"),
            Atom::Pair(other, a, b) => {
                format!("(#{slot}, #{other}) = ({}, {})", key_words(a), key_words(b))
            }
        })
        .collect();
    parts.sort();
    parts.join(" or ")
}

/// An anchor in words with field names.
fn describe(anchor: &Anchor, set: &RuleSet) -> String {
    let mut words = anchor_words(anchor);
    let mut slots: Vec<Slot> = anchor
        .iter()
        .flat_map(|(s, a)| match a {
            Atom::Pair(o, ..) => vec![*s, *o],
            _ => vec![*s],
        })
        .collect();
    slots.sort_unstable();
    slots.dedup();
    for s in slots.into_iter().rev() {
        words = words.replace(&format!("#{s}"), &set.fields.path(s).name);
    }
    words
}
