//! From an [`http::Request`] to a meshgate [`Request`]: one mapping for every HTTP front end
//! (the tower layer, the authorization server's HTTP and forward-auth endpoints).
//!
//! Two ways of reading a request:
//!
//! - [`Origin::Direct`]: the request is the one to decide (a service or proxy built on tower).
//!   Method, path, host and headers are its own; the caller's identity and addresses come from
//!   the [`PeerInfo`] the TLS layer put in its extensions (or, when trusted, from an Envoy
//!   `x-forwarded-client-cert` header written by the proxy in front).
//! - [`Origin::Forwarded`]: the request is a *question about another request*, as nginx's
//!   `auth_request`, Caddy's `forward_auth`, Traefik's `ForwardAuth` and Envoy's HTTP
//!   `ext_authz` ask it. The original method, URI, host and client address come from
//!   `X-Forwarded-Method`, `X-Forwarded-Uri`, `X-Forwarded-Host` and `X-Forwarded-For` (nginx:
//!   `X-Original-Method` and `X-Original-URI`); the connection is the proxy's, so it says
//!   nothing about the caller.
//!
//! What the mapping cannot read is left absent, never guessed: a policy that needs it does not
//! match, so the request falls to a deny. A value that is present but unreadable (a header that
//! is not text, an address that does not parse, an XFCC header that does not parse) is an
//! error, which the caller must treat as a denial.

use std::borrow::Cow;
use std::net::IpAddr;

use http::HeaderMap;
use http::header::HeaderName;
use meshgate::request::{Field, Pairs};
use meshgate::{Request, RequestError};

use crate::peer::PeerInfo;
use crate::xfcc;

/// Where the request to decide comes from. See the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The request itself.
    #[default]
    Direct,
    /// The original request a proxy describes in `X-Forwarded-*` / `X-Original-*` headers.
    Forwarded,
}

/// How requests are mapped: which headers the policy sees, whom to trust, and the workload the
/// requests are for.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Mapping {
    /// Request headers exposed as `request.headers["name"]`. A header sent several times is
    /// joined with `,` (as Envoy's RBAC filter reads it), so a second line cannot hide behind
    /// the first.
    pub headers: Vec<HeaderName>,
    /// Read the caller's identity from `x-forwarded-client-cert` (see [`crate::xfcc`]). Only
    /// when every path to this service passes a proxy that sets that header.
    pub trust_xfcc: bool,
    /// Direct or forwarded.
    pub origin: Origin,
    /// `destination.service` of every request.
    pub destination_service: Option<String>,
    /// `destination.namespace` of every request.
    pub destination_namespace: Option<String>,
    /// `destination.labels` of every request.
    pub destination_labels: Vec<(String, String)>,
}

/// A request the mapping cannot read: it must be denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    /// The request field at fault, e.g. `request.headers`.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for MappingError {}

const XFCC: &str = "x-forwarded-client-cert";

impl Mapping {
    /// A direct mapping with no headers, no trusted proxy and no destination.
    pub fn new() -> Self {
        Mapping::default()
    }

    /// Also exposes header `name` to the policy.
    #[must_use]
    pub fn header(mut self, name: HeaderName) -> Self {
        self.headers.push(name);
        self
    }

    /// Trusts `x-forwarded-client-cert` for the caller's identity.
    #[must_use]
    pub fn trust_xfcc(mut self, trust: bool) -> Self {
        self.trust_xfcc = trust;
        self
    }

    /// Reads direct or forwarded requests.
    #[must_use]
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// The workload's service name.
    #[must_use]
    pub fn destination_service(mut self, service: impl Into<String>) -> Self {
        self.destination_service = Some(service.into());
        self
    }

