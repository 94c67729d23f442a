//! # meshgate-envoy
//!
//! meshgate as an Envoy HTTP filter (proxy-wasm ABI 0.2.1): each request's attributes
//! (mTLS peer, addresses, ports, method, path, host, selected headers, the workload's namespace
//! and labels, JWT claims from the JWT filter's metadata, the proxy's clock) become a meshgate
//! [`meshgate::Request`], the policy compiled once per configuration decides it, and a denial is
//! answered in the proxy with a local response naming the deciding rule.
//!
//! - [`config`]: the plugin configuration (JSON).
//! - [`load`]: the configuration and its policy, compiled into an indexed engine.
//! - [`mapping`]: Envoy attributes to a meshgate request (the attribute table).
//! - [`wire`]: the bytes a proxy returns for properties (pairs, integers, protobuf metadata).
//! - [`outcome`]: continue or deny, counters, and the decision-log line.
//! - `filter`: the proxy-wasm contexts that tie these to the ABI (its entry point is exported
//!   on wasm32 only).
//!
//! A configuration or policy that does not load fails closed: every request is answered 503
//! until a good one arrives, unless `failure_mode_allow` (or `mode: "dry-run"`) says otherwise.
//! `crates/meshgate-envoy/README.md` documents the configuration, the attribute mapping, the
//! counters and the decision log.

// As in the core, the workspace's no-panic lints (Cargo.toml) hold: no panics on any input
// (configuration, attributes, metadata bytes); every exception is an `#[expect]` with its
// reason.

pub mod config;
// The glue is compiled (and linted) everywhere; only wasm32 exports its entry point.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod filter;
pub mod load;
pub mod mapping;
pub mod outcome;
pub mod wire;
