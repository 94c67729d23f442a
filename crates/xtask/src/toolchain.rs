//! The pinned Rust toolchain (`rust-toolchain.toml`), checked before any task builds.
//!
//! rustup reads `rust-toolchain.toml` and installs the toolchain with its components and targets
//! the first time `cargo` runs in the workspace, so `cargo xtask …` is already running on it by
//! the time this code runs. What is checked here is what rustup cannot enforce: that no
//! `RUSTUP_TOOLCHAIN`, `+toolchain` or `RUSTC` override swapped in another compiler, since
//! every other one tried on this code either miscompiles it in release builds (1.95.0,
//! Debian's rustc-web 1.96.0; see spec/toolchain.md) or was never tested.

use std::process::Command;

use crate::util;

/// The toolchain of `rust-toolchain.toml`. A test checks the two agree.
pub const PINNED: &str = "1.99.1";

/// The `rustc` cargo runs.
fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string())
}

/// Fails unless the compiler cargo runs is the pinned one.
pub fn check() -> util::Result {
    let version = util::output(Command::new(rustc()).arg("--version"))?;
    let found = version.split_whitespace().nth(1).unwrap_or_default();
    if found == PINNED {
        return Ok(());
    }
    Err(format!(
        "this workspace builds with Rust {PINNED} (rust-toolchain.toml), but cargo runs `{}`: \
         unset RUSTUP_TOOLCHAIN and RUSTC, drop any `+toolchain`, and let rustup install {PINNED} \
         (`rustup toolchain install {PINNED}`). Older compilers miscompile this code in \
         release builds (spec/toolchain.md)",
        version.trim()
    ))
}

/// Makes sure the pinned toolchain has `target`'s standard library, adding it with rustup when
/// missing (rustup installs the targets of `rust-toolchain.toml` with the toolchain, but not
/// into a toolchain that was already there).
pub fn ensure_target(target: &str) -> util::Result {
    check()?;
    if has_target(target) {
        return Ok(());
    }
    eprintln!("toolchain: adding the `{target}` standard library to Rust {PINNED}");
    util::run(
        Command::new("rustup")
            .args(["target", "add", target, "--toolchain"])
            .arg(PINNED),
    )?;
    if has_target(target) {
        Ok(())
    } else {
        Err(format!(
            "Rust {PINNED} has no `{target}` standard library after `rustup target add {target}`"
        ))
    }
}

/// Whether the compiler has `target`'s standard library.
fn has_target(target: &str) -> bool {
    let Ok(libdir) =
        util::output(Command::new(rustc()).args(["--print", "target-libdir", "--target", target]))
    else {
        return false;
    };
    std::fs::read_dir(libdir.trim()).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_matches_rust_toolchain_toml() {
        let file = std::fs::read_to_string(util::root().join("rust-toolchain.toml")).unwrap();
        let channel = file
            .lines()
            .find_map(|l| l.trim().strip_prefix("channel = "))
            .unwrap()
            .trim_matches('"');
        assert_eq!(channel, PINNED);
    }

    #[test]
    fn rust_version_is_the_pinned_minor() {
        let file = std::fs::read_to_string(util::root().join("Cargo.toml")).unwrap();
        let rust_version = file
            .lines()
            .find_map(|l| l.trim().strip_prefix("rust-version = "))
            .unwrap()
            .trim_matches('"');
        assert!(
            PINNED.starts_with(rust_version),
            "{rust_version} vs {PINNED}"
        );
    }
}
