//! `cargo xtask fuzz`: runs the cargo-fuzz targets of `fuzz/`.
//!
//! cargo-fuzz needs nightly compiler features (sanitizer coverage); `RUSTC_BOOTSTRAP=1` lets
//! the stable toolchain use them, so no nightly is installed. cargo-fuzz itself is
//! cargo-installed when missing. Each target grows its corpus in `fuzz/corpus/<target>/`,
//! which `cargo test` replays (`fuzz/tests/replay.rs`); `--cmin` minimizes the corpora after
//! the run, so that what is committed stays small.
//!
//! ```text
//! cargo xtask fuzz [--seconds N] [--jobs N] [--cmin] [TARGET...]
//! ```

use std::process::Command;

use crate::util;

/// Every target, in the order they run.
pub const TARGETS: [&str; 6] = [
    "parse",
    "decide_differential",
    "request_json",
    "fmt_roundtrip",
    "istio_import",
    "cedar_differential",
];

/// Longest input libFuzzer builds: policies and requests of a few KiB reach every construct,
/// and longer ones only slow the search.
const MAX_LEN: &str = "8192";

pub fn run(args: &[String]) -> util::Result {
    let mut seconds = 60u64;
    let mut jobs = 1u32;
    let mut cmin = false;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => seconds = number(it.next(), "--seconds")?,
            "--jobs" => jobs = number(it.next(), "--jobs")?,
            "--cmin" => cmin = true,
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; targets are {}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    ensure_cargo_fuzz()?;
    for target in &targets {
        util::step(&format!("fuzz {target} for {seconds}s"), || {
            let mut cmd = cargo_fuzz();
            cmd.args(["run", target, "--features", "libfuzzer"]);
            cmd.args([
                "--",
                &format!("-max_total_time={seconds}"),
                &format!("-max_len={MAX_LEN}"),
                "-rss_limit_mb=4096",
                "-print_final_stats=1",
            ]);
            if jobs > 1 {
                cmd.args([format!("-fork={jobs}")]);
            }
            util::run(&mut cmd)
        })?;
        if cmin {
            util::step(&format!("minimize the {target} corpus"), || {
                let mut cmd = cargo_fuzz();
                cmd.args(["cmin", target, "--features", "libfuzzer"]);
                util::run(&mut cmd)
            })?;
        }
    }
    Ok(())
}

fn number<T: std::str::FromStr>(value: Option<&String>, flag: &str) -> util::Result<T> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("`{flag}` takes a number"))
}

fn cargo_fuzz() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.arg("fuzz")
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(util::root());
    cmd
}

fn ensure_cargo_fuzz() -> util::Result {
    let present = cargo_fuzz()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    util::step("cargo install cargo-fuzz", || {
        util::cargo(&["install", "cargo-fuzz", "--locked"])
    })
}
