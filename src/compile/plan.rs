//! The compiled predicate arena shared by every rule of a rule set.

use super::matcher::StrMatcher;
use crate::event::Slot;
use crate::net::Network;
use crate::rule::{CmpOp, Position, ReFlags};
use crate::time::TimePart;
use regex::Regex;
use regex_automata::PatternID;

/// Index of a node in [`Plan::nodes`].
pub type NodeId = u32;

/// A boolean node.
#[derive(Debug, Clone)]
pub enum Node {
    /// All children hold.
    And(Vec<NodeId>),
    /// One child holds.
    Or(Vec<NodeId>),
    /// The child does not hold.
    Not(NodeId),
    /// A field test.
    Pred(FieldPred),
}

/// One field item: a field (or keyword search) and its tests.
#[derive(Debug, Clone)]
pub struct FieldPred {
    /// The field; `None` for keyword search over every string of the event.
    pub slot: Option<Slot>,
    /// The tests; OR-ed, or AND-ed when `all`.
    pub tests: Vec<Test>,
    /// `all`.
    pub all: bool,
    /// `neq`: negate the result.
    pub neq: bool,
}

/// One compiled value test.
#[derive(Debug, Clone)]
pub enum Test {
    /// Merged string patterns.
    Str(Box<StrMatcher>),
    /// Number equality.
    Num(f64),
    /// Boolean equality.
    Bool(bool),
    /// Missing or null.
    Null,
    /// Present (`true`) or missing (`false`).
    Exists(bool),
    /// `re`.
    Regex(Box<RegexTest>),
    /// `cidr`.
    Cidr(Network),
    /// `gt` & co.
    Compare(CmpOp, f64),
    /// Time part of a timestamp field.
    TimePart(TimePart, CmpOp, f64),
    /// Another field of the same event.
    FieldRef {
        /// The other field.
        slot: Slot,
        /// Where the other field's value must sit in this one.
        position: Position,
        /// Case-sensitive.
        cased: bool,
    },
}

/// A `re` value: a search (not anchored) of the value's text.
#[derive(Debug, Clone)]
pub struct RegexTest {
    /// The regex on its own (used when it is in no shared set).
    pub regex: Regex,
    /// Its flags (`re|i`, `re|m`, `re|s`), which the regex was built with.
    pub flags: ReFlags,
    /// Its place in a regex set shared by the field's regexes, if it has one.
    pub shared: Option<SharedRegex>,
}

/// Where a regex sits in [`Plan::regex_sets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedRegex {
    /// The set.
    pub set: u32,
    /// The regex's pattern in that set.
    pub pattern: PatternID,
}

/// The distinct regexes of one field (or of keyword search) with the same flags, across
/// all rules, searched together: one pass over a value tells which of them match.
#[derive(Debug, Clone)]
pub struct RegexSet {
    /// The field; `None` for keyword search over every string of the event.
    pub slot: Option<Slot>,
    /// All the patterns, built with the shared flags.
    pub regex: regex_automata::meta::Regex,
}

/// The arena.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every node of every rule.
    pub nodes: Vec<Node>,
    /// Regex sets shared across rules (see [`SharedRegex`]).
    pub regex_sets: Vec<RegexSet>,
}

impl Plan {
    /// Adds a node, returning its id.
    pub fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        NodeId::try_from(self.nodes.len() - 1).unwrap_or(NodeId::MAX)
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }
}
