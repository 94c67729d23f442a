//! The diff's tests: examples of each kind of change and exactness, and the properties
//! (sound: every example decides differently; complete: every differing request lies in a
//! reported region).

use super::*;

fn sets(a: &str, b: &str) -> (PolicySet, PolicySet) {
    (
        PolicySet::parse(a, "old.mgp").unwrap(),
        PolicySet::parse(b, "new.mgp").unwrap(),
    )
}

#[test]
fn same_meaning_is_no_change() {
    let (a, b) = sets(
        "allow \"a\" { from namespace \"shop\" }",
        "# reworded\nallow \"a\" {\n  from namespace \"shop\"\n}",
    );
    let r = diff(&a, &b);
    assert!(r.decision_changes.is_empty(), "{r:?}");
    assert!(r.to_text().contains("no behavioural change"));
}

#[test]
fn a_new_deny_is_one_region_with_an_example() {
    let (a, b) = sets(
        "allow \"a\" { from namespace \"shop\" }",
        "allow \"a\" { from namespace \"shop\" }\ndeny \"d\" { to path \"/admin/**\" }",
    );
    let r = diff(&a, &b);
    assert_eq!(r.rules.added, ["d"]);
    assert_eq!(r.decision_changes.len(), 1, "{}", r.to_text());
    let region = &r.decision_changes[0];
    assert!(region.before.allowed && !region.after.allowed);
    assert_eq!(region.after.reasons, ["d"]);
    let example = Request::from_value(region.example.clone()).unwrap();
    assert!(a.decide_reference(&example).allowed);
    assert!(!b.decide_reference(&example).allowed);
    assert!(r.exact);
}

#[test]
fn widened_hours_in_a_zone() {
    let (a, b) = sets(
        "allow \"a\" { from namespace \"ops\" when time.hour in 8..17 timezone \"Europe/Berlin\" }",
        "allow \"a\" { from namespace \"ops\" when time.hour in 8..19 timezone \"Europe/Berlin\" }",
    );
    let r = diff(&a, &b);
    assert_eq!(r.rules.changed, ["a"]);
    assert!(!r.decision_changes.is_empty());
    for region in &r.decision_changes {
        assert!(!region.before.allowed && region.after.allowed);
        let req = Request::from_value(region.example.clone()).unwrap();
        let hour = jiff::tz::TimeZone::get("Europe/Berlin")
            .unwrap()
            .to_datetime(req.time.unwrap())
            .hour();
        assert!((18..=19).contains(&hour), "{hour}");
    }
}

/// Asserts that `request` decides differently under the two sets and lies in a reported
/// region, and that the report claims what it found.
fn assert_found(a: &PolicySet, b: &PolicySet, request: &str) {
    let req = Request::from_json(request).unwrap();
    assert_ne!(
        a.decide_reference(&req).allowed,
        b.decide_reference(&req).allowed,
        "{request} should decide differently"
    );
    let d = Diff::new(a, b);
    let r = d.report();
    assert!(
        d.region_of(&req).is_some(),
        "{request} in no region: {}",
        r.to_text()
    );
    for region in &r.decision_changes {
        let example = Request::from_value(region.example.clone()).unwrap();
        assert_ne!(
            a.decide_reference(&example).allowed,
            b.decide_reference(&example).allowed
        );
    }
}

