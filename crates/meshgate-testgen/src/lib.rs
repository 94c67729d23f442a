//! Valid meshgate policy sets and requests drawn from bytes.
//!
//! The one generator of the two differential checks of the indexed engine against the reference
//! evaluator: the equivalence property (`crates/meshgate/tests/equivalence.rs`, where proptest
//! supplies random bytes and shrinks them) and the `decide_differential` fuzz target (where
//! libFuzzer supplies them, steered by coverage). [`case`] reads choices from the bytes with
//! [`arbitrary::Unstructured`]; when they run out every further choice is the first one, so
//! shorter inputs give simpler cases.
//!
//! Every construct of the language is drawn from small vocabularies that overlap on purpose, so
//! that rules compete, index keys collide and absent attributes matter: globs that cover exact
//! values, with several `*` and `**`, keyed by prefix or suffix; CIDRs that nest, `/0`, and
//! IPv4-mapped IPv6 addresses (which lie in no IPv4 network); port ranges; empty label values;
//! case variants of hosts and services; claims that are strings, lists (of mixed types, with
//! nested lists and objects), booleans and objects; time windows across DST changes; context
//! values of every kind (which make rules err).

#![forbid(unsafe_code)]

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value, json};

/// Part of the vocabulary (also used by exhaustive tests).
pub const PRINCIPAL_PATTERNS: &[&str] = &[
    "spiffe://td1/ns/a/sa/x",
    "spiffe://td1/ns/b/sa/x",
    "spiffe://td1/ns/*/sa/x",
    "spiffe://td1/**",
    "spiffe://td2/ns/c/sa/z",
    "plain-*",
    "**/sa/x",
    "spiffe://td1/ns/a/sa/*",
    "spiffe://*/ns/a/**",
    "*-principal",
];
/// Part of the vocabulary (also used by exhaustive tests).
pub const PRINCIPALS: &[&str] = &[
    "spiffe://td1/ns/a/sa/x",
    "spiffe://td1/ns/a/sa/y",
    "spiffe://td1/ns/b/sa/x",
    "spiffe://td2/ns/c/sa/z",
    "spiffe://td1/other",
    "plain-principal",
];
const NAMESPACES: &[&str] = &["a", "b", "c", "prod", "*"];
const SERVICES: &[&str] = &["s1.prod.svc", "s2.prod.svc", "*.prod.svc", "S1.PROD.svc"];
const REQ_SERVICES: &[&str] = &["s1.prod.svc", "S1.prod.SVC", "s2.prod.svc", "s3.dev.svc"];
/// Part of the vocabulary (also used by exhaustive tests).
pub const PATH_PATTERNS: &[&str] = &[
    "/api",
    "/api/v1",
    "/api/**",
    "/api/*/x",
    "/api/v1/*",
    "/**",
    "/*",
    "**/x",
    "/admin/**",
    "/admin",
    "/a/**/b",
    "/api/v*",
    "/api/*/*",
    "**/v1/x",
    "/api/*1",
    "/*/v1/**",
];
/// Part of the vocabulary (also used by exhaustive tests).
pub const PATHS: &[&str] = &[
    "/api",
    "/api/",
    "/api/v1",
    "/api/v1/x",
    "/api/v2/x",
    "/api/v1/x/y",
    "/admin",
    "/admin/x/y",
    "/",
    "/a/q/r/b",
    "x",
    "v1/x",
    "/api/v1?q=1",
    "/apix",
    "/admin/",
    "/a/b",
    "/x",
];
/// Part of the vocabulary (also used by exhaustive tests).
pub const METHODS: &[&str] = &["GET", "POST", "HEAD"];
const IPS: &[&str] = &[
    "10.1.2.3",
    "10.2.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "::1",
    "fc00::5",
    "::ffff:10.1.2.3",
    "10.1.2.200",
];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "192.168.1.1",
    "fc00::/7",
    "::1",
    "10.1.2.0/24",
    "::ffff:10.0.0.0/104",
    "0.0.0.0/0",
];
const TIMES: &[&str] = &[
    "2026-03-29T00:30:00Z",
    "2026-03-29T01:30:00Z",
    "2026-10-25T00:30:00Z",
    "2026-10-25T01:30:00Z",
    "2026-12-24T16:59:59Z",
    "2026-06-01T12:00:00Z",
];
const ZONES: &[&str] = &["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"];
const HOSTS: &[&str] = &[
    "api.example.com",
    "*.example.com",
    "API.example.com",
    "api.*",
    "*.EXAMPLE.com",
    "*",
];
const REQ_HOSTS: &[&str] = &[
    "api.example.com",
    "API.EXAMPLE.COM:8443",
    "www.example.com",
    "other.org",
];
const PORTS: &[&str] = &["80", "443", "8000..8999", "8080..8090", "0..65535", "1..79"];

