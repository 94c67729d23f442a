//! The hostile-input corpus (`spec/conformance/hostile/`): over a hundred malformed or hostile
//! policies and requests (deep nesting, huge literals, invalid UTF-8, NUL, bidi and confusable
//! characters, invalid addresses, oversized lists and maps, duplicate JSON keys, wrong types,
//! ambiguous paths). Each must give exactly its recorded outcome: a clear error with a location
//! (or naming the field), or a documented safe result. Whatever the input, nothing panics,
//! every diagnostic points inside its file, and the engine decides as the reference evaluator.
//!
//! Inputs are written by `generate.py` there; outcomes are recorded with `MESHGATE_BLESS=1`
//! and reviewed by hand.

#![expect(
    clippy::arithmetic_side_effects,
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics, and it indexes and counts its own fixtures"
)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use meshgate::{Diagnostics, Engine, PolicySet, Request};
use serde_json::{Map, Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/conformance/hostile")
}

fn read_json(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text`, or `parts` joined (a part is a string or `{"repeat": s, "times": n}`).
fn text_of(entry: &Value) -> Option<String> {
    if let Some(t) = entry["text"].as_str() {
        return Some(t.to_string());
    }
    if let Some(t) = entry["json"].as_str() {
        return Some(t.to_string());
    }
    let parts = entry["parts"].as_array()?;
    Some(
        parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                _ => p["repeat"]
                    .as_str()
                    .unwrap()
                    .repeat(p["times"].as_u64().unwrap() as usize),
            })
            .collect(),
    )
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const PROBES: &[&str] = &[
    "{}",
    r#"{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend", "ip": "10.1.2.3"},
        "destination": {"service": "payments.prod.svc.cluster.local", "port": 443},
        "request": {"method": "GET", "path": "/a", "host": "api.example.com"}}"#,
];

/// Every diagnostic lies inside its file, on character boundaries, 1-based, and renders.
fn check_diagnostics(ds: &Diagnostics, text: &str, name: &str) {
    for d in ds.iter() {
        let span = d.span();
        let (s, e) = (span.start as usize, span.end as usize);
        assert!(
            s <= e && e <= text.len(),
            "{name}: span {s}..{e} outside the file: {d}"
        );
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{name}: {d}"
        );
        assert!(d.start().line >= 1 && d.start().column >= 1, "{name}: {d}");
        assert!(!d.message().is_empty(), "{name}: empty message");
    }
    for d in ds.iter().take(3) {
        assert!(!d.render().is_empty(), "{name}");
    }
}

fn summary(ds: &Diagnostics, loads: bool) -> Value {
    let errors = ds.errors().count();
    let first: Vec<Value> = ds
        .iter()
        .take(3)
        .map(|d| {
            let j = d.to_json();
            json!({"severity": j.severity, "code": j.code, "line": j.line, "column": j.column, "message": j.message})
        })
        .collect();
    json!({"loads": loads, "errors": errors, "warnings": ds.len() - errors, "first": first})
}

fn policy_outcome(entry: &Value) -> Value {
    let name = entry["name"].as_str().unwrap();
    if let Some(bytes) = entry["bytes_hex"].as_str() {
        let path = std::env::temp_dir().join(format!("meshgate-hostile-{name}.mgp"));
        std::fs::write(&path, hex(bytes)).unwrap();
        let result = PolicySet::from_files(&[&path]);
        std::fs::remove_file(&path).ok();
        let errors = result.expect_err("invalid UTF-8 must be refused");
        let mut out = summary(&errors, false);
        // The file name is a temporary path: keep only what does not depend on it.
        out["first"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .for_each(|d| {
                d.as_object_mut().unwrap().remove("file");
            });
        return out;
    }
    let text = text_of(entry).expect("text or parts");
    match PolicySet::parse(&text, "hostile.mgp") {
        Ok(set) => {
            let warnings = Diagnostics(set.warnings().to_vec());
            check_diagnostics(&warnings, &text, name);
            let engine = Engine::new(&set);
            for probe in PROBES {
                let request = Request::from_json(probe).unwrap();
                assert_eq!(
                    engine.decide(&request),
                    set.decide_reference(&request),
                    "{name}"
                );
            }
            let mut out = summary(&warnings, true);
            out["rules"] = json!(set.rules().len());
            out
        }
        Err(ds) => {
            assert!(ds.has_errors(), "{name}: refused without an error");
            check_diagnostics(&ds, &text, name);
            summary(&ds, false)
        }
    }
}

fn mesh() -> PolicySet {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mesh/policy.mgp");
    PolicySet::from_files(&[path]).expect("the mesh example loads")
}

fn request_outcome(entry: &Value, set: &PolicySet, engine: &Engine) -> Value {
    let name = entry["name"].as_str().unwrap();
    let text = text_of(entry).expect("json or parts");
    match Request::from_json(&text) {
        Ok(request) => {
            let decision = engine.decide(&request);
            assert_eq!(decision, set.decide_reference(&request), "{name}");
            json!({"decision": decision.to_value()})
        }
        Err(e) => {
            assert!(!e.message.is_empty(), "{name}");
            json!({"error": {"field": e.field, "message": e.message}})
        }
    }
}

/// Runs every entry of `inputs` through `outcome` (catching panics) and compares with the
/// recorded outcomes, or records them when blessing.
fn run(inputs: &str, expected: &str, minimum: usize, outcome: impl Fn(&Value) -> Value) {
    let entries = read_json(inputs);
    let entries = entries.as_array().unwrap();
    assert!(
        entries.len() >= minimum,
        "{inputs}: only {} inputs",
        entries.len()
    );
    let bless = std::env::var_os("MESHGATE_BLESS").is_some();
    let recorded = if bless {
        Value::Null
    } else {
        read_json(expected)
    };
    let mut actual = Map::new();
    let mut failures = Vec::new();
    for entry in entries {
        let name = entry["name"].as_str().unwrap();
        let got = match catch_unwind(AssertUnwindSafe(|| outcome(entry))) {
            Ok(got) => got,
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        if !bless && recorded[name] != got {
            failures.push(format!(
                "{name}:\n    expected {}\n    got      {got}",
                recorded[name]
            ));
        }
        actual.insert(name.to_string(), got);
    }
    if bless {
        let mut text = String::from("{\n");
        let n = actual.len();
        for (i, (k, v)) in actual.iter().enumerate() {
            text.push_str(&format!(
                "  {}: {}{}\n",
                json!(k),
                v,
                if i + 1 < n { "," } else { "" }
            ));
        }
        text.push_str("}\n");
        std::fs::write(dir().join(expected), text).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_policies() {
    run(
        "policies.json",
        "policies.expected.json",
        80,
        policy_outcome,
    );
}

#[test]
fn hostile_requests() {
    let set = mesh();
    let engine = Engine::new(&set);
    run("requests.json", "requests.expected.json", 40, |e| {
        request_outcome(e, &set, &engine)
    });
}
