//! The example configurations load and decide as their READMEs say: `examples/envoy/envoy.yaml`
//! (the filter configuration inside the bootstrap) and `examples/istio/wasmplugin.yaml` (the
//! WasmPlugin's `pluginConfig`, as Istio hands it to the filter: JSON).

use std::path::PathBuf;

use meshgate_envoy_host_tests::{EnvoyRequest, Plugin, pairs};
use serde_json::{Value, json};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../examples")
}

fn yaml(path: &str) -> Value {
    let file = examples().join(path);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::to_value(doc).expect("YAML as JSON")
}

/// The filter configuration and the JWT filter's `payload_in_metadata` in the Envoy bootstrap.
fn envoy_example() -> (Value, String, String) {
    let doc = yaml("envoy/envoy.yaml");
    let filters = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["http_filters"];
    let by_name = |name: &str| {
        filters
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .unwrap_or_else(|| panic!("no {name} filter"))
            .clone()
    };
    let wasm = by_name("envoy.filters.http.wasm");
    let value = wasm["typed_config"]["config"]["configuration"]["value"]
        .as_str()
        .expect("configuration.value")
        .to_string();
    let payload_key = by_name("envoy.filters.http.jwt_authn")["typed_config"]["providers"]
        ["example"]["payload_in_metadata"]
        .as_str()
        .expect("payload_in_metadata")
        .to_string();
    let ns = doc["node"]["metadata"]["NAMESPACE"]
        .as_str()
        .expect("node.metadata.NAMESPACE")
        .to_string();
    (
        serde_json::from_str(&value).expect("the configuration is JSON"),
        payload_key,
        ns,
    )
}

/// Sends the README's requests and checks the answers.
fn the_readme_requests(config: &Value, payload_key: &str, namespace: &str) {
    let mut p = Plugin::start(&config.to_string());
    let loaded = p
        .log_lines()
        .into_iter()
        .any(|(_, l)| l == "meshgate: policy loaded: 6 rules, mode enforce");
    assert!(loaded, "{:?}", p.log_lines());
    p.set_time(1_774_857_600_000_000_000);
    let workload = |r: EnvoyRequest| {
        r.property("xds.node.metadata.NAMESPACE", namespace)
            .property(
                "xds.node.metadata.LABELS",
                pairs::encode(&[("app", "payments"), ("tier", "api")]),
            )
            .header("x-tenant", "acme")
    };
    let frontend = "spiffe://cluster.local/ns/shop/sa/frontend";
    let get = |path: &str| workload(EnvoyRequest::get(path));

    let r = p.request(&get("/api/orders").peer(frontend));
    assert!(r.continued(), "{r:?}");
    assert_eq!(p.last_decision()["reasons"], json!(["frontend-reads"]));

    let post = workload(
        EnvoyRequest::default()
            .header(":method", "POST")
            .header(":path", "/api/orders")
            .header(":authority", "payments"),
    )
    .peer(frontend);
    let r = p.request(&post);
    assert_eq!(r.status(), Some(403));
    assert_eq!(r.body(), "denied: no rule allows this request\n");

    let r = p.request(&get("/api/admin/users").peer("spiffe://cluster.local/ns/legacy/sa/batch"));
    assert_eq!(r.status(), Some(403));
    assert_eq!(
        r.header("x-meshgate-denied-by").as_deref(),
        Some("no-legacy-admin")
    );

    let admin = json!({"iss": "https://auth.example.com", "sub": "carol", "groups": ["admins"]});
    let r = p.request(&get("/api/admin/users").jwt_under(payload_key, &admin));
    assert!(r.continued(), "{r:?}");
    assert_eq!(p.last_decision()["reasons"], json!(["admins"]));

    let r = p.request(&get("/healthz"));
    assert!(r.continued(), "{r:?}");

    assert_eq!(p.counter("meshgate.allowed"), 3);
    assert_eq!(p.counter("meshgate.denied"), 2);
}

#[test]
fn the_envoy_example_loads_and_decides_as_documented() {
    let (config, payload_key, namespace) = envoy_example();
    assert_eq!(namespace, "prod");
    the_readme_requests(&config, &payload_key, &namespace);
}

#[test]
fn the_istio_example_carries_the_same_policy_and_decides_alike() {
    let doc = yaml("istio/wasmplugin.yaml");
    assert_eq!(doc["kind"], "WasmPlugin");
    let config = doc["spec"]["pluginConfig"].clone();
    let (envoy, _, _) = envoy_example();
    let lines: Vec<&str> = envoy["policy"]
        .as_array()
        .expect("policy lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let istio_policy = config["policy"].as_str().expect("policy text");
    assert_eq!(
        istio_policy
            .trim_end()
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>(),
        lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>(),
        "the two examples should carry the same policy"
    );
    let key = config["jwt"]["payload_key"]
        .as_str()
        .expect("jwt.payload_key");
    the_readme_requests(&config, key, "prod");
}
