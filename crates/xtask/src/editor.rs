//! The editor support (`editors/vscode`): the TextMate grammar's tests, a step of
//! `cargo xtask test`.
//!
//! The tests (`editors/vscode/test/*.test.mjs`) tokenize the project's policies with
//! `vscode-textmate` and `vscode-oniguruma`, the npm packages VS Code itself uses, installed
//! from the folder's `package-lock.json`.

use std::process::Command;

use crate::{util, wasm};

/// Installs the test dependencies and runs `node --test` on the grammar tests.
pub fn test() -> util::Result {
    let dir = util::root().join("editors").join("vscode");
    wasm::npm_ci(&dir, "vscode-textmate")?;
    util::run(
        Command::new("node")
            .args(["--test", "test/grammar.test.mjs"])
            .current_dir(&dir),
    )
}
