//! The syslog header of one line: priority, timestamp, host and tag, read without allocating.
//!
//! Three forms are read, each optionally behind a `<PRI>`:
//! - BSD (RFC 3164, the traditional `/var/log/auth.log`): `Mmm dd hh:mm:ss[.frac] host
//!   prog[pid]: msg`, the day possibly space-padded (`Jan  5`). It has no year (see
//!   `clock.rs`).
//! - RFC 3339 (rsyslog `RSYSLOG_FileFormat`, `journalctl -o short-iso`):
//!   `2024-05-01T10:00:00.123456+02:00 host prog[pid]: msg`.
//! - RFC 5424: `1 2024-05-01T10:00:00Z host app procid msgid [sd] msg`, `-` for nil values.
//!
//! A BSD or RFC 3339 line whose first word after the time ends with `:` has no host name
//! (`Jan  5 10:00:00 sshd[7]: …`, as some forwarders write it); the word is the tag.

use crate::time::{Timestamp, parse_rfc3339};

/// The longest tag (`prog[pid]`) taken as one; a longer first word is message text.
const MAX_TAG: usize = 128;

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// A year-less BSD time (`Mmm dd hh:mm:ss[.frac]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BsdTime {
    /// 1–12.
    pub month: u32,
    /// 1–31 (whether it exists depends on the year).
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

impl BsdTime {
    /// This time in `year`, read as UTC; `None` if the date does not exist in that year
    /// (`Feb 29` in 2023) or the year is outside 0–9999.
    pub fn in_year(self, year: i64) -> Option<Timestamp> {
        if !(0..=9999).contains(&year) {
            return None;
        }
        // One formatter and one validator for all of the crate's calendar arithmetic.
        let text = format!(
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            self.month, self.day, self.hour, self.minute, self.second, self.nanos
        );
        parse_rfc3339(&text)
    }
}

/// The time a line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// A BSD time: the year is to be chosen.
    Bsd(BsdTime),
    /// A complete time (RFC 3339 / RFC 5424).
    Absolute(Timestamp),
    /// RFC 5424's nil timestamp (`-`).
    Nil,
}

/// The parts of one syslog line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header<'a> {
    pub stamp: Stamp,
    /// The host as written (possibly qualified), if any.
    pub host: Option<&'a str>,
    /// The program (tag or APP-NAME) without its pid, if any.
    pub program: Option<&'a str>,
    /// The pid of the tag (`prog[pid]`) or RFC 5424 PROCID, when a number.
    pub pid: Option<u64>,
    /// The message, trimmed.
    pub message: &'a str,
}

/// Is this one of `journalctl`'s own lines in its text output (`-- Boot 1a2b… --`,
/// `-- No entries --`, `-- Logs begin at … --`)?
pub(super) fn is_journalctl_marker(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 6 && line.starts_with("-- ") && line.ends_with(" --")
}

/// Splits a line into its header parts, or says briefly why it is not a syslog line.
pub(super) fn parse(line: &str) -> Result<Header<'_>, &'static str> {
    let rest = strip_priority(line.trim())?;
    if let Some(r) = rest.strip_prefix("1 ") {
        if r.starts_with('-') || r.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return rfc5424(r);
        }
    }
    let (stamp, rest) = if is_iso(rest) { iso(rest)? } else { bsd(rest)? };
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Err("no host name after the timestamp");
    }
    let first = rest.split(char::is_whitespace).next().unwrap_or(rest);
    let (host, rest) = if first.ends_with(':') {
        (None, rest)
    } else {
        (Some(first), &rest[first.len()..])
    };
    let (program, pid, message) = tag(rest.trim_start());
    Ok(Header {
        stamp,
        host,
        program,
        pid,
        message,
    })
}

/// Strips `<PRI>` (0–191) if present.
fn strip_priority(s: &str) -> Result<&str, &'static str> {
    let Some(rest) = s.strip_prefix('<') else {
        return Ok(s);
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let bad = "bad <PRI> (expected <0> to <191>)";
    if !(1..=3).contains(&digits) || rest.as_bytes().get(digits) != Some(&b'>') {
        return Err(bad);
    }
    match rest[..digits].parse::<u32>() {
        Ok(p) if p <= 191 => Ok(&rest[digits + 1..]),
        _ => Err(bad),
    }
}

