//! `cargo bench -p meshgate`: `Engine::decide` alone, on the workloads keyed by the dimensions
//! the index covers beyond principals and paths: workload labels, principal globs, source
//! CIDRs, JWT group claims, host globs, `select` labels, and an Istio-shaped set with a
//! `default allow`, each at 10, 1,000, 10,000 and 100,000 rules.
//!
//! The policies mirror `benches/src/workload/dims.rs` (the side-by-side benchmark, which
//! compares meshgate with other engines) but are generated here, without randomness, because
//! that crate depends on this one. Each configuration first checks the three requests get
//! their decisions (`last` matches the last rule and is allowed, `none` is denied by default,
//! `deny` is hit by a deny rule), then times them. Pick a subset with criterion's filter:
//! `cargo bench -p meshgate -- istio/` or `-- 'labels/last/1000$'`; every configuration is
//! still generated and compiled, so to skip the large ones set the sizes:
//! `MESHGATE_BENCH_SIZES=10,1000 cargo bench -p meshgate`. The HTML report is in
//! `target/criterion/report/index.html`.
//!
//! `cargo bench -p meshgate -- from_json` times `Request::from_json` alone on the README's
//! example request (the figure the README gives for reading a request).

#![expect(
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::unreachable,
    clippy::expect_used,
    reason = "benchmark code: a broken setup panics, and it indexes and counts its own workloads"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshgate::{Engine, PolicyLimits, PolicySet, Request};

const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];
const KINDS: [&str; 7] = [
    "labels", "globs", "cidrs", "claims", "hosts", "select", "istio",
];
const PER_NS: usize = 20;

