//! cargo-fuzz target `fmt_roundtrip`: see [`meshgate_fuzz::fmt_roundtrip`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::fmt_roundtrip(data));
