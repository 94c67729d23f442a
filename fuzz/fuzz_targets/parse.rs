//! cargo-fuzz target `parse`: see [`meshgate_fuzz::parse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::parse(data));
