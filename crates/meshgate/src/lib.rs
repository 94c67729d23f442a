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

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// No panics on the decision path or on any input: every exception is an `#[expect]` with its
// reason. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::string_slice,
    )
)]

pub mod attr;
pub mod decision;
pub mod diagnostic;
mod engine;
pub mod eval;
pub mod limits;
pub mod model;
pub mod pattern;
mod policy_set;
pub mod request;
pub mod shared;
pub mod span;
pub mod syntax;
pub mod tools;
mod validate;

pub use decision::{Decision, DryRun, EvalError};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use engine::{Engine, EngineStats, IndexStats};
pub use limits::{PolicyLimits, RequestLimits};
pub use model::Effect;
pub use policy_set::{PolicySet, PolicySetBuilder};
pub use request::{Request, RequestError};
pub use shared::{SharedEngine, Snapshot};
pub use span::{SourceFile, Span};
