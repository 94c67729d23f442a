//! The filter's behaviour through the ABI: local responses, counters and log lines for allow,
//! deny, default deny, audit, dry-run, missing mTLS identity, bad configurations and policies,
//! `failure_mode_allow`, JWT claims and time windows.

use meshgate_envoy_host_tests::{EnvoyRequest, Plugin, pairs};
use proxy_wasm_host::Limits;
use proxy_wasm_host::abi::v0_2_1::types::{Action, LogLevel};
use serde_json::{Value, json};

const POLICY: &str = r#"
role reader { permit GET, HEAD on "/api/**" }

allow "frontend-reads" {
  from principal "spiffe://cluster.local/ns/shop/sa/frontend"
  to namespace "prod", label tier = "api"
  grant reader
}
deny "no-admin" { from namespace "legacy" to path "/api/admin/**" }
audit "watch-exports" { to path "/api/export/**" }
dry_run deny "require-tenant" { unless has request.headers["x-tenant"] }
allow "admins" {
  to path "/admin/**"
  when request.auth.claims["groups"] contains "admins"
}
allow "office-hours" {
  to path "/reports/**"
  when time.weekday in mon..fri and time.hour in 8..17
  timezone "Europe/Berlin"
}
allow "tenant-acme" { to path "/tenant/**" when request.headers["x-tenant"] == "acme" }
"#;

const FRONTEND: &str = "spiffe://cluster.local/ns/shop/sa/frontend";

/// Monday 2026-03-30 10:00 in Berlin (08:00 UTC).
const MONDAY_10_BERLIN: u64 = 1_774_857_600_000_000_000;

fn config(extra: Value) -> String {
    let mut c = json!({"policy": POLICY, "decision_log": true, "headers": ["x-tenant"]});
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    c.to_string()
}

fn plugin(extra: Value) -> Plugin {
    let p = Plugin::start(&config(extra));
    p.set_time(MONDAY_10_BERLIN);
    p
}

/// A request to the `prod` workload labelled `tier=api`.
fn to_prod(path: &str) -> EnvoyRequest {
    EnvoyRequest::get(path)
        .property("source.address", "10.1.2.3:53000")
        .property("xds.node.metadata.NAMESPACE", "prod")
        .property(
            "xds.node.metadata.LABELS",
            pairs::encode(&[("tier", "api")]),
        )
        .port(8443)
}

fn counters(p: &Plugin) -> [u64; 5] {
    [
        "meshgate.allowed",
        "meshgate.denied",
        "meshgate.dry_run_denied",
        "meshgate.audited",
        "meshgate.errors",
    ]
    .map(|n| p.counter(n))
}

#[test]
fn allow_continues_counts_and_logs() {
    let mut p = plugin(json!({}));
    let r = p.request(
        &to_prod("/api/export/x?y=1")
            .peer(FRONTEND)
            .header("x-tenant", "acme"),
    );
    assert!(r.continued(), "{r:?}");
    assert_eq!(counters(&p), [1, 0, 0, 1, 0]);
    let line = p.last_decision();
    assert_eq!(
        line,
        json!({"allowed": true, "reasons": ["frontend-reads"], "audits": ["watch-exports"],
               "dry_run": [], "errors": [], "mode": "enforce", "action": "continue",
               "principal": FRONTEND, "method": "GET", "path": "/api/export/x",
               "time": "2026-03-30T08:00:00Z"})
    );
}

#[test]
fn deny_answers_with_the_rule_id() {
    let mut p = plugin(json!({}));
    let legacy = "spiffe://cluster.local/ns/legacy/sa/old";
    let r = p.request(
        &to_prod("/api/admin/users")
            .peer(legacy)
            .header("x-tenant", "a"),
    );
    assert_eq!(r.action, Action::Pause);
    assert_eq!(r.status(), Some(403));
    assert_eq!(
        r.header("x-meshgate-denied-by").as_deref(),
        Some("no-admin")
    );
    assert_eq!(r.body(), "denied by rule `no-admin`\n");
    assert_eq!(counters(&p), [0, 1, 0, 0, 0]);
    let line = p.last_decision();
    assert_eq!(line["reasons"], json!(["no-admin"]));
    assert_eq!(line["action"], "deny");
    assert_eq!(line["principal"], legacy);
}

#[test]
fn reveal_rule_off_and_a_custom_status_and_body() {
    let mut p = plugin(json!({"reveal_rule": false, "deny_status": 401, "deny_body": "go away\n"}));
    let r = p.request(&to_prod("/api/admin/users").peer("spiffe://cluster.local/ns/legacy/sa/x"));
    assert_eq!(r.status(), Some(401));
    assert_eq!(r.header("x-meshgate-denied-by"), None);
    assert_eq!(r.body(), "go away\n");
}

