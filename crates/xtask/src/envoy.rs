//! The Envoy filter (`crates/meshgate-envoy`): its `.wasm` builds, the proxy-wasm host tests and
//! the host benchmark.
//!
//! - `cargo xtask envoy`: builds the filter ([`build_filter`], also run by `cargo xtask wasm`).
//! - `cargo xtask envoy --test`: builds it, then runs the host tests ([`test`], a step of
//!   `cargo xtask test`).
//! - `cargo xtask envoy --bench [--quick]`: builds it, then times request-headers calls in the
//!   host at 1,000 and 100,000 rules.
//! - `cargo xtask envoy --e2e`: builds it, then runs it in a real Envoy
//!   ([`crate::envoy_e2e::test`], a step of `cargo xtask test`).
//!
//! Outputs: `target/wasm/wasm32-unknown-unknown/release/meshgate_envoy.wasm` and
//! `target/wasm/wasm32-wasip1/release/meshgate_envoy.wasm`, both with the pinned toolchain.
//!
//! The host tests (`crates/meshgate-envoy/host-tests`, a workspace of its own with its own
//! `Cargo.lock`) load the `.wasm` into `proxy-wasm-host`, a wasmtime-based proxy-wasm host
//! (which needs Rust 1.96 or newer, as the pinned toolchain is), built into
//! `target/envoy-host`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util;
use crate::wasm::{self, Build, Toolchain};

/// The package of the filter.
pub const PACKAGE: &str = "meshgate-envoy";
/// The file cargo writes for it.
pub const WASM_FILE: &str = "meshgate_envoy.wasm";
/// The WASI target, built where the toolchain has it.
const WASI_TARGET: &str = "wasm32-wasip1";

/// `cargo xtask envoy [--test] [--e2e] [--bench [--quick]]`.
pub fn run(args: &[String]) -> util::Result {
    let mut test_only = false;
    let mut e2e = false;
    let mut bench = false;
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--test" => test_only = true,
            "--e2e" => e2e = true,
            "--bench" => bench = true,
            "--quick" => quick = true,
            other => {
                return Err(format!(
                    "unknown option `{other}` (expected --test, --e2e, --bench, --quick)"
                ));
            }
        }
    }
    if test_only || e2e {
        if test_only {
            test()?;
        }
        if e2e {
            crate::envoy_e2e::test()?;
        }
        return Ok(());
    }
    let toolchain = Toolchain::ensure(wasm::TARGET)?;
    let built = build_filter(&toolchain)?;
    if bench {
        let wasm = built.first().ok_or("no filter was built")?;
        let mut cmd = host_cargo()?;
        cmd.args(["run", "--release", "--locked", "--bin", "bench"]);
        host_args(&mut cmd, wasm);
        if quick {
            cmd.args(["--", "--quick"]);
        }
        util::run(&mut cmd)?;
    }
    Ok(())
}

/// Builds the filter for `wasm32-unknown-unknown` and for `wasm32-wasip1`; prints each
/// `.wasm`'s size. Returns their paths, `wasm32-unknown-unknown` first.
pub fn build_filter(toolchain: &Toolchain) -> util::Result<Vec<PathBuf>> {
    // The size-tuned profile (`opt-level = "s"`) of the JS package, which the benchmarks in the
    // filter's README measured (`3` is correct too since the parser fix; see that README).
    let build = Build::default();
    let mut out = Vec::new();
    let dir = toolchain.cargo_build(PACKAGE, wasm::TARGET, &build)?;
    out.push(dir.join(WASM_FILE));
    let wasi = Toolchain::ensure(WASI_TARGET)?;
    let dir = wasi.cargo_build(PACKAGE, WASI_TARGET, &build)?;
    out.push(dir.join(WASM_FILE));
    for path in &out {
        let size = std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        eprintln!(
            "envoy filter: {} ({size} bytes, {:.1} KiB)",
            path.display(),
            size as f64 / 1024.0
        );
    }
    Ok(out)
}

/// Builds the filter and runs the host tests against its `wasm32-unknown-unknown` build.
pub fn test() -> util::Result {
    let toolchain = Toolchain::ensure(wasm::TARGET)?;
    let built = build_filter(&toolchain)?;
    let wasm = built.first().ok_or("no filter was built")?;
    let mut cmd = host_cargo()?;
    cmd.args(["test", "--release", "--locked"]);
    host_args(&mut cmd, wasm);
    cmd.args(["--", "--nocapture"]);
    let start = Instant::now();
    let r = util::run(&mut cmd);
    eprintln!(
        "envoy host tests: {:.1}s (build included)",
        start.elapsed().as_secs_f64()
    );
    r
}

fn host_dir() -> PathBuf {
    util::root()
        .join("crates")
        .join("meshgate-envoy")
        .join("host-tests")
}

/// The manifest, target directory and environment of the host harness.
fn host_args(cmd: &mut Command, wasm: &Path) {
    cmd.arg("--manifest-path")
        .arg(host_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(util::root().join("target").join("envoy-host"))
        .env("MESHGATE_ENVOY_WASM", wasm)
        .env(
            "MESHGATE_CONFORMANCE_CASES",
            util::root().join("spec").join("conformance").join("cases"),
        )
        // Flags meant for the main workspace must not leak into this build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
}

/// The pinned toolchain's cargo (the host harness's own `Cargo.lock` and target directory).
fn host_cargo() -> util::Result<Command> {
    Ok(Command::new(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()),
    ))
}
