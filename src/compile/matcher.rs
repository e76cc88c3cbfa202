//! String matchers: the string values of one field item merged by shape.
//!
//! Exact values go into a hash set, `value*` and `*value` into prefix/suffix lists,
//! `*value*` into one Aho-Corasick automaton, and anything with inner wildcards into one
//! anchored regex set. Case-insensitive matching compares lower-cased text on both sides.

use crate::diag::{Code, Diagnostic};
use crate::event::lower;
use crate::pattern::{Pattern, Tok};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, StartKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Compiled regex programs larger than this are rejected (E401).
pub const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// Why merged patterns do not compile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatcherError {
    /// The wildcard patterns' regex set is too large.
    #[error(transparent)]
    Regex(#[from] regex::Error),
    /// An Aho-Corasick automaton is too large.
    #[error(transparent)]
    Automaton(#[from] aho_corasick::BuildError),
}

/// A merged set of Sigma string patterns (OR).
#[derive(Debug, Clone)]
pub struct StrMatcher {
    cased: bool,
    any: bool,
    exact: ahash::AHashSet<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    contains: Vec<String>,
    automaton: Option<AhoCorasick>,
    /// Anchored automaton over the prefixes, when there are many.
    prefix_automaton: Option<AhoCorasick>,
    /// Anchored automaton over the reversed suffixes, when there are many.
    suffix_automaton: Option<AhoCorasick>,
    globs: Vec<String>,
    glob_set: Option<RegexSet>,
    /// For case-insensitive matchers made only of ASCII `contains` patterns (keyword lists):
    /// an ASCII-case-insensitive automaton that reads ASCII text as it is, without lowering.
    ascii_ci: Option<AhoCorasick>,
    /// The same patterns as JSON writes them inside a string (`\\` and `\"` escaped), read
    /// case-insensitively: a filter over a whole event line ([`Self::raw_line_filter`]).
    raw_line: Option<RawLineFilter>,
}

/// Lower-cased ASCII `contains` patterns as JSON writes them inside a string, searched in a
/// lower-cased event line (a keyword predicate's filter, and the rule index's line facts):
/// up to [`RAW_FINDERS_MAX`] with `memchr`'s SIMD substring search each, more with one
/// automaton. On session lines a substring search costs ~175 instructions a pattern and an
/// automaton ~3,100 whatever their number (a line holds the bytes of `dc0` in every key and
/// time, which stops the automata's prefilters at every other byte).
#[derive(Debug, Clone)]
pub enum RawLineFilter {
    /// One finder per pattern.
    Finders(Vec<memchr::memmem::Finder<'static>>),
    /// One automaton over all of them.
    Automaton(AhoCorasick),
}

/// Up to this many patterns are searched one by one.
const RAW_FINDERS_MAX: usize = 16;

/// Patterns as JSON writes them inside a string (`\\` and `\"` escaped; the patterns hold no
/// control characters).
fn json_escaped(lowered: &[String]) -> Vec<String> {
    lowered
        .iter()
        .map(|c| c.replace('\\', "\\\\").replace('"', "\\\""))
        .collect()
}

impl RawLineFilter {
    fn new(lowered: &[String]) -> Result<RawLineFilter, MatcherError> {
        RawLineFilter::over(&json_escaped(lowered))
    }

    /// A search for `patterns`, already as JSON writes them.
    pub(crate) fn over(patterns: &[String]) -> Result<RawLineFilter, MatcherError> {
        Ok(if patterns.len() <= RAW_FINDERS_MAX {
            RawLineFilter::Finders(
                patterns
                    .iter()
                    .map(|p| memchr::memmem::Finder::new(p.as_bytes()).into_owned())
                    .collect(),
            )
        } else {
            // Standard semantics: every overlapping match can be reported.
            RawLineFilter::Automaton(
                automaton_builder(patterns)
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(patterns)?,
            )
        })
    }

    /// Calls `f` with the index of each pattern `lowered_line` holds (an automaton's more
    /// than once when a pattern occurs more than once).
    pub(crate) fn each_match(&self, lowered_line: &[u8], f: &mut dyn FnMut(usize)) {
        match self {
            RawLineFilter::Finders(finders) => {
                for (i, finder) in finders.iter().enumerate() {
                    if finder.find(lowered_line).is_some() {
                        f(i);
                    }
                }
            }
            // Most lines hold no pattern: one search that can stop early says so
            // (reporting every overlapping match costs ~4K instructions per line).
            RawLineFilter::Automaton(ac) if ac.is_match(lowered_line) => {
                for m in ac.find_overlapping_iter(lowered_line) {
                    f(m.pattern().as_usize());
                }
            }
            RawLineFilter::Automaton(_) => {}
        }
    }

    /// Is any pattern in `lowered_line` (the line, ASCII, lower-cased)?
    pub fn is_match(&self, lowered_line: &[u8]) -> bool {
        match self {
            RawLineFilter::Finders(f) => f.iter().any(|f| f.find(lowered_line).is_some()),
            RawLineFilter::Automaton(ac) => ac.is_match(lowered_line),
        }
    }
}

impl StrMatcher {
    /// Merges `patterns`. Errors only when a glob regex is too large.
    pub fn new(patterns: &[Pattern], cased: bool) -> Result<StrMatcher, MatcherError> {
        let mut m = StrMatcher {
            cased,
            any: false,
            exact: Default::default(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            contains: Vec::new(),
            automaton: None,
            prefix_automaton: None,
            suffix_automaton: None,
            globs: Vec::new(),
            glob_set: None,
            ascii_ci: None,
            raw_line: None,
        };
        let norm = |b: &[u8]| {
            let s = String::from_utf8_lossy(b);
            if cased {
                s.into_owned()
            } else {
                s.to_lowercase()
            }
        };
        for p in patterns {
            match p.0.as_slice() {
                [] => {
                    m.exact.insert(String::new());
                }
                [Tok::Lit(a)] => {
                    m.exact.insert(norm(a));
                }
                [Tok::Star] => m.any = true,
                [Tok::Lit(a), Tok::Star] => m.prefixes.push(norm(a)),
                [Tok::Star, Tok::Lit(a)] => m.suffixes.push(norm(a)),
                [Tok::Star, Tok::Lit(a), Tok::Star] => m.contains.push(norm(a)),
                toks => m.globs.push(glob_regex(toks, cased)),
            }
        }
        if !m.contains.is_empty() {
            let ac = automaton_builder(&m.contains).build(&m.contains);
            m.automaton = Some(ac?);
        }
        let contains_only = m.exact.is_empty()
            && m.prefixes.is_empty()
            && m.suffixes.is_empty()
            && m.globs.is_empty();
        if !cased
            && contains_only
            && !m.contains.is_empty()
            && m.contains.iter().all(|c| c.is_ascii())
        {
            let ac = automaton_builder(&m.contains)
                .ascii_case_insensitive(true)
                .build(&m.contains)
                ?;
            m.ascii_ci = Some(ac);
            if m.contains.iter().all(|c| !c.bytes().any(|b| b < 0x20)) {
                m.raw_line = Some(RawLineFilter::new(&m.contains)?);
            }
        }
        if m.prefixes.len() >= AUTOMATON_THRESHOLD {
            m.prefix_automaton = Some(anchored(m.prefixes.iter().map(|p| p.as_bytes().to_vec()))?);
        }
        if m.suffixes.len() >= AUTOMATON_THRESHOLD {
            m.suffix_automaton = Some(anchored(
                m.suffixes.iter().map(|p| p.bytes().rev().collect()),
            )?);
        }
        if !m.globs.is_empty() {
            let set = RegexSetBuilder::new(&m.globs)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()?;
            m.glob_set = Some(set);
        }
        Ok(m)
    }

    /// Does `s` match any pattern?
    pub fn is_match(&self, s: &str) -> bool {
        if self.any {
            return true;
        }
        if self.cased {
            return self.matches_prepared(s);
        }
        // On ASCII text, ASCII case folding is exactly lower-casing: no copy needed.
        if let (Some(ac), true) = (&self.ascii_ci, s.is_ascii()) {
            return ac.is_match(s);
        }
        self.matches_prepared(&lower(s))
    }

    /// The automaton of a list of ASCII `contains` patterns read case-insensitively (a
    /// keyword list), when none holds the separator of joined texts: it then matches a
    /// text exactly when it matches the texts joined (no match spans a separator).
    pub fn joinable(&self) -> Option<&AhoCorasick> {
        let sep = crate::event::JOIN;
        self.ascii_ci
            .as_ref()
            .filter(|_| !self.any && self.contains.iter().all(|c| !c.is_empty() && !c.contains(sep)))
    }

    /// For a [`joinable`](Self::joinable) keyword list: its patterns as they are written
    /// inside a JSON string. On an ASCII event line whose strings hold no `\u` or `\/`
    /// escape and whose numbers are written as their texts
    /// ([`crate::event::project::Fields::raw_line_for_keywords`]), every text of the event
    /// is in the line with only `\\` and `\"` (and control characters, which no pattern
    /// here holds) escaped, so a pattern found in a text is found escaped in the line: no
    /// match in the line means no match in any text.
    pub fn raw_line_filter(&self) -> Option<&RawLineFilter> {
        self.joinable().and(self.raw_line.as_ref())
    }

    /// The patterns [`Self::raw_line_filter`] searches the lower-cased line for, when it
    /// has one: a keyword search of these patterns holds only in a line holding one (the
    /// rule index files keyword rules under them).
    pub(crate) fn raw_line_patterns(&self) -> Option<Vec<String>> {
        self.raw_line_filter().map(|_| json_escaped(&self.contains))
    }

    /// Like [`is_match`](Self::is_match), given the text and its lower-cased form.
    pub fn is_match_with_lowered(&self, s: &str, lowered: &str) -> bool {
        self.any || self.matches_prepared(if self.cased { s } else { lowered })
    }

    /// Matches text already in this matcher's case (lower-cased unless `cased`).
    fn matches_prepared(&self, h: &str) -> bool {
        self.any
            || self.exact.contains(h)
            || match &self.prefix_automaton {
                Some(a) => a.is_match(Input::new(h).anchored(Anchored::Yes)),
                None => self.prefixes.iter().any(|p| h.starts_with(p.as_str())),
            }
            || match &self.suffix_automaton {
                Some(a) => {
                    // Reversed on the stack for the usual short values (no allocation per
                    // test).
                    let mut stack = [0u8; 128];
                    let heap: Vec<u8>;
                    let reversed: &[u8] = if h.len() <= stack.len() {
                        let r = &mut stack[..h.len()];
                        for (d, s) in r.iter_mut().zip(h.bytes().rev()) {
                            *d = s;
                        }
                        r
                    } else {
                        heap = h.bytes().rev().collect();
                        &heap
                    };
                    a.is_match(Input::new(reversed).anchored(Anchored::Yes))
                }
                None => self.suffixes.iter().any(|p| h.ends_with(p.as_str())),
            }
            || self.automaton.as_ref().is_some_and(|a| a.is_match(h))
            || self.glob_set.as_ref().is_some_and(|g| g.is_match(h))
    }

    /// The exact values, when exact values are all this matcher has (for the rule index).
    pub fn exact_only(&self) -> Option<impl Iterator<Item = &str>> {
        let only = !self.any
            && self.prefixes.is_empty()
            && self.suffixes.is_empty()
            && self.contains.is_empty()
            && self.globs.is_empty();
        only.then(|| self.exact.iter().map(String::as_str))
    }

    /// Every pattern as a lower-cased literal with its position (exact, prefix, suffix,
    /// contains), when the matcher has no wildcard-in-the-middle globs and does not match
    /// everything: one of them occurs in the lower-cased text of any value it matches (for
    /// the rule index).
    pub fn literals(&self) -> Option<Vec<(crate::rule::Position, String)>> {
        use crate::rule::Position;
        if self.any || !self.globs.is_empty() {
            return None;
        }
        let low = |s: &String| s.to_lowercase();
        Some(
            self.exact
                .iter()
                .map(|s| (Position::Whole, low(s)))
                .chain(self.prefixes.iter().map(|s| (Position::Start, low(s))))
                .chain(self.suffixes.iter().map(|s| (Position::End, low(s))))
                .chain(self.contains.iter().map(|s| (Position::Contains, low(s))))
                .collect(),
        )
    }

    /// A one-line description for `explain`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.any {
            parts.push("any string".to_string());
        }
        if !self.exact.is_empty() {
            let mut v: Vec<&String> = self.exact.iter().collect();
            v.sort();
            parts.push(format!("exact set {v:?}"));
        }
        if !self.prefixes.is_empty() {
            parts.push(format!("prefixes {:?}", self.prefixes));
        }
        if !self.suffixes.is_empty() {
            parts.push(format!("suffixes {:?}", self.suffixes));
        }
        if !self.contains.is_empty() {
            parts.push(format!("aho-corasick {:?}", self.contains));
        }
        if !self.globs.is_empty() {
            parts.push(format!("glob regex set {:?}", self.globs));
        }
        let case = if self.cased {
            "cased"
        } else {
            "case-insensitive"
        };
        format!("{case}: {}", parts.join(" | "))
    }
}

/// Patterns longer than this in total are searched with a contiguous NFA, not a DFA.
const DFA_MAX_PATTERN_BYTES: usize = 2048;

/// An Aho-Corasick builder for `patterns`. The DFA (aho-corasick's choice for few patterns)
/// resolves every failure chain for every byte class, which is quadratic in the length of
/// a repetitive pattern (a 10 KB `wide|base64offset|contains` value took minutes); past
/// [`DFA_MAX_PATTERN_BYTES`] the contiguous NFA, built in linear time, is used instead.
pub(crate) fn automaton_builder<P: AsRef<[u8]>>(patterns: &[P]) -> AhoCorasickBuilder {
    let total: usize = patterns.iter().map(|p| p.as_ref().len()).sum();
    let mut b = AhoCorasick::builder();
    if total > DFA_MAX_PATTERN_BYTES {
        b.kind(Some(AhoCorasickKind::ContiguousNFA));
    }
    b
}

/// Prefix and suffix lists at least this long are searched with one automaton.
const AUTOMATON_THRESHOLD: usize = 4;

fn anchored(patterns: impl Iterator<Item = Vec<u8>>) -> Result<AhoCorasick, MatcherError> {
    let patterns: Vec<Vec<u8>> = patterns.collect();
    automaton_builder(&patterns)
        .start_kind(StartKind::Anchored)
        .build(&patterns)
        .map_err(MatcherError::from)
}

fn glob_regex(toks: &[Tok], cased: bool) -> String {
    let mut re = String::from("(?s)^");
    for t in toks {
        match t {
            Tok::Lit(b) => {
                let s = String::from_utf8_lossy(b);
                re.push_str(&regex::escape(&if cased {
                    s.into_owned()
                } else {
                    s.to_lowercase()
                }));
            }
            Tok::Star => re.push_str(".*"),
            Tok::One => re.push('.'),
        }
    }
    re.push('$');
    re
}

/// Compiles a `re` value, mapping failures to E400 / E401.
pub fn compile_regex(
    src: &str,
    flags: crate::rule::ReFlags,
    path: &str,
    span: crate::diag::Span,
) -> Result<Regex, Diagnostic> {
    RegexBuilder::new(src)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => Diagnostic::new(
                Code::RegexTooLarge,
                path,
                Some(span),
                format!(
                    "the regular expression compiles to more than {} MiB",
                    limit >> 20
                ),
            )
            .with_note("simplify the repetition counts or split the expression"),
            other => {
                let text = other.to_string();
                let last = text
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("error:"))
                    .unwrap_or(&text)
                    .to_string();
                Diagnostic::new(
                    Code::BadRegex,
                    path,
                    Some(span),
                    format!(
                        "invalid regular expression: {}",
                        last.trim_start_matches("error: ")
                    ),
                )
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both forms of the line search (finders, and an automaton past
    /// [`RAW_FINDERS_MAX`] patterns) report exactly the patterns a line holds.
    #[test]
    fn line_searches_report_the_patterns_a_line_holds() {
        let line = br#"{"user":"corp\\bob","host":"dc01","note":"a\"b mimikatz"}"#;
        let held = |p: &str| line.windows(p.len()).any(|w| w == p.as_bytes());
        for n in [3, RAW_FINDERS_MAX, RAW_FINDERS_MAX + 5] {
            let mut patterns: Vec<String> = ["dc01", "mimikatz", "a\\\"b", "corp\\\\bob"]
                .iter()
                .map(|p| p.to_string())
                .collect();
            patterns.extend((patterns.len()..n).map(|i| format!("absent{i}")));
            patterns.truncate(n);
            let search = RawLineFilter::over(&patterns).expect("builds");
            let mut found = Vec::new();
            search.each_match(line, &mut |i| found.push(i));
            found.sort_unstable();
            found.dedup();
            let want: Vec<usize> = (0..n).filter(|i| held(&patterns[*i])).collect();
            assert_eq!(found, want, "{n} patterns: {patterns:?}");
            assert_eq!(search.is_match(line), !want.is_empty());
            assert!(!search.is_match(b"{\"user\":\"x\"}"), "{n}");
        }
    }

    fn m(pats: &[&str], cased: bool) -> StrMatcher {
        let p: Vec<Pattern> = pats.iter().map(|s| Pattern::parse(s)).collect();
        StrMatcher::new(&p, cased).unwrap()
    }

    #[test]
    fn shapes() {
        let x = m(&["Exact", "pre*", "*suf", "*mid*", "a?c", "x*y*z"], false);
        for s in [
            "exact",
            "EXACT",
            "prefix",
            "the_suf",
            "xx MID yy",
            "abc",
            "xAAyBBz",
        ] {
            assert!(x.is_match(s), "{s}");
        }
        for s in ["exactly", "apre", "sufx", "mi d", "ac", "xyq"] {
            assert!(!x.is_match(s), "{s}");
        }
    }

    #[test]
    fn many_prefixes_and_suffixes_use_automata() {
        let x = m(
            &[
                "aa*",
                "bb*",
                "cc*",
                "dd*",
                "*.exe",
                "*.dll",
                "*.ps1",
                "*\\temp\\x",
                "*é",
            ],
            false,
        );
        assert!(x.prefix_automaton.is_some() && x.suffix_automaton.is_some());
        for s in ["AAx", "dd", "evil.EXE", "a.ps1", "c:\\temp\\x", "café"] {
            assert!(x.is_match(s), "{s}");
        }
        for s in ["xaa", "d", "evil.exe.txt", "ps1", "cafe"] {
            assert!(!x.is_match(s), "{s}");
        }
        // Values longer than the stack buffer the suffixes are reversed in.
        let long = "x".repeat(300);
        assert!(x.is_match(&format!("{long}.dll")));
        assert!(x.is_match(&format!("{}.dll", "x".repeat(124))), "exactly 128 bytes");
        assert!(!x.is_match(&format!("{long}.dllx")));
    }

    #[test]
    fn ascii_keyword_fast_path_agrees_with_lowering() {
        let k = m(&["*MimiKatz*", "*sekurlsa::*"], false);
        assert!(k.ascii_ci.is_some());
        for (s, want) in [
            ("run MIMIKATZ now", true),
            ("Sekurlsa::logonpasswords", true),
            ("mimi katz", false),
            ("ÉCOLE mimikatz", true),
            ("mİmİkatz", false),
        ] {
            assert_eq!(k.is_match(s), want, "{s}");
        }
        assert!(m(&["*é*"], false).ascii_ci.is_none());
        assert!(m(&["x", "*y*"], false).ascii_ci.is_none());
    }

    #[test]
    fn cased_and_unicode() {
        assert!(!m(&["Admin"], true).is_match("admin"));
        assert!(m(&["Admin"], true).is_match("Admin"));
        assert!(m(&["ÉCOLE"], false).is_match("école"));
        assert!(m(&["*"], false).is_match(""));
        assert!(m(&[""], false).is_match(""));
        assert!(!m(&[""], false).is_match("x"));
    }

    #[test]
    fn regex_limits() {
        let span = crate::diag::Span::default();
        let e = compile_regex("(a{1000}){1000}", Default::default(), "r.yml", span).unwrap_err();
        assert_eq!(e.code, Code::RegexTooLarge);
        let e = compile_regex("(unclosed", Default::default(), "r.yml", span).unwrap_err();
        assert_eq!(e.code, Code::BadRegex);
    }
}