#[test]
fn default_deny_when_no_rule_allows() {
    let mut p = plugin(json!({}));
    let r = p.request(&to_prod("/api/x").peer("spiffe://cluster.local/ns/shop/sa/other"));
    assert_eq!(r.status(), Some(403));
    assert_eq!(r.header("x-meshgate-denied-by"), None);
    assert_eq!(r.body(), "denied: no rule allows this request\n");
    assert_eq!(p.last_decision()["reasons"], json!([]));
    // The dry-run rule (no x-tenant header) matched too: counted, never blocking on its own.
    assert_eq!(counters(&p), [0, 1, 1, 0, 0]);
}

#[test]
fn audit_and_dry_run_rules_never_block() {
    let mut p = plugin(json!({}));
    let r = p.request(&to_prod("/api/export/all").peer(FRONTEND));
    assert!(r.continued(), "{r:?}");
    let line = p.last_decision();
    assert_eq!(line["audits"], json!(["watch-exports"]));
    assert_eq!(
        line["dry_run"],
        json!([{"rule": "require-tenant", "effect": "deny"}])
    );
    assert_eq!(counters(&p), [1, 0, 1, 1, 0]);
}

#[test]
fn dry_run_mode_logs_and_lets_everything_through() {
    let mut p = plugin(json!({"mode": "dry-run"}));
    let r = p.request(&to_prod("/api/admin/users").peer("spiffe://cluster.local/ns/legacy/sa/x"));
    assert!(r.continued(), "{r:?}");
    let line = p.last_decision();
    assert_eq!(line["allowed"], false);
    assert_eq!(line["reasons"], json!(["no-admin"]));
    assert_eq!(line["mode"], "dry-run");
    assert_eq!(line["action"], "continue");
    assert_eq!(p.counter("meshgate.denied"), 0);
    assert_eq!(p.counter("meshgate.dry_run_denied"), 1);
}

#[test]
fn a_request_without_mtls_identity_is_not_allowed_by_principal() {
    let mut p = plugin(json!({}));
    let r = p.request(&to_prod("/api/x").header("x-tenant", "acme"));
    assert_eq!(r.status(), Some(403));
    let line = p.last_decision();
    assert_eq!(line["reasons"], json!([]));
    assert!(line.get("principal").is_none(), "{line}");
    // An empty URI SAN (TLS without a SPIFFE id) is no identity either.
    let r = p.request(&to_prod("/api/x").peer("").header("x-tenant", "acme"));
    assert_eq!(r.status(), Some(403));
}

#[test]
fn jwt_claims_from_the_jwt_filter_metadata() {
    let mut p = plugin(json!({}));
    let admin = json!({"iss": "https://auth.example.com", "sub": "alice", "groups": ["dev", "admins"], "exp": 1_900_000_000});
    let r = p.request(&EnvoyRequest::get("/admin/panel").jwt(&admin));
    assert!(r.continued(), "{r:?}");
    assert_eq!(p.last_decision()["reasons"], json!(["admins"]));
    let dev = json!({"iss": "https://auth.example.com", "sub": "bob", "groups": ["dev"]});
    let r = p.request(&EnvoyRequest::get("/admin/panel").jwt(&dev));
    assert_eq!(r.status(), Some(403));
    let r = p.request(&EnvoyRequest::get("/admin/panel"));
    assert_eq!(r.status(), Some(403));
}

#[test]
fn time_windows_read_the_proxy_clock() {
    let mut p = plugin(json!({}));
    assert!(p.request(&EnvoyRequest::get("/reports/q1")).continued());
    // 18:30 in Berlin: outside 8..17.
    p.set_time(MONDAY_10_BERLIN + 8 * 3_600_000_000_000 + 1_800_000_000_000);
    let r = p.request(&EnvoyRequest::get("/reports/q1"));
    assert_eq!(r.status(), Some(403));
    assert_eq!(p.last_decision()["time"], "2026-03-30T16:30:00Z");
    // Saturday 2026-04-04 10:00 Berlin.
    p.set_time(MONDAY_10_BERLIN + 5 * 86_400_000_000_000);
    assert_eq!(
        p.request(&EnvoyRequest::get("/reports/q1")).status(),
        Some(403)
    );
}

#[test]
fn selected_headers_only() {
    let mut p = plugin(json!({}));
    assert!(
        p.request(&EnvoyRequest::get("/tenant/x").header("x-tenant", "acme"))
            .continued()
    );
    // A second `x-tenant` line is joined to the first, not hidden behind it.
    let r = p.request(
        &EnvoyRequest::get("/tenant/x")
            .header("x-tenant", "acme")
            .header("x-tenant", "evil"),
    );
    assert_eq!(r.status(), Some(403));
    // A header the configuration does not list is not exposed.
    let mut q = plugin(json!({"headers": []}));
    let r = q.request(&EnvoyRequest::get("/tenant/x").header("x-tenant", "acme"));
    assert_eq!(r.status(), Some(403));
}

