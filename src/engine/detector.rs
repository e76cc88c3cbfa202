//! The per-event work that depends on no other event (reading a session line by
//! projection, finding the detection rules it matches), split from the work that must see
//! events in order (time, lateness, correlations, alert order). A [`Detector`] does the
//! first on any thread; the engine's `process_detected` does the second on the engine's
//! thread, in input order, so the output is exactly that of one thread.

use crate::compile::RuleSet;
use crate::correlate::Correlator;
use crate::correlate::row::Row;
use super::shards::{Mask, Router};
use crate::event::lines::line_text;
use crate::event::project::load_into;
use crate::event::{EventError, Projector};
use crate::time::Timestamp;

/// What a [`Detector`] found in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected(pub(crate) Kind);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Invalid(EventError),
    /// Not a plain session event (see [`Engine::process_session_line`]).
    Other,
    /// A session event: its time, the session rules it matched (ascending), and the
    /// fields its correlations read when any correlation consumes it (read here, on the
    /// detector's thread, so that the engine does not read the line again).
    Event {
        ts: Option<Timestamp>,
        matched: Vec<u32>,
        row: Option<Box<Row>>,
        /// The correlation shards that take it, when the detector routes for them.
        mask: Option<Mask>,
    },
}

/// Finds the detection rules session lines match; one per thread.
pub struct Detector<'r> {
    set: &'r RuleSet,
    projector: Projector,
    matcher: crate::detect::RuleMatcher,
    router: Option<Router>,
}

impl<'r> Detector<'r> {
    /// A detector for `set`.
    pub fn new(set: &'r RuleSet) -> Self {
        Detector {
            set,
            projector: set.projector(),
            matcher: crate::detect::RuleMatcher::default(),
            router: None,
        }
    }

    /// Also finds, for each correlated event, which of `n` correlation shards take it (an
    /// engine with as many shards then need not: see `run --threads`).
    pub fn routing_for_shards(mut self, n: usize) -> Self {
        if n > 1 && self.set.correlation_count() > 0 {
            self.router = Some(Router::new(self.set, n));
        }
        self
    }

    /// Reads one line as a session event and matches the session rules.
    pub fn detect_line(&mut self, line: &[u8]) -> Detected {
        let text = match line_text(line) {
            Ok(Some(text)) => text,
            // A blank line is not an event: the ordinary path skips it.
            Ok(None) => return Detected(Kind::Other),
            Err(e) => return Detected(Kind::Invalid(e)),
        };
        if let Err(e) = load_into(&mut self.projector, text) {
            return Detected(Kind::Invalid(e));
        }
        if self.projector.marked() {
            return Detected(Kind::Other);
        }
        let fields = self.projector.fields(text);
        let ts = fields.timestamp(self.set.event_slots.timestamp);
        let mut matched = Vec::new();
        self.matcher.matching(self.set, &fields, false, &mut matched);
        let row = (ts.is_some() && Correlator::interested(self.set, &matched)).then(|| {
            let mut row = Box::new(Row::new(self.set.correlation_fields.len()));
            row.fill(self.set, &fields);
            row
        });
        let mask = match (&row, &mut self.router) {
            (Some(row), Some(router)) => Some(router.mask(self.set, row, &matched)),
            _ => None,
        };
        Detected(Kind::Event {
            ts,
            matched,
            row,
            mask,
        })
    }
}
