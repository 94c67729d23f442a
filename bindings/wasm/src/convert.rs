//! The parts of the bindings that need no JavaScript: reading sources and requests, and writing
//! decisions and diagnostics in the shared JSON shapes. Kept apart so they build and are tested
//! natively.

use meshgate::{Diagnostic, Diagnostics, Engine, PolicySet, Request, RequestError};
use serde::Deserialize;

/// The file name given to a policy source when the caller names none.
pub const DEFAULT_NAME: &str = "policy.mgp";

/// One named policy source, as `PolicySet.fromSources` takes it: `{name, text}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedSource {
    /// File name shown in diagnostics.
    pub name: String,
    /// Policy text.
    pub text: String,
}

/// Reads a JSON list of `{name, text}` sources.
pub fn sources_from_json(json: &str) -> Result<Vec<NamedSource>, String> {
    serde_json::from_str::<Vec<NamedSource>>(json).map_err(|e| {
        // serde_json names a line and column of the JSON text, which mean nothing to a caller
        // who passed a JavaScript array: keep only what is wrong.
        let text = e.to_string();
        let text = match text.rfind(" at line ") {
            Some(i) => text.get(..i).unwrap_or(&text).to_string(),
            None => text,
        };
        format!("sources must be a list of `{{name, text}}` objects: {text}")
    })
}

/// Parses and validates several sources as one set, in the order given.
pub fn policy_set(sources: &[NamedSource]) -> Result<PolicySet, Diagnostics> {
    let mut builder = PolicySet::builder();
    for s in sources {
        builder.add_source(s.name.as_str(), s.text.as_str());
    }
    builder.build()
}

/// Every diagnostic for the sources (errors and warnings), empty when the set loads cleanly.
pub fn check(sources: &[NamedSource]) -> Vec<Diagnostic> {
    match policy_set(sources) {
        Ok(set) => set.warnings().to_vec(),
        Err(d) => d.0,
    }
}

/// Diagnostics as a JSON list in the shared shape.
pub fn diagnostics_json<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> String {
    let list: Vec<_> = diagnostics.into_iter().map(Diagnostic::to_json).collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_string())
}

/// Decides a request given as JSON and returns the decision as JSON.
pub fn decide_json(engine: &Engine, json: &str) -> Result<String, RequestError> {
    // `Request::from_json` feeds the core's request builder, reading without tracking the
    // field's path; only a request that fails is read again to name the field.
    let request = Request::from_json(json)?;
    Ok(engine.decide(&request).to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Vec<NamedSource> {
        vec![NamedSource {
            name: DEFAULT_NAME.to_string(),
            text: text.to_string(),
        }]
    }

    #[test]
    fn decides_json_in_the_shared_shape() {
        let set = policy_set(&one(r#"allow "health" { to path "/healthz" }"#)).unwrap();
        let engine = Engine::new(&set);
        let out = decide_json(&engine, r#"{"request": {"path": "/healthz"}}"#).unwrap();
        assert_eq!(
            out,
            r#"{"allowed":true,"reasons":["health"],"audits":[],"dry_run":[],"errors":[]}"#
        );
        let e = decide_json(&engine, r#"{"source": {"ip": "nope"}}"#).unwrap_err();
        assert_eq!(e.field, "source.ip");
    }

    #[test]
    fn check_reports_every_error_with_position() {
        let d = check(&one(
            "allow \"a\" { to path \"/x\" }\nallow \"a\" { to path \"/y\" }\n",
        ));
        assert!(!d.is_empty());
        let json: serde_json::Value = serde_json::from_str(&diagnostics_json(&d)).unwrap();
        let first = &json[0];
        assert_eq!(first["file"], DEFAULT_NAME);
        assert!(first["line"].as_u64().unwrap() >= 1);
        assert!(first["snippet"].as_str().unwrap().contains("allow"));
    }

    #[test]
    fn sources_must_be_named_objects() {
        let s = sources_from_json(r#"[{"name": "a.mgp", "text": ""}]"#).unwrap();
        assert_eq!(s[0].name, "a.mgp");
        let e = sources_from_json(r#"[{"name": "a.mgp"}]"#).unwrap_err();
        assert!(e.contains("missing field `text`"), "{e}");
        assert!(!e.contains(" at line "), "{e}");
    }
}
