//! Regex sets shared across rules.
//!
//! Every distinct `re` value of one field (or of keyword search) with the same flags, in
//! every rule of the set, goes into one multi-pattern regex. At evaluation the first regex
//! test of that field on an event searches the field's text once and records which patterns
//! match; every other regex test of the field reads its answer (`predicate::Memo`).
//!
//! The set is built with exactly the configuration `regex::RegexBuilder` gives each regex
//! alone (same syntax flags, same size limit, UTF-8 mode), so a pattern matches a text in the
//! set exactly when its regex alone finds a match in it: a search, not anchored. Each regex
//! is still compiled alone first, for its diagnostics (E400, E401) and as the fallback.

use super::matcher::REGEX_SIZE_LIMIT;
use super::plan::{Node, Plan, RegexSet, SharedRegex, Test};
use crate::event::Slot;
use crate::rule::ReFlags;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{MatchKind, PatternID, meta};

/// A field's regexes (of one flag combination) are searched as one set when there are at
/// least this many distinct ones; fewer are run one by one. A set search costs more than
/// one regex alone (measured with callgrind: 1.2× with two patterns, 1.9× with thirteen), so
/// it pays off only when an event asks for several of its regexes. With two regexes, on the
/// generated 20-rule set, each event asked for one and the set was slower; see
/// BENCHMARKS.md, "Regex sets shared across rules: before and after".
pub(crate) const MIN_SET_SIZE: usize = 3;

/// The lazy DFA's cache per set, as `regex` gives each regex (`RegexBuilder::dfa_size_limit`
/// default).
const DFA_CACHE: usize = 2 << 20;

/// The distinct regexes of one (field, flags) pair, in first-seen order.
struct Group {
    slot: Option<Slot>,
    flags: ReFlags,
    patterns: Vec<String>,
}

/// Gathers the regex tests of `plan` into shared sets (for fields with at least
/// `min_size` distinct regexes of the same flags) and points each test at its pattern.
pub(crate) fn share(plan: &mut Plan, min_size: usize) {
    let min_size = min_size.max(2);
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: ahash::AHashMap<(Option<Slot>, [bool; 3]), usize> = Default::default();
    let mut pattern_of: ahash::AHashMap<(usize, String), usize> = Default::default();
    // (node, test, group, pattern in group) for every regex test.
    let mut tests: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (n, node) in plan.nodes.iter().enumerate() {
        let Node::Pred(p) = node else { continue };
        for (t, test) in p.tests.iter().enumerate() {
            let Test::Regex(re) = test else { continue };
            let f = re.flags;
            let key = (p.slot, [f.ignore_case, f.multi_line, f.dot_all]);
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push(Group {
                    slot: p.slot,
                    flags: f,
                    patterns: Vec::new(),
                });
                groups.len() - 1
            });
            let source = re.regex.as_str().to_string();
            let i = *pattern_of.entry((g, source.clone())).or_insert_with(|| {
                groups[g].patterns.push(source);
                groups[g].patterns.len() - 1
            });
            tests.push((n, t, g, i));
        }
    }
    // Per group, per pattern: its place in a built set, if any.
    let mut placed: Vec<Vec<Option<SharedRegex>>> = Vec::with_capacity(groups.len());
    for g in &groups {
        let mut places = vec![None; g.patterns.len()];
        if g.patterns.len() >= min_size {
            let mut chunks = Vec::new();
            build_split(&g.patterns, 0, g.flags, min_size, &mut chunks);
            for (start, len, regex) in chunks {
                let set = u32::try_from(plan.regex_sets.len()).unwrap_or(u32::MAX);
                plan.regex_sets.push(RegexSet {
                    slot: g.slot,
                    regex,
                });
                for (k, place) in places[start..start + len].iter_mut().enumerate() {
                    // A set holds far fewer than `PatternID::LIMIT` patterns (each costs
                    // NFA states, bounded by the size limit); a pattern past it stays alone.
                    *place = PatternID::new(k)
                        .ok()
                        .map(|pattern| SharedRegex { set, pattern });
                }
            }
        }
        placed.push(places);
    }
    for (n, t, g, i) in tests {
        if let Node::Pred(p) = &mut plan.nodes[n]
            && let Some(Test::Regex(re)) = p.tests.get_mut(t)
        {
            re.shared = placed[g][i];
        }
    }
}

