//! The conformance corpus (`spec/conformance/`), run against the Rust core.
//!
//! - `cases/<name>/`: the `*.mgp` files (sorted by file name) form one policy set; every case in
//!   `cases.json` is decided by both [`Engine::decide`] and [`PolicySet::decide_reference`], and
//!   the decision JSON must equal `expect` (missing lists meaning empty lists).
//! - `invalid/<name>.mgp`: must be rejected with exactly the errors its `# expect-error:` header
//!   lines list, in order: code, line, column, and a substring of the message.
//!
//! The files are read at test time, so the corpus can grow without touching this runner. Every
//! mismatch is printed with the case's name before the test fails. `MESHGATE_CONFORMANCE_FILTER`
//! restricts a run to cases and files whose name contains the given text.

#![expect(
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::expect_used,
    reason = "test code: a failed setup or assertion panics, and it indexes and counts its own fixtures"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meshgate::{Diagnostic, Engine, PolicySet, Request};
use serde_json::{Map, Value};

/// The lists of a decision, each empty when `expect` leaves it out.
const DECISION_LISTS: [&str; 4] = ["reasons", "audits", "dry_run", "errors"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/conformance")
}

fn filter() -> Option<String> {
    std::env::var("MESHGATE_CONFORMANCE_FILTER")
        .ok()
        .filter(|f| !f.is_empty())
}

fn selected(name: &str) -> bool {
    filter().is_none_or(|f| name.contains(&f))
}

/// The entries of `dir` whose file name satisfies `keep`, sorted by name.
fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| keep(p))
        .collect();
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .expect("UTF-8 file name")
        .to_string()
}

fn is_mgp(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e == "mgp")
}

/// The expected decision with every list filled in, or a complaint about its shape.
fn normalize_expect(expect: &Value) -> Result<Value, String> {
    let Value::Object(obj) = expect else {
        return Err("`expect` is not an object".to_string());
    };
    let mut out = Map::new();
    for key in obj.keys() {
        if key != "allowed" && !DECISION_LISTS.contains(&key.as_str()) {
            return Err(format!("`expect` has an unknown key `{key}`"));
        }
    }
    match obj.get("allowed") {
        Some(Value::Bool(b)) => out.insert("allowed".to_string(), Value::Bool(*b)),
        _ => return Err("`expect.allowed` must be a boolean".to_string()),
    };
    for key in DECISION_LISTS {
        let list = obj.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
        if !list.is_array() {
            return Err(format!("`expect.{key}` must be a list"));
        }
        out.insert(key.to_string(), list);
    }
    Ok(Value::Object(out))
}

/// Runs every case of one case directory, appending mismatches to `failures`. Returns the
/// number of cases run.
fn run_case_dir(dir: &Path, failures: &mut Vec<String>) -> usize {
    let dir_name = file_name(dir);
    let policies = sorted_entries(dir, is_mgp);
    if policies.is_empty() {
        failures.push(format!("{dir_name}: no `*.mgp` file"));
        return 0;
    }
    let mut builder = PolicySet::builder();
    for p in &policies {
        let text = std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
        builder.add_source(file_name(p), text);
    }
    let set = match builder.build() {
        Ok(set) => set,
        Err(d) => {
            failures.push(format!(
                "{dir_name}: the policy set does not load:\n{}",
                d.render()
            ));
            return 0;
        }
    };
    for w in set.warnings() {
        failures.push(format!("{dir_name}: unexpected warning {w}"));
    }
    let engine = Engine::new(&set);
    let cases_path = dir.join("cases.json");
    let text = match std::fs::read_to_string(&cases_path) {
        Ok(t) => t,
        Err(e) => {
            failures.push(format!("{dir_name}: cannot read cases.json: {e}"));
            return 0;
        }
    };
    let cases: Vec<Value> = match serde_json::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            failures.push(format!(
                "{dir_name}: cases.json is not a list of cases: {e}"
            ));
            return 0;
        }
    };
    if cases.is_empty() {
        failures.push(format!("{dir_name}: cases.json holds no case"));
    }
    let mut names = Vec::new();
    let mut run = 0;
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_string);
        let label = format!("{dir_name}/{name}");
        if names.contains(&name) {
            failures.push(format!("{label}: case name used twice"));
        }
        names.push(name.clone());
        if !selected(&label) {
            continue;
        }
        run += 1;
        if let Some(extra) = case.as_object().and_then(|o| {
            o.keys()
                .find(|k| !["name", "request", "expect"].contains(&k.as_str()))
        }) {
            failures.push(format!("{label}: unknown key `{extra}` in the case"));
        }
        let expect = match case.get("expect").map(normalize_expect) {
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
            None => {
                failures.push(format!("{label}: no `expect`"));
                continue;
            }
        };
        let Some(request_value) = case.get("request") else {
            failures.push(format!("{label}: no `request`"));
            continue;
        };
        // Through the JSON text, as bindings and decision logs see it.
        let request = match Request::from_json(&request_value.to_string()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{label}: the request does not load: {e}"));
                continue;
            }
        };
        let by_engine = engine.decide(&request).to_value();
        let by_reference = set.decide_reference(&request).to_value();
        for (who, got) in [
            ("Engine::decide", &by_engine),
            ("PolicySet::decide_reference", &by_reference),
        ] {
            if *got != expect {
                failures.push(format!(
                    "{label}: {who}\n    expected {expect}\n    got      {got}"
                ));
            }
        }
    }
    run
}

