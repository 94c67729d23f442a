//! # meshgate
//!
//! An embeddable authorization engine for service meshes. A small policy language (roles and
//! allow/deny/audit rules over caller identity, namespace, labels, IPs, JWT claims, HTTP method,
//! path, host, port and time) is parsed, validated with precise diagnostics, and compiled into an
//! indexed [`Engine`] that answers "may this caller make this request to this workload now?".
//!
//! ```
//! use meshgate::{Engine, PolicySet, Request};
//!
//! let policy = PolicySet::parse(r#"
//!     role reader { permit GET, HEAD on "/api/**" }
//!     allow "frontend-reads-payments" {
//!       from principal "spiffe://cluster.local/ns/shop/sa/frontend"
//!       to   service "payments.prod.svc.cluster.local"
//!       grant reader
//!     }
//! "#, "payments.mgp")?;
//! let engine = Engine::new(&policy);
//!
//! let request = Request::from_json(r#"{
//!     "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
//!     "destination": {"service": "payments.prod.svc.cluster.local"},
//!     "request": {"method": "GET", "path": "/api/balance"}
//! }"#)?;
//! let decision = engine.decide(&request);
//! assert!(decision.allowed);
//! assert_eq!(decision.reasons.as_slice(), ["frontend-reads-payments"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The language is specified in `spec/language.md`; the JSON shapes of requests and decisions
//! are those of [`Request`] and [`Decision`].
//!
//! ## The runtime, and what is not in it
//!
//! This crate is the decision runtime that proxies embed: parsing, validation with
//! [`Diagnostics`] (each with a code, a message, a span, a help line, and a plain-text
//! rendering, [`Diagnostic::render`]), the compiled [`Engine`] and [`SharedEngine`] for hot
//! reload, [`Request`]s and [`Decision`]s, and the [`PolicyLimits`] and [`RequestLimits`] that
//! bound them. It reads no clock, writes to no terminal and, without the default `fs` feature,
//! touches no file system.
//!
//! The authoring tools (policy unit tests with coverage, explain, lint, diff, fmt, traces) are
//! the `meshgate-tools` crate, and coloured terminal output is its `fancy` feature; neither is a
//! dependency of this crate. The modules `attr`, `syntax`, `model`, `pattern` and `eval` are
//! public for those tools but hidden from these docs: they are internals, with no stability
//! promise.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// No panics on the decision path or on any input: the workspace's no-panic lints (Cargo.toml)
// hold here, and every exception is an `#[expect]` with its reason.

// Internals of the language (attributes, syntax trees, the validated model, patterns, the
// reference evaluator): public for `meshgate-tools`, hidden from the docs, no stability promise.
#[doc(hidden)]
pub mod attr;
pub mod decision;
pub mod diagnostic;
mod engine;
#[doc(hidden)]
pub mod eval;
pub mod limits;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod pattern;
mod policy_set;
pub mod request;
pub mod shared;
mod snippet;
pub mod span;
#[doc(hidden)]
pub mod syntax;
mod validate;

pub use decision::{Decision, DryRun, EvalError, List};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use engine::{Engine, EngineStats, IndexStats};
pub use limits::{PolicyLimits, RequestLimits};
pub use model::Effect;
pub use policy_set::{PolicySet, PolicySetBuilder};
pub use request::{Request, RequestError};
pub use shared::{SharedEngine, Snapshot};
pub use span::{SourceFile, Span};
