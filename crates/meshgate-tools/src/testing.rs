//! Policy tests: named requests with the decision they must get, in `*.test.json` files written
//! next to the policies.
//!
//! ```json
//! {
//!   "policies": ["policy.mgp"],
//!   "cases": [
//!     {"name": "frontend reads a balance",
//!      "request": {"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
//!                  "destination": {"service": "payments.prod.svc.cluster.local"},
//!                  "request": {"method": "GET", "path": "/api/balance/42"}},
//!      "expect": {"allowed": true, "reasons": ["frontend-reads-payments"]}},
//!     {"name": "frontend cannot refund",
//!      "request": {"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
//!                  "request": {"method": "POST", "path": "/api/admin/refunds"}},
//!      "expect": "deny"}
//!   ]
//! }
//! ```
//!
//! - `policies` (optional): the policy files, relative to the test file, loaded as one set in
//!   the order given. Without it, every `*.mgp` file in the test file's directory, in file-name
//!   order.
//! - `expect`: `"allow"`, `"deny"`, or an object with `allowed` (required) and optionally
//!   `reasons`, `audits`, `dry_run` and `errors` in the decision's JSON shape. Only the fields
//!   given are compared, each as a whole list.
//! - Requests are read exactly as everywhere else. No clock is read: a request without `time`
//!   has no time, so tests are deterministic.

use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use meshgate::decision::Decision;
use meshgate::model::Effect;
use meshgate::request::Request;
use meshgate::{Engine, PolicySet};

/// A test file: the policies it tests and its cases.
#[derive(Clone, Debug)]
pub struct TestSuite {
    /// The name given when reading it (usually its path).
    pub name: String,
    /// The policy files named in the file, relative to it; `None` means "the `*.mgp` files in
    /// the same directory".
    pub policies: Option<Vec<String>>,
    /// The cases, in file order.
    pub cases: Vec<TestCase>,
}

/// One named request and the decision it must get.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// The case's name (unique within its file).
    pub name: String,
    /// The request.
    pub request: Request<'static>,
    /// What the decision must be.
    pub expect: Expectation,
}

/// The expected decision. Fields left `None` are not compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Allowed or denied.
    pub allowed: bool,
    /// The deciding rule ids, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// The audit rules that matched, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audits: Option<Vec<String>>,
    /// The dry-run rules that matched, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<ExpectedDryRun>>,
    /// The evaluation errors, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ExpectedError>>,
}

/// An expected dry-run entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDryRun {
    /// Rule id.
    pub rule: String,
    /// What it would have done.
    pub effect: Effect,
}

/// An expected evaluation error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// Rule id.
    pub rule: String,
    /// The error message.
    pub message: String,
}

/// A test file that could not be read, naming the place in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TestFileError {
    /// The test file's name.
    pub file: String,
    /// The JSON path of the offending value (`cases[2].request.source.ip`), or empty.
    pub field: String,
    /// What is wrong, the field quoted first.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(default)]
    policies: Option<Vec<String>>,
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    request: Request<'static>,
    expect: RawExpect,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawExpect {
    Word(String),
    Full(serde_json::Map<String, serde_json::Value>),
}

impl TestSuite {
    /// Reads a test file's JSON. `name` is used in errors and reports.
    pub fn from_json(text: &str, name: &str) -> Result<TestSuite, TestFileError> {
        let err = |field: String, message: String| TestFileError {
            file: name.to_string(),
            field,
            message,
        };
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawSuite = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let message = e.into_inner().to_string();
            let message = if field.is_empty() {
                message
            } else {
                format!("`{field}`: {message}")
            };
            err(field, message)
        })?;
        let mut cases = Vec::with_capacity(raw.cases.len());
        for (i, c) in raw.cases.into_iter().enumerate() {
            let field = format!("cases[{i}].expect");
            let expect = match c.expect {
                RawExpect::Word(w) if w == "allow" => Expectation {
                    allowed: true,
                    ..Expectation::default()
                },
                RawExpect::Word(w) if w == "deny" => Expectation {
                    allowed: false,
                    ..Expectation::default()
                },
                RawExpect::Word(w) => {
                    return Err(err(
                        field.clone(),
                        format!(
                            "`{field}`: expected `\"allow\"`, `\"deny\"` or an object, found `{w:?}`"
                        ),
                    ));
                }
                RawExpect::Full(map) => serde_json::from_value(serde_json::Value::Object(map))
                    .map_err(|e| err(field.clone(), format!("`{field}`: {e}")))?,
            };
            if c.name.trim().is_empty() {
                return Err(err(
                    format!("cases[{i}].name"),
                    format!("`cases[{i}].name`: a case needs a name"),
                ));
            }
            if cases.iter().any(|other: &TestCase| other.name == c.name) {
                return Err(err(
                    format!("cases[{i}].name"),
                    format!("`cases[{i}].name`: case `{}` is named twice", c.name),
                ));
            }
            cases.push(TestCase {
                name: c.name,
                request: c.request,
                expect,
            });
        }
        Ok(TestSuite {
            name: name.to_string(),
            policies: raw.policies,
            cases,
        })
    }
}

