//! A validating JSON scanner over one line: finds the members of an object and the extent
//! of each value without building anything, so that an event is read by projection (only
//! the fields the rules use are looked at) and strings are borrowed from the line.
//!
//! It accepts exactly what `serde_json` accepts (strict RFC 8259: no control characters in
//! strings, valid escapes and surrogate pairs, numbers that fit an `f64`, nesting up to 128
//! levels); on any error the caller asks `serde_json` for its message.

/// The kind of a JSON value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num,
    /// A string (the span excludes the quotes).
    Str {
        /// It has backslash escapes (must be unescaped before use).
        escaped: bool,
    },
    /// An array (the span includes the brackets).
    Array,
    /// An object (the span includes the braces).
    Object,
}

/// A value in the line: its kind and byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// What it is.
    pub kind: Kind,
    /// Start byte (after the quote for strings).
    pub start: u32,
    /// End byte (exclusive; before the quote for strings).
    pub end: u32,
}

impl Span {
    /// The raw text of the span in `text`.
    pub fn raw<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// The scan failed; ask `serde_json` why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// `serde_json`'s recursion limit: 127 nested arrays / objects.
const MAX_DEPTH: usize = 127;

/// Bytes that end a run of plain string content.
/// The bytes of `w` (eight, little-endian) that end a run of plain string bytes: `"`, `\\`
/// and control characters. The lowest flagged byte is the first such byte (a borrow only
/// flags bytes above a true one), which is all the scanner reads.
fn stop_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

const STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Invalid> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A string starting at the opening quote; returns (content start, content end,
    /// escaped) and leaves the cursor after the closing quote.
    fn string(&mut self) -> Result<(usize, usize, bool), Invalid> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Skip plain bytes quickly, eight at a time, then one by one: only quotes,
            // backslashes and control characters stop.
            while let Some(w) = self.b.get(self.i..self.i + 8).and_then(|c| c.try_into().ok()) {
                let stops = stop_bytes(u64::from_le_bytes(w));
                if stops != 0 {
                    self.i += (stops.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            while self.b.get(self.i).is_some_and(|c| !STOP[usize::from(*c)]) {
                self.i += 1;
            }
            let c = *self.b.get(self.i).ok_or(Invalid)?;
            match c {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Ok((start, end, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.b.get(self.i).ok_or(Invalid)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xDC00..0xE000).contains(&hi) {
                                return Err(Invalid);
                            }
                            if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(Invalid);
                                }
                                self.i += 1;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(Invalid);
                                }
                            }
                        }
                        _ => return Err(Invalid),
                    }
                }
                0..=0x1F => return Err(Invalid),
                _ => self.i += 1,
            }
        }
    }

    /// `uXXXX` after a backslash (cursor on the `u`): the code unit.
    fn hex4(&mut self) -> Result<u32, Invalid> {
        let digits = self.b.get(self.i + 1..self.i + 5).ok_or(Invalid)?;
        let mut v = 0u32;
        for d in digits {
            v = v * 16 + char::from(*d).to_digit(16).ok_or(Invalid)?;
        }
        self.i += 5;
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), Invalid> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Invalid),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            float = true;
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            float = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        if float || self.i - start > 19 {
            // serde_json rejects numbers beyond the f64 range.
            let text = self.s.get(start..self.i).ok_or(Invalid)?;
            if !text.parse::<f64>().map_err(|_| Invalid)?.is_finite() {
                return Err(Invalid);
            }
        }
        Ok(())
    }

    /// Any value; returns its span and leaves the cursor after it.
    fn value(&mut self, depth: usize) -> Result<Span, Invalid> {
        let start = self.i;
        let kind = match self.peek().ok_or(Invalid)? {
            b'"' => {
                let (s, e, escaped) = self.string()?;
                return Ok(span(Kind::Str { escaped }, s, e));
            }
            b'{' => {
                self.object(depth + 1, &mut |_, _, _| {})?;
                Kind::Object
            }
            b'[' => {
                self.array(depth + 1, &mut |_| {})?;
                Kind::Array
            }
            b't' => {
                self.literal(b"true")?;
                Kind::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Kind::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Kind::Null
            }
            _ => {
                self.number()?;
                Kind::Num
            }
        };
        Ok(span(kind, start, self.i))
    }

    /// An object at `{`: calls `f(key, key_escaped, value)` for each member.
    fn object(&mut self, depth: usize, f: &mut dyn FnMut(&str, bool, Span)) -> Result<(), Invalid> {
        if self.open(depth, b'}')? {
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Invalid);
            }
            let (ks, ke, kesc) = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(Invalid);
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth)?;
            // Quotes are ASCII: the key's bounds are character boundaries.
            let key = self.s.get(ks..ke).ok_or(Invalid)?;
            f(key, kesc, v);
            if !self.separator(b'}')? {
                return Ok(());
            }
        }
    }

    /// After a member or element: `,` (true: another follows) or the closing bracket
    /// (false: done).
    fn separator(&mut self, close: u8) -> Result<bool, Invalid> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(Invalid),
        }
    }

    /// At an opening bracket: checks the depth and steps in; true when the container is
    /// empty (and already closed).
    fn open(&mut self, depth: usize, close: u8) -> Result<bool, Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// An array at `[`: calls `f(element)` for each element.
    fn array(&mut self, depth: usize, f: &mut dyn FnMut(Span)) -> Result<(), Invalid> {
        if self.open(depth, b']')? {
            return Ok(());
        }
        loop {
            let v = self.value(depth)?;
            f(v);
            if !self.separator(b']')? {
                return Ok(());
            }
        }
    }
}

