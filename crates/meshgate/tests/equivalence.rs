//! The indexed engine decides exactly as the reference evaluator does.
//!
//! Random policy sets (every construct of the language, drawn from small vocabularies so that
//! globs, CIDRs, time windows, roles, deny, audit and dry-run rules overlap) are decided
//! against random requests near their boundaries (values the rules mention, case variants,
//! absent attributes), and the two full decisions must be equal: allowed, deciding rules,
//! audits, dry-run reports and errors.
//!
//! 10,000 policy sets in the normal run; `MESHGATE_PROPTEST_CASES=1000000` (or
//! `cargo xtask proptest-long`) for a long run.

use meshgate::{Engine, PolicySet, Request};
use proptest::prelude::*;
use proptest::sample::select;

const PRINCIPALS: &[&str] = &[
    "spiffe://td1/ns/a/sa/x",
    "spiffe://td1/ns/a/sa/y",
    "spiffe://td1/ns/b/sa/x",
    "spiffe://td2/ns/c/sa/z",
    "spiffe://td1/other",
    "plain-principal",
];
const PRINCIPAL_PATTERNS: &[&str] = &[
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
const NAMESPACES: &[&str] = &["a", "b", "c", "prod", "*"];
const SERVICES: &[&str] = &["s1.prod.svc", "s2.prod.svc", "*.prod.svc", "S1.PROD.svc"];
const REQ_SERVICES: &[&str] = &["s1.prod.svc", "S1.prod.SVC", "s2.prod.svc", "s3.dev.svc"];
const PATH_PATTERNS: &[&str] = &[
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
const PATHS: &[&str] = &[
    "/api",
    "/api/",
    "/api/v1",
    "/api/v1/x",
    "/api/v2/x",
    "/api/v1/x/y",
    "/admin",
    "/admin/",
    "/admin/x/y",
    "/",
    "/a/b",
    "/a/q/r/b",
    "/x",
    "x",
    "/api/v1?q=1",
    "v1/x",
    "/apix",
];
const METHODS: &[&str] = &["GET", "POST", "HEAD"];
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
    "2026-03-28T07:00:00Z",
    "2026-10-25T00:30:00Z",
    "2026-10-25T01:30:00Z",
    "2026-12-24T16:59:59Z",
    "2026-06-01T12:00:00Z",
];
const ZONES: &[&str] = &["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"];

fn lit_list(items: &[&str], quote: bool) -> String {
    let q = |s: &str| {
        if quote {
            format!("{s:?}")
        } else {
            s.to_string()
        }
    };
    if items.len() == 1 {
        q(items[0])
    } else {
        format!(
            "[{}]",
            items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
        )
    }
}

fn strs(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(select(pool), 1..=max)
}

fn from_matcher() -> impl Strategy<Value = String> {
    let neg = prop::bool::weighted(0.15).prop_map(|n| if n { "not " } else { "" });
    let body = prop_oneof![
        3 => strs(PRINCIPAL_PATTERNS, 2).prop_map(|v| format!("principal {}", lit_list(&v, true))),
        2 => strs(NAMESPACES, 2).prop_map(|v| format!("namespace {}", lit_list(&v, true))),
        1 => strs(&["x", "y", "z"], 2).prop_map(|v| format!("service_account {}", lit_list(&v, true))),
        1 => strs(&["td1", "td2"], 1).prop_map(|v| format!("trust_domain {}", lit_list(&v, true))),
        1 => (select(&["app", "team"][..]), strs(&["web", "api", "sre", "w*", "", "*x"], 2)).prop_map(|(k, v)| format!("label {k} = {}", lit_list(&v, true))),
        1 => strs(CIDRS, 2).prop_map(|v| format!("ip {}", lit_list(&v, false))),
        1 => strs(CIDRS, 2).prop_map(|v| format!("remote_ip {}", lit_list(&v, false))),
        1 => strs(&["iss/alice", "iss/bob", "iss/*"], 2).prop_map(|v| format!("request_principal {}", lit_list(&v, true))),
    ];
    (neg, body).prop_map(|(n, b)| format!("{n}{b}"))
}

fn to_matcher() -> impl Strategy<Value = String> {
    let neg = prop::bool::weighted(0.1).prop_map(|n| if n { "not " } else { "" });
    let body = prop_oneof![
        2 => strs(SERVICES, 2).prop_map(|v| format!("service {}", lit_list(&v, true))),
        1 => strs(&["api.example.com", "*.example.com", "API.example.com", "api.*", "*.EXAMPLE.com", "*"], 2).prop_map(|v| format!("host {}", lit_list(&v, true))),
        1 => strs(CIDRS, 2).prop_map(|v| format!("ip {}", lit_list(&v, false))),
        1 => strs(NAMESPACES, 2).prop_map(|v| format!("namespace {}", lit_list(&v, true))),
        1 => strs(&["80", "443", "8000..8999", "8080..8090", "0..65535", "1..79"], 2).prop_map(|v| format!("port {}", lit_list(&v, false))),
        1 => strs(METHODS, 2).prop_map(|v| format!("method {}", lit_list(&v, false))),
        3 => strs(PATH_PATTERNS, 2).prop_map(|v| format!("path {}", lit_list(&v, true))),
        1 => (select(&["app", "tier"][..]), strs(&["db", "web", "", "d*", "*b"], 2)).prop_map(|(k, v)| format!("label {k} = {}", lit_list(&v, true))),
    ];
    (neg, body).prop_map(|(n, b)| format!("{n}{b}"))
}

fn select_matcher() -> impl Strategy<Value = String> {
    let neg = prop::bool::weighted(0.1).prop_map(|n| if n { "not " } else { "" });
    let body = prop_oneof![
        3 => strs(NAMESPACES, 2).prop_map(|v| format!("namespace {}", lit_list(&v, true))),
        2 => (select(&["app", "tier"][..]), strs(&["db", "web", "", "w*"], 2)).prop_map(|(k, v)| format!("label {k} = {}", lit_list(&v, true))),
    ];
    (neg, body).prop_map(|(n, b)| format!("{n}{b}"))
}

/// `default allow` items (spec §4.4), usually none.
fn defaults() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::collection::vec(clause(select_matcher()), 0..=2),
        0..=2,
    )
    .prop_map(|ds| {
        ds.iter()
            .enumerate()
            .map(|(i, select)| {
                let body: String = select.iter().map(|c| format!(" select {c}")).collect();
                format!("default allow \"default-{i}\" {{{body} }}\n")
            })
            .collect()
    })
}

