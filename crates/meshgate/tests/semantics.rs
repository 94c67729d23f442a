//! The README's example policy (`examples/mesh/policy.mgp`) decides as intended.
//!
//! Each test states one property of the example in words and checks it on requests built for it:
//! allow by role grant, deny overriding allow, default deny, audit, dry-run, label and namespace
//! subjects, SPIFFE derivation, CIDR, time windows across both daylight-saving changes of 2026 in
//! Europe/Berlin, claims, and absent attributes. Every request is decided by both the engine and
//! the reference evaluator, which must agree.

#![expect(
    clippy::panic,
    clippy::expect_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::path::Path;

use meshgate::{Engine, PolicySet, Request};
use serde_json::{Value, json};

fn example() -> PolicySet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mesh/policy.mgp");
    let text = std::fs::read_to_string(&path).expect("examples/mesh/policy.mgp");
    match PolicySet::parse(&text, "policy.mgp") {
        Ok(set) => set,
        Err(d) => panic!("the example does not load:\n{}", d.render()),
    }
}

/// The decision on `request` as JSON, after checking that engine and reference agree.
fn decide(set: &PolicySet, request: Value) -> Value {
    let request = Request::from_json(&request.to_string()).expect("request loads");
    let engine = Engine::new(set);
    let by_engine = engine.decide(&request).to_value();
    let by_reference = set.decide_reference(&request).to_value();
    assert_eq!(
        by_engine,
        by_reference,
        "engine and reference disagree on {}",
        request.to_json()
    );
    by_engine
}

fn allowed(d: &Value) -> bool {
    d["allowed"].as_bool().expect("`allowed` is a boolean")
}

fn ids(d: &Value, list: &str) -> Vec<String> {
    d[list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a rule id").to_string())
        .collect()
}

fn reasons(d: &Value) -> Vec<String> {
    ids(d, "reasons")
}

/// Asserts an allow by exactly `by`.
#[track_caller]
fn assert_allowed(d: &Value, by: &[&str]) {
    assert!(allowed(d), "expected an allow by {by:?}, got {d}");
    assert_eq!(reasons(d), by, "{d}");
}

/// Asserts a deny by the rule `by`, or a default deny when `by` is `None`.
#[track_caller]
fn assert_denied(d: &Value, by: Option<&str>) {
    assert!(!allowed(d), "expected a deny, got {d}");
    assert_eq!(reasons(d), by.into_iter().collect::<Vec<_>>(), "{d}");
    assert_eq!(d["errors"], json!([]), "{d}");
}

const FRONTEND: &str = "spiffe://cluster.local/ns/shop/sa/frontend";
const PAYMENTS: &str = "payments.prod.svc.cluster.local";

fn frontend(method: &str, path: &str) -> Value {
    json!({
        "source": {"principal": FRONTEND},
        "destination": {"service": PAYMENTS, "namespace": "prod"},
        "request": {"method": method, "path": path}
    })
}

/// An SRE's request: a SPIFFE identity in `ops` (namespace derived), team `sre`, from the office
/// network, to production, at `time`.
fn sre(method: &str, path: &str, time: &str) -> Value {
    json!({
        "source": {
            "principal": "spiffe://cluster.local/ns/ops/sa/sre-console",
            "labels": {"team": "sre"},
            "ip": "10.20.30.40"
        },
        "destination": {"namespace": "prod", "service": "ledger.prod.svc.cluster.local"},
        "request": {"method": method, "path": path},
        "time": time
    })
}

/// An end user with a JWT, calling the payments admin API.
fn admin_jwt(groups: Value) -> Value {
    json!({
        "source": {"principal": "spiffe://cluster.local/ns/support/sa/console"},
        "destination": {"service": PAYMENTS},
        "request": {
            "method": "POST",
            "path": "/api/admin/refunds",
            "auth": {"principal": "https://auth.example.com/alice", "claims": {"groups": groups}}
        }
    })
}

/// A Friday in winter time (CET, UTC+1) and a Monday in summer time (CEST, UTC+2), around the
/// spring change of 2026-03-29, and the days around the autumn change of 2026-10-25.
const WINTER_FRIDAY: &str = "2026-03-27";
const SUMMER_MONDAY: &str = "2026-03-30";

fn at(day: &str, utc: &str) -> String {
    format!("{day}T{utc}Z")
}

#[test]
fn the_example_loads_as_written() {
    let set = example();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let rules: Vec<(&str, String, bool)> = set
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), format!("{:?}", r.effect), r.dry_run))
        .collect();
    assert_eq!(
        rules,
        [
            ("frontend-reads-payments", "Allow".to_string(), false),
            ("sre-business-hours", "Allow".to_string(), false),
            ("payments-admins", "Allow".to_string(), false),
            ("legacy-no-admin", "Deny".to_string(), false),
            ("watch-exports", "Audit".to_string(), false),
            ("require-mtls", "Deny".to_string(), true),
        ]
    );
    // `operator` includes `reader`: its own permission and the reader's.
    let operator = &set.roles()["operator"];
    assert_eq!(operator.includes, ["reader"]);
    assert_eq!(operator.permissions.len(), 2);
    assert_eq!(set.roles()["reader"].permissions.len(), 1);
}

