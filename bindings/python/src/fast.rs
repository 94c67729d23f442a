//! The fast path from a request dict to a [`meshgate::Request`], without JSON text.
//!
//! It builds the request directly for what it is certain the JSON reader accepts the same way:
//! known fields, strings where strings go, `int`s (not `bool`s) for the port and claims,
//! addresses and timestamps that parse, small maps and lists, shallow nesting. Anything else,
//! valid or not, returns `None` and the caller takes the JSON route
//! ([`crate::convert::to_json`] + `Request::from_json`), which accepts or refuses it exactly as
//! the core does and names the field in its error. So the fast path can only be faster, never
//! different; the tests compare both routes over the conformance corpus and the error cases.

use std::borrow::Cow;
use std::net::IpAddr;

use meshgate::request::{MAX_LIST_ITEMS, MAX_MAP_ENTRIES, Pairs, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};

/// Deepest claim or context value built here (the core accepts deeper; those take the JSON route).
const MAX_DEPTH: usize = 8;
/// Most string bytes in one request built here (far below the core's limit on JSON text).
const MAX_BYTES: usize = 64 * 1024;

/// Every field name of the request shape.
const FIELDS: [&str; 24] = [
    "source",
    "destination",
    "request",
    "connection",
    "time",
    "context",
    "principal",
    "namespace",
    "service_account",
    "trust_domain",
    "labels",
    "ip",
    "remote_ip",
    "service",
    "port",
    "method",
    "path",
    "host",
    "headers",
    "auth",
    "presenter",
    "audiences",
    "claims",
    "sni",
];