    /// The workload's namespace.
    #[must_use]
    pub fn destination_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.destination_namespace = Some(namespace.into());
        self
    }

    /// A label of the workload.
    #[must_use]
    pub fn destination_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.destination_labels.push((key.into(), value.into()));
        self
    }

    /// The meshgate request for `req`, borrowing from it and from the mapping. `time` is the
    /// proxy's clock (the core reads none). The request goes through the core's
    /// [`RequestBuilder`](meshgate::request::RequestBuilder), so the default
    /// [`RequestLimits`](meshgate::RequestLimits) hold (string sizes, header counts) as they do
    /// for every other reader.
    pub fn request<'r, B>(
        &'r self,
        req: &'r http::Request<B>,
        time: jiff::Timestamp,
    ) -> Result<Request<'r>, MappingError> {
        let mut b = Request::builder();
        let headers = req.headers();
        let mut principal: Option<Cow<'r, str>> = None;
        match self.origin {
            Origin::Direct => {
                b.str(Field::RequestMethod, req.method().as_str())
                    .map_err(core)?;
                if let Some(p) = req.uri().path_and_query() {
                    b.str(Field::RequestPath, p.as_str()).map_err(core)?;
                }
                let host = match req.uri().authority() {
                    Some(a) => Some(a.as_str()),
                    None => single(headers, "host", "request.host")?,
                };
                if let Some(host) = host {
                    b.str(Field::RequestHost, host).map_err(core)?;
                }
                if let Some(peer) = req.extensions().get::<PeerInfo>() {
                    if let Some(a) = peer.remote_addr {
                        b.ip(Field::SourceIp, a.ip()).map_err(core)?;
                    }
                    if let Some(a) = peer.local_addr {
                        b.ip(Field::DestinationIp, a.ip()).map_err(core)?;
                        b.port(a.port()).map_err(core)?;
                    }
                    if let Some(sni) = peer.sni.as_deref() {
                        b.str(Field::ConnectionSni, sni).map_err(core)?;
                    }
                    principal = peer.principal().map(Cow::Borrowed);
                }
            }
            Origin::Forwarded => {
                let forwarded = [
                    (
                        Field::RequestMethod,
                        ["x-forwarded-method", "x-original-method"],
                    ),
                    (Field::RequestPath, ["x-forwarded-uri", "x-original-uri"]),
                ];
                for (field, names) in forwarded {
                    if let Some(v) = first_of(headers, &names, field.path())? {
                        b.str(field, v).map_err(core)?;
                    }
                }
                if let Some(host) = single(headers, "x-forwarded-host", "request.host")? {
                    b.str(Field::RequestHost, host).map_err(core)?;
                }
                if let Some((first, last)) = forwarded_for(headers)? {
                    b.ip(Field::SourceIp, last).map_err(core)?;
                    b.ip(Field::SourceRemoteIp, first).map_err(core)?;
                }
            }
        }
        if self.trust_xfcc
            && let Some(value) = single(headers, XFCC, "source.principal")?
        {
            let sans = xfcc::last_uri_sans(value).map_err(|e| MappingError {
                field: "source.principal",
                message: e.to_string(),
            })?;
            // The header replaces the TLS peer, which is the proxy that wrote it.
            principal = sans.into_iter().next().map(Cow::Owned);
        }
        if let Some(p) = principal {
            b.str(Field::SourcePrincipal, p).map_err(core)?;
        }
        let selected = self.selected_headers(headers)?;
        if !selected.is_empty() {
            b.pairs(Field::RequestHeaders, selected).map_err(core)?;
        }
        if let Some(s) = self.destination_service.as_deref() {
            b.str(Field::DestinationService, s).map_err(core)?;
        }
        if let Some(ns) = self.destination_namespace.as_deref() {
            b.str(Field::DestinationNamespace, ns).map_err(core)?;
        }
        if !self.destination_labels.is_empty() {
            let labels = self
                .destination_labels
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                .collect::<Vec<_>>();
            b.pairs(Field::DestinationLabels, Pairs(Cow::Owned(labels)))
                .map_err(core)?;
        }
        b.time(time).map_err(core)?;
        b.finish().map_err(core)
    }

    fn selected_headers<'r>(
        &self,
        headers: &'r HeaderMap,
    ) -> Result<Pairs<'r, Cow<'r, str>>, MappingError> {
        let mut out: Vec<(Cow<'r, str>, Cow<'r, str>)> = Vec::new();
        for name in &self.headers {
            let mut values = headers.get_all(name).iter();
            let Some(first) = values.next() else {
                continue;
            };
            let mut joined = Cow::Borrowed(text(first, "request.headers")?);
            for more in values {
                let s = joined.to_mut();
                s.push(',');
                s.push_str(text(more, "request.headers")?);
            }
            if !out.iter().any(|(k, _)| k == name.as_str()) {
                out.push((Cow::Owned(name.as_str().to_string()), joined));
            }
        }
        Ok(Pairs(Cow::Owned(out)))
    }
}

