//! The side-by-side benchmark of meshgate against cedar-policy, regorus and casbin.
//!
//! - [`workload`]: the abstract rule model and the seeded generator (`mesh`, `flat`, `rbac`,
//!   `labels`, `globs`, `cidrs`, `claims`, `hosts`, `select`, `istio`).
//! - [`render`]: its translations to `.mgp`, Cedar, Rego (+ data) and casbin (model + policy).
//! - [`engines`]: the four engines behind one [`engines::Subject`] interface.
//! - [`agree`]: the agreement check every engine must pass before it is timed.
//! - [`measure`]: the timing loop (median and p99).
//! - [`extras`]: meshgate's compile time, memory, allocations and thread scaling.
//! - [`runner`]: `meshgate-bench`, the binary `cargo xtask bench` runs.
//!
//! `benches/README.md` documents the translations.

// A benchmark and test tool, never embedded: the workspace's no-panic lints do not apply. It
// indexes and counts its own workloads freely, and panics on a broken setup.
#![expect(
    clippy::arithmetic_side_effects,
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unreachable,
    reason = "benchmark tool: a broken setup panics, and it indexes and counts its own workloads"
)]

pub mod agree;
pub mod engines;
pub mod extras;
pub mod measure;
pub mod oracle;
pub mod render;
pub mod runner;
pub mod workload;