static INTERNED: PyOnceLock<Vec<(Py<PyString>, &'static str)>> = PyOnceLock::new();

/// A dict key as a field name. Keys written as literals in Python code are the interned strings,
/// recognised by identity without decoding them; any other key is decoded and compared.
fn field_name(k: &Bound<'_, PyAny>) -> Option<Cow<'static, str>> {
    let py = k.py();
    let interned = INTERNED.get_or_init(py, || {
        FIELDS
            .iter()
            .map(|f| (PyString::intern(py, f).unbind(), *f))
            .collect()
    });
    if let Some((_, name)) = interned.iter().find(|(s, _)| k.as_ptr() == s.as_ptr()) {
        return Some(Cow::Borrowed(name));
    }
    Some(Cow::Owned(
        k.cast::<PyString>().ok()?.to_cow().ok()?.into_owned(),
    ))
}

struct Budget(usize);

impl Budget {
    fn take(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.checked_sub(n)?;
        Some(())
    }
}

fn string(v: &Bound<'_, PyAny>, budget: &mut Budget) -> Option<Cow<'static, str>> {
    let s = v.cast::<PyString>().ok()?.to_cow().ok()?.into_owned();
    budget.take(s.len().saturating_add(8))?;
    Some(Cow::Owned(s))
}

fn dict<'a, 'py>(v: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, PyDict>> {
    let d = v.cast::<PyDict>().ok()?;
    (d.len() < MAX_MAP_ENTRIES).then_some(d)
}

fn key(k: &Bound<'_, PyAny>, budget: &mut Budget) -> Option<Cow<'static, str>> {
    string(k, budget)
}

fn str_pairs(
    v: &Bound<'_, PyAny>,
    budget: &mut Budget,
) -> Option<Pairs<'static, Cow<'static, str>>> {
    let d = dict(v)?;
    let mut out = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        out.push((key(&k, budget)?, string(&v, budget)?));
    }
    Some(Pairs(Cow::Owned(out)))
}

fn value_pairs(
    v: &Bound<'_, PyAny>,
    depth: usize,
    budget: &mut Budget,
) -> Option<Pairs<'static, Value<'static>>> {
    let d = dict(v)?;
    let mut out = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        out.push((key(&k, budget)?, value(&v, depth, budget)?));
    }
    Some(Pairs(Cow::Owned(out)))
}

fn ip(v: &Bound<'_, PyAny>, budget: &mut Budget) -> Option<IpAddr> {
    string(v, budget)?.parse().ok()
}

fn value(v: &Bound<'_, PyAny>, depth: usize, budget: &mut Budget) -> Option<Value<'static>> {
    if v.cast::<PyString>().is_ok() {
        return string(v, budget).map(Value::Str);
    }
    if let Ok(b) = v.cast_exact::<PyBool>() {
        return Some(Value::Bool(b.is_true()));
    }
    if v.cast_exact::<PyInt>().is_ok() {
        return v.extract::<i64>().ok().map(Value::Int);
    }
    if depth.saturating_add(1) >= MAX_DEPTH {
        return None;
    }
    if v.cast::<PyDict>().is_ok() {
        return value_pairs(v, depth.saturating_add(1), budget).map(Value::Map);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = v.cast::<PyList>() {
        (l.len() < MAX_LIST_ITEMS).then(|| l.iter().collect())?
    } else if let Ok(t) = v.cast::<PyTuple>() {
        (t.len() < MAX_LIST_ITEMS).then(|| t.iter().collect())?
    } else {
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        out.push(value(item, depth.saturating_add(1), budget)?);
    }
    Some(Value::List(Cow::Owned(out)))
}

fn strings(v: &Bound<'_, PyAny>, budget: &mut Budget) -> Option<Vec<Cow<'static, str>>> {
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = v.cast::<PyList>() {
        (l.len() < MAX_LIST_ITEMS).then(|| l.iter().collect())?
    } else if let Ok(t) = v.cast::<PyTuple>() {
        (t.len() < MAX_LIST_ITEMS).then(|| t.iter().collect())?
    } else {
        return None;
    };
    items.iter().map(|s| string(s, budget)).collect()
}

fn source(v: &Bound<'_, PyAny>, r: &mut meshgate::Request<'static>, b: &mut Budget) -> Option<()> {
    for (k, v) in dict(v)?.iter() {
        let s = &mut r.source;
        match field_name(&k)?.as_ref() {
            "principal" => s.principal = Some(string(&v, b)?),
            "namespace" => s.namespace = Some(string(&v, b)?),
            "service_account" => s.service_account = Some(string(&v, b)?),
            "trust_domain" => s.trust_domain = Some(string(&v, b)?),
            "labels" => s.labels = str_pairs(&v, b)?,
            "ip" => s.ip = Some(ip(&v, b)?),
            "remote_ip" => s.remote_ip = Some(ip(&v, b)?),
            _ => return None,
        }
    }
    Some(())
}

fn destination(
    v: &Bound<'_, PyAny>,
    r: &mut meshgate::Request<'static>,
    b: &mut Budget,
) -> Option<()> {
    for (k, v) in dict(v)?.iter() {
        let d = &mut r.destination;
        match field_name(&k)?.as_ref() {
            "service" => d.service = Some(string(&v, b)?),
            "namespace" => d.namespace = Some(string(&v, b)?),
            "labels" => d.labels = str_pairs(&v, b)?,
            "port" => {
                v.cast_exact::<PyInt>().ok()?;
                d.port = Some(v.extract::<u16>().ok()?);
            }
            "ip" => d.ip = Some(ip(&v, b)?),
            _ => return None,
        }
    }
    Some(())
}

fn auth(v: &Bound<'_, PyAny>, r: &mut meshgate::Request<'static>, b: &mut Budget) -> Option<()> {
    for (k, v) in dict(v)?.iter() {
        let a = &mut r.request.auth;
        match field_name(&k)?.as_ref() {
            "principal" => a.principal = Some(string(&v, b)?),
            "presenter" => a.presenter = Some(string(&v, b)?),
            "audiences" => a.audiences = Some(Cow::Owned(strings(&v, b)?)),
            "claims" => a.claims = value_pairs(&v, 0, b)?,
            _ => return None,
        }
    }
    Some(())
}

fn http(v: &Bound<'_, PyAny>, r: &mut meshgate::Request<'static>, b: &mut Budget) -> Option<()> {
    for (k, v) in dict(v)?.iter() {
        match field_name(&k)?.as_ref() {
            "method" => r.request.method = Some(string(&v, b)?),
            "path" => r.request.path = Some(string(&v, b)?),
            "host" => r.request.host = Some(string(&v, b)?),
            "headers" => r.request.headers = str_pairs(&v, b)?,
            "auth" => auth(&v, r, b)?,
            _ => return None,
        }
    }
    Some(())
}

fn connection(
    v: &Bound<'_, PyAny>,
    r: &mut meshgate::Request<'static>,
    b: &mut Budget,
) -> Option<()> {
    for (k, v) in dict(v)?.iter() {
        match field_name(&k)?.as_ref() {
            "sni" => r.connection.sni = Some(string(&v, b)?),
            _ => return None,
        }
    }
    Some(())
}

/// The request, when the fast path is sure of it; `None` means "take the JSON route".
pub fn request(obj: &Bound<'_, PyDict>) -> Option<meshgate::Request<'static>> {
    let mut r = meshgate::Request::default();
    let mut b = Budget(MAX_BYTES);
    for (k, v) in obj.iter() {
        match field_name(&k)?.as_ref() {
            "source" => source(&v, &mut r, &mut b)?,
            "destination" => destination(&v, &mut r, &mut b)?,
            "request" => http(&v, &mut r, &mut b)?,
            "connection" => connection(&v, &mut r, &mut b)?,
            "time" => r.time = Some(string(&v, &mut b)?.parse::<jiff::Timestamp>().ok()?),
            "context" => r.context = value_pairs(&v, 0, &mut b)?,
            _ => return None,
        }
    }
    Some(r)
}