#[test]
fn decision_cases() {
    let root = corpus().join("cases");
    let mut failures = Vec::new();
    let dirs = sorted_entries(&root, |p| p.is_dir());
    let mut cases = 0;
    for dir in &dirs {
        cases += run_case_dir(dir, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} conformance failure(s) in {cases} cases:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if filter().is_none() {
        assert!(
            dirs.len() >= 20,
            "expected at least 20 case directories in {}, found {}",
            root.display(),
            dirs.len()
        );
        assert!(cases >= 60, "expected at least 60 cases, found {cases}");
    }
}

/// One `# expect-error: CODE LINE:COLUMN MESSAGE-SUBSTRING` line.
#[derive(Debug)]
struct Expected {
    code: String,
    line: usize,
    column: usize,
    message: String,
}

fn parse_expectations(text: &str) -> Result<Vec<Expected>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let Some(spec) = rest.trim_start().strip_prefix("expect-error:") else {
            continue;
        };
        let mut parts = spec.trim().splitn(3, ' ');
        let (Some(code), Some(at), message) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("line {}: malformed `expect-error`", n + 1));
        };
        let Some((l, c)) = at.split_once(':') else {
            return Err(format!(
                "line {}: location `{at}` is not LINE:COLUMN",
                n + 1
            ));
        };
        let (Ok(line), Ok(column)) = (l.parse(), c.parse()) else {
            return Err(format!(
                "line {}: location `{at}` is not LINE:COLUMN",
                n + 1
            ));
        };
        out.push(Expected {
            code: code.to_string(),
            line,
            column,
            message: message.unwrap_or("").trim().to_string(),
        });
    }
    if out.is_empty() {
        return Err("no `# expect-error:` line at the top of the file".to_string());
    }
    Ok(out)
}

/// Checks that a diagnostic points inside `text` and renders a snippet.
fn check_location(d: &Diagnostic, text: &str, name: &str, failures: &mut Vec<String>) {
    let j = d.to_json();
    let lines: Vec<&str> = text.split('\n').collect();
    let inside = |line: usize, column: usize| {
        line >= 1
            && lines
                .get(line - 1)
                .is_some_and(|l| column >= 1 && column <= l.chars().count() + 1)
    };
    if !inside(j.line, j.column)
        || !inside(j.end_line, j.end_column)
        || (j.end_line, j.end_column) < (j.line, j.column)
    {
        failures.push(format!(
            "{name}: diagnostic `{}` spans {}:{}..{}:{}, outside the file",
            j.message, j.line, j.column, j.end_line, j.end_column
        ));
    }
    if j.snippet.trim().is_empty() {
        failures.push(format!(
            "{name}: diagnostic `{}` renders an empty snippet",
            j.message
        ));
    }
    if j.file != name {
        failures.push(format!("{name}: diagnostic names the file `{}`", j.file));
    }
    // Lowercase, though a message may open with an acronym (`CIDR …`).
    let mut chars = j.message.chars();
    if j.message.is_empty()
        || (chars.next().is_some_and(char::is_uppercase)
            && chars.next().is_some_and(char::is_lowercase))
    {
        failures.push(format!(
            "{name}: message `{}` is empty or not lowercase",
            j.message
        ));
    }
}

fn describe(d: &Diagnostic) -> String {
    let j = d.to_json();
    format!("{} {}:{} {}", j.code, j.line, j.column, j.message)
}

