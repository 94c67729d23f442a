//! Requests: what a decision is asked about.
//!
//! A [`Request`] borrows its strings (`Cow<'a, str>`), so a proxy can build one from its own
//! buffers without copying, and the JSON form (the shape every binding shares) deserializes into
//! the same type with owned strings. Every field is optional: an absent attribute makes every test
//! on it fail (see the spec's "absent attributes").
//!
//! Every reader of requests (the JSON reader here, the Python and JavaScript bindings, proxies)
//! feeds a [`RequestBuilder`], which holds the rules of what a request may hold; [`Field`] is the
//! table of its fields. The JSON shape is documented in the language reference ("Requests").
//!
//! When `source.namespace`, `source.service_account` or `source.trust_domain` is absent and
//! `source.principal` is a SPIFFE id `spiffe://TD/ns/NS/sa/SA`, they are derived from it.

mod bounds;
mod builder;
mod de;
mod field;
mod pairs;
mod path;
mod spiffe;
mod value;

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

pub use builder::{RequestBuilder, float_value, int_value, null_value};
pub use field::{Field, Kind};
pub use pairs::Pairs;

use crate::limits::RequestLimits;
pub use spiffe::SpiffeId;
pub use value::Value;

/// Everything a decision can look at. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The caller.
    #[serde(skip_serializing_if = "Source::is_empty")]
    pub source: Source<'a>,
    /// The workload called.
    #[serde(skip_serializing_if = "Destination::is_empty")]
    pub destination: Destination<'a>,
    /// The HTTP request.
    #[serde(skip_serializing_if = "Http::is_empty")]
    pub request: Http<'a>,
    /// The connection.
    #[serde(skip_serializing_if = "Connection::is_empty")]
    pub connection: Connection<'a>,
    /// When the request is made. The core never reads a clock: front ends fill this in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<jiff::Timestamp>,
    /// Free values for `context.KEY`.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub context: Pairs<'a, Value<'a>>,
}

/// The caller.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Source<'a> {
    /// mTLS peer identity, usually a SPIFFE id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Cow<'a, str>>,
    /// Namespace (derived from a SPIFFE principal when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Cow<'a, str>>,
    /// Service account (derived from a SPIFFE principal when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<Cow<'a, str>>,
    /// Trust domain (derived from a SPIFFE principal when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_domain: Option<Cow<'a, str>>,
    /// Workload labels of the caller.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub labels: Pairs<'a, Cow<'a, str>>,
    /// Peer address of the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Original client address (for example from `X-Forwarded-For`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<IpAddr>,
}

/// The workload called.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Destination<'a> {
    /// Service host name, e.g. `payments.prod.svc.cluster.local`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Cow<'a, str>>,
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Cow<'a, str>>,
    /// Workload labels.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub labels: Pairs<'a, Cow<'a, str>>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

/// The HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Http<'a> {
    /// Method, e.g. `GET` (compared exactly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Cow<'a, str>>,
    /// Path; a query string (`?…`) or fragment (`#…`) is ignored when matching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Cow<'a, str>>,
    /// Host or `:authority`; a `:port` suffix is ignored and case does not matter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Cow<'a, str>>,
    /// Headers; names compare ignoring case.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub headers: Pairs<'a, Cow<'a, str>>,
    /// The authenticated end user (JWT), when there is one.
    #[serde(skip_serializing_if = "Auth::is_empty")]
    pub auth: Auth<'a>,
}

/// The request's authenticated end user.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Auth<'a> {
    /// `iss/sub` of the validated JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Cow<'a, str>>,
    /// `azp` of the JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presenter: Option<Cow<'a, str>>,
    /// `aud` of the JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Cow<'a, [Cow<'a, str>]>>,
    /// All claims of the JWT.
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    pub claims: Pairs<'a, Value<'a>>,
}

/// The connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Connection<'a> {
    /// TLS server name indication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<Cow<'a, str>>,
}

impl Source<'_> {
    fn is_empty(&self) -> bool {
        *self == Source::default()
    }
}
impl Destination<'_> {
    fn is_empty(&self) -> bool {
        *self == Destination::default()
    }
}
impl Http<'_> {
    fn is_empty(&self) -> bool {
        *self == Http::default()
    }
}
impl Auth<'_> {
    fn is_empty(&self) -> bool {
        *self == Auth::default()
    }
}
impl Connection<'_> {
    fn is_empty(&self) -> bool {
        self.sni.is_none()
    }
}