fn clause(m: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    proptest::collection::vec(m, 1..=3).prop_map(|v| v.join(", "))
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        (select(&["in 8..17", "in 22..5", "== 1", ">= 12", "< 3"][..]))
            .prop_map(|o| format!("time.hour {o}")),
        select(
            &[
                "in mon..fri",
                "in sat..sun",
                "== sun",
                "in [fri, sat]",
                "in fri..mon"
            ][..]
        )
        .prop_map(|o| format!("time.weekday {o}")),
        select(
            &[
                "== 2026-03-29",
                "in 2026-10-24..2026-10-25",
                "> 2026-06-01",
                "<= 2026-03-28"
            ][..]
        )
        .prop_map(|o| format!("time.date {o}")),
        select(
            &[
                "< 2026-06-01T00:00:00Z",
                ">= 2026-10-25T01:00:00Z",
                "== 2026-03-29T01:30:00Z"
            ][..]
        )
        .prop_map(|o| format!("time {o}")),
        select(&["== 0", "in 0..29", "> 45"][..]).prop_map(|o| format!("time.minute {o}")),
        strs(CIDRS, 2).prop_map(|v| format!("source.ip in {}", lit_list(&v, false))),
        select(
            &[
                "== \"admins\"",
                "contains \"dev\"",
                "in [\"dev\", \"ops\"]",
                "matches \"adm*\"",
                "matches [\"*s\", \"d*\"]",
                "!= \"admins\""
            ][..]
        )
        .prop_map(|o| format!("request.auth.claims[\"groups\"] {o}")),
        select(&["== \"1\"", "== \"true\"", "contains \"x\""][..])
            .prop_map(|o| format!("request.auth.claims[\"org\"][\"id\"] {o}")),
        select(&["contains \"svc-a\"", "== \"svc-b\""][..])
            .prop_map(|o| format!("request.auth.audiences {o}")),
        select(
            &[
                "== \"gold\"",
                "in [\"gold\", \"silver\"]",
                "< 5",
                "in 1..3",
                "== true",
                "matches \"g*\"",
                "contains \"a\""
            ][..]
        )
        .prop_map(|o| format!("context.tier {o}")),
        select(&["== \"1\"", "!= \"1\"", "matches \"a*\""][..])
            .prop_map(|o| format!("request.headers[\"X-Flag\"] {o}")),
        select(
            &[
                "source.namespace == destination.namespace",
                "source.namespace != destination.namespace"
            ][..]
        )
        .prop_map(str::to_string),
        select(
            &[
                "has source.principal",
                "has request.auth.principal",
                "has context.tier",
                "has time",
                "has source.labels[\"app\"]"
            ][..]
        )
        .prop_map(str::to_string),
        select(
            &[
                "request.method in [\"GET\", \"HEAD\"]",
                "request.path matches \"/api/**\"",
                "request.host == \"api.example.com\"",
                "destination.port in [80, 8000..8999]",
                "connection.sni == \"sni.example\"",
                "true",
                "false"
            ][..]
        )
        .prop_map(str::to_string),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

const ROLES: &str = r#"
role r0 { permit GET, HEAD on "/api/**" }
role r1 { include r0  permit POST on ["/admin/**", "/api/v1"] port [80, 443] }
role r2 { permit * on "/a/**/b" host ["api.example.com", "*.example.com"] }
role r3 { permit GET on ["/api/v1", "/x"] host "api.example.com" }
"#;

fn rule(i: usize) -> impl Strategy<Value = String> {
    (
        select(&["allow", "allow", "allow", "deny", "audit"][..]),
        prop::bool::weighted(0.15),
        (
            proptest::collection::vec(clause(select_matcher()), 0..=2),
            proptest::collection::vec(clause(from_matcher()), 0..=2),
        ),
        proptest::collection::vec(clause(to_matcher()), 0..=2),
        proptest::collection::vec(select(&["r0", "r1", "r2", "r3"][..]), 0..=2),
        proptest::collection::vec(expr(), 0..=2),
        proptest::option::weighted(0.2, expr()),
        proptest::option::weighted(0.3, select(ZONES)),
    )
        .prop_map(
            move |(effect, dry, (sel, from), to, grants, when, unless, zone)| {
                let effect = if effect != "allow" && !grants.is_empty() {
                    "allow"
                } else {
                    effect
                };
                let mut body = String::new();
                sel.iter()
                    .for_each(|c| body.push_str(&format!("  select {c}\n")));
                from.iter()
                    .for_each(|c| body.push_str(&format!("  from {c}\n")));
                to.iter()
                    .for_each(|c| body.push_str(&format!("  to {c}\n")));
                if !grants.is_empty() {
                    body.push_str(&format!("  grant {}\n", grants.join(", ")));
                }
                when.iter()
                    .for_each(|e| body.push_str(&format!("  when {e}\n")));
                if let Some(u) = unless {
                    body.push_str(&format!("  unless {u}\n"));
                }
                if let Some(z) = zone {
                    body.push_str(&format!("  timezone {z:?}\n"));
                }
                format!(
                    "{}{effect} \"rule-{i}\" {{\n{body}}}\n",
                    if dry { "dry_run " } else { "" }
                )
            },
        )
}

fn policy() -> impl Strategy<Value = String> {
    (1usize..=12).prop_flat_map(|n| {
        ((0..n).map(rule).collect::<Vec<_>>(), defaults())
            .prop_map(|(rules, defaults)| format!("{ROLES}\n{defaults}{}", rules.join("\n")))
    })
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    proptest::option::weighted(0.75, s).boxed()
}

fn request() -> impl Strategy<Value = String> {
    let source = (
        opt(select(PRINCIPALS)),
        opt(select(&["a", "b", "prod"][..])),
        opt(select(&["app", "team"][..])),
        opt(select(&["web", "sre", "wx", ""][..])),
        opt(select(IPS)),
        opt(select(IPS)),
    );
    let dest = (
        opt(select(REQ_SERVICES)),
        opt(select(&["a", "b", "prod"][..])),
        opt(select(&[80u16, 443, 8080, 9000, 0, 65535][..])),
        opt(select(IPS)),
    );
    let http = (
        opt(select(METHODS)),
        opt(select(PATHS)),
        opt(select(
            &[
                "api.example.com",
                "API.EXAMPLE.COM:8443",
                "www.example.com",
                "other.org",
            ][..],
        )),
        opt(select(&["1", "0", "abc"][..])),
    );
    let auth = (
        opt(select(&["iss/alice", "iss/bob", "other"][..])),
        opt(select(
            &[
                r#""admins""#,
                r#"["dev", "ops"]"#,
                r#"["admins", 3]"#,
                "true",
                "[]",
                r#"["dev", "admins", "ops", ["x"], {"a": "b"}]"#,
            ][..],
        )),
        opt(select(&[r#"{"id": 1}"#, r#"{"id": "x"}"#, r#""flat""#][..])),
        opt(select(&[r#"["svc-a"]"#, r#"["svc-b", "svc-c"]"#][..])),
    );
    let rest = (
        opt(select(TIMES)),
        opt(select(&[r#""gold""#, "2", "true", r#"["a", "b"]"#][..])),
        opt(select(&["web", "db", ""][..])),
        opt(select(&["sni.example", "SNI.example"][..])),
    );
    (source, dest, http, auth, rest).prop_map(|(s, d, h, a, r)| {
        let mut src = serde_json::Map::new();
        let set = |m: &mut serde_json::Map<String, serde_json::Value>,
                   k: &str,
                   v: Option<serde_json::Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        let s_ = |x: Option<&str>| x.map(|v| serde_json::Value::String(v.to_string()));
        let j = |x: Option<&str>| x.map(|v| serde_json::from_str::<serde_json::Value>(v).unwrap());
        set(&mut src, "principal", s_(s.0));
        set(&mut src, "namespace", s_(s.1));
        if let (Some(k), Some(v)) = (s.2, s.3) {
            src.insert("labels".into(), serde_json::json!({ k: v }));
        }
        set(&mut src, "ip", s_(s.4));
        set(&mut src, "remote_ip", s_(s.5));
        let mut dst = serde_json::Map::new();
        set(&mut dst, "service", s_(d.0));
        set(&mut dst, "namespace", s_(d.1));
        set(&mut dst, "port", d.2.map(|p| serde_json::json!(p)));
        set(&mut dst, "ip", s_(d.3));
        if let Some(tier) = r.2 {
            dst.insert(
                "labels".into(),
                serde_json::json!({ "tier": tier, "app": tier }),
            );
        }
        let mut http = serde_json::Map::new();
        set(&mut http, "method", s_(h.0));
        set(&mut http, "path", s_(h.1));
        set(&mut http, "host", s_(h.2));
        if let Some(flag) = h.3 {
            http.insert("headers".into(), serde_json::json!({ "x-flag": flag }));
        }
        let mut auth = serde_json::Map::new();
        set(&mut auth, "principal", s_(a.0));
        let mut claims = serde_json::Map::new();
        set(&mut claims, "groups", j(a.1));
        set(&mut claims, "org", j(a.2));
        if !claims.is_empty() {
            auth.insert("claims".into(), serde_json::Value::Object(claims));
        }
        set(&mut auth, "audiences", j(a.3));
        if !auth.is_empty() {
            http.insert("auth".into(), serde_json::Value::Object(auth));
        }
        let mut req = serde_json::Map::new();
        req.insert("source".into(), serde_json::Value::Object(src));
        req.insert("destination".into(), serde_json::Value::Object(dst));
        req.insert("request".into(), serde_json::Value::Object(http));
        set(&mut req, "time", s_(r.0));
        if let Some(tier) = j(r.1) {
            req.insert("context".into(), serde_json::json!({ "tier": tier }));
        }
        if let Some(sni) = r.3 {
            req.insert("connection".into(), serde_json::json!({ "sni": sni }));
        }
        serde_json::Value::Object(req).to_string()
    })
}

fn cases() -> u32 {
    std::env::var("MESHGATE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference(text in policy(), requests in proptest::collection::vec(request(), 1..8)) {
        let set = match PolicySet::parse(&text, "random.mgp") {
            Ok(set) => set,
            Err(e) => panic!("generated policy does not load:\n{text}\n{}", e.render()),
        };
        let engine = Engine::new(&set);
        for json in &requests {
            let req = Request::from_json(json).unwrap();
            let expected = set.decide_reference(&req);
            let actual = engine.decide(&req);
            prop_assert_eq!(&actual, &expected, "policy:\n{}\nrequest: {}", text, json);
        }
    }
}

/// Exhaustive check on a fixed policy with many path and principal keys: every combination of
/// the request vocabularies.
#[test]
fn indexed_paths_and_principals_agree_exhaustively() {
    let mut text = String::from(ROLES);
    for (i, p) in PATH_PATTERNS.iter().enumerate() {
        for (j, pr) in PRINCIPAL_PATTERNS.iter().enumerate() {
            let effect = if (i + j) % 7 == 0 { "deny" } else { "allow" };
            text.push_str(&format!(
                "{effect} \"p{i}-{j}\" {{ from principal {pr:?} to path {p:?} }}\n"
            ));
        }
    }
    let set = PolicySet::parse(&text, "grid.mgp").unwrap();
    let engine = Engine::new(&set);
    for path in PATHS {
        for principal in PRINCIPALS {
            for method in METHODS {
                let json = serde_json::json!({"source": {"principal": principal}, "request": {"method": method, "path": path}}).to_string();
                let req = Request::from_json(&json).unwrap();
                assert_eq!(
                    engine.decide(&req),
                    set.decide_reference(&req),
                    "request {json}"
                );
            }
        }
    }
}

/// Exhaustive check of per-workload defaults (spec §4.4): selections keyed by namespace, by
/// label only, negated and unknown, against every combination of namespace, labels and
/// method; and a check that the grid really exercises every outcome.
#[test]
fn defaults_and_claims_agree_exhaustively() {
    let text = r#"
default allow "open-ops" { select namespace "ops" }
default allow "open" { }
allow "a-web-get" { select namespace "a", label app = "web"  to method GET }
allow "a-nothing" { select namespace "a", label app = "db"  when false }
allow "any-ns-canary" { select label track = "canary"  to method POST }
allow "b-or-c" { select namespace ["b", "c"] select namespace "p*", not label app = "web"  to method DELETE }
dry_run allow "dry-d" { select namespace "d" }
deny "deny-c-delete" { select namespace "c"  to method DELETE }
"#;
    let set = PolicySet::parse(text, "defaults.mgp").unwrap();
    let engine = Engine::new(&set);
    let namespaces = [
        None,
        Some("a"),
        Some("b"),
        Some("c"),
        Some("d"),
        Some("ops"),
        Some("prod"),
    ];
    let labels = [
        None,
        Some(serde_json::json!({})),
        Some(serde_json::json!({"app": "web"})),
        Some(serde_json::json!({"app": "db"})),
        Some(serde_json::json!({"app": "web", "track": "canary"})),
        Some(serde_json::json!({"team": "x"})),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for ns in namespaces {
        for l in &labels {
            for method in ["GET", "POST", "DELETE"] {
                let mut dest = serde_json::Map::new();
                if let Some(ns) = ns {
                    dest.insert("namespace".into(), ns.into());
                }
                if let Some(l) = l {
                    dest.insert("labels".into(), l.clone());
                }
                let json = serde_json::json!({"destination": dest, "request": {"method": method, "path": "/x"}}).to_string();
                let req = Request::from_json(&json).unwrap();
                let expected = set.decide_reference(&req);
                assert_eq!(engine.decide(&req), expected, "request {json}");
                seen.insert((
                    expected.allowed,
                    expected.reasons.first().map(|s| s.to_string()),
                ));
            }
        }
    }
    for outcome in [
        (true, Some("open".to_string())),
        (true, Some("open-ops".to_string())),
        (true, Some("a-web-get".to_string())),
        (true, Some("any-ns-canary".to_string())),
        (true, Some("b-or-c".to_string())),
        (false, Some("deny-c-delete".to_string())),
        (false, None),
    ] {
        assert!(
            seen.contains(&outcome),
            "no request gave {outcome:?}: {seen:?}"
        );
    }
}
