//! Tests of the parent module.
use super::*;

const POLICY: &str = r#"role reader { permit GET, HEAD on "/api/**" }
allow "frontend-reads-payments" {
  from principal "spiffe://cluster.local/ns/shop/sa/frontend"
  to   service "payments.prod.svc.cluster.local"
  grant reader
}
allow "ops" {
  from namespace "ops", label team = "sre"
  when time.hour in 8..17
  timezone "Europe/Berlin"
}
deny "legacy" { from namespace "legacy" }
"#;

fn explain_json(json: &str) -> Explanation {
    let set = PolicySet::parse(POLICY, "p.mgp").unwrap();
    explain(&set, &Request::from_json(json).unwrap())
}

#[test]
fn a_denial_names_the_exact_failure_of_the_nearest_allow() {
    let e = explain_json(
        r#"{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
            "destination": {"service": "payments.prod.svc.cluster.local"},
            "request": {"method": "POST", "path": "/api/admin/x"}}"#,
    );
    assert!(!e.allowed);
    assert_eq!(e.summary, "denied: no allow rule matched (default deny)");
    let first = &e.nearest[0];
    assert_eq!(first.rule, "frontend-reads-payments");
    assert_eq!(first.failed_parts, 1);
    assert_eq!(
        first.summary,
        "principal matched; service matched; path \"/api/admin/x\" is not granted by role reader (/api/**: GET, HEAD; method was POST)"
    );
    let second = &e.nearest[1];
    assert_eq!(
        second.summary,
        "namespace was \"shop\", not \"ops\", label team is absent; \
         when `time.hour in 8..17` is unknown (time.hour is absent)"
    );
    assert!(e.to_text().contains(
        "nearest allow rules:\n  allow \"frontend-reads-payments\" (p.mgp:2:1): principal matched"
    ));
}

#[test]
fn a_deny_is_shown_with_the_allows_it_overrode() {
    let e = explain_json(
        r#"{"source": {"namespace": "legacy", "principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
            "destination": {"service": "payments.prod.svc.cluster.local"},
            "request": {"method": "GET", "path": "/api/x"}}"#,
    );
    assert_eq!(e.summary, "denied by deny \"legacy\"");
    assert_eq!(e.deciding[0].summary, "namespace matched");
    assert_eq!(e.overridden[0].rule, "frontend-reads-payments");
    assert!(e.nearest.is_empty());
}

#[test]
fn an_allow_shows_what_held_with_time_in_the_rules_zone() {
    let e = explain_json(
        r#"{"source": {"namespace": "ops", "labels": {"team": "sre"}}, "time": "2026-03-30T16:30:00Z"}"#,
    );
    assert!(!e.allowed);
    assert_eq!(
        e.nearest[0].summary,
        "namespace matched, label team matched; when `time.hour in 8..17` is false (time.hour is 18 in Europe/Berlin)"
    );
    let e = explain_json(
        r#"{"source": {"namespace": "ops", "labels": {"team": "sre"}}, "time": "2026-03-27T16:30:00Z"}"#,
    );
    assert_eq!(e.summary, "allowed by allow \"ops\"");
    assert_eq!(
        e.deciding[0].summary,
        "namespace matched, label team matched; when `time.hour in 8..17` is true (time.hour is 17 in Europe/Berlin)"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["deciding"][0]["checks"][1]["kind"], "when");
    assert_eq!(json["deciding"][0]["checks"][1]["outcome"], "held");
}

const DEFAULTS: &str = r#"default allow "mesh" { }
allow "foo-reads" { select namespace "foo" from namespace "x" }
allow "nothing" { select label app = "db"  when false }
"#;

fn explain_defaults(policy: &str, json: &str) -> Explanation {
    let set = PolicySet::parse(policy, "p.mgp").unwrap();
    explain(&set, &Request::from_json(json).unwrap())
}

#[test]
fn says_when_a_default_allowed_and_who_claims_otherwise() {
    let e = explain_defaults(
        DEFAULTS,
        r#"{"destination": {"namespace": "bar", "labels": {"app": "web"}}}"#,
    );
    assert!(e.allowed);
    assert_eq!(
        e.summary,
        "allowed by default allow \"mesh\": no allow rule matched and none claims the workload"
    );
    let d = e.default_allow.as_ref().unwrap();
    assert_eq!(
        (d.id.as_str(), d.applied, d.location.line),
        ("mesh", true, 1)
    );
    assert!(e.claimed_by.is_empty() && e.deciding.is_empty());

    let e = explain_defaults(
        DEFAULTS,
        r#"{"source": {"namespace": "y"}, "destination": {"namespace": "foo", "labels": {"app": "web"}}}"#,
    );
    assert!(!e.allowed);
    assert_eq!(
        e.summary,
        "denied: no allow rule matched (default deny); default allow \"mesh\" does not apply: the workload is claimed by allow \"foo-reads\""
    );
    assert!(!e.default_allow.as_ref().unwrap().applied);
    let c = &e.claimed_by[0];
    assert_eq!((c.rule.as_str(), c.selection), ("foo-reads", Outcome::Held));
    assert_eq!(
        c.detail,
        "selects the workload: destination namespace matched"
    );
    let near = &e.nearest[0];
    assert_eq!(near.rule, "foo-reads");
    assert_eq!(near.checks[0].kind, PartKind::Select);
    assert_eq!(
        near.summary,
        "destination namespace matched; namespace was \"y\", not \"x\""
    );
    let text = e.to_text();
    assert!(
        text.contains("allow rules that claim the workload:\n  allow \"foo-reads\" (p.mgp:2:1): selects the workload: destination namespace matched\n"),
        "{text}"
    );

    // No label at all: `nothing`'s selection is unknown, which claims.
    let e = explain_defaults(DEFAULTS, r#"{"destination": {"namespace": "bar"}}"#);
    let claims: Vec<_> = e
        .claimed_by
        .iter()
        .map(|c| (c.rule.as_str(), c.selection))
        .collect();
    assert_eq!(claims, [("nothing", Outcome::Unknown)]);
    assert_eq!(
        e.claimed_by[0].detail,
        "may select the workload (unknown claims): destination label app is absent"
    );

    let e = explain_defaults(
        "default allow \"prod\" { select namespace \"prod\" }\nallow \"a\" { from namespace \"x\" }",
        r#"{"destination": {"namespace": "bar"}}"#,
    );
    assert_eq!(
        e.summary,
        "denied: no allow rule matched (default deny); no default allow selects the workload"
    );
    assert!(e.default_allow.is_none());
    assert_eq!(
        e.claimed_by[0].detail,
        "no `select`: it claims every workload"
    );
    // Without defaults, the JSON has neither field.
    let v = serde_json::to_value(explain_json(r#"{"source": {"namespace": "z"}}"#)).unwrap();
    assert!(v.get("default_allow").is_none() && v.get("claimed_by").is_none());
}
