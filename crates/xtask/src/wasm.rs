//! WebAssembly builds: the toolchain, and the JavaScript/TypeScript package (`bindings/wasm`).
//!
//! - `cargo xtask wasm [--no-wasm-opt] [--features F,…]`: builds `bindings/wasm/pkg/` (Node,
//!   CommonJS) and `bindings/wasm/pkg/bundler/` (ES module for bundlers), and prints the sizes.
//!   It also builds the Envoy filter (`crate::envoy::build_filter`).
//! - `cargo xtask wasm --bench`: also runs `bindings/wasm/bench.mjs`.
//! - `cargo xtask wasm --test`: only [`test`].
//! - [`test`], a step of `cargo xtask test`: builds the package, installs the npm development
//!   dependencies (TypeScript) and runs the Node tests.
//!
//! ## Toolchain
//!
//! The pinned toolchain of `rust-toolchain.toml` ([`crate::toolchain`]), with its prebuilt
//! `wasm32-unknown-unknown` standard library (installed by rustup with the toolchain, or by
//! [`Toolchain::ensure`] when missing). It builds into `target/wasm`, with a size-tuned release
//! profile set through `CARGO_PROFILE_RELEASE_*` variables so that the workspace's own profile
//! stays as it is and the two builds do not evict each other's artifacts.
//!
//! The module keeps WebAssembly reference types on, as rustup's standard library has them:
//! turning them off only for our crates (`-Ctarget-feature=-reference-types`) gave a mixed
//! module in which wasm-bindgen's externref pass failed ("failed to find the
//! `__wbindgen_externref_table_dealloc` function"). wasm-bindgen then writes table code
//! (`table.fill`), which `wasm-opt` reads from binaryen 116 on: it comes from npm's `binaryen`
//! (a development dependency of `bindings/wasm`, pinned by its `package-lock.json`), not from
//! Debian 12's binaryen 108.
//!
//! Debian's `rustc-web` (Rust 1.96.0, with `-Zbuild-std`) was the route before rustup could
//! install targets here. It is refused rather than kept as a fallback: that compiler has the
//! release miscompile the pin avoids (spec/toolchain.md).
//!
//! `wasm-bindgen-cli` is cargo-installed at exactly the version of the `wasm-bindgen` crate in
//! `Cargo.lock`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util;

/// The target of the JS package (and of the Envoy filter).
pub const TARGET: &str = "wasm32-unknown-unknown";

/// The base name of the package's files (`meshgate.js`, `meshgate_bg.wasm`, `meshgate.d.ts`).
const OUT_NAME: &str = "meshgate";

/// The pinned toolchain, checked to have a target's standard library.
#[derive(Clone, Copy, Debug)]
pub struct Toolchain {
    _checked: (),
}

impl Toolchain {
    /// The pinned toolchain with `target`'s standard library, added with rustup when missing.
    pub fn ensure(target: &str) -> util::Result<Toolchain> {
        crate::toolchain::ensure_target(target)?;
        Ok(Toolchain { _checked: () })
    }

    /// `cargo build --release --target TARGET -p PACKAGE` into `target/wasm`, with the
    /// size-tuned profile. Returns the directory holding the artifacts
    /// (`target/wasm/TARGET/release`).
    pub fn cargo_build(
        &self,
        package: &str,
        target: &str,
        build: &Build<'_>,
    ) -> util::Result<PathBuf> {
        let target_dir = util::root().join("target").join("wasm");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
        cmd.args(["build", "--release", "--target", target, "-p", package])
            .arg("--target-dir")
            .arg(&target_dir);
        if !build.features.is_empty() {
            cmd.arg("--features").arg(build.features.join(","));
        }
        // With --target, RUSTFLAGS reaches only the target's crates, never build scripts.
        // Always set, so a RUSTFLAGS from the caller's environment cannot make two builds
        // differ.
        cmd.env("RUSTFLAGS", build.rustflags.join(" "))
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        for (k, v) in [
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", build.opt_level),
            ("CARGO_PROFILE_RELEASE_LTO", "true"),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
            ("CARGO_PROFILE_RELEASE_DEBUG", "0"),
            ("CARGO_PROFILE_RELEASE_PANIC", "abort"),
            ("CARGO_PROFILE_RELEASE_STRIP", "debuginfo"),
        ] {
            cmd.env(k, v);
        }
        let start = Instant::now();
        util::run(&mut cmd)?;
        eprintln!(
            "cargo build ({package}, {target}): {:.1}s",
            start.elapsed().as_secs_f64()
        );
        Ok(target_dir.join(target).join("release"))
    }
}