/// The result of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Whether the decision was as expected.
    pub passed: bool,
    /// What differed, one line each (empty when passed).
    pub failures: Vec<String>,
    /// The decision the policy set gave.
    pub decision: super::DecisionRecord,
}

/// The results of one test file.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteReport {
    /// The test file.
    pub file: String,
    /// The policy files it ran against.
    pub policies: Vec<String>,
    /// Per case, in file order.
    pub cases: Vec<CaseReport>,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
}

/// Runs every case of `suite` against `set`, recording coverage when given.
pub fn run(set: &PolicySet, suite: &TestSuite, mut coverage: Option<&mut Coverage>) -> SuiteReport {
    let engine = Engine::new(set);
    let mut cases = Vec::with_capacity(suite.cases.len());
    for case in &suite.cases {
        let decision = engine.decide(&case.request);
        if let Some(cov) = coverage.as_deref_mut() {
            cov.record(set, &case.request);
        }
        let failures = compare(&case.expect, &decision);
        cases.push(CaseReport {
            name: case.name.clone(),
            passed: failures.is_empty(),
            failures,
            decision: (&decision).into(),
        });
    }
    let passed = cases.iter().filter(|c| c.passed).count();
    SuiteReport {
        file: suite.name.clone(),
        policies: set.files().iter().map(|f| f.name().to_string()).collect(),
        failed: cases.iter().filter(|c| !c.passed).count(),
        passed,
        cases,
    }
}

