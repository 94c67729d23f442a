//! `cargo xtask bench [--quick]`: the side-by-side benchmark (the `meshgate-benches` member).
//!
//! Builds the benchmark binaries in release mode and runs `meshgate-bench run`, which measures
//! every configuration in its own process and writes `target/bench/summary.json`,
//! `target/bench/summary.md` and `target/bench/meshgate.json`. `--quick` is the short version
//! (fewer samples; peers at 100,000 rules only where they are fast enough). Any other argument
//! is passed on to the runner (e.g. `--out DIR`).

use std::path::PathBuf;
use std::process::Command;

use crate::util;

/// Runs the benchmark.
pub fn run(args: &[String]) -> util::Result {
    util::step("build the benchmark (release)", || {
        util::cargo(&["build", "--release", "-p", "meshgate-benches", "--bins"])
    })?;
    let exe = target_dir()
        .join("release")
        .join(format!("meshgate-bench{}", std::env::consts::EXE_SUFFIX));
    let mut cmd = Command::new(&exe);
    cmd.arg("run").args(args);
    if !args.iter().any(|a| a == "--out") {
        cmd.arg("--out").arg(target_dir().join("bench"));
    }
    util::step("run the benchmark", || util::run(&mut cmd))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` or the workspace's `target/`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                util::root().join(dir)
            }
        }
        None => util::root().join("target"),
    }
}
