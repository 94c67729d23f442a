//! Policy authoring tools: tests with coverage, explanations, lint, formatting and a semantic
//! diff. Everything here is library code with structured (serde) results, so that the CLI, the
//! Python binding and the WASM build show the same thing.

pub mod coverage;
pub mod explain;
pub mod testing;
pub mod trace;

use std::collections::HashMap;

use crate::PolicySet;
use crate::span::{FileId, Span};
use crate::syntax::ast::{self, Item};

/// Where a span starts: file name, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The file's name as given to the policy set.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The location of `span` in `set`.
pub fn location(set: &PolicySet, span: Span) -> Location {
    match set.files().get(span.file.0 as usize) {
        Some(f) => {
            let lc = f.line_col(span.start);
            Location { file: f.name().to_string(), line: lc.line, column: lc.column }
        }
        None => Location { file: String::new(), line: 0, column: 0 },
    }
}

/// The text `span` covers in `set`.
pub fn text(set: &PolicySet, span: Span) -> &str {
    set.files().get(span.file.0 as usize).map_or("", |f| f.slice(span))
}

/// The syntax trees of a set's rules, by id (the tree keeps what the model drops: the spans of
/// whole `when` and `unless` expressions).
pub fn rule_decls(set: &PolicySet) -> HashMap<String, ast::RuleDecl> {
    let mut out = HashMap::new();
    for (i, file) in set.files().iter().enumerate() {
        let (tree, _) = crate::syntax::parse(file, FileId(i as u32));
        for item in tree.items {
            if let Item::Rule(r) = item {
                out.entry(r.id.value.clone()).or_insert(r);
            }
        }
    }
    out
}

/// The spans of a rule's `when` and `unless` expressions, in order.
pub fn condition_spans(decl: Option<&ast::RuleDecl>) -> (Vec<Span>, Vec<Span>) {
    let mut when = Vec::new();
    let mut unless = Vec::new();
    for stmt in decl.map(|d| d.body.as_slice()).unwrap_or_default() {
        match stmt {
            ast::RuleStmt::When(e) => when.push(e.span),
            ast::RuleStmt::Unless(e) => unless.push(e.span),
            _ => {}
        }
    }
    (when, unless)
}