fn span(kind: Kind, start: usize, end: usize) -> Span {
    Span {
        kind,
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

/// Validates a whole document and returns the span of its top-level value (for tests
/// and the projection fuzz target).
#[cfg(any(test, feature = "internals"))]
pub fn document(text: &str) -> Result<Span, Invalid> {
    top_members(text, &mut |_, _, _| {})
}

/// Validates a whole document in one pass and, when it is an object, calls
/// `f(key, key_escaped, value)` for each top-level member. Returns the document's span.
pub fn top_members(text: &str, f: &mut dyn FnMut(&str, bool, Span)) -> Result<Span, Invalid> {
    if text.len() >= u32::MAX as usize {
        return Err(Invalid);
    }
    let mut c = Cursor {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    c.ws();
    let start = c.i;
    let v = if c.peek() == Some(b'{') {
        c.object(1, f)?;
        span(Kind::Object, start, c.i)
    } else {
        c.value(0)?
    };
    c.ws();
    if c.i != text.len() {
        return Err(Invalid);
    }
    Ok(v)
}

/// Calls `f(key, key_escaped, value)` for each member of the object spanning `obj` in
/// `text` (already validated). Spans are relative to `text`.
pub fn members(text: &str, obj: Span, f: &mut dyn FnMut(&str, bool, Span)) {
    let mut c = Cursor {
        s: text,
        b: text.as_bytes(),
        i: obj.start as usize,
    };
    if c.peek() == Some(b'{') {
        let _ = c.object(1, f);
    }
}

/// Calls `f(element)` for each element of the array spanning `arr` in `text`.
pub fn elements(text: &str, arr: Span, f: &mut dyn FnMut(Span)) {
    let mut c = Cursor {
        s: text,
        b: text.as_bytes(),
        i: arr.start as usize,
    };
    if c.peek() == Some(b'[') {
        let _ = c.array(1, f);
    }
}

/// Appends the unescaped text of a (validated) escaped string's content to `out`.
pub fn unescape(raw: &str, out: &mut String) {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut from = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&raw[from..i]);
        let (c, next) = escape_at(raw, i + 1);
        out.push(c);
        i = next;
        from = i;
    }
    out.push_str(&raw[from.min(raw.len())..]);
}

/// The character of the escape whose letter is at `raw[i]` (just after its backslash),
/// and where the text goes on after it. A surrogate pair is one character; a malformed
/// or lone escape becomes U+FFFD.
fn escape_at(raw: &str, i: usize) -> (char, usize) {
    let esc = raw.as_bytes().get(i).copied().unwrap_or(b'\\');
    let mut i = i + 1;
    let hex = |at: usize| {
        raw.get(at..at + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .unwrap_or(0xFFFD)
    };
    let c = match esc {
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex(i);
            i += 4;
            let c = if (0xD800..0xDC00).contains(&hi) {
                let lo = hex(i + 2);
                i += 6;
                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
            } else {
                hi
            };
            char::from_u32(c).unwrap_or('\u{FFFD}')
        }
        other => char::from(other),
    };
    (c, i)
}

/// Calls `f` on the text of every string and number value in the document (not on keys),
/// in order, stopping when it returns true. Strings are unescaped (into `buf`).
pub fn any_text(text: &str, v: Span, buf: &mut String, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v.kind {
        Kind::Str { escaped } => {
            let raw = v.raw(text);
            if escaped {
                buf.clear();
                unescape(raw, buf);
                f(buf)
            } else {
                f(raw)
            }
        }
        Kind::Num => {
            let mut n = String::new();
            f(number_text(v.raw(text), &mut n))
        }
        // Walked in place: no list of members is built on the heap (keyword search runs on
        // every event).
        Kind::Object => any_text_of_members(text, v, buf, f),
        Kind::Array => {
            let mut hit = false;
            elements(text, v, &mut |s| hit = hit || any_text(text, s, buf, f));
            hit
        }
        Kind::Null | Kind::Bool(_) => false,
    }
}

/// Members of an object whose repeated keys are found on the stack; a larger object is
/// checked member by member.
const MEMBERS_ON_STACK: usize = 64;

/// `any_text` over an object's members. A repeated key's earlier values are not in the event
/// (serde_json keeps the last one, and so does projection, `Projector::load`): they are not
/// searched, so that keyword search sees the event the field matchers see (a line and its
/// parsed `Value` gave different keyword matches).
fn any_text_of_members(
    text: &str,
    obj: Span,
    buf: &mut String,
    f: &mut dyn FnMut(&str) -> bool,
) -> bool {
    // (key hash, key start, key length, key escaped, value)
    let mut seen = [(0u64, 0u32, 0u32, false, span(Kind::Null, 0, 0)); MEMBERS_ON_STACK];
    let mut n = 0;
    let mut more = false;
    members(text, obj, &mut |k, escaped, s| {
        if n < MEMBERS_ON_STACK {
            let start = k.as_ptr() as usize - text.as_ptr() as usize;
            seen[n] = (
                key_hash(k, escaped),
                start as u32,
                k.len() as u32,
                escaped,
                s,
            );
            n += 1;
        } else {
            more = true;
        }
    });
    let key = |m: &(u64, u32, u32, bool, Span)| {
        text.get(m.1 as usize..(m.1 + m.2) as usize)
            .unwrap_or_default()
    };
    if !more {
        return (0..n).any(|i| {
            let m = &seen[i];
            let repeated = seen[i + 1..n]
                .iter()
                .any(|l| l.0 == m.0 && key_eq(key(l), l.3, key(m), m.3));
            !repeated && any_text(text, m.4, buf, f)
        });
    }
    // Beyond the stack: each member's key is looked for among the members after it.
    let mut hit = false;
    let mut i = 0usize;
    members(text, obj, &mut |k, escaped, s| {
        if hit {
            return;
        }
        let mut j = 0usize;
        let mut repeated = false;
        members(text, obj, &mut |k2, escaped2, _| {
            repeated = repeated || (j > i && key_eq(k, escaped, k2, escaped2));
            j += 1;
        });
        i += 1;
        hit = !repeated && any_text(text, s, buf, f);
    });
    hit
}

/// The characters of a (validated) string's content, unescaped.
fn unescaped_chars(raw: &str, escaped: bool) -> impl Iterator<Item = char> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = raw.get(i..)?.chars().next()?;
        i += c.len_utf8();
        if c != '\\' || !escaped {
            return Some(c);
        }
        let (c, next) = escape_at(raw, i);
        i = next;
        Some(c)
    })
}

