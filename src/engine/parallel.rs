//! Lines a [`Detector`](super::detector::Detector) has read on another thread, taken in input order:
//! time, lateness, correlations and alert order, without reading the line again.

use super::Engine;
use crate::alert::AlertSink;
use super::detector::{Detected, Kind};
use crate::event::EventError;
use crate::event::lines::line_text;

impl Engine<'_> {
    /// Takes a line a [`Detector`](super::detector::Detector) has read (lines must come in input order): as
    /// [`Engine::process_session_line`], without reading the line again when the event is
    /// processed at once (no lateness window). `Ok(false)`: not a plain session event,
    /// nothing done.
    pub fn process_detected(
        &mut self,
        line: &[u8],
        detected: Detected,
        sink: &mut dyn AlertSink,
    ) -> Result<bool, EventError> {
        let (ts, matched, row) = match detected.0 {
            Kind::Invalid(e) => {
                self.stats.invalid += 1;
                return Err(e);
            }
            Kind::Other => return Ok(false),
            Kind::Event {
                ts,
                matched,
                row,
                mask,
            } => (ts, matched, row.map(|r| (r, mask))),
        };
        if self.settings.max_lateness > 0 {
            // Buffered events are read again when released: take the ordinary path.
            return self.process_session_line(line, sink);
        }
        let Ok(Some(text)) = line_text(line) else {
            return Ok(false);
        };
        self.stats.events += 1;
        self.seq += 1;
        let seq = self.seq;
        self.active_origin.clone_from(&self.origin);
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
        // The row is for this event only (consume takes it when it correlates).
        self.prefilled = row;
        self.consume(text, false, ts, seq, &mut step);
        self.prefilled = None;
        self.correlating = true;
        match in_order {
            Some(_) => self.hold(&mut step),
            None => self.write_on_arrival(seq, &mut step, sink),
        }
        self.step = step;
        if in_order.is_some() {
            self.tick_shards();
        }
        Ok(true)
    }
}
