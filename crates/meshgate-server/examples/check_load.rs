//! A load generator for `meshgate serve`'s ext_authz gRPC service, used by
//! `cargo xtask bench-serve`: sends `Check` calls at a fixed rate (open loop, evenly spaced by
//! a pacing thread) over a few HTTP/2 connections, and prints one JSON line with the rate
//! achieved, the outcomes and the latency percentiles.
//!
//! It is a lean client, as a proxy's is: the request is encoded once and each call is one
//! HTTP/2 stream written with `h2` directly (tonic's client adds a buffer task and a codec per
//! call, which on a 2-core machine are the client's cost, not the server's). Each answer is
//! still read whole: the `grpc-status` trailer and the `CheckResponse`'s status.
//!
//! Two latencies are reported: from each call's scheduled instant (`p50_us`…, so a late send
//! counts against it rather than hiding it) and from its actual send (`rtt_*`), with the
//! pacing's own lag (`lag_*`) between them.
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
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress, address, socket_address};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Peer, Request};
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest, CheckResponse};
use prost::Message;

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

/// The request as a gRPC message: a 5-byte prefix (not compressed, length) and the protobuf.
fn grpc_frame(check: &CheckRequest) -> bytes::Bytes {
    let body = check.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed.into()
}

/// What one call came to.
enum Outcome {
    Allowed,
    Denied,
    Error,
}

/// One `Check` call on an HTTP/2 connection: the request's headers and the framed message,
/// then the whole answer (data, then the trailers).
async fn call(
    client: &mut h2::client::SendRequest<bytes::Bytes>,
    authority: &str,
    body: bytes::Bytes,
) -> Result<Outcome, String> {
    let request = http::Request::post(format!(
        "http://{authority}/envoy.service.auth.v3.Authorization/Check"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .map_err(|e| e.to_string())?;
    let mut ready = client.clone().ready().await.map_err(|e| e.to_string())?;
    let (response, mut stream) = ready
        .send_request(request, false)
        .map_err(|e| e.to_string())?;
    stream.send_data(body, true).map_err(|e| e.to_string())?;
    let response = response.await.map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.into_body();
    let mut message = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        let _ = body.flow_control().release_capacity(chunk.len());
        message.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.map_err(|e| e.to_string())?;
    let grpc_status = trailers.as_ref().and_then(|t| t.get("grpc-status"));
    if grpc_status.map(|v| v.as_bytes()) != Some(b"0") {
        return Err(format!("grpc-status {grpc_status:?}"));
    }
    let Some(protobuf) = message.get(5..) else {
        return Err("no message".into());
    };
    let answer = CheckResponse::decode(protobuf).map_err(|e| e.to_string())?;
    Ok(match answer.status.map(|s| s.code) {
        Some(0) => Outcome::Allowed,
        Some(7) => Outcome::Denied,
        _ => Outcome::Error,
    })
}

/// Makes this thread's sleeps end on time: Linux lets a sleep overrun by the thread's timer
/// slack, 50 µs by default, which the pacing would add to every call's latency.
/// On this Firecracker VM a 100 µs sleep overshoots by 71 µs at the median with the default
/// slack and by 21 µs with 1 ns.
#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "prctl has no safe wrapper in std")]
fn tight_timer() {
    // SAFETY: `PR_SET_TIMERSLACK` takes an integer and only sets this thread's timer slack.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn tight_timer() {}

fn main() {
    let a = args();
    // One thread: the client's share of the machine is bounded, the rest is the server's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(a));
}

/// A finished call: its outcome, and microseconds from its scheduled instant and from its send.
struct Done {
    outcome: Result<Outcome, String>,
    from_due: u32,
    from_send: u32,
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

async fn run(a: Args) {
    let mut clients = Vec::new();
    for _ in 0..a.connections.max(1) {
        let tcp = tokio::net::TcpStream::connect(&a.addr)
            .await
            .expect("cannot connect");
        tcp.set_nodelay(true).unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.expect("http/2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        clients.push(client);
    }
    let body = grpc_frame(&check_request(&a));
    // Warm-up: connections, the server's first allocations.
    for c in &mut clients {
        for _ in 0..100 {
            if let Err(e) = call(c, &a.addr, body.clone()).await {
                panic!("warm-up check failed: {e}");
            }
        }
    }
    // Open loop with even spacing: a pacing thread wakes at each check's scheduled instant
    // (the runtime's timer has millisecond resolution, which would send each millisecond's
    // checks as one batch) and hands the instant to the runtime, which sends the check.
    let total = a.rate * a.seconds;
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let start = Instant::now();
    std::thread::spawn(move || {
        tight_timer();
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
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let mut sent: u64 = 0;
    let mut skipped: u64 = 0;
    let mut in_flight: u64 = 0;
    let mut lag = Vec::with_capacity(total as usize);
    let mut finished = Vec::with_capacity(total as usize);
    let mut pacing_done = false;
    while !pacing_done || in_flight > 0 {
        tokio::select! {
            biased;
            Some(done) = done_rx.recv() => {
                in_flight -= 1;
                finished.push(done);
            }
            due = rx.recv(), if !pacing_done => {
                let Some(due) = due else {
                    pacing_done = true;
                    continue;
                };
                sent += 1;
                if in_flight > 10_000 {
                    skipped += 1;
                    continue;
                }
                in_flight += 1;
                let mut client = clients[(sent as usize) % clients.len()].clone();
                let (body, authority, done_tx) = (body.clone(), a.addr.clone(), done_tx.clone());
                let send = Instant::now();
                lag.push(micros(send - due));
                tokio::spawn(async move {
                    let outcome = call(&mut client, &authority, body).await;
                    let _ = done_tx.send(Done {
                        outcome,
                        from_due: micros(due.elapsed()),
                        from_send: micros(send.elapsed()),
                    });
                });
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (mut allowed, mut denied, mut errors) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    let mut from_due = Vec::with_capacity(finished.len());
    let mut from_send = Vec::with_capacity(finished.len());
    for d in finished {
        match d.outcome {
            Ok(Outcome::Allowed) => allowed += 1,
            Ok(Outcome::Denied) => denied += 1,
            Ok(Outcome::Error) => errors += 1,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
        from_due.push(d.from_due);
        from_send.push(d.from_send);
    }
    if let Some(e) = first_error {
        eprintln!("check_load: first error: {e}");
    }
    from_due.sort_unstable();
    from_send.sort_unstable();
    lag.sort_unstable();
    let l = &from_due;
    println!(
        "{{\"sent\":{sent},\"answered\":{},\"allowed\":{allowed},\"denied\":{denied},\"errors\":{errors},\"skipped\":{skipped},\"rate\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"rtt_p50_us\":{},\"rtt_p99_us\":{},\"lag_p50_us\":{},\"lag_p99_us\":{}}}",
        l.len(),
        l.len() as f64 / elapsed,
        percentile(l, 0.50),
        percentile(l, 0.90),
        percentile(l, 0.99),
        percentile(l, 0.999),
        l.last().copied().unwrap_or(0),
        percentile(&from_send, 0.50),
        percentile(&from_send, 0.99),
        percentile(&lag, 0.50),
        percentile(&lag, 0.99),
    );
}
