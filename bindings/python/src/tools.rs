//! The policy authoring tools (`meshgate_tools`) for Python: explanations, lint,
//! the semantic diff, policy test files with coverage, and the formatter.
//!
//! Each function returns the core's serde result as plain Python data (the JSON shape the CLI
//! prints with `--format json`), with every decision in it as a `meshgate.Decision`, plus the
//! core's text rendering where there is one. The typed classes around them are in
//! `python/meshgate/tools.py`.

use std::path::PathBuf;

use meshgate::diagnostic::DiagnosticJson;
use meshgate::{PolicySet, Severity};
use meshgate_tools::testing::{self, RunError, TestSuite, files};
use meshgate_tools::{DecisionRecord, diff, explain, fmt, lint};
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
/// `meshgate_tools::testing`): reads it, loads the policies it names (or the `*.mgp` files
/// beside it), decides every case and returns the report as a dict `{file, policies, cases:
/// [{name, passed, failures, decision}], passed, failed}`. A malformed test file raises
/// `ValueError`; policies that do not load raise `PolicyError`.
#[pyfunction]
fn run_test_file<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        PyOSError::new_err(format!(
            "cannot read `{name}`: {}",
            meshgate_tools::io_reason(&e)
        ))
    })?;
    let suite = guard(|| TestSuite::from_json(&text, &name))?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let policies = files::policies_for(&path, &suite).map_err(|e| {
        PyOSError::new_err(format!(
            "cannot list the policies of `{name}`: {}",
            meshgate_tools::io_reason(&e)
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
    let report = py
        .detach(|| guard(|| testing::run_paths(&paths, coverage)))?
        .map_err(|e| match e {
            RunError::Missing(_) => PyFileNotFoundError::new_err(e.to_string()),
            RunError::Search(_) => PyOSError::new_err(e.to_string()),
            RunError::NoTests(_) => PyValueError::new_err(e.to_string()),
        })?;
    let obj = to_python(py, serde_json::to_value(&report))?;
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
