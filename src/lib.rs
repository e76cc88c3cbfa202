//! # session-sigma
//!
//! Sigma detection rules over user-session events (logon, logoff, lock, unlock, RDP,
//! network logon, reconnect).
//!
//! The pipeline runs one way: rule text (YAML) → typed [`rule::Rule`]s (the condition parsed
//! by a pest grammar) → a compiled [`RuleSet`] (one predicate arena, interned fields, merged
//! matchers, a rule index) → an [`Engine`] that evaluates events → [`Alert`]s → your
//! [`AlertSink`].
//!
//! ```
//! use session_sigma::{Alert, Engine, RuleSet};
//!
//! let rule = r#"
//! title: RDP logon from a public address
//! name: rdp_public
//! logsource: {category: user_session}
//! detection:
//!   rdp: {action: rdp}
//!   private:
//!     src_ip|cidr: [10.0.0.0/8, 192.168.0.0/16]
//!   condition: rdp and not private
//! level: high
//! "#;
//! let rules = RuleSet::builder().add_str("rdp.yml", rule).build().expect("rule compiles");
//! let mut engine = Engine::new(&rules);
//! let mut alerts: Vec<Alert> = Vec::new();
//! let event = br#"{"timestamp":"2024-05-01T10:00:00Z","action":"rdp","user":"bob","src_ip":"8.8.8.8"}"#;
//! engine.process_line(event, &mut alerts).expect("valid event");
//! engine.process_line(br#"{"action":"rdp","src_ip":"10.1.1.1"}"#, &mut alerts).unwrap();
//! // Alerts of one time are written once time moves on (so that ties are ordered), or on
//! // `flush` / `finish`.
//! engine.finish(&mut alerts);
//! assert_eq!(alerts.len(), 1);
//! assert_eq!(alerts[0].rule.name.as_deref(), Some("rdp_public"));
//! assert_eq!(alerts[0].timestamp.unwrap().to_string(), "2024-05-01T10:00:00Z");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Declares the inner stages: private, or public but hidden with the `internals` feature
/// (for the fuzz targets, benchmarks and tests that exercise a stage directly; not a
/// stable interface).
macro_rules! stages {
    ($($(#[$doc:meta])* $m:ident;)*) => {$(
        $(#[$doc])*
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $m;
        $(#[$doc])*
        #[cfg(not(feature = "internals"))]
        mod $m;
    )*};
}

// The pipeline, in order: each module uses only those before it (tests/layout.rs).
pub mod diag;
pub mod report;
pub mod time;
stages! {
    pattern;
    net;
    file;
    condition;
    rule;
    event;
}
pub mod source;
stages! {
    compile;
}
pub mod alert;
stages! {
    detect;
    correlate;
    engine;
}
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod testing;

pub use alert::{Alert, AlertSink};
pub use compile::{Options, RuleRef, RuleSet, RuleSetBuilder};
pub use correlate::{Limits, Pending};
pub use detect::{Detected, Detector};
pub use diag::{Code, Diagnostic, Diagnostics, Severity};
pub use engine::{Engine, Settings, StateError, Stats};
pub use event::{EventError, Line, LineReader};
pub use rule::Placeholders;
pub use time::Timestamp;