/// Builds `patterns` as one set, or, when that fails (the combined program is larger than
/// [`REGEX_SIZE_LIMIT`]), each half on its own, down to sets of `min_size`; patterns left
/// out stay individual regexes. Pushes (first pattern, pattern count, set).
fn build_split(
    patterns: &[String],
    start: usize,
    flags: ReFlags,
    min_size: usize,
    out: &mut Vec<(usize, usize, meta::Regex)>,
) {
    if patterns.len() < min_size {
        return;
    }
    match build(patterns, flags) {
        Some(regex) => out.push((start, patterns.len(), regex)),
        None => {
            let mid = patterns.len() / 2;
            build_split(&patterns[..mid], start, flags, min_size, out);
            build_split(&patterns[mid..], start + mid, flags, min_size, out);
        }
    }
}

/// One multi-pattern regex, configured as `regex::RegexBuilder` configures a single regex
/// (plus: report every matching pattern, no capture groups); `None` when it does not build
/// (too large).
fn build(patterns: &[String], flags: ReFlags) -> Option<meta::Regex> {
    let config = meta::Config::new()
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(DFA_CACHE)
        .match_kind(MatchKind::All)
        .utf8_empty(true)
        .which_captures(WhichCaptures::None);
    let syntax = syntax::Config::new()
        .utf8(true)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all);
    meta::Builder::new()
        .configure(config)
        .syntax(syntax)
        .build_many(patterns)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::{Input, PatternSet};

    fn which(set: &meta::Regex, text: &str) -> Vec<usize> {
        let mut cache = set.create_cache();
        let mut found = PatternSet::new(set.pattern_len());
        set.which_overlapping_matches_with(&mut cache, &Input::new(text), &mut found);
        found.iter().map(|p| p.as_usize()).collect()
    }

    #[test]
    fn a_set_answers_as_each_regex_alone() {
        let patterns: Vec<String> = [
            r"^0x1[0-9a-f]+$",
            r"admin",
            r"",
            r"^$",
            r"(?-i)Admin",
            r"\bbob\b",
            r"é+",
            r"a.b",
            r"^x$",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let texts = [
            "0x1abc", "0x2abc", "ADMIN", "Admin", "", "bob", "bobby", "CAFÉ", "a\nb", "y\nx\nz",
            "AxB",
        ];
        for bits in 0..8u8 {
            let flags = ReFlags {
                ignore_case: bits & 1 != 0,
                multi_line: bits & 2 != 0,
                dot_all: bits & 4 != 0,
            };
            let set = build(&patterns, flags).expect("valid patterns");
            for text in texts {
                let want: Vec<usize> = patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        regex::RegexBuilder::new(p)
                            .case_insensitive(flags.ignore_case)
                            .multi_line(flags.multi_line)
                            .dot_matches_new_line(flags.dot_all)
                            .build()
                            .unwrap()
                            .is_match(text)
                    })
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(which(&set, text), want, "{flags:?} {text:?}");
            }
        }
    }

    #[test]
    fn too_large_sets_split_or_stay_individual() {
        // `\w{100}` compiles alone under the size limit; two of them together do not.
        let big = |x: &str| format!(r"\w{{100}}{x}");
        assert!(build(&[big("a")], ReFlags::default()).is_some());
        assert!(build(&[big("a"), big("b")], ReFlags::default()).is_none());
        let patterns: Vec<String> = [big("a"), big("b")]
            .into_iter()
            .chain(["s1", "s2", "s3", "s4"].map(String::from))
            .collect();
        let mut out = Vec::new();
        build_split(&patterns, 0, ReFlags::default(), 2, &mut out);
        // All six fail, so do [a, b, s1] and [a]; [b, s1] and [s2, s3, s4] are sets, `a`
        // stays alone.
        let chunks: Vec<(usize, usize)> = out.iter().map(|(s, l, _)| (*s, *l)).collect();
        assert_eq!(chunks, [(1, 2), (3, 3)]);
        for (_, len, set) in &out {
            assert_eq!(set.pattern_len(), *len);
        }
    }
}
