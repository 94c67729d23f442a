//! The bodies of meshgate's fuzz targets, as plain functions.
//!
//! cargo-fuzz runs them under libFuzzer (`cargo xtask fuzz`); `cargo test` replays the saved
//! corpora through the very same functions (`tests/replay.rs`), so a finding stays fixed. Each
//! function panics exactly when it finds a bug: a panic inside meshgate, an invalid span, the
//! indexed engine disagreeing with the reference evaluator, a formatter that changes meaning.

#![expect(clippy::panic, reason = "a fuzz target reports a bug by panicking")]

use meshgate::{Diagnostic, Engine, PolicySet, Request};
use meshgate_tools::fmt::format_source;

/// Requests decided against every policy that loads in [`parse`] and [`fmt_roundtrip`].
const PROBES: &[&str] = &[
    r#"{}"#,
    r#"{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend", "ip": "10.1.2.3"},
        "destination": {"service": "payments.prod.svc.cluster.local", "namespace": "prod", "port": 443},
        "request": {"method": "GET", "path": "/api/v1/x", "host": "api.example.com",
                    "headers": {"x-flag": "1"},
                    "auth": {"principal": "iss/alice", "claims": {"groups": ["admins"]}}},
        "time": "2026-03-29T01:30:00Z", "context": {"tier": "gold"}}"#,
    r#"{"source": {"namespace": "a"}, "request": {"method": "POST", "path": "/admin/x"},
        "time": "2026-10-25T01:30:00Z"}"#,
];

/// The policy [`request_json`] decides requests against: the mesh example.
const MESH_POLICY: &str = include_str!("../../examples/mesh/policy.mgp");

/// Arbitrary bytes as a policy file: parsing and validation never panic, every diagnostic has
/// a valid span and renders, and a policy that loads compiles and decides as the reference.
pub fn parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match PolicySet::parse(&text, "fuzz.mgp") {
        Ok(set) => {
            set.warnings()
                .iter()
                .for_each(|d| check_diagnostic(d, &text));
            decide_probes(&set);
        }
        Err(diagnostics) => {
            assert!(diagnostics.has_errors(), "rejected without an error");
            // Rendering is slow; a few are enough to catch a bad span.
            for (i, d) in diagnostics.iter().enumerate() {
                check_diagnostic(d, &text);
                if i < 4 {
                    assert!(!d.render().is_empty());
                }
            }
        }
    }
}

/// Arbitrary bytes as Istio YAML: the import never panics; every diagnostic points into the
/// input; and whatever it generates is a policy that loads (the import never writes text the
/// language refuses) and decides as the reference.
pub fn istio_import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let options = meshgate_istio::ImportOptions::default();
    match meshgate_istio::import(&[("fuzz.yaml".to_string(), text.to_string())], &options) {
        Ok(import) => {
            import
                .warnings
                .iter()
                .for_each(|d| check_diagnostic(d, &text));
            match PolicySet::parse(&import.policy, "imported.mgp") {
                Ok(set) => decide_probes(&set),
                Err(e) => panic!(
                    "the import wrote a policy that does not load: {e:?}\n{}",
                    import.policy
                ),
            }
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "refused without a diagnostic");
            for (i, d) in diagnostics.iter().enumerate() {
                check_diagnostic(d, &text);
                if i < 4 {
                    assert!(!d.render().is_empty());
                }
            }
        }
    }
}

/// Structured random policy sets and requests (every construct of the language, from small
/// vocabularies so that rules overlap): the indexed engine decides exactly as the reference
/// evaluator on every request.
pub fn decide_differential(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok((text, requests)) = meshgate_testgen::case(&mut u) else {
        return;
    };
    let set = match PolicySet::parse(&text, "generated.mgp") {
        Ok(set) => set,
        Err(e) => panic!(
            "the generator wrote a policy that does not load:\n{text}\n{}",
            e.render()
        ),
    };
    let engine = Engine::new(&set);
    for json in &requests {
        let request = match Request::from_json(json) {
            Ok(r) => r,
            Err(e) => panic!("the generator wrote a bad request {json}: {e}"),
        };
        let indexed = engine.decide(&request);
        let reference = set.decide_reference(&request);
        assert_eq!(indexed, reference, "policy:\n{text}\nrequest: {json}");
    }
}

