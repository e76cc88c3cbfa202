//! Sigma string values: wildcards, the escape rule, and the value transformations that
//! modifiers apply (`contains`, `windash`, `base64offset`, `wide`, `expand`, ...).
//!
//! A value is parsed once into tokens, so that a `*` produced by `contains` is never
//! confused with an escaped `\*` in the text (pySigma issue #431). Literal tokens hold
//! bytes because the UTF-16 modifiers produce bytes that are only text again after
//! `base64`.

/// One token of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tok {
    /// Literal bytes (UTF-8 text unless an encoding modifier ran).
    Lit(Vec<u8>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A Sigma string: a sequence of tokens with adjacent literals merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern(pub Vec<Tok>);

/// Why a value's variants cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// `windash` on a value with more than a dozen word-starting dashes.
    #[error("`windash` expands this value to more than {MAX_VARIANTS} variants")]
    TooManyVariants,
}

/// Most variants a value may expand to (`windash`, `expand`).
pub const MAX_VARIANTS: usize = 4096;

/// Longest value an encoding modifier (`wide`, `utf16*`, `base64`, `base64offset`) may
/// produce, in bytes (E404 past it).
pub const MAX_ENCODED_BYTES: usize = 16 * 1024;

impl Pattern {
    /// Parses rule text with the wildcard and backslash rules of Sigma: `\` before `*`, `?`
    /// or `\` makes that character literal; before anything else, and at the end, the
    /// backslash itself is literal.
    pub fn parse(text: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        p.push_char(n);
                    }
                    _ => p.push_char('\\'),
                },
                '*' => p.push(Tok::Star),
                '?' => p.push(Tok::One),
                c => p.push_char(c),
            }
        }
        p
    }

    /// A pattern matching exactly `text` (no wildcards).
    pub fn literal(text: &str) -> Pattern {
        let mut p = Pattern::default();
        p.push(Tok::Lit(text.as_bytes().to_vec()));
        p
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push(Tok::Lit(c.encode_utf8(&mut buf).as_bytes().to_vec()));
    }

    /// Appends a token, merging literals and collapsing `**`.
    pub fn push(&mut self, t: Tok) {
        match (self.0.last_mut(), t) {
            (Some(Tok::Lit(a)), Tok::Lit(b)) => a.extend_from_slice(&b),
            (Some(Tok::Star), Tok::Star) => {}
            (_, Tok::Lit(b)) if b.is_empty() => {}
            (_, t) => self.0.push(t),
        }
    }

    fn extend(&mut self, other: Pattern) {
        for t in other.0 {
            self.push(t);
        }
    }

    /// `contains`: `*value*` (no doubled star).
    pub fn contains(self) -> Pattern {
        self.startswith().endswith()
    }

    /// `startswith`: `value*`.
    pub fn startswith(mut self) -> Pattern {
        self.push(Tok::Star);
        self
    }

    /// `endswith`: `*value`.
    pub fn endswith(self) -> Pattern {
        let mut p = Pattern(vec![Tok::Star]);
        p.extend(self);
        p
    }

    /// The number of literal bytes (wildcards not counted).
    pub fn literal_len(&self) -> usize {
        self.0
            .iter()
            .map(|t| match t {
                Tok::Lit(b) => b.len(),
                _ => 0,
            })
            .sum()
    }

    /// The literal bytes of a wildcard-free pattern.
    pub fn literal_bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for t in &self.0 {
            match t {
                Tok::Lit(b) => out.extend_from_slice(b),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The text of a pattern whose literals are all UTF-8, for printing.
    #[cfg(test)]
    pub fn to_sigma(&self) -> String {
        let mut s = String::new();
        for t in &self.0 {
            match t {
                Tok::Lit(b) => {
                    for c in String::from_utf8_lossy(b).chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                }
                Tok::Star => s.push('*'),
                Tok::One => s.push('?'),
            }
        }
        s
    }

    /// `windash`: every `-` or `/` that starts a word (preceded by a non-word character or
    /// the start, followed by a word character) becomes each of `-`, `/`, `–`, `—`, `―`.
    pub fn windash(&self) -> Result<Vec<Pattern>, PatternError> {
        const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
        // Flatten to (char | wildcard) items to see word boundaries across tokens.
        enum Item {
            C(char),
            W(Tok),
        }
        let mut items = Vec::new();
        for t in &self.0 {
            match t {
                Tok::Lit(b) => items.extend(String::from_utf8_lossy(b).chars().map(Item::C)),
                t => items.push(Item::W(t.clone())),
            }
        }
        let is_word =
            |i: Option<&Item>| matches!(i, Some(Item::C(c)) if c.is_alphanumeric() || *c == '_');
        let mut variants = vec![Pattern::default()];
        for (i, item) in items.iter().enumerate() {
            match item {
                Item::C(c @ ('-' | '/'))
                    if !is_word(i.checked_sub(1).and_then(|j| items.get(j)))
                        && is_word(items.get(i + 1)) =>
                {
                    if variants.len() * DASHES.len() > MAX_VARIANTS {
                        return Err(PatternError::TooManyVariants);
                    }
                    let _ = c;
                    variants = variants
                        .into_iter()
                        .flat_map(|v| {
                            DASHES.iter().map(move |d| {
                                let mut v = v.clone();
                                v.push_char(*d);
                                v
                            })
                        })
                        .collect();
                }
                Item::C(c) => variants.iter_mut().for_each(|v| v.push_char(*c)),
                Item::W(t) => variants.iter_mut().for_each(|v| v.push(t.clone())),
            }
        }
        Ok(variants)
    }

    /// Encodes every literal as UTF-16 (`wide`/`utf16le`, `utf16be`, or `utf16` with a BOM).
    pub fn utf16(&self, big_endian: bool, bom: bool) -> Pattern {
        let mut out = Pattern::default();
        if bom {
            out.push(Tok::Lit(if big_endian {
                vec![0xFE, 0xFF]
            } else {
                vec![0xFF, 0xFE]
            }));
        }
        for t in &self.0 {
            match t {
                Tok::Lit(b) => {
                    let text = String::from_utf8_lossy(b);
                    let mut bytes = Vec::with_capacity(b.len() * 2);
                    for unit in text.encode_utf16() {
                        let pair = if big_endian {
                            unit.to_be_bytes()
                        } else {
                            unit.to_le_bytes()
                        };
                        bytes.extend_from_slice(&pair);
                    }
                    out.push(Tok::Lit(bytes));
                }
                t => out.push(t.clone()),
            }
        }
        out
    }

    /// `base64`: the Base64 of the value's bytes. The value must have no wildcards.
    pub fn base64(&self) -> Option<Pattern> {
        let bytes = self.literal_bytes()?;
        Some(Pattern::literal(&base64_encode(&bytes)))
    }

    /// `base64offset`: the three Base64 renderings of the value at byte offsets 0, 1 and 2,
    /// trimmed of the characters that depend on the surrounding bytes.
    pub fn base64offset(&self) -> Option<Vec<Pattern>> {
        let bytes = self.literal_bytes()?;
        const START: [usize; 3] = [0, 2, 3];
        const END_CUT: [usize; 3] = [0, 3, 2];
        let mut out = Vec::new();
        for (i, start) in START.iter().enumerate() {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(&bytes);
            let enc = base64_encode(&padded);
            let cut = END_CUT[(bytes.len() + i) % 3];
            let end = enc.len().saturating_sub(cut);
            let piece = enc.get(*start..end).unwrap_or_default();
            out.push(Pattern::literal(piece));
        }
        Some(out)
    }

    /// `expand`: replaces each `%name%` in the literals by each value `lookup` gives for
    /// it (values are Sigma strings, wildcards honoured); `\%` is a literal percent.
    /// Returns the unknown placeholder's name on failure.
    pub fn expand(
        &self,
        lookup: &dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Result<Vec<Pattern>, ExpandError> {
        let mut variants = vec![Pattern::default()];
        for t in &self.0 {
            let Tok::Lit(b) = t else {
                variants.iter_mut().for_each(|v| v.push(t.clone()));
                continue;
            };
            let text = String::from_utf8_lossy(b).into_owned();
            let mut rest = text.as_str();
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix("\\%") {
                    variants.iter_mut().for_each(|v| v.push_char('%'));
                    rest = after;
                    continue;
                }
                if let Some(after) = rest.strip_prefix('%') {
                    if let Some(end) = after.find('%') {
                        let name = &after[..end];
                        let values =
                            lookup(name).ok_or_else(|| ExpandError::Unknown(name.to_string()))?;
                        if values.is_empty() || variants.len() * values.len() > MAX_VARIANTS {
                            return Err(ExpandError::TooMany(name.to_string()));
                        }
                        variants = variants
                            .into_iter()
                            .flat_map(|v| {
                                values.iter().map(move |val| {
                                    let mut v = v.clone();
                                    v.extend(Pattern::parse(val));
                                    v
                                })
                            })
                            .collect();
                        rest = &after[end + 1..];
                        continue;
                    }
                }
                let c = rest.chars().next().unwrap_or('%');
                variants.iter_mut().for_each(|v| v.push_char(c));
                rest = &rest[c.len_utf8()..];
            }
        }
        Ok(variants)
    }
}

/// Why `expand` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// The placeholder is not configured.
    Unknown(String),
    /// The placeholder has no values, or the expansion is too large.
    TooMany(String),
}

