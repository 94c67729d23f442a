//! cargo-fuzz target `decide_differential`: see [`meshgate_fuzz::decide_differential`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::decide_differential(data));
