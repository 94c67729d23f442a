//! The web playground (`web/playground`).
//!
//! - `cargo xtask playground`: builds the JS package, then the playground's static files into
//!   `target/playground` (serve that directory with any static server).
//! - `cargo xtask playground --test`, and a step of `cargo xtask test`: builds it and runs its
//!   browser tests (`web/playground/tests`) in headless Chromium, Debian's, installed when
//!   missing; npm's `playwright-core` drives it and downloads no browser. The tests write a
//!   screenshot to `target/playground-screenshot.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{util, wasm};

/// The browser the tests drive.
const CHROMIUM: &str = "/usr/bin/chromium";

fn dir() -> PathBuf {
    util::root().join("web").join("playground")
}

/// `cargo xtask playground [--test]`.
pub fn run(args: &[String]) -> util::Result {
    match args {
        [] => build(true),
        [flag] if flag == "--test" => test(true),
        _ => Err("usage: cargo xtask playground [--test]".to_string()),
    }
}

/// Builds the playground; the JS package first when `package` (else it must be built).
fn build(package: bool) -> util::Result {
    if package {
        wasm::js_package()?;
    }
    wasm::npm_ci(&dir(), "esbuild")?;
    util::run(Command::new("node").arg("build.mjs").current_dir(dir()))
}

/// Builds the playground and runs its browser tests. `cargo xtask test` passes
/// `package = false`: its wasm step has just built the JS package.
pub fn test(package: bool) -> util::Result {
    build(package)?;
    if !Path::new(CHROMIUM).exists() {
        wasm::apt_install(&["chromium"])?;
    }
    util::run(
        Command::new("node")
            .args(["--test", "tests/"])
            .env("CHROMIUM", CHROMIUM)
            .current_dir(dir()),
    )
}
