//! Python bindings (`bindings/python`): the virtual environment, the build and the tests.
//!
//! - `cargo xtask python [--debug]`: creates or updates `target/python-venv`, builds the
//!   extension with maturin (release unless `--debug`) and installs it there (editable).
//! - `cargo xtask python --wheel`: builds the abi3 wheel into `target/wheels`.
//! - `cargo xtask python --bench`: also installs cedarpy and pycasbin and runs `bench.py`.
//! - `cargo xtask python --test`, and `cargo xtask test` as one of its steps, run [`test`]:
//!   build, then pytest and mypy.
//!
//! The extension builds in its own target directory (`target/python`) so that its build does
//! not thrash the workspace's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// What the tests need in the virtual environment.
const TOOLS: &[&str] = &["maturin>=1.9.4,<2", "pytest>=7", "mypy>=1.8"];
/// What the benchmark needs besides.
const BENCH: &[&str] = &["cedarpy>=4", "casbin>=1.36"];

fn package() -> PathBuf {
    util::root().join("bindings").join("python")
}

fn venv() -> PathBuf {
    util::root().join("target").join("python-venv")
}

pub fn bin(venv: &Path, program: &str) -> PathBuf {
    venv.join("bin").join(program)
}

/// [`ensure_venv_at`] for the bindings' virtual environment.
fn ensure_venv(requirements: &[&str], stamp_name: &str) -> util::Result<PathBuf> {
    ensure_venv_at(venv(), requirements, stamp_name)
}

/// Creates the virtual environment `venv` if needed and installs `requirements` into it, unless
/// a stamp file (`stamp_name` in it) shows they are already there. Returns `venv`.
pub fn ensure_venv_at(
    venv: PathBuf,
    requirements: &[&str],
    stamp_name: &str,
) -> util::Result<PathBuf> {
    let python = bin(&venv, "python");
    if !python.exists() {
        let host = std::env::var("MESHGATE_PYTHON").unwrap_or_else(|_| "python3".to_string());
        if !util::have(&host) {
            return Err(format!(
                "`{host}` not found: CPython 3.9 or newer is needed (set MESHGATE_PYTHON)"
            ));
        }
        util::run(Command::new(&host).arg("-m").arg("venv").arg(&venv))?;
    }
    let stamp = venv.join(stamp_name);
    let wanted = requirements.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(venv);
    }
    util::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
            ])
            .args(requirements),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

/// A command run with the virtual environment active and the extension's own target directory.
fn in_venv(venv: &Path, program: &Path) -> Command {
    let mut cmd = Command::new(program);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![venv.join("bin")];
    paths.extend(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(paths) {
        cmd.env("PATH", joined);
    }
    cmd.env("VIRTUAL_ENV", venv)
        .env(
            "CARGO_TARGET_DIR",
            util::root().join("target").join("python"),
        )
        .env_remove("PYTHONHOME")
        .current_dir(package());
    cmd
}

fn develop(venv: &Path, release: bool) -> util::Result {
    let mut cmd = in_venv(venv, &bin(venv, "maturin"));
    cmd.arg("develop");
    if release {
        cmd.arg("--release");
    }
    util::run(&mut cmd)
}

/// `cargo xtask python [--debug | --wheel | --bench | --test]`. Returns the virtual
/// environment's path.
pub fn build(args: &[String]) -> util::Result<PathBuf> {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let known = ["--debug", "--wheel", "--bench", "--test"];
    if let Some(unknown) = args.iter().find(|a| !known.contains(&a.as_str())) {
        return Err(format!(
            "unknown option `{unknown}` (expected one of {})",
            known.join(", ")
        ));
    }
    if has("--test") {
        test()?;
        return Ok(venv());
    }
    let venv = ensure_venv(TOOLS, ".meshgate-tools")?;
    if has("--wheel") {
        let out = util::root().join("target").join("wheels");
        let mut cmd = in_venv(&venv, &bin(&venv, "maturin"));
        cmd.args(["build", "--release", "--out"]).arg(&out);
        util::run(&mut cmd)?;
        eprintln!("wheel in {}", out.display());
        return Ok(venv);
    }
    develop(&venv, !has("--debug"))?;
    if has("--bench") {
        let venv = ensure_venv(&[TOOLS, BENCH].concat(), ".meshgate-bench")?;
        util::run(in_venv(&venv, &bin(&venv, "python")).arg("bench.py"))?;
    }
    eprintln!("meshgate is installed in {}", venv.display());
    Ok(venv)
}

/// Builds the extension into the virtual environment, then runs pytest and mypy.
pub fn test() -> util::Result {
    let venv = ensure_venv(TOOLS, ".meshgate-tools")?;
    develop(&venv, true)?;
    let cache = util::root().join("target").join("python");
    util::run(
        in_venv(&venv, &bin(&venv, "python"))
            .args(["-m", "pytest", "-q", "-o"])
            .arg(format!(
                "cache_dir={}",
                cache.join("pytest-cache").display()
            )),
    )?;
    util::run(
        in_venv(&venv, &bin(&venv, "python"))
            .args(["-m", "mypy", "--cache-dir"])
            .arg(cache.join("mypy-cache"))
            .args(["python/meshgate", "tests"]),
    )
}
