//! # meshgate-wasm
//!
//! WebAssembly bindings of [meshgate](meshgate) for JavaScript and TypeScript, built with
//! wasm-bindgen into the npm-style package `bindings/wasm/pkg/` by `cargo xtask wasm`.
//!
//! ```js
//! const { PolicySet, Engine, check } = require("meshgate");
//! const set = PolicySet.fromSource('allow "health" { to path "/healthz" }', "health.mgp");
//! const engine = new Engine(set);
//! engine.decide({ request: { method: "GET", path: "/healthz" } });
//! // → { allowed: true, reasons: ["health"], audits: [], dry_run: [], errors: [] }
//! ```
//!
//! Requests, decisions and diagnostics are plain JavaScript objects in the shared JSON shapes
//! (the same as the Rust and Python APIs and the CLI), typed precisely in the generated `.d.ts`.
//! Errors are thrown as JavaScript `Error`s: `PolicyError` carries `diagnostics`,
//! `RequestError` carries `field`. A Rust panic (a bug) is thrown as an `Error` too rather than
//! trapping; the module instance should not be used after one.
//!
//! The glue below only moves values across the boundary; everything else is in [`convert`],
//! which builds and is tested natively.
// No panics in the glue (the workspace's no-panic lints, Cargo.toml): every exception is an
// `#[expect]` with its reason.

pub mod convert;
mod tools;

use js_sys::{Array, Error, JsString, Reflect};
use meshgate::{Diagnostic, Diagnostics, RequestError};
use wasm_bindgen::prelude::*;

use crate::convert::NamedSource;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A claim or context value: the JSON subset a policy can test (no floats, no `null`). */
export type Value = string | number | boolean | Value[] | { [key: string]: Value };

/** The caller. `namespace`, `service_account` and `trust_domain` are derived from a SPIFFE `principal` when absent. */
export interface RequestSource {
  principal?: string;
  namespace?: string;
  service_account?: string;
  trust_domain?: string;
  labels?: Record<string, string>;
  /** Peer address of the connection (IPv4 or IPv6). */
  ip?: string;
  /** Original client address, e.g. from `X-Forwarded-For`. */
  remote_ip?: string;
}

/** The workload called. */
export interface RequestDestination {
  service?: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** An integer 0..=65535. */
  port?: number;
  ip?: string;
}

/** The request's authenticated end user (a validated JWT). */
export interface RequestAuth {
  principal?: string;
  presenter?: string;
  audiences?: string[];
  claims?: Record<string, Value>;
}

/** The HTTP request. */
export interface RequestHttp {
  method?: string;
  /** A query string or fragment is ignored when matching. */
  path?: string;
  /** Host or `:authority`; a `:port` suffix is ignored. */
  host?: string;
  /** Header names compare ignoring case. */
  headers?: Record<string, string>;
  auth?: RequestAuth;
}

/** The connection. */
export interface RequestConnection {
  sni?: string;
}

/**
 * What a decision is asked about, in the shared JSON shape. Every field is optional: a test on
 * an absent attribute does not hold. Unknown fields, floats and `null`s are errors.
 */
export interface Request {
  source?: RequestSource;
  destination?: RequestDestination;
  request?: RequestHttp;
  connection?: RequestConnection;
  /** When the request is made (RFC 3339, or a `Date`). meshgate never reads a clock: without it, the request has no time. */
  time?: string | Date;
  /** Values for `context.KEY`. */
  context?: Record<string, Value>;
}

/** A rule effect. */
export type Effect = "allow" | "deny" | "audit";

/** A dry-run rule that matched, with what it would have done. */
export interface DryRun {
  rule: string;
  effect: Effect;
}

/** A rule that could not be evaluated for this request (it denies when it is an allow or deny rule). */
export interface EvalError {
  rule: string;
  message: string;
}

/** The outcome of a decision, in the shared JSON shape. */
export interface Decision {
  allowed: boolean;
  /** The deny rule that decided, or every allow rule that matched; empty on a default deny. */
  reasons: string[];
  /** Audit rules that matched. */
  audits: string[];
  dry_run: DryRun[];
  errors: EvalError[];
}

