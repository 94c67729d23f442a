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
    // The size-tuned profile (`opt-level = "s"`) of the JS package: `3` costs as much CPU per
    // request in Envoy and is larger once stripped (`cargo xtask bench-envoy`; the filter's
    // README).
    let build = filter_build("s");
    let mut out = Vec::new();
    let dir = toolchain.cargo_build(PACKAGE, wasm::TARGET, &build)?;
    out.push(dir.join(WASM_FILE));
    let wasi = Toolchain::ensure(WASI_TARGET)?;
    let dir = wasi.cargo_build(PACKAGE, WASI_TARGET, &build)?;
    out.push(dir.join(WASM_FILE));
    let wasm_opt = wasm::ensure_wasm_opt()?;
    for path in &out {
        optimize(&wasm_opt, path)?;
    }
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

/// Runs `wasm-opt -Oz` (npm's binaryen, as for the JS package) on the module cargo wrote into
/// `path`: about 15% smaller, and no slower in Envoy (`cargo xtask bench-envoy`). Cargo links its
/// output into `path` again on every build, so the optimized module is kept beside it
/// (`*.wasm-opt`) with a stamp of the module it came from, and optimized again only when cargo
/// built a new one.
pub fn optimize(wasm_opt: &Path, path: &Path) -> util::Result {
    let cached = path.with_extension("wasm-opt");
    let stamp_path = path.with_extension("wasm-opt-source");
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let stamp = format!("{} {:?}", meta.len(), meta.modified().ok());
    if std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) && cached.exists() {
        return copy_over(&cached, path);
    }
    let tmp = path.with_extension("opt-input.wasm");
    copy_over(path, &tmp)?;
    wasm::wasm_opt(wasm_opt, &tmp)?;
    std::fs::rename(&tmp, &cached)
        .map_err(|e| format!("cannot write {}: {e}", cached.display()))?;
    copy_over(&cached, path)?;
    // The stamp names the module cargo wrote, which `path` no longer is: record it as it was.
    std::fs::write(&stamp_path, stamp)
        .map_err(|e| format!("cannot write {}: {e}", stamp_path.display()))
}

/// Replaces `to` with a copy of `from` (never writing through a hard link cargo made).
fn copy_over(from: &Path, to: &Path) -> util::Result {
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// The filter's build at an opt-level: without the `name` section (a third of the module; a trap
/// then names functions by index), which keeps the module under 1 MiB.
pub fn filter_build(opt_level: &str) -> Build<'_> {
    Build {
        rustflags: vec!["-Cstrip=symbols"],
        opt_level,
        ..Build::default()
    }
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
