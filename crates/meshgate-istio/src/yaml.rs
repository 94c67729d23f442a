//! Loading YAML with source positions.
//!
//! The documents are read with `saphyr` (YAML 1.2; duplicate keys refused, alias expansion
//! bounded by its default budget) and copied into a small tree of our own whose spans are byte
//! offsets into the text, the unit meshgate's diagnostics use (saphyr counts characters).

use std::sync::Arc;

use meshgate::span::FileId;
use meshgate::{Diagnostic, SourceFile, Span};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::error::codes;

/// One YAML node and where it is.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the node is (bytes).
    pub span: Span,
    /// What it is.
    pub kind: Kind,
}

/// The kinds of node the importer distinguishes.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `null`, `~` or nothing.
    Null,
    /// A string scalar (quoted, or plain text that is not another type).
    Str(String),
    /// A scalar of another type (`true`, `80`, `1.5`), kept as written for messages.
    Other(&'static str, String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in source order.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Node {
    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Str(_) => "a string",
            Kind::Other(t, _) => t,
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// Maps saphyr's character indices to byte offsets.
struct Offsets {
    bytes: Vec<usize>,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        bytes.push(text.len());
        Offsets { bytes }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.bytes
            .get(char_index)
            .copied()
            .unwrap_or_else(|| self.bytes.last().copied().unwrap_or(0))
    }
}

/// Parses every document of `file`. A YAML error is one diagnostic at its position.
pub fn load(file: &Arc<SourceFile>) -> Result<Vec<Node>, Diagnostic> {
    let text = file.text();
    let offsets = Offsets::new(text);
    match MarkedYaml::load_from_str(text) {
        Ok(docs) => Ok(docs.iter().map(|d| convert(d, &offsets)).collect()),
        Err(e) => {
            let at = offsets.byte(e.marker().index());
            Err(Diagnostic::error(
                codes::YAML,
                format!("invalid YAML: {}", e.info()),
                file,
                Span::new(FileId(0), at, at),
            ))
        }
    }
}

fn convert(node: &MarkedYaml<'_>, offsets: &Offsets) -> Node {
    let start = offsets.byte(node.span.start.index());
    let end = offsets.byte(node.span.end.index()).max(start);
    let span = Span::new(FileId(0), start, end);
    let kind = match &node.data {
        YamlData::Value(Scalar::Null) => Kind::Null,
        YamlData::Value(Scalar::String(s)) => Kind::Str(s.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Kind::Other("a boolean", b.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Kind::Other("an integer", i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Kind::Other("a number", f.to_string()),
        YamlData::Representation(s, _, _) => Kind::Str(s.to_string()),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, offsets)).collect()),
        YamlData::Mapping(map) => Kind::Map(
            map.iter()
                .map(|(k, v)| {
                    let key_node = convert(k, offsets);
                    let key = match &key_node.kind {
                        Kind::Str(s) | Kind::Other(_, s) => s.clone(),
                        Kind::Null => "null".to_string(),
                        Kind::Seq(_) | Kind::Map(_) => "?".to_string(),
                    };
                    Entry {
                        key,
                        key_span: key_node.span,
                        value: convert(v, offsets),
                    }
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(inner, offsets),
        YamlData::Alias(_) | YamlData::BadValue => {
            Kind::Other("an unreadable value", String::new())
        }
    };
    Node { span, kind }
}
