//! Running every test file under some paths: what `meshgate test` and Python's
//! `meshgate.run_tests` do, in one place.
//!
//! A file that cannot be read or parsed, or whose policies do not load, becomes a [`FileError`]
//! and the other files still run; only a search that cannot start (a path that does not exist,
//! a directory that cannot be read, no test file at all) is a [`RunError`]. Files that test the
//! same policy files share one loaded set, so coverage of a policy file adds up across them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::files;
use super::{SuiteReport, TestSuite, run};
use crate::coverage::{Coverage, CoverageReport};
use meshgate::{Diagnostic, PolicySet, Severity};

/// A test file that could not be used.
#[derive(Clone, Debug, Serialize)]
pub struct FileError {
    /// The test file.
    pub file: String,
    /// What is wrong.
    pub message: String,
    /// The diagnostics of its policies, when they do not load (listed in JSON only when there
    /// are some).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "diagnostics_json"
    )]
    pub diagnostics: Vec<Diagnostic>,
}

fn diagnostics_json<S: serde::Serializer>(ds: &[Diagnostic], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ds.iter().map(Diagnostic::to_json))
}

/// The result of a run, in the JSON shape of `meshgate test --format json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Every case passed and every file could be used.
    pub ok: bool,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// The files that ran, sorted by path.
    pub suites: Vec<SuiteReport>,
    /// The files that could not be used, sorted by path.
    pub errors: Vec<FileError>,
    /// Coverage, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A path given does not exist.
    #[error("no such file or directory: `{}`", .0.display())]
    Missing(PathBuf),
    /// Searching a directory failed.
    #[error("cannot search for test files: {}", crate::io_reason(.0))]
    Search(std::io::Error),
    /// No test file under the paths.
    #[error("no test files (`*{}`) found in {}", files::SUFFIX, quoted(.0))]
    NoTests(Vec<PathBuf>),
}