fn word(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

fn list<T: std::fmt::Debug>(items: &[T]) -> String {
    format!("{items:?}")
}

/// What differs between an expectation and a decision, one line each.
pub fn compare(expect: &Expectation, d: &Decision<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if expect.allowed != d.allowed {
        let why = if d.reasons.is_empty() && d.errors.is_empty() && !d.allowed {
            " (no allow rule matched)".to_string()
        } else if !d.errors.is_empty() {
            format!(
                " (errors in {})",
                list(&d.errors.iter().map(|e| e.rule).collect::<Vec<_>>())
            )
        } else {
            format!(" (by {})", list(&d.reasons))
        };
        out.push(format!(
            "expected {}, got {}{why}",
            word(expect.allowed),
            word(d.allowed)
        ));
    }
    if let Some(reasons) = &expect.reasons
        && !reasons
            .iter()
            .map(String::as_str)
            .eq(d.reasons.iter().copied())
    {
        out.push(format!(
            "expected reasons {}, got {}",
            list(reasons),
            list(&d.reasons)
        ));
    }
    if let Some(audits) = &expect.audits
        && !audits
            .iter()
            .map(String::as_str)
            .eq(d.audits.iter().copied())
    {
        out.push(format!(
            "expected audits {}, got {}",
            list(audits),
            list(&d.audits)
        ));
    }
    if let Some(dry) = &expect.dry_run {
        let got: Vec<(String, Effect)> = d
            .dry_run
            .iter()
            .map(|x| (x.rule.to_string(), x.effect))
            .collect();
        let want: Vec<(String, Effect)> = dry.iter().map(|x| (x.rule.clone(), x.effect)).collect();
        if got != want {
            let show = |v: &[(String, Effect)]| {
                let items: Vec<String> = v
                    .iter()
                    .map(|(r, e)| format!("{r:?} would {}", e.as_str()))
                    .collect();
                format!("[{}]", items.join(", "))
            };
            out.push(format!(
                "expected dry-run {}, got {}",
                show(&want),
                show(&got)
            ));
        }
    }
    if let Some(errors) = &expect.errors {
        let got: Vec<(String, String)> = d
            .errors
            .iter()
            .map(|e| (e.rule.to_string(), e.message.clone()))
            .collect();
        let want: Vec<(String, String)> = errors
            .iter()
            .map(|e| (e.rule.clone(), e.message.clone()))
            .collect();
        if got != want {
            out.push(format!(
                "expected errors {}, got {}",
                list(&want),
                list(&got)
            ));
        }
    }
    out
}

#[cfg(feature = "fs")]
mod runner;
#[cfg(feature = "fs")]
pub use runner::{FileError, FileEvent, Loader, RunError, RunReport, run_paths, run_paths_with};

/// Finding test files and the policies they test.
#[cfg(feature = "fs")]
pub mod files {
    use std::path::{Path, PathBuf};

    use super::TestSuite;

    /// The suffix of test files.
    pub const SUFFIX: &str = ".test.json";

    /// The test files under `paths`: files given are taken as they are; directories are
    /// searched recursively for `*.test.json` (skipping hidden directories and `target`).
    /// Sorted by path, without duplicates.
    pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for p in paths {
            if p.is_dir() {
                walk(p, &mut out)?;
            } else {
                std::fs::metadata(p)?;
                out.push(p.clone());
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type()?.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    walk(&path, out)?;
                }
            } else if name.ends_with(SUFFIX) {
                out.push(path);
            }
        }
        Ok(())
    }

    /// The policy files a suite read from `test_file` tests: those it names, relative to its
    /// directory, or else every `*.mgp` file in its directory in file-name order.
    pub fn policies_for(test_file: &Path, suite: &TestSuite) -> std::io::Result<Vec<PathBuf>> {
        let dir = test_file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        if let Some(named) = &suite.policies {
            return Ok(named
                .iter()
                .map(|n| {
                    if dir == Path::new(".") {
                        PathBuf::from(n)
                    } else {
                        dir.join(n)
                    }
                })
                .collect());
        }
        let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mgp") && p.is_file())
            .map(|p| {
                if dir == Path::new(".") {
                    p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p)
                } else {
                    p
                }
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
        role reader { permit GET on "/api/**" }
        allow "reads" { from namespace "shop" grant reader }
        deny "no-legacy" { from namespace "legacy" }
        audit "exports" { to path "/api/export/**" }
    "#;

    fn suite(json: &str) -> Result<TestSuite, TestFileError> {
        TestSuite::from_json(json, "t.test.json")
    }

    #[test]
    fn runs_cases_and_reports_differences() {
        let set = PolicySet::parse(POLICY, "p.mgp").unwrap();
        let s = suite(
            r#"{"cases": [
                {"name": "ok", "request": {"source": {"namespace": "shop"}, "request": {"method": "GET", "path": "/api/x"}},
                 "expect": {"allowed": true, "reasons": ["reads"]}},
                {"name": "word", "request": {"source": {"namespace": "legacy"}}, "expect": "deny"},
                {"name": "wrong", "request": {"source": {"namespace": "shop"}, "request": {"method": "GET", "path": "/api/export/a"}},
                 "expect": {"allowed": false, "audits": []}}
            ]}"#,
        )
        .unwrap();
        let r = run(&set, &s, None);
        assert_eq!((r.passed, r.failed), (2, 1));
        assert_eq!(
            r.cases[2].failures,
            [
                "expected deny, got allow (by [\"reads\"])",
                "expected audits [], got [\"exports\"]"
            ]
        );
    }

    #[test]
    fn file_errors_name_the_place() {
        let e = suite(r#"{"cases": [{"name": "a", "request": {"source": {"ip": "1.2.3"}}, "expect": "deny"}]}"#).unwrap_err();
        assert_eq!(e.field, "cases[0].request.source.ip");
        let e =
            suite(r#"{"cases": [{"name": "a", "request": {}, "expect": "maybe"}]}"#).unwrap_err();
        assert!(e.message.contains("`cases[0].expect`"), "{}", e.message);
        let e = suite(r#"{"cases": [{"name": "a", "request": {}, "expect": {"allowed": true, "reason": []}}]}"#).unwrap_err();
        assert!(
            e.message.contains("unknown field `reason`"),
            "{}",
            e.message
        );
        let e = suite(r#"{"cases": [{"name": "a", "request": {}, "expect": "deny"}, {"name": "a", "request": {}, "expect": "deny"}]}"#).unwrap_err();
        assert!(e.message.contains("named twice"), "{}", e.message);
        let e = suite(r#"{"case": []}"#).unwrap_err();
        assert!(e.message.contains("unknown field `case`"), "{}", e.message);
    }
}
