//! `cargo xtask bench-envoy [--quick]`: Envoy with no authorization filter, with its native
//! RBAC filter and with meshgate, side by side (`crates/meshgate-envoy/e2e/bench_envoy.py`
//! describes the setup).
//!
//! Builds the filter at `opt-level = "3"` (kept as `target/envoy-bench/meshgate_envoy-3.wasm`)
//! and at the default `"s"`, both through `wasm-opt -Oz` as `cargo xtask envoy` does, and
//! `e2e/noop.wat` (a module that does nothing, compiled with wabt's `wat2wasm`), installs Envoy (as the e2e suite does) and, from Debian, nginx and
//! wrk (and wabt) when they are missing, then runs the benchmark at 10, 1,000, 10,000 and 100,000 rules.
//! Each configuration gets three 5-second wrk runs (the one with the least Envoy CPU time per
//! request is kept). `--quick`: 10 and
//! 1,000 rules, one 3-second run, the `s` build only.
//!
//! Prints one line per run and a Markdown table (the crate README's).

use std::path::PathBuf;
use std::process::Command;

use crate::envoy::{PACKAGE, WASM_FILE, filter_build, optimize};
use crate::util;
use crate::wasm::{self, Toolchain};

fn suite_dir() -> PathBuf {
    util::root()
        .join("crates")
        .join("meshgate-envoy")
        .join("e2e")
}

/// `cargo xtask bench-envoy [--quick]`.
pub fn run(args: &[String]) -> util::Result {
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("unknown option `{other}` (expected --quick)")),
        }
    }
    let toolchain = Toolchain::ensure(wasm::TARGET)?;
    let out = util::root().join("target").join("envoy-bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut builds: Vec<(&str, PathBuf)> = Vec::new();
    if !quick {
        // Built first and copied aside: both levels share `target/wasm`.
        let dir = toolchain.cargo_build(PACKAGE, wasm::TARGET, &filter_build("3"))?;
        let copy = out.join("meshgate_envoy-3.wasm");
        std::fs::copy(dir.join("deps").join(WASM_FILE), &copy)
            .map_err(|e| format!("cannot copy to {}: {e}", copy.display()))?;
        wasm::wasm_opt(&wasm::ensure_wasm_opt()?, &copy)?;
        builds.push(("3", copy));
    }
    let dir = toolchain.cargo_build(PACKAGE, wasm::TARGET, &filter_build("s"))?;
    let default = dir.join(WASM_FILE);
    optimize(&wasm::ensure_wasm_opt()?, &default)?;
    builds.insert(0, ("s", default));
    for (label, path) in &builds {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        eprintln!("filter at opt-level {label}: {size} bytes");
    }

    let envoy = crate::envoy_e2e::ensure_envoy()?;
    let missing: Vec<&str> = ["nginx", "wrk"]
        .into_iter()
        .filter(|p| !util::have(p))
        .collect();
    if !missing.is_empty() {
        wasm::apt_install(&missing)?;
    }
    if !util::have("wat2wasm") {
        wasm::apt_install(&["wabt"])?;
    }
    let noop = out.join("noop.wasm");
    util::run(
        Command::new("wat2wasm")
            .arg(suite_dir().join("noop.wat"))
            .arg("-o")
            .arg(&noop),
    )?;
    let load = util::output(Command::new("cat").arg("/proc/loadavg")).unwrap_or_default();
    eprintln!("load average before: {}", load.trim());

    let venv = envoy
        .parent()
        .and_then(|p| p.parent())
        .ok_or("no virtual environment")?
        .to_path_buf();
    let mut cmd = Command::new(crate::python::bin(&venv, "python"));
    cmd.arg("bench_envoy.py")
        .arg("--noop")
        .arg(&noop)
        .current_dir(suite_dir())
        .env("MESHGATE_ENVOY_BIN", &envoy)
        .env("MESHGATE_BENCH_JSON", out.join("results.json"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (label, path) in &builds {
        cmd.arg("--wasm").arg(format!("{label}={}", path.display()));
    }
    if quick {
        cmd.args(["--rules", "10,1000", "--seconds", "3", "--repeat", "1"]);
    }
    util::run(&mut cmd)?;
    let load = util::output(Command::new("cat").arg("/proc/loadavg")).unwrap_or_default();
    eprintln!("load average after: {}", load.trim());
    Ok(())
}
