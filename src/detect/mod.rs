//! Detection: the pure evaluation of a rule set's plan on one event ([`predicate`]), and
//! the [`Detector`] that reads lines and finds the rules they match on any thread.

pub mod detector;
pub mod predicate;

pub use detector::{Detected, Detector};