#[test]
fn invalid_policies() {
    let root = corpus().join("invalid");
    let files = sorted_entries(&root, is_mgp);
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let name = file_name(path);
        if !selected(&name) {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let expected = match parse_expectations(&text) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let diagnostics = match PolicySet::parse(&text, &name) {
            Ok(_) => {
                failures.push(format!("{name}: accepted, but must be rejected"));
                continue;
            }
            Err(d) => d,
        };
        for d in diagnostics.iter() {
            check_location(d, &text, &name, &mut failures);
        }
        let errors: Vec<&Diagnostic> = diagnostics.errors().collect();
        let mut problems = String::new();
        for (i, want) in expected.iter().enumerate() {
            let Some(got) = errors.get(i) else {
                let _ = writeln!(
                    problems,
                    "    missing error #{}: {} {}:{} {}",
                    i + 1,
                    want.code,
                    want.line,
                    want.column,
                    want.message
                );
                continue;
            };
            let at = got.start();
            if got.code() != want.code
                || at.line != want.line
                || at.column != want.column
                || !got.message().contains(&want.message)
            {
                let _ = writeln!(
                    problems,
                    "    error #{}: expected {} {}:{} …{}…\n               got {}",
                    i + 1,
                    want.code,
                    want.line,
                    want.column,
                    want.message,
                    describe(got)
                );
            }
        }
        for (i, extra) in errors.iter().enumerate().skip(expected.len()) {
            let _ = writeln!(
                problems,
                "    unexpected error #{}: {}",
                i + 1,
                describe(extra)
            );
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n{problems}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid-policy failure(s) in {checked} files:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    if filter().is_none() {
        assert!(
            checked >= 40,
            "expected at least 40 invalid policies in {}, found {checked}",
            root.display()
        );
    }
}

// Limits (spec/language.md §15) and refused requests (§12): generated here, since corpus files
// of this size, or requests that must not load, do not fit the corpus format.

#[test]
fn a_list_longer_than_the_limit_is_refused() {
    let limit = meshgate::PolicyLimits::default().max_list_len;
    let items = vec!["1"; limit + 1].join(", ");
    let text = format!("allow \"a\" {{ to port [{items}] }}\n");
    let errors = PolicySet::parse(&text, "long.mgp").expect_err("must be rejected");
    let first = errors.errors().next().expect("an error");
    assert_eq!(first.code(), "limit");
    assert!(
        first
            .message()
            .contains("has 10001 items: the limit is 10000"),
        "{first}"
    );
    assert_eq!((first.start().line, first.start().column), (1, 21));

    let items = vec!["1"; limit].join(", ");
    let text = format!("allow \"a\" {{ to port [{items}] }}\n");
    assert!(PolicySet::parse(&text, "long.mgp").is_ok());
}

#[test]
fn long_and_or_chains_neither_overflow_nor_change_meaning() {
    // Thousands of operands once overflowed the stack while validating the left-deep tree.
    let n = 20_000;
    let ands = vec!["destination.port == 80"; n].join(" and ");
    let ors = vec!["destination.port == 81"; n].join(" or ");
    let text = format!(
        "allow \"a\" {{ when {ands} }}\nallow \"b\" {{ when {ors} or destination.port == 82 }}\n"
    );
    let set = PolicySet::parse(&text, "chain.mgp").expect("loads");
    let engine = Engine::new(&set);
    for (port, reasons) in [
        (80, vec!["a"]),
        (81, vec!["b"]),
        (82, vec!["b"]),
        (83, vec![]),
    ] {
        let request = Request::from_json(&format!(r#"{{"destination": {{"port": {port}}}}}"#))
            .expect("request");
        for d in [engine.decide(&request), set.decide_reference(&request)] {
            assert_eq!(d.reasons.as_slice(), reasons.as_slice(), "port {port}");
        }
    }
}

#[test]
fn long_include_chains_and_diamonds_load() {
    // A chain of includes, and a lattice with 2^40 paths from top to bottom: each role is
    // expanded once, with one permission per `permit` statement.
    let mut text = String::new();
    let n = 2_000;
    for i in 0..n {
        text.push_str(&format!("role r{i} {{ include r{} }}\n", i + 1));
    }
    text.push_str(&format!("role r{n} {{ permit GET on \"/chain\" }}\n"));
    for i in 0..40 {
        text.push_str(&format!(
            "role d{i} {{ include d{j}, e{j} }}\nrole e{i} {{ include d{j}, e{j} }}\n",
            j = i + 1
        ));
    }
    text.push_str("role d40 { permit GET on \"/d\" }\nrole e40 { permit GET on \"/e\" }\n");
    text.push_str("allow \"a\" { grant r0, d0 }\n");
    let set = PolicySet::parse(&text, "roles.mgp").expect("loads");
    assert_eq!(set.roles()["d0"].permissions.len(), 2);
    assert_eq!(set.roles()["r0"].permissions[0].via.len(), n);
    for path in ["/chain", "/d", "/e"] {
        let request = Request::from_json(&format!(
            r#"{{"request": {{"method": "GET", "path": "{path}"}}}}"#
        ))
        .expect("request");
        assert!(Engine::new(&set).decide(&request).allowed, "{path}");
    }
}

#[test]
fn malformed_requests_are_refused_naming_the_field() {
    for (json, field) in [
        (r#"{"source": {"principal": null}}"#, "source.principal"),
        (r#"{"destination": {"port": null}}"#, "destination.port"),
        (r#"{"time": null}"#, "time"),
        (
            r#"{"request": {"auth": {"audiences": null}}}"#,
            "request.auth.audiences",
        ),
        (r#"{"context": {"risk": null}}"#, "context.risk"),
        (r#"{"context": {"risk": 1.5}}"#, "context.risk"),
        (r#"{"destination": {"port": 70000}}"#, "destination.port"),
        (r#"{"source": {"ip": "10.0.0.300"}}"#, "source.ip"),
        (r#"{"source": {"namspace": "x"}}"#, "source"),
        (
            r#"{"request": {"headers": {"a": "1", "a": "2"}}}"#,
            "request.headers",
        ),
        (r#"{"time": "2026-01-01T00:00:00"}"#, "time"),
    ] {
        match Request::from_json(json) {
            Ok(r) => panic!("{json} loaded as {}", r.to_json()),
            Err(e) => assert!(
                e.field.starts_with(field),
                "{json}: field `{}`, {}",
                e.field,
                e.message
            ),
        }
    }
}