/// Standard Base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Tok {
        Tok::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn escape_rule() {
        // Cases from the Sigma specification notes (pySigma SigmaString behaviour).
        assert_eq!(
            Pattern::parse(r"C:\Windows\System32").0,
            vec![lit(r"C:\Windows\System32")]
        );
        assert_eq!(Pattern::parse(r"\\").0, vec![lit(r"\")]);
        assert_eq!(Pattern::parse(r"a\*b").0, vec![lit("a*b")]);
        assert_eq!(
            Pattern::parse(r"a\\*b").0,
            vec![lit(r"a\"), Tok::Star, lit("b")]
        );
        assert_eq!(Pattern::parse(r"a\\\*b").0, vec![lit(r"a\*b")]);
        assert_eq!(Pattern::parse(r"\\\b").0, vec![lit(r"\\b")]);
        assert_eq!(Pattern::parse(r"\\\\b").0, vec![lit(r"\\b")]);
        assert_eq!(Pattern::parse(r"trail\").0, vec![lit(r"trail\")]);
        assert_eq!(
            Pattern::parse("a?b**").0,
            vec![lit("a"), Tok::One, lit("b"), Tok::Star]
        );
    }

    #[test]
    fn contains_keeps_trailing_backslash_literal() {
        assert_eq!(
            Pattern::parse(r"x\").contains().0,
            vec![Tok::Star, lit(r"x\"), Tok::Star]
        );
        assert_eq!(
            Pattern::parse("*x*").contains().0,
            vec![Tok::Star, lit("x"), Tok::Star]
        );
    }

    #[test]
    fn base64_variants() {
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        let v: Vec<String> = Pattern::parse("foobar")
            .base64offset()
            .unwrap()
            .iter()
            .map(Pattern::to_sigma)
            .collect();
        assert_eq!(v, ["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]);
        assert!(Pattern::parse("foo*").base64().is_none());
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(
            Pattern::parse("cmd").utf16(false, false).0,
            vec![Tok::Lit(b"c\0m\0d\0".to_vec())]
        );
        assert_eq!(
            Pattern::parse("cmd").utf16(true, false).0,
            vec![Tok::Lit(b"\0c\0m\0d".to_vec())]
        );
        assert_eq!(
            Pattern::parse("a").utf16(false, true).0,
            vec![Tok::Lit(vec![0xFF, 0xFE, b'a', 0])]
        );
        assert_eq!(
            Pattern::parse("cmd")
                .utf16(false, false)
                .base64()
                .unwrap()
                .to_sigma(),
            "YwBtAGQA"
        );
    }

    #[test]
    fn windash_expands_word_starts_only() {
        let v: Vec<String> = Pattern::parse("net -u x-y")
            .windash()
            .unwrap()
            .iter()
            .map(Pattern::to_sigma)
            .collect();
        assert_eq!(
            v,
            [
                "net -u x-y",
                "net /u x-y",
                "net \u{2013}u x-y",
                "net \u{2014}u x-y",
                "net \u{2015}u x-y"
            ]
        );
        assert_eq!(Pattern::parse("a - b").windash().unwrap().len(), 1);
    }

    #[test]
    fn expand_placeholders() {
        let lookup = |n: &str| (n == "DCs").then(|| vec!["DC1".to_string(), "DC2*".to_string()]);
        let v: Vec<String> = Pattern::parse("%DCs%$")
            .expand(&lookup)
            .unwrap()
            .iter()
            .map(Pattern::to_sigma)
            .collect();
        assert_eq!(v, ["DC1$", "DC2*$"]);
        assert_eq!(
            Pattern::parse("%Nope%").expand(&lookup),
            Err(ExpandError::Unknown("Nope".into()))
        );
        let v = Pattern::parse(r"100\%").expand(&lookup).unwrap();
        assert_eq!(v[0].to_sigma(), "100%");
    }
}