fn is_iso(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// An RFC 3339 timestamp word.
fn iso(s: &str) -> Result<(Stamp, &str), &'static str> {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let t = parse_rfc3339(&s[..end]).ok_or("bad RFC 3339 timestamp")?;
    Ok((Stamp::Absolute(t), &s[end..]))
}

/// `Mmm dd hh:mm:ss[.frac]`, the day possibly space-padded.
fn bsd(s: &str) -> Result<(Stamp, &str), &'static str> {
    let b = s.as_bytes();
    let month = b
        .get(..3)
        .and_then(|m| {
            MONTHS
                .iter()
                .position(|name| m.eq_ignore_ascii_case(&name[..]))
        })
        .ok_or(
            "expected a timestamp (Mmm dd hh:mm:ss, RFC 3339, or RFC 5424 `<PRI>1 `) at the start",
        )?;
    let bad = "bad BSD timestamp (expected Mmm dd hh:mm:ss)";
    let mut i = 3;
    let spaces = |i: &mut usize| {
        let start = *i;
        while b.get(*i) == Some(&b' ') {
            *i += 1;
        }
        *i > start
    };
    let number = |i: &mut usize, min: usize, max: usize| -> Option<u32> {
        let start = *i;
        let mut n = 0u32;
        while *i - start < max {
            match b.get(*i) {
                Some(c) if c.is_ascii_digit() => n = n * 10 + u32::from(c - b'0'),
                _ => break,
            }
            *i += 1;
        }
        (*i - start >= min).then_some(n)
    };
    let colon = |i: &mut usize| {
        let ok = b.get(*i) == Some(&b':');
        *i += 1;
        ok
    };
    if !spaces(&mut i) {
        return Err(bad);
    }
    let day = number(&mut i, 1, 2).ok_or(bad)?;
    if !spaces(&mut i) {
        return Err(bad);
    }
    let hour = number(&mut i, 2, 2).ok_or(bad)?;
    if !colon(&mut i) {
        return Err(bad);
    }
    let minute = number(&mut i, 2, 2).ok_or(bad)?;
    if !colon(&mut i) {
        return Err(bad);
    }
    let second = number(&mut i, 2, 2).ok_or(bad)?;
    let nanos = crate::time::fraction(b, &mut i).ok_or(bad)?;
    if !(b.get(i).is_none_or(u8::is_ascii_whitespace)
        && (1..=31).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60)
    {
        return Err(bad);
    }
    let time = BsdTime {
        // `position` of 12 months: at most 11.
        month: month as u32 + 1,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    // `i` stopped at an ASCII byte or the end: a character boundary.
    Ok((Stamp::Bsd(time), s.get(i..).unwrap_or("")))
}

/// `prog[pid]: msg` → (program, pid, msg). Without a tag the whole text is the message.
fn tag(s: &str) -> (Option<&str>, Option<u64>, &str) {
    let word = s.split(char::is_whitespace).next().unwrap_or(s);
    match word.find(':') {
        Some(colon) if colon > 0 && colon <= MAX_TAG => {
            let (program, pid) = split_tag(&s[..colon]);
            (program, pid, s[colon + 1..].trim())
        }
        _ => (None, None, s.trim()),
    }
}

/// `prog[pid]` → (`prog`, pid); the pid only when it is a decimal number.
pub(super) fn split_tag(tag: &str) -> (Option<&str>, Option<u64>) {
    let mut program = tag;
    let mut pid = None;
    if let Some(body) = tag.strip_suffix(']') {
        if let Some(open) = body.rfind('[') {
            let inner = &body[open + 1..];
            if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit()) {
                program = &body[..open];
                pid = inner.parse().ok();
            }
        }
    }
    (normalize_program(program), pid)
}

/// The program name as counted: GDM's session worker (`gdm-session-worker
/// [pam/gdm-password]`) logs with the ident `gdm-password]`; the unbalanced `]` goes.
pub(super) fn normalize_program(program: &str) -> Option<&str> {
    let program = program.trim();
    let program = match program.strip_suffix(']') {
        Some(p) if !p.contains('[') => p,
        _ => program,
    };
    (!program.is_empty() && program != "-").then_some(program)
}

