//! The literals every match of a regex starts (or ends) with, found by `regex-syntax`'s
//! extractor: a value in which none occurs cannot match, so the rule index anchors a rule
//! on them as it does on a `contains` literal (100 `re` rules on two fields were visited by
//! every event and took 70% of a run).
//!
//! Tried and measured slower on the packs of `benches/compare`: the same literals as a
//! prefilter of shared regex sets, running the candidate patterns alone (1.07–1.12× the
//! time of searching the whole set on short field values).

use crate::rule::ReFlags;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// The literals one of which every match of `pattern` (with `flags`) starts with, or ends
/// with; `None` when there are none (an infinite or too large set, or an empty literal).
#[cfg(test)]
fn literals(pattern: &str, flags: ReFlags) -> Option<Vec<Vec<u8>>> {
    let [prefixes, suffixes] = literal_sets(pattern, flags);
    prefixes.or(suffixes)
}

/// The literals one of which every match starts with, and those one of which every match
/// ends with (each `None` as [`literals`] says).
fn literal_sets(pattern: &str, flags: ReFlags) -> [Option<Vec<Vec<u8>>>; 2] {
    let Some(hir) = regex_syntax::ParserBuilder::new()
        .utf8(true)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .build()
        .parse(pattern)
        .ok()
    else {
        return [None, None];
    };
    [true, false].map(|prefix| {
            let kind = if prefix {
                ExtractKind::Prefix
            } else {
                ExtractKind::Suffix
            };
            let mut seq = Extractor::new().kind(kind).extract(&hir);
            // Fewer, shorter literals where one covers others (`user11` for `user110`…).
            if prefix {
                seq.optimize_for_prefix_by_preference();
            } else {
                seq.optimize_for_suffix_by_preference();
            }
            let lits = seq.literals()?;
            (!lits.is_empty() && lits.iter().all(|l| !l.as_bytes().is_empty()))
                .then(|| lits.iter().map(|l| l.as_bytes().to_vec()).collect())
    })
}

/// Lower-cased literals one of which the text of every value `pattern` matches contains,
/// for the rule index (which reads lower-cased field text): the set every match starts
/// with and the set every match ends with, those that exist (both hold for every match).
/// Only sets whose literals are all ASCII (lower-casing a non-ASCII substring can differ
/// from the substring of the lower-cased text).
pub fn index_literals(pattern: &str, flags: ReFlags) -> Vec<Vec<String>> {
    literal_sets(pattern, flags)
        .into_iter()
        .flatten()
        .filter_map(|lits| {
            let mut out: Vec<String> = lits
                .into_iter()
                .map(|l| String::from_utf8(l).ok().filter(|s| s.is_ascii()))
                .collect::<Option<Vec<String>>>()?
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect();
            out.sort();
            out.dedup();
            Some(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_what_every_match_starts_or_ends_with() {
        let f = ReFlags::default();
        let lits = |p: &str| {
            literals(p, f).map(|v| {
                v.into_iter()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(lits("user11[0-9]*$"), Some(vec!["user11".to_string()]));
        assert_eq!(lits(".*admin"), Some(vec!["admin".to_string()]));
        assert_eq!(lits("a|bc"), Some(vec!["a".to_string(), "bc".to_string()]));
        assert_eq!(lits(".*"), None);
        assert_eq!(lits("x?"), None, "an empty literal would match everywhere");
        assert!(literals("(?i)admin", f).is_some_and(|v| v.len() > 1));
    }

    #[test]
    fn index_literals_give_the_start_and_the_end_sets() {
        let f = ReFlags::default();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            index_literals(r"\\User[0-9]*00$", f),
            [s(&["\\user"]), s(&["00"])]
        );
        // Whole values end the match: the end set is every one of them.
        let ws = index_literals("^WS07[0-9][0-9]$", f);
        assert_eq!((&ws[0], ws[1].len()), (&s(&["ws07"]), 100));
        assert_eq!(index_literals(".*admin", f), [s(&["admin"])]);
        assert_eq!(index_literals(".*", f), Vec::<Vec<String>>::new());
        assert_eq!(index_literals("é.*x", f), [s(&["x"])], "a non-ASCII set is left out");
    }
}
