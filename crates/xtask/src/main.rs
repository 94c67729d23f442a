//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `test`: every test of the project (format, lints, API docs, Rust tests, the core's tests
//!   again in release, conformance corpus, the bindings' suites), installing what it needs.
//! - `bench [--quick]`: the side-by-side benchmark against the peer engines.
//! - `bench-envoy [--quick]`: Envoy without a filter, with its RBAC filter and with meshgate.
//! - `wasm`: the WebAssembly builds (JS package and Envoy filter).
//! - `envoy [--test] [--e2e] [--bench]`: the Envoy filter, its proxy-wasm host tests, its tests
//!   in a real Envoy, and the host benchmark.
//! - `serve --test`: `meshgate serve` behind Envoy (gRPC and HTTP ext_authz), nginx and Caddy.
//! - `bench-serve [--seconds N] [--soak [--rate N]]`: `meshgate serve`'s load benchmark and soak.
//! - `python`: builds the Python extension into its virtual environment.
//! - `proptest-long`: the equivalence property with 1,000,000 cases.
//! - `editor`: the tests of the editor support (`editors/vscode`), also a step of `test`.
//! - `playground [--test]`: the web playground into `target/playground`; with `--test`, its
//!   browser tests (a step of `test`).
//! - `fuzz [--seconds N] [--cmin] [TARGET...]`: the cargo-fuzz targets (`cargo test` replays
//!   their corpora).

mod bench;
mod bench_envoy;
mod editor;
mod envoy;
mod envoy_e2e;
mod fuzz;
mod playground;
mod python;
mod serve;
mod toolchain;
mod util;
mod wasm;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r),
        None => ("help", &[][..]),
    };
    if task != "help"
        && let Err(e) = toolchain::check()
    {
        eprintln!("xtask {task}: {e}");
        return ExitCode::FAILURE;
    }
    let result = match task {
        "test" => test(rest),
        "bench" => bench::run(rest),
        "bench-envoy" => bench_envoy::run(rest),
        "wasm" => wasm::build(rest),
        "envoy" => envoy::run(rest),
        "serve" => serve::run(rest),
        "bench-serve" => serve::bench(rest),
        "python" => python::build(rest).map(|_| ()),
        "proptest-long" => proptest_long(),
        "fuzz" => fuzz::run(rest),
        "editor" => editor::test(),
        "playground" => playground::run(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <test|bench [--quick]|bench-envoy [--quick]|wasm|envoy [--test] [--e2e] [--bench]|serve --test|bench-serve [--seconds N] [--soak [--rate N]]|python|editor|playground [--test]|proptest-long|fuzz [--seconds N] [--cmin] [TARGET...]>"
            );
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every test. Steps run in order and the first failure stops the run.
fn test(args: &[String]) -> util::Result {
    let only_rust = args.iter().any(|a| a == "--rust-only");
    util::step("cargo fmt --check", || {
        util::cargo(&["fmt", "--all", "--", "--check"])
    })?;
    util::step("cargo clippy", || {
        util::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    // The public API's docs are its guide: broken or private links fail the run.
    util::step("cargo doc", || {
        util::cargo_env(
            &[
                "doc",
                "--no-deps",
                "-p",
                "meshgate",
                "-p",
                "meshgate-tools",
                "-p",
                "meshgate-istio",
            ],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    util::step("cargo test", || util::cargo(&["test", "--workspace"]))?;
    // The core's semantics and positions again in the release profile, which is what users,
    // the Python wheel and the Envoy filter run: a compiler has miscompiled this code in
    // release builds only (spec/toolchain.md).
    util::step("cargo test --release (core)", || {
        util::cargo(&[
            "test",
            "--release",
            "-p",
            "meshgate",
            "--test",
            "conformance",
            "--test",
            "hostile",
            "--test",
            "equivalence",
            "--test",
            "spans",
        ])
    })?;
    if only_rust {
        return Ok(());
    }
    util::step("python bindings", python::test)?;
    util::step("wasm bindings", wasm::test)?;
    util::step("editor grammar", editor::test)?;
    util::step("web playground in Chromium", || playground::test(false))?;
    util::step("envoy filter in a proxy-wasm host", envoy::test)?;
    util::step("envoy filter in Envoy 1.40", envoy_e2e::test)?;
    util::step("meshgate serve behind Envoy, nginx and Caddy", serve::test)?;
    Ok(())
}

fn proptest_long() -> util::Result {
    util::cargo_env(
        &[
            "test",
            "--release",
            "-p",
            "meshgate",
            "--test",
            "equivalence",
            "--",
            "--nocapture",
        ],
        &[("MESHGATE_PROPTEST_CASES", "1000000")],
    )
}