/// What a wasm build varies besides package and target.
#[derive(Clone, Debug)]
pub struct Build<'a> {
    /// Cargo features of the package.
    pub features: Vec<&'a str>,
    /// `RUSTFLAGS` for the target's crates.
    pub rustflags: Vec<&'a str>,
    /// `opt-level` of the release profile.
    pub opt_level: &'a str,
}

impl Default for Build<'_> {
    fn default() -> Self {
        Build {
            features: Vec::new(),
            rustflags: Vec::new(),
            opt_level: "s",
        }
    }
}

/// `apt-get update` and `apt-get install -y PACKAGES` (as root: sudo is used when not root and
/// available).
pub fn apt_install(packages: &[&str]) -> util::Result {
    let sudo = !is_root() && util::have("sudo");
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        util::run(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args)
}

fn is_root() -> bool {
    util::output(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

/// The version of a package in `Cargo.lock`.
fn locked_version(name: &str) -> util::Result<String> {
    let lock_path = util::root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let needle = format!("name = \"{name}\"\n");
    lock.split("[[package]]")
        .find(|block| block.trim_start().starts_with(needle.trim_end()) && block.contains(&needle))
        .and_then(|block| block.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or_else(|| format!("`{name}` is not in Cargo.lock"))
}

/// `wasm-bindgen` at exactly the version in Cargo.lock, cargo-installed when it is not.
fn ensure_wasm_bindgen() -> util::Result<PathBuf> {
    let version = locked_version("wasm-bindgen")?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    let installed = cargo_home.join("bin").join("wasm-bindgen");
    let matches = |program: &Path| {
        util::output(Command::new(program).arg("--version"))
            .is_ok_and(|v| v.split_whitespace().nth(1) == Some(version.as_str()))
    };
    if matches(&installed) {
        return Ok(installed);
    }
    eprintln!("installing wasm-bindgen-cli {version} (the version of wasm-bindgen in Cargo.lock)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let install = |locked: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["install", "wasm-bindgen-cli", "--version", &version]);
        if locked {
            cmd.arg("--locked");
        }
        util::run(&mut cmd)
    };
    // `--locked` first. Its lock file can name a dependency version the registry no longer
    // serves (a yank); then resolve afresh within the same semver ranges.
    if let Err(e) = install(true) {
        eprintln!("cargo install --locked failed ({e}); retrying without --locked");
        install(false)?;
    }
    if matches(&installed) {
        Ok(installed)
    } else {
        Err(format!(
            "{} is not wasm-bindgen {version} after installing it",
            installed.display()
        ))
    }
}

/// `wasm-opt` of npm's `binaryen`, a development dependency of the JS package (installed with
/// the others when missing).
pub fn ensure_wasm_opt() -> util::Result<PathBuf> {
    ensure_npm_deps()?;
    Ok(package_dir()
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt"))
}

/// Runs `wasm-opt -Oz` in place, with the features rustc enables by default for
/// `wasm32-unknown-unknown` (wasm-bindgen drops the section that would tell them).
pub fn wasm_opt(wasm_opt: &Path, file: &Path) -> util::Result {
    let tmp = file.with_extension("opt.wasm");
    util::run(
        Command::new(wasm_opt)
            .arg("-Oz")
            .args([
                "--enable-bulk-memory",
                "--enable-bulk-memory-opt",
                "--enable-call-indirect-overlong",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-multivalue",
                "--enable-reference-types",
            ])
            .arg(file)
            .arg("-o")
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, file).map_err(|e| format!("cannot replace {}: {e}", file.display()))
}

/// Where the JS package's sources live.
pub fn package_dir() -> PathBuf {
    util::root().join("bindings").join("wasm")
}

struct Options {
    wasm_opt: bool,
    features: Option<String>,
    bench: bool,
    test: bool,
}

fn parse_args(args: &[String]) -> util::Result<Options> {
    let mut opts = Options {
        wasm_opt: true,
        features: None,
        bench: false,
        test: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-wasm-opt" => opts.wasm_opt = false,
            "--bench" => opts.bench = true,
            "--test" => opts.test = true,
            "--features" => {
                opts.features = Some(it.next().ok_or("`--features` needs a value")?.clone());
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` (expected --no-wasm-opt, --features F, --bench, --test)"
                ));
            }
        }
    }
    Ok(opts)
}

/// `cargo xtask wasm [--no-wasm-opt] [--features F] [--bench]`.
pub fn build(args: &[String]) -> util::Result {
    let opts = parse_args(args)?;
    if opts.test {
        return test();
    }
    let toolchain = Toolchain::ensure(TARGET)?;
    build_js_package(&toolchain, &opts)?;
    crate::envoy::build_filter(&toolchain)?;
    if opts.bench {
        let mut cmd = Command::new("node");
        cmd.arg("bench.mjs").current_dir(package_dir());
        util::run(&mut cmd)?;
    }
    Ok(())
}

/// Builds the JS package (`bindings/wasm/pkg/`, optimized) alone, without the Envoy filter.
pub fn js_package() -> util::Result {
    let toolchain = Toolchain::ensure(TARGET)?;
    build_js_package(
        &toolchain,
        &Options {
            wasm_opt: true,
            features: None,
            bench: false,
            test: false,
        },
    )
}

/// Builds `bindings/wasm/pkg/`: the crate, wasm-bindgen for Node, for bundlers and for
/// browsers without a bundler (`pkg/web`, which the playground loads), wasm-opt,
/// `package.json`.
fn build_js_package(toolchain: &Toolchain, opts: &Options) -> util::Result {
    let start = Instant::now();
    let build = Build {
        features: opts.features.iter().map(String::as_str).collect(),
        rustflags: Vec::new(),
        opt_level: "s",
    };
    let out = toolchain.cargo_build("meshgate-wasm", TARGET, &build)?;
    let wasm = out.join("meshgate_wasm.wasm");
    let raw = file_size(&wasm)?;
    let bindgen = ensure_wasm_bindgen()?;
    let pkg = package_dir().join("pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg)
            .map_err(|e| format!("cannot remove {}: {e}", pkg.display()))?;
    }
    let targets = [
        ("nodejs", pkg.clone()),
        ("bundler", pkg.join("bundler")),
        ("web", pkg.join("web")),
    ];
    for (target, dir) in targets {
        util::run(
            Command::new(&bindgen)
                .args(["--target", target, "--out-name", OUT_NAME, "--out-dir"])
                .arg(&dir)
                .arg(&wasm),
        )?;
    }
    let node_wasm = pkg.join(format!("{OUT_NAME}_bg.wasm"));
    let others = [
        pkg.join("bundler").join(format!("{OUT_NAME}_bg.wasm")),
        pkg.join("web").join(format!("{OUT_NAME}_bg.wasm")),
    ];
    let bound = file_size(&node_wasm)?;
    if opts.wasm_opt {
        let wasm_opt_bin = ensure_wasm_opt()?;
        // wasm-bindgen usually writes the same module for every target: then optimize once.
        let node = read(&node_wasm)?;
        wasm_opt(&wasm_opt_bin, &node_wasm)?;
        for other in &others {
            if read(other)? == node {
                copy(&node_wasm, other)?;
            } else {
                wasm_opt(&wasm_opt_bin, other)?;
            }
        }
    }
    write_package_json(&pkg)?;
    copy(&package_dir().join("README.md"), &pkg.join("README.md"))?;
    let optimized = file_size(&node_wasm)?;
    let gzipped = util::output(
        Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -9 -c '{}' | wc -c", node_wasm.display())),
    )
    .ok()
    .and_then(|s| s.trim().parse::<u64>().ok());
    eprintln!(
        "wasm package in {} ({:.1}s)\n  .wasm from rustc: {}\n  after wasm-bindgen: {}\n  {}: {}{}",
        pkg.display(),
        start.elapsed().as_secs_f64(),
        kib(raw),
        kib(bound),
        if opts.wasm_opt {
            "after wasm-opt -Oz"
        } else {
            "not optimized (--no-wasm-opt)"
        },
        kib(optimized),
        gzipped
            .map(|g| format!(" ({} gzipped)", kib(g)))
            .unwrap_or_default(),
    );
    Ok(())
}

fn write_package_json(pkg: &Path) -> util::Result {
    let version = env!("CARGO_PKG_VERSION");
    let json = format!(
        r#"{{
  "name": "meshgate",
  "version": "{version}",
  "description": "meshgate, an embeddable authorization engine for service meshes, compiled to WebAssembly",
  "license": "Apache-2.0",
  "main": "./{OUT_NAME}.js",
  "types": "./{OUT_NAME}.d.ts",
  "exports": {{
    ".": {{
      "types": "./{OUT_NAME}.d.ts",
      "node": "./{OUT_NAME}.js",
      "default": "./bundler/{OUT_NAME}.js"
    }},
    "./package.json": "./package.json"
  }},
  "files": [
    "{OUT_NAME}.js",
    "{OUT_NAME}.d.ts",
    "{OUT_NAME}_bg.wasm",
    "{OUT_NAME}_bg.wasm.d.ts",
    "bundler/",
    "README.md"
  ],
  "sideEffects": [
    "./bundler/{OUT_NAME}.js"
  ],
  "engines": {{
    "node": ">=18"
  }}
}}
"#
    );
    let bundler = format!(
        "{{\n  \"type\": \"module\",\n  \"main\": \"./{OUT_NAME}.js\",\n  \"types\": \"./{OUT_NAME}.d.ts\",\n  \"sideEffects\": [\"./{OUT_NAME}.js\"]\n}}\n"
    );
    write(&pkg.join("package.json"), &json)?;
    write(&pkg.join("bundler").join("package.json"), &bundler)
}

/// Installs the npm development dependencies (TypeScript) from `package-lock.json` when
/// `node_modules` does not match it.
fn ensure_npm_deps() -> util::Result {
    npm_ci(&package_dir(), "tsc")
}

/// Installs Node and npm from Debian when missing, then runs `npm ci` in `dir` unless
/// `node_modules` already matches its `package-lock.json` (a stamp records the lock it was
/// installed from) and has `.bin/<marker>` or the package `marker`.
pub fn npm_ci(dir: &Path, marker: &str) -> util::Result {
    if !util::have("node") || !util::have("npm") {
        apt_install(&["nodejs", "npm"])?;
    }
    let lock = read(&dir.join("package-lock.json"))?;
    let modules = dir.join("node_modules");
    let stamp = modules.join(".meshgate-lock");
    let installed = modules.join(".bin").join(marker).exists() || modules.join(marker).exists();
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) && installed {
        return Ok(());
    }
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir);
    util::run(&mut cmd)?;
    std::fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Builds the package and runs the Node tests (`node --test`): the conformance corpus, the
/// error cases, the bundler build, and a TypeScript type check of a consumer.
pub fn test() -> util::Result {
    js_package()?;
    ensure_npm_deps()?;
    let dir = package_dir();
    let tests = dir.join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .map_err(|e| format!("cannot read {}: {e}", tests.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs files in {}", tests.display()));
    }
    let mut cmd = Command::new("node");
    cmd.arg("--test").args(&files).current_dir(&dir);
    util::run(&mut cmd)
}

fn file_size(path: &Path) -> util::Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read(path: &Path) -> util::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> util::Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> util::Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn kib(bytes: u64) -> String {
    format!("{bytes} bytes ({:.1} KiB)", bytes as f64 / 1024.0)
}
