//! The HTTP front ends: Envoy's ext_authz HTTP service and forward auth (nginx `auth_request`,
//! Caddy `forward_auth`, Traefik `ForwardAuth`) on one listener, and the admin listener
//! (`/metrics`, `/healthz`, `/readyz`).
//!
//! A check is any request to the check listener. The original request is read with
//! `meshgate-http`'s forwarded mapping (the same as the tower layer's), completed for Envoy's
//! HTTP ext_authz, which sends the original request line as the check's own:
//!
//! | field | first of |
//! |---|---|
//! | method | `X-Forwarded-Method`, `X-Original-Method`, the check's own method (Envoy HTTP ext_authz) |
//! | path | `X-Forwarded-Uri`, `X-Original-URI`, the check's own path and query without the configured prefix |
//! | host | `X-Forwarded-Host`, `X-Original-Host`, `Host` |
//! | `source.ip` | `X-Real-IP`, the last `X-Forwarded-For` entry (the client as the proxy in front saw it) |
//! | `source.remote_ip` | the first `X-Forwarded-For` entry |
//! | `source.principal` | the `URI` of `x-forwarded-client-cert`, when trusted |
//! | `request.auth` | the configured JWT payload header, when set |
//!
//! A forwarding header sent twice is ambiguous and refused (the check is denied).
//!
//! `200` allows (empty body); a denial is the configured status (403) with a plain-text body
//! and, when the rule may be revealed, `x-meshgate-denied-by`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{
    HeaderMap, HeaderName, HeaderValue, Request as HttpRequest, Response, StatusCode,
};
use axum::routing::get;
use meshgate::Request;

use crate::Mapping;
use crate::attrs::{self, Unreadable};
use crate::check::{RULE_HEADER, State, Verdict};
use crate::metrics::Rejection;

/// What the check handler needs.
#[derive(Clone, Debug)]
pub struct Checker {
    /// Shared state.
    pub state: Arc<State>,
    /// How checks are mapped.
    pub mapping: Arc<Mapping>,
    /// `meshgate-http`'s forwarded mapping, built from `mapping` ([`forwarded_mapping`]).
    pub forwarded: Arc<meshgate_http::Mapping>,
    /// Largest total size of a check's headers.
    pub max_request_bytes: usize,
}

/// The check router: every path and method is a check.
pub fn check_router(checker: Checker) -> axum::Router {
    axum::Router::new().fallback(check).with_state(checker)
}

/// The admin router.
pub fn admin_router(state: Arc<State>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(AxumState(state): AxumState<Arc<State>>) -> Response<Body> {
    let mut response = Response::new(Body::from(state.metrics.encode()));
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn readyz(AxumState(state): AxumState<Arc<State>>) -> (StatusCode, &'static str) {
    if state.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no policy loaded, or shutting down\n",
        )
    }
}

async fn check(
    AxumState(checker): AxumState<Checker>,
    request: HttpRequest<Body>,
) -> Response<Body> {
    let started = Instant::now();
    let size: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len().saturating_add(v.len()))
        .fold(request.uri().to_string().len(), usize::saturating_add);
    let limit = checker.max_request_bytes;
    if size > limit {
        return respond(&checker.state.refuse(
            Rejection::TooLarge,
            &format!("the check's headers ({size} bytes) exceed the limit ({limit} bytes)"),
        ));
    }
    // The body (Envoy's `with_request_body`) is read whole before deciding, within what the
    // limit leaves; the policy has no attribute for it.
    let (parts, body) = request.into_parts();
    if axum::body::to_bytes(body, limit.saturating_sub(size))
        .await
        .is_err()
    {
        return respond(&checker.state.refuse(
            Rejection::TooLarge,
            &format!("the check's body was over the limit ({limit} bytes) or cut short"),
        ));
    }
    let request = HttpRequest::from_parts(parts, ());
    let verdict = checker
        .state
        .decide(started, map(&request, &checker.forwarded, &checker.mapping));
    respond(&verdict)
}

