//! The policy authoring tools of the core (`meshgate::tools`) for Python: explanations, lint,
//! the semantic diff, policy test files with coverage, and the formatter.
//!
//! Each function returns the core's serde result as plain Python data (the JSON shape the CLI
//! prints with `--format json`), with every decision in it as a `meshgate.Decision`, plus the
//! core's text rendering where there is one. The typed classes around them are in
//! `python/meshgate/tools.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meshgate::diagnostic::DiagnosticJson;
use meshgate::tools::coverage::{Coverage, CoverageReport};
use meshgate::tools::testing::{self, SuiteReport, TestSuite, files};
use meshgate::tools::{DecisionRecord, diff, explain, fmt, lint};
use meshgate::{Diagnostics, PolicySet, Severity};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::{InternalError, PyDecision, PyPolicySet, guard, policy_error, request_arg};

/// A report as Python data, through its JSON text (the shape every front end shows).
fn to_python(py: Python<'_>, value: serde_json::Result<Value>) -> PyResult<Bound<'_, PyAny>> {
    let json = value
        .and_then(|v| serde_json::to_string(&v))
        .map_err(|e| InternalError::new_err(format!("cannot convert a report: {e}")))?;
    py.import("json")?.call_method1("loads", (json,))
}

/// Puts `record` at `obj[key]` as a `meshgate.Decision`, in place of its dict.
fn set_decision(obj: &Bound<'_, PyAny>, key: &str, record: &DecisionRecord) -> PyResult<()> {
    let decision = Py::new(obj.py(), PyDecision::from(record.clone()))?;
    obj.set_item(key, decision)
}

/// Explains the decision `policy_set` gives `request` (a dict or a `Request`): the
/// explanation's JSON shape and its text, as `meshgate explain` prints them.
#[pyfunction]
#[pyo3(name = "_explain")]
fn explain_raw<'py>(
    py: Python<'py>,
    policy_set: &Bound<'py, PyPolicySet>,
    request: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, String)> {
    let request = request_arg(request)?;
    let set = &policy_set.get().inner;
    let e = guard(|| explain::explain(set, &request))?;
    let obj = to_python(py, serde_json::to_value(&e))?;
    set_decision(&obj, "decision", &e.decision)?;
    Ok((obj, e.to_text()))
}

/// Lints a policy set: its load warnings and the lint warnings, in file and position order, as
/// `meshgate lint --format json` prints them. `ok` is false only for warnings under
/// `deny_warnings`.
#[pyfunction]
#[pyo3(name = "_lint", signature = (policy_set, deny_warnings = false))]
fn lint_raw<'py>(
    py: Python<'py>,
    policy_set: &Bound<'py, PyPolicySet>,
    deny_warnings: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let set = &policy_set.get().inner;
    let diagnostics = py.detach(|| {
        guard(|| {
            let mut ds = set.warnings().to_vec();
            ds.extend(lint::lint(set));
            ds.sort_by_key(|d| (d.span().file, d.span().start));
            ds
        })
    })?;
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Warning)
        .count();
    // The shape of `meshgate lint --format json`.
    let report = serde_json::to_value(diagnostics_json(&diagnostics)).map(|ds| {
        json!({
            "ok": !(deny_warnings && warnings > 0),
            "warnings": warnings,
            "diagnostics": ds,
        })
    });
    to_python(py, report)
}

/// Compares two policy sets: the report's JSON shape and its text, as `meshgate diff` prints
/// them. The GIL is released while the regions are searched.
#[pyfunction]
#[pyo3(name = "_diff")]
fn diff_raw<'py>(
    py: Python<'py>,
    old: &Bound<'py, PyPolicySet>,
    new: &Bound<'py, PyPolicySet>,
) -> PyResult<(Bound<'py, PyAny>, String)> {
    let (a, b) = (&old.get().inner, &new.get().inner);
    let report = py.detach(|| guard(|| diff::diff(a, b)))?;
    let obj = to_python(py, serde_json::to_value(&report))?;
    let regions = obj.get_item("decision_changes")?;
    for (i, region) in report.decision_changes.iter().enumerate() {
        let item = regions.get_item(i)?;
        set_decision(&item, "before", &region.before)?;
        set_decision(&item, "after", &region.after)?;
    }
    Ok((obj, report.to_text()))
}