fn assert_fails_closed(p: &mut Plugin) {
    let r = p.request(&to_prod("/api/x").peer(FRONTEND).header("x-tenant", "acme"));
    assert_eq!(r.status(), Some(503));
    assert_eq!(
        r.body(),
        "meshgate: the authorization policy is not loaded\n"
    );
    assert_eq!(p.counter("meshgate.errors"), 2);
    assert_eq!(p.counter("meshgate.denied"), 1);
}

fn errors_logged(p: &Plugin) -> Vec<String> {
    p.log_lines()
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Error)
        .map(|(_, m)| m)
        .collect()
}

#[test]
fn a_bad_configuration_fails_closed() {
    let mut p = Plugin::start(r#"{"policy": "allow \"a\" {}", "mdoe": "enforce"}"#);
    let errors = errors_logged(&p);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("unknown field `mdoe`") && e.contains("denied with 503")),
        "{errors:?}"
    );
    assert_fails_closed(&mut p);

    let mut p = Plugin::start("not json");
    assert_fails_closed(&mut p);
}

#[test]
fn a_bad_policy_fails_closed_with_its_diagnostics() {
    let mut p = Plugin::start(
        &json!({"policy": "allow \"a\" {\n  when sorce.ip in 10.0.0.0/8\n}\n"}).to_string(),
    );
    let errors = errors_logged(&p);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("the policy does not load: 1 error")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("policy.mgp:2:8") && e.contains("did you mean `source.ip`?")),
        "{errors:?}"
    );
    assert_fails_closed(&mut p);
}

#[test]
fn failure_mode_allow_lets_requests_through_and_counts_errors() {
    let mut p = Plugin::start(
        &json!({"policy": "allow \"a\" { to port 70000 }", "failure_mode_allow": true, "decision_log": true})
            .to_string(),
    );
    let r = p.request(&EnvoyRequest::get("/x"));
    assert!(r.continued(), "{r:?}");
    assert_eq!(p.counter("meshgate.allowed"), 1);
    assert_eq!(p.counter("meshgate.errors"), 2);
    assert_eq!(
        p.last_decision()["error"],
        "the authorization policy is not loaded"
    );
}

#[test]
fn unreadable_metadata_is_denied_as_an_error() {
    let mut p = plugin(json!({}));
    let r = p.request(&EnvoyRequest::get("/admin/x").property("metadata", vec![0x0a, 0x7f]));
    assert_eq!(r.status(), Some(403));
    assert!(r.body().contains("dynamic metadata"), "{}", r.body());
    assert_eq!(counters(&p), [0, 1, 0, 0, 1]);
}

#[test]
fn counters_and_log_lines_accumulate_per_request() {
    let mut p = plugin(json!({"decision_log": false}));
    for _ in 0..3 {
        p.request(&to_prod("/api/x").peer(FRONTEND).header("x-tenant", "acme"));
    }
    p.request(&to_prod("/nowhere").header("x-tenant", "acme"));
    assert_eq!(counters(&p), [3, 1, 0, 0, 0]);
    assert!(p.decisions().is_empty(), "decision_log is off");
}

#[test]
fn a_broken_update_keeps_the_policy_loaded_before() {
    let config = |policy: &str| json!({ "policy": policy, "decision_log": false }).to_string();
    let mut p = Plugin::start(&config("allow \"ok\" { to path \"/ok\" }"));
    assert!(p.request(&EnvoyRequest::get("/ok")).continued());

    // A policy with an error: refused, the previous one keeps deciding.
    assert!(p.reconfigure(&config("allow \"ok\" { to port 70000 }")));
    assert!(p.request(&EnvoyRequest::get("/ok")).continued());
    assert_eq!(p.request(&EnvoyRequest::get("/other")).status(), Some(403));
    assert_eq!(p.counter("meshgate.errors"), 1);
    assert!(
        p.log_lines()
            .iter()
            .any(|(_, line)| line.contains("keeping the policy loaded before (1 rules)")),
        "{:?}",
        p.log_lines()
    );

    // A good update replaces it.
    assert!(p.reconfigure(&config("allow \"other\" { to path \"/other\" }")));
    assert!(p.request(&EnvoyRequest::get("/other")).continued());
    assert_eq!(p.request(&EnvoyRequest::get("/ok")).status(), Some(403));
}

#[test]
fn reject_invalid_tells_the_host_the_configuration_is_invalid() {
    let bad = json!({ "policy": "allow \"ok\" { to port 70000 }", "reject_invalid": true });
    let e = Plugin::try_start(&bad.to_string(), &Limits::default())
        .err()
        .expect("a rejected configuration");
    assert!(
        e.contains("the configuration is rejected (reject_invalid)"),
        "{e}"
    );
    // A good configuration with the option starts as usual.
    let good = json!({ "policy": "allow \"ok\" { to path \"/ok\" }", "reject_invalid": true });
    let mut p = Plugin::start(&good.to_string());
    assert!(p.request(&EnvoyRequest::get("/ok")).continued());
}
