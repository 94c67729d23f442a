//! Replays every saved fuzz input (`fuzz/corpus/<target>/`) through its target, so that
//! `cargo test` catches a regression on anything a fuzzing run once found or covered.
//!
//! `cargo xtask fuzz` grows and minimizes the corpora; this test only reads them.

#![expect(
    clippy::panic,
    clippy::expect_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    inputs.sort();
    // A missing or emptied corpus must fail the test, not pass it vacuously.
    assert!(
        inputs.len() >= 10,
        "{}: only {} inputs",
        dir.display(),
        inputs.len()
    );
    for path in &inputs {
        let data = std::fs::read(path).expect("readable input");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} fails on {}", path.display());
    }
    eprintln!("{target}: replayed {} inputs", inputs.len());
}

#[test]
fn parse() {
    replay("parse", meshgate_fuzz::parse);
}

#[test]
fn decide_differential() {
    replay("decide_differential", meshgate_fuzz::decide_differential);
}

#[test]
fn request_json() {
    replay("request_json", meshgate_fuzz::request_json);
}

#[test]
fn fmt_roundtrip() {
    replay("fmt_roundtrip", meshgate_fuzz::fmt_roundtrip);
}

#[test]
fn istio_import() {
    replay("istio_import", meshgate_fuzz::istio_import);
}

#[test]
fn cedar_differential() {
    replay("cedar_differential", meshgate_fuzz::cedar_differential);
}