/// The policy text and the three requests (JSON) with the decisions they must get.
struct Generated {
    text: String,
    requests: [(&'static str, String, bool); 3],
}

fn spiffe(ns: &str, sa: &str) -> String {
    format!("spiffe://cluster.local/ns/{ns}/sa/{sa}")
}

/// Source /24 of rule `i` in `cidrs`: `O.a.b.0`, scrambled (40503 is odd: a permutation).
fn net24(i: usize) -> [u32; 3] {
    let j = (i as u32).wrapping_mul(40_503) % (1 << 17);
    [10 + (j >> 16), (j >> 8) & 255, j & 255]
}

/// Rule `i`'s statements besides its `to` clause, the matchers it adds to its `to` clause
/// (each ending in `, `), and the request fields that satisfy them: `(source, destination,
/// request)` JSON object members, each starting with `,`.
fn dims(kind: &str, i: usize) -> (String, String, [String; 3]) {
    let none = String::new;
    match kind {
        "labels" => {
            let from = format!(r#"from label app = "c{i}""#);
            let to = format!(r#"label app = "s{i}", "#);
            let src = format!(r#","labels":{{"app":"c{i}"}}"#);
            let dst = format!(r#","labels":{{"app":"s{i}"}}"#);
            match i % 3 {
                0 => (from, none(), [src, none(), none()]),
                1 => (none(), to, [none(), dst, none()]),
                _ => (from, to, [src, dst, none()]),
            }
        }
        "globs" => (
            format!(r#"from principal "{}*""#, spiffe(&format!("n{i}"), "")),
            none(),
            [
                format!(r#","principal":"{}""#, spiffe(&format!("n{i}"), "caller")),
                none(),
                none(),
            ],
        ),
        "cidrs" => {
            let [o, a, b] = net24(i);
            let (net, ip) = if i % 20 == 10 {
                (format!("{o}.{a}.0.0/16"), format!("{o}.{a}.200.7"))
            } else {
                (format!("{o}.{a}.{b}.0/24"), format!("{o}.{a}.{b}.7"))
            };
            (
                format!("from ip {net}"),
                none(),
                [format!(r#","ip":"{ip}""#), none(), none()],
            )
        }
        "claims" => (
            format!(r#"when request.auth.claims["groups"] contains "g{i}""#),
            none(),
            [
                none(),
                none(),
                format!(r#","auth":{{"claims":{{"groups":["staff","g{i}"]}}}}"#),
            ],
        ),
        "hosts" => (
            none(),
            format!(r#"host "*.t{i}.example.com", "#),
            [none(), none(), format!(r#","host":"api.t{i}.example.com""#)],
        ),
        "select" => (
            format!(r#"select namespace "prod", label app = "a{i}""#),
            none(),
            [
                none(),
                format!(r#","namespace":"prod","labels":{{"app":"a{i}"}}"#),
                none(),
            ],
        ),
        _ => unreachable!("{kind}"),
    }
}

fn request(src: &str, dst: &str, req: &str, path: &str) -> String {
    let principal = if src.contains("\"principal\"") {
        String::new()
    } else {
        format!(r#","principal":"{}""#, spiffe("ns0", "anyone"))
    };
    format!(
        r#"{{"source":{{"namespace":"ns0"{principal}{src}}},"destination":{{"service":"any.ns0.svc.cluster.local"{dst}}},"request":{{"method":"GET","path":"{path}"{req}}},"time":"2026-03-27T12:30:00Z"}}"#
    )
}

/// `n` rules: rule `i` allows `GET` on `/KIND/p{i % 10}/**` to what `dims(kind, i)` admits,
/// except every twentieth (from the sixth), a deny rule carving `admin/` out of the rule before.
fn carved(kind: &str, n: usize) -> Generated {
    let mut text = String::with_capacity(n * 120);
    let mut last_deny = 0;
    for i in 0..n {
        if i % 20 == 5 {
            let (stmts, to, _) = dims(kind, i - 1);
            let path = format!("/{kind}/p{}/admin/**", (i - 1) % 10);
            text +=
                &format!("deny \"{kind}-{i}\" {{ {stmts} to {to}method GET, path \"{path}\" }}\n");
            last_deny = i;
        } else {
            let (stmts, to, _) = dims(kind, i);
            let path = format!("/{kind}/p{}/**", i % 10);
            text +=
                &format!("allow \"{kind}-{i}\" {{ {stmts} to {to}method GET, path \"{path}\" }}\n");
        }
    }
    let (_, _, [s, d, r]) = dims(kind, n - 1);
    let (_, _, [ds, dd, dr]) = dims(kind, last_deny - 1);
    let deny_path = format!("/{kind}/p{}/admin/x", (last_deny - 1) % 10);
    let last_path = format!("/{kind}/p{}/items/42", (n - 1) % 10);
    Generated {
        text,
        requests: [
            ("last", request(&s, &d, &r, &last_path), true),
            ("none", request(&s, &d, &r, "/nomatch/items/42"), false),
            ("deny", request(&ds, &dd, &dr, &deny_path), false),
        ],
    }
}

/// Namespaces of 20 rules: a deny rule (`select namespace` + `/admin/**`), then allow rules
/// selecting one of five apps, from a principal or a namespace; `default allow` for the rest.
fn istio(n: usize) -> Generated {
    let namespaces = n.div_ceil(PER_NS);
    let from = |i: usize| {
        let ns = format!("ns{}", (i * 7_919) % namespaces);
        if i.is_multiple_of(2) {
            (
                format!(r#"principal "{}""#, spiffe(&ns, &format!("sa{}", i % 50))),
                spiffe(&ns, &format!("sa{}", i % 50)),
                ns,
            )
        } else {
            (format!(r#"namespace "{ns}""#), spiffe(&ns, "any"), ns)
        }
    };
    let mut text = String::with_capacity(n * 150);
    for i in 0..n {
        let ns = format!("ns{}", i / PER_NS);
        if i % PER_NS == 0 {
            text += &format!(
                "deny \"{ns}/deny-admin\" {{ select namespace \"{ns}\" to path \"/admin/**\" }}\n"
            );
        } else {
            let app = i % 5;
            let (m, _, _) = from(i);
            text += &format!(
                "allow \"{ns}/allow-{i}\" {{ select namespace \"{ns}\", label app = \"a{app}\" from {m} to method GET, path \"/api/r{i}/**\" }}\n"
            );
        }
    }
    text += "default allow \"mesh-default\" { }\n";
    let last = n - 1;
    let ns = format!("ns{}", last / PER_NS);
    let (_, principal, src_ns) = from(last);
    let req = |app: &str, path: &str| {
        format!(
            r#"{{"source":{{"principal":"{principal}","namespace":"{src_ns}"}},"destination":{{"namespace":"{ns}","labels":{{"app":"{app}"}}}},"request":{{"method":"GET","path":"{path}"}}}}"#
        )
    };
    let app = format!("a{}", last % 5);
    Generated {
        text,
        requests: [
            ("last", req(&app, &format!("/api/r{last}/items/42")), true),
            ("none", req(&app, "/nomatch/items/42"), false),
            ("deny", req("open", "/admin/x"), false),
        ],
    }
}

fn generate(kind: &str, n: usize) -> Generated {
    if kind == "istio" {
        istio(n)
    } else {
        carved(kind, n)
    }
}

fn load(text: &str) -> PolicySet {
    let limits = PolicyLimits {
        max_source_bytes: 256 << 20,
        ..PolicyLimits::default()
    };
    PolicySet::builder()
        .limits(limits)
        .add_source("bench.mgp", text)
        .build()
        .unwrap_or_else(|d| panic!("generated policy does not load:\n{}", d.render()))
}

/// `SIZES`, or those of `MESHGATE_BENCH_SIZES` (comma-separated).
fn sizes() -> Vec<usize> {
    match std::env::var("MESHGATE_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|n| {
                n.trim()
                    .replace('_', "")
                    .parse()
                    .expect("MESHGATE_BENCH_SIZES")
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

fn decide(c: &mut Criterion) {
    let sizes = sizes();
    for kind in KINDS {
        let mut group = c.benchmark_group(kind);
        group
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20);
        for &n in &sizes {
            let generated = generate(kind, n);
            let set = load(&generated.text);
            let engine = Engine::new(&set);
            for (name, json, allowed) in &generated.requests {
                let req = Request::from_json(json).expect("generated request");
                assert_eq!(
                    engine.decide(&req).allowed,
                    *allowed,
                    "{kind} {n} `{name}`: {json}"
                );
                group.bench_with_input(BenchmarkId::new(*name, n), &req, |b, req| {
                    b.iter(|| engine.decide(black_box(req)).allowed)
                });
            }
        }
        group.finish();
    }
}

/// The README's example request, as JSON text.
const README_REQUEST: &str = r#"{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
    "destination": {"service": "payments.prod.svc.cluster.local"},
    "request": {"method": "GET", "path": "/api/balance/42"}}"#;

fn from_json(c: &mut Criterion) {
    c.bench_function("from_json/readme", |b| {
        b.iter(|| Request::from_json(black_box(README_REQUEST)).is_ok())
    });
}

criterion_group!(benches, from_json, decide);
criterion_main!(benches);
