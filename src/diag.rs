//! Diagnostics: plain data describing what is wrong with a rule file.
//!
//! Every stage of the pipeline collects [`Diagnostic`]s instead of stopping at the first
//! problem. A diagnostic carries a stable [`Code`], a message, and where possible the
//! [`Span`] of the offending text. Rendering lives in `report.rs` only.

use std::fmt;

/// A position in a source file: 1-based line, 0-based column counted in characters, and
/// a length in characters (at least 1 when rendered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line number.
    pub line: u32,
    /// 0-based column, in characters.
    pub col: u32,
    /// Length in characters of the offending text.
    pub len: u32,
}

impl Span {
    /// A span starting at `line`/`col` (1-based line, 0-based column).
    pub fn new(line: usize, col: usize, len: usize) -> Span {
        Span {
            line: saturate(line),
            col: saturate(col),
            len: saturate(len),
        }
    }

    /// The span `offset` characters to the right, `len` long, on the same line.
    pub fn shifted(self, offset: usize, len: usize) -> Span {
        Span {
            line: self.line,
            col: self.col.saturating_add(saturate(offset)),
            len: saturate(len),
        }
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The rule still loads.
    Warning,
    /// The rule (or the file) is rejected.
    Error,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal, $sev:ident;)*) => {
        /// Stable diagnostic codes. The README's diagnostic table lists them all.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code { $($(#[$doc])* $name,)* }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as printed, e.g. `E302`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $text,)* }
            }

            /// The default severity of the code.
            pub fn severity(self) -> Severity {
                match self { $(Code::$name => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    /// The file is not valid YAML (or not valid UTF-8, or unreadable).
    YamlSyntax = "E100", Error;
    /// A map key appears twice in the same map.
    DuplicateKey = "E101", Error;
    /// YAML nesting deeper than the limit, or aliases expanding past the node budget.
    YamlTooLarge = "E102", Error;
    /// A required key (`title`, `logsource`, `detection`, `condition`) is missing.
    MissingKey = "E103", Error;
    /// A key holds the wrong kind of value (a list where a string is expected, ...).
    WrongType = "E104", Error;
    /// `id` is not a UUID.
    BadId = "E105", Error;
    /// A document kind this engine does not run (legacy `action:` documents, ...).
    Unsupported = "E106", Error;
    /// A known key has a value outside its allowed set (`level: urgent`).
    BadValue = "E107", Error;
    /// A `tests:` entry is malformed.
    BadTest = "E108", Error;
    /// Two rules share an `id` or a `name`.
    DuplicateRule = "E109", Error;
    /// The condition does not parse.
    ConditionSyntax = "E200", Error;
    /// The deprecated `| count() ...` aggregation pipe.
    ConditionPipe = "E201", Error;
    /// The condition nests deeper than the limit.
    ConditionTooDeep = "E202", Error;
    /// The condition names a search identifier that is not defined.
    UndefinedIdentifier = "E300", Error;
    /// A `1 of`/`all of` pattern matches no search identifier.
    PatternMatchesNothing = "E301", Error;
    /// A modifier name that does not exist.
    UnknownModifier = "E302", Error;
    /// Modifiers in an order or combination that has no meaning (`contains|re`, ...).
    BadModifierChain = "E303", Error;
    /// A value of the wrong type for its modifiers (`gt: '5'`, `base64` with a wildcard, ...).
    BadModifierValue = "E304", Error;
    /// `expand` names a placeholder that the configuration does not define.
    UnresolvedPlaceholder = "E305", Error;
    /// A search identifier whose shape is not a map, a list of maps or a list of values.
    BadSearch = "E306", Error;
    /// `detection` defines no search identifier.
    NoSearch = "E307", Error;
    /// A correlation names a rule that is not loaded.
    UnknownReference = "E308", Error;
    /// Correlations that reference each other in a cycle.
    ReferenceCycle = "E309", Error;
    /// A correlation whose keys do not fit its type (no `timespan`, no `field`, ...).
    BadCorrelation = "E310", Error;
    /// A regular expression that does not compile.
    BadRegex = "E400", Error;
    /// A regular expression whose compiled form exceeds the size limit.
    RegexTooLarge = "E401", Error;
    /// A `cidr` value that is not a network.
    BadCidr = "E402", Error;
    /// An encoding modifier produced bytes that are not text and nothing encodes them.
    NotText = "E403", Error;
    /// An encoding modifier (`wide`, `utf16*`, `base64`, `base64offset`) would make a value
    /// longer than 16 KiB.
    EncodedTooLong = "E404", Error;
    /// A search identifier that the condition never uses.
    UnusedSearch = "W500", Warning;
    /// `all` on a single value or on plain equality of one field (almost always a bug).
    SuspiciousAll = "W501", Warning;
    /// `timeframe` inside `detection` (Sigma v1) is ignored.
    IgnoredTimeframe = "W502", Warning;
    /// `logsource` sets none of `category`, `product`, `service`.
    EmptyLogsource = "W503", Warning;
    /// A `user_session` rule names a field the session model does not have (nor `raw.*`,
    /// nor a field declared with `--extra-field`): it is probably misspelt.
    UnknownField = "W504", Warning;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The path of the file, as given by the user.
    pub path: String,
    /// Where in the file; `None` when the problem has no single place (an unreadable file).
    pub span: Option<Span>,
    /// Short label shown under the caret.
    pub label: Option<String>,
    /// Hints on how to fix it.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, path: &str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            path: path.to_string(),
            span,
            label: None,
            notes: Vec::new(),
        }
    }

    /// Adds a label shown under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl Diagnostic {
    /// The one-line form `path:line:col: error[CODE]: message`, with `severity` applied
    /// to the `error[CODE]` part (colour, for a terminal).
    pub fn header(&self, severity: &dyn Fn(&str) -> String) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = match self.span {
            Some(s) => format!("{}:{}:{}: ", self.path, s.line, s.col + 1),
            None => format!("{}: ", self.path),
        };
        format!(
            "{at}{}: {}",
            severity(&format!("{sev}[{}]", self.code)),
            self.message
        )
    }
}

impl fmt::Display for Diagnostic {
    /// The one-line form `path:line:col: error[CODE]: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header(&|s| s.to_string()))
    }
}

/// A list of diagnostics, the error type of every stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Appends one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// Iterates over the diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// True when there is nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance, for "did you mean `x`?".
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_path_line_col() {
        let d = Diagnostic::new(
            Code::UnknownModifier,
            "r.yml",
            Some(Span::new(4, 8, 3)),
            "unknown modifier `foo`",
        );
        assert_eq!(
            d.to_string(),
            "r.yml:4:9: error[E302]: unknown modifier `foo`"
        );
    }

    #[test]
    fn suggestion_finds_close_names() {
        assert_eq!(
            suggest("selectoin", ["selection", "filter"]),
            Some("selection")
        );
        assert_eq!(suggest("zzz", ["selection", "filter"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
        }
    }
}