/// RFC 5424 after its version: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`.
fn rfc5424(s: &str) -> Result<Header<'_>, &'static str> {
    let truncated = "truncated RFC 5424 header";
    let mut fields = s.splitn(6, ' ');
    let mut next = || fields.next().filter(|f| !f.is_empty()).ok_or(truncated);
    let stamp = match next()? {
        "-" => Stamp::Nil,
        t => Stamp::Absolute(parse_rfc3339(t).ok_or("bad RFC 5424 timestamp")?),
    };
    let host = Some(next()?).filter(|h| *h != "-");
    let program = normalize_program(next()?);
    let procid = next()?;
    let _msgid = next()?;
    let rest = fields.next().unwrap_or("");
    let message = if rest == "-" {
        ""
    } else if let Some(m) = rest.strip_prefix("- ") {
        m
    } else if rest.starts_with('[') {
        structured_data_end(rest)
            .and_then(|end| rest.get(end..))
            .ok_or("unterminated RFC 5424 structured data")?
    } else {
        // No structured data at all (not RFC 5424, but seen): the rest is the message.
        rest
    };
    let message = message.trim();
    Ok(Header {
        stamp,
        host,
        program,
        pid: procid.parse().ok(),
        message: message.strip_prefix('\u{feff}').unwrap_or(message),
    })
}

