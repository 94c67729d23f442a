//! The Istio import corpus (`spec/conformance/istio/`):
//!
//! - `testdata/`: Istio's own translation-test inputs; each must import, or be refused with an
//!   error naming the unsupported field (the expectation of every file is listed below);
//! - `cases/*.yaml`: policies with requests and the decisions Istio documents for them, run
//!   through import → engine (and the reference evaluator);
//! - the round trip: every generated policy parses, and `lint` warns only with codes that
//!   reflect the source policy itself.

#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshgate::{Engine, PolicySet, Request, SourceFile};
use meshgate_istio::yaml::{Kind, Node};
use meshgate_istio::{ImportOptions, import};
use serde_json::Value as Json;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/conformance/istio")
}

/// Lint codes that reflect the source policy, not the translation: an Istio rule without
/// `from` (`no-subject`), an ALLOW policy without rules (`never-matches` on `when false`), a
/// rule whose paths allow everything under `/` (`broad-path`), and rules that Istio's own
/// semantics make redundant (`subsumed-allow`, `shadowed-by-deny`, `duplicate-rule`).
const SOURCE_LINTS: &[&str] = &[
    "no-subject",
    "never-matches",
    "broad-path",
    "subsumed-allow",
    "shadowed-by-deny",
    "duplicate-rule",
];

fn round_trip(name: &str, text: &str) -> PolicySet {
    let set = PolicySet::parse(text, name)
        .unwrap_or_else(|e| panic!("{name}: generated policy does not parse: {e:?}\n{text}"));
    // What the import writes is already in `meshgate fmt`'s layout.
    let formatted = meshgate_tools::fmt::format_source(text, name).unwrap_or_default();
    assert_eq!(formatted, text, "{name}: generated policy is not formatted");
    for w in meshgate_tools::lint::lint(&set) {
        assert!(
            SOURCE_LINTS.contains(&w.code()),
            "{name}: lint warning not explained by the source: {}\n{text}",
            w.render()
        );
    }
    set
}

/// What each of Istio's inputs must give: `Ok`, or an error whose message names the field.
const TESTDATA: &[(&str, Result<(), &str>)] = &[
    ("http/allow-empty-rule-in.yaml", Ok(())),
    (
        "http/allow-full-rule-in.yaml",
        Err("`experimental.envoy.filters.a.b[c]` is not supported"),
    ),
    ("http/allow-host-before-111-in.yaml", Ok(())),
    ("http/allow-nil-rule-in.yaml", Ok(())),
    ("http/allow-path-in.yaml", Ok(())),
    ("http/audit-full-rule-in.yaml", Ok(())),
    (
        "http/custom-bad-multiple-providers-in.yaml",
        Err("`spec.action` `CUSTOM` is not supported"),
    ),
    (
        "http/custom-simple-http-in.yaml",
        Err("`spec.action` `CUSTOM` is not supported"),
    ),
    ("http/deny-and-allow-in.yaml", Ok(())),
    ("http/deny-empty-rule-in.yaml", Ok(())),
    ("http/dry-run-allow-and-deny-in.yaml", Ok(())),
    ("http/dry-run-allow-in.yaml", Ok(())),
    ("http/dry-run-mix-in.yaml", Ok(())),
    ("http/multiple-policies-in.yaml", Ok(())),
    ("http/simple-policy-multiple-td-aliases-in.yaml", Ok(())),
    ("http/simple-policy-principal-with-wildcard-in.yaml", Ok(())),
    ("http/simple-policy-td-aliases-in.yaml", Ok(())),
    ("http/single-policy-in.yaml", Ok(())),
    ("http/td-aliases-source-principal-in.yaml", Ok(())),
    ("http/trust-domains-in.yaml", Ok(())),
    ("tcp/allow-both-http-tcp-in.yaml", Ok(())),
    ("tcp/allow-only-http-in.yaml", Ok(())),
    (
        "tcp/audit-both-http-tcp-in.yaml",
        Err("`experimental.envoy.filters.a.b[c]` is not supported"),
    ),
    (
        "tcp/custom-both-http-tcp-in.yaml",
        Err("`spec.provider` is not supported"),
    ),
    (
        "tcp/custom-only-http-in.yaml",
        Err("`spec.action` `CUSTOM` is not supported"),
    ),
    (
        "tcp/deny-both-http-tcp-in.yaml",
        Err("`experimental.envoy.filters.a.b[c]` is not supported"),
    ),
    ("tcp/dry-run-mix-in.yaml", Ok(())),
];

