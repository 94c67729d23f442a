//! Python objects to and from the JSON shapes of the core.
//!
//! A request given as a dict is written as JSON text and read by
//! [`meshgate::Request::from_json`], so a dict is accepted or refused exactly like the same JSON
//! text: unknown fields, floats and `None` where no `null` is allowed are errors naming the
//! field, and the order of labels, headers, claims and context entries is kept. The walk adds
//! only what JSON text cannot express: keys that are not strings, integers beyond 64 bits, and
//! values of types JSON has no form for.

use meshgate::RequestLimits;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Deepest nesting accepted while walking a Python object: deeper than any request the core
/// accepts (at most four levels of fields above a claim or context value, which nests at most
/// [`RequestLimits::MAX_DEPTH`] levels), so that the core's own error is the one reported, and
/// bounded, so that a hostile object cannot exhaust the stack.
const MAX_DEPTH: usize = 2 * RequestLimits::MAX_DEPTH;

/// Why a Python object could not be read as JSON, and where.
pub struct ConvertError {
    /// The field's path, in the core's notation (`source.labels.app`, `request.auth.audiences[1]`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

enum Step {
    Key(String),
    Index(usize),
}

fn path_string(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn error(path: &[Step], message: String) -> ConvertError {
    let field = path_string(path);
    let message = if field.is_empty() {
        message
    } else {
        format!("`{field}`: {message}")
    };
    ConvertError { field, message }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

/// Writes a Python object (dicts, lists, tuples, strings, ints, bools, floats, `None`) as JSON.
pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<String, ConvertError> {
    let mut out = Vec::with_capacity(256);
    let mut path = Vec::new();
    walk(obj, &mut path, &mut out)?;
    String::from_utf8(out).map_err(|_| error(&[], "request is not valid unicode".to_string()))
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a `&str` to a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, s);
}

fn walk(
    obj: &Bound<'_, PyAny>,
    path: &mut Vec<Step>,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    if path.len() > MAX_DEPTH {
        return Err(error(path, "value is nested too deeply".to_string()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let Ok(s) = s.to_cow() else {
            return Err(error(path, "string is not valid unicode".to_string()));
        };
        write_str(out, &s);
        return Ok(());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(error(
                    path,
                    format!("keys must be strings, not `{}`", type_name(&k)),
                ));
            };
            let Ok(key) = key.to_cow() else {
                return Err(error(path, "key is not valid unicode".to_string()));
            };
            if i > 0 {
                out.push(b',');
            }
            write_str(out, &key);
            out.push(b':');
            path.push(Step::Key(key.into_owned()));
            walk(&v, path, out)?;
            path.pop();
        }
        out.push(b'}');
        return Ok(());
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return Ok(());
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(n) = obj.extract::<i64>() {
            out.extend_from_slice(n.to_string().as_bytes());
            return Ok(());
        }
        if let Ok(n) = obj.extract::<u64>() {
            out.extend_from_slice(n.to_string().as_bytes());
            return Ok(());
        }
        return Err(error(path, "integer out of range".to_string()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        // A float is refused by the core wherever it appears; hand it over so that the error
        // is the core's own. JSON has no form for NaN and the infinities.
        let v = f.value();
        if !v.is_finite() {
            return Err(error(path, meshgate::request::float_value(v)));
        }
        let _ = serde_json::to_writer(&mut *out, &v);
        return Ok(());
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return walk_seq(l.iter(), path, out);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return walk_seq(t.iter(), path, out);
    }
    Err(error(
        path,
        format!("a value of type `{}` has no JSON form", type_name(obj)),
    ))
}

fn walk_seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    path: &mut Vec<Step>,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        path.push(Step::Index(i));
        walk(&item, path, out)?;
        path.pop();
    }
    out.push(b']');
    Ok(())
}
