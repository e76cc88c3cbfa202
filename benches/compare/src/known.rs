//! Semantic differences between the engines that the real-data pack shows on purpose.
//! A mismatch on one of these rules is still reported as a MISMATCH, with the cause.

/// (engine, rule title, cause). The engine is the one that differs from session-sigma.
pub const KNOWN: &[(&str, &str, &str)] = &[
    (
        "rsigma",
        "logon of a user whose name is missing",
        "`exists` on a field holding null: rsigma counts a null value as absent \
         (`CompiledMatcher::Exists` tests `!value.is_null()`); session-sigma (and sigma-rust) test \
         presence only, as the reference notes do (reference/sigma-spec.md 2.2: `exists` is \
         presence, value irrelevant, even null). The Sigma spec does not settle null.",
    ),
    (
        "sigma-rust",
        "session id 2 (a number in the rule, a string in the event)",
        "sigma-rust compares types strictly (its README, `Strong type checking`: the rule \
         number 2 does not match the event string \"2\"); session-sigma (DESIGN.md 3.1) and \
         rsigma match a number against a string holding that decimal number.",
    ),
    (
        "sigma-rust",
        "keyword admmarsid",
        "sigma-rust matches a keyword against each whole value (a wildcard pattern: \
         `admmarsid` matches only a value equal to it, `*admmarsid*` would match \
         `OFFSEC\\admmarsid`); session-sigma and rsigma search keywords as case-insensitive \
         substrings, as backends' full-text search does (reference/sigma-spec.md 2.4).",
    ),
];

/// The cause of a known difference of `engine` on the rule titled `title`.
pub fn cause(engine: &str, title: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(e, t, _)| *e == engine && *t == title)
        .map(|(_, _, why)| *why)
}