/** An error or warning pointing into policy text. Lines and columns are 1-based; columns count characters. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** A stable code, e.g. `syntax` or `unknown-attribute`. */
  code: string;
  message: string;
  file: string;
  line: number;
  column: number;
  end_line: number;
  end_column: number;
  help?: string;
  /** The source line(s) with a caret under the span, and the help line; no colours. */
  snippet: string;
}

/** One named policy source. */
export interface PolicySource {
  name: string;
  text: string;
}

/** Thrown when a policy set does not load: every diagnostic found, errors and warnings. */
export interface PolicyError extends Error {
  name: "PolicyError";
  diagnostics: Diagnostic[];
}

/** Thrown when a request is not in the shared shape. `field` is its path, e.g. `source.ip` (empty for the whole request). */
export interface RequestError extends Error {
  name: "RequestError";
  field: string;
}
"#;

/// A validated set of rules and roles from one or more sources.
#[wasm_bindgen]
pub struct PolicySet {
    inner: meshgate::PolicySet,
}

#[wasm_bindgen]
impl PolicySet {
    /// Parses and validates one source named `name` (default `policy.mgp`). Throws a
    /// `PolicyError` carrying every diagnostic when it does not load.
    #[wasm_bindgen(js_name = fromSource)]
    pub fn from_source(text: &str, name: Option<String>) -> Result<PolicySet, JsValue> {
        let name = name.as_deref().unwrap_or(convert::DEFAULT_NAME);
        meshgate::PolicySet::parse(text, name)
            .map(|inner| PolicySet { inner })
            .map_err(|d| policy_error(&d))
    }

    /// Parses and validates several sources as one set, in the order given.
    #[wasm_bindgen(js_name = fromSources)]
    pub fn from_sources(
        #[wasm_bindgen(unchecked_param_type = "PolicySource[]")] sources: &JsValue,
    ) -> Result<PolicySet, JsValue> {
        let sources = read_sources(sources)?;
        convert::policy_set(&sources)
            .map(|inner| PolicySet { inner })
            .map_err(|d| policy_error(&d))
    }

    /// The rule ids, in set order.
    #[wasm_bindgen(getter, js_name = ruleIds)]
    pub fn rule_ids(&self) -> Vec<String> {
        self.inner.rules().iter().map(|r| r.id.clone()).collect()
    }

    /// Warnings found while loading (the set loaded despite them).
    #[wasm_bindgen(getter, unchecked_return_type = "Diagnostic[]")]
    pub fn warnings(&self) -> JsValue {
        diagnostics_value(self.inner.warnings())
    }
}

/// An immutable decision engine compiled from a policy set.
#[wasm_bindgen]
pub struct Engine {
    inner: meshgate::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// Compiles a policy set. The engine does not keep the `PolicySet` object alive.
    #[wasm_bindgen(constructor)]
    pub fn new(policy_set: &PolicySet) -> Engine {
        Engine {
            inner: meshgate::Engine::new(&policy_set.inner),
        }
    }

    /// Decides a request given as a plain object in the shared shape. Throws a `RequestError`
    /// naming the field when the request is not in that shape.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn decide(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let json = stringify(request)?;
        let decision = convert::decide_json(&self.inner, &json).map_err(|e| request_error(&e))?;
        parse_json(&decision)
    }

    /// Decides a request given as JSON text and returns the decision as JSON text (for callers
    /// that already hold JSON, such as a proxy or a decision log).
    #[wasm_bindgen(js_name = decideJson)]
    pub fn decide_json(&self, request: &str) -> Result<String, JsValue> {
        convert::decide_json(&self.inner, request).map_err(|e| request_error(&e))
    }

    /// The same as `decide`, with the request read by serde-wasm-bindgen straight from the
    /// JavaScript object. Only built with the `serde-wasm-bindgen` feature, to measure.
    #[cfg(feature = "serde-wasm-bindgen")]
    #[wasm_bindgen(js_name = decideSerde, unchecked_return_type = "Decision")]
    pub fn decide_serde(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: meshgate::Request<'static> =
            serde_wasm_bindgen::from_value(request).map_err(|e| {
                request_error(&RequestError {
                    field: String::new(),
                    message: e.to_string(),
                })
            })?;
        let decision = self.inner.decide(&request);
        let out = serde_wasm_bindgen::Serializer::json_compatible();
        serde::Serialize::serialize(&decision, &out).map_err(JsValue::from)
    }
}

