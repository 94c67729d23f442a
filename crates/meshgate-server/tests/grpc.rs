//! The gRPC listener end to end in one process: a [`Server`] bound on an ephemeral port and a
//! tonic `AuthorizationClient` (the client Envoy's generated API describes): allow and deny
//! with the answer's status and header, Istio peer metadata reaching `source.*`, the message
//! size limit, and graceful shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed setup or assertion panics"
)]

use std::collections::HashMap;

use base64::Engine as _;
use envoy_types::ext_authz::v3::pb::{CheckRequest, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
use meshgate_server::{Config, Mapping, Server};
use prost::Message as _;

fn check(path: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                time: None,
                http: Some(HttpRequest {
                    method: "GET".into(),
                    path: path.into(),
                    host: "shop.example.com".into(),
                    headers,
                    ..HttpRequest::default()
                }),
            }),
            ..AttributeContext::default()
        }),
    }
}

fn peer_metadata(namespace: &str, app: &str) -> String {
    let s = |v: &str| Value {
        kind: Some(Kind::StringValue(v.into())),
    };
    let mut labels = Struct::default();
    labels.fields.insert("app".into(), s(app));
    let mut node = Struct::default();
    node.fields.insert("NAMESPACE".into(), s(namespace));
    node.fields.insert(
        "LABELS".into(),
        Value {
            kind: Some(Kind::StructValue(labels)),
        },
    );
    base64::engine::general_purpose::STANDARD.encode(node.encode_to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_over_grpc_then_a_graceful_shutdown() {
    let dir = std::env::temp_dir().join(format!("meshgate-server-grpc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("p.mgp");
    std::fs::write(
        &policy,
        r#"deny "no-admin" { to path "/admin/**" }
allow "frontend" { from namespace "shop", label app = "frontend" to namespace "payments" }
"#,
    )
    .unwrap();
    let config = Config {
        policy: vec![policy],
        grpc: Some("127.0.0.1:0".parse().unwrap()),
        mapping: Mapping {
            destination_namespace: Some("payments".into()),
            trust_peer_metadata: true,
            ..Mapping::default()
        },
        max_request_bytes: 4096,
        ..Config::default()
    };
    let server = Server::bind(config).await.unwrap();
    let addr = server.grpc_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let mut client = AuthorizationClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let frontend = peer_metadata("shop", "frontend");
    let r = client
        .check(check(
            "/api",
            &[("x-envoy-peer-metadata", frontend.as_str())],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status.unwrap().code, 0, "the caller's metadata allows");
    assert!(matches!(r.http_response, Some(HttpResponse::OkResponse(_))));

    let other = peer_metadata("shop", "batch");
    let r = client
        .check(check("/api", &[("x-envoy-peer-metadata", other.as_str())]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status.unwrap().code, 7, "another workload is denied");

    let r = client
        .check(check(
            "/admin/x",
            &[("x-envoy-peer-metadata", frontend.as_str())],
        ))
        .await
        .unwrap()
        .into_inner();
    let Some(HttpResponse::DeniedResponse(denied)) = r.http_response else {
        panic!("not a denial");
    };
    assert_eq!(denied.status.unwrap().code, 403);
    assert!(denied.headers.iter().any(|h| {
        let h = h.header.as_ref().unwrap();
        h.key == "x-meshgate-denied-by" && h.value == "no-admin"
    }));
    assert_eq!(denied.body, "denied by rule `no-admin`\n");

    let r = client
        .check(check("/api", &[("x-envoy-peer-metadata", "not base64!")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status.unwrap().code, 7, "unreadable metadata denies");

    // Over the message size limit: the call fails, which Envoy answers with a denial.
    let big = "x".repeat(8192);
    let e = client
        .check(check("/api", &[("x-pad", big.as_str())]))
        .await
        .unwrap_err();
    assert_ne!(e.code(), tonic::Code::Ok);

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(
        client.check(check("/api", &[])).await.is_err(),
        "the server has stopped"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
