//! Syntax: the `.mgp` grammar, parsed with nom into a spanned tree.

pub mod ast;
mod expr;
mod lexeme;
mod literal;
mod parser;

use std::sync::Arc;

pub use expr::ATTRIBUTE_ROOTS;
pub use literal::weekday;

use crate::diagnostic::Diagnostic;
use crate::span::{FileId, SourceFile, Span};

/// Parses one file. Returns the items that parsed and one diagnostic per item that did not.
pub fn parse(file: &Arc<SourceFile>, id: FileId) -> (ast::File, Vec<Diagnostic>) {
    let input = lexeme::In::new_extra(file.text(), id);
    let (tree, errors) = parser::file(input);
    let diagnostics = errors
        .into_iter()
        .map(|e| {
            let d = Diagnostic::error("syntax", e.message, file, Span::new(id, e.start, e.end));
            match e.help {
                Some(h) => d.with_help(h),
                None => d,
            }
        })
        .collect();
    (tree, diagnostics)
}
