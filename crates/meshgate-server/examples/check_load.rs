//! A load generator for `meshgate serve`'s ext_authz gRPC service, used by
//! `cargo xtask bench-serve`: sends `Check` calls at a fixed rate (open loop, evenly spaced by
//! a pacing thread) over a few HTTP/2 connections, and prints one JSON line with the rate
//! achieved, the outcomes and the latency percentiles (each call timed from its scheduled send
//! to its answer).
//!
//! ```console
//! $ cargo run --release -p meshgate-server --example check_load -- \
//!     --addr 127.0.0.1:9191 --rate 10000 --seconds 10 --path /api/r999/x
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a benchmark client: a failed setup panics"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress, address, socket_address};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Peer, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use tokio::sync::Mutex;
use tonic::transport::Channel;

struct Args {
    addr: String,
    rate: u64,
    seconds: u64,
    connections: usize,
    path: String,
    principal: String,
}

fn args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:9191".into(),
        rate: 10_000,
        seconds: 10,
        connections: 2,
        path: "/api/x".into(),
        principal: "spiffe://cluster.local/ns/shop/sa/frontend".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| panic!("`{flag}` needs a value"));
        match flag.as_str() {
            "--addr" => a.addr = value,
            "--rate" => a.rate = value.parse().expect("--rate"),
            "--seconds" => a.seconds = value.parse().expect("--seconds"),
            "--connections" => a.connections = value.parse().expect("--connections"),
            "--path" => a.path = value,
            "--principal" => a.principal = value,
            other => panic!("unknown option `{other}`"),
        }
    }
    a
}

fn peer(ip: &str, port: u32, principal: &str) -> Peer {
    Peer {
        address: Some(Address {
            address: Some(address::Address::SocketAddress(SocketAddress {
                address: ip.into(),
                port_specifier: Some(socket_address::PortSpecifier::PortValue(port)),
                ..SocketAddress::default()
            })),
        }),
        principal: principal.into(),
        ..Peer::default()
    }
}

/// A sidecar-like check: peer identity and addresses, request line, six headers.
fn check_request(a: &Args) -> CheckRequest {
    let headers: HashMap<String, String> = [
        (":authority", "payments.prod.svc.cluster.local"),
        ("user-agent", "load/1.0"),
        ("accept", "application/json"),
        ("x-request-id", "5f0c2a8e-1b1d-4b3a-9d7e-3c1a2b4c5d6e"),
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("x-user", "alice"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    CheckRequest {
        attributes: Some(AttributeContext {
            source: Some(peer("10.0.0.7", 40000, &a.principal)),
            destination: Some(peer("10.0.0.8", 8080, "")),
            request: Some(Request {
                time: None,
                http: Some(HttpRequest {
                    method: "GET".into(),
                    path: a.path.clone(),
                    host: "payments.prod.svc.cluster.local".into(),
                    headers,
                    ..HttpRequest::default()
                }),
            }),
            ..AttributeContext::default()
        }),
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let a = args();
    // One thread: the client's share of the machine is bounded, the rest is the server's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(a));
}

async fn run(a: Args) {
    let mut clients = Vec::new();
    for _ in 0..a.connections.max(1) {
        let channel = Channel::from_shared(format!("http://{}", a.addr))
            .unwrap()
            .connect()
            .await
            .expect("cannot connect");
        clients.push(AuthorizationClient::new(channel));
    }
    let request = check_request(&a);
    // Warm-up: connections, the server's first allocations.
    for c in &mut clients {
        for _ in 0..100 {
            c.check(request.clone()).await.expect("warm-up check");
        }
    }
    let latencies = Arc::new(Mutex::new(Vec::<u32>::with_capacity(
        (a.rate * a.seconds) as usize,
    )));
    let allowed = Arc::new(AtomicU64::new(0));
    let denied = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(AtomicU64::new(0));
    let skipped = Arc::new(AtomicU64::new(0));
    // Open loop with even spacing: a pacing thread wakes at each check's scheduled instant
    // (the runtime's timer has millisecond resolution, which would send each millisecond's
    // checks as one batch) and hands the instant to the runtime, which sends the check. Each
    // call is timed from its scheduled instant, so a late send counts against the latency
    // rather than hiding it.
    let total = a.rate * a.seconds;
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let start = Instant::now();
    std::thread::spawn(move || {
        for i in 0..total {
            let due = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send(due).is_err() {
                return;
            }
        }
    });
    let mut sent: u64 = 0;
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(due) = rx.recv().await {
        sent += 1;
        if in_flight.load(Ordering::Relaxed) > 10_000 {
            skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut client = clients[(sent as usize) % clients.len()].clone();
        let request = request.clone();
        let (latencies, allowed, denied, errors, in_flight) = (
            latencies.clone(),
            allowed.clone(),
            denied.clone(),
            errors.clone(),
            in_flight.clone(),
        );
        in_flight.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            let r = client.check(request).await;
            let us = due.elapsed().as_micros().min(u32::MAX as u128) as u32;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            match r.map(|r| r.into_inner().status.map(|s| s.code)) {
                Ok(Some(0)) => allowed.fetch_add(1, Ordering::Relaxed),
                Ok(Some(7)) => denied.fetch_add(1, Ordering::Relaxed),
                _ => errors.fetch_add(1, Ordering::Relaxed),
            };
            latencies.lock().await.push(us);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.lock().await.clone();
    l.sort_unstable();
    let done = l.len() as f64;
    println!(
        "{{\"sent\":{sent},\"answered\":{},\"allowed\":{},\"denied\":{},\"errors\":{},\"skipped\":{},\"rate\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}}}",
        l.len(),
        allowed.load(Ordering::Relaxed),
        denied.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        skipped.load(Ordering::Relaxed),
        done / elapsed,
        percentile(&l, 0.50),
        percentile(&l, 0.90),
        percentile(&l, 0.99),
        percentile(&l, 0.999),
        l.last().copied().unwrap_or(0),
    );
}
