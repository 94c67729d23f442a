//! Every engine decides every benchmark request, and a spread of probe requests around the
//! rules, exactly as meshgate's reference evaluator does, at 10 and 1,000 rules. A broken
//! translation fails here (and so in `cargo xtask test`).

#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

use meshgate_benches::agree;
use meshgate_benches::engines::{EngineKind, supports};
use meshgate_benches::workload::{Effect, Kind, Workload};

fn all_engines_agree(kind: Kind, n: usize, probe_rules: usize) {
    let w = Workload::generate(kind, n);
    let reqs = w.probe_requests(probe_rules);
    let jsons: Vec<String> = reqs.iter().map(|r| r.to_json()).collect();
    let reference = agree::reference(&w, &jsons).unwrap();
    assert!(
        reference.iter().any(|a| *a) && reference.iter().any(|a| !*a),
        "probes should get both decisions"
    );
    for engine in EngineKind::ALL {
        if supports(engine, kind).is_err() {
            continue;
        }
        if let Err(e) = agree::check(engine, &w, &reqs) {
            panic!("{e}");
        }
    }
}

#[test]
fn mesh_10() {
    all_engines_agree(Kind::Mesh, 10, 10);
}

#[test]
fn flat_10() {
    all_engines_agree(Kind::Flat, 10, 10);
}

#[test]
fn rbac_10() {
    all_engines_agree(Kind::Rbac, 10, 10);
}

#[test]
fn mesh_1000() {
    all_engines_agree(Kind::Mesh, 1_000, 6);
}

#[test]
fn flat_1000() {
    all_engines_agree(Kind::Flat, 1_000, 6);
}

#[test]
fn rbac_1000() {
    all_engines_agree(Kind::Rbac, 1_000, 6);
}

macro_rules! agreement_tests {
    ($($name:ident: $kind:expr, $n:expr, $probes:expr;)*) => {
        $(
            #[test]
            fn $name() {
                all_engines_agree($kind, $n, $probes);
            }
        )*
    };
}

agreement_tests! {
    labels_10: Kind::Labels, 10, 10;
    labels_1000: Kind::Labels, 1_000, 6;
    globs_10: Kind::Globs, 10, 10;
    globs_1000: Kind::Globs, 1_000, 6;
    cidrs_10: Kind::Cidrs, 10, 10;
    cidrs_1000: Kind::Cidrs, 1_000, 6;
    claims_10: Kind::Claims, 10, 10;
    claims_1000: Kind::Claims, 1_000, 6;
    hosts_10: Kind::Hosts, 10, 10;
    hosts_1000: Kind::Hosts, 1_000, 6;
    select_10: Kind::Select, 10, 10;
    select_1000: Kind::Select, 1_000, 6;
    istio_10: Kind::Istio, 10, 10;
    istio_1000: Kind::Istio, 1_000, 6;
}

/// `istio`'s `default allow` opens what no allow rule claims, and only that.
#[test]
fn istio_default_opens_unclaimed_workloads() {
    let w = Workload::generate(Kind::Istio, 1_000);
    let mut req = w.requests[0].req.clone();
    req.path = "/anything".to_string();
    assert!(!w.decide(&req), "a claimed workload is closed");
    req.dst_labels = vec![("app".to_string(), "unclaimed".to_string())];
    assert!(w.decide(&req), "an unclaimed app is open");
    req.dst_labels.clear();
    assert!(
        !w.decide(&req),
        "no labels: every selection of the namespace is unknown"
    );
    req.dst_namespace = Some("elsewhere".to_string());
    assert!(w.decide(&req), "a namespace no rule selects is open");
    req.path = "/admin/x".to_string();
    req.dst_namespace = w.requests[0].req.dst_namespace.clone();
    req.dst_labels = vec![("app".to_string(), "unclaimed".to_string())];
    assert!(!w.decide(&req), "the namespace's deny rule still applies");
}

/// The conditions, deny rules and role includes are exercised: a small mesh set has
/// conditioned rules whose requests flip with the condition, and every workload's `deny`
/// request would be allowed without its deny rules.
#[test]
fn requests_get_the_intended_decisions() {
    for kind in Kind::ALL {
        for n in [10, 1_000, 10_000] {
            let w = Workload::generate(kind, n);
            let names: Vec<(&str, bool)> = w.requests.iter().map(|r| (r.name, r.allowed)).collect();
            assert_eq!(
                names,
                [("last", true), ("none", false), ("deny", false)],
                "{kind} {n}"
            );
            let deny = &w.requests[2].req;
            let mut without_denies = w.clone();
            without_denies.rules.retain(|r| r.effect == Effect::Allow);
            assert!(
                without_denies.decide(deny),
                "{kind} {n}: the deny request should match an allow rule too"
            );
            let denies = w.rules.iter().filter(|r| r.effect == Effect::Deny).count();
            assert!(denies >= 1, "{kind} {n}");
            if n >= 1_000 {
                let share = denies as f64 / n as f64;
                assert!((0.02..0.08).contains(&share), "{kind} {n}: {share}");
            }
        }
    }
    let w = Workload::generate(Kind::Mesh, 1_000);
    let conds = w.rules.iter().filter(|r| r.cond.is_some()).count();
    assert!(
        (50..150).contains(&conds),
        "about 10% of mesh rules have a condition: {conds}"
    );
}

#[test]
fn generation_is_deterministic() {
    for kind in Kind::ALL {
        let a = Workload::generate(kind, 1_000);
        let b = Workload::generate(kind, 1_000);
        assert_eq!(a.rules, b.rules);
        assert_eq!(a.rules.len(), 1_000);
    }
}
