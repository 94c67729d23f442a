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
//! are those of [`Request`] and [`Decision`], shared by every binding.
//!
//! ## A guide to the API
//!
//! **Load** policies with [`PolicySet::parse`] (one source) or [`PolicySet::builder`] (several
//! sources, in set order, with [`PolicyLimits`]). A policy that does not load gives
//! [`Diagnostics`]: each [`Diagnostic`] has a stable code, a message, a span with line and
//! column, a help line, and [`Diagnostic::render`] prints it with a snippet of the source.
//!
//! ```
//! use meshgate::PolicySet;
//!
//! let err = PolicySet::parse(r#"allow "a" { from namspace "shop" }"#, "p.mgp").unwrap_err();
//! let d = &err.0[0];
//! assert_eq!((d.code(), d.start().line, d.start().column), ("unknown-matcher", 1, 18));
//! assert_eq!(d.help(), Some("did you mean `namespace`?"));
//! assert!(d.render().contains("p.mgp:1:18"));
//! ```
//!
//! **Decide** with an [`Engine`] compiled from the set: immutable, `Send + Sync`, cheap to
//! clone, and it answers in time that does not grow with the number of rules. A [`Decision`]
//! borrows rule ids from the engine: `allowed`, the `reasons` (the deciding rules), the
//! `audits` and `dry_run` rules that matched, and the `errors` of rules that could not be
//! evaluated. Anything that cannot be evaluated denies.
//!
//! **Reload** without stopping: a [`SharedEngine`] decides against the current [`Snapshot`]
//! and swaps in a new version atomically; a version that fails to load is refused and the last
//! good one keeps deciding.
//!
//! ```
//! use meshgate::{PolicySet, Request, SharedEngine};
//!
//! let v1 = PolicySet::parse(r#"allow "all" { to path "/**" }"#, "p.mgp")?;
//! let shared = SharedEngine::new(&v1);
//! let mut broken = PolicySet::builder();
//! broken.add_source("p.mgp", "allow {");
//! assert!(shared.reload(&broken).is_err());
//! let request = Request::from_json(r#"{"request": {"path": "/x"}}"#)?;
//! assert!(shared.decide(&request, |_version, d| d.allowed));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Requests** come from JSON ([`Request::from_json`]) or from a [`RequestBuilder`] fed field
//! by field from a proxy's own buffers, borrowing its strings. Both apply the same acceptance
//! rules (types, duplicates, [`RequestLimits`]); every binding reads requests through them.
//! Every attribute is optional: a test on an absent one is unknown, never true.
//!
//! ```
//! use meshgate::request::Field;
//! use meshgate::Request;
//!
//! let mut b = Request::builder();
//! b.str(Field::SourcePrincipal, "spiffe://cluster.local/ns/shop/sa/frontend")?;
//! b.str(Field::RequestMethod, "GET")?.str(Field::RequestPath, "/api/cart")?;
//! let request = b.finish()?;
//! assert_eq!(request.source_namespace(), Some("shop"));
//! assert!(Request::builder().str(Field::SourceIp, "10.0.0.300").is_err());
//! # Ok::<(), meshgate::RequestError>(())
//! ```
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
pub mod decision_log;
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
pub use decision_log::DecisionLog;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use engine::{Engine, EngineStats, IndexStats};
pub use limits::{PolicyLimits, RequestLimits};
pub use model::Effect;
pub use policy_set::{PolicySet, PolicySetBuilder};
pub use request::{Request, RequestBuilder, RequestError};
pub use shared::{SharedEngine, Snapshot};
pub use span::{SourceFile, Span};
