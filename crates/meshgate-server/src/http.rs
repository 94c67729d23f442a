//! The HTTP front ends: Envoy's ext_authz HTTP service and forward auth (nginx `auth_request`,
//! Caddy `forward_auth`, Traefik `ForwardAuth`) on one listener, and the admin listener
//! (`/metrics`, `/healthz`, `/readyz`).
//!
//! A check is any request to the check listener. The original request is read from:
//!
//! | field | first of |
//! |---|---|
//! | method | `X-Forwarded-Method`, `X-Original-Method`, the check's own method (Envoy HTTP ext_authz) |
//! | path | `X-Forwarded-Uri`, `X-Original-URI`, the check's own path and query without the configured prefix |
//! | host | `X-Forwarded-Host`, `X-Original-Host`, `Host` |
//! | `source.ip` | `X-Real-IP`, the last `X-Forwarded-For` entry (the client as the proxy in front saw it) |
//! | `source.remote_ip` | the first `X-Forwarded-For` entry, when there are several |
//! | `source.principal` | the `URI` of `x-forwarded-client-cert`, when trusted |
//! | `request.auth` | the configured JWT payload header, when set |
//!
//! `200` allows (empty body); a denial is the configured status (403) with a plain-text body
//! and, when the rule may be revealed, `x-meshgate-denied-by`.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Request as HttpRequest, Response, StatusCode};
use axum::routing::get;
use meshgate::Request;
use meshgate::request::Pairs;

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
    let (parts, _body) = request.into_parts();
    let size: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len().saturating_add(v.len()))
        .fold(parts.uri.to_string().len(), usize::saturating_add);
    let verdict = if size > checker.max_request_bytes {
        checker.state.refuse(
            Rejection::TooLarge,
            &format!(
                "the check's headers ({size} bytes) exceed the limit ({} bytes)",
                checker.max_request_bytes
            ),
        )
    } else {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        checker.state.decide(
            started,
            map(
                parts.method.as_str(),
                path,
                &parts.headers,
                &checker.mapping,
            ),
        )
    };
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

fn first_header<'h>(
    headers: &'h HeaderMap,
    names: &[&str],
) -> Result<Option<Cow<'h, str>>, Unreadable> {
    for name in names {
        if let Some(v) = header(headers, name)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A check (its method, path and query, headers) as a meshgate request.
pub fn map<'a>(
    method: &'a str,
    path: &'a str,
    headers: &'a HeaderMap,
    mapping: &'a Mapping,
) -> Result<Request<'a>, Unreadable> {
    let mut r = Request::default();
    r.request.method = Some(
        first_header(headers, &["x-forwarded-method", "x-original-method"])?
            .unwrap_or(Cow::Borrowed(method)),
    );
    r.request.path = Some(
        match first_header(headers, &["x-forwarded-uri", "x-original-uri"])? {
            Some(uri) => uri,
            None => Cow::Borrowed(
                path.strip_prefix(mapping.http_path_prefix.as_str())
                    .filter(|rest| rest.starts_with('/'))
                    .unwrap_or(path),
            ),
        },
    );
    r.request.host = first_header(headers, &["x-forwarded-host", "x-original-host", "host"])?;
    let mut exposed = Vec::new();
    for name in &mapping.headers {
        if let Some(v) = header(headers, name)? {
            exposed.push((Cow::Borrowed(name.as_str()), v));
        }
    }
    r.request.headers = Pairs(Cow::Owned(exposed));
    let forwarded: Vec<IpAddr> = match header(headers, "x-forwarded-for")? {
        Some(v) => attrs::forwarded_for(&v)?,
        None => Vec::new(),
    };
    r.source.ip = match header(headers, "x-real-ip")? {
        Some(v) => Some(
            attrs::parse_ip(&v)
                .ok_or_else(|| Unreadable(format!("`X-Real-IP` `{v}` is not an address")))?,
        ),
        None => forwarded.last().copied(),
    };
    if forwarded.len() > 1 {
        r.source.remote_ip = forwarded.first().copied();
    }
    if mapping.trust_xfcc
        && let Some(v) = header(headers, "x-forwarded-client-cert")?
    {
        r.source.principal = attrs::xfcc_uri(&v).map(Cow::Owned);
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
    mapping.destination(&mut r);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forward_auth_headers_give_the_original_request() {
        let mapping = Mapping {
            headers: vec!["x-user".into()],
            trust_xfcc: true,
            destination_namespace: Some("shop".into()),
            ..Mapping::default()
        };
        let h = headers(&[
            ("x-forwarded-method", "DELETE"),
            ("x-forwarded-uri", "/api/items/1?x=y"),
            ("x-forwarded-host", "shop.example.com"),
            ("host", "meshgate:9192"),
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
            ("x-user", "alice"),
            ("x-user", "bob"),
            ("x-forwarded-client-cert", "URI=spiffe://td/ns/a/sa/b"),
        ]);
        let r = map("GET", "/auth", &h, &mapping).unwrap();
        assert_eq!(r.request.method.as_deref(), Some("DELETE"));
        assert_eq!(r.path(), Some("/api/items/1"));
        assert_eq!(r.host(), Some("shop.example.com"));
        assert_eq!(r.source.ip, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(r.source.remote_ip, Some("203.0.113.9".parse().unwrap()));
        let h = headers(&[("x-forwarded-for", "10.0.0.2"), ("x-real-ip", "10.9.9.9")]);
        let real = map("GET", "/", &h, &mapping).unwrap();
        assert_eq!(real.source.ip, Some("10.9.9.9".parse().unwrap()));
        assert_eq!(
            r.request.headers.get("x-user").map(|v| v.as_ref()),
            Some("alice,bob")
        );
        assert_eq!(r.source_namespace(), Some("a"));
        assert_eq!(r.destination.namespace.as_deref(), Some("shop"));
    }

    #[test]
    fn nginx_original_headers_and_envoy_http_paths() {
        let mapping = Mapping {
            http_path_prefix: "/check".into(),
            ..Mapping::default()
        };
        let h = headers(&[
            ("x-original-method", "POST"),
            ("x-original-uri", "/a/b"),
            ("host", "h"),
        ]);
        let r = map("GET", "/auth", &h, &mapping).unwrap();
        assert_eq!(r.request.method.as_deref(), Some("POST"));
        assert_eq!(r.path(), Some("/a/b"));
        let h = headers(&[("host", "api.example.com")]);
        let r = map("PUT", "/check/api/x?q=1", &h, &mapping).unwrap();
        assert_eq!(r.request.method.as_deref(), Some("PUT"));
        assert_eq!(r.request.path.as_deref(), Some("/api/x?q=1"));
        assert_eq!(r.host(), Some("api.example.com"));
        // Without a trusted XFCC, the header is ignored.
        let h = headers(&[("x-forwarded-client-cert", "URI=spiffe://td/ns/a/sa/b")]);
        assert_eq!(
            map("GET", "/", &h, &mapping).unwrap().source.principal,
            None
        );
    }

    #[test]
    fn unreadable_headers_are_errors() {
        let mapping = Mapping::default();
        let h = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert!(map("GET", "/", &h, &mapping).is_err());
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-uri",
            HeaderValue::from_bytes(b"/\xff").unwrap(),
        );
        assert!(map("GET", "/", &h, &mapping).is_err());
    }
}
