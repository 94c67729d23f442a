//! # meshgate-server
//!
//! meshgate as an authorization server for proxies that delegate authorization to a service:
//!
//! - Envoy's **ext_authz v3 gRPC** service (`envoy.service.auth.v3.Authorization/Check`), which
//!   Istio's `CUSTOM` action reaches through `meshConfig.extensionProviders`;
//! - Envoy's **ext_authz HTTP** service and **forward auth** (nginx `auth_request`, Caddy
//!   `forward_auth`, Traefik `ForwardAuth`): `200` allows, `403` denies;
//! - an admin listener with Prometheus `/metrics`, `/healthz` and `/readyz`.
//!
//! Policy files are polled and reloaded when they change, keeping the last good version
//! ([`policy`]); each check decides against exactly one version, which the JSON decision log
//! ([`log`]) names. Every error denies: no policy loaded, attributes that cannot be read, a
//! request over the limits, a server over its bound on concurrent checks.
//!
//! The `meshgate serve` command of `meshgate-cli` runs a [`Server`]; see the crate README for
//! the attribute mappings and the proxy configurations.

pub mod attrs;
pub mod check;
pub mod grpc;
pub mod http;
pub mod log;
pub mod metrics;
pub mod policy;
mod server;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use meshgate::Request;

pub use server::Server;

/// Where decision-log lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// Everything a server is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Policy files, or directories of `*.mgp` files, loaded as one set in this order.
    pub policy: Vec<PathBuf>,
    /// The ext_authz gRPC listener (none: not served).
    pub grpc: Option<SocketAddr>,
    /// The ext_authz HTTP and forward-auth listener (none: not served).
    pub http: Option<SocketAddr>,
    /// The admin listener: `/metrics`, `/healthz`, `/readyz` (none: not served).
    pub admin: Option<SocketAddr>,
    /// How checks become meshgate requests.
    pub mapping: Mapping,
    /// Status of a denial (400–599).
    pub deny_status: u16,
    /// Name the deny rule in `x-meshgate-denied-by` and in the body.
    pub reveal_rule: bool,
    /// JSON decision log (none: no log).
    pub decision_log: Option<LogTarget>,
    /// Header and claim names whose values the decision log replaces with `[redacted]`.
    pub redact: Vec<String>,
    /// Most checks in progress at once; more are denied at once (gRPC `UNAVAILABLE`, HTTP 503).
    pub max_concurrent_checks: usize,
    /// Largest check: a gRPC message, or an HTTP request's headers, in bytes.
    pub max_request_bytes: usize,
    /// How often the policy files are read for changes.
    pub reload_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: Vec::new(),
            grpc: None,
            http: None,
            admin: None,
            mapping: Mapping::default(),
            deny_status: 403,
            reveal_rule: true,
            decision_log: None,
            redact: Vec::new(),
            max_concurrent_checks: 1024,
            max_request_bytes: 64 << 10,
            reload_interval: Duration::from_secs(1),
        }
    }
}

/// How a check's attributes become a meshgate request.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    /// Request headers exposed as `request.headers["…"]` (lower case).
    pub headers: Vec<String>,
    /// `destination.service` of every check (one server per workload group).
    pub destination_service: Option<String>,
    /// `destination.namespace` of every check.
    pub destination_namespace: Option<String>,
    /// `destination.labels` of every check.
    pub destination_labels: Vec<(String, String)>,
    /// Read the caller's namespace and labels from Istio's `x-envoy-peer-metadata` header.
    /// Only safe where the proxy in front removes the header from outside requests (Istio's
    /// sidecars set it themselves on mesh traffic).
    pub trust_peer_metadata: bool,
    /// HTTP front end: read the caller's identity from the `URI` of `x-forwarded-client-cert`.
    /// Only safe where the proxy in front sets that header itself (Envoy's
    /// `forward_client_cert_details: SANITIZE_SET`).
    pub trust_xfcc: bool,
    /// gRPC front end: which payload of the `jwt_authn` metadata holds the claims (the only one
    /// when unset).
    pub jwt_payload_key: Option<String>,
    /// HTTP front end: a header holding the JWT payload as base64url JSON (Envoy `jwt_authn`'s
    /// `forward_payload_header`), trusted as set by the proxy.
    pub jwt_payload_header: Option<String>,
    /// HTTP front end: the prefix Envoy's HTTP ext_authz puts before the original path
    /// (`path_prefix`), removed when there is no `X-Forwarded-Uri`/`X-Original-URI`.
    pub http_path_prefix: String,
}

impl Mapping {
    /// Sets the configured destination attributes.
    fn destination<'a>(&'a self, r: &mut Request<'a>) {
        if let Some(service) = &self.destination_service {
            r.destination.service = Some(Cow::Borrowed(service));
        }
        if let Some(ns) = &self.destination_namespace {
            r.destination.namespace = Some(Cow::Borrowed(ns));
        }
        if !self.destination_labels.is_empty() {
            r.destination.labels = self
                .destination_labels
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                .collect();
        }
    }

    /// Sets the caller's namespace and labels from an `x-envoy-peer-metadata` value.
    fn peer_metadata(&self, r: &mut Request<'_>, value: &str) -> Result<(), attrs::Unreadable> {
        let peer = attrs::peer_metadata(value)?;
        if let Some(ns) = peer.namespace {
            r.source.namespace = Some(Cow::Owned(ns));
        }
        if !peer.labels.is_empty() {
            r.source.labels = peer
                .labels
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                .collect();
        }
        Ok(())
    }
}
