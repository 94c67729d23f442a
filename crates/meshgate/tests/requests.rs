//! The request corpus (`spec/conformance/requests/requests.json`): every input is read by
//! [`Request::from_json`] and must give the recorded request or error, field and message. Every
//! accepted request is also fed, field by field, to a [`RequestBuilder`], which must build the
//! same request, and so must every request of the equivalence property's generator. The Python
//! and Node test suites run the same corpus through their bindings.
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::borrow::Cow;
use std::path::PathBuf;

use meshgate::Request;
use meshgate::request::{Field, RequestBuilder};
use serde_json::Value as Json;

fn corpus() -> Vec<Json> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/conformance/requests/requests.json");
    let text = std::fs::read_to_string(&path).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Json::Array(cases) => cases,
        _ => panic!("{} is not a list", path.display()),
    }
}

/// The input text of a case: `json` as it is, or `request` written as JSON.
fn text(case: &Json) -> String {
    match (&case["json"], &case["request"]) {
        (Json::String(s), Json::Null) => s.clone(),
        (Json::Null, r) if !r.is_null() => serde_json::to_string(r).unwrap(),
        _ => panic!("a case has exactly one of `json` and `request`: {case}"),
    }
}

/// The outcome of reading `text`, in the corpus's `expect` shape.
fn outcome(text: &str) -> (Json, Option<Request<'static>>) {
    match Request::from_json(text) {
        Ok(r) => {
            let json: Json = serde_json::from_str(&r.to_json()).unwrap();
            (serde_json::json!({ "request": json }), Some(r))
        }
        Err(e) => (
            serde_json::json!({"error": {"field": e.field, "message": e.message}}),
            None,
        ),
    }
}

/// The request fed to a builder field by field, from its parts.
fn rebuild(r: &Request<'static>) -> Request<'static> {
    let mut b = RequestBuilder::new();
    let strings = [
        (Field::SourcePrincipal, &r.source.principal),
        (Field::SourceNamespace, &r.source.namespace),
        (Field::SourceServiceAccount, &r.source.service_account),
        (Field::SourceTrustDomain, &r.source.trust_domain),
        (Field::DestinationService, &r.destination.service),
        (Field::DestinationNamespace, &r.destination.namespace),
        (Field::RequestMethod, &r.request.method),
        (Field::RequestPath, &r.request.path),
        (Field::RequestHost, &r.request.host),
        (Field::AuthPrincipal, &r.request.auth.principal),
        (Field::AuthPresenter, &r.request.auth.presenter),
        (Field::ConnectionSni, &r.connection.sni),
    ];
    for (field, value) in strings {
        if let Some(v) = value {
            b.str(field, v.clone()).unwrap();
        }
    }
    for (field, ip) in [
        (Field::SourceIp, r.source.ip),
        (Field::SourceRemoteIp, r.source.remote_ip),
        (Field::DestinationIp, r.destination.ip),
    ] {
        if let Some(ip) = ip {
            b.ip(field, ip).unwrap();
        }
    }
    if let Some(port) = r.destination.port {
        b.port(port).unwrap();
    }
    if let Some(t) = r.time {
        b.time(t).unwrap();
    }
    for (field, pairs) in [
        (Field::SourceLabels, &r.source.labels),
        (Field::DestinationLabels, &r.destination.labels),
        (Field::RequestHeaders, &r.request.headers),
    ] {
        if !pairs.is_empty() {
            b.pairs(field, pairs.clone()).unwrap();
        }
    }
    if let Some(a) = &r.request.auth.audiences {
        b.audiences(a.to_vec()).unwrap();
    }
    for (field, values) in [
        (Field::AuthClaims, &r.request.auth.claims),
        (Field::Context, &r.context),
    ] {
        if !values.is_empty() {
            b.values(field, values.clone()).unwrap();
        }
    }
    b.finish().unwrap()
}

#[test]
fn every_reader_gives_the_recorded_outcome() {
    let cases = corpus();
    assert!(cases.len() > 50, "the corpus is there");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (got, request) = outcome(&text(case));
        if got != case["expect"] {
            failures.push(format!(
                "{name}:\n  expected {}\n  got      {got}",
                case["expect"]
            ));
            continue;
        }
        if let Some(r) = request {
            let rebuilt = rebuild(&r);
            if rebuilt != r {
                failures.push(format!("{name}: the builder gives {}", rebuilt.to_json()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn builder_refuses_what_the_corpus_refuses_beyond_the_ceilings() {
    // The ceilings hold however a request is built, not only when it is read from JSON.
    let mut b = RequestBuilder::new();
    let labels = (0..=meshgate::RequestLimits::MAX_MAP_ENTRIES)
        .map(|i| (Cow::Owned(format!("l{i}")), Cow::Borrowed("v")))
        .collect();
    let e = b.pairs(Field::SourceLabels, labels).unwrap_err();
    assert_eq!(e.message, "`source.labels`: more than 1024 entries");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The generated requests of the equivalence property (`meshgate-testgen`): the builder,
    /// fed field by field, builds what the JSON reader reads.
    #[test]
    fn the_builder_builds_what_the_reader_reads(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)
    ) {
        let (_, requests) = meshgate_testgen::from_bytes(&bytes);
        for json in requests {
            let r = Request::from_json(&json).unwrap();
            proptest::prop_assert_eq!(rebuild(&r), r);
        }
    }
}
