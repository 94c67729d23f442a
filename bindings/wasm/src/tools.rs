//! The authoring tools (`meshgate-tools`) for JavaScript: explain, lint, format, diff, and
//! policy tests with coverage.
//!
//! Each returns the tool's report in the JSON shape the CLI prints with `--format json` (and
//! Python's `to_dict()` returns), plus the CLI's text rendering where there is one (`text`),
//! so every front end shows the same thing. Bad input throws as the rest of the package does:
//! `PolicyError` for policy text, `RequestError` for a request, `Error` for a test document.

use meshgate::Severity;
use meshgate_tools::coverage::Coverage;
use meshgate_tools::testing::{self, TestSuite};
use meshgate_tools::{diff, explain, fmt, lint};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::{PolicySet, parse_json, policy_error, request_error, stringify};

#[wasm_bindgen(typescript_custom_section)]
const TOOL_TYPES: &'static str = r#"
/** Where a rule or default is written (1-based; columns count characters). */
export interface Location {
  file: string;
  line: number;
  column: number;
}

/** What one part of a rule did: held, failed, unknown (an attribute it reads is absent) or error. */
export type PartOutcome = "held" | "failed" | "unknown" | "error";

/** The kind of a part of a rule. */
export type PartKind = "select" | "from" | "to" | "grant" | "when" | "unless" | "or";

/** One clause, granted role or condition of a rule, and what it did for the request. */
export interface Check {
  kind: PartKind;
  /** The part as written. */
  text: string;
  outcome: PartOutcome;
  /** What held, or exactly what failed, with the request's values. */
  detail: string;
}

/** One rule in an explanation. */
export interface RuleExplanation {
  rule: string;
  effect: Effect;
  dry_run: boolean;
  location: Location;
  matched: boolean;
  failed_parts: number;
  checks: Check[];
  errors: string[];
  /** The checks in one line. */
  summary: string;
}

/** `explain`: why the request got its decision (the shape of `meshgate explain --format json`), and its text. */
export interface Explanation {
  allowed: boolean;
  /** One line: what decided. */
  summary: string;
  decision: Decision;
  /** The deny rule that decided, or the allow rules that matched. */
  deciding: RuleExplanation[];
  /** Allow rules that matched but were overridden by a deny rule or an error. */
  overridden: RuleExplanation[];
  /** On a default deny: the allow rules with the fewest failing parts. */
  nearest: RuleExplanation[];
  /** Audit and dry-run rules that matched. */
  noted: RuleExplanation[];
  /** The `default allow` that allowed the request, or that the claims closed on a default deny. */
  default_allow?: { id: string; location: Location; applied: boolean };
  /** On a default deny with defaults: the allow rules that claim the workload. */
  claimed_by?: { rule: string; location: Location; selection: PartOutcome; detail: string }[];
  /** The explanation as `meshgate explain` prints it. */
  text: string;
}

/** `lint` (the shape of `meshgate lint --format json`): load and lint warnings in position order. */
export interface LintReport {
  /** False only with `denyWarnings` and at least one warning. */
  ok: boolean;
  warnings: number;
  diagnostics: Diagnostic[];
}

/** A class of requests whose decision changes, with an example. */
export interface DiffRegion {
  /** One line per constrained attribute, e.g. `source.namespace = "legacy"`. */
  conditions: string[];
  example: Request;
  before: Decision;
  after: Decision;
}

/** `diff` (the shape of `meshgate diff --format json`), and its text. */
export interface DiffReport {
  changes_decisions: boolean;
  decision_changes: DiffRegion[];
  rules: { removed: string[]; added: string[]; changed: string[] };
  /** Whether every request that decides differently lies in a reported region. */
  exact: boolean;
  inexact_because: string[];
  /** The report as `meshgate diff` prints it. */
  text: string;
}

/** How often one part of a rule held and failed over the test cases. */
export interface PartCoverage {
  kind: PartKind;
  index: number;
  /** For an operand of an `or`: the condition it belongs to. */
  of?: { kind: PartKind; index: number };
  text: string;
  line: number;
  held: number;
  failed: number;
}

/** Coverage of policy tests. */
export interface CoverageReport {
  covered: number;
  total: number;
  percent: number;
  files: {
    file: string;
    covered: number;
    total: number;
    percent: number;
    rules: {
      rule: string;
      effect: Effect;
      dry_run: boolean;
      line: number;
      matched: number;
      not_matched: number;
      parts: PartCoverage[];
    }[];
    never_matched: string[];
  }[];
  /** The coverage as `meshgate test --coverage` prints it. */
  text: string;
  /** An lcov tracefile. */
  lcov: string;
}

/** `runTests`: one test document's cases (a suite of `meshgate test --format json`). */
export interface TestReport {
  file: string;
  policies: string[];
  cases: { name: string; passed: boolean; failures: string[]; decision: Decision }[];
  passed: number;
  failed: number;
  /** With `coverage`. */
  coverage?: CoverageReport;
}
"#;

