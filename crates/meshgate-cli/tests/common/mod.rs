//! Running the built `meshgate` binary.

#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

/// The path of a file in `examples/mesh`.
pub fn example(name: &str) -> String {
    workspace()
        .join("examples/mesh")
        .join(name)
        .display()
        .to_string()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("meshgate-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cwd: Option<&Path>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshgate"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs `meshgate ARGS` with empty stdin.
pub fn meshgate(args: &[&str]) -> Output {
    run(None, args, None)
}

/// Runs `meshgate ARGS` in `dir`.
pub fn meshgate_in(dir: &Path, args: &[&str]) -> Output {
    run(Some(dir), args, None)
}

/// Runs `meshgate ARGS` with `stdin` as its input.
pub fn meshgate_stdin(args: &[&str], stdin: &str) -> Output {
    run(None, args, Some(stdin))
}

/// Compares `actual` with `tests/expected/NAME`; with `MESHGATE_BLESS=1` in the environment,
/// writes it there instead.
pub fn assert_expected(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(name);
    if std::env::var_os("MESHGATE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with MESHGATE_BLESS=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "output differs from {} (run with MESHGATE_BLESS=1 to update it)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Runs `meshgate ARGS` from the workspace root (so paths in its output are relative).
pub fn meshgate_root(args: &[&str]) -> Output {
    meshgate_in(workspace(), args)
}