/// A JSON request that could not be read, naming the offending field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {message}")]
pub struct RequestError {
    /// The field's path, e.g. `source.ip` (empty for the whole document).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Request<'static> {
    /// Reads a request from its JSON form (the shape shared by every binding), with the
    /// default [`RequestLimits`].
    ///
    /// Unknown fields, duplicate keys, wrong types, floats and `null`s are errors naming the field.
    pub fn from_json(json: &str) -> Result<Request<'static>, RequestError> {
        Self::from_json_with(json, &RequestLimits::default())
    }

    /// [`from_json`](Self::from_json) with explicit limits.
    pub fn from_json_with(
        json: &str,
        limits: &RequestLimits,
    ) -> Result<Request<'static>, RequestError> {
        if json.len() > limits.max_bytes {
            return Err(RequestError {
                field: String::new(),
                message: format!(
                    "request of {} bytes exceeds `RequestLimits::max_bytes` ({})",
                    json.len(),
                    limits.max_bytes
                ),
            });
        }
        // serde reads a struct from a JSON array too (by position); a request is an object.
        if !json.trim_start().starts_with('{') {
            return Err(RequestError {
                field: String::new(),
                message: "a request is a JSON object, e.g. `{\"source\": {…}, \"request\": {…}}`"
                    .to_string(),
            });
        }
        // The fast path reads without tracking where it is; only a request that fails is read
        // again with the path tracked, to name the field in the error. Both reject anything
        // after the object (`{} {}`).
        let request: Request<'static> = match serde_json::from_str(json) {
            Ok(request) => request,
            Err(_) => return Err(Self::json_error(json)),
        };
        request.check_limits(limits)?;
        Ok(request)
    }

    /// The error of a request that failed to read, with the path of the field at fault.
    fn json_error(json: &str) -> RequestError {
        let de = &mut serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, Request<'static>>(&mut *de) {
            Err(e) => request_error(e),
            Ok(_) => match de.end() {
                Err(e) => RequestError {
                    field: String::new(),
                    message: strip_position(&e.to_string()),
                },
                // Not reached: both readers accept the same texts.
                Ok(()) => RequestError {
                    field: String::new(),
                    message: "invalid request".to_string(),
                },
            },
        }
    }

    /// Reads a request from an already-parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Request<'static>, RequestError> {
        if !value.is_object() {
            return Err(RequestError {
                field: String::new(),
                message: "a request is a JSON object".to_string(),
            });
        }
        let request: Request<'static> =
            serde_path_to_error::deserialize(value).map_err(request_error)?;
        request.check_limits(&RequestLimits::default())?;
        Ok(request)
    }
}

/// A serde error as a [`RequestError`] naming the field (serde_json's "at line … column …" is
/// dropped: the field's path says where, and a request is often one line).
fn request_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> RequestError {
    let field = e.path().to_string();
    let field = if field == "." { String::new() } else { field };
    builder::refuse(&field, strip_position(&e.into_inner().to_string()))
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

impl<'a> Request<'a> {
    /// The request as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// The caller's SPIFFE id, when `source.principal` is one.
    pub fn spiffe(&self) -> Option<SpiffeId<'_>> {
        self.source.principal.as_deref().and_then(SpiffeId::parse)
    }

    /// The caller's namespace: given, or derived from a SPIFFE principal.
    pub fn source_namespace(&self) -> Option<&str> {
        match &self.source.namespace {
            Some(ns) => Some(ns),
            None => self.spiffe().and_then(|id| id.namespace),
        }
    }

    /// The caller's service account: given, or derived from a SPIFFE principal.
    pub fn source_service_account(&self) -> Option<&str> {
        match &self.source.service_account {
            Some(sa) => Some(sa),
            None => self.spiffe().and_then(|id| id.service_account),
        }
    }

    /// The caller's trust domain: given, or derived from a SPIFFE principal.
    pub fn source_trust_domain(&self) -> Option<&str> {
        match &self.source.trust_domain {
            Some(td) => Some(td),
            None => self.spiffe().map(|id| id.trust_domain),
        }
    }

    /// Why the path cannot be decided safely (a dot segment, `//`, a backslash, an encoded
    /// `.`, `/` or `\\`), or `None`. Such a request is denied with an error: see the spec's
    /// "request paths".
    pub fn path_abnormality(&self) -> Option<&'static str> {
        self.path().and_then(path::abnormality)
    }

    /// The path with any query string or fragment removed.
    pub fn path(&self) -> Option<&str> {
        self.request
            .path
            .as_deref()
            // Bytes, not a `char` search: this runs for every rule that tests the path.
            .map(|p| match p.bytes().position(|b| b == b'?' || b == b'#') {
                Some(end) => p.get(..end).unwrap_or(p),
                None => p,
            })
    }

    /// The host with any `:port` suffix removed (IPv6 literals in brackets kept whole).
    pub fn host(&self) -> Option<&str> {
        self.request.host.as_deref().map(strip_port)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => host.get(..=end).unwrap_or(host),
            None => host,
        };
    }
    match host.rsplit_once(':') {
        // An unbracketed IPv6 address (`2001:db8::1`) has no port to strip.
        Some((h, port))
            if !h.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_namespace_and_service_account_from_spiffe() {
        let mut r = Request::default();
        r.source.principal = Some("spiffe://cluster.local/ns/shop/sa/frontend".into());
        assert_eq!(r.source_namespace(), Some("shop"));
        assert_eq!(r.source_service_account(), Some("frontend"));
        assert_eq!(r.source_trust_domain(), Some("cluster.local"));
        r.source.namespace = Some("given".into());
        assert_eq!(r.source_namespace(), Some("given"));
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = Request::from_json(r#"{"source": {"ip": "10.0.0.300"}}"#).unwrap_err();
        assert_eq!(e.field, "source.ip");
        let e = Request::from_json(r#"{"source": {"namspace": "x"}}"#).unwrap_err();
        assert!(e.message.contains("namspace"), "{}", e.message);
        let e =
            Request::from_json(r#"{"request": {"headers": {"a": "1", "a": "2"}}}"#).unwrap_err();
        assert!(e.message.contains("duplicate key"), "{}", e.message);
    }

    #[test]
    fn json_round_trips() {
        let json = r#"{"source":{"principal":"spiffe://td/ns/a/sa/b","labels":{"app":"web"},"ip":"10.1.2.3"},"destination":{"port":8080},"request":{"method":"GET","path":"/x?y=1","auth":{"claims":{"groups":["a","b"],"n":3}}},"time":"2026-03-29T01:30:00Z","context":{"risk":2}}"#;
        let r = Request::from_json(json).unwrap();
        assert_eq!(r.path(), Some("/x"));
        assert_eq!(Request::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn host_port_is_ignored() {
        assert_eq!(strip_port("api.example.com:8443"), "api.example.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    }
}
