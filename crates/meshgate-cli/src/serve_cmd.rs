//! `meshgate serve`: runs the authorization server of `meshgate-server` until SIGTERM or
//! SIGINT, then drains checks in progress and exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use meshgate_server::{Config, LogTarget, Mapping, Server};

use crate::{FAILED, OK, USAGE};

/// Options of `meshgate serve`.
#[derive(Args, Debug)]
pub struct Options {
    /// Policy files, or directories of `*.mgp` files, loaded as one set in the order given and
    /// reloaded when they change.
    #[arg(long, required = true, num_args = 1.., value_name = "PATHS")]
    policy: Vec<PathBuf>,
    /// Envoy ext_authz gRPC listener (`off`: none).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9191")]
    grpc: Listen,
    /// Envoy ext_authz HTTP and forward-auth listener (`off`: none).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9192")]
    http: Listen,
    /// Admin listener: /metrics, /healthz, /readyz (`off`: none).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9193")]
    admin: Listen,
    /// A request header exposed to the policy as `request.headers["NAME"]` (repeatable).
    #[arg(long = "header", value_name = "NAME")]
    headers: Vec<String>,
    /// `destination.service` of every check (one server per workload group).
    #[arg(long, value_name = "HOST")]
    destination_service: Option<String>,
    /// `destination.namespace` of every check.
    #[arg(long, value_name = "NS")]
    destination_namespace: Option<String>,
    /// A `destination.labels` entry of every check (repeatable).
    #[arg(long = "destination-label", value_name = "KEY=VALUE", value_parser = parse_label)]
    destination_labels: Vec<(String, String)>,
    /// Read the caller's namespace and labels from Istio's `x-envoy-peer-metadata` (only where
    /// the proxy in front strips it from outside requests).
    #[arg(long)]
    trust_peer_metadata: bool,
    /// HTTP checks: read the caller's identity from `x-forwarded-client-cert` (only where the
    /// proxy in front sets it, e.g. Envoy's SANITIZE_SET).
    #[arg(long)]
    trust_xfcc: bool,
    /// gRPC checks: the key of the JWT payload in the `jwt_authn` metadata (`payload_in_metadata`;
    /// needed when there can be several).
    #[arg(long, value_name = "KEY")]
    jwt_payload_key: Option<String>,
    /// HTTP checks: a header holding the JWT payload as base64url JSON (Envoy `jwt_authn`'s
    /// `forward_payload_header`), trusted as set by the proxy.
    #[arg(long, value_name = "NAME")]
    jwt_payload_header: Option<String>,
    /// HTTP checks: the path prefix Envoy's HTTP ext_authz adds (`path_prefix`).
    #[arg(long, value_name = "PREFIX", default_value = "")]
    http_path_prefix: String,
    /// Status of a denial.
    #[arg(long, value_name = "STATUS", default_value_t = 403)]
    deny_status: u16,
    /// Do not name the deny rule in `x-meshgate-denied-by` or in the body.
    #[arg(long)]
    hide_rule: bool,
    /// Write a JSON decision log, one line per check, to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,
    /// A header or claim name whose value the decision log replaces with `[redacted]`
    /// (repeatable; header names ignore case).
    #[arg(long = "redact", value_name = "NAME")]
    redact: Vec<String>,
    /// Most checks in progress at once; more are denied at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_concurrent_checks: usize,
    /// Largest check (a gRPC message, or an HTTP check's headers), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_request_bytes: usize,
    /// How often the policy files are read for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    reload_interval_ms: u64,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// A listener address, or `off`.
#[derive(Clone, Debug)]
struct Listen(Option<SocketAddr>);

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Listen(None));
        }
        s.parse()
            .map(|a| Listen(Some(a)))
            .map_err(|_| format!("`{s}` is not an address like `127.0.0.1:9191`, or `off`"))
    }
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// Runs the server; returns the exit code.
pub fn run(o: Options) -> u8 {
    let config = Config {
        policy: o.policy,
        grpc: o.grpc.0,
        http: o.http.0,
        admin: o.admin.0,
        mapping: Mapping {
            headers: o.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            destination_service: o.destination_service,
            destination_namespace: o.destination_namespace,
            destination_labels: o.destination_labels,
            trust_peer_metadata: o.trust_peer_metadata,
            trust_xfcc: o.trust_xfcc,
            jwt_payload_key: o.jwt_payload_key,
            jwt_payload_header: o.jwt_payload_header.map(|h| h.to_ascii_lowercase()),
            http_path_prefix: o.http_path_prefix,
        },
        deny_status: o.deny_status,
        reveal_rule: !o.hide_rule,
        decision_log: o.decision_log.map(|p| {
            if p.as_os_str() == "-" {
                LogTarget::Stdout
            } else {
                LogTarget::File(p)
            }
        }),
        redact: o.redact,
        max_concurrent_checks: o.max_concurrent_checks,
        max_request_bytes: o.max_request_bytes,
        reload_interval: Duration::from_millis(o.reload_interval_ms.max(10)),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = o.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = match runtime.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshgate serve: cannot start the runtime: {e}");
            return FAILED;
        }
    };
    runtime.block_on(async move {
        let server = match Server::bind(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("meshgate serve: {e}");
                return USAGE;
            }
        };
        for (what, addr) in [
            ("grpc", server.grpc_addr()),
            ("http", server.http_addr()),
            ("admin", server.admin_addr()),
        ] {
            if let Some(addr) = addr {
                eprintln!("meshgate serve: {what} listening on {addr}");
            }
        }
        match server.run(shutdown_signal()).await {
            Ok(()) => {
                eprintln!("meshgate serve: stopped");
                OK
            }
            Err(e) => {
                eprintln!("meshgate serve: {e}");
                FAILED
            }
        }
    })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
