//! meshgate and Cedar decide random policy sets alike.
//!
//! Random policy sets and requests in the fragment both languages express
//! (`meshgate_benches::oracle`, documented in `spec/cedar.md`) are decided by meshgate's
//! `Engine` (which must equal `PolicySet::decide_reference`) and by `cedar_policy::Authorizer`;
//! `allowed` must be the same. proptest supplies the bytes the oracle's one generator reads
//! (the `cedar_differential` fuzz target supplies libFuzzer's) and shrinks a failure.
//!
//! 3,000 cases by default; `MESHGATE_ORACLE_CASES=100000` for a long run.

use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("MESHGATE_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 4_000,
        // Report the minimal case; do not write regression files into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn meshgate_agrees_with_cedar(bytes in proptest::collection::vec(any::<u8>(), 16..1024)) {
        meshgate_benches::oracle::check_bytes(&bytes);
    }
}

/// Exhaustive over the pattern vocabularies: every path pattern against every path, every
/// principal pattern against every principal, through both engines.
#[test]
fn patterns_agree_exhaustively() {
    use meshgate_benches::oracle::ast::{Attr, Case, Effect, Matcher, Req, Rule, Val};
    use meshgate_benches::oracle::vocab::{PATH_PATTERNS, PATHS, PRINCIPAL_PATTERNS, PRINCIPALS};
    let grids: [(Attr, &[&'static str], &[&'static str]); 2] = [
        (Attr::Path, PATH_PATTERNS, PATHS),
        (Attr::Principal, PRINCIPAL_PATTERNS, PRINCIPALS),
    ];
    for (attr, patterns, values) in grids {
        for p in patterns {
            for negated in [false, true] {
                let m = Matcher {
                    negated,
                    attr,
                    values: vec![Val::S(p)],
                };
                let (from, to) = if attr == Attr::Path {
                    (vec![], vec![vec![m]])
                } else {
                    (vec![vec![m]], vec![])
                };
                let rule = Rule {
                    effect: Effect::Allow,
                    from,
                    to,
                    when: vec![],
                    unless: vec![],
                };
                let requests = values
                    .iter()
                    .map(|v| {
                        if attr == Attr::Path {
                            Req {
                                path: Some(v),
                                ..Req::default()
                            }
                        } else {
                            Req {
                                principal: Some(v),
                                ..Req::default()
                            }
                        }
                    })
                    .collect();
                meshgate_benches::oracle::check_case(Case {
                    rules: vec![rule],
                    requests,
                });
            }
        }
    }
}

/// The generator is not vacuous: over fixed pseudo-random inputs, both engines see allowed and
/// denied requests in fair proportion (a translation that made everything deny would agree
/// trivially).
#[test]
fn cases_reach_both_decisions() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let (mut allowed, mut total) = (0u32, 0u32);
    for _ in 0..300 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let mut u = arbitrary::Unstructured::new(&bytes);
        let case = meshgate_benches::oracle::generate::case(&mut u).unwrap();
        let rendered = meshgate_benches::oracle::render(case);
        for (m, c) in meshgate_benches::oracle::decide_all(&rendered).unwrap() {
            assert_eq!(m, c, "{}\n{}", rendered.mgp, rendered.cedar);
            allowed += u32::from(m);
            total += 1;
        }
    }
    eprintln!("{allowed} of {total} requests allowed");
    assert!(
        allowed * 10 > total && allowed * 10 < total * 9,
        "{allowed} of {total} allowed"
    );
}
