//! Event time: RFC 3339 parsing and printing, epoch numbers, and calendar parts, all in UTC.
//!
//! Time is kept as nanoseconds since the Unix epoch in an `i64` ([`Timestamp`]), which covers
//! the years 1678 to 2262. The calendar conversions are Howard Hinnant's days-from-civil
//! algorithms, exact for the proleptic Gregorian calendar.

use std::fmt;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// An instant, in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Reads an event's `timestamp` field: an RFC 3339 string, or epoch seconds or
    /// milliseconds as a number (values of magnitude ≥ 10¹¹ are milliseconds: 10¹¹ seconds
    /// is the year 5138).
    pub fn from_json(v: &serde_json::Value) -> Option<Timestamp> {
        match v {
            serde_json::Value::String(s) => parse_rfc3339(s),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    let nanos = if i.unsigned_abs() >= 100_000_000_000 {
                        i.checked_mul(1_000_000)?
                    } else {
                        i.checked_mul(NANOS_PER_SEC)?
                    };
                    return Some(Timestamp(nanos));
                }
                let f = n.as_f64()?;
                let scale = if f.abs() >= 1e11 { 1e6 } else { 1e9 };
                let nanos = (f * scale).round();
                (nanos.is_finite() && nanos.abs() < 9.2e18).then_some(Timestamp(nanos as i64))
            }
            _ => None,
        }
    }

    /// Reads epoch seconds or milliseconds written as a JSON number (see [`Self::from_json`]).
    pub fn from_number_text(s: &str) -> Option<Timestamp> {
        if let Ok(i) = s.parse::<i64>() {
            return Timestamp::from_json(&serde_json::Value::from(i));
        }
        let f: f64 = s.parse().ok()?;
        serde_json::Number::from_f64(f)
            .and_then(|n| Timestamp::from_json(&serde_json::Value::Number(n)))
    }

    /// UTC calendar fields: (year, month 1–12, day 1–31, hour, minute, second, nanos).
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(NANOS_PER_SEC) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, nanos)
    }

    /// The value of one calendar part, for the time-part modifiers.
    pub fn part(self, part: TimePart) -> i64 {
        let (y, m, d, h, min, ..) = self.civil();
        match part {
            TimePart::Minute => i64::from(min),
            TimePart::Hour => i64::from(h),
            TimePart::Day => i64::from(d),
            TimePart::Month => i64::from(m),
            TimePart::Year => y,
            TimePart::Week => iso_week(y, m, d),
        }
    }

    /// Adds a duration in nanoseconds, saturating.
    pub fn plus(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }
}

impl Timestamp {
    /// Appends the RFC 3339 text of [`Display`](fmt::Display) to `out`, digit by digit for
    /// the years 0 to 9999 (alert lines write one or two per alert), through `Display`
    /// otherwise.
    pub fn push_rfc3339(self, out: &mut String) {
        let (y, mo, d, h, mi, s, ns) = self.civil();
        if !(0..=9999).contains(&y) {
            use fmt::Write;
            let _ = write!(out, "{self}");
            return;
        }
        // ASCII digits and separators only: the bytes are one str.
        let mut b = [0u8; 30];
        let two = |b: &mut [u8], v: u32| {
            b[0] = b'0' + (v / 10) as u8;
            b[1] = b'0' + (v % 10) as u8;
        };
        let y = y as u32;
        two(&mut b[0..2], y / 100);
        two(&mut b[2..4], y % 100);
        b[4] = b'-';
        two(&mut b[5..7], mo);
        b[7] = b'-';
        two(&mut b[8..10], d);
        b[10] = b'T';
        two(&mut b[11..13], h);
        b[13] = b':';
        two(&mut b[14..16], mi);
        b[16] = b':';
        two(&mut b[17..19], s);
        let mut n = 19;
        if ns != 0 {
            let (mut frac, digits) = if ns % 1_000_000 == 0 {
                (ns / 1_000_000, 3)
            } else if ns % 1_000 == 0 {
                (ns / 1_000, 6)
            } else {
                (ns, 9)
            };
            b[n] = b'.';
            for i in (0..digits).rev() {
                b[n + 1 + i] = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            n += 1 + digits;
        }
        b[n] = b'Z';
        n += 1;
        out.push_str(std::str::from_utf8(&b[..n]).unwrap_or_default());
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with `Z`; fractional digits only as many as needed (0, 3, 6 or 9).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, ns) = self.civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        if ns != 0 {
            if ns % 1_000_000 == 0 {
                write!(f, ".{:03}", ns / 1_000_000)?;
            } else if ns % 1_000 == 0 {
                write!(f, ".{:06}", ns / 1_000)?;
            } else {
                write!(f, ".{ns:09}")?;
            }
        }
        f.write_str("Z")
    }
}

