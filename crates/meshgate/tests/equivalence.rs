//! The indexed engine decides exactly as the reference evaluator does.
//!
//! Random policy sets (every construct of the language, drawn from small vocabularies so that
//! globs, CIDRs, time windows, roles, deny, audit and dry-run rules overlap) are decided
//! against random requests near their boundaries (values the rules mention, case variants,
//! absent attributes), and the two full decisions must be equal: allowed, deciding rules,
//! audits, dry-run reports and errors. The cases come from `meshgate-testgen`, the generator
//! the `decide_differential` fuzz target uses too; proptest feeds it random bytes and shrinks
//! them.
//!
//! 10,000 cases in the normal run; `MESHGATE_PROPTEST_CASES=1000000` (or
//! `cargo xtask proptest-long`) for a long run.

use meshgate::{Engine, PolicySet, Request};
use meshgate_testgen::{METHODS, PATH_PATTERNS, PATHS, PRINCIPAL_PATTERNS, PRINCIPALS, ROLES};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("MESHGATE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 4_000, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference(bytes in proptest::collection::vec(any::<u8>(), 64..3072)) {
        let (text, requests) = meshgate_testgen::from_bytes(&bytes);
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
