//! Python bindings for meshgate: the `meshgate._native` extension module.
//!
//! The Python package `meshgate` (in `python/meshgate`) re-exports everything defined here and
//! adds the pure-Python parts (`meshgate.testing`, the pytest plugin). The types:
//!
//! - `PolicySet`: parsed and validated policy text (`from_source`, `from_sources`, `from_files`).
//! - `Engine`: decides requests; shared freely between threads.
//! - `Request`: a request read once (from a dict or JSON text) and reused.
//! - `Decision`: the answer, with `allowed`, `reasons`, `audits`, `dry_run` and `errors`.
//! - `PolicyError`, `RequestError` (both `ValueError`s) and `InternalError` (a `RuntimeError`,
//!   raised instead of letting a bug in the core reach Python as a panic).
//! - The authoring tools (explain, lint, diff, policy tests with coverage, fmt): [`tools`].
//! - The Istio AuthorizationPolicy importer: [`istio`].
// No panics in the glue (the workspace's no-panic lints, Cargo.toml): every exception is an
// `#[expect]` with its reason.

mod convert;
mod fast;
mod istio;
mod tools;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use meshgate_tools::DecisionRecord;

create_exception!(
    meshgate,
    PolicyError,
    PyValueError,
    "Policy text that cannot be loaded. `diagnostics` holds every error (and warning) found, \
     each a dict with severity, code, message, file, line, column, end_line, end_column, help \
     and snippet."
);
create_exception!(
    meshgate,
    RequestError,
    PyValueError,
    "A request that cannot be read. `field` names the offending field (e.g. `source.ip`), \
     empty for the request as a whole."
);
create_exception!(
    meshgate,
    InternalError,
    PyRuntimeError,
    "A bug in meshgate: the core failed where it never should. Please report it."
);

/// Runs `f`, turning a panic into an `InternalError` rather than letting it unwind into Python.
fn guard<T>(f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        InternalError::new_err(format!(
            "meshgate failed internally: {what} (this is a bug; please report it)"
        ))
    })
}

fn diagnostic_dict<'py>(py: Python<'py>, d: &meshgate::Diagnostic) -> PyResult<Bound<'py, PyDict>> {
    let j = d.to_json();
    let dict = PyDict::new(py);
    dict.set_item(
        "severity",
        match j.severity {
            meshgate::Severity::Error => "error",
            meshgate::Severity::Warning => "warning",
        },
    )?;
    dict.set_item("code", j.code)?;
    dict.set_item("message", j.message)?;
    dict.set_item("file", j.file)?;
    dict.set_item("line", j.line)?;
    dict.set_item("column", j.column)?;
    dict.set_item("end_line", j.end_line)?;
    dict.set_item("end_column", j.end_column)?;
    dict.set_item("help", j.help)?;
    dict.set_item("snippet", j.snippet)?;
    Ok(dict)
}

fn diagnostic_list<'a, 'py>(
    py: Python<'py>,
    diagnostics: impl Iterator<Item = &'a meshgate::Diagnostic>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for d in diagnostics {
        list.append(diagnostic_dict(py, d)?)?;
    }
    Ok(list)
}

/// A `PolicyError` whose message shows every diagnostic and whose `diagnostics` lists them.
fn policy_error(py: Python<'_>, diagnostics: &meshgate::Diagnostics) -> PyErr {
    policy_error_titled(py, "invalid policy", diagnostics)
}

/// [`policy_error`] with another first line (`TITLE: N errors`).
fn policy_error_titled(py: Python<'_>, title: &str, diagnostics: &meshgate::Diagnostics) -> PyErr {
    let errors = diagnostics.errors().count();
    let header = match errors {
        1 => format!("{title}: 1 error"),
        n => format!("{title}: {n} errors"),
    };
    let message = format!("{header}\n\n{}", diagnostics.render());
    let err = PolicyError::new_err(message);
    let set = diagnostic_list(py, diagnostics.iter())
        .and_then(|list| err.value(py).setattr("diagnostics", list));
    match set {
        Ok(()) => err,
        Err(e) => e,
    }
}

