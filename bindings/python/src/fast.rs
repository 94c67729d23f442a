//! The fast path from a request dict to a [`meshgate::Request`], without JSON text.
//!
//! It walks the dict along the core's table of fields ([`Field`]) and feeds a
//! [`RequestBuilder`], which applies the core's acceptance rules (field kinds, addresses,
//! timestamps, ports, duplicates, ceilings, nesting, and the default [`RequestLimits`] in
//! `finish`). It only decides how Python objects stand for JSON values, and only where that is
//! certain: `str`s, exact `int`s (not `bool`s, which are `int`s in Python) within 64 bits,
//! `bool`s, dicts, lists and tuples. Anything else, and anything the builder refuses, returns
//! `None`, and the caller takes the JSON route ([`crate::convert::to_json`] +
//! `Request::from_json`), which accepts or refuses it exactly as the core does and names the
//! field in its error. So the fast path can only be faster, never different; the tests compare
//! both routes over the request corpus (`spec/conformance/requests`), the conformance corpus
//! and the error cases.

use std::borrow::Cow;

use meshgate::RequestLimits;
use meshgate::request::{Field, Kind, Pairs, RequestBuilder, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};

/// Most string bytes in one request built here. The JSON route refuses a request whose JSON
/// text exceeds [`RequestLimits::max_bytes`]; a string's JSON form is at most six times its
/// length (`\u00XX` escapes) plus its quotes, so requests within this budget are far below it.
const MAX_BYTES: usize = RequestLimits::DEFAULT.max_bytes / 16;

/// The sections of a request: the whole request (`None`) and each object of fields.
const SECTIONS: [Option<Field>; 6] = [
    None,
    Some(Field::Source),
    Some(Field::Destination),
    Some(Field::Request),
    Some(Field::Auth),
    Some(Field::Connection),
];

/// Each section's field names as interned Python strings, with their fields.
type Interned = Vec<(Option<Field>, Vec<(Py<PyString>, Field)>)>;

static INTERNED: PyOnceLock<Interned> = PyOnceLock::new();

/// The field called `k` in `section`. Keys written as literals in Python code are the interned
/// strings, recognised by identity among the section's few names without decoding them; any
/// other key is decoded and looked up in the core's table.
fn field(section: Option<Field>, k: &Bound<'_, PyAny>) -> Option<Field> {
    let py = k.py();
    let interned = INTERNED.get_or_init(py, || {
        SECTIONS
            .iter()
            .map(|&section| {
                let names = Field::children(section)
                    .iter()
                    .zip(Field::names(section))
                    .map(|(f, name)| (PyString::intern(py, name).unbind(), *f))
                    .collect();
                (section, names)
            })
            .collect()
    });
    if let Some((_, names)) = interned.iter().find(|(s, _)| *s == section)
        && let Some((_, f)) = names.iter().find(|(s, _)| k.as_ptr() == s.as_ptr())
    {
        return Some(*f);
    }
    Field::child(section, &k.cast::<PyString>().ok()?.to_cow().ok()?)
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
    (d.len() <= RequestLimits::MAX_MAP_ENTRIES).then_some(d)
}

/// The items of a list or tuple, within the ceiling.
fn items<'py>(v: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = v.cast::<PyList>() {
        (l.len() <= RequestLimits::MAX_LIST_ITEMS).then(|| l.iter().collect())?
    } else if let Ok(t) = v.cast::<PyTuple>() {
        (t.len() <= RequestLimits::MAX_LIST_ITEMS).then(|| t.iter().collect())?
    } else {
        return None;
    };
    Some(items)
}

fn str_pairs(
    v: &Bound<'_, PyAny>,
    budget: &mut Budget,
) -> Option<Pairs<'static, Cow<'static, str>>> {
    let d = dict(v)?;
    let mut out = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        out.push((string(&k, budget)?, string(&v, budget)?));
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
        out.push((string(&k, budget)?, value(&v, depth, budget)?));
    }
    Some(Pairs(Cow::Owned(out)))
}

/// A claim or context value. The builder checks the nesting; this stops recursing just past
/// the ceiling, so that a hostile object cannot exhaust the stack.
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
    if depth > RequestLimits::MAX_DEPTH {
        return None;
    }
    if v.cast::<PyDict>().is_ok() {
        return value_pairs(v, depth.saturating_add(1), budget).map(Value::Map);
    }
    let items = items(v)?;
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        out.push(value(item, depth.saturating_add(1), budget)?);
    }
    Some(Value::List(Cow::Owned(out)))
}

/// Feeds one section's dict (`None`: the whole request) to the builder.
fn section(
    d: &Bound<'_, PyDict>,
    section: Option<Field>,
    r: &mut RequestBuilder<'static>,
    b: &mut Budget,
) -> Option<()> {
    for (k, v) in d.iter() {
        let f = field(section, &k)?;
        match f.kind() {
            Kind::Section => {
                r.section(f).ok()?;
                self::section(dict(&v)?, Some(f), r, b)?;
            }
            Kind::Str | Kind::Ip | Kind::Time => {
                r.str(f, string(&v, b)?).ok()?;
            }
            Kind::Port => {
                v.cast_exact::<PyInt>().ok()?;
                r.int(f, v.extract::<i64>().ok()?).ok()?;
            }
            Kind::StrMap => {
                r.pairs(f, str_pairs(&v, b)?).ok()?;
            }
            Kind::StrList => {
                let items = items(&v)?;
                let strings = items.iter().map(|s| string(s, b)).collect::<Option<_>>()?;
                r.audiences(strings).ok()?;
            }
            Kind::ValueMap => {
                r.values(f, value_pairs(&v, 0, b)?).ok()?;
            }
            _ => return None,
        }
    }
    Some(())
}

/// The request, when the fast path is sure of it; `None` means "take the JSON route".
pub fn request(obj: &Bound<'_, PyDict>) -> Option<meshgate::Request<'static>> {
    let mut r = RequestBuilder::new();
    let mut b = Budget(MAX_BYTES);
    section(obj, None, &mut r, &mut b)?;
    r.finish().ok()
}