/// The byte offset just after the last `[id k="v" …]` element at the start of `s`;
/// `\"`, `\]` and `\\` escape inside quoted values.
fn structured_data_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let mut quoted = false;
        loop {
            match b.get(i)? {
                b'\\' if quoted => i += 2,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b']' if !quoted => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    // `i` is just after an ASCII `]`: a character boundary.
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(line: &str) -> Header<'_> {
        parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn bsd_time(line: &str) -> BsdTime {
        match h(line).stamp {
            Stamp::Bsd(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bsd_lines() {
        let x = h("Jan  5 03:04:05 web01.example.com sshd[4242]: Accepted password for bob");
        assert_eq!(x.host, Some("web01.example.com"));
        assert_eq!(x.program, Some("sshd"));
        assert_eq!(x.pid, Some(4242));
        assert_eq!(x.message, "Accepted password for bob");
        let t = bsd_time("Jan  5 03:04:05 h p: m");
        assert_eq!(
            (t.month, t.day, t.hour, t.minute, t.second, t.nanos),
            (1, 5, 3, 4, 5, 0)
        );
        assert_eq!(bsd_time("Dec 31 23:59:59 h p: m").month, 12);
        assert_eq!(bsd_time("Feb 05 00:00:00 h p: m").day, 5);
        assert_eq!(bsd_time("Mar 5 00:00:00 h p: m").day, 5);
        assert_eq!(bsd_time("Mar  5 00:00:00.25 h p: m").nanos, 250_000_000);
        assert_eq!(
            bsd_time("Mar  5 00:00:00.123456789123 h p: m").nanos,
            123_456_789
        );
        assert_eq!(bsd_time("<38>Mar  5 00:00:00 h p: m").day, 5);
        let x = h("Jan  5 03:04:05 host CRON[99]: (root) CMD (run-parts /etc/cron.hourly)");
        assert_eq!((x.program, x.pid), (Some("CRON"), Some(99)));
        assert_eq!(x.message, "(root) CMD (run-parts /etc/cron.hourly)");
        let x = h("Jan  5 03:04:05 host kernel: [  12.345] usb 1-1: new device");
        assert_eq!((x.program, x.pid), (Some("kernel"), None));
        assert_eq!(x.message, "[  12.345] usb 1-1: new device");
    }

    #[test]
    fn tags() {
        let x = h("Jan  5 03:04:05 host gdm-password][1500]: pam_unix(gdm-password:session): x");
        assert_eq!((x.program, x.pid), (Some("gdm-password"), Some(1500)));
        assert_eq!(split_tag("(sd-pam)"), (Some("(sd-pam)"), None));
        assert_eq!(split_tag("prog[abc]"), (Some("prog[abc]"), None));
        assert_eq!(split_tag("[12]"), (None, Some(12)));
        assert_eq!(
            split_tag("/usr/sbin/cron[7]"),
            (Some("/usr/sbin/cron"), Some(7))
        );
        // No tag: the message is all the text after the host.
        let x = h("Jan  5 03:04:05 host -- MARK --");
        assert_eq!((x.program, x.message), (None, "-- MARK --"));
        // No host: the first word is the tag.
        let x = h("Jan  5 03:04:05 sshd[12]: Server listening on 0.0.0.0 port 22.");
        assert_eq!((x.host, x.program, x.pid), (None, Some("sshd"), Some(12)));
        // Empty message.
        let x = h("Jan  5 03:04:05 host sshd[12]:");
        assert_eq!((x.program, x.message), (Some("sshd"), ""));
    }

    #[test]
    fn iso_lines() {
        let x = h("2024-05-01T10:00:00.123456+02:00 db1 sshd[77]: Accepted publickey for a");
        assert_eq!(
            x.stamp,
            Stamp::Absolute(parse_rfc3339("2024-05-01T08:00:00.123456Z").unwrap())
        );
        assert_eq!(
            (x.host, x.program, x.pid),
            (Some("db1"), Some("sshd"), Some(77))
        );
        let x = h("<86>2024-05-01T10:00:00+0000 db1 su: x");
        assert_eq!(x.program, Some("su"));
    }

    #[test]
    fn rfc5424_lines() {
        let x = h("<34>1 2024-05-01T10:00:00Z mymachine.example.com sshd 4321 - - Accepted x");
        assert_eq!(
            x.stamp,
            Stamp::Absolute(parse_rfc3339("2024-05-01T10:00:00Z").unwrap())
        );
        assert_eq!(x.host, Some("mymachine.example.com"));
        assert_eq!(
            (x.program, x.pid, x.message),
            (Some("sshd"), Some(4321), "Accepted x")
        );
        let x = h(
            r#"<165>1 2024-05-01T10:00:00.003Z h app - ID47 [ex@32473 iut="3" a="x\"]y"][b@1 c="d"] BOMmsg"#,
        );
        assert_eq!((x.program, x.pid, x.message), (Some("app"), None, "BOMmsg"));
        let x = h("<34>1 - - - - - -");
        assert_eq!(
            (x.stamp, x.host, x.program, x.message),
            (Stamp::Nil, None, None, "")
        );
        let x = h("<34>1 2024-05-01T10:00:00Z h a 1 m - \u{feff}text");
        assert_eq!(x.message, "text");
        assert!(parse("<34>1 2024-05-01T10:00:00Z h a").is_err());
        assert!(parse("<34>1 2024-05-01T10:00:00Z h a 1 m [x a=\"]").is_err());
        assert!(parse("<34>1 2024-13-01T10:00:00Z h a 1 m -").is_err());
    }

    #[test]
    fn not_syslog() {
        for line in [
            "",
            "hello world",
            "{\"a\":1}",
            "Jan",
            "Jan 5",
            "Jan 5 10:00",
            "Jan 32 10:00:00 h p: m",
            "Jan  5 24:00:00 h p: m",
            "Jan  5 10:00:00",
            "Jan  5 10:00:00x h p: m",
            "Jan  5 10:00:00. h p: m",
            "Janx 5 10:00:00 h p: m",
            "<192>Jan  5 10:00:00 h p: m",
            "<>Jan  5 10:00:00 h p: m",
            "<1234>Jan  5 10:00:00 h p: m",
            "2024-05-01 10:00:00 h p: m",
            "2024-05-01T10:00:00Q h p: m",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
    }

    #[test]
    fn markers() {
        assert!(is_journalctl_marker("-- Boot 3b0e6c1a2f --"));
        assert!(is_journalctl_marker("-- No entries --"));
        assert!(!is_journalctl_marker("-- MARK"));
        assert!(!is_journalctl_marker("-- --"));
    }

    #[test]
    fn years() {
        let t = BsdTime {
            month: 2,
            day: 29,
            hour: 1,
            minute: 2,
            second: 3,
            nanos: 4_000,
        };
        assert_eq!(
            t.in_year(2024).map(|t| t.to_string()).as_deref(),
            Some("2024-02-29T01:02:03.000004Z")
        );
        assert_eq!(t.in_year(2023), None);
        assert_eq!(t.in_year(-1), None);
        assert_eq!(t.in_year(10_000), None);
    }
}