#[test]
fn istio_testdata_imports_or_names_the_unsupported_field() {
    let dir = corpus().join("testdata");
    let mut found = Vec::new();
    for sub in ["http", "tcp"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            found.push(format!(
                "{sub}/{}",
                e.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    let mut listed: Vec<String> = TESTDATA.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "every testdata file has an expectation");
    assert_eq!(found.len(), 27);
    for (file, expected) in TESTDATA {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let result = import(&[(*file, text.as_str())], &ImportOptions::default());
        match (expected, result) {
            (Ok(()), Ok(imp)) => {
                round_trip(file, &imp.policy);
            }
            (Err(needle), Err(errors)) => {
                assert!(
                    errors.iter().any(|e| e.message().contains(needle)),
                    "{file}: expected an error containing {needle:?}, got {errors:#?}"
                );
                for e in &errors {
                    assert!(e.code().starts_with("istio-"), "{file}: {}", e.render());
                }
            }
            (Ok(()), Err(errors)) => panic!(
                "{file}: expected an import, got {}",
                errors.iter().map(|e| e.render()).collect::<String>()
            ),
            (Err(needle), Ok(_)) => panic!("{file}: expected an error containing {needle:?}"),
        }
    }
}

fn to_json(node: &Node) -> Json {
    match &node.kind {
        Kind::Null => Json::Null,
        Kind::Str(s) => Json::String(s.clone()),
        Kind::Other("an integer", s) => Json::Number(s.parse::<i64>().unwrap().into()),
        Kind::Other("a boolean", s) => Json::Bool(s == "true"),
        Kind::Other(t, s) => panic!("unexpected {t} {s}"),
        Kind::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}

fn strings(v: Option<&Json>) -> Option<Vec<String>> {
    v.map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    })
}

#[test]
fn cases_decide_as_istio_documents() {
    let dir = corpus().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "at least 40 cases, found {}",
        files.len()
    );
    let mut requests = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let file = SourceFile::new(name.clone(), text);
        let docs = meshgate_istio::yaml::load(&Arc::clone(&file)).unwrap();
        let case = to_json(&docs[0]);
        for key in case.as_object().unwrap().keys() {
            assert!(
                [
                    "description",
                    "source",
                    "root_namespace",
                    "trust_domain",
                    "trust_domain_aliases",
                    "policies",
                    "requests"
                ]
                .contains(&key.as_str()),
                "{name}: unknown key {key}"
            );
        }
        assert!(case["description"].is_string(), "{name}: description");
        assert!(
            case["source"]
                .as_str()
                .unwrap()
                .starts_with("https://istio.io/"),
            "{name}: source"
        );
        let mut options = ImportOptions::default();
        if let Some(root) = case.get("root_namespace") {
            options.root_namespace = root.as_str().expect("root_namespace").to_string();
        }
        if let Some(td) = case.get("trust_domain") {
            options.trust_domain = td.as_str().expect("trust_domain").to_string();
        }
        if let Some(aliases) = case.get("trust_domain_aliases") {
            options.trust_domain_aliases = strings(Some(aliases)).expect("trust_domain_aliases");
        }
        let policies = case["policies"].as_str().unwrap();
        let imported = import(&[(name.as_str(), policies)], &options).unwrap_or_else(|e| {
            panic!(
                "{name}: {}",
                e.iter().map(|d| d.render()).collect::<String>()
            )
        });
        let set = round_trip(&name, &imported.policy);
        let engine = Engine::new(&set);
        let reqs = case["requests"].as_array().unwrap();
        let allowed_outcomes: Vec<bool> = reqs
            .iter()
            .map(|r| r["allowed"].as_bool().unwrap())
            .collect();
        assert!(
            allowed_outcomes.contains(&true) && allowed_outcomes.contains(&false),
            "{name}: requests must show both outcomes"
        );
        for r in reqs {
            let rname = r["name"].as_str().unwrap();
            let request = Request::from_json(&r["request"].to_string())
                .unwrap_or_else(|e| panic!("{name} / {rname}: {e}"));
            for (which, d) in [
                ("engine", engine.decide(&request)),
                ("reference", set.decide_reference(&request)),
            ] {
                let ctx = format!(
                    "{name} / {rname} ({which}): {}\n{}",
                    d.to_json(),
                    imported.policy
                );
                assert_eq!(d.allowed, r["allowed"].as_bool().unwrap(), "{ctx}");
                assert!(d.errors.is_empty(), "{ctx}");
                if let Some(reasons) = strings(r.get("reasons")) {
                    assert_eq!(d.reasons.to_vec(), reasons, "{ctx}");
                }
                if let Some(audits) = strings(r.get("audits")) {
                    assert_eq!(d.audits.to_vec(), audits, "{ctx}");
                }
                if let Some(dry) = strings(r.get("dry_run")) {
                    let got: Vec<String> = d
                        .dry_run
                        .iter()
                        .map(|x| format!("{} {}", format!("{:?}", x.effect).to_lowercase(), x.rule))
                        .collect();
                    assert_eq!(got, dry, "{ctx}");
                }
            }
            requests += 1;
        }
    }
    assert!(requests >= 120, "{requests} requests");
}

