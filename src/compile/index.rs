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
//! - a network (`src_ip|cidr: 10.0.0.0/8`): a hash lookup per prefix length;
//! - a keyword in the line (`keywords: [DC0]`): one search of the lower-cased event line
//!   for every keyword rule's patterns as JSON writes them, when the line holds every text
//!   of the event as written (the keyword predicate's own filter, see
//!   `StrMatcher::raw_line_filter`); a line that does not visits every keyword rule.
//!
//! A rule's anchor is a set of *conjunctions* of facts, one of which holds for every event
//! the rule matches. It comes from the condition: a predicate gives the facts its tests
//! need (each alone); an `and` may use any one child, a pair of exact children, or the
//! product of its most selective children's anchors (`action: failed` and `hostname|
//! startswith: WS00` visit only failed logons on those hosts); an `or` needs one from every
//! child; `not` gives none. Among the possible anchors the index picks the one shared by
//! the fewest rules (weighted by how selective the kind of fact is; a conjunction is
//! scored as far more selective than its best fact). Rules without an anchor are visited
//! by every event. Every conjunction is a necessary condition, so the index never hides a
//! match; the rules it selects are then evaluated in full.
//!
//! A conjunction is filed under its most selective fact alone (as a *conjunction* target
//! instead of a rule); each of its other facts is filed once, however many conjunctions
//! need it, as a *fact* target that marks it found for this event. Once all of an event's
//! targets are gathered, a conjunction found makes its rule a candidate when its other
//! facts are marked: the frequent facts (`action: login`) cost a mark per event, not a
//! step per rule that needs them.

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
    /// The lower-cased event line holds this pattern (as JSON writes it), or cannot be
    /// searched raw. Filed under [`LINE`].
    Line(String),
}

/// The slot that [`Atom::Line`] facts are filed under (no field: the whole line).
const LINE: Slot = Slot::MAX;

/// `Position`, orderable and hashable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PosKey {
    Start,
    End,
    Contains,
}

/// Facts that must all hold (at most [`MAX_CONJ`]), sorted.
type Conj = Vec<(Slot, Atom)>;

/// Conjunctions one of which holds for every event a rule matches.
type Anchor = Vec<Conj>;

/// Most facts in one conjunction.
const MAX_CONJ: usize = 3;

/// Most conjunctions the product of two anchors may have.
const MAX_PRODUCT: usize = 16;

/// Children of an `and` whose anchors are multiplied (the most selective first).
const PRODUCT_CHILDREN: usize = 4;

/// The score per conjunction (see [`anchor_score`]) from which an `and`'s best child is
/// worth multiplying: an exact value two rules share. A fact no other rule shares visits few
/// rules; a product adds the cost of its other facts to every event that has them.
const SHARED: u64 = 16 * 2;

/// A target with this bit is a conjunction ([`RuleIndex::conjs`]), with [`FACT`] a fact
/// some conjunction needs; with neither, a rule.
const CONJ: u32 = 1 << 31;

/// See [`CONJ`].
const FACT: u32 = 1 << 30;

/// The bits of a target that say what it is.
const KIND: u32 = CONJ | FACT;

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
    /// Per conjunction target (`CONJ | i`): its rule and its other facts (`FACT | j` ids).
    conjs: Vec<(u32, Vec<u32>)>,
    /// Facts filed as fact targets, by id.
    facts: Vec<(Slot, Atom)>,
    /// Keyword patterns searched in the line, with the targets of each.
    line: Option<LineIndex>,
}

/// The line facts: a search for each pattern in the lower-cased line.
#[derive(Debug, Clone)]
struct LineIndex {
    search: super::matcher::RawLineFilter,
    /// Per pattern, its targets.
    targets: Vec<Vec<u32>>,
    /// Every target, for a line that cannot be searched raw.
    all: Vec<u32>,
}

impl LineIndex {
    fn build(patterns: &mut Vec<(String, u32)>) -> Option<LineIndex> {
        patterns.sort();
        patterns.dedup();
        let mut texts: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<u32>> = Vec::new();
        for (p, t) in patterns.iter() {
            if texts.last() != Some(p) {
                texts.push(p.clone());
                targets.push(Vec::new());
            }
            if let Some(list) = targets.last_mut() {
                list.push(*t);
            }
        }
        let search = super::matcher::RawLineFilter::over(&texts).ok()?;
        let mut all: Vec<u32> = targets.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        Some(LineIndex {
            search,
            targets,
            all,
        })
    }