fn request_error(py: Python<'_>, field: &str, message: &str) -> PyErr {
    let err = RequestError::new_err(format!("invalid request: {message}"));
    let value = err.value(py);
    match value
        .setattr("field", field)
        .and_then(|()| value.setattr("index", py.None()))
    {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// Reads a request dict: through the core's request builder ([`fast`]), or, for anything it is
/// not sure of, as JSON text through the core's JSON reader.
fn request_from_dict(obj: &Bound<'_, PyAny>) -> PyResult<meshgate::Request<'static>> {
    let py = obj.py();
    if obj.cast::<PyDict>().is_err() {
        let ty = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(PyTypeError::new_err(format!(
            "a request must be a dict or a meshgate.Request, not `{ty}`"
        )));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        // The fast reader feeds the core's request builder, and takes only what the JSON
        // reader would accept as it is (limits included); anything else goes through the JSON
        // reader, for the same errors.
        if let Some(request) = guard(|| fast::request(d))? {
            return Ok(request);
        }
    }
    let json = convert::to_json(obj).map_err(|e| request_error(py, &e.field, &e.message))?;
    guard(|| meshgate::Request::from_json(&json))?
        .map_err(|e| request_error(py, &e.field, &e.message))
}

/// A request, given either as a `Request` (shared, no copy) or a dict (read now).
fn request_arg(obj: &Bound<'_, PyAny>) -> PyResult<Arc<meshgate::Request<'static>>> {
    if let Ok(r) = obj.cast::<PyRequest>() {
        return Ok(Arc::clone(&r.get().inner));
    }
    request_from_dict(obj).map(Arc::new)
}

/// A validated set of policies: rules and roles from one or more sources.
#[pyclass(frozen, module = "meshgate", name = "PolicySet")]
struct PyPolicySet {
    inner: meshgate::PolicySet,
}

#[pymethods]
impl PyPolicySet {
    /// Parses and validates one source, named `name` in diagnostics.
    #[staticmethod]
    #[pyo3(signature = (text, name = "policy.mgp"))]
    fn from_source(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let parsed = py.detach(|| guard(|| meshgate::PolicySet::parse(text, name)))?;
        parsed
            .map(|inner| PyPolicySet { inner })
            .map_err(|d| policy_error(py, &d))
    }

    /// Parses and validates several sources as one set, in order: a dict `{name: text}` or an
    /// iterable of `(name, text)` pairs.
    #[staticmethod]
    fn from_sources(py: Python<'_>, sources: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut builder = meshgate::PolicySet::builder();
        let pairs: Vec<(String, String)> = if let Ok(d) = sources.cast::<PyDict>() {
            d.iter()
                .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
                .collect::<PyResult<_>>()?
        } else {
            sources
                .try_iter()?
                .map(|item| item?.extract::<(String, String)>())
                .collect::<PyResult<_>>()?
        };
        for (name, text) in pairs {
            builder.add_source(name, text);
        }
        let built = py.detach(|| guard(|| builder.build()))?;
        built
            .map(|inner| PyPolicySet { inner })
            .map_err(|d| policy_error(py, &d))
    }

    /// Reads, parses and validates files (paths or `os.PathLike`s) as one set, in the order given.
    #[staticmethod]
    fn from_files(py: Python<'_>, paths: &Bound<'_, PyAny>) -> PyResult<Self> {
        if paths.cast::<PyString>().is_ok() {
            return Err(PyTypeError::new_err(
                "`paths` must be a list of paths, not a string",
            ));
        }
        let paths: Vec<PathBuf> = paths
            .try_iter()?
            .map(|p| p?.extract::<PathBuf>())
            .collect::<PyResult<_>>()?;
        let loaded = py.detach(|| guard(|| meshgate::PolicySet::from_files(&paths)))?;
        loaded
            .map(|inner| PyPolicySet { inner })
            .map_err(|d| policy_error(py, &d))
    }

    /// The rule ids, in set order.
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.inner
            .rules()
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    }

    /// The role names, sorted.
    #[getter]
    fn role_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.roles().keys().cloned().collect();
        names.sort();
        names
    }

    /// The names of the sources, in order.
    #[getter]
    fn files(&self) -> Vec<String> {
        self.inner
            .files()
            .iter()
            .map(|f| f.name().to_string())
            .collect()
    }

    /// Warnings found while loading (the set loaded despite them), as diagnostic dicts.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        diagnostic_list(py, self.inner.warnings().iter())
    }

    fn __len__(&self) -> usize {
        self.inner.rules().len()
    }

    fn __repr__(&self) -> String {
        let files: Vec<String> = self
            .inner
            .files()
            .iter()
            .map(|f| format!("'{}'", f.name()))
            .collect();
        format!(
            "<meshgate.PolicySet rules={} files=[{}]>",
            self.inner.rules().len(),
            files.join(", ")
        )
    }
}

/// A decision engine compiled from a `PolicySet`. Immutable and thread-safe.
#[pyclass(frozen, module = "meshgate", name = "Engine")]
struct PyEngine {
    inner: meshgate::Engine,
    rules: usize,
}

#[pymethods]
impl PyEngine {
    #[new]
    fn new(py: Python<'_>, policy_set: &Bound<'_, PyPolicySet>) -> PyResult<Self> {
        let set = policy_set.get();
        let inner = py.detach(|| guard(|| meshgate::Engine::new(&set.inner)))?;
        Ok(PyEngine {
            inner,
            rules: set.inner.rules().len(),
        })
    }

    /// Decides one request: a dict in the JSON shape, or a `Request`.
    fn decide(&self, request: &Bound<'_, PyAny>) -> PyResult<PyDecision> {
        if let Ok(r) = request.cast::<PyRequest>() {
            let r = r.get();
            return guard(|| PyDecision::from(&self.inner.decide(&r.inner)));
        }
        let request = request_from_dict(request)?;
        guard(|| PyDecision::from(&self.inner.decide(&request)))
    }

    /// Decides many requests, releasing the GIL while deciding. Returns the decisions in order.
    fn decide_many(
        &self,
        py: Python<'_>,
        requests: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyDecision>> {
        let mut read = Vec::new();
        for (i, item) in requests.try_iter()?.enumerate() {
            let item = item?;
            match request_arg(&item) {
                Ok(r) => read.push(r),
                Err(e) if e.is_instance_of::<RequestError>(py) => {
                    let value = e.value(py);
                    let field: String = value
                        .getattr("field")
                        .and_then(|f| f.extract())
                        .unwrap_or_default();
                    let message = value.str().map(|s| s.to_string()).unwrap_or_default();
                    let message = message
                        .strip_prefix("invalid request: ")
                        .unwrap_or(&message);
                    let err = RequestError::new_err(format!("invalid request {i}: {message}"));
                    err.value(py).setattr("field", field)?;
                    err.value(py).setattr("index", i)?;
                    return Err(err);
                }
                Err(e) => return Err(e),
            }
        }
        let engine = &self.inner;
        py.detach(|| {
            guard(|| {
                read.iter()
                    .map(|r| PyDecision::from(&engine.decide(r)))
                    .collect()
            })
        })
    }

    /// The number of rules.
    #[getter]
    fn rule_count(&self) -> usize {
        self.rules
    }

    fn __repr__(&self) -> String {
        format!("<meshgate.Engine rules={}>", self.rules)
    }
}

/// A request read once and reused: `Request(dict)` or `Request.from_json(text)`.
#[pyclass(frozen, module = "meshgate", name = "Request")]
struct PyRequest {
    inner: Arc<meshgate::Request<'static>>,
}

#[pymethods]
impl PyRequest {
    #[new]
    fn new(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        request_from_dict(data).map(|r| PyRequest { inner: Arc::new(r) })
    }

    /// Reads a request from JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        let parsed = guard(|| meshgate::Request::from_json(text))?;
        parsed
            .map(|r| PyRequest { inner: Arc::new(r) })
            .map_err(|e| request_error(py, &e.field, &e.message))
    }

    /// The request in its JSON shape, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.inner.to_json(),))
    }

    /// The request as JSON text.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyRequest>()
            .is_ok_and(|o| *o.get().inner == *self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "meshgate.Request.from_json('{}')",
            self.inner
                .to_json()
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
        )
    }
}