/// Conditions, each a complete boolean expression.
const ATOMS: &[&str] = &[
    "time.hour in 8..17",
    "time.hour in 22..5",
    "time.hour >= 12",
    "time.weekday in mon..fri",
    "time.weekday in fri..mon",
    "time.date in 2026-10-24..2026-10-25",
    "time.date > 2026-06-01",
    "time < 2026-06-01T00:00:00Z",
    "time >= 2026-10-25T01:00:00Z",
    "time.minute in 0..29",
    "source.ip in [10.0.0.0/8, ::1]",
    "source.ip in 192.168.1.1",
    "request.auth.claims[\"groups\"] == \"admins\"",
    "request.auth.claims[\"groups\"] contains \"dev\"",
    "request.auth.claims[\"groups\"] in [\"dev\", \"ops\"]",
    "request.auth.claims[\"groups\"] matches \"adm*\"",
    "request.auth.claims[\"groups\"] matches [\"*s\", \"d*\"]",
    "request.auth.claims[\"org\"][\"id\"] contains \"x\"",
    "request.auth.audiences == \"svc-b\"",
    "destination.ip in [10.1.2.0/24, fc00::/7]",
    "source.remote_ip in ::ffff:10.0.0.0/104",
    "request.headers[\"X-Flag\"] in [\"1\", \"abc\"]",
    "context.tier matches \"g*\"",
    "time.minute == 0",
    "time.weekday == sun",
    "(request.auth.claims[\"groups\"] contains \"dev\" and context.tier == \"gold\")",
    "(context.tier == \"gold\" and request.auth.claims[\"groups\"] contains \"dev\")",
    "request.auth.claims[\"groups\"] != \"admins\"",
    "request.auth.claims[\"org\"][\"id\"] == \"1\"",
    "request.auth.audiences contains \"svc-a\"",
    "context.tier == \"gold\"",
    "context.tier in [\"gold\", \"silver\"]",
    "context.tier < 5",
    "context.tier in 1..3",
    "context.tier == true",
    "context.tier contains \"a\"",
    "request.headers[\"X-Flag\"] == \"1\"",
    "request.headers[\"X-Flag\"] matches \"a*\"",
    "source.namespace == destination.namespace",
    "source.namespace != destination.namespace",
    "has source.principal",
    "has request.auth.principal",
    "has context.tier",
    "has time",
    "has source.labels[\"app\"]",
    "request.method in [\"GET\", \"HEAD\"]",
    "request.path matches \"/api/**\"",
    "request.host == \"api.example.com\"",
    "destination.port in [80, 8000..8999]",
    "connection.sni == \"sni.example\"",
    "true",
    "false",
];

/// The roles every generated policy starts with.
pub const ROLES: &str = r#"
role r0 { permit GET, HEAD on "/api/**" }
role r1 { include r0  permit POST on ["/admin/**", "/api/v1"] port [80, 443] }
role r2 { permit * on "/a/**/b" host ["api.example.com", "*.example.com"] }
role r3 { permit GET on ["/api/v1", "/x"] host "api.example.com" }
"#;

pub use arbitrary;

/// A policy text and up to 8 request JSON texts, from `bytes` (see the crate docs).
pub fn from_bytes(bytes: &[u8]) -> (String, Vec<String>) {
    let mut u = Unstructured::new(bytes);
    // Running out of bytes is not an error for `Unstructured`'s choices; nothing else fails.
    case(&mut u).unwrap_or_else(|_| (ROLES.to_string(), vec!["{}".to_string()]))
}

/// A policy text and up to 8 request JSON texts.
pub fn case(u: &mut Unstructured<'_>) -> Result<(String, Vec<String>)> {
    let rules = u.int_in_range(1..=12)?;
    let mut text = String::from(ROLES);
    for i in 0..rules {
        text.push_str(&rule(u, i)?);
    }
    // Per-workload defaults (spec §4.4), in one case out of three.
    if u.ratio(1, 3)? {
        for i in 0..u.int_in_range(1..=2)? {
            let mut body = String::new();
            for _ in 0..u.int_in_range(0..=2)? {
                body.push_str(&format!(" select {}", clause(u, select_matcher)?));
            }
            text.push_str(&format!("default allow \"default-{i}\" {{{body} }}\n"));
        }
    }
    let count = u.int_in_range(1..=8)?;
    let requests = (0..count).map(|_| request(u)).collect::<Result<Vec<_>>>()?;
    Ok((text, requests))
}

fn pick<'a>(u: &mut Unstructured<'_>, pool: &[&'a str]) -> Result<&'a str> {
    u.choose(pool).copied()
}

/// One to `max` items of `pool`, written as one literal or a list.
fn list(u: &mut Unstructured<'_>, pool: &[&str], max: usize, quote: bool) -> Result<String> {
    let n = u.int_in_range(1..=max)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let s = pick(u, pool)?;
        items.push(if quote {
            format!("{s:?}")
        } else {
            s.to_string()
        });
    }
    Ok(match items.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", items.join(", ")),
    })
}