/// Formats policy text in the canonical layout, keeping comments. Raises `PolicyError` when the
/// text does not parse.
#[pyfunction]
#[pyo3(signature = (text, name = "policy.mgp"))]
fn format_source(py: Python<'_>, text: &str, name: &str) -> PyResult<String> {
    guard(|| fmt::format_source(text, name))?.map_err(|d| policy_error(py, &d))
}

/// Runs a policy test file of the CLI's format (`*.test.json`, see
/// `meshgate::tools::testing`): reads it, loads the policies it names (or the `*.mgp` files
/// beside it), decides every case and returns the report as a dict `{file, policies, cases:
/// [{name, passed, failures, decision}], passed, failed}`. A malformed test file raises
/// `ValueError`; policies that do not load raise `PolicyError`.
#[pyfunction]
fn run_test_file<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| PyOSError::new_err(format!("cannot read `{name}`: {}", io_reason(&e))))?;
    let suite = guard(|| TestSuite::from_json(&text, &name))?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let policies = files::policies_for(&path, &suite).map_err(|e| {
        PyOSError::new_err(format!(
            "cannot list the policies of `{name}`: {}",
            io_reason(&e)
        ))
    })?;
    let set = py
        .detach(|| guard(|| PolicySet::from_files(&policies)))?
        .map_err(|d| policy_error(py, &d))?;
    let report = py.detach(|| guard(|| testing::run(&set, &suite, None)))?;
    to_python(py, serde_json::to_value(&report))
}

fn diagnostics_json<'a>(
    ds: impl IntoIterator<Item = &'a meshgate::Diagnostic>,
) -> Vec<DiagnosticJson> {
    ds.into_iter().map(|d| d.to_json()).collect()
}

/// A test file or policy set that could not be used.
struct FileError {
    file: String,
    message: String,
    diagnostics: Vec<DiagnosticJson>,
}

/// The result of a test run.
struct RunReport {
    ok: bool,
    passed: usize,
    failed: usize,
    suites: Vec<SuiteReport>,
    errors: Vec<FileError>,
    coverage: Option<CoverageReport>,
}

impl RunReport {
    /// The shape of `meshgate test --format json [--coverage]`.
    fn to_json(&self) -> serde_json::Result<Value> {
        let mut errors = Vec::with_capacity(self.errors.len());
        for e in &self.errors {
            let mut v = serde_json::Map::new();
            v.insert("file".into(), json!(e.file));
            v.insert("message".into(), json!(e.message));
            // Listed only when there are some, as the CLI does.
            if !e.diagnostics.is_empty() {
                v.insert("diagnostics".into(), serde_json::to_value(&e.diagnostics)?);
            }
            errors.push(serde_json::Value::Object(v));
        }
        let mut v = serde_json::Map::new();
        v.insert("ok".into(), json!(self.ok));
        v.insert("passed".into(), json!(self.passed));
        v.insert("failed".into(), json!(self.failed));
        v.insert("suites".into(), serde_json::to_value(&self.suites)?);
        v.insert("errors".into(), serde_json::Value::Array(errors));
        if let Some(c) = &self.coverage {
            v.insert("coverage".into(), serde_json::to_value(c)?);
        }
        Ok(serde_json::Value::Object(v))
    }
}

/// Why a test run could not start.
enum RunError {
    Missing(PathBuf),
    Search(std::io::Error),
    NoTests(Vec<PathBuf>),
}

