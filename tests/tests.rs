//! Integration tests, one binary (see Cargo.toml `autotests = false`).

mod author;
mod checkpoint;
mod cli;
#[cfg(feature = "cluster")]
mod cluster;
mod common;
mod conformance;
mod folders;
mod fuzz_regressions;
mod hostile;
mod index;
mod keywords;
mod layout;
mod linux;
mod reference;
mod regex_sets;
mod regression;
mod rules;
mod sources;
mod triage;
mod window;
