//! # session-sigma
//!
//! Sigma detection rules over user-session events (logon, logoff, lock, unlock, RDP,
//! network logon, reconnect), with windowed state per user and host.
//!
//! ## The pipeline
//!
//! Data flows one way; each stage takes the product of the one before it and no module
//! uses one after it (`tests/layout.rs` checks it):
//!
//! ```text
//! rule text ─rule─► Rule (YAML read once; conditions parsed by condition/, a pest grammar)
//!           ─compile─► RuleSet (one predicate arena, merged matchers, a rule index)
//! records ─source─► event::Record (Windows, EVTX, syslog adapters; session JSON as is)
//!         ─detect─► matched rules (pure: plan × event; the engine's Detector on any thread)
//!         ─correlate─► candidate alerts (one GroupState per correlation type, per group)
//!         ─engine─► alerts in order (event time, watermark, reorder buffer, deadlines,
//!                   AlertOrder and Held, checkpoints) ─alert─► JSON or text lines
//! ```
//!
//! The leaves (`diag`, `report`, `time`, `pattern`, `net`, `file`) serve every stage;
//! `testing` (rule tests), `cluster` (the engine partitioned on timely dataflow, feature
//! `cluster`) and `cli` (the `session-sigma` command, feature `cli`) sit on top. The
//! semantics they implement are in `docs/semantics.md`.
//!
//! ## Use
//!
//! Build a [`RuleSet`] once, push events into an [`Engine`], receive [`Alert`]s in an
//! [`AlertSink`], and end with [`Engine::finish`] (or checkpoint with [`Engine::pause`]
//! and [`Engine::checkpoint`]). Records in other formats go through a
//! [`source::Adapter`] first.
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
//!
//! A Windows Security event exported as JSON goes through the source adapter:
//!
//! ```
//! use session_sigma::source::{Adapter, Format};
//! use session_sigma::{Alert, Engine, RuleSet};
//!
//! let rules = RuleSet::builder()
//!     .add_str("net.yml", "title: network logon\nlogsource: {category: user_session}\ndetection:\n  sel: {action: remote}\n  condition: sel\n")
//!     .build()
//!     .expect("rule compiles");
//! let mut engine = Engine::new(&rules);
//! let mut adapter = Adapter::new(Format::Auto, None);
//! let line = br#"{"EventID":4624,"Channel":"Security","Computer":"DC1.corp","TimeCreated":"2024-05-01T10:00:00Z","LogonType":"3","TargetUserName":"alice","TargetDomainName":"CORP"}"#;
//! let mut alerts: Vec<Alert> = Vec::new();
//! if let Some(record) = adapter.line(line).into_record() {
//!     engine.process_record(record, None, &mut alerts).expect("valid record");
//! }
//! engine.finish(&mut alerts);
//! assert_eq!(alerts.len(), 1);
//! assert!(alerts[0].events[0].contains(r#""user":"CORP\\alice""#));
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
pub mod explain;
pub mod testing;

pub use alert::{Alert, AlertSink};
pub use compile::{Options, RuleRef, RuleSet, RuleSetBuilder};
pub use correlate::{Limits, Pending};
pub use diag::{Code, Diagnostic, Diagnostics, Severity};
pub use engine::detector::{Detected, Detector};
pub use engine::{Engine, Settings, StateError, Stats};
pub use event::{EventError, Line, LineReader};
pub use rule::Placeholders;
pub use time::Timestamp;
