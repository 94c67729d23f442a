//! cargo-fuzz target `cedar_differential`: see [`meshgate_fuzz::cedar_differential`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::cedar_differential(data));
