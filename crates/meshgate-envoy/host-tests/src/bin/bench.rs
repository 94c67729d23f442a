//! Time per `proxy_on_http_request_headers` call of the meshgate filter in the proxy-wasm host,
//! at 1,000 and 100,000 rules (a mesh-like policy: one allow rule per caller principal and
//! service, 5% deny rules), and the size of the `.wasm`. Run by `cargo xtask envoy --bench`.
//!
//! Prints one line per measurement: median, 10th and 90th percentile of the call, and the time
//! the filter took to start (`proxy_on_vm_start` and `proxy_on_configure`: parse, validate and
//! compile the policy). `every_attribute` adds a rule that names every mapped attribute, so that
//! every property is read and a JWT payload decoded per request.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use meshgate_envoy_host_tests::{EnvoyRequest, Plugin, pairs, wasm_path};
use proxy_wasm_host::Limits;
use serde_json::json;

fn principal(i: usize) -> String {
    format!("spiffe://cluster.local/ns/ns{}/sa/caller-{i}", i % 100)
}

fn service(i: usize) -> String {
    format!("svc{}.ns{}.svc.cluster.local", i % 200, i % 100)
}

/// `rules` rules, every 20th a deny rule, in sources of at most 10,000 rules (a source is held to
/// 16 MiB by default).
fn policies(rules: usize) -> Vec<serde_json::Value> {
    let mut sources = Vec::new();
    let mut out = String::new();
    for i in 0..rules {
        let _ = if i % 20 == 19 {
            writeln!(
                out,
                "deny \"deny-{i}\" {{ from principal \"{}\" to service \"{}\", path \"/api/v{i}/admin/**\" }}",
                principal(i),
                service(i)
            )
        } else {
            writeln!(
                out,
                "allow \"allow-{i}\" {{ from principal \"{}\" to service \"{}\", method [GET, HEAD], path \"/api/v{i}/**\" }}",
                principal(i),
                service(i)
            )
        };
        if i % 10_000 == 9_999 || i + 1 == rules {
            let name = format!("rules-{:02}.mgp", sources.len());
            sources.push(json!({"name": name, "text": std::mem::take(&mut out)}));
        }
    }
    sources
}

/// A request as a sidecar sees it, matching the last allow rule.
fn request(rules: usize) -> EnvoyRequest {
    let last = rules - 2;
    EnvoyRequest::get(&format!("/api/v{last}/items/42?expand=1"))
        .header("user-agent", "curl/8.5.0")
        .header("accept", "*/*")
        .header("x-request-id", "8a7c2f0e-3b1d-4c55-9a0e-2d1f6b7c9e11")
        .header("x-forwarded-proto", "https")
        .peer(&principal(last))
        .property("source.address", "10.1.2.3:53000")
        .property("destination.address", "10.9.0.4:8443")
        .port(8443)
        .property("xds.node.metadata.NAMESPACE", "prod")
        .property(
            "xds.node.metadata.LABELS",
            pairs::encode(&[("app", "payments"), ("version", "v1")]),
        )
        .property(
            "xds.cluster_name",
            format!("outbound|8443||{}", service(last)),
        )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// A rule that names every attribute the filter maps and matches no benchmark request: with it,
/// the filter reads every property (and decodes the JWT payload) for every request.
const EVERY_ATTRIBUTE: &str = r#"allow "every-attribute" {
  from ip 192.0.2.0/24
  to namespace "nowhere", label app = "x", port 1
  when connection.sni == "x" and time.hour == 3 and context.k == 1
  when request.auth.claims["scope"] == "x"
}"#;

fn run(rules: usize, decision_log: bool, every_attribute: bool, iterations: usize) {
    let mut sources = policies(rules);
    if every_attribute {
        sources.push(json!({"name": "every-attribute.mgp", "text": EVERY_ATTRIBUTE}));
    }
    let config = json!({"policies": sources, "decision_log": decision_log}).to_string();
    // The 100,000-rule policy needs more than the default one second and 128 MiB to compile.
    let limits = Limits::default()
        .with_cpu_time(Duration::from_secs(600))
        .with_memory_bytes(Some(3 << 30));
    let start = Instant::now();
    let mut plugin = Plugin::start_with(&config, &limits);
    let load = start.elapsed();
    plugin.set_time(1_774_857_600_000_000_000);
    let mut req = request(rules);
    if every_attribute {
        req = req.jwt(&json!({
            "iss": "https://auth.example.com", "sub": "alice", "aud": ["payments"],
            "azp": "web", "scope": "read write", "groups": ["dev", "ops"],
            "iat": 1_774_850_000, "exp": 1_774_860_000
        }));
    }
    let reply = plugin.request(&req);
    if !reply.continued() {
        for (level, line) in plugin.log_lines() {
            eprintln!("{level:?} {line}");
        }
        panic!("the benchmark request must be allowed: {reply:?}");
    }
    // Warm up, then measure.
    let _ = plugin.time_request_headers(&req, iterations / 10 + 1);
    let mut samples = plugin
        .time_request_headers(&req, iterations)
        .expect("the filter handles the request");
    samples.sort();
    println!(
        "rules={rules:>6} decision_log={decision_log:<5} every_attribute={every_attribute:<5} median={} p10={} p90={} load={:.2} s (n={iterations})",
        micros(percentile(&samples, 0.5)),
        micros(percentile(&samples, 0.1)),
        micros(percentile(&samples, 0.9)),
        load.as_secs_f64(),
    );
}

fn main() {
    let wasm = wasm_path();
    let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
    println!(
        "filter: {} ({size} bytes, {:.1} KiB)",
        wasm.display(),
        size as f64 / 1024.0
    );
    let start = Instant::now();
    let _ = meshgate_envoy_host_tests::Runtime::get();
    println!(
        "compiling the module (wasmtime, cranelift): {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 2_000 } else { 20_000 };
    run(1_000, false, false, n);
    run(1_000, true, false, n);
    run(1_000, false, true, n);
    run(100_000, false, false, n);
}