fn quoted(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One file's result, handed out as soon as it is known (the CLI prints as it goes).
#[derive(Clone, Copy, Debug)]
pub enum FileEvent<'a> {
    /// The file ran.
    Suite(&'a SuiteReport),
    /// The file could not be used.
    Error(&'a FileError),
}

/// Loads the policy files a test file names, as one set: the diagnostics when they do not load.
pub type Loader<'l> = dyn FnMut(&[PathBuf]) -> Result<PolicySet, Vec<Diagnostic>> + 'l;

/// Runs every test file under `paths` (`.` when empty): files given are taken as they are,
/// directories are searched recursively (see [`files::discover`]); the files run in path
/// order, their policies loaded with [`PolicySet::from_files`].
pub fn run_paths(paths: &[PathBuf], coverage: bool) -> Result<RunReport, RunError> {
    let mut load = |ps: &[PathBuf]| PolicySet::from_files(ps).map_err(|ds| ds.0);
    run_paths_with(paths, coverage, &mut load, &mut |_| {})
}

/// [`run_paths`] with the policies loaded by `load` and each file's result handed to
/// `on_file` as soon as it is known.
pub fn run_paths_with(
    paths: &[PathBuf],
    coverage: bool,
    load: &mut Loader<'_>,
    on_file: &mut dyn FnMut(FileEvent<'_>),
) -> Result<RunReport, RunError> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        return Err(RunError::Missing(missing.clone()));
    }
    let test_files = files::discover(paths).map_err(RunError::Search)?;
    if test_files.is_empty() {
        return Err(RunError::NoTests(paths.to_vec()));
    }
    let mut sets = BTreeMap::new();
    let mut cov = coverage.then(Coverage::new);
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    for file in &test_files {
        match prepare(file, &mut sets, load) {
            Ok((suite, set)) => {
                if let Some(c) = cov.as_mut() {
                    c.add_set(set);
                }
                let report = run(set, &suite, cov.as_mut());
                on_file(FileEvent::Suite(&report));
                suites.push(report);
            }
            Err(e) => {
                on_file(FileEvent::Error(&e));
                errors.push(e);
            }
        }
    }
    let passed = suites.iter().map(|s| s.passed).sum();
    let failed = suites.iter().map(|s| s.failed).sum();
    Ok(RunReport {
        ok: failed == 0 && errors.is_empty(),
        passed,
        failed,
        suites,
        errors,
        coverage: cov.map(|c| c.report()),
    })
}

/// Sets loaded so far, by the policy files they were loaded from.
type Sets = BTreeMap<Vec<PathBuf>, Result<PolicySet, Vec<Diagnostic>>>;

/// One test file: its suite and the set it tests, or why it cannot run.
fn prepare<'s>(
    file: &Path,
    sets: &'s mut Sets,
    load: &mut Loader<'_>,
) -> Result<(TestSuite, &'s PolicySet), FileError> {
    let name = file.display().to_string();
    let error = |message: String| FileError {
        file: name.clone(),
        message,
        diagnostics: Vec::new(),
    };
    let json = std::fs::read_to_string(file)
        .map_err(|e| error(format!("cannot read `{name}`: {}", crate::io_reason(&e))))?;
    let suite =
        TestSuite::from_json(&json, &name).map_err(|e| error(format!("invalid test file {e}")))?;
    let policies = match files::policies_for(file, &suite) {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => {
            return Err(error(format!(
                "no policy files for `{name}`: it names none and its directory has no `*.mgp` file"
            )));
        }
        Err(e) => {
            return Err(error(format!(
                "cannot list the policies next to `{name}`: {}",
                crate::io_reason(&e)
            )));
        }
    };
    let set = sets
        .entry(policies.clone())
        .or_insert_with(|| load(&policies));
    match set {
        Ok(set) => Ok((suite, set)),
        Err(ds) => Err(FileError {
            message: format!(
                "the policies of `{name}` ({}) have {}",
                quoted(&policies),
                count_summary(ds)
            ),
            diagnostics: ds.clone(),
            file: name,
        }),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `N errors, M warnings`.
fn count_summary(ds: &[Diagnostic]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("meshgate-runner-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn runs_files_in_path_order_and_lists_unusable_ones() {
        let dir = scratch("order");
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(
            dir.join("a/p.mgp"),
            "allow \"x\" { from namespace \"n\" }\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("a/ok.test.json"),
            r#"{"cases": [{"name": "n", "request": {"source": {"namespace": "n"}}, "expect": "allow"},
                          {"name": "m", "request": {"source": {"namespace": "m"}}, "expect": "allow"}]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("a/bad.test.json"), "{").unwrap();
        std::fs::write(dir.join("b/p.mgp"), "allow \"x\" { grant nobody }\n").unwrap();
        std::fs::write(dir.join("b/c.test.json"), r#"{"cases": []}"#).unwrap();
        // Skipped: not searched.
        std::fs::write(dir.join("target/t.test.json"), "{").unwrap();
        let mut seen = Vec::new();
        let mut load = |ps: &[PathBuf]| PolicySet::from_files(ps).map_err(|ds| ds.0);
        let report = run_paths_with(std::slice::from_ref(&dir), true, &mut load, &mut |e| {
            seen.push(match e {
                FileEvent::Suite(s) => format!("suite {}", s.file),
                FileEvent::Error(e) => format!("error {}", e.file),
            })
        })
        .unwrap();
        let name = |p: &str| dir.join(p).display().to_string();
        assert_eq!(
            seen,
            [
                format!("error {}", name("a/bad.test.json")),
                format!("suite {}", name("a/ok.test.json")),
                format!("error {}", name("b/c.test.json")),
            ]
        );
        assert_eq!((report.ok, report.passed, report.failed), (false, 1, 1));
        let broken = &report.errors[1];
        assert!(
            broken.message.ends_with("have 1 error, 0 warnings"),
            "{}",
            broken.message
        );
        assert_eq!(broken.diagnostics.len(), 1);
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["errors"][0].get("diagnostics").is_none());
        assert_eq!(json["errors"][1]["diagnostics"][0]["code"], "unknown-role");
        assert!(json["coverage"]["files"][0]["rules"].is_array());
    }

    #[test]
    fn refuses_missing_paths_and_empty_searches() {
        let dir = scratch("empty");
        let missing = dir.join("nowhere");
        let e = run_paths(std::slice::from_ref(&missing), false).unwrap_err();
        assert!(matches!(&e, RunError::Missing(p) if *p == missing));
        let e = run_paths(std::slice::from_ref(&dir), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no test files (`*.test.json`) found in `{}`", dir.display())
        );
    }
}