#[test]
fn a_region_needing_no_namespace_uses_a_principal_that_supplies_none() {
    let old = "allow \"a\" { from namespace \"zzz\", principal \"spiffe://cluster.local/ns/shop/sa/frontend\" }";
    let new =
        format!("{old}\nallow \"b\" {{ when has source.principal unless has source.namespace }}");
    let (a, b) = sets(old, &new);
    assert_found(&a, &b, r#"{"source": {"principal": "x"}}"#);
    assert!(diff(&a, &b).exact);
}

#[test]
fn a_region_needing_no_namespace_uses_another_member_of_a_spiffe_class() {
    // The class's representative, `…/sa/zz9`, supplies a namespace; `…/sa/zz9/zz9`, of the
    // same class, does not.
    let old = "allow \"a\" { from principal \"spiffe://td/ns/shop/sa/**\" }";
    let new = format!(
        "{old}\ndeny \"d\" {{ from principal \"spiffe://td/ns/shop/sa/**\" unless has source.namespace }}"
    );
    let (a, b) = sets(old, &new);
    assert_found(
        &a,
        &b,
        r#"{"source": {"principal": "spiffe://td/ns/shop/sa/x/y"}}"#,
    );
}

fn groups(n: usize) -> String {
    let tests: Vec<String> = (1..=n)
        .map(|i| format!("request.auth.claims[\"groups\"] contains \"g{i}\""))
        .collect();
    format!("allow \"a\" {{ when {} }}", tests.join(" and "))
}

#[test]
fn many_list_values_are_all_combined() {
    let old = groups(9);
    let new =
        format!("{old}\ndeny \"d\" {{ when request.auth.claims[\"groups\"] contains \"g1\" }}");
    let (a, b) = sets(&old, &new);
    let all: Vec<String> = (1..=9).map(|i| format!("\"g{i}\"")).collect();
    let req = format!(
        r#"{{"request": {{"auth": {{"claims": {{"groups": [{}]}}}}}}}}"#,
        all.join(", ")
    );
    assert_found(&a, &b, &req);
    assert!(diff(&a, &b).exact);
}

#[test]
fn too_many_list_classes_make_the_report_inexact() {
    let old = groups(11);
    let new =
        format!("{old}\ndeny \"d\" {{ when request.auth.claims[\"groups\"] contains \"g1\" }}");
    let (a, b) = sets(&old, &new);
    let r = diff(&a, &b);
    assert!(!r.exact, "{}", r.to_text());
    assert!(
        r.inexact_because
            .iter()
            .any(|w| w.contains("classes of lists")),
        "{:?}",
        r.inexact_because
    );
}

#[test]
fn a_zone_half_an_hour_off_utc_is_tried_at_half_hours() {
    let old = "allow \"a\" { when time.hour == 8 timezone \"Asia/Kolkata\" }";
    let new = format!("{old}\ndeny \"d\" {{ when time.hour == 2 }}");
    let (a, b) = sets(old, &new);
    assert_found(&a, &b, r#"{"time": "2026-01-05T02:45:00Z"}"#);
    assert!(diff(&a, &b).exact);
}

#[test]
fn offsets_a_zone_had_in_other_years_are_tried() {
    // Moscow was UTC+4 from 2011 to 2014, UTC+3 in 2026.
    let old = "allow \"a\" { when time.hour == 8 timezone \"Europe/Moscow\" }";
    let new = format!("{old}\ndeny \"d\" {{ when time.hour == 4 }}");
    let (a, b) = sets(old, &new);
    assert_found(&a, &b, r#"{"time": "2012-01-05T04:30:00Z"}"#);
    assert!(diff(&a, &b).exact);
}

#[test]
fn local_mean_time_offsets_are_tried() {
    // Before 1893 Berlin kept local mean time, UTC+0:53:28: 08:00 to 09:00 there is
    // 07:06:32Z to 08:06:32Z, the only time Berlin's hour 8 meets UTC's hour 8.
    let old = "allow \"a\" { when time.hour == 8 timezone \"Europe/Berlin\" }";
    let new = format!("{old}\ndeny \"d\" {{ when time.hour == 8 }}");
    let (a, b) = sets(old, &new);
    assert_found(&a, &b, r#"{"time": "1880-03-01T08:03:00Z"}"#);
}

#[test]
fn one_glob_written_twice_keeps_the_report_exact() {
    let old = "allow \"a\" { to host \"*.example.com\" }";
    let new = format!("{old}\ndeny \"d\" {{ to host \"*.example.com\", path \"/admin/**\" }}");
    let (a, b) = sets(old, &new);
    let r = diff(&a, &b);
    assert!(r.exact, "{:?}", r.inexact_because);
    assert_found(
        &a,
        &b,
        r#"{"request": {"host": "x.example.com", "path": "/admin/y"}}"#,
    );
}

#[test]
fn claims_under_one_key_are_decided_exactly() {
    // `org.team` and `org.role` share the claim `org`: a region needing both is built with
    // both in its map, and found.
    let both = "request.auth.claims[\"org\"][\"team\"] contains \"x\" and request.auth.claims[\"org\"][\"role\"] contains \"y\"";
    let old = format!("allow \"a\" {{ when {both} }}");
    let new = format!(
        "{old}\ndeny \"d\" {{ when request.auth.claims[\"org\"][\"team\"] contains \"x\" }}"
    );
    let (a, b) = sets(&old, &new);
    let r = diff(&a, &b);
    assert!(r.exact, "{}", r.to_text());
    assert_found(
        &a,
        &b,
        r#"{"request": {"auth": {"claims": {"org": {"team": ["x"], "role": ["y"]}}}}}"#,
    );
    // Narrowing one of them: the region where the other holds and it does not.
    let (a, b) = sets(
        "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" }",
        "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" and request.auth.claims[\"org\"][\"role\"] == \"admin\" }",
    );
    assert!(diff(&a, &b).exact);
    assert_found(
        &a,
        &b,
        r#"{"request": {"auth": {"claims": {"org": {"team": ["x"], "role": ["user"]}}}}}"#,
    );
    // Two tests of one claim in one set (one class per combination of their outcomes).
    let (a, b) = sets(
        "allow \"a\" { when request.auth.claims[\"groups\"] == \"a\" }",
        "allow \"a\" { when request.auth.claims[\"groups\"] == \"a\" }\nallow \"b\" { when request.auth.claims[\"groups\"] matches \"b*\" }",
    );
    assert!(diff(&a, &b).exact);
    assert_found(
        &a,
        &b,
        r#"{"request": {"auth": {"claims": {"groups": ["bob"]}}}}"#,
    );
}

#[test]
fn a_claim_on_the_way_to_another_is_a_map() {
    let old = "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" }";
    let (a, b) = sets(
        old,
        "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" or request.auth.claims[\"org\"] == \"y\" }",
    );
    let r = diff(&a, &b);
    assert!(r.exact, "{}", r.to_text());
    assert_eq!(r.decision_changes.len(), 1, "{}", r.to_text());
    assert_found(
        &a,
        &b,
        r#"{"request": {"auth": {"claims": {"org": ["y"]}}}}"#,
    );
    // `org` holding `team` is a map: present, holding no string, so `org == "y"` is false and
    // nothing changes; and `org.team` holding `lead` makes `org.team == "x"` false.
    for new in [
        "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" and not request.auth.claims[\"org\"] == \"y\" }",
        "allow \"a\" { when request.auth.claims[\"org\"][\"team\"] == \"x\" }\ndeny \"d\" { when has request.auth.claims[\"org\"] and request.auth.claims[\"org\"][\"team\"][\"lead\"] == \"z\" }",
    ] {
        let (a, b) = sets(old, new);
        let r = diff(&a, &b);
        assert!(r.exact && !r.changes_decisions, "{new}: {}", r.to_text());
    }
    // A change only where `org` is a map of its own, with no claim under it the rules test.
    let (a, b) = sets(
        "allow \"a\" { when has request.auth.claims[\"org\"] and not request.auth.claims[\"org\"][\"team\"] == \"x\" }",
        "allow \"a\" { when has request.auth.claims[\"org\"] and not request.auth.claims[\"org\"][\"team\"] == \"x\" }\ndeny \"d\" { when request.auth.claims[\"org\"][\"team\"] == \"q\" and not request.auth.claims[\"org\"] == \"p\" }",
    );
    let r = diff(&a, &b);
    assert!(r.exact, "{}", r.to_text());
    assert_found(
        &a,
        &b,
        r#"{"request": {"auth": {"claims": {"org": {"team": ["q"]}}}}}"#,
    );
}

#[test]
fn a_new_default_opens_the_workloads_no_allow_rule_claims() {
    let old = "allow \"a\" { select namespace \"foo\" from namespace \"x\" }\nallow \"nothing\" { select label app = \"db\" when false }";
    let (a, b) = sets(old, &format!("{old}\ndefault allow \"mesh\" {{ }}"));
    let r = diff(&a, &b);
    assert!(r.exact, "{:?}", r.inexact_because);
    assert_eq!(r.rules.added, ["mesh"]);
    // Another namespace, labelled without `app = "db"`: claimed by neither rule.
    assert_found(
        &a,
        &b,
        r#"{"destination": {"namespace": "bar", "labels": {"app": "web"}}}"#,
    );
    assert_found(
        &a,
        &b,
        r#"{"destination": {"namespace": "bar", "labels": {"tier": "1"}}}"#,
    );
    // Claimed: by `a` (namespace foo, or unknown), by `nothing` (app = db, or no label at all).
    for claimed in [
        r#"{"destination": {"namespace": "foo", "labels": {"app": "web"}}}"#,
        r#"{"destination": {"labels": {"app": "web"}}}"#,
        r#"{"destination": {"namespace": "bar", "labels": {"app": "db"}}}"#,
        r#"{"destination": {"namespace": "bar"}}"#,
    ] {
        let req = Request::from_json(claimed).unwrap();
        assert!(!b.decide_reference(&req).allowed, "{claimed}");
        assert!(Diff::new(&a, &b).region_of(&req).is_none(), "{claimed}");
    }
    for region in &r.decision_changes {
        assert_eq!(region.after.reasons, ["mesh"]);
    }
}

#[test]
fn a_new_select_narrows_a_rule_and_its_claim() {
    // With a default, narrowing a rule's selection both stops it matching elsewhere and
    // opens the workloads it no longer claims: another namespace is now allowed by default.
    let (a, b) = sets(
        "default allow \"mesh\" { }\nallow \"a\" { from namespace \"x\" }",
        "default allow \"mesh\" { }\nallow \"a\" { select namespace \"foo\" from namespace \"x\" }",
    );
    let r = diff(&a, &b);
    assert!(r.exact, "{:?}", r.inexact_because);
    assert_found(
        &a,
        &b,
        r#"{"source": {"namespace": "y"}, "destination": {"namespace": "bar"}}"#,
    );
    // Same decision where it still claims (and the caller is not `x`), or where `x` calls it.
    let d = Diff::new(&a, &b);
    for same in [
        r#"{"source": {"namespace": "y"}, "destination": {"namespace": "foo"}}"#,
        r#"{"source": {"namespace": "x"}, "destination": {"namespace": "foo"}}"#,
    ] {
        let req = Request::from_json(same).unwrap();
        assert_eq!(
            a.decide_reference(&req).allowed,
            b.decide_reference(&req).allowed
        );
        assert!(d.region_of(&req).is_none(), "{same}");
    }
}

#[expect(
    clippy::arithmetic_side_effects,
    reason = "test code: sums small counts"
)]
mod properties {
    use proptest::prelude::*;

    use super::super::Diff;
    use meshgate::{PolicySet, Request};

    const ROLES: &str = "role reader { permit GET, HEAD on \"/api/**\" }\nrole operator { include reader permit POST on \"/api/admin/**\" port 8000..8999 }\n";

    const FROM: &[&str] = &[
        "from namespace \"shop\"",
        "from namespace \"ops\", label team = \"sre\"",
        "from not namespace \"legacy\"",
        "from principal \"spiffe://td/ns/shop/sa/*\"",
        "from principal \"spiffe://td/ns/ops/sa/admin\"",
        "from ip 10.0.0.0/8",
        "from ip 10.1.0.0/16, namespace \"ops\"",
        "from request_principal \"https://idp/*\"",
    ];
    const TO: &[&str] = &[
        "to path \"/api/admin/**\"",
        "to path [\"/health\", \"/api/export/**\"]",
        "to method POST",
        "to port 8080",
        "to service \"pay\", path \"/api/**\"",
        "to namespace \"prod\"",
    ];
    const GRANT: &[&str] = &["grant reader", "grant operator"];
    const WHEN: &[&str] = &[
        "when time.hour in 8..17",
        "when time.hour in 22..6",
        "when time.weekday in mon..fri",
        "when has source.ip",
        "when request.headers[\"x-debug\"] == \"1\"",
        "when request.auth.claims[\"groups\"] contains \"admins\"",
        "unless request.auth.claims[\"groups\"] contains \"guests\"",
        // Claims under one key, one on the way to the other.
        "when request.auth.claims[\"org\"][\"team\"] == \"x\"",
        "when request.auth.claims[\"org\"][\"role\"] == \"x\"",
        "unless request.auth.claims[\"org\"] == \"y\"",
        "when time >= 2026-06-01T00:00:00Z",
        "when time.date in 2026-12-24..2026-12-26",
    ];
    const SELECT: &[&str] = &[
        "select namespace \"prod\"",
        "select not namespace \"dev\"",
        "select label app = \"web\"",
        "select not label app = \"web\", namespace \"prod\"",
        "select label tier = \"1\" select namespace \"dev\"",
    ];
    const DEFAULTS: &[&str] = &[
        "default allow \"d0\" { }",
        "default allow \"d1\" { select namespace \"prod\" }",
        "default allow \"d2\" { select label app = \"web\" }\ndefault allow \"d3\" { select namespace \"dev\" }",
    ];
    const ZONES: &[&str] = &[
        "",
        "timezone \"Europe/Berlin\"",
        "timezone \"America/New_York\"",
        "timezone \"Asia/Kolkata\"",
        "timezone \"Europe/Moscow\"",
    ];

    #[derive(Clone, Debug)]
    struct RuleSpec {
        deny: bool,
        select: Option<usize>,
        from: Option<usize>,
        to: Option<usize>,
        grant: Option<usize>,
        when: Option<usize>,
        zone: usize,
    }

    fn rule_spec() -> impl Strategy<Value = RuleSpec> {
        (
            proptest::bool::weighted(0.3),
            proptest::option::of(0..FROM.len()),
            proptest::option::of(0..TO.len()),
            proptest::option::of(0..GRANT.len()),
            proptest::option::of(0..WHEN.len()),
            0..ZONES.len(),
            proptest::option::weighted(0.3, 0..SELECT.len()),
        )
            .prop_map(|(deny, from, to, grant, when, zone, select)| RuleSpec {
                deny,
                select,
                from,
                to,
                grant: if deny { None } else { grant },
                when,
                zone,
            })
    }

    fn text(rules: &[(usize, RuleSpec)], defaults: Option<usize>) -> String {
        let mut out = ROLES.to_string();
        if let Some(d) = defaults {
            out.push_str(DEFAULTS[d]);
            out.push('\n');
        }
        for (id, r) in rules {
            let effect = if r.deny { "deny" } else { "allow" };
            let parts: Vec<&str> = [
                r.select.map(|i| SELECT[i]),
                r.from.map(|i| FROM[i]),
                r.to.map(|i| TO[i]),
                r.grant.map(|i| GRANT[i]),
                r.when.map(|i| WHEN[i]),
                Some(ZONES[r.zone]),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push_str(&format!("{effect} \"r{id}\" {{ {} }}\n", parts.join(" ")));
        }
        out
    }

    fn pair() -> impl Strategy<Value = (String, String)> {
        (
            proptest::collection::vec(rule_spec(), 1..5),
            proptest::collection::vec(rule_spec(), 0..3),
            0..4usize,
            proptest::option::weighted(0.3, 0..DEFAULTS.len()),
            proptest::option::weighted(0.3, 0..DEFAULTS.len()),
        )
            .prop_map(|(old, extra, mode, old_defaults, new_defaults)| {
                let old: Vec<(usize, RuleSpec)> = old.into_iter().enumerate().collect();
                let mut new = old.clone();
                match mode {
                    0 => new.extend(extra.into_iter().enumerate().map(|(i, r)| (10 + i, r))),
                    1 => {
                        new.pop();
                    }
                    2 => {
                        if let (Some(first), Some(r)) = (new.first_mut(), extra.into_iter().next())
                        {
                            first.1 = r;
                        }
                    }
                    _ => {
                        new = extra
                            .into_iter()
                            .enumerate()
                            .map(|(i, r)| (20 + i, r))
                            .collect()
                    }
                }
                (text(&old, old_defaults), text(&new, new_defaults))
            })
    }

    fn request() -> impl Strategy<Value = String> {
        let opt = |xs: &'static [&'static str]| proptest::option::of(proptest::sample::select(xs));
        (
            (
                opt(&[
                    "spiffe://td/ns/shop/sa/web",
                    "spiffe://td/ns/ops/sa/admin",
                    "spiffe://td/ns/legacy/sa/x",
                    "other",
                ]),
                opt(&["shop", "ops", "legacy", "zz"]),
                opt(&["sre", "dev"]),
                opt(&["10.1.2.3", "10.200.0.1", "192.168.0.1"]),
                opt(&["https://idp/alice", "https://other/bob"]),
            ),
            (
                opt(&[
                    "/api/admin/x",
                    "/api/export/y",
                    "/health",
                    "/api/z",
                    "/other",
                ]),
                opt(&["GET", "POST", "HEAD", "PUT"]),
                proptest::option::of(proptest::sample::select(&[8080u16, 8500, 9999][..])),
                opt(&["pay", "PAY", "ledger"]),
                opt(&["prod", "dev"]),
                opt(&[
                    r#"{"app": "web"}"#,
                    r#"{"app": "api"}"#,
                    r#"{"tier": "1"}"#,
                    r#"{"other": "x"}"#,
                ]),
            ),
            (
                // Minutes after 2026-01-01, mostly in 2026 and 2027, sometimes back to 1850
                // or on to 2100 (zones' offsets differed then).
                proptest::option::of(prop_oneof![
                    3 => 0i64..(2 * 366 * 24 * 60),
                    1 => (-176i64 * 366 * 24 * 60)..(74 * 366 * 24 * 60),
                ]),
                opt(&["1", "0"]),
                proptest::option::of(proptest::sample::subsequence(
                    &["admins", "guests", "staff"][..],
                    0..=3,
                )),
                opt(&[
                    r#"{"team": ["x"]}"#,
                    r#"{"team": ["z"], "role": ["x"]}"#,
                    r#"{"role": []}"#,
                    r#"["y"]"#,
                    r#"[]"#,
                ]),
            ),
        )
            .prop_map(
                |(
                    (pr, ns, team, ip, rp),
                    (path, method, port, svc, dns, dlabels),
                    (minutes, dbg, groups, org),
                )| {
                    let mut source = serde_json::Map::new();
                    let mut dest = serde_json::Map::new();
                    let mut http = serde_json::Map::new();
                    let mut v = serde_json::Map::new();
                    let s = |x: &str| serde_json::Value::String(x.to_string());
                    if let Some(x) = pr {
                        source.insert("principal".into(), s(x));
                    }
                    if let Some(x) = ns {
                        source.insert("namespace".into(), s(x));
                    }
                    if let Some(x) = team {
                        source.insert("labels".into(), serde_json::json!({"team": x}));
                    }
                    if let Some(x) = ip {
                        source.insert("ip".into(), s(x));
                    }
                    if let Some(x) = path {
                        http.insert("path".into(), s(x));
                    }
                    if let Some(x) = method {
                        http.insert("method".into(), s(x));
                    }
                    if let Some(x) = dbg {
                        http.insert("headers".into(), serde_json::json!({"x-debug": x}));
                    }
                    let mut auth = serde_json::Map::new();
                    if let Some(x) = rp {
                        auth.insert("principal".into(), s(x));
                    }
                    let mut claims = serde_json::Map::new();
                    if let Some(g) = groups {
                        claims.insert("groups".into(), serde_json::json!(g));
                    }
                    if let Some(o) = org.and_then(|o| serde_json::from_str(o).ok()) {
                        claims.insert("org".into(), o);
                    }
                    if !claims.is_empty() {
                        auth.insert("claims".into(), serde_json::Value::Object(claims));
                    }
                    if !auth.is_empty() {
                        http.insert("auth".into(), serde_json::Value::Object(auth));
                    }
                    if let Some(x) = port {
                        dest.insert("port".into(), serde_json::json!(x));
                    }
                    if let Some(x) = svc {
                        dest.insert("service".into(), s(x));
                    }
                    if let Some(l) = dlabels.and_then(|l| serde_json::from_str(l).ok()) {
                        dest.insert("labels".into(), l);
                    }
                    if let Some(x) = dns {
                        dest.insert("namespace".into(), s(x));
                    }
                    if let Some(m) = minutes {
                        let t = jiff::Timestamp::from_second(1_767_225_600 + m * 60).unwrap();
                        v.insert("time".into(), s(&t.to_string()));
                    }
                    v.insert("source".into(), serde_json::Value::Object(source));
                    v.insert("destination".into(), serde_json::Value::Object(dest));
                    v.insert("request".into(), serde_json::Value::Object(http));
                    serde_json::Value::Object(v).to_string()
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Every example really decides differently; every request that decides differently
        /// lies in a reported region.
        #[test]
        fn diff_is_sound_and_complete((old, new) in pair(), reqs in proptest::collection::vec(request(), 40)) {
            let a = PolicySet::parse(&old, "old.mgp").unwrap();
            let b = PolicySet::parse(&new, "new.mgp").unwrap();
            let d = Diff::new(&a, &b);
            let report = d.report();
            prop_assert!(report.exact, "{:?}", report.inexact_because);
            for r in &report.decision_changes {
                let req = Request::from_value(r.example.clone()).unwrap();
                prop_assert_ne!(a.decide_reference(&req).allowed, b.decide_reference(&req).allowed);
            }
            for json in &reqs {
                let req = Request::from_json(json).unwrap();
                if a.decide_reference(&req).allowed != b.decide_reference(&req).allowed {
                    prop_assert!(d.region_of(&req).is_some(), "no region for {}\n{}", json, report.to_text());
                }
            }
        }

        /// Formatting never changes behaviour: diff(x, fmt(x)) is empty.
        #[test]
        fn diff_of_a_policy_and_its_formatting_is_empty((old, _new) in pair()) {
            let formatted = crate::fmt::format_source(&old, "p.mgp").unwrap();
            let a = PolicySet::parse(&old, "p.mgp").unwrap();
            let b = PolicySet::parse(&formatted, "p.mgp").unwrap();
            let report = Diff::new(&a, &b).report().clone();
            prop_assert!(report.decision_changes.is_empty());
            prop_assert!(report.rules.changed.is_empty() && report.rules.added.is_empty());
        }
    }
}
