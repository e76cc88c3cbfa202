//! The per-event work that depends on no other event (reading a session line by
//! projection, finding the detection rules it matches) split from the work that must see
//! events in order (time, lateness, correlations, alert order). A [`Detector`] does the
//! first on any thread; [`Engine::process_detected`] does the second on the engine's
//! thread, in input order, so the output is exactly that of one thread.

use super::{Engine, EventError};
use crate::alert::AlertSink;
use crate::compile::RuleSet;
use crate::compile::index::Scratch;
use crate::event::Projector;
use crate::time::Timestamp;

/// What a [`Detector`] found in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Invalid(EventError),
    /// Not a plain session event (see [`Engine::process_session_line`]).
    Other,
    /// A session event: its time and the session rules it matched (ascending).
    Event {
        ts: Option<Timestamp>,
        matched: Vec<u32>,
    },
}

/// Finds the detection rules session lines match; one per thread.
pub struct Detector<'r> {
    set: &'r RuleSet,
    projector: Projector,
    candidates: Vec<u32>,
    scratch: Scratch,
    memo: super::predicate::Memo,
}

impl<'r> Detector<'r> {
    /// A detector for `set`.
    pub fn new(set: &'r RuleSet) -> Self {
        Detector {
            set,
            projector: set.projector(),
            candidates: Vec::new(),
            scratch: Scratch::default(),
            memo: super::predicate::Memo::default(),
        }
    }

    /// Reads one line as a session event and matches the session rules.
    pub fn detect_line(&mut self, line: &[u8]) -> Detected {
        let text = match super::line_text(line) {
            Ok(Some(text)) => text,
            // A blank line is not an event: the ordinary path skips it.
            Ok(None) => return Detected(Kind::Other),
            Err(e) => return Detected(Kind::Invalid(e)),
        };
        if let Err(e) = super::load_into(&mut self.projector, text) {
            return Detected(Kind::Invalid(e));
        }
        if self.projector.marked() {
            return Detected(Kind::Other);
        }
        let fields = self.projector.fields(text);
        let ts = fields.timestamp(self.set.event_slots.timestamp);
        let mut matched = Vec::new();
        if self.set.has_target(false) {
            self.set
                .index
                .candidates(&fields, &mut self.candidates, &mut self.scratch);
            self.memo.next_event(self.set.plan.nodes.len());
            for &i in &self.candidates {
                let rule = &self.set.rules[i as usize];
                if !rule.windows
                    && super::predicate::eval(&self.set.plan, rule.root, &fields, &mut self.memo)
                {
                    matched.push(i);
                }
            }
        }
        Detected(Kind::Event { ts, matched })
    }
}

impl Engine<'_> {
    /// Takes a line a [`Detector`] has read (lines must come in input order): as
    /// [`Engine::process_session_line`], without reading the line again when the event is
    /// processed at once (no lateness window). `Ok(false)`: not a plain session event,
    /// nothing done.
    pub fn process_detected(
        &mut self,
        line: &[u8],
        detected: Detected,
        sink: &mut dyn AlertSink,
    ) -> Result<bool, EventError> {
        let (ts, matched) = match detected.0 {
            Kind::Invalid(e) => {
                self.stats.invalid += 1;
                return Err(e);
            }
            Kind::Other => return Ok(false),
            Kind::Event { ts, matched } => (ts, matched),
        };
        if self.settings.max_lateness > 0 {
            // Buffered events are read again when released: take the ordinary path.
            return self.process_session_line(line, sink);
        }
        let Ok(Some(text)) = super::line_text(line) else {
            return Ok(false);
        };
        self.stats.events += 1;
        self.seq += 1;
        let seq = self.seq;
        let in_order = ts.filter(|t| self.watermark().is_none_or(|w| *t >= w));
        match (ts, in_order) {
            (None, _) => self.stats.no_timestamp += 1,
            (Some(_), None) => self.stats.late += 1,
            (Some(t), Some(_)) => {
                self.max_seen = Some(self.max_seen.map_or(t, |m| m.max(t)));
                self.fire_deadlines_before(t, sink);
                self.correlator.observe(t);
                self.write_held_before(t, sink);
            }
        }
        let mut step = std::mem::take(&mut self.step);
        self.matched = matched;
        self.correlating = in_order.is_some();
        self.consume(text, false, ts, seq, &mut step);
        self.correlating = true;
        match in_order {
            Some(t) => self.hold(t, &mut step),
            None => self.write_on_arrival(&mut step, sink),
        }
        self.step = step;
        Ok(true)
    }
}