/// Structured random policy sets and requests in the fragment meshgate and Cedar both express
/// (principals, derived namespaces and service accounts, labels, IPs, ports, methods, paths,
/// claims, three-valued conditions; `spec/cedar.md`): meshgate's engine (equal to its
/// reference evaluator) and `cedar_policy::Authorizer` allow exactly the same requests. The
/// generator and both translations are `meshgate_benches::oracle`, which shares no code with
/// meshgate's engine.
pub fn cedar_differential(data: &[u8]) {
    meshgate_benches::oracle::check_bytes(data);
}

/// Arbitrary bytes as a JSON request: parsing never panics; a request that parses is decided
/// without panicking, identically by the engine and the reference evaluator, and a request
/// that does not parse gets an error (there is no decision, so no allow).
pub fn request_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Request::from_json(text) {
        Ok(request) => {
            let set = mesh_policy();
            let engine = Engine::new(set);
            let indexed = engine.decide(&request);
            let reference = set.decide_reference(&request);
            assert_eq!(indexed, reference, "request: {text}");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "an empty request error"),
    }
}

/// Arbitrary text through the formatter: a policy that parses formats to text that parses,
/// formatting it again changes nothing, and the formatted policy decides every probe exactly
/// as the original (validity, too, is kept: a set that loads still loads).
pub fn fmt_roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(formatted) = format_source(text, "fuzz.mgp") else {
        return;
    };
    let again = match format_source(&formatted, "fuzz.mgp") {
        Ok(again) => again,
        Err(e) => panic!(
            "formatted text does not parse:\n{formatted}\n{}",
            e.render()
        ),
    };
    assert_eq!(again, formatted, "formatting is not idempotent");
    let (Ok(before), after) = (
        PolicySet::parse(text, "fuzz.mgp"),
        PolicySet::parse(&formatted, "fuzz.mgp"),
    ) else {
        return;
    };
    let after = match after {
        Ok(after) => after,
        Err(e) => panic!(
            "a valid policy no longer loads once formatted:\n{formatted}\n{}",
            e.render()
        ),
    };
    for json in PROBES {
        let Ok(request) = Request::from_json(json) else {
            continue;
        };
        let a = before.decide_reference(&request);
        let b = after.decide_reference(&request);
        assert_eq!(
            a, b,
            "formatting changed a decision:\n{text}\n---\n{formatted}"
        );
    }
}

fn mesh_policy() -> &'static PolicySet {
    static SET: std::sync::OnceLock<PolicySet> = std::sync::OnceLock::new();
    SET.get_or_init(|| match PolicySet::parse(MESH_POLICY, "policy.mgp") {
        Ok(set) => set,
        Err(e) => panic!("examples/mesh/policy.mgp does not load:\n{}", e.render()),
    })
}

fn decide_probes(set: &PolicySet) {
    let engine = Engine::new(set);
    for json in PROBES {
        let Ok(request) = Request::from_json(json) else {
            continue;
        };
        assert_eq!(engine.decide(&request), set.decide_reference(&request));
    }
}

/// A span lies inside its file, on character boundaries, and its line and column are 1-based.
fn check_diagnostic(d: &Diagnostic, text: &str) {
    let span = d.span();
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(
        start <= end && end <= text.len(),
        "span {start}..{end} outside a file of {} bytes: {d}",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "span {start}..{end} splits a character: {d}"
    );
    let (s, e) = (d.start(), d.end());
    assert!(
        s.line >= 1 && s.column >= 1 && e.line >= s.line,
        "bad line/column: {d}"
    );
    assert!(!d.message().is_empty(), "empty message");
}