#[test]
fn role_grant_allows_what_the_role_permits() {
    let set = example();
    assert_allowed(
        &decide(&set, frontend("GET", "/api/balance")),
        &["frontend-reads-payments"],
    );
    assert_allowed(
        &decide(&set, frontend("HEAD", "/api/v2/balance/eur")),
        &["frontend-reads-payments"],
    );
    // The query string is not part of the path.
    assert_allowed(
        &decide(&set, frontend("GET", "/api/balance?currency=eur")),
        &["frontend-reads-payments"],
    );
    // `reader` permits neither POST nor paths outside /api/.
    assert_denied(&decide(&set, frontend("POST", "/api/balance")), None);
    assert_denied(&decide(&set, frontend("GET", "/internal/balance")), None);
    // `/api/**` needs something after `/api`.
    assert_denied(&decide(&set, frontend("GET", "/api")), None);
}

#[test]
fn role_grant_is_scoped_by_from_and_to() {
    let set = example();
    let mut other_service = frontend("GET", "/api/balance");
    other_service["destination"]["service"] = json!("ledger.prod.svc.cluster.local");
    assert_denied(&decide(&set, other_service), None);
    // Service names ignore case.
    let mut upper = frontend("GET", "/api/balance");
    upper["destination"]["service"] = json!("Payments.PROD.svc.cluster.local");
    assert_allowed(&decide(&set, upper), &["frontend-reads-payments"]);
    // Another workload of the same namespace is not the frontend.
    let mut backend = frontend("GET", "/api/balance");
    backend["source"]["principal"] = json!("spiffe://cluster.local/ns/shop/sa/backend");
    assert_denied(&decide(&set, backend), None);
}

#[test]
fn an_included_role_grants_its_permissions() {
    let set = example();
    let monday_10 = at(SUMMER_MONDAY, "08:00:00");
    // `operator` = its own POST on /api/admin/** + `reader`'s GET/HEAD on /api/**.
    assert_allowed(
        &decide(&set, sre("POST", "/api/admin/restart", &monday_10)),
        &["sre-business-hours"],
    );
    assert_allowed(
        &decide(&set, sre("GET", "/api/ledger", &monday_10)),
        &["sre-business-hours"],
    );
    assert_denied(&decide(&set, sre("POST", "/api/ledger", &monday_10)), None);
    assert_denied(
        &decide(&set, sre("DELETE", "/api/admin/restart", &monday_10)),
        None,
    );
}