/// FNV-1a of a key's unescaped text.
fn key_hash(raw: &str, escaped: bool) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |b: u8| h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    if escaped {
        let mut utf8 = [0u8; 4];
        for c in unescaped_chars(raw, true) {
            c.encode_utf8(&mut utf8).bytes().for_each(&mut eat);
        }
    } else {
        raw.bytes().for_each(eat);
    }
    h
}

/// Do two keys (raw, escaped or not) have the same text?
pub fn key_eq(a: &str, a_escaped: bool, b: &str, b_escaped: bool) -> bool {
    if !a_escaped && !b_escaped {
        return a == b;
    }
    unescaped_chars(a, a_escaped).eq(unescaped_chars(b, b_escaped))
}

/// The text a string matcher sees for a number: as `serde_json` writes it after reading
/// (`1e3` → `1000.0`, `1.50` → `1.5`); plain integers as written, without allocating.
pub fn number_text<'a>(raw: &'a str, buf: &'a mut String) -> &'a str {
    if is_plain_number(raw) {
        return raw;
    }
    buf.clear();
    match serde_json::from_str::<serde_json::Number>(raw) {
        Ok(n) => buf.push_str(&n.to_string()),
        Err(_) => buf.push_str(raw),
    }
    buf
}

/// Is the number `raw` written as [`number_text`] gives it (a plain integer)?
pub fn is_plain_number(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && digits.len() <= 18
        && raw != "-0"
}

