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
//! ## Toolchain routes
//!
//! [`Toolchain::ensure`] picks one and says which:
//!
//! 1. **rustup**: the toolchain that runs xtask has the `wasm32-unknown-unknown` standard
//!    library installed (`rustup target add wasm32-unknown-unknown`), as on a developer laptop.
//! 2. **debian**: otherwise, Debian's `rustc-web`, `cargo-web`, `rust-web-src`, `rust-web-llvm`
//!    and `lld-22` (installed with apt-get when missing), and the standard library built from
//!    source:
//!    `RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -Zbuild-std=std,panic_abort`.
//!    That rustc links wasm with `rust-lld`, found on the PATH: `rust-web-llvm` installs
//!    `/usr/bin/rust-lld` as a link to `lld-22`, so no `-C linker` is needed.
//!
//! Both build into `target/wasm` (the Debian compiler differs from the workspace's, so sharing
//! `target/` would rebuild everything each time), with a size-tuned release profile set through
//! `CARGO_PROFILE_RELEASE_*` variables so the workspace's profile stays as it is.
//! `wasm-bindgen-cli` is cargo-installed at exactly the version of the `wasm-bindgen` crate in
//! `Cargo.lock`; `wasm-opt` comes from Debian's `binaryen`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util;

/// The target of the JS package (and of the Envoy filter).
pub const TARGET: &str = "wasm32-unknown-unknown";

/// `rust-web-llvm` provides `/usr/bin/rust-lld` (a link to `lld-22`), the linker rustc-web uses
/// for wasm; it is only a recommendation of `rustc-web`, so it is named here.
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
];
/// Debian's `rustc-web`.
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Debian's `cargo-web`.
pub const DEBIAN_CARGO: &str = "/usr/bin/cargo";
/// Where `rust-web-src` puts the standard library's source, which `-Zbuild-std` needs.
const DEBIAN_LIBRARY_SRC: &str = "/usr/lib/rustlib/src/rust/library";

/// The base name of the package's files (`meshgate.js`, `meshgate_bg.wasm`, `meshgate.d.ts`).
const OUT_NAME: &str = "meshgate";

/// How wasm gets built on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The rustup toolchain has the target's standard library.
    Rustup,
    /// Debian's rustc-web/cargo-web, building the standard library from source.
    Debian,
}

/// A toolchain that can build `wasm32-unknown-unknown` code.
#[derive(Clone, Copy, Debug)]
pub struct Toolchain {
    /// The route taken.
    pub route: Route,
}

impl Toolchain {
    /// Finds a toolchain that can build for `target`, installing Debian's when no other is there.
    pub fn ensure(target: &str) -> util::Result<Toolchain> {
        if rustup_has_target(target) {
            eprintln!("wasm toolchain: rustup (the `{target}` standard library is installed)");
            return Ok(Toolchain {
                route: Route::Rustup,
            });
        }
        ensure_debian_toolchain()?;
        let version = util::output(Command::new(DEBIAN_RUSTC).arg("--version"))?;
        eprintln!(
            "wasm toolchain: debian ({}, -Zbuild-std; rustup has no `{target}` standard library)",
            version.trim()
        );
        Ok(Toolchain {
            route: Route::Debian,
        })
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
        let mut cmd = match self.route {
            Route::Rustup => {
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
            }
            Route::Debian => {
                let mut cmd = Command::new(DEBIAN_CARGO);
                cmd.env("RUSTC", DEBIAN_RUSTC)
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .env_remove("RUSTC_WRAPPER")
                    .env_remove("RUSTDOC");
                cmd
            }
        };
        cmd.args(["build", "--release", "--target", target, "-p", package])
            .arg("--target-dir")
            .arg(&target_dir);
        if self.route == Route::Debian {
            cmd.arg("-Zbuild-std=std,panic_abort");
            if !build.std_features.is_empty() {
                cmd.arg(format!(
                    "-Zbuild-std-features={}",
                    build.std_features.join(",")
                ));
            }
        }
        if !build.features.is_empty() {
            cmd.arg("--features").arg(build.features.join(","));
        }
        // With --target, RUSTFLAGS reaches only the target's crates (and, with build-std, the
        // standard library), never build scripts. Always set, so a RUSTFLAGS from the caller's
        // environment cannot make two builds differ.
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
    /// `-Zbuild-std-features` (the Debian route only; rustup's standard library is prebuilt).
    pub std_features: Vec<&'a str>,
    /// `opt-level` of the release profile.
    pub opt_level: &'a str,
}

impl Default for Build<'_> {
    fn default() -> Self {
        Build {
            features: Vec::new(),
            rustflags: Vec::new(),
            std_features: Vec::new(),
            opt_level: "s",
        }
    }
}