/// Istio's translation tests with a trust-domain bundle (`builder_test.go`), checked against
/// the principals of their expected Envoy configs.
#[test]
fn istio_trust_domain_testdata_expands_as_istio_does() {
    let dir = corpus().join("testdata/http");
    let options = |td: &str, aliases: &[&str]| ImportOptions {
        trust_domain: td.to_string(),
        trust_domain_aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..ImportOptions::default()
    };
    let file = "simple-policy-multiple-td-aliases-in.yaml";
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let imported = import(
        &[(file, text.as_str())],
        &options("td1", &["cluster.local", "some-td"]),
    )
    .unwrap();
    let set = round_trip(file, &imported.policy);
    let engine = Engine::new(&set);
    for (td, allowed) in [
        ("td1", true),
        ("cluster.local", true),
        ("some-td", true),
        ("td2", false),
    ] {
        let request = Request::from_json(&format!(
            r#"{{"source": {{"principal": "spiffe://{td}/ns/rule[0]/sa/from[0]-principal[0]"}},
                "destination": {{"namespace": "foo", "labels": {{"app": "httpbin", "version": "v1"}}}},
                "request": {{"method": "GET", "path": "/"}}}}"#
        ))
        .unwrap();
        for d in [engine.decide(&request), set.decide_reference(&request)] {
            assert_eq!(
                d.allowed,
                allowed,
                "{td}: {}\n{}",
                d.to_json(),
                imported.policy
            );
        }
    }
    // Istio's expected output: `some-td/…` expanded to all three, `td1` first.
    assert!(imported.policy.contains(
        r#"principal ["spiffe://td1/ns/rule[0]/sa/from[1]-principal[0]", "spiffe://cluster.local/ns/rule[0]/sa/from[1]-principal[0]", "spiffe://some-td/ns/rule[0]/sa/from[1]-principal[0]""#
    ), "{}", imported.policy);
    assert!(
        imported
            .policy
            .contains("# Trust domains (principals match each): td1, cluster.local, some-td"),
        "{}",
        imported.policy
    );

    // `*bar/…` suffix-matches the alias `foobar`: kept as a suffix, plus `td1/…` exactly
    // (`spiffe://td1/…principal[1]` and `spiffe://.*bar/…` in Istio's output).
    let file = "simple-policy-principal-with-wildcard-in.yaml";
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let imported = import(&[(file, text.as_str())], &options("td1", &["foobar"])).unwrap();
    round_trip(file, &imported.policy);
    for pattern in [
        r#""spiffe://td1/ns/foo/sa/rule[0]-from[1]-principal[1]""#,
        r#""spiffe://**/*bar/ns/foo/sa/rule[0]-from[1]-principal[1]""#,
        r#""spiffe://**/*/ns/foo/sa/rule[0]-from[1]-principal[0]""#,
    ] {
        assert!(
            imported.policy.contains(pattern),
            "{pattern}\n{}",
            imported.policy
        );
    }
    assert!(
        !imported.policy.contains("spiffe://foobar/"),
        "{}",
        imported.policy
    );
}
