//! The year of year-less (BSD) syslog times, per stream.
//!
//! A BSD time (`Jan  5 03:04:05`) has no year and no zone; it is read as UTC. Its year:
//! - the first such line takes `--year` when given; otherwise the year of "now", or the year
//!   before when that would put the line more than a day after "now" (a December log read in
//!   January);
//! - every later line takes, among the previous line's year −1, +0 and +1, the year that puts
//!   it closest to the previous line's time. So `Dec 31` → `Jan  1` moves to the next year,
//!   and a late `Dec 31` line after that stays in the old one.
//!
//! "The previous line" is the previous line of the stream that had a time, whatever its form
//! and whether or not it became an event.

use super::header::{BsdTime, Stamp};
use crate::source::SourceError;
use crate::time::Timestamp;

const DAY: i64 = 86_400 * 1_000_000_000;
const HALF_YEAR: u64 = 182 * 86_400 * 1_000_000_000;

/// The time state of one stream.
#[derive(Debug, Clone)]
pub(super) struct Clock {
    year: Option<i64>,
    now: Timestamp,
    previous: Option<Timestamp>,
}

impl Clock {
    /// A clock with `year` for the first year-less line (default: from `now`).
    pub fn new(year: Option<i64>, now: Timestamp) -> Self {
        Clock {
            year,
            now,
            previous: None,
        }
    }

    /// The time of a line's stamp (`None` for RFC 5424's nil time), remembered for the next
    /// year-less line; an error names a date that exists in none of the candidate years.
    pub fn resolve(&mut self, stamp: Stamp) -> Result<Option<Timestamp>, SourceError> {
        let t = match stamp {
            Stamp::Nil => return Ok(None),
            Stamp::Absolute(t) => t,
            Stamp::Bsd(b) => self.bsd(b).ok_or_else(|| SourceError::NoSuchDate {
                month: b.month,
                day: b.day,
                year: self.base_year(),
            })?,
        };
        self.observe(t);
        Ok(Some(t))
    }

    /// Remembers the time of a record that had one.
    pub fn observe(&mut self, t: Timestamp) {
        self.previous = Some(t);
    }

    fn base_year(&self) -> i64 {
        match (self.previous, self.year) {
            (Some(p), _) => p.civil().0,
            (None, Some(y)) => y,
            (None, None) => self.now.civil().0,
        }
    }

    fn bsd(&self, b: BsdTime) -> Option<Timestamp> {
        if let Some(p) = self.previous {
            let y = p.civil().0;
            // Within half a year of the previous line in its own year: no other year can be
            // closer (they are 365 or 366 days away), so one conversion usually suffices.
            if let Some(t) = b.in_year(y).filter(|t| t.0.abs_diff(p.0) <= HALF_YEAR) {
                return Some(t);
            }
            // `min_by_key` keeps the first of equals; the three years are never equidistant.
            return [y - 1, y, y + 1]
                .into_iter()
                .filter_map(|y| b.in_year(y))
                .min_by_key(|t| t.0.abs_diff(p.0));
        }
        if let Some(y) = self.year {
            return b.in_year(y);
        }
        let y = self.now.civil().0;
        match b.in_year(y) {
            Some(t) if t.0 <= self.now.0.saturating_add(DAY) => Some(t),
            this_year => b.in_year(y - 1).or(this_year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn ts(s: &str) -> Timestamp {
        parse_rfc3339(s).unwrap_or_else(|| panic!("{s}"))
    }

    fn at(month: u32, day: u32, hour: u32) -> Stamp {
        Stamp::Bsd(BsdTime {
            month,
            day,
            hour,
            minute: 0,
            second: 0,
            nanos: 0,
        })
    }

    fn run(clock: &mut Clock, stamps: &[Stamp]) -> Vec<String> {
        stamps
            .iter()
            .map(|s| match clock.resolve(*s) {
                Ok(Some(t)) => t.to_string(),
                Ok(None) => "nil".into(),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn december_to_january() {
        let mut c = Clock::new(Some(2023), ts("2030-01-01T00:00:00Z"));
        let got = run(
            &mut c,
            &[
                at(12, 31, 22),
                at(12, 31, 23),
                at(1, 1, 0),
                at(12, 31, 23),
                at(1, 2, 5),
            ],
        );
        assert_eq!(
            got,
            [
                "2023-12-31T22:00:00Z",
                "2023-12-31T23:00:00Z",
                "2024-01-01T00:00:00Z",
                // A late December line after the rollover stays in the old year …
                "2023-12-31T23:00:00Z",
                // … and the next January line is back in the new one.
                "2024-01-02T05:00:00Z",
            ]
        );
    }

    #[test]
    fn explicit_year_wins_for_the_first_line() {
        // "now" is far away: the given year decides.
        let mut c = Clock::new(Some(2019), ts("2024-06-01T00:00:00Z"));
        assert_eq!(run(&mut c, &[at(12, 30, 0)]), ["2019-12-30T00:00:00Z"]);
    }

    #[test]
    fn default_year_is_now_or_the_year_before() {
        let now = ts("2024-01-10T12:00:00Z");
        let mut c = Clock::new(None, now);
        // December read in January: last year.
        assert_eq!(run(&mut c, &[at(12, 30, 0)]), ["2023-12-30T00:00:00Z"]);
        let mut c = Clock::new(None, now);
        assert_eq!(run(&mut c, &[at(1, 5, 0)]), ["2024-01-05T00:00:00Z"]);
        // Up to a day ahead of "now" (clock skew, zones) stays in this year.
        let mut c = Clock::new(None, now);
        assert_eq!(run(&mut c, &[at(1, 11, 11)]), ["2024-01-11T11:00:00Z"]);
        let mut c = Clock::new(None, now);
        assert_eq!(run(&mut c, &[at(1, 11, 13)]), ["2023-01-11T13:00:00Z"]);
    }

    #[test]
    fn absolute_times_anchor_later_lines() {
        let mut c = Clock::new(Some(2000), ts("2024-06-01T00:00:00Z"));
        let got = run(
            &mut c,
            &[
                Stamp::Absolute(ts("2021-12-31T23:00:00Z")),
                Stamp::Nil,
                at(1, 1, 1),
            ],
        );
        assert_eq!(got, ["2021-12-31T23:00:00Z", "nil", "2022-01-01T01:00:00Z"]);
    }

    #[test]
    fn impossible_dates() {
        let mut c = Clock::new(Some(2023), ts("2024-06-01T00:00:00Z"));
        assert_eq!(
            run(&mut c, &[at(2, 29, 0)]),
            ["no such date: month 2 day 29 (near the year 2023)"]
        );
        // Feb 29 after a 2023 line: 2024 is the only candidate with one.
        let mut c = Clock::new(Some(2023), ts("2024-06-01T00:00:00Z"));
        assert_eq!(
            run(&mut c, &[at(2, 28, 0), at(2, 29, 0)]),
            ["2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z"]
        );
        // Feb 29 in default mode, in a non-leap "now": the year before, if it has one.
        let mut c = Clock::new(None, ts("2025-03-01T00:00:00Z"));
        assert_eq!(run(&mut c, &[at(2, 29, 0)]), ["2024-02-29T00:00:00Z"]);
        let mut c = Clock::new(Some(2024), ts("2025-03-01T00:00:00Z"));
        assert_eq!(run(&mut c, &[at(2, 31, 0)]).len(), 1);
        assert!(run(&mut c, &[at(2, 31, 0)])[0].starts_with("no such date"));
    }
}