/// A request the core's reader refuses (a limit, a duplicate): named by its field.
fn core(e: RequestError) -> MappingError {
    let field = Field::from_path(&e.field).map_or("request", Field::path);
    // The core's message names the field already; `MappingError` names it once.
    let prefix = format!("`{}`: ", e.field);
    let message = e
        .message
        .strip_prefix(&prefix)
        .unwrap_or(&e.message)
        .to_string();
    MappingError { field, message }
}

fn text<'r>(value: &'r http::HeaderValue, field: &'static str) -> Result<&'r str, MappingError> {
    value.to_str().map_err(|_| MappingError {
        field,
        message: "a header value is not visible ASCII text".to_string(),
    })
}

/// The one value of header `name`; sent twice, it is ambiguous and refused.
fn single<'r>(
    headers: &'r HeaderMap,
    name: &str,
    field: &'static str,
) -> Result<Option<&'r str>, MappingError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(MappingError {
            field,
            message: format!("header `{name}` is sent more than once"),
        });
    }
    text(first, field).map(Some)
}

/// The first of `names` that is present (each must be single).
fn first_of<'r>(
    headers: &'r HeaderMap,
    names: &[&str],
    field: &'static str,
) -> Result<Option<&'r str>, MappingError> {
    for name in names {
        if let Some(v) = single(headers, name, field)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The first (original client) and last (the proxy's peer) addresses of `X-Forwarded-For`,
/// over every line of the header.
fn forwarded_for(headers: &HeaderMap) -> Result<Option<(IpAddr, IpAddr)>, MappingError> {
    let mut first = None;
    let mut last = None;
    for line in headers.get_all("x-forwarded-for") {
        for item in text(line, "source.ip")?.split(',') {
            let ip = parse_ip(item.trim()).ok_or_else(|| MappingError {
                field: "source.ip",
                message: format!(
                    "`{}` in `x-forwarded-for` is not an IP address",
                    item.trim()
                ),
            })?;
            first.get_or_insert(ip);
            last = Some(ip);
        }
    }
    Ok(first.zip(last))
}

/// An address as proxies write it: bare, or IPv6 in brackets (with or without a port), or
/// IPv4 with a port.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    s.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-03-30T08:00:00Z".parse().unwrap()
    }

    fn mapped(mapping: &Mapping, req: &http::Request<()>) -> serde_json::Value {
        let r = mapping.request(req, now()).unwrap();
        serde_json::from_str(&r.to_json()).unwrap()
    }

    #[test]
    fn maps_a_direct_request_with_its_peer() {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("/api/orders?x=1")
            .header("host", "shop.example:8443")
            .header("x-tenant", "a")
            .header("x-tenant", "b")
            .header("x-other", "z")
            .body(())
            .unwrap();
        req.extensions_mut().insert(
            PeerInfo::new(
                Some("10.0.0.7:51000".parse().unwrap()),
                Some("10.0.0.9:8443".parse().unwrap()),
            )
            .with_uri_sans(vec!["spiffe://cluster.local/ns/shop/sa/frontend".into()])
            .with_sni(Some("shop.example".into())),
        );
        let mapping = Mapping::new()
            .header(HeaderName::from_static("x-tenant"))
            .destination_service("orders.shop.svc.cluster.local")
            .destination_namespace("shop")
            .destination_label("app", "orders");
        assert_eq!(
            mapped(&mapping, &req),
            serde_json::json!({
                "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend", "ip": "10.0.0.7"},
                "destination": {"service": "orders.shop.svc.cluster.local", "namespace": "shop",
                    "labels": {"app": "orders"}, "port": 8443, "ip": "10.0.0.9"},
                "request": {"method": "POST", "path": "/api/orders?x=1", "host": "shop.example:8443",
                    "headers": {"x-tenant": "a,b"}},
                "connection": {"sni": "shop.example"},
                "time": "2026-03-30T08:00:00Z"
            })
        );
    }

    #[test]
    fn a_request_without_peer_info_has_no_identity() {
        let req = http::Request::builder().uri("/").body(()).unwrap();
        let v = mapped(&Mapping::new(), &req);
        assert!(v.get("source").is_none(), "{v}");
    }

    #[test]
    fn xfcc_is_read_only_when_trusted() {
        let req = http::Request::builder()
            .uri("/")
            .header(
                XFCC,
                "By=spiffe://td/ns/gw/sa/gw;URI=spiffe://td/ns/shop/sa/web",
            )
            .body(())
            .unwrap();
        assert!(mapped(&Mapping::new(), &req).get("source").is_none());
        let v = mapped(&Mapping::new().trust_xfcc(true), &req);
        assert_eq!(v["source"]["principal"], "spiffe://td/ns/shop/sa/web");
        let bad = http::Request::builder()
            .uri("/")
            .header(XFCC, "URI=\"open")
            .body(())
            .unwrap();
        let e = Mapping::new()
            .trust_xfcc(true)
            .request(&bad, now())
            .unwrap_err();
        assert_eq!(e.field, "source.principal");
    }

    #[test]
    fn maps_a_forwarded_request() {
        let req = http::Request::builder()
            .method("GET")
            .uri("/auth")
            .header("host", "meshgate:9000")
            .header("x-forwarded-method", "DELETE")
            .header("x-forwarded-uri", "/api/users/7")
            .header("x-forwarded-host", "shop.example")
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.2")
            .header("x-forwarded-for", "[2001:db8::1]:443")
            .body(())
            .unwrap();
        let v = mapped(&Mapping::new().origin(Origin::Forwarded), &req);
        assert_eq!(
            v["request"],
            serde_json::json!({"method": "DELETE", "path": "/api/users/7", "host": "shop.example"})
        );
        assert_eq!(
            v["source"],
            serde_json::json!({"ip": "2001:db8::1", "remote_ip": "203.0.113.9"})
        );
        // nginx's names.
        let req = http::Request::builder()
            .header("x-original-method", "PUT")
            .header("x-original-uri", "/a?b")
            .body(())
            .unwrap();
        let v = mapped(&Mapping::new().origin(Origin::Forwarded), &req);
        assert_eq!(v["request"]["method"], "PUT");
        assert_eq!(v["request"]["path"], "/a?b");
        assert!(v["request"].get("host").is_none(), "no guess from `host`");
    }

    #[test]
    fn the_core_limits_hold() {
        let long = "x".repeat(70 * 1024);
        let req = http::Request::builder()
            .uri("/")
            .header("x-tenant", long)
            .body(())
            .unwrap();
        let mapping = Mapping::new().header(HeaderName::from_static("x-tenant"));
        let e = mapping.request(&req, now()).unwrap_err();
        assert!(e.field.starts_with("request"), "{e}");
        assert!(e.message.contains("max_string_bytes"), "{e}");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let cases = [
            ("x-forwarded-for", "not-an-ip", "source.ip"),
            ("x-forwarded-uri", "\u{0}", "request.path"),
        ];
        for (name, value, field) in cases {
            let mut req = http::Request::builder().body(()).unwrap();
            if let Ok(v) = http::HeaderValue::from_str(value) {
                req.headers_mut().insert(name, v);
            } else {
                req.headers_mut()
                    .insert(name, http::HeaderValue::from_bytes(b"\xff").unwrap());
            }
            let e = Mapping::new()
                .origin(Origin::Forwarded)
                .request(&req, now())
                .unwrap_err();
            assert_eq!(e.field, field, "{name}");
        }
        let req = http::Request::builder()
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-method", "POST")
            .body(())
            .unwrap();
        let e = Mapping::new()
            .origin(Origin::Forwarded)
            .request(&req, now())
            .unwrap_err();
        assert!(e.message.contains("more than once"), "{e}");
    }
}
