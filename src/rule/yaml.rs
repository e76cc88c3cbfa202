//! The only module that knows YAML exists.
//!
//! Rule text is read with yaml-rust2's event parser into our own [`Node`] tree, which keeps
//! the position of every scalar, sequence and map, so that every later diagnostic can point
//! at the offending text. Scalars keep their source text and style: typing (null, bool,
//! number, string) is decided here, once, by [`Node::scalar_value`], following YAML 1.2's
//! core schema with one deliberate difference: numbers with leading zeros and hex/octal
//! forms stay strings, as Sigma rules expect (`'0x3e7'`, `00000429`).
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`] and alias expansion beyond
//! [`MAX_NODES`] nodes are errors (`E102`), duplicate keys are errors (`E101`).

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of sequences and maps accepted in a rule file.
pub const MAX_DEPTH: usize = 64;
/// Largest number of nodes a file may hold (as written, aliases not counted).
pub const MAX_NODES: usize = 1_000_000;

/// Largest number of nodes aliases may add to a file: guards alias bombs.
pub const MAX_ALIAS_NODES: usize = 200_000;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted: typed by its text.
    Plain,
    /// Single- or double-quoted: always a string.
    Quoted,
    /// `|` or `>` block: always a string.
    Block,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts (for maps: the first key).
    pub span: Span,
    /// What it holds.
    pub kind: NodeKind,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar: its text and how it was written.
    Scalar(String, Style),
    /// A sequence.
    Seq(Vec<Node>),
    /// A map, in source order. Keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

/// The typed value of a scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A decimal integer.
    Int(i64),
    /// A decimal number with a fraction or exponent.
    Float(f64),
    /// Anything else.
    Str(&'a str),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The typed scalar value, if this is a scalar.
    pub fn scalar_value(&self) -> Option<Scalar<'_>> {
        match &self.kind {
            NodeKind::Scalar(s, Style::Plain) => Some(type_plain(s)),
            NodeKind::Scalar(s, _) => Some(Scalar::Str(s)),
            _ => None,
        }
    }

    /// Looks up `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entry (key node and value node) for `key` in a map node.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(..) => match self.scalar_value() {
                Some(Scalar::Null) => "null",
                Some(Scalar::Bool(_)) => "a boolean",
                Some(Scalar::Int(_) | Scalar::Float(_)) => "a number",
                _ => "a string",
            },
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }

    /// Converts the node into JSON (used for test events and placeholder files).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar(..) => match self.scalar_value() {
                Some(Scalar::Null) | None => Value::Null,
                Some(Scalar::Bool(b)) => Value::Bool(b),
                Some(Scalar::Int(i)) => Value::from(i),
                Some(Scalar::Float(f)) => {
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
                Some(Scalar::Str(s)) => Value::String(s.to_string()),
            },
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    fn count(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(..) => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

fn type_plain(s: &str) -> Scalar<'_> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let is_int = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if is_int {
        // `0755`, `00000429`: kept as strings (Sigma rules use them as text).
        if digits.len() > 1 && digits.starts_with('0') {
            return Scalar::Str(s);
        }
        return s.parse::<i64>().map_or(Scalar::Str(s), Scalar::Int);
    }
    if is_decimal_float(digits) {
        if let Ok(f) = s.parse::<f64>() {
            if f.is_finite() {
                return Scalar::Float(f);
            }
        }
    }
    Scalar::Str(s)
}

/// `1.5`, `.5`, `1.`, `1e3`, `1.5E-3` (no sign: stripped by the caller).
fn is_decimal_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && frac.is_none_or(all_digits)
        && (int.len() + frac.map_or(0, str::len)) > 0;
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// One YAML document of a file.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node.
    pub root: Node,
    /// Where the document starts.
    pub span: Span,
}

