//! Loading policy files and printing diagnostics.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use meshgate::diagnostic::DiagnosticJson;
use meshgate::{Diagnostic, PolicySet, Severity, SourceFile, Span};

/// Reads and validates policy files as one set. Every unreadable file and every error in the
/// readable ones is reported together.
pub fn policies(paths: &[PathBuf]) -> Result<PolicySet, Vec<Diagnostic>> {
    let mut builder = PolicySet::builder();
    let mut io_errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                builder.add_source(name, text);
            }
            Err(e) => io_errors.push(io_diagnostic(path, &e)),
        }
    }
    match builder.build() {
        Ok(set) if io_errors.is_empty() => Ok(set),
        Ok(set) => {
            io_errors.extend(set.warnings().iter().cloned());
            Err(io_errors)
        }
        Err(diagnostics) => {
            io_errors.extend(diagnostics);
            Err(io_errors)
        }
    }
}

/// A diagnostic for a file that could not be read.
pub fn io_diagnostic(path: &Path, e: &std::io::Error) -> Diagnostic {
    let name = path.display().to_string();
    let file = SourceFile::new(name.clone(), "");
    Diagnostic::error(
        "io",
        format!("cannot read `{name}`: {}", io_reason(e)),
        &file,
        Span::default(),
    )
}

/// An I/O error in lowercase, without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    meshgate_tools::io_reason(e)
}

/// Whether to colour what goes to stdout (`stdout`) or stderr.
pub fn use_colour(stdout: bool) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    }
}

/// A diagnostic rendered as text (header, snippet with a caret, help): in colour with miette when
/// `colour`, else the runtime's plain rendering (the same text without the colours).
pub fn render(d: &Diagnostic, colour: bool) -> String {
    if d.code() == "io" {
        let kind = match d.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        return format!("{kind}[io]: {}\n", d.message());
    }
    if colour {
        meshgate_tools::fancy::render_styled(d, true)
    } else {
        d.render()
    }
}

/// Diagnostics rendered one after another.
pub fn render_all(ds: &[Diagnostic], colour: bool) -> String {
    ds.iter()
        .map(|d| render(d, colour))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `N errors, M warnings` (singular where it applies).
pub fn count_summary(ds: &[Diagnostic]) -> String {
    let errors = ds
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = ds.len().saturating_sub(errors);
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// `1 rule`, `2 rules`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The JSON shape of diagnostics.
pub fn to_json(ds: &[Diagnostic]) -> Vec<DiagnosticJson> {
    ds.iter().map(Diagnostic::to_json).collect()
}

/// Prints policy errors (for commands whose stdout holds something else) to stderr.
pub fn report_policy_errors(ds: &[Diagnostic]) {
    let colour = use_colour(false);
    eprint!("{}", render_all(ds, colour));
    eprintln!("error: the policy set has {}", count_summary(ds));
}

/// Prints a loaded set's warnings to stderr, one line each.
pub fn report_warnings(set: &PolicySet) {
    for w in set.warnings() {
        eprintln!("warning[{}]: {w}", w.code());
    }
}
