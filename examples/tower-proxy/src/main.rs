//! `tower-proxy`: run the example proxy (see the library docs and the README).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// An mTLS reverse proxy that authorizes every request with a meshgate policy.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Upstream to forward allowed requests to, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    upstream: hyper::Uri,
    /// The policy file (reloaded when it changes).
    #[arg(long)]
    policy: PathBuf,
    /// PEM file of the CA that issues client certificates.
    #[arg(long)]
    client_ca: PathBuf,
    /// PEM file of the server's certificate chain.
    #[arg(long)]
    cert: PathBuf,
    /// PEM file of the server's private key.
    #[arg(long)]
    key: PathBuf,
    /// Write each decision as a JSON line to standard output.
    #[arg(long)]
    decision_log: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = tower_proxy::Config {
        listen: args.listen,
        upstream: args.upstream,
        policy: args.policy,
        client_ca: args.client_ca,
        cert: args.cert,
        key: args.key,
        reload_interval: Duration::from_secs(1),
        decision_log: args.decision_log,
    };
    let running = match tower_proxy::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tower-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "tower-proxy: listening on https://{} (policy version {})",
        running.addr,
        running.engine.version()
    );
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}