/// Are the escapes of `line` (a JSON text) only `\\`, `\"` and those of control
/// characters, so that a text unescaped from it differs from its raw form only there?
pub fn escapes_are_plain(line: &str) -> bool {
    let b = line.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\\', &b[from..]) {
        let at = from + i;
        match b.get(at + 1) {
            Some(b'u' | b'/') => return false,
            Some(_) => from = at + 2,
            None => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(text: &str) {
        let ours = document(text).is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(text).is_ok();
        assert_eq!(ours, theirs, "{text:?}");
    }

    #[test]
    fn accepts_what_serde_json_accepts() {
        for t in [
            r#"{"a":1}"#,
            r#" { "a" : [1, 2.5, -0, 1e3, "x\"y", {"b": null}], "c": true } "#,
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\ud83d"}"#,
            r#"{"a":"\ude00"}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e400}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"[1,2]"#,
            r#""s""#,
            "",
            "{",
            r#"{"a":{"b":{"c":[[]]}}}"#,
        ] {
            agrees(t);
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        agrees(&deep);
        let ok = "[".repeat(127) + &"]".repeat(127);
        agrees(&format!("{{\"a\":{ok}}}"));
        let limit = "[".repeat(128) + &"]".repeat(128);
        agrees(&format!("{{\"a\":{limit}}}"));
    }

    #[test]
    fn unescapes_like_serde_json() {
        for raw in [
            r#"a\\b"#,
            r#"\"q\""#,
            r#"\u00e9\n\t"#,
            r#"\ud83d\ude00!"#,
            r#"\/"#,
        ] {
            let mut out = String::new();
            unescape(raw, &mut out);
            let theirs: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
            assert_eq!(out, theirs);
        }
    }

    #[test]
    fn number_texts() {
        let mut b = String::new();
        assert_eq!(number_text("42", &mut b), "42");
        assert_eq!(number_text("-7", &mut b), "-7");
        assert_eq!(number_text("1e3", &mut b), "1000.0");
        assert_eq!(number_text("1.50", &mut b), "1.5");
        for raw in ["0", "-0", "12345678901234567890", "0.1", "-2.5e-3"] {
            let theirs = serde_json::from_str::<serde_json::Number>(raw)
                .unwrap()
                .to_string();
            assert_eq!(number_text(raw, &mut b), theirs, "{raw}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_serde_json_on_any_text(s in "[ -~]{0,40}") {
            agrees(&s);
            agrees(&format!("{{\"k\":{s}}}"));
        }

        #[test]
        fn agrees_with_serde_json_on_json_like_text(
            s in r#"[{}\[\]",:0-9eE.+\-tfnrul\\/ \t\n\u{1}\u{7f}é€😀a-z]{0,48}"#
        ) {
            agrees(&s);
            agrees(&format!("{{\"k\":\"{s}\"}}"));
            agrees(&format!("{{{s}}}"));
        }

        #[test]
        fn projection_reads_what_serde_json_reads(
            key in "[a-c]{1,2}", v in r#"[a-zA-Z0-9 \\"é]{0,8}"#, n in -1000i64..1000
        ) {
            let value = serde_json::json!({"x": {key.clone(): v.clone()}, "n": n, key.clone(): [v.clone(), n]});
            let text = value.to_string();
            let mut table = crate::event::FieldTable::default();
            let slots = [table.intern("n"), table.intern(&format!("x.{key}")), table.intern(&key)];
            let mut p = crate::event::Projector::new(&table, &[], &[]);
            proptest::prop_assert!(p.load(&text).is_ok());
            let f = p.fields(&text);
            let as_text = |slot| match f.get(slot) {
                Some(crate::event::Val::Scalar(s)) => s.text().map(str::to_string),
                Some(crate::event::Val::Array(span)) => Some(f.raw(span).to_string()),
                _ => None,
            };
            proptest::prop_assert_eq!(as_text(slots[0]), Some(n.to_string()));
            proptest::prop_assert_eq!(as_text(slots[1]), Some(v.clone()));
            proptest::prop_assert_eq!(
                as_text(slots[2]),
                Some(serde_json::to_string(&serde_json::json!([v, n])).unwrap_or_default())
            );
        }
    }
}