fn negation(u: &mut Unstructured<'_>) -> Result<&'static str> {
    Ok(if u.ratio(1, 7)? { "not " } else { "" })
}

fn from_matcher(u: &mut Unstructured<'_>) -> Result<String> {
    let not = negation(u)?;
    let body = match u.int_in_range(0..=7)? {
        0 => format!("principal {}", list(u, PRINCIPAL_PATTERNS, 2, true)?),
        1 => format!("namespace {}", list(u, NAMESPACES, 2, true)?),
        2 => format!("service_account {}", list(u, &["x", "y", "z"], 2, true)?),
        3 => format!("trust_domain {}", list(u, &["td1", "td2"], 1, true)?),
        4 => format!(
            "label {} = {}",
            pick(u, &["app", "team"])?,
            list(u, &["web", "api", "sre", "w*", "", "*x"], 2, true)?
        ),
        5 => format!("ip {}", list(u, CIDRS, 2, false)?),
        6 => format!("remote_ip {}", list(u, CIDRS, 2, false)?),
        _ => format!(
            "request_principal {}",
            list(u, &["iss/alice", "iss/bob", "iss/*"], 2, true)?
        ),
    };
    Ok(format!("{not}{body}"))
}

fn to_matcher(u: &mut Unstructured<'_>) -> Result<String> {
    let not = negation(u)?;
    let body = match u.int_in_range(0..=7)? {
        0 => format!("service {}", list(u, SERVICES, 2, true)?),
        1 => format!("host {}", list(u, HOSTS, 2, true)?),
        2 => format!("namespace {}", list(u, NAMESPACES, 2, true)?),
        3 => format!("port {}", list(u, PORTS, 2, false)?),
        4 => format!("method {}", list(u, METHODS, 2, false)?),
        5 => format!(
            "label {} = {}",
            pick(u, &["app", "tier"])?,
            list(u, &["db", "web", "", "d*", "*b"], 2, true)?
        ),
        6 => format!("ip {}", list(u, CIDRS, 2, false)?),
        _ => format!("path {}", list(u, PATH_PATTERNS, 2, true)?),
    };
    Ok(format!("{not}{body}"))
}

fn select_matcher(u: &mut Unstructured<'_>) -> Result<String> {
    let not = negation(u)?;
    let body = if u.ratio(3, 5)? {
        format!("namespace {}", list(u, NAMESPACES, 2, true)?)
    } else {
        format!(
            "label {} = {}",
            pick(u, &["app", "tier"])?,
            list(u, &["db", "web", "", "w*"], 2, true)?
        )
    };
    Ok(format!("{not}{body}"))
}

fn clause(
    u: &mut Unstructured<'_>,
    matcher: fn(&mut Unstructured<'_>) -> Result<String>,
) -> Result<String> {
    let n = u.int_in_range(1..=3)?;
    let parts = (0..n).map(|_| matcher(u)).collect::<Result<Vec<_>>>()?;
    Ok(parts.join(", "))
}

fn expr(u: &mut Unstructured<'_>, depth: u32) -> Result<String> {
    if depth == 0 || u.ratio(1, 2)? {
        return pick(u, ATOMS).map(str::to_string);
    }
    let depth = depth.saturating_sub(1);
    Ok(match u.int_in_range(0..=2)? {
        0 => format!("({} and {})", expr(u, depth)?, expr(u, depth)?),
        1 => format!("({} or {})", expr(u, depth)?, expr(u, depth)?),
        _ => format!("not {}", expr(u, depth)?),
    })
}

fn rule(u: &mut Unstructured<'_>, i: usize) -> Result<String> {
    let mut effect = pick(u, &["allow", "allow", "allow", "deny", "audit"])?;
    let dry_run = u.ratio(1, 7)?;
    let mut body = String::new();
    if u.ratio(1, 3)? {
        body.push_str(&format!("  select {}\n", clause(u, select_matcher)?));
    }
    for _ in 0..u.int_in_range(0..=2)? {
        body.push_str(&format!("  from {}\n", clause(u, from_matcher)?));
    }
    for _ in 0..u.int_in_range(0..=2)? {
        body.push_str(&format!("  to {}\n", clause(u, to_matcher)?));
    }
    let grants = (0..u.int_in_range(0..=2)?)
        .map(|_| pick(u, &["r0", "r1", "r2", "r3"]))
        .collect::<Result<Vec<_>>>()?;
    if !grants.is_empty() {
        // Only allow rules grant roles.
        effect = "allow";
        body.push_str(&format!("  grant {}\n", grants.join(", ")));
    }
    for _ in 0..u.int_in_range(0..=2)? {
        body.push_str(&format!("  when {}\n", expr(u, 3)?));
    }
    if u.ratio(1, 5)? {
        body.push_str(&format!("  unless {}\n", expr(u, 3)?));
    }
    if u.ratio(1, 3)? {
        body.push_str(&format!("  timezone {:?}\n", pick(u, ZONES)?));
    }
    let dry = if dry_run { "dry_run " } else { "" };
    Ok(format!("{dry}{effect} \"rule-{i}\" {{\n{body}}}\n"))
}

/// Sets `key` to `value` with probability 3/4, so that absent attributes are common.
fn maybe(
    u: &mut Unstructured<'_>,
    map: &mut Map<String, Value>,
    key: &str,
    value: Value,
) -> Result<()> {
    if u.ratio(3, 4)? {
        map.insert(key.to_string(), value);
    }
    Ok(())
}

fn one_of(u: &mut Unstructured<'_>, mut values: Vec<Value>) -> Result<Value> {
    let i = u.choose_index(values.len())?;
    Ok(values.swap_remove(i))
}

fn string(u: &mut Unstructured<'_>, pool: &[&str]) -> Result<Value> {
    pick(u, pool).map(|s| Value::String(s.to_string()))
}

fn request(u: &mut Unstructured<'_>) -> Result<String> {
    let mut source = Map::new();
    let v = string(u, PRINCIPALS)?;
    maybe(u, &mut source, "principal", v)?;
    let v = string(u, &["a", "b", "prod"])?;
    maybe(u, &mut source, "namespace", v)?;
    let v = json!({ pick(u, &["app", "team"])?: pick(u, &["web", "sre", "wx", ""])? });
    maybe(u, &mut source, "labels", v)?;
    let v = string(u, IPS)?;
    maybe(u, &mut source, "ip", v)?;
    let v = string(u, IPS)?;
    maybe(u, &mut source, "remote_ip", v)?;

    let mut destination = Map::new();
    let v = string(u, REQ_SERVICES)?;
    maybe(u, &mut destination, "service", v)?;
    let v = string(u, &["a", "b", "prod"])?;
    maybe(u, &mut destination, "namespace", v)?;
    let v = json!(*u.choose(&[80u16, 443, 8080, 9000, 0, 65535][..])?);
    maybe(u, &mut destination, "port", v)?;
    let v = string(u, IPS)?;
    maybe(u, &mut destination, "ip", v)?;
    let tier = pick(u, &["web", "db", ""])?;
    maybe(
        u,
        &mut destination,
        "labels",
        json!({ "tier": tier, "app": tier }),
    )?;

    let mut http = Map::new();
    let v = string(u, METHODS)?;
    maybe(u, &mut http, "method", v)?;
    let v = string(u, PATHS)?;
    maybe(u, &mut http, "path", v)?;
    let v = string(u, REQ_HOSTS)?;
    maybe(u, &mut http, "host", v)?;
    let v = json!({ "x-flag": pick(u, &["1", "0", "abc"])? });
    maybe(u, &mut http, "headers", v)?;
    let mut auth = Map::new();
    let v = string(u, &["iss/alice", "iss/bob", "other"])?;
    maybe(u, &mut auth, "principal", v)?;
    let groups = one_of(
        u,
        vec![
            json!("admins"),
            json!(["dev", "ops"]),
            json!(["admins", 3]),
            json!(true),
            json!([]),
            json!(["dev", "admins", "ops", ["x"], {"a": "b"}]),
        ],
    )?;
    let org = one_of(u, vec![json!({"id": 1}), json!({"id": "x"}), json!("flat")])?;
    let mut claims = Map::new();
    maybe(u, &mut claims, "groups", groups)?;
    maybe(u, &mut claims, "org", org)?;
    if !claims.is_empty() {
        auth.insert("claims".into(), Value::Object(claims));
    }
    let audiences = one_of(u, vec![json!(["svc-a"]), json!(["svc-b", "svc-c"])])?;
    maybe(u, &mut auth, "audiences", audiences)?;
    if !auth.is_empty() {
        http.insert("auth".into(), Value::Object(auth));
    }

    let mut request = Map::new();
    request.insert("source".into(), Value::Object(source));
    request.insert("destination".into(), Value::Object(destination));
    request.insert("request".into(), Value::Object(http));
    let v = string(u, TIMES)?;
    maybe(u, &mut request, "time", v)?;
    let tier = one_of(
        u,
        vec![json!("gold"), json!(2), json!(true), json!(["a", "b"])],
    )?;
    maybe(u, &mut request, "context", json!({ "tier": tier }))?;
    let v = json!({ "sni": pick(u, &["sni.example", "SNI.example"])? });
    maybe(u, &mut request, "connection", v)?;
    Ok(Value::Object(request).to_string())
}