#[test]
fn namespace_and_label_subjects() {
    let set = example();
    let time = at(SUMMER_MONDAY, "08:00:00");
    let base = sre("GET", "/api/ledger", &time);
    assert_allowed(&decide(&set, base.clone()), &["sre-business-hours"]);

    let mut wrong_team = base.clone();
    wrong_team["source"]["labels"] = json!({"team": "dev"});
    assert_denied(&decide(&set, wrong_team), None);

    let mut no_labels = base.clone();
    no_labels["source"]["labels"] = json!({});
    assert_denied(&decide(&set, no_labels), None);

    // A namespace given in the request wins over the one in the SPIFFE id.
    let mut given_namespace = base.clone();
    given_namespace["source"]["namespace"] = json!("staging");
    assert_denied(&decide(&set, given_namespace), None);

    let mut other_destination = base;
    other_destination["destination"]["namespace"] = json!("staging");
    assert_denied(&decide(&set, other_destination), None);
}

#[test]
fn spiffe_ids_give_namespace_and_service_account() {
    let set = example();
    let time = at(SUMMER_MONDAY, "08:00:00");
    // `from namespace "ops"` holds for a caller that only presents its SPIFFE id.
    let derived = sre("GET", "/api/ledger", &time);
    assert!(derived["source"].get("namespace").is_none());
    assert_allowed(&decide(&set, derived), &["sre-business-hours"]);

    // A SPIFFE id without the /ns/NS/sa/SA shape gives no namespace: the rule does not hold.
    let mut opaque = sre("GET", "/api/ledger", &time);
    opaque["source"]["principal"] = json!("spiffe://cluster.local/workload/ops-console");
    assert_denied(&decide(&set, opaque), None);

    // The legacy deny holds for a caller whose SPIFFE id is in `legacy`.
    let legacy = json!({
        "source": {"principal": "spiffe://cluster.local/ns/legacy/sa/batch"},
        "request": {"method": "POST", "path": "/api/admin/export"}
    });
    assert_denied(&decide(&set, legacy), Some("legacy-no-admin"));
}

#[test]
fn deny_overrides_every_allow() {
    let set = example();
    // The frontend's identity, with `legacy` as its namespace: the reader grant allows GET on
    // /api/admin/**, the legacy deny refuses it, and the deny wins.
    let mut both = frontend("GET", "/api/admin/settings");
    both["source"]["namespace"] = json!("legacy");
    assert_denied(&decide(&set, both.clone()), Some("legacy-no-admin"));
    // Outside /api/admin/** the same caller is allowed.
    both["request"]["path"] = json!("/api/balance");
    assert_allowed(&decide(&set, both), &["frontend-reads-payments"]);

    // A payments admin calling from the legacy namespace is refused too.
    let mut admin = admin_jwt(json!(["payments-admins"]));
    admin["source"] = json!({"principal": "spiffe://cluster.local/ns/legacy/sa/console"});
    assert_denied(&decide(&set, admin), Some("legacy-no-admin"));
}

#[test]
fn default_deny() {
    let set = example();
    let d = decide(&set, json!({}));
    assert_eq!(
        d,
        json!({
            "allowed": false,
            "reasons": [],
            "audits": [],
            "dry_run": [{"rule": "require-mtls", "effect": "deny"}],
            "errors": []
        })
    );
    assert_denied(&decide(&set, frontend("DELETE", "/api/balance")), None);
}

#[test]
fn audit_rules_report_without_deciding() {
    let set = example();
    let d = decide(&set, frontend("GET", "/api/export/transactions.csv"));
    assert_allowed(&d, &["frontend-reads-payments"]);
    assert_eq!(ids(&d, "audits"), ["watch-exports"]);

    // Also on a denied request.
    let mut legacy = frontend("GET", "/api/export/all");
    legacy["source"]["principal"] = json!("spiffe://cluster.local/ns/legacy/sa/batch");
    let d = decide(&set, legacy);
    assert_denied(&d, None);
    assert_eq!(ids(&d, "audits"), ["watch-exports"]);

    // And not elsewhere.
    assert_eq!(
        ids(&decide(&set, frontend("GET", "/api/balance")), "audits"),
        Vec::<String>::new()
    );
}