/// A verdict as the check's response.
pub fn respond(verdict: &Verdict) -> Response<Body> {
    match verdict {
        Verdict::Allow => Response::new(Body::empty()),
        Verdict::Deny(denial) => {
            let mut response = Response::new(Body::from(denial.body.clone()));
            *response.status_mut() =
                StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("text/plain"));
            if let Some(rule) = &denial.rule
                && let Ok(v) = HeaderValue::from_str(rule)
            {
                headers.insert(RULE_HEADER, v);
            }
            response
        }
    }
}

/// A header's value, a header sent twice joined with `,`; a value that is not text is an error.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<Cow<'h, str>>, Unreadable> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let text = |v: &'h HeaderValue| {
        v.to_str()
            .map_err(|_| Unreadable(format!("header `{name}` is not visible ASCII")))
    };
    let first = text(first)?;
    let mut joined: Option<String> = None;
    for v in values {
        let v = text(v)?;
        joined = Some(format!("{},{v}", joined.as_deref().unwrap_or(first)));
    }
    Ok(Some(match joined {
        Some(j) => Cow::Owned(j),
        None => Cow::Borrowed(first),
    }))
}

/// The mapping of `meshgate-http` (forwarded origin) that [`map`] starts from.
pub fn forwarded_mapping(mapping: &Mapping) -> Result<meshgate_http::Mapping, String> {
    let mut m = meshgate_http::Mapping::new()
        .origin(meshgate_http::Origin::Forwarded)
        .trust_xfcc(mapping.trust_xfcc);
    for name in &mapping.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        m = m.header(header);
    }
    if let Some(s) = &mapping.destination_service {
        m = m.destination_service(s.clone());
    }
    if let Some(ns) = &mapping.destination_namespace {
        m = m.destination_namespace(ns.clone());
    }
    for (k, v) in &mapping.destination_labels {
        m = m.destination_label(k.clone(), v.clone());
    }
    Ok(m)
}

