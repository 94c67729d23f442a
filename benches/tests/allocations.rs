//! `Engine::decide` allocates nothing for a request built from borrowed strings.
//!
//! Its own test binary, with one test, so the counting global allocator sees only this test.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test code: sums allocation counters"
)]

use std::alloc::System;

use meshgate_benches::extras::{
    AllocSnapshot, allocations_per_decision, borrowed_labels, borrowed_request,
};
use meshgate_benches::workload::{Kind, Workload};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn snapshot() -> AllocSnapshot {
    let s = GLOBAL.stats();
    AllocSnapshot {
        allocations: (s.allocations + s.reallocations) as u64,
        live_bytes: 0,
    }
}

#[test]
fn decisions_do_not_allocate() {
    // The counter sees allocations at all: parsing a JSON request allocates.
    let before = snapshot().allocations;
    let parsed =
        meshgate::Request::from_json(r#"{"source": {"principal": "spiffe://td/ns/a/sa/b"}}"#)
            .unwrap();
    assert!(
        snapshot().allocations > before,
        "the counting allocator counts nothing"
    );
    drop(parsed);

    for kind in Kind::ALL {
        let w = Workload::generate(kind, 1_000);
        let set = meshgate::PolicySet::parse(&meshgate_benches::render::meshgate(&w), "bench.mgp")
            .unwrap();
        let engine = meshgate::Engine::new(&set);
        let mut reqs = w.probe_requests(20);
        reqs.truncate(60);
        let labels: Vec<_> = reqs.iter().map(borrowed_labels).collect();
        let built: Vec<_> = reqs
            .iter()
            .zip(&labels)
            .map(|(r, l)| borrowed_request(r, l))
            .collect();
        let allocs = allocations_per_decision(&engine, &built, &snapshot);
        for ((r, a), b) in reqs.iter().zip(&allocs).zip(&built) {
            assert_eq!(
                *a,
                0,
                "{kind}: {a} allocations deciding {} (decision {:?})",
                r.to_json(),
                engine.decide(b)
            );
        }
    }
}
