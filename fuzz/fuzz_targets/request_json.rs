//! cargo-fuzz target `request_json`: see [`meshgate_fuzz::request_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::request_json(data));
