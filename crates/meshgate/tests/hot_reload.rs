//! Hot reload under load: two threads decide while a third reloads 1,000 times, alternating
//! two versions that decide a probe request differently and, every tenth time, a version that
//! fails to load. No decision mixes versions, nothing panics, and after a failed load the last
//! good version serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use meshgate::{PolicySet, Request, SharedEngine};

const V1: &str = r#"allow "v1-allows" { from namespace "shop" to path "/probe" }"#;
const V2: &str = r#"
allow "v2-allows-all" { from namespace "shop" }
deny "v2-denies" { to path "/probe" }
"#;
const BROKEN: &str = r#"allow "broken" { from namespce "shop" }"#;
const PROBE: &str =
    r#"{"source": {"namespace": "shop"}, "request": {"method": "GET", "path": "/probe"}}"#;

fn builder(text: &str) -> meshgate::PolicySetBuilder {
    let mut b = PolicySet::builder();
    b.add_source("policy.mgp", text);
    b
}

#[test]
fn decisions_never_mix_versions_and_a_failed_load_keeps_the_last_good_one() {
    let v1 = PolicySet::parse(V1, "policy.mgp").unwrap();
    let v2 = PolicySet::parse(V2, "policy.mgp").unwrap();
    let id1 = meshgate::shared::fingerprint(&v1);
    let id2 = meshgate::shared::fingerprint(&v2);
    assert_ne!(id1, id2);

    let shared = Arc::new(SharedEngine::new(&v1));
    assert_eq!(shared.version(), id1);
    let done = Arc::new(AtomicBool::new(false));
    let seen = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let request = Request::from_json(PROBE).unwrap();

    let deciders: Vec<_> = (0..2)
        .map(|_| {
            let (shared, done, request) = (shared.clone(), done.clone(), request.clone());
            let seen = seen.clone();
            let (id1, id2) = (id1.clone(), id2.clone());
            std::thread::spawn(move || {
                let mut decisions = 0usize;
                while !done.load(Ordering::Acquire) || decisions == 0 {
                    shared.decide(&request, |version, d| {
                        if version == id1 {
                            assert!(d.allowed, "v1 allows the probe: {d:?}");
                            assert_eq!(d.reasons.as_slice(), ["v1-allows"]);
                            seen[0].fetch_add(1, Ordering::Relaxed);
                        } else if version == id2 {
                            assert!(!d.allowed, "v2 denies the probe: {d:?}");
                            assert_eq!(d.reasons.as_slice(), ["v2-denies"]);
                            seen[1].fetch_add(1, Ordering::Relaxed);
                        } else {
                            panic!("unknown version {version}");
                        }
                    });
                    // A snapshot held across a reload still decides as its own version.
                    let snapshot = shared.snapshot();
                    let d = snapshot.decide(&request);
                    assert_eq!(d.allowed, snapshot.version() == id1);
                    decisions += 1;
                }
                decisions
            })
        })
        .collect();

    let reloader = {
        let shared = shared.clone();
        let (id1, id2) = (id1.clone(), id2.clone());
        std::thread::spawn(move || {
            for i in 0..1_000 {
                if i % 10 == 9 {
                    let before = shared.version();
                    let errors = shared.reload(&builder(BROKEN)).expect_err("broken policy");
                    assert!(errors.iter().any(|d| d.code() == "unknown-matcher"));
                    assert_eq!(shared.version(), before, "a failed load changes nothing");
                    continue;
                }
                let (text, id) = if i % 2 == 0 { (V2, &id2) } else { (V1, &id1) };
                let version = shared.reload(&builder(text)).expect("good policy");
                assert_eq!(&version, id);
                std::thread::yield_now();
            }
        })
    };
    reloader.join().expect("the reloader does not panic");
    done.store(true, Ordering::Release);
    let decisions: usize = deciders
        .into_iter()
        .map(|t| t.join().expect("no decider panics"))
        .sum();
    assert!(decisions >= 2);
    assert_eq!(
        seen[0].load(Ordering::Relaxed) + seen[1].load(Ordering::Relaxed),
        decisions
    );

    // The last reload (i = 998) loaded V2; i = 999 was a failed load.
    assert_eq!(shared.version(), id2);
    shared.decide(&request, |version, d| {
        assert_eq!(version, id2);
        assert!(!d.allowed);
    });
}

#[test]
fn fingerprints_depend_on_names_texts_and_order() {
    let set = |sources: &[(&str, &str)]| {
        let mut b = PolicySet::builder();
        for (name, text) in sources {
            b.add_source(*name, *text);
        }
        meshgate::shared::fingerprint(&b.build().unwrap())
    };
    let a = r#"allow "a" { to path "/a" }"#;
    let b = r#"allow "b" { to path "/b" }"#;
    assert_eq!(set(&[("x", a)]), set(&[("x", a)]));
    assert_ne!(set(&[("x", a)]), set(&[("y", a)]));
    assert_ne!(set(&[("x", a), ("y", b)]), set(&[("y", b), ("x", a)]));
    assert_eq!(set(&[("x", a)]).len(), 32);
}
