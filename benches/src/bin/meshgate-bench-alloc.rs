//! meshgate's compile time, memory per rule, allocations per decision and thread scaling,
//! under a counting global allocator (kept out of the timing binary so that counting does not
//! slow the engines being compared). Prints one JSON object per line; see
//! `meshgate_benches::extras`.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "benchmark tool: sums allocation counters"
)]

use std::alloc::System;

use meshgate_benches::extras::{self, AllocSnapshot};
use meshgate_benches::workload::Kind;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn snapshot() -> AllocSnapshot {
    let s = GLOBAL.stats();
    AllocSnapshot {
        allocations: (s.allocations + s.reallocations) as u64,
        // stats_alloc already moves a reallocation's growth or shrinkage into
        // `bytes_allocated` or `bytes_deallocated`; `bytes_reallocated` is the same change
        // again, so adding it (as this did) counted every growth twice.
        live_bytes: s.bytes_allocated as i64 - s.bytes_deallocated as i64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("extras") {
        eprintln!("usage: meshgate-bench-alloc extras [--quick] [WORKLOAD]");
        std::process::exit(2);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let named: Vec<Kind> = args.iter().skip(1).filter_map(|a| Kind::parse(a)).collect();
    let kinds = if named.is_empty() {
        Kind::ALL.to_vec()
    } else {
        named
    };
    if let Err(e) = extras::run(quick, &kinds, &snapshot) {
        eprintln!("meshgate-bench-alloc: {e}");
        std::process::exit(1);
    }
}