#[test]
fn dry_run_rules_report_what_they_would_do() {
    let set = example();
    // A plain-text caller (no mTLS identity) with an admin JWT: allowed, and the dry-run deny
    // reports that it would have refused the request.
    let mut plaintext = admin_jwt(json!(["payments-admins"]));
    plaintext["source"] = json!({"ip": "10.1.2.3"});
    let d = decide(&set, plaintext);
    assert_allowed(&d, &["payments-admins"]);
    assert_eq!(
        d["dry_run"],
        json!([{"rule": "require-mtls", "effect": "deny"}])
    );
    assert_eq!(d["audits"], json!([]));

    // With an mTLS identity the dry-run rule does not match (`has` is never unknown).
    let d = decide(&set, frontend("GET", "/api/balance"));
    assert_eq!(d["dry_run"], json!([]));
}

#[test]
fn cidr_conditions() {
    let set = example();
    let time = at(SUMMER_MONDAY, "08:00:00");
    for (ip, allow) in [
        ("10.20.30.40", true),
        ("10.0.0.0", true),
        ("10.255.255.255", true),
        ("11.0.0.1", false),
        ("192.168.1.10", false),
        ("::ffff:10.20.30.40", false),
        ("2001:db8::1", false),
    ] {
        let mut r = sre("GET", "/api/ledger", &time);
        r["source"]["ip"] = json!(ip);
        let d = decide(&set, r);
        assert_eq!(allowed(&d), allow, "source.ip {ip}: {d}");
    }
    // The remote (client) address is a different attribute.
    let mut r = sre("GET", "/api/ledger", &time);
    r["source"] = json!({
        "principal": "spiffe://cluster.local/ns/ops/sa/sre-console",
        "labels": {"team": "sre"},
        "remote_ip": "10.20.30.40"
    });
    assert_denied(&decide(&set, r), None);
}

/// Whether an SRE's GET is allowed at `time` (UTC).
fn sre_allowed_at(set: &PolicySet, time: &str) -> bool {
    allowed(&decide(set, sre("GET", "/api/ledger", time)))
}

#[test]
fn business_hours_follow_berlin_wall_clock_across_the_spring_change() {
    let set = example();
    // Winter (CET, UTC+1): 08:00–17:59 Berlin is 07:00–16:59 UTC.
    assert!(!sre_allowed_at(&set, &at(WINTER_FRIDAY, "06:59:59")));
    assert!(sre_allowed_at(&set, &at(WINTER_FRIDAY, "07:00:00")));
    assert!(sre_allowed_at(&set, &at(WINTER_FRIDAY, "16:59:59")));
    assert!(!sre_allowed_at(&set, &at(WINTER_FRIDAY, "17:00:00")));
    // Summer (CEST, UTC+2) after 2026-03-29: 08:00–17:59 Berlin is 06:00–15:59 UTC.
    assert!(!sre_allowed_at(&set, &at(SUMMER_MONDAY, "05:59:59")));
    assert!(sre_allowed_at(&set, &at(SUMMER_MONDAY, "06:00:00")));
    assert!(sre_allowed_at(&set, &at(SUMMER_MONDAY, "15:59:59")));
    assert!(!sre_allowed_at(&set, &at(SUMMER_MONDAY, "16:00:00")));
    // The change itself is on a Sunday: never a working day.
    assert!(!sre_allowed_at(&set, "2026-03-29T08:00:00Z"));
}

#[test]
fn business_hours_follow_berlin_wall_clock_across_the_autumn_change() {
    let set = example();
    // Friday 2026-10-23, still summer time: 08:00 Berlin is 06:00 UTC.
    assert!(sre_allowed_at(&set, "2026-10-23T06:00:00Z"));
    assert!(!sre_allowed_at(&set, "2026-10-23T16:00:00Z"));
    // Monday 2026-10-26, winter time again: 06:00 UTC is 07:00 Berlin, too early.
    assert!(!sre_allowed_at(&set, "2026-10-26T06:00:00Z"));
    assert!(sre_allowed_at(&set, "2026-10-26T07:00:00Z"));
    assert!(sre_allowed_at(&set, "2026-10-26T16:59:59Z"));
    assert!(!sre_allowed_at(&set, "2026-10-26T17:00:00Z"));
}

