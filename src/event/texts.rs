//! The texts keyword search reads: every string and number of an event, as
//! [`scan::any_text`] visits them. They are found at the first keyword search of an event
//! from the top-level members projection already read (each keyword predicate used to walk
//! the whole line again), and read again by the other searches; lists of ASCII `contains`
//! patterns read them joined, in one automaton pass.

use super::project::{Loc, loc};
use super::scan::{self, Kind, Span};

/// The separator of the joined texts: no pattern searched across the join holds it
/// ([`crate::compile::matcher::StrMatcher::joinable`]), so no match spans two texts.
pub(crate) const JOIN: char = '\0';

/// One event's texts, found on demand; the buffers are reused from event to event.
#[derive(Debug, Clone, Default)]
pub(super) struct EventTexts {
    ready: bool,
    /// The top-level members as projection read them: (key start, key length, key
    /// escaped, value).
    members: Vec<(u32, u32, bool, Span)>,
    /// Where each text is: in the line, or in `buf` (unescaped strings, numbers written
    /// otherwise than in the line).
    at: Vec<Loc>,
    buf: String,
    /// Scratch for the walk, and per member whether its key is not repeated after it.
    tmp: String,
    last: Vec<bool>,
    /// The texts joined by [`JOIN`] (`None` until asked for; `Some(false)` when not ASCII).
    joined: Option<bool>,
    join_buf: String,
    /// Whether keyword search may filter on the raw line (`None` until asked for), and the
    /// line lower-cased.
    raw_safe: Option<bool>,
    lowered_line: Vec<u8>,
}

impl EventTexts {
    /// A new event: forget the last one's texts; returns the list projection fills with
    /// the top-level members.
    pub(super) fn start(&mut self) -> &mut Vec<(u32, u32, bool, Span)> {
        self.ready = false;
        self.joined = None;
        self.raw_safe = None;
        self.members.clear();
        &mut self.members
    }

    /// Finds the texts of the event `text` (document `doc`), once per event.
    pub(super) fn fill(&mut self, text: &str, doc: Span) {
        if self.ready {
            return;
        }
        self.ready = true;
        self.at.clear();
        self.buf.clear();
        let line = text.as_bytes().as_ptr_range();
        let (at, buf) = (&mut self.at, &mut self.buf);
        let mut keep = |s: &str| {
            let p = s.as_bytes().as_ptr_range();
            if line.start <= p.start && p.end <= line.end {
                at.push(loc(p.start as usize - line.start as usize, s.len(), false));
            } else {
                at.push(loc(buf.len(), s.len(), true));
                buf.push_str(s);
            }
            false
        };
        if doc.kind != Kind::Object {
            scan::any_text(text, doc, &mut self.tmp, &mut keep);
            return;
        }
        // As `scan::any_text` over the document: a repeated key's earlier values are not in
        // the event (the last one wins), so they are not searched.
        let members = &self.members;
        let key = |m: &(u32, u32, bool, Span)| {
            text.get(m.0 as usize..(m.0 + m.1) as usize)
                .unwrap_or_default()
        };
        // Few members: compared pairwise; many (hostile lines): a set of the keys seen from
        // the end, so that the cost stays linear.
        let last = &mut self.last;
        last.clear();
        if members.len() <= 32 {
            last.extend((0..members.len()).map(|i| {
                let m = &members[i];
                !members[i + 1..]
                    .iter()
                    .any(|l| scan::key_eq(key(l), l.2, key(m), m.2))
            }));
        } else {
            let mut seen = ahash::AHashSet::new();
            last.extend(members.iter().rev().map(|m| {
                let mut k = String::new();
                if m.2 {
                    scan::unescape(key(m), &mut k);
                } else {
                    k.push_str(key(m));
                }
                seen.insert(k)
            }));
            last.reverse();
        }
        for (m, &last) in members.iter().zip(last.iter()) {
            if last {
                scan::any_text(text, m.3, &mut self.tmp, &mut keep);
            }
        }
    }

    /// The line lower-cased, when every text of the event is in it as it is but for `\\`
    /// and `\"` (and control characters) escaped: when the line is ASCII (no character
    /// lower-cases to an ASCII letter from outside ASCII), the document's top-level members
    /// are all scalars, its numbers plain integers (written as their texts) and its escapes
    /// plain. Found once per event.
    pub(super) fn lowered_line(&mut self, text: &str) -> Option<&[u8]> {
        let safe = *self.raw_safe.get_or_insert_with(|| {
            let safe = text.is_ascii()
                && !self.members.is_empty()
                && self.members.iter().all(|m| match m.3.kind {
                    Kind::Null | Kind::Bool(_) | Kind::Str { .. } => true,
                    Kind::Num => scan::is_plain_number(m.3.raw(text)),
                    Kind::Array | Kind::Object => false,
                })
                && scan::escapes_are_plain(text);
            if safe {
                // Branch-free, so that the compiler reads it a vector at a time.
                self.lowered_line.clear();
                self.lowered_line.extend_from_slice(text.as_bytes());
                for c in &mut self.lowered_line {
                    *c |= u8::from(c.wrapping_sub(b'A') < 26) << 5;
                }
            }
            safe
        });
        safe.then_some(self.lowered_line.as_slice())
    }

    fn get<'a>(&'a self, text: &'a str, l: &Loc) -> &'a str {
        let src = if l.scratch { self.buf.as_str() } else { text };
        src.get(l.start as usize..(l.start + l.len) as usize)
            .unwrap_or_default()
    }

    /// Calls `f` on each text (after [`fill`](Self::fill)) until it returns true.
    pub(super) fn any(&self, text: &str, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.at.iter().any(|l| f(self.get(text, l)))
    }

    /// The texts joined by [`JOIN`] (after [`fill`](Self::fill)), when they are all ASCII
    /// and there is at least one.
    pub(super) fn joined(&mut self, text: &str) -> Option<&str> {
        if self.joined.is_none() {
            let mut j = std::mem::take(&mut self.join_buf);
            j.clear();
            for (i, l) in self.at.iter().enumerate() {
                if i > 0 {
                    j.push(JOIN);
                }
                j.push_str(self.get(text, l));
            }
            self.joined = Some(!self.at.is_empty() && j.is_ascii());
            self.join_buf = j;
        }
        self.joined
            .unwrap_or(false)
            .then_some(self.join_buf.as_str())
    }
}