/// Parses every document of `text`. `path` is used in diagnostics only.
pub fn parse(text: &str, path: &str) -> Result<Vec<Document>, Diagnostics> {
    let mut builder = Builder {
        path,
        stack: Vec::new(),
        anchors: Vec::new(),
        docs: Vec::new(),
        doc_span: Span::default(),
        nodes: 0,
        alias_nodes: 0,
        diags: Diagnostics::default(),
        aborted: false,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        if !builder.aborted {
            let m = e.marker();
            let span = Some(Span::new(m.line(), m.col(), 1));
            // The scanner has its own nesting guard for flow collections.
            let d = if e.info().contains("recursion limit") {
                Diagnostic::new(
                    Code::YamlTooLarge,
                    path,
                    span,
                    format!("YAML nested deeper than the parser allows ({})", e.info()),
                )
            } else {
                Diagnostic::new(
                    Code::YamlSyntax,
                    path,
                    span,
                    format!("invalid YAML: {}", e.info()),
                )
            };
            builder.diags.push(d);
        }
    }
    if builder.diags.has_errors() {
        return Err(builder.diags);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        /// Where `MappingStart` was reported: the `{` of a flow map, but the first `:` of
        /// a block map.
        start: Span,
        /// The first key, once seen.
        span: Option<Span>,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'p> {
    path: &'p str,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    docs: Vec<Document>,
    doc_span: Span,
    nodes: usize,
    /// Nodes added by aliases (also counted in `nodes`).
    alias_nodes: usize,
    diags: Diagnostics,
    aborted: bool,
}

impl Builder<'_> {
    fn abort(&mut self, code: Code, span: Span, message: String) {
        self.diags
            .push(Diagnostic::new(code, self.path, Some(span), message));
        self.aborted = true;
        self.stack.clear();
        self.anchors.clear();
    }

    /// Counts `n` nodes (`alias`: added by an alias); false, with an error, past a limit.
    fn add_nodes(&mut self, n: usize, alias: bool, span: Span) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if alias {
            self.alias_nodes = self.alias_nodes.saturating_add(n);
        }
        let message = if self.alias_nodes > MAX_ALIAS_NODES {
            format!(
                "aliases expand the file by more than {MAX_ALIAS_NODES} YAML nodes (an alias bomb?)"
            )
        } else if self.nodes > MAX_NODES {
            format!("the file has more than {MAX_NODES} YAML nodes, the most a rule file may hold")
        } else {
            return true;
        };
        self.abort(Code::YamlTooLarge, span, message);
        false
    }

    /// Attaches a finished node to its parent, or ends the document.
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(Document {
                root: node,
                span: self.doc_span,
            }),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, key, span, ..
            }) => match key.take() {
                None => {
                    if span.is_none() {
                        *span = Some(node.span);
                    }
                    if !matches!(node.kind, NodeKind::Scalar(..)) {
                        let s = node.span;
                        self.abort(
                            Code::WrongType,
                            s,
                            "map keys must be plain text".to_string(),
                        );
                        return;
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }

    /// Reports keys defined twice in one map (one hash lookup per key: a map of 100,000
    /// keys compared each with all before it took minutes).
    fn check_duplicates(&mut self, entries: &[(Node, Node)]) {
        let mut seen: ahash::AHashMap<Option<&str>, &Node> =
            ahash::AHashMap::with_capacity(entries.len());
        for (k, _) in entries {
            if let Some(first) = seen.get(&k.as_str()).copied().or_else(|| {
                seen.insert(k.as_str(), k);
                None
            }) {
                let d = Diagnostic::new(
                    Code::DuplicateKey,
                    self.path,
                    Some(k.span),
                    format!("duplicate key `{}`", k.as_str().unwrap_or_default()),
                )
                .with_label("defined again here")
                .with_note(format!("first defined at line {}", first.span.line));
                self.diags.push(d);
            }
        }
    }

    fn push_frame(&mut self, frame: Frame, span: Span) {
        if self.stack.len() >= MAX_DEPTH {
            self.abort(
                Code::YamlTooLarge,
                span,
                format!("YAML nested deeper than {MAX_DEPTH} levels"),
            );
            return;
        }
        if self.add_nodes(1, false, span) {
            self.stack.push(frame);
        }
    }
}

impl Builder<'_> {
    /// A scalar: its node, spanning its first line (quotes included).
    fn scalar(&mut self, text: String, style: TScalarStyle, anchor: usize, mark: Marker) {
        let here = Span::new(mark.line(), mark.col(), 1);
        if !self.add_nodes(1, false, here) {
            return;
        }
        let (style, len) = match style {
            TScalarStyle::Plain => (Style::Plain, text.chars().count()),
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => (
                Style::Quoted,
                text.lines().next().map_or(0, |l| l.chars().count()) + 2,
            ),
            _ => (
                Style::Block,
                text.lines().next().map_or(0, |l| l.chars().count()),
            ),
        };
        let span = Span::new(mark.line(), mark.col(), len.max(1));
        self.finish(
            Node {
                span,
                kind: NodeKind::Scalar(text, style),
            },
            anchor,
        );
    }

    /// The end of a sequence: its node.
    fn end_seq(&mut self) {
        if let Some(Frame::Seq {
            span,
            anchor,
            items,
        }) = self.stack.pop()
        {
            self.finish(
                Node {
                    span,
                    kind: NodeKind::Seq(items),
                },
                anchor,
            );
        }
    }

    /// The end of a map: duplicate keys checked, then its node.
    fn end_map(&mut self) {
        if let Some(Frame::Map {
            start,
            span,
            anchor,
            entries,
            ..
        }) = self.stack.pop()
        {
            self.check_duplicates(&entries);
            // A map starts at its `{` (flow) or at its first key (block).
            let span = match span {
                Some(key) if (key.line, key.col) < (start.line, start.col) => key,
                _ => start,
            };
            self.finish(
                Node {
                    span,
                    kind: NodeKind::Map(entries),
                },
                anchor,
            );
        }
    }

    /// An alias: a copy of the anchored node, counted against the alias budget.
    fn alias(&mut self, id: usize, here: Span) {
        let Some(node) = self
            .anchors
            .iter()
            .rev()
            .find(|(a, _)| *a == id)
            .map(|(_, n)| n.clone())
        else {
            self.abort(
                Code::YamlSyntax,
                here,
                "alias to an unknown anchor".to_string(),
            );
            return;
        };
        if self.add_nodes(node.count(), true, here) {
            let node = Node { span: here, ..node };
            self.finish(node, 0);
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.aborted {
            return;
        }
        let here = Span::new(mark.line(), mark.col(), 1);
        match ev {
            Event::DocumentStart => self.doc_span = here,
            Event::Scalar(text, style, anchor, _tag) => self.scalar(text, style, anchor, mark),
            Event::SequenceStart(anchor, _) => {
                let items = Vec::new();
                self.push_frame(
                    Frame::Seq {
                        span: here,
                        anchor,
                        items,
                    },
                    here,
                );
            }
            Event::MappingStart(anchor, _) => {
                let frame = Frame::Map {
                    start: here,
                    span: None,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                };
                self.push_frame(frame, here);
            }
            Event::SequenceEnd => self.end_seq(),
            Event::MappingEnd => self.end_map(),
            Event::Alias(id) => self.alias(id, here),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text, "t.yml").unwrap().remove(0).root
    }

    #[test]
    fn positions_of_scalars() {
        let root = one("title: x\ndetection:\n  sel:\n    a|contains: 'q'\n");
        let (k, v) = root
            .get("detection")
            .unwrap()
            .get("sel")
            .unwrap()
            .entry("a|contains")
            .unwrap();
        assert_eq!((k.span.line, k.span.col), (4, 4));
        assert_eq!((v.span.line, v.span.col, v.span.len), (4, 16, 3));
    }

    #[test]
    fn maps_start_at_brace_or_first_key() {
        let root = one("a: {}\nb: {x: 1}\nc:\n  y: 2\n");
        let pos = |k: &str| root.get(k).map(|n| (n.span.line, n.span.col)).unwrap();
        assert_eq!(pos("a"), (1, 3));
        assert_eq!(pos("b"), (2, 3));
        assert_eq!(pos("c"), (4, 2));
    }

    #[test]
    fn plain_scalar_typing() {
        let root = one(
            "a: 12\nb: '12'\nc: 0x10\nd: 0755\ne: 1.5\nf: true\ng: ~\nh:\ni: -3\nj: 1e3\nk: .inf\n",
        );
        let v = |k: &str| root.get(k).unwrap().scalar_value().unwrap();
        assert_eq!(v("a"), Scalar::Int(12));
        assert_eq!(v("b"), Scalar::Str("12"));
        assert_eq!(v("c"), Scalar::Str("0x10"));
        assert_eq!(v("d"), Scalar::Str("0755"));
        assert_eq!(v("e"), Scalar::Float(1.5));
        assert_eq!(v("f"), Scalar::Bool(true));
        assert_eq!(v("g"), Scalar::Null);
        assert_eq!(v("h"), Scalar::Null);
        assert_eq!(v("i"), Scalar::Int(-3));
        assert_eq!(v("j"), Scalar::Float(1000.0));
        assert_eq!(v("k"), Scalar::Str(".inf"));
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let err = parse("a: 1\nb: 2\na: 3\n", "t.yml").unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].code, Code::DuplicateKey);
        assert_eq!(err.0[0].span.map(|s| (s.line, s.col)), Some((3, 0)));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: x\n", "t.yml").unwrap_err();
        assert_eq!(err.0[0].code, Code::YamlSyntax);
        assert_eq!(err.0[0].span.map(|s| s.line), Some(2));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&text, "t.yml").unwrap_err();
        assert_eq!(err.0[0].code, Code::YamlTooLarge);
        assert_eq!(
            err.0[0].message,
            "aliases expand the file by more than 200000 YAML nodes (an alias bomb?)"
        );
    }

    /// A file with too many nodes of its own says so, without guessing at aliases.
    #[test]
    fn node_count_is_bounded_without_an_alias_guess() {
        let text: String = (0..MAX_NODES / 2 + 1)
            .map(|i| format!("k{i}: v\n"))
            .collect();
        let err = parse(&text, "t.yml").unwrap_err();
        assert_eq!(err.0[0].code, Code::YamlTooLarge);
        assert_eq!(
            err.0[0].message,
            "the file has more than 1000000 YAML nodes, the most a rule file may hold"
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&text, "t.yml").unwrap_err();
        assert_eq!(err.0[0].code, Code::YamlTooLarge);
    }

    #[test]
    fn aliases_expand() {
        let root = one("a: &x [1, 2]\nb: *x\n");
        assert_eq!(root.get("b").unwrap().to_json(), serde_json::json!([1, 2]));
    }

    #[test]
    fn multi_document() {
        let docs = parse("a: 1\n---\nb: 2\n", "t.yml").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].root.get("b").unwrap().span.line, 3);
    }
}
