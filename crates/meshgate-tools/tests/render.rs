//! The runtime renders diagnostics as plain text without miette (`Diagnostic::render`); the CLI
//! renders them in colour with miette (`fancy::render_styled`). Without colours the two must be
//! the same text: over the invalid-policy corpus, the hostile corpus, lint warnings of the
//! examples, and random spans (empty, at the end of the file, across lines, with labels) in
//! random text (tabs, CRLF, lone CR, wide and zero-width characters, ANSI escapes).

#![expect(
    clippy::arithmetic_side_effects,
    clippy::string_slice,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics, and it indexes and counts its own fixtures"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshgate::span::FileId;
use meshgate::{Diagnostic, PolicySet, SourceFile, Span};
use meshgate_tools::fancy::render_styled;
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn same(d: &Diagnostic) {
    assert_eq!(d.render(), render_styled(d, false), "{d:?}");
}

/// Checks the first `limit` diagnostics of `text` (errors, or warnings, and lint when there is
/// no limit); their number.
fn check_text(text: &str, name: &str, limit: usize) -> usize {
    let ds = match PolicySet::parse(text, name) {
        Ok(set) => {
            let mut ds = set.warnings().to_vec();
            if limit == usize::MAX {
                ds.extend(meshgate_tools::lint::lint(&set));
            }
            ds
        }
        Err(ds) => ds.0,
    };
    ds.iter().take(limit).for_each(same);
    ds.len().min(limit)
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn corpus_and_examples_render_as_miette_does() {
    let mut paths = Vec::new();
    for dir in [
        "spec/conformance",
        "examples",
        "crates/meshgate-cli/tests/fixtures",
    ] {
        files(&root().join(dir), "mgp", &mut paths);
    }
    let mut n = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        n += check_text(&text, &path.display().to_string(), usize::MAX);
    }
    assert!(n > 100, "only {n} diagnostics");
}

#[test]
fn hostile_corpus_renders_as_miette_does() {
    let path = root().join("spec/conformance/hostile/policies.json");
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in cases.as_array().unwrap() {
        let text = if let Some(t) = case["text"].as_str() {
            t.to_string()
        } else if let Some(parts) = case["parts"].as_array() {
            parts
                .iter()
                .map(|p| match p.as_str() {
                    Some(s) => s.to_string(),
                    None => p["repeat"]
                        .as_str()
                        .unwrap()
                        .repeat(p["times"].as_u64().unwrap() as usize),
                })
                .collect()
        } else {
            let hex = case["bytes_hex"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        // Both renderers scan the text from its start for each diagnostic: a few per case (some
        // cases are megabytes with thousands of errors).
        check_text(&text, case["name"].as_str().unwrap(), 3);
    }
}

const PIECES: &[&str] = &[
    "a", "b", "allow", " ", "  ", "\t", "\n", "\r\n", "\r", "é", "中", "\u{200B}", "\x1b[1m", "😀",
    "\u{301}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn random_spans_render_as_miette_does(
        pieces in proptest::collection::vec(0..PIECES.len(), 0..40),
        a in 0usize..200,
        b in 0usize..200,
        label in proptest::option::of(prop_oneof![Just("here"), Just("two\nlines"), Just("")]),
        help in proptest::option::of(prop_oneof![Just("try this"), Just("a\n\nb")]),
        warning in any::<bool>(),
        message in prop_oneof![Just("bad `x`"), Just("two\nlines"), Just("")],
    ) {
        let text: String = pieces.iter().map(|&i| PIECES[i]).collect();
        let (a, b) = (a % (text.len() + 2), b % (text.len() + 2));
        let file: Arc<SourceFile> = SourceFile::new("random.mgp", text);
        let span = Span::new(FileId(0), a.min(b), a.max(b));
        let mut d = if warning {
            Diagnostic::warning("random", message, &file, span)
        } else {
            Diagnostic::error("random", message, &file, span)
        };
        if let Some(l) = label {
            d = d.with_label(l);
        }
        if let Some(h) = help {
            d = d.with_help(h);
        }
        let ours = d.render();
        // miette asserts on some spans that split a character or lie past the text; the plain
        // renderer must still give something, and agree wherever miette renders.
        let theirs = std::panic::catch_unwind(|| render_styled(&d, false));
        prop_assert!(!ours.is_empty());
        if let Ok(theirs) = theirs {
            prop_assert_eq!(ours, theirs);
        }
    }
}