    /// The targets of the patterns `line` (lower-cased) holds, into `out`.
    fn hits(&self, line: &[u8], out: &mut Vec<u32>) {
        self.search.each_match(line, &mut |i| {
            if let Some(targets) = self.targets.get(i) {
                out.extend_from_slice(targets);
            }
        });
    }
}

/// Per-event working memory of the index (reused; no allocation once grown).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    text: String,
    keys: Vec<(u32, u32)>,
    other_text: String,
    other: Vec<(u32, u32)>,
    pair: String,
    /// Per fact target: the last event (epoch) it was found for.
    marks: Vec<u32>,
    epoch: u32,
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
        let first = anchors(&|a: &Anchor| anchor_score(a, &|x| weight(&x.1)));
        let mut freq: ahash::AHashMap<(Slot, Atom), u32> = ahash::AHashMap::new();
        for alts in &first {
            let mut seen: Vec<&(Slot, Atom)> = alts.iter().flatten().flatten().collect();
            seen.sort();
            seen.dedup();
            for a in seen {
                *freq.entry(a.clone()).or_default() += 1;
            }
        }
        let score = |anchor: &Anchor| -> u64 {
            anchor_score(anchor, &|a| {
                u64::from(freq.get(a).copied().unwrap_or(1)) * weight(&a.1)
            })
        };
        let options = anchors(&score);
        let mut lits: Vec<(Slot, PosKey, String, u32)> = Vec::new();
        let mut line: Vec<(String, u32)> = Vec::new();
        let mut fact_ids: ahash::AHashMap<(Slot, Atom), u32> = ahash::AHashMap::new();
        let fact_score =
            |x: &(Slot, Atom)| u64::from(freq.get(x).copied().unwrap_or(1)) * weight(&x.1);
        for (i, alts) in options.iter().enumerate() {
            let rule = u32::try_from(i).unwrap_or(u32::MAX);
            match alts.iter().min_by_key(|a| score(a)) {
                Some(anchor) if rule & KIND == 0 => {
                    idx.described.push(describe(anchor, set));
                    for conj in anchor {
                        let filed = idx.targets(conj, rule, &fact_score, &mut fact_ids);
                        for (slot, atom, target) in filed {
                            match atom {
                                Atom::Lit(pos, lit) => lits.push((*slot, *pos, lit.clone(), target)),
                                Atom::Line(pattern) => line.push((pattern.clone(), target)),
                                atom => idx.file(*slot, atom, target),
                            }
                        }
                    }
                }
                _ => {
                    idx.described.push("none: visited by every event".into());
                    idx.always.push(rule);
                }
            }
        }
        idx.build_automata(lits);
        if !line.is_empty() {
            idx.line = LineIndex::build(&mut line);
            if idx.line.is_none() {
                // Too large an automaton: these rules are visited by every event.
                let rules: Vec<u32> = line.iter().flat_map(|(_, t)| idx.rules_of(*t)).collect();
                idx.always.extend(rules);
                idx.always.sort_unstable();
                idx.always.dedup();
            }
        }
        idx
    }

    /// What to file for `conj`: its one fact under the rule itself; else its most
    /// selective fact (by `score`) under a new conjunction target, and each other fact not
    /// yet filed as a fact target (`ids`) under its own.
    fn targets<'c>(
        &mut self,
        conj: &'c Conj,
        rule: u32,
        score: &dyn Fn(&(Slot, Atom)) -> u64,
        ids: &mut ahash::AHashMap<(Slot, Atom), u32>,
    ) -> Vec<(&'c Slot, &'c Atom, u32)> {
        let Some(primary) = conj.iter().min_by_key(|a| score(a)) else {
            return Vec::new();
        };
        if conj.len() == 1 {
            return vec![(&primary.0, &primary.1, rule)];
        }
        let c = u32::try_from(self.conjs.len()).unwrap_or(u32::MAX);
        let mut out = vec![(&primary.0, &primary.1, CONJ | c)];
        let mut others = Vec::new();
        for fact in conj.iter().filter(|a| *a != primary) {
            let id = match ids.get(fact) {
                Some(id) => *id,
                None => {
                    let id = FACT | u32::try_from(self.facts.len()).unwrap_or(0);
                    ids.insert(fact.clone(), id);
                    self.facts.push(fact.clone());
                    out.push((&fact.0, &fact.1, id));
                    id
                }
            };
            others.push(id);
        }
        self.conjs.push((rule, others));
        out
    }

    /// The rules a target stands for: a rule, a conjunction's, or those of every
    /// conjunction needing a fact.
    fn rules_of(&self, target: u32) -> Vec<u32> {
        match target & KIND {
            0 => vec![target],
            CONJ => self
                .conjs
                .get((target & !KIND) as usize)
                .map(|(rule, _)| vec![*rule])
                .unwrap_or_default(),
            _ => self
                .conjs
                .iter()
                .filter(|(_, others)| others.contains(&target))
                .map(|(rule, _)| *rule)
                .collect(),
        }
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

    /// Files `target` (a rule or a member) under an exact, network or pair fact.
    fn file(&mut self, slot: Slot, atom: &Atom, target: u32) {
        let s = self.slot_mut(slot);
        let push = |list: &mut Vec<u32>| {
            if list.last() != Some(&target) {
                list.push(target);
            }
        };
        match atom {
            Atom::Key(k) => push(s.keys.entry(k.as_str().into()).or_default()),
            Atom::Lit(..) | Atom::Line(_) => {} // filed when the automata are built
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

    /// One automaton per field over the literal facts of the chosen anchors (with the
    /// target each is filed under).
    fn build_automata(&mut self, literals: Vec<(Slot, PosKey, String, u32)>) {
        let mut per_slot: Vec<SlotLiterals> = Vec::new();
        for (slot, pos, lit, target) in literals {
            let entry = match per_slot.iter().position(|(s, _)| *s == slot) {
                Some(p) => p,
                None => {
                    per_slot.push((slot, Vec::new()));
                    per_slot.len() - 1
                }
            };
            per_slot[entry].1.push((pos, lit, target));
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
                    for (_, _, targets) in patterns {
                        let rules: Vec<u32> = targets.iter().flat_map(|t| self.rules_of(*t)).collect();
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
            if !s.keys.is_empty() || !s.pairs.is_empty() {
                keys_of(fields, s.slot, v, &mut scratch.text, &mut scratch.keys);
                for &(a, b) in &scratch.keys {
                    if let Some(rules) = s.keys.get(&scratch.text[a as usize..b as usize]) {
                        out.extend_from_slice(rules);
                    }
                }
                s.pair_hits(fields, scratch, out);
            }
            if let Some(ac) = &s.automaton {
                s.literal_hits(ac, fields, v, out);
            }
            if !s.nets.is_empty() {
                s.network_hits(fields, v, out);
            }
        }
        if let Some(line) = &self.line {
            let searched = fields.with_lowered_line(&mut |l| {
                line.hits(l, out);
                true
            });
            if searched.is_none() {
                out.extend_from_slice(&line.all);
            }
        }
        if !self.conjs.is_empty() {
            self.conjunctions(out, scratch);
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Replaces the conjunction targets of `out` by their rules when all their other
    /// facts were found for this event, and drops the fact targets.
    fn conjunctions(&self, out: &mut Vec<u32>, scratch: &mut Scratch) {
        scratch.epoch = scratch.epoch.wrapping_add(1);
        if scratch.epoch == 0 {
            scratch.marks.iter_mut().for_each(|m| *m = 0);
            scratch.epoch = 1;
        }
        if scratch.marks.len() < self.facts.len() {
            scratch.marks.resize(self.facts.len(), 0);
        }
        let epoch = scratch.epoch;
        for &t in out.iter() {
            if t & KIND == FACT {
                if let Some(m) = scratch.marks.get_mut((t & !KIND) as usize) {
                    *m = epoch;
                }
            }
        }
        let found = |id: &u32| scratch.marks.get((id & !KIND) as usize) == Some(&epoch);
        let mut kept = 0;
        for i in 0..out.len() {
            let t = out[i];
            let rule = match t & KIND {
                0 => Some(t),
                CONJ => self
                    .conjs
                    .get((t & !KIND) as usize)
                    .and_then(|(rule, others)| others.iter().all(found).then_some(*rule)),
                _ => None,
            };
            if let Some(rule) = rule {
                out[kept] = rule;
                kept += 1;
            }
        }
        out.truncate(kept);
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
        Atom::Lit(PosKey::Contains, l) | Atom::Line(l) if l.len() < 4 => 8,
        Atom::Lit(PosKey::Contains, _) | Atom::Line(_) => 3,
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

/// The facts of one test: conjunctions one of which any value it accepts has.
fn atoms_of(slot: Slot, t: &Test) -> Option<Anchor> {
    let single = |atoms: Vec<(Slot, Atom)>| atoms.into_iter().map(|a| vec![a]).collect();
    if let Some(keys) = exact_keys(t) {
        return Some(single(keys.into_iter().map(|k| (slot, Atom::Key(k))).collect()));
    }
    match t {
        Test::Str(m) => Some(single(
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
        )),
        Test::Cidr(Network { addr, prefix, v4 }) => {
            Some(vec![vec![(slot, Atom::Net(*prefix, *v4, *addr))]])
        }
        // A match of the regex starts with one of its start literals and ends with one of
        // its end literals, wherever it is in the value: both when both sets are small.
        Test::Regex(re) => {
            let contains = |set: Vec<String>| -> Anchor {
                set.into_iter()
                    .map(|lit| vec![(slot, Atom::Lit(PosKey::Contains, lit))])
                    .collect()
            };
            let mut sets = super::regex_literals::index_literals(re.regex.as_str(), re.flags);
            sets.sort_by_key(Vec::len);
            let mut sets = sets.into_iter().map(contains);
            let first = sets.next()?;
            Some(match sets.next() {
                Some(second) => product(&first, &second).unwrap_or(first),
                None => first,
            })
        }
        _ => None,
    }
}

/// A predicate's anchor: the facts of all its tests (one of them holds when it holds).
fn pred_anchor(plan: &Plan, node: NodeId) -> Option<Anchor> {
    let Node::Pred(p) = plan.node(node) else {
        return None;
    };
    if p.neq || p.tests.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let Some(slot) = p.slot else {
        // A keyword search: one of its patterns is in the line, when the line can say so.
        for t in &p.tests {
            let Test::Str(m) = t else {
                return None;
            };
            let patterns = m.raw_line_patterns()?;
            out.extend(patterns.into_iter().map(|l| vec![(LINE, Atom::Line(l))]));
        }
        return Some(out);
    };
    for t in &p.tests {
        out.extend(atoms_of(slot, t)?);
    }
    Some(out)
}

/// An anchor's score (lower is better): the sum of its conjunctions', each its best fact's
/// (`atom`) divided by four per further fact (a pair of exact values counts as two).
fn anchor_score(anchor: &Anchor, atom: &dyn Fn(&(Slot, Atom)) -> u64) -> u64 {
    anchor
        .iter()
        .map(|conj| {
            let best = conj.iter().map(|a| 16 * atom(a)).min().unwrap_or(16);
            let facts: usize = conj
                .iter()
                .map(|(_, a)| if matches!(a, Atom::Pair(..)) { 2 } else { 1 })
                .sum();
            (best >> (2 * facts.saturating_sub(1))).max(1)
        })
        .sum()
}

/// The anchor both `a` and `b` holding implies: every conjunction of one with every one of
/// the other; `None` past [`MAX_PRODUCT`] conjunctions or [`MAX_CONJ`] facts in one.
fn product(a: &Anchor, b: &Anchor) -> Option<Anchor> {
    if a.len() * b.len() > MAX_PRODUCT {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut c: Conj = x.iter().chain(y).cloned().collect();
            c.sort();
            c.dedup();
            if c.len() > MAX_CONJ {
                return None;
            }
            out.push(c);
        }
    }
    out.sort();
    out.dedup();
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
            let per_kid: Vec<Vec<Anchor>> =
                kids.iter().map(|k| alternatives(plan, *k, score)).collect();
            // When the best child's anchor is shared by many rules: the product of the most
            // selective children's best anchors, child by child while it stays within
            // bounds. Past the first, only children answered by hash lookups of selective
            // facts join: a literal fact costs an automaton pass over its field for every
            // event, which the first child's anchor pays alone anyway.
            let mut best: Vec<(u64, &Anchor)> = per_kid
                .iter()
                .filter_map(|alts| alts.iter().map(|a| (score(a), a)).min_by_key(|x| x.0))
                .collect();
            best.sort_by_key(|x| x.0);
            let shared = best
                .first()
                .is_some_and(|(s, a)| *s >= SHARED * a.len() as u64);
            let mut joined: Option<(Anchor, usize)> = None;
            for (_, a) in best.iter().take(if shared { PRODUCT_CHILDREN } else { 0 }) {
                let looked_up = || {
                    a.iter()
                        .flatten()
                        .all(|(_, f)| !matches!(f, Atom::Lit(..) | Atom::Line(_)) && weight(f) <= 2)
                };
                joined = match joined {
                    None => Some(((*a).clone(), 1)),
                    Some((p, n)) if !looked_up() => Some((p, n)),
                    Some((p, n)) => match product(&p, a) {
                        Some(q) => Some((q, n + 1)),
                        None => Some((p, n)),
                    },
                };
            }
            let mut alts: Vec<Anchor> = per_kid.into_iter().flatten().collect();
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
                            anchor.push(vec![(first, Atom::Pair(second, a.clone(), b.clone()))]);
                        }
                    }
                    alts.push(anchor);
                }
            }
            // After the pairs: a pair of exact values scores as its product does, and is
            // one lookup instead of two facts to join.
            if let Some((p, n)) = joined
                && n > 1
            {
                alts.push(p);
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
        .map(|conj| {
            let mut facts: Vec<String> = conj.iter().map(fact_words).collect();
            facts.sort();
            let words = facts.join(" and ");
            if conj.len() > 1 && anchor.len() > 1 {
                format!("({words})")
            } else {
                words
            }
        })
        .collect();
    parts.sort();
    parts.join(" or ")
}

fn fact_words((slot, atom): &(Slot, Atom)) -> String {
    match atom {
            Atom::Key(k) => format!("#{slot} = {}", key_words(k)),
            Atom::Lit(PosKey::Start, l) => format!("#{slot} starts with {l:?}"),
            Atom::Lit(PosKey::End, l) => format!("#{slot} ends with {l:?}"),
            Atom::Lit(PosKey::Contains, l) => format!("#{slot} contains {l:?}"),
            Atom::Net(p, _, a) => format!("#{slot} in {a:x}/{p}"),
        Atom::Pair(other, a, b) => {
            format!("(#{slot}, #{other}) = ({}, {})", key_words(a), key_words(b))
        }
        Atom::Line(l) => format!("the line holds {l:?}"),
    }
}

/// An anchor in words with field names.
fn describe(anchor: &Anchor, set: &RuleSet) -> String {
    let mut words = anchor_words(anchor);
    let mut slots: Vec<Slot> = anchor
        .iter()
        .flatten()
        .flat_map(|(s, a)| match a {
            Atom::Pair(o, ..) => vec![*s, *o],
            Atom::Line(_) => vec![],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Three rules sharing `action: failed`, each with a fact of another field.
    const RULES: &str = r#"
title: r0
logsource: {category: user_session}
detection:
  sel: {action: failed, hostname|startswith: WS00}
  condition: sel
---
title: r1
logsource: {category: user_session}
detection:
  sel: {action: failed, dest_port: 445}
  condition: sel
---
title: r2
logsource: {category: user_session}
detection:
  sel: {action: failed, src_ip|cidr: 10.3.0.0/16}
  condition: sel
"#;

    fn rules() -> RuleSet {
        RuleSet::builder()
            .add_str("t.yml", RULES.to_string())
            .build()
            .unwrap_or_else(|d| panic!("{d}"))
    }

    fn candidates(set: &RuleSet, event: &str) -> Vec<u32> {
        let mut p = set.projector();
        assert!(p.load(event).is_ok(), "{event}");
        let mut out = Vec::new();
        set.index
            .candidates(&p.fields(event), &mut out, &mut Scratch::default());
        out
    }

    #[test]
    fn rules_sharing_a_fact_are_filed_under_conjunctions_with_their_other_fact() {
        let set = rules();
        let described: Vec<&str> = set.index.described.iter().map(String::as_str).collect();
        assert_eq!(
            described,
            [
                r#"action = "failed" and hostname starts with "ws00""#,
                r#"(action, dest_port) = ("failed", 445)"#,
                r#"action = "failed" and src_ip in a030000000000000000000000000000/16"#,
            ]
        );
        // Each rule is visited only by the events that have both of its facts.
        let ev = |action: &str, host: &str, ip: &str, port: u16| {
            format!(r#"{{"action":"{action}","hostname":"{host}","src_ip":"{ip}","dest_port":{port}}}"#)
        };
        assert_eq!(candidates(&set, &ev("failed", "DC01", "10.3.1.1", 22)), [2]);
        assert_eq!(candidates(&set, &ev("login", "WS0001", "10.3.1.1", 445)), [0u32; 0]);
        assert_eq!(candidates(&set, &ev("failed", "WS0001", "10.9.1.1", 445)), [0, 1]);
        assert_eq!(candidates(&set, &ev("failed", "WS0001", "10.3.1.1", 445)), [0, 1, 2]);
        // The same scratch, event after event: a fact found for one is not found for the next.
        let mut scratch = Scratch::default();
        let mut p = set.projector();
        for (event, want) in [
            (ev("failed", "DC01", "10.9.1.1", 22), Vec::<u32>::new()),
            (ev("login", "WS0001", "10.3.1.1", 22), Vec::new()),
            (ev("failed", "DC01", "10.9.1.1", 22), Vec::<u32>::new()),
        ] {
            assert!(p.load(&event).is_ok());
            let mut out = Vec::new();
            set.index.candidates(&p.fields(&event), &mut out, &mut scratch);
            assert_eq!(out, want, "{event}");
        }
    }

    #[test]
    fn a_fact_target_stands_for_every_conjunction_that_needs_it() {
        let set = rules();
        let failed = set
            .index
            .facts
            .iter()
            .position(|(_, a)| *a == Atom::Key("failed".into()))
            .map(|i| FACT | i as u32);
        let Some(failed) = failed else {
            panic!("`action: failed` is a fact target: {:?}", set.index.facts);
        };
        assert_eq!(set.index.rules_of(failed), [0, 2]);
        assert_eq!(set.index.rules_of(1), [1]);
        assert_eq!(set.index.rules_of(CONJ), [0]);
    }

    #[test]
    fn keyword_rules_are_visited_by_lines_holding_a_keyword_or_that_cannot_say() {
        let set = RuleSet::builder()
            .add_str(
                "t.yml",
                "title: k\nlogsource: {category: user_session}\ndetection:\n  keywords: ['DC0', 'a\"b']\n  condition: keywords\n"
                    .to_string(),
            )
            .build()
            .unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(
            set.index.described,
            [r#"the line holds "a\\\"b" or the line holds "dc0""#]
        );
        for (event, want) in [
            (r#"{"hostname":"WS01"}"#, vec![]),
            (r#"{"hostname":"xdc01"}"#, vec![0]),
            (r#"{"note":"A\"B"}"#, vec![0]),
            // Not searchable raw (an escape the line filter does not read, a nested
            // object): visited, and evaluated in full.
            (r#"{"hostname":"\u0057S01"}"#, vec![0]),
            (r#"{"o":{"hostname":"WS01"}}"#, vec![0]),
        ] {
            assert_eq!(candidates(&set, event), want, "{event}");
        }
    }

    #[test]
    fn a_fact_few_rules_share_is_not_multiplied() {
        let set = RuleSet::builder()
            .add_str(
                "t.yml",
                "title: r\nlogsource: {category: user_session}\ndetection:\n  sel: {action: failed, dest_port: 445, login_type: rdp}\n  filter: {user: x}\n  condition: sel and not filter\n"
                    .to_string(),
            )
            .build()
            .unwrap_or_else(|d| panic!("{d}"));
        // One rule: every fact is its own; a pair of exact values is the best it has.
        assert_eq!(set.index.described.len(), 1);
        assert!(!set.index.described[0].contains(" and "), "{:?}", set.index.described);
        assert!(set.index.conjs.is_empty());
    }
}
