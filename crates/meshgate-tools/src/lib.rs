//! # meshgate-tools
//!
//! The policy authoring tools of [`meshgate`]: what an operator uses while writing and
//! reviewing policies, as opposed to the decision runtime that a proxy embeds (the `meshgate`
//! crate, which this crate builds on and which does not depend on it).
//!
//! - [`testing`]: policy unit tests (`*.test.json`: requests with their expected decisions),
//!   and with [`coverage`], which rules, clauses and `or` branches the tests exercised (lcov).
//! - [`explain`]: why a request was decided as it was, and what the nearest allow rules lacked.
//! - [`lint`]: warnings with stable codes (unused roles, rules without a `from`, redundant or
//!   shadowed rules, broad paths, …).
//! - [`diff`]: the semantic difference of two policy sets: the classes of requests whose
//!   decision changes, each with an example request.
//! - [`fmt`]: the canonical formatting of policy text.
//! - [`trace`]: the evaluation of each rule against a request, clause by clause.
//! - `fancy` (feature `fancy`): diagnostics rendered in colour for a terminal, with miette.
//!
//! Everything here is library code with structured (serde) results, so that the CLI, the
//! Python binding and the WASM build show the same thing.
//!
//! ```
//! use meshgate::PolicySet;
//!
//! let set = PolicySet::parse(r#"role reader { permit GET on "/**" }
//! allow "anyone" { grant reader }"#, "p.mgp")?;
//! let warnings = meshgate_tools::lint::lint(&set);
//! assert!(warnings.iter().any(|w| w.code() == "no-subject"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! It uses the runtime's internals (syntax trees, the validated model, the reference
//! evaluator), which the runtime exports as `#[doc(hidden)]` items with no stability promise:
//! keep this crate's version in step with the runtime's.

pub mod coverage;
pub mod diff;
pub mod explain;
#[cfg(feature = "fancy")]
pub mod fancy;
pub mod fmt;
pub mod lint;
pub mod testing;
pub mod trace;

use meshgate::PolicySet;
use meshgate::span::Span;

/// A decision with owned strings, in the decision's JSON shape and field order (so reports
/// outlive the policy set and print as `eval` does).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DecisionRecord {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The deciding rules.
    pub reasons: Vec<String>,
    /// Audit rules that matched.
    pub audits: Vec<String>,
    /// Dry-run rules that matched.
    pub dry_run: Vec<DryRunRecord>,
    /// Evaluation errors.
    pub errors: Vec<ErrorRecord>,
}

/// A dry-run entry of a [`DecisionRecord`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DryRunRecord {
    /// Rule id.
    pub rule: String,
    /// What it would have done.
    pub effect: meshgate::Effect,
}

/// An error entry of a [`DecisionRecord`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ErrorRecord {
    /// Rule id.
    pub rule: String,
    /// What went wrong.
    pub message: String,
}

impl From<&meshgate::Decision<'_>> for DecisionRecord {
    fn from(d: &meshgate::Decision<'_>) -> Self {
        DecisionRecord {
            allowed: d.allowed,
            reasons: d.reasons.iter().map(|s| s.to_string()).collect(),
            audits: d.audits.iter().map(|s| s.to_string()).collect(),
            dry_run: d
                .dry_run
                .iter()
                .map(|x| DryRunRecord {
                    rule: x.rule.to_string(),
                    effect: x.effect,
                })
                .collect(),
            errors: d
                .errors
                .iter()
                .map(|e| ErrorRecord {
                    rule: e.rule.to_string(),
                    message: e.message.clone(),
                })
                .collect(),
        }
    }
}

impl std::fmt::Display for DecisionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).unwrap_or_default())
    }
}

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

/// An I/O error as the tools word it: [`meshgate::diagnostic::io_reason`].
pub use meshgate::diagnostic::io_reason;

/// The location of `span` in `set`.
pub fn location(set: &PolicySet, span: Span) -> Location {
    match set.files().get(span.file.0 as usize) {
        Some(f) => {
            let lc = f.line_col(span.start);
            Location {
                file: f.name().to_string(),
                line: lc.line,
                column: lc.column,
            }
        }
        None => Location {
            file: String::new(),
            line: 0,
            column: 0,
        },
    }
}

/// The text `span` covers in `set`.
pub fn text(set: &PolicySet, span: Span) -> &str {
    set.files()
        .get(span.file.0 as usize)
        .map_or("", |f| f.slice(span))
}
