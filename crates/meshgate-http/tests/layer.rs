//! The tower layer in a service stack: allow, deny, hidden rules, dry-run, fail closed, decision
//! records and reload.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use meshgate::{PolicySet, SharedEngine};
use meshgate_http::{AuthorizeLayer, DENIED_BY, Mapping, Origin, PeerInfo};
use tower::{Service, ServiceBuilder, ServiceExt};

const POLICY: &str = r#"
    allow "frontend-reads" {
      from principal "spiffe://cluster.local/ns/shop/sa/frontend"
      to path "/api/**"
    }
    deny "no-admin" { to path "/api/admin/**" }
"#;

const FRONTEND: &str = "spiffe://cluster.local/ns/shop/sa/frontend";

fn engine(text: &str) -> Arc<SharedEngine> {
    Arc::new(SharedEngine::new(&PolicySet::parse(text, "p.mgp").unwrap()))
}

async fn backend(_req: Request<()>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("from the service".to_string()))
}

fn request(path: &str, principal: Option<&str>) -> Request<()> {
    let mut r = Request::get(path).body(()).unwrap();
    if let Some(p) = principal {
        r.extensions_mut()
            .insert(PeerInfo::default().with_uri_sans(vec![p.to_string()]));
    }
    r
}

async fn call<S, B>(svc: &mut S, req: Request<()>) -> (StatusCode, Option<String>, String)
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = svc.ready().await.unwrap().call(req).await.unwrap();
    let status = response.status();
    let rule = response
        .headers()
        .get(DENIED_BY)
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, rule, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn allows_denies_and_names_the_rule() {
    let layer = AuthorizeLayer::new(engine(POLICY), Mapping::new());
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);

    let ok = call(&mut svc, request("/api/cart", Some(FRONTEND))).await;
    assert_eq!(ok, (StatusCode::OK, None, "from the service".to_string()));

    let admin = call(&mut svc, request("/api/admin/users", Some(FRONTEND))).await;
    assert_eq!(
        admin,
        (
            StatusCode::FORBIDDEN,
            Some("no-admin".to_string()),
            "denied by rule `no-admin`\n".to_string()
        )
    );

    let anonymous = call(&mut svc, request("/api/cart", None)).await;
    assert_eq!(
        anonymous,
        (
            StatusCode::FORBIDDEN,
            None,
            "denied: no rule allows this request\n".to_string()
        )
    );

    let ambiguous = call(&mut svc, request("/api/x/../admin/users", Some(FRONTEND))).await;
    assert_eq!(ambiguous.0, StatusCode::FORBIDDEN);
    assert_eq!(ambiguous.2, "denied: the request could not be evaluated\n");
}

#[tokio::test]
async fn hides_the_rule_and_uses_a_custom_denial() {
    let layer = AuthorizeLayer::new(engine(POLICY), Mapping::new())
        .reveal_rule(false)
        .deny_status(StatusCode::UNAUTHORIZED);
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);
    let r = call(&mut svc, request("/api/admin/x", Some(FRONTEND))).await;
    assert_eq!(
        r,
        (
            StatusCode::UNAUTHORIZED,
            None,
            "access denied\n".to_string()
        )
    );

    let layer = AuthorizeLayer::new(engine(POLICY), Mapping::new()).deny_body("nope");
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);
    let r = call(&mut svc, request("/api/admin/x", Some(FRONTEND))).await;
    assert_eq!(r.2, "nope");
    assert_eq!(r.1.as_deref(), Some("no-admin"));
}

#[tokio::test]
async fn records_every_decision_and_dry_run_blocks_nothing() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let shared = engine(POLICY);
    let version = shared.version();
    let layer = AuthorizeLayer::new(shared, Mapping::new())
        .dry_run(true)
        .on_decision(move |record| sink.lock().unwrap().push(record.to_json()));
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);

    let r = call(&mut svc, request("/api/admin/x", Some(FRONTEND))).await;
    assert_eq!(r.0, StatusCode::OK, "dry-run lets denials through");
    let lines = lines.lock().unwrap();
    let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["allowed"], false);
    assert_eq!(line["reasons"], serde_json::json!(["no-admin"]));
    assert_eq!(line["mode"], "dry-run");
    assert_eq!(line["action"], "continue");
    assert_eq!(line["principal"], FRONTEND);
    assert_eq!(line["path"], "/api/admin/x");
    assert_eq!(line["version"], version.as_str());
    assert!(line["time"].is_string());
}

#[tokio::test]
async fn a_request_it_cannot_read_is_denied() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let layer = AuthorizeLayer::new(engine(r#"allow "all" { to path "/**" }"#), Mapping::new())
        .on_decision(move |record| sink.lock().unwrap().push(record.to_json()));
    let forwarded = AuthorizeLayer::new(
        engine(r#"allow "all" { to path "/**" }"#),
        Mapping::new().origin(Origin::Forwarded),
    );
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);
    let mut fwd = ServiceBuilder::new().layer(forwarded).service_fn(backend);

    // Trusting no XFCC, a direct request with any path is allowed by `all`.
    assert_eq!(call(&mut svc, request("/x", None)).await.0, StatusCode::OK);
    // A forwarded question whose client address does not parse is refused, not guessed.
    let mut bad = Request::get("/auth")
        .header("x-forwarded-uri", "/x")
        .header("x-forwarded-for", "somewhere")
        .body(())
        .unwrap();
    bad.extensions_mut().insert(PeerInfo::default());
    let r = call(&mut fwd, bad).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    assert!(r.2.contains("x-forwarded-for"), "{}", r.2);
}

#[tokio::test]
async fn a_reload_applies_to_the_next_request_and_a_broken_one_is_refused() {
    let shared = engine(POLICY);
    let layer = AuthorizeLayer::new(Arc::clone(&shared), Mapping::new());
    let mut svc = ServiceBuilder::new().layer(layer).service_fn(backend);
    assert_eq!(
        call(&mut svc, request("/api/cart", Some(FRONTEND))).await.0,
        StatusCode::OK
    );

    let mut v2 = PolicySet::builder();
    v2.add_source("p.mgp", r#"deny "closed" { to path "/**" }"#);
    shared.reload(&v2).unwrap();
    let r = call(&mut svc, request("/api/cart", Some(FRONTEND))).await;
    assert_eq!(
        (r.0, r.1.as_deref()),
        (StatusCode::FORBIDDEN, Some("closed"))
    );

    let mut broken = PolicySet::builder();
    broken.add_source("p.mgp", "allow {");
    assert!(shared.reload(&broken).is_err());
    let r = call(&mut svc, request("/api/cart", Some(FRONTEND))).await;
    assert_eq!(
        r.1.as_deref(),
        Some("closed"),
        "the last good version keeps deciding"
    );
}