/// A calendar part named by a time-part modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    /// 0–59.
    Minute,
    /// 0–23.
    Hour,
    /// Day of the month, 1–31.
    Day,
    /// ISO 8601 week number, 1–53.
    Week,
    /// 1–12.
    Month,
    /// The year.
    Year,
}

impl TimePart {
    /// Every part with its modifier name.
    const NAMES: [(TimePart, &'static str); 6] = [
        (TimePart::Minute, "minute"),
        (TimePart::Hour, "hour"),
        (TimePart::Day, "day"),
        (TimePart::Week, "week"),
        (TimePart::Month, "month"),
        (TimePart::Year, "year"),
    ];

    /// The part named by a modifier, if it is one.
    pub fn from_modifier(name: &str) -> Option<TimePart> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(p, _)| *p)
    }

    /// The modifier that names it (`hour`).
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("?", |(_, n)| n)
    }
}

/// Days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// ISO 8601 week number of a date.
fn iso_week(y: i64, m: u32, d: u32) -> i64 {
    let days = days_from_civil(y, m, d);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let weekday = (days + 3).rem_euclid(7) + 1;
    let ordinal = days - days_from_civil(y, 1, 1) + 1;
    let week = (ordinal - weekday + 10) / 7;
    if week < 1 {
        return iso_week(y - 1, 12, 31);
    }
    let weeks_in_year = |yr: i64| {
        let jan1 = (days_from_civil(yr, 1, 1) + 3).rem_euclid(7) + 1;
        if jan1 == 4 || (jan1 == 3 && is_leap(yr)) {
            53
        } else {
            52
        }
    };
    if week > weeks_in_year(y) { 1 } else { week }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`. `t`/space for `T`, `z` for `Z` and
/// `±HHMM` are accepted too; a time without a zone is read as UTC.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i64::from(num(0, 4)?);
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let nanos = i64::from(fraction(b, &mut i)?);
    let offset_secs: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = i64::from(num(i + 1, 2)?);
            let (om, end) = if b.get(i + 3) == Some(&b':') {
                (num(i + 4, 2)?, i + 6)
            } else {
                (num(i + 3, 2)?, i + 5)
            };
            if end != b.len() || oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + i64::from(om) * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59))
            - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?
        .checked_add(nanos)
        .map(Timestamp)
}

/// Reads an optional fraction of a second (`.` and digits) at `*i`, advancing past it:
/// nanoseconds (digits beyond the ninth are dropped), 0 without a fraction, `None` for a
/// `.` without digits.
pub(crate) fn fraction(b: &[u8], i: &mut usize) -> Option<u32> {
    if b.get(*i) != Some(&b'.') {
        return Some(0);
    }
    *i += 1;
    let start = *i;
    let mut nanos = 0u32;
    while let Some(d) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        if *i - start < 9 {
            nanos = nanos * 10 + u32::from(d - b'0');
        }
        *i += 1;
    }
    if *i == start {
        return None;
    }
    for _ in (*i - start).min(9)..9 {
        nanos *= 10;
    }
    Some(nanos)
}

/// Longest duration accepted anywhere (windows, history, lateness): 100 years, in days.
pub const MAX_DURATION_DAYS: i64 = 36_500;

/// Why a duration did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not `<n>s|m|h|d` (`5`, `5w`, `ten minutes`).
    #[error("is not a duration such as 30s, 10m, 2h or 7d")]
    Syntax,
    /// A negative number (`-1s`).
    #[error("is negative: durations cannot be negative")]
    Negative,
    /// Longer than [`MAX_DURATION_DAYS`] (`999999999d`).
    #[error("is too large: the largest duration accepted is {MAX_DURATION_DAYS}d (100 years)")]
    TooLarge,
}

/// Parses a duration `<n>s|m|h|d` (e.g. `90m`) into nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let s = s.trim();
    let unit = s.chars().last().ok_or(DurationError::Syntax)?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(DurationError::Syntax),
    };
    let digits = &s[..s.len() - unit.len_utf8()];
    let (negative, digits) = match digits.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, digits.strip_prefix('+').unwrap_or(digits)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::Syntax);
    }
    if negative && digits.bytes().any(|b| b != b'0') {
        return Err(DurationError::Negative);
    }
    // More digits than an i64 holds is too large, not malformed.
    let n: i64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
    let max = MAX_DURATION_DAYS * 86_400;
    match n.checked_mul(secs) {
        Some(total) if total <= max => Ok(total * NANOS_PER_SEC),
        _ => Err(DurationError::TooLarge),
    }
}

/// A duration in nanoseconds as the largest whole unit `parse_duration` reads (`600s` →
/// `10m`); a remainder of seconds stays in seconds.
pub fn format_duration(nanos: i64) -> String {
    let secs = nanos / NANOS_PER_SEC;
    for (unit, n) in [('d', 86_400), ('h', 3600), ('m', 60)] {
        if secs != 0 && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_print_in_their_largest_whole_unit() {
        for (n, s) in [
            (600, "10m"),
            (90, "90s"),
            (7200, "2h"),
            (86_400 * 3, "3d"),
            (0, "0s"),
        ] {
            assert_eq!(format_duration(n * NANOS_PER_SEC), s);
            assert_eq!(parse_duration(s), Ok(n * NANOS_PER_SEC));
        }
    }

    fn ts(s: &str) -> Timestamp {
        parse_rfc3339(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(ts("1970-01-01T00:00:00Z").0, 0);
        assert_eq!(
            ts("2024-05-01T10:00:00Z").to_string(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            ts("2024-05-01T12:00:00+02:00").to_string(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            ts("2024-05-01T10:00:00.5Z").to_string(),
            "2024-05-01T10:00:00.500Z"
        );
        assert_eq!(
            ts("2021-10-20T13:39:17.3154798Z").to_string(),
            "2021-10-20T13:39:17.315479800Z"
        );
        assert_eq!(
            ts("2024-05-01 10:00:00").to_string(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(ts("1969-12-31T23:59:59Z").0, -NANOS_PER_SEC);
        assert_eq!(
            ts("2024-02-29T00:00:00-0130").to_string(),
            "2024-02-29T01:30:00Z"
        );
    }

    #[test]
    fn rejects_invalid() {
        for s in [
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01",
            "2024-05-01T10:00:00Q",
            "2024-05-01T25:00:00Z",
            "yesterday",
            "2024-05-01T10:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn epoch_numbers() {
        assert_eq!(
            Timestamp::from_json(&json!(1_714_557_600))
                .unwrap()
                .to_string(),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            Timestamp::from_json(&json!(1_714_557_600_250_i64))
                .unwrap()
                .to_string(),
            "2024-05-01T10:00:00.250Z"
        );
        assert_eq!(
            Timestamp::from_json(&json!(1_714_557_600.5))
                .unwrap()
                .to_string(),
            "2024-05-01T10:00:00.500Z"
        );
        assert_eq!(Timestamp::from_json(&json!(true)), None);
    }

    #[test]
    fn parts() {
        let t = ts("2024-05-01T10:42:00Z");
        assert_eq!(t.part(TimePart::Hour), 10);
        assert_eq!(t.part(TimePart::Minute), 42);
        assert_eq!(t.part(TimePart::Day), 1);
        assert_eq!(t.part(TimePart::Month), 5);
        assert_eq!(t.part(TimePart::Year), 2024);
        assert_eq!(t.part(TimePart::Week), 18);
        assert_eq!(ts("2021-01-03T00:00:00Z").part(TimePart::Week), 53);
        assert_eq!(ts("2024-12-30T00:00:00Z").part(TimePart::Week), 1);
        assert_eq!(ts("2020-12-31T00:00:00Z").part(TimePart::Week), 53);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Ok(5_400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1d"), Ok(86_400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(
            parse_duration("36500d"),
            Ok(36_500 * 86_400 * NANOS_PER_SEC)
        );
        assert_eq!(parse_duration("5"), Err(DurationError::Syntax));
        assert_eq!(parse_duration("5w"), Err(DurationError::Syntax));
        assert_eq!(parse_duration("s"), Err(DurationError::Syntax));
        assert_eq!(parse_duration("1.5h"), Err(DurationError::Syntax));
        assert_eq!(parse_duration("-1s"), Err(DurationError::Negative));
        assert_eq!(parse_duration("36501d"), Err(DurationError::TooLarge));
        assert_eq!(parse_duration("999999999d"), Err(DurationError::TooLarge));
        assert_eq!(
            parse_duration("99999999999999999999999s"),
            Err(DurationError::TooLarge)
        );
    }

    #[test]
    fn pushed_text_is_the_display_text() {
        for ns in [
            0,
            1,
            999,
            1_000,
            1_000_000,
            123_456_789,
            -1,
            i64::MIN,
            i64::MAX,
            1_714_521_600_000_000_000,
            1_714_521_600_000_001_000,
            -5_000_000_000_000_000_000, // 1811
        ] {
            let mut s = String::from("x");
            Timestamp(ns).push_rfc3339(&mut s);
            assert_eq!(s, format!("x{}", Timestamp(ns)), "{ns}");
        }
    }

    proptest::proptest! {
        #[test]
        fn pushed_text_is_the_display_text_for_any_time(ns in proptest::prelude::any::<i64>()) {
            let mut s = String::new();
            Timestamp(ns).push_rfc3339(&mut s);
            proptest::prop_assert_eq!(s, Timestamp(ns).to_string());
        }
    }
}