#[test]
fn working_days_are_berlin_days() {
    let set = example();
    // Friday 16:30 UTC is 17:30 on Friday in Berlin: allowed.
    assert!(sre_allowed_at(&set, &at(WINTER_FRIDAY, "16:30:00")));
    // Saturday in Berlin.
    assert!(!sre_allowed_at(&set, "2026-03-28T09:00:00Z"));
    // The request's own offset does not matter, only the instant: 09:30+02:00 is 07:30 UTC,
    // 08:30 in Berlin on a winter Friday.
    assert!(sre_allowed_at(&set, "2026-03-27T09:30:00+02:00"));
}

#[test]
fn claims_are_multi_valued() {
    let set = example();
    assert_allowed(
        &decide(&set, admin_jwt(json!(["support", "payments-admins"]))),
        &["payments-admins"],
    );
    // A single string is a one-element list.
    assert_allowed(
        &decide(&set, admin_jwt(json!("payments-admins"))),
        &["payments-admins"],
    );
    assert_denied(&decide(&set, admin_jwt(json!(["support"]))), None);
    assert_denied(&decide(&set, admin_jwt(json!([]))), None);
    // Exact, case-sensitive elements.
    assert_denied(&decide(&set, admin_jwt(json!(["Payments-Admins"]))), None);

    // The issuer must match `https://auth.example.com/*`, where `*` stays within one segment.
    let mut other_issuer = admin_jwt(json!(["payments-admins"]));
    other_issuer["request"]["auth"]["principal"] = json!("https://evil.example.com/alice");
    assert_denied(&decide(&set, other_issuer), None);
    let mut nested_subject = admin_jwt(json!(["payments-admins"]));
    nested_subject["request"]["auth"]["principal"] = json!("https://auth.example.com/team/alice");
    assert_denied(&decide(&set, nested_subject), None);
    // The group grants the admin API only.
    let mut elsewhere = admin_jwt(json!(["payments-admins"]));
    elsewhere["request"]["path"] = json!("/api/balance");
    assert_denied(&decide(&set, elsewhere), None);
}

#[test]
fn absent_attributes_never_make_a_rule_match() {
    let set = example();
    let time = at(SUMMER_MONDAY, "08:00:00");

    // No time: the time conditions are unknown, so the SRE rule does not hold.
    let mut no_time = sre("GET", "/api/ledger", &time);
    no_time.as_object_mut().expect("object").remove("time");
    assert_denied(&decide(&set, no_time), None);

    // No source address: `source.ip in 10.0.0.0/8` is unknown.
    let mut no_ip = sre("GET", "/api/ledger", &time);
    no_ip["source"]
        .as_object_mut()
        .expect("object")
        .remove("ip");
    assert_denied(&decide(&set, no_ip), None);

    // No claims: `claims["groups"] contains …` is unknown.
    let mut no_claims = admin_jwt(json!([]));
    no_claims["request"]["auth"]
        .as_object_mut()
        .expect("object")
        .remove("claims");
    assert_denied(&decide(&set, no_claims), None);

    // No path: no permission holds, and the legacy deny (a `to path` matcher) does not hold
    // either: the request falls to the default deny.
    let legacy_without_path = json!({
        "source": {"principal": "spiffe://cluster.local/ns/legacy/sa/batch"},
        "request": {"method": "POST"}
    });
    assert_denied(&decide(&set, legacy_without_path), None);

    // No source at all: every `from` matcher fails, and `unless has source.principal` is false
    // (`has` is never unknown), so the dry-run deny matches.
    let d = decide(
        &set,
        json!({"request": {"method": "GET", "path": "/api/balance"}}),
    );
    assert_denied(&d, None);
    assert_eq!(
        d["dry_run"],
        json!([{"rule": "require-mtls", "effect": "deny"}])
    );
}

#[test]
fn decisions_have_the_stable_json_shape() {
    let set = example();
    let request =
        Request::from_json(&frontend("GET", "/api/export/x").to_string()).expect("request");
    let engine = Engine::new(&set);
    assert_eq!(
        engine.decide(&request).to_json(),
        r#"{"allowed":true,"reasons":["frontend-reads-payments"],"audits":["watch-exports"],"dry_run":[],"errors":[]}"#
    );
}