/// A serde report as a JavaScript object.
fn to_js(value: serde_json::Result<Value>) -> Result<JsValue, JsValue> {
    let text = value
        .and_then(|v| serde_json::to_string(&v))
        .map_err(|e| JsValue::from(js_sys::Error::new(&format!("meshgate: {e}"))))?;
    parse_json(&text)
}

/// Adds the CLI's text rendering to a report object.
fn with_text(value: serde_json::Result<Value>, text: String) -> serde_json::Result<Value> {
    value.map(|mut v| {
        if let Some(obj) = v.as_object_mut() {
            obj.insert("text".to_string(), Value::String(text));
        }
        v
    })
}

/// Explains the decision `policySet` gives `request`.
#[wasm_bindgen(unchecked_return_type = "Explanation")]
pub fn explain(
    #[wasm_bindgen(js_name = policySet)] policy_set: &PolicySet,
    #[wasm_bindgen(unchecked_param_type = "Request")] request: &JsValue,
) -> Result<JsValue, JsValue> {
    let json = stringify(request)?;
    let request = meshgate::Request::from_json(&json).map_err(|e| request_error(&e))?;
    let e = explain::explain(&policy_set.inner, &request);
    to_js(with_text(serde_json::to_value(&e), e.to_text()))
}

/// Lints a policy set: its load warnings and the lint warnings, in position order.
#[wasm_bindgen(unchecked_return_type = "LintReport")]
pub fn lint(
    #[wasm_bindgen(js_name = policySet)] policy_set: &PolicySet,
    #[wasm_bindgen(js_name = denyWarnings)] deny_warnings: Option<bool>,
) -> Result<JsValue, JsValue> {
    let set = &policy_set.inner;
    let mut ds = set.warnings().to_vec();
    ds.extend(lint::lint(set));
    ds.sort_by_key(|d| (d.span().file, d.span().start));
    let warnings = ds
        .iter()
        .filter(|d| d.severity() == Severity::Warning)
        .count();
    to_js(Ok(json!({
        "ok": !(deny_warnings.unwrap_or(false) && warnings > 0),
        "warnings": warnings,
        "diagnostics": ds.iter().map(meshgate::Diagnostic::to_json).collect::<Vec<_>>(),
    })))
}

/// Formats policy text in the canonical layout, keeping comments; throws `PolicyError` when it
/// does not parse.
#[wasm_bindgen]
pub fn format(text: &str, name: Option<String>) -> Result<String, JsValue> {
    let name = name.as_deref().unwrap_or(crate::convert::DEFAULT_NAME);
    fmt::format_source(text, name).map_err(|d| policy_error(&d))
}

/// The semantic difference of two policy sets: the classes of requests whose decision
/// changes, each with an example.
#[wasm_bindgen(unchecked_return_type = "DiffReport")]
pub fn diff(before: &PolicySet, after: &PolicySet) -> Result<JsValue, JsValue> {
    let report = diff::diff(&before.inner, &after.inner);
    to_js(with_text(serde_json::to_value(&report), report.to_text()))
}

/// Runs a policy test document (the `*.test.json` format, as text or as an object) against
/// `policySet`; with `coverage`, also which rules and parts the cases reached.
#[wasm_bindgen(js_name = runTests, unchecked_return_type = "TestReport")]
pub fn run_tests(
    #[wasm_bindgen(js_name = policySet)] policy_set: &PolicySet,
    #[wasm_bindgen(unchecked_param_type = "string | object")] document: &JsValue,
    coverage: Option<bool>,
    name: Option<String>,
) -> Result<JsValue, JsValue> {
    let text = match document.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(document)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                JsValue::from(js_sys::Error::new(
                    "meshgate: the test document is neither text nor a JSON object",
                ))
            })?,
    };
    let name = name.as_deref().unwrap_or("policy.test.json");
    let suite = TestSuite::from_json(&text, name)
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    let set = &policy_set.inner;
    let mut cov = coverage.unwrap_or(false).then(|| {
        let mut c = Coverage::new();
        c.add_set(set);
        c
    });
    let report = testing::run(set, &suite, cov.as_mut());
    let mut value = serde_json::to_value(&report);
    if let (Some(cov), Ok(v)) = (cov, value.as_mut()) {
        let cov = cov.report();
        let c = with_text(serde_json::to_value(&cov), cov.to_text()).map(|mut c| {
            if let Some(obj) = c.as_object_mut() {
                obj.insert("lcov".to_string(), Value::String(cov.to_lcov()));
            }
            c
        });
        if let (Some(obj), Ok(c)) = (v.as_object_mut(), c) {
            obj.insert("coverage".to_string(), c);
        }
    }
    to_js(value)
}