/// Installs Debian's `rustc-web`, `cargo-web`, `rust-web-src`, `rust-web-llvm` and `lld-22`
/// when any is missing.
pub fn ensure_debian_toolchain() -> util::Result {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if !missing.is_empty()
        || !Path::new(DEBIAN_LIBRARY_SRC).is_dir()
        || !Path::new("/usr/bin/rust-lld").exists()
    {
        eprintln!("wasm toolchain: installing Debian's {}", missing.join(", "));
        apt_install(DEBIAN_PACKAGES)?;
    }
    Ok(())
}

/// Whether the rustup toolchain running xtask has `target`'s standard library.
pub fn rustup_has_target(target: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Ok(libdir) =
        util::output(Command::new(rustc).args(["--print", "target-libdir", "--target", target]))
    else {
        return false;
    };
    std::fs::read_dir(libdir.trim()).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    })
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ok installed")
        })
}

/// `apt-get update` and `apt-get install -y PACKAGES` (as root: sudo is used when not root and
/// available).
fn apt_install(packages: &[&str]) -> util::Result {
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

/// `wasm-opt` from Debian's binaryen, installed when missing.
fn ensure_wasm_opt() -> util::Result<PathBuf> {
    if !util::have("wasm-opt") {
        apt_install(&["binaryen"])?;
    }
    Ok(PathBuf::from("wasm-opt"))
}

/// Runs `wasm-opt -Oz` in place. The features are those Rust enables by default for
/// `wasm32-unknown-unknown` less reference types, which the build turns off (binaryen 108,
/// Debian 12's, does not read them from the module).
fn wasm_opt(wasm_opt: &Path, file: &Path) -> util::Result {
    let tmp = file.with_extension("opt.wasm");
    util::run(
        Command::new(wasm_opt)
            .arg("-Oz")
            .args([
                "--enable-bulk-memory",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-multivalue",
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

/// Builds `bindings/wasm/pkg/`: the crate, wasm-bindgen for Node and for bundlers, wasm-opt,
/// `package.json`.
fn build_js_package(toolchain: &Toolchain, opts: &Options) -> util::Result {
    let start = Instant::now();
    let build = Build {
        features: opts.features.iter().map(String::as_str).collect(),
        // Without reference types, wasm-bindgen keeps JS values in its JS-side slab instead of
        // an externref table; its table code (`table.fill`) is more than Debian 12's binaryen
        // 108 can read.
        rustflags: vec!["-Ctarget-feature=-reference-types"],
        // Smaller variants of sorting and formatting in the standard library.
        std_features: vec!["optimize_for_size"],
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
    for (target, dir) in [("nodejs", pkg.clone()), ("bundler", pkg.join("bundler"))] {
        util::run(
            Command::new(&bindgen)
                .args(["--target", target, "--out-name", OUT_NAME, "--out-dir"])
                .arg(&dir)
                .arg(&wasm),
        )?;
    }
    let node_wasm = pkg.join(format!("{OUT_NAME}_bg.wasm"));
    let bundler_wasm = pkg.join("bundler").join(format!("{OUT_NAME}_bg.wasm"));
    let bound = file_size(&node_wasm)?;
    if opts.wasm_opt {
        let wasm_opt_bin = ensure_wasm_opt()?;
        // wasm-bindgen usually writes the same module for both targets: then optimize once.
        let same = read(&node_wasm)? == read(&bundler_wasm)?;
        let optimized = wasm_opt(&wasm_opt_bin, &node_wasm).and_then(|()| {
            if same {
                copy(&node_wasm, &bundler_wasm)
            } else {
                wasm_opt(&wasm_opt_bin, &bundler_wasm)
            }
        });
        match optimized {
            Ok(()) => {}
            // rustup's prebuilt standard library has reference types on, whatever RUSTFLAGS
            // say, and wasm-bindgen then writes table code an old binaryen cannot read: keep
            // the module unoptimized there rather than fail. On the Debian route (CI) a
            // failure is a failure.
            Err(e) if toolchain.route == Route::Rustup => {
                eprintln!("warning: wasm-opt failed, the package is not optimized: {e}");
            }
            Err(e) => return Err(e),
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
        "wasm package in {} ({:.1}s, route: {:?})\n  .wasm from rustc: {}\n  after wasm-bindgen: {}\n  {}: {}{}",
        pkg.display(),
        start.elapsed().as_secs_f64(),
        toolchain.route,
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
    if !util::have("node") || !util::have("npm") {
        apt_install(&["nodejs", "npm"])?;
    }
    let dir = package_dir();
    let lock = read(&dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules").join(".meshgate-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) && dir.join("node_modules/.bin/tsc").exists()
    {
        return Ok(());
    }
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir);
    util::run(&mut cmd)?;
    std::fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Builds the package and runs the Node tests (`node --test`): the conformance corpus, the
/// error cases, the bundler build, and a TypeScript type check of a consumer.
pub fn test() -> util::Result {
    let toolchain = Toolchain::ensure(TARGET)?;
    build_js_package(
        &toolchain,
        &Options {
            wasm_opt: true,
            features: None,
            bench: false,
            test: false,
        },
    )?;
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
