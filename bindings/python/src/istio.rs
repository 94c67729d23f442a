//! The Istio AuthorizationPolicy importer (`meshgate_istio`) for Python. The typed wrapper that
//! reads files and builds `meshgate.IstioImport` is in `python/meshgate/istio.py`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::{diagnostic_list, guard, policy_error_titled};

/// Imports the AuthorizationPolicy resources in `sources` (`(name, yaml)` pairs, read in
/// order) for a mesh with the given root namespace and trust-domain bundle: the meshgate policy
/// text and the warnings, as diagnostic dicts. Any error raises `PolicyError` with every error
/// as a diagnostic (pointing into the YAML); a malformed trust domain raises `ValueError`. The
/// GIL is released while the policies are translated.
#[pyfunction]
#[pyo3(
    name = "_import_istio",
    signature = (
        sources,
        root_namespace = "istio-system",
        trust_domain = "cluster.local",
        trust_domain_aliases = Vec::new(),
    )
)]
fn import_istio_raw<'py>(
    py: Python<'py>,
    sources: Vec<(String, String)>,
    root_namespace: &str,
    trust_domain: &str,
    trust_domain_aliases: Vec<String>,
) -> PyResult<(String, Bound<'py, PyList>)> {
    let options = meshgate_istio::ImportOptions {
        root_namespace: root_namespace.to_string(),
        trust_domain: trust_domain.to_string(),
        trust_domain_aliases,
    };
    options.validate().map_err(PyValueError::new_err)?;
    let imported = py.detach(|| guard(|| meshgate_istio::import(&sources, &options)))?;
    match imported {
        Ok(i) => Ok((i.policy, diagnostic_list(py, i.warnings.iter())?)),
        Err(errors) => Err(policy_error_titled(
            py,
            "cannot import the Istio policies",
            &meshgate::Diagnostics(errors),
        )),
    }
}

/// Adds the importer to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(import_istio_raw, m)?)?;
    Ok(())
}