/// An I/O error in lowercase, without the OS error number (as the CLI words it).
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
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
fn count_summary(ds: &Diagnostics) -> String {
    let errors = ds.errors().count();
    let warnings = ds.iter().count().saturating_sub(errors);
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// One test file: its suite and the set it tests, or why it cannot run.
fn prepare<'s>(
    file: &Path,
    sets: &'s mut BTreeMap<Vec<PathBuf>, Result<PolicySet, Diagnostics>>,
) -> Result<(TestSuite, &'s PolicySet), FileError> {
    let name = file.display().to_string();
    let error = |message: String| FileError {
        file: name.clone(),
        message,
        diagnostics: Vec::new(),
    };
    let json = std::fs::read_to_string(file)
        .map_err(|e| error(format!("cannot read `{name}`: {}", io_reason(&e))))?;
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
                io_reason(&e)
            )));
        }
    };
    let set = sets
        .entry(policies.clone())
        .or_insert_with(|| PolicySet::from_files(&policies));
    match set {
        Ok(set) => Ok((suite, set)),
        Err(ds) => {
            let names: Vec<String> = policies
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect();
            Err(FileError {
                message: format!(
                    "the policies of `{name}` ({}) have {}",
                    names.join(", "),
                    count_summary(ds)
                ),
                diagnostics: diagnostics_json(ds.iter()),
                file: name,
            })
        }
    }
}

/// Runs every test file under `paths`, as `meshgate test` does: files that cannot be read or
/// whose policies do not load are listed in `errors`, not raised.
fn run_paths(paths: &[PathBuf], coverage: bool) -> Result<RunReport, RunError> {
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
        match prepare(file, &mut sets) {
            Ok((suite, set)) => {
                if let Some(c) = cov.as_mut() {
                    c.add_set(set);
                }
                suites.push(testing::run(set, &suite, cov.as_mut()));
            }
            Err(e) => errors.push(e),
        }
    }
    let passed: usize = suites.iter().map(|s| s.passed).sum();
    let failed: usize = suites.iter().map(|s| s.failed).sum();
    Ok(RunReport {
        ok: failed == 0 && errors.is_empty(),
        passed,
        failed,
        suites,
        errors,
        coverage: cov.map(|c| c.report()),
    })
}

/// Coverage as `meshgate test --coverage` prints it, and as an lcov tracefile.
type CoverageTexts = (String, String);

/// Runs the policy test files (`*.test.json`) under `paths` (files, or directories searched
/// recursively), optionally with coverage: the report's JSON shape, as `meshgate test --format
/// json [--coverage]` prints it, and with coverage its text and lcov renderings.
#[pyfunction]
#[pyo3(name = "_run_tests", signature = (paths, coverage = false))]
fn run_tests_raw<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    coverage: bool,
) -> PyResult<(Bound<'py, PyAny>, Option<CoverageTexts>)> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    };
    let report = py
        .detach(|| guard(|| run_paths(&paths, coverage)))?
        .map_err(|e| match e {
            RunError::Missing(p) => PyFileNotFoundError::new_err(format!(
                "no such file or directory: `{}`",
                p.display()
            )),
            RunError::Search(e) => {
                PyOSError::new_err(format!("cannot search for test files: {}", io_reason(&e)))
            }
            RunError::NoTests(ps) => {
                let places: Vec<String> = ps.iter().map(|p| format!("`{}`", p.display())).collect();
                PyValueError::new_err(format!(
                    "no test files (`*{}`) found in {}",
                    files::SUFFIX,
                    places.join(", ")
                ))
            }
        })?;
    let obj = to_python(py, report.to_json())?;
    let suites = obj.get_item("suites")?;
    for (i, suite) in report.suites.iter().enumerate() {
        let cases = suites.get_item(i)?.get_item("cases")?;
        for (j, case) in suite.cases.iter().enumerate() {
            set_decision(&cases.get_item(j)?, "decision", &case.decision)?;
        }
    }
    let texts = report.coverage.as_ref().map(|c| (c.to_text(), c.to_lcov()));
    Ok((obj, texts))
}

/// Adds the tools to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(explain_raw, m)?)?;
    m.add_function(wrap_pyfunction!(lint_raw, m)?)?;
    m.add_function(wrap_pyfunction!(diff_raw, m)?)?;
    m.add_function(wrap_pyfunction!(format_source, m)?)?;
    m.add_function(wrap_pyfunction!(run_test_file, m)?)?;
    m.add_function(wrap_pyfunction!(run_tests_raw, m)?)?;
    Ok(())
}
