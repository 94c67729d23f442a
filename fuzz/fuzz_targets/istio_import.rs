//! cargo-fuzz target `istio_import`: see [`meshgate_fuzz::istio_import`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meshgate_fuzz::istio_import(data));