/// Every diagnostic for one source (errors and warnings); empty when it loads cleanly.
#[wasm_bindgen(unchecked_return_type = "Diagnostic[]")]
pub fn check(text: &str, name: Option<String>) -> JsValue {
    let name = name.unwrap_or_else(|| convert::DEFAULT_NAME.to_string());
    diagnostics_value(&convert::check(&[NamedSource {
        name,
        text: text.to_string(),
    }]))
}

/// Every diagnostic for several sources loaded as one set.
#[wasm_bindgen(js_name = checkSources, unchecked_return_type = "Diagnostic[]")]
pub fn check_sources(
    #[wasm_bindgen(unchecked_param_type = "PolicySource[]")] sources: &JsValue,
) -> Result<JsValue, JsValue> {
    let sources = read_sources(sources)?;
    Ok(diagnostics_value(&convert::check(&sources)))
}

/// The version of meshgate in this package.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Runs when the module is instantiated: a Rust panic (a bug) becomes a thrown `Error` instead of
/// an `unreachable` trap.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        wasm_bindgen::throw_str(&format!(
            "meshgate: internal error: {message}{at}; please report it; this module instance should not be used further"
        ))
    }));
}

/// Panics on purpose, so the tests can check that a panic is thrown as an `Error`.
#[doc(hidden)]
#[wasm_bindgen(js_name = __testPanic, skip_typescript)]
pub fn test_panic() {
    #[allow(clippy::panic)]
    {
        panic!("test panic");
    }
}

fn stringify(value: &JsValue) -> Result<String, JsValue> {
    let json = js_sys::JSON::stringify(value).map_err(|e| {
        let message = e
            .dyn_ref::<Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        request_error(&RequestError {
            field: String::new(),
            message: format!("cannot be converted to JSON: {message}"),
        })
    })?;
    let json: &JsValue = json.as_ref();
    // `JSON.stringify` gives `undefined` for undefined, functions and symbols; only an object
    // (not an array, which serde would read as a struct's fields in order) starts with `{`.
    match json.as_string() {
        Some(text) if text.starts_with('{') => Ok(text),
        _ => Err(request_error(&RequestError {
            field: String::new(),
            message: "a request must be an object".to_string(),
        })),
    }
}

fn parse_json(json: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(json)
}

fn read_sources(sources: &JsValue) -> Result<Vec<NamedSource>, JsValue> {
    if !Array::is_array(sources) {
        return Err(type_error(
            "sources must be a list of `{name, text}` objects",
        ));
    }
    let json = js_sys::JSON::stringify(sources)?;
    let json = String::from(json);
    convert::sources_from_json(&json).map_err(|e| type_error(&e))
}

fn diagnostics_value<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> JsValue {
    parse_json(&convert::diagnostics_json(diagnostics)).unwrap_or_else(|_| Array::new().into())
}

fn named_error(message: &str, name: &str) -> Error {
    let error = Error::new(message);
    error.set_name(name);
    error
}

fn policy_error(diagnostics: &Diagnostics) -> JsValue {
    let error = named_error(&format!("invalid policy: {diagnostics}"), "PolicyError");
    let _ = Reflect::set(
        &error,
        &JsString::from("diagnostics"),
        &diagnostics_value(diagnostics.iter()),
    );
    error.into()
}

fn request_error(e: &RequestError) -> JsValue {
    let error = named_error(&e.to_string(), "RequestError");
    let _ = Reflect::set(
        &error,
        &JsString::from("field"),
        &JsString::from(e.field.as_str()),
    );
    error.into()
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}