/// The outcome of one decision: the core's owned record of it.
#[pyclass(frozen, eq, module = "meshgate", name = "Decision")]
#[derive(PartialEq, Eq)]
struct PyDecision {
    inner: DecisionRecord,
}

impl From<&meshgate::Decision<'_>> for PyDecision {
    fn from(d: &meshgate::Decision<'_>) -> Self {
        PyDecision { inner: d.into() }
    }
}

impl From<DecisionRecord> for PyDecision {
    fn from(inner: DecisionRecord) -> Self {
        PyDecision { inner }
    }
}

impl PyDecision {
    fn dry_run_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for entry in &self.inner.dry_run {
            let d = PyDict::new(py);
            d.set_item("rule", &entry.rule)?;
            d.set_item("effect", entry.effect.as_str())?;
            list.append(d)?;
        }
        Ok(list)
    }

    fn error_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for e in &self.inner.errors {
            let d = PyDict::new(py);
            d.set_item("rule", &e.rule)?;
            d.set_item("message", &e.message)?;
            list.append(d)?;
        }
        Ok(list)
    }
}

#[pymethods]
impl PyDecision {
    /// Whether the request is allowed.
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.allowed
    }

    /// The rules that decided: the first matching deny, or every matching allow.
    #[getter]
    fn reasons(&self) -> Vec<String> {
        self.inner.reasons.clone()
    }

    /// Audit rules that matched.
    #[getter]
    fn audits(&self) -> Vec<String> {
        self.inner.audits.clone()
    }

    /// Dry-run rules that matched: `{"rule": id, "effect": "allow" | "deny" | "audit"}`.
    #[getter]
    fn dry_run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.dry_run_list(py)
    }

    /// Rules that could not be evaluated: `{"rule": id, "message": text}`.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.error_list(py)
    }

    /// The decision in its JSON shape.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("allowed", self.inner.allowed)?;
        d.set_item("reasons", &self.inner.reasons)?;
        d.set_item("audits", &self.inner.audits)?;
        d.set_item("dry_run", self.dry_run_list(py)?)?;
        d.set_item("errors", self.error_list(py)?)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr = |obj: Bound<'_, PyAny>| -> PyResult<String> { Ok(obj.repr()?.to_string()) };
        let mut out = format!(
            "Decision(allowed={}, reasons={}",
            if self.inner.allowed { "True" } else { "False" },
            repr(PyList::new(py, &self.inner.reasons)?.into_any())?
        );
        if !self.inner.audits.is_empty() {
            out.push_str(&format!(
                ", audits={}",
                repr(PyList::new(py, &self.inner.audits)?.into_any())?
            ));
        }
        if !self.inner.dry_run.is_empty() {
            out.push_str(&format!(
                ", dry_run={}",
                repr(self.dry_run_list(py)?.into_any())?
            ));
        }
        if !self.inner.errors.is_empty() {
            out.push_str(&format!(
                ", errors={}",
                repr(self.error_list(py)?.into_any())?
            ));
        }
        out.push(')');
        Ok(out)
    }
}

/// Checks policy text without building an engine: every error and warning, as diagnostic
/// dicts (an empty list when the text is clean).
#[pyfunction]
#[pyo3(signature = (text, name = "policy.mgp"))]
fn check<'py>(py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyList>> {
    let parsed = py.detach(|| guard(|| meshgate::PolicySet::parse(text, name)))?;
    match parsed {
        Ok(set) => diagnostic_list(py, set.warnings().iter()),
        Err(d) => diagnostic_list(py, d.iter()),
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyPolicySet>()?;
    m.add_class::<PyEngine>()?;
    m.add_class::<PyRequest>()?;
    m.add_class::<PyDecision>()?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("RequestError", py.get_type::<RequestError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    tools::register(m)?;
    istio::register(m)?;
    Ok(())
}