/// A check as a meshgate request: `meshgate-http`'s forwarded mapping (the `X-Forwarded-*` and
/// `X-Original-*` headers, `X-Forwarded-For`, a trusted `x-forwarded-client-cert`, the exposed
/// headers, the configured destination), completed for Envoy's HTTP ext_authz, which sends the
/// original method, path (after its `path_prefix`) and `Host` as the check's own, and with
/// `X-Real-IP`, Istio's peer metadata and a JWT payload header where configured.
pub fn map<'a, B>(
    check: &'a HttpRequest<B>,
    forwarded: &'a meshgate_http::Mapping,
    mapping: &'a Mapping,
) -> Result<Request<'a>, Unreadable> {
    let headers = check.headers();
    let mut r = forwarded
        .request(check, jiff::Timestamp::now())
        .map_err(|e| Unreadable(e.to_string()))?;
    if r.request.method.is_none() {
        r.request.method = Some(Cow::Borrowed(check.method().as_str()));
    }
    if r.request.path.is_none() {
        let path = check.uri().path_and_query().map_or("/", |p| p.as_str());
        r.request.path = Some(Cow::Borrowed(
            path.strip_prefix(mapping.http_path_prefix.as_str())
                .filter(|rest| rest.starts_with('/'))
                .unwrap_or(path),
        ));
    }
    if r.request.host.is_none() {
        r.request.host = match header(headers, "x-original-host")? {
            Some(h) => Some(h),
            None => header(headers, "host")?,
        };
    }
    if let Some(v) = header(headers, "x-real-ip")? {
        r.source.ip = Some(
            attrs::parse_ip(&v)
                .ok_or_else(|| Unreadable(format!("`X-Real-IP` `{v}` is not an address")))?,
        );
    }
    if mapping.trust_peer_metadata
        && let Some(v) = header(headers, "x-envoy-peer-metadata")?
    {
        mapping.peer_metadata(&mut r, &v)?;
    }
    if let Some(name) = &mapping.jwt_payload_header
        && let Some(v) = header(headers, name)?
    {
        r.request.auth = attrs::auth_from_claims(attrs::claims_from_header(&v)?);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, pairs: &[(&'static str, &'static str)]) -> HttpRequest<()> {
        let mut b = HttpRequest::get(path);
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn decide<'a>(
        req: &'a HttpRequest<()>,
        m: &'a Mapping,
        f: &'a meshgate_http::Mapping,
    ) -> Request<'a> {
        map(req, f, m).unwrap()
    }

    #[test]
    fn forward_auth_headers_give_the_original_request() {
        let mapping = Mapping {
            headers: vec!["x-user".into()],
            trust_xfcc: true,
            destination_namespace: Some("shop".into()),
            ..Mapping::default()
        };
        let f = forwarded_mapping(&mapping).unwrap();
        let req = check(
            "/auth",
            &[
                ("x-forwarded-method", "DELETE"),
                ("x-forwarded-uri", "/api/items/1?x=y"),
                ("x-forwarded-host", "shop.example.com"),
                ("host", "meshgate:9192"),
                ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
                ("x-user", "alice"),
                ("x-user", "bob"),
                ("x-forwarded-client-cert", "URI=spiffe://td/ns/a/sa/b"),
            ],
        );
        let r = decide(&req, &mapping, &f);
        assert_eq!(r.request.method.as_deref(), Some("DELETE"));
        assert_eq!(r.path(), Some("/api/items/1"));
        assert_eq!(r.host(), Some("shop.example.com"));
        assert_eq!(r.source.ip, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(r.source.remote_ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(
            r.request.headers.get("x-user").map(|v| v.as_ref()),
            Some("alice,bob")
        );
        assert_eq!(r.source_namespace(), Some("a"));
        assert_eq!(r.destination.namespace.as_deref(), Some("shop"));
        let req = check(
            "/",
            &[("x-forwarded-for", "10.0.0.2"), ("x-real-ip", "10.9.9.9")],
        );
        assert_eq!(
            decide(&req, &mapping, &f).source.ip,
            Some("10.9.9.9".parse().unwrap())
        );
    }

    #[test]
    fn nginx_original_headers_and_envoy_http_paths() {
        let mapping = Mapping {
            http_path_prefix: "/check".into(),
            ..Mapping::default()
        };
        let f = forwarded_mapping(&mapping).unwrap();
        let req = check(
            "/auth",
            &[
                ("x-original-method", "POST"),
                ("x-original-uri", "/a/b"),
                ("host", "h"),
            ],
        );
        let r = decide(&req, &mapping, &f);
        assert_eq!(r.request.method.as_deref(), Some("POST"));
        assert_eq!(r.path(), Some("/a/b"));
        assert_eq!(r.host(), Some("h"));
        let mut req = check("/check/api/x?q=1", &[("host", "api.example.com")]);
        *req.method_mut() = axum::http::Method::PUT;
        let r = decide(&req, &mapping, &f);
        assert_eq!(r.request.method.as_deref(), Some("PUT"));
        assert_eq!(r.request.path.as_deref(), Some("/api/x?q=1"));
        assert_eq!(r.host(), Some("api.example.com"));
        // Without a trusted XFCC, the header is ignored.
        let req = check(
            "/",
            &[("x-forwarded-client-cert", "URI=spiffe://td/ns/a/sa/b")],
        );
        assert_eq!(decide(&req, &mapping, &f).source.principal, None);
    }

    #[test]
    fn unreadable_or_ambiguous_headers_are_errors() {
        let mapping = Mapping::default();
        let f = forwarded_mapping(&mapping).unwrap();
        for req in [
            check("/", &[("x-forwarded-for", "not-an-ip")]),
            check("/", &[("x-real-ip", "nope")]),
            check("/", &[("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/b")]),
        ] {
            assert!(map(&req, &f, &mapping).is_err(), "{req:?}");
        }
        let bad = Mapping {
            headers: vec!["bad header".into()],
            ..Mapping::default()
        };
        assert!(forwarded_mapping(&bad).is_err());
    }
}
