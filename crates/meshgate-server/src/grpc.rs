//! Envoy's ext_authz v3 gRPC service (`envoy.service.auth.v3.Authorization/Check`): the
//! `CheckRequest`'s attributes and metadata as a meshgate request, and the verdict as an
//! `OkResponse` or a `DeniedResponse`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use envoy_types::ext_authz::v3::pb::{
    Address, Authorization, CheckRequest, CheckResponse, DeniedHttpResponse, HeaderValue,
    HeaderValueOption, HttpResponse, HttpStatus, OkHttpResponse,
};
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::Peer;
use envoy_types::pb::google::rpc;
use meshgate::Request;
use meshgate::request::{Pairs, Value};

use crate::Mapping;
use crate::attrs::{self, Unreadable};
use crate::check::{RULE_HEADER, State, Verdict};

/// The metadata namespace Envoy's `jwt_authn` filter writes payloads to.
pub const JWT_NAMESPACE: &str = "envoy.filters.http.jwt_authn";
/// gRPC status codes of the `CheckResponse` (`google.rpc.Code`).
const OK: i32 = 0;
const PERMISSION_DENIED: i32 = 7;
const UNAVAILABLE: i32 = 14;

/// The service, for `AuthorizationServer::new`.
#[derive(Clone, Debug)]
pub struct Service {
    state: Arc<State>,
    mapping: Arc<Mapping>,
}

impl Service {
    /// A service deciding with `state`.
    pub fn new(state: Arc<State>, mapping: Arc<Mapping>) -> Service {
        Service { state, mapping }
    }
}

#[tonic::async_trait]
impl Authorization for Service {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let started = Instant::now();
        let check = request.into_inner();
        let mapped = match &check.attributes {
            Some(attributes) => map(attributes, &self.mapping),
            None => Err(Unreadable(
                "the check request has no attributes".to_string(),
            )),
        };
        let verdict = self.state.decide(started, mapped);
        Ok(tonic::Response::new(response(&verdict)))
    }
}

/// A verdict as a `CheckResponse`.
pub fn response(verdict: &Verdict) -> CheckResponse {
    match verdict {
        Verdict::Allow => CheckResponse {
            status: Some(rpc::Status {
                code: OK,
                ..rpc::Status::default()
            }),
            http_response: Some(HttpResponse::OkResponse(OkHttpResponse::default())),
            ..CheckResponse::default()
        },
        Verdict::Deny(denial) => {
            let mut headers = vec![header("content-type", "text/plain")];
            if let Some(rule) = &denial.rule {
                headers.push(header(RULE_HEADER, rule));
            }
            let code = if denial.status == crate::check::NOT_LOADED_STATUS {
                UNAVAILABLE
            } else {
                PERMISSION_DENIED
            };
            CheckResponse {
                status: Some(rpc::Status {
                    code,
                    ..rpc::Status::default()
                }),
                http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
                    // The `envoy.type.v3.StatusCode` values are the HTTP status numbers.
                    status: Some(HttpStatus {
                        code: i32::from(denial.status),
                    }),
                    headers,
                    body: denial.body.clone(),
                })),
                ..CheckResponse::default()
            }
        }
    }
}

#[expect(
    deprecated,
    reason = "`append` is deprecated but part of the generated struct"
)]
fn header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_string(),
            value: value.to_string(),
            raw_value: Vec::new(),
        }),
        append: None,
        append_action: 0,
        keep_empty_value: false,
    }
}

/// The attributes of a check as a meshgate request (see the crate README for each field).
pub fn map<'a>(
    attributes: &'a AttributeContext,
    mapping: &'a Mapping,
) -> Result<Request<'a>, Unreadable> {
    let mut r = Request::default();
    if let Some(source) = &attributes.source {
        if !source.principal.is_empty() {
            r.source.principal = Some(Cow::Borrowed(&source.principal));
        }
        r.source.ip = peer_address(source, "source")?.map(|(ip, _)| ip);
    }
    if let Some(destination) = &attributes.destination
        && let Some((ip, port)) = peer_address(destination, "destination")?
    {
        r.destination.ip = Some(ip);
        r.destination.port = port;
    }
    mapping.destination(&mut r);
    let http = attributes
        .request
        .as_ref()
        .and_then(|request| request.http.as_ref());
    if let Some(http) = http {
        r.request.method = non_empty(&http.method);
        r.request.path = non_empty(&http.path);
        r.request.host = non_empty(&http.host);
        let mut headers = Vec::new();
        for name in &mapping.headers {
            if let Some(value) = header_value(http, name)? {
                headers.push((Cow::Borrowed(name.as_str()), value));
            }
        }
        r.request.headers = Pairs(Cow::Owned(headers));
        if mapping.trust_peer_metadata
            && let Some(value) = header_value(http, "x-envoy-peer-metadata")?
        {
            mapping.peer_metadata(&mut r, &value)?;
        }
    }
    if let Some(time) = attributes.request.as_ref().and_then(|q| q.time.as_ref()) {
        r.time = Some(
            jiff::Timestamp::new(time.seconds, time.nanos)
                .map_err(|e| Unreadable(format!("the request time is out of range: {e}")))?,
        );
    }
    if let Some(tls) = &attributes.tls_session
        && !tls.sni.is_empty()
    {
        r.connection.sni = Some(Cow::Borrowed(&tls.sni));
    }
    if let Some(jwt) = attributes
        .metadata_context
        .as_ref()
        .and_then(|m| m.filter_metadata.get(JWT_NAMESPACE))
    {
        let payload = match &mapping.jwt_payload_key {
            Some(key) => jwt.fields.get(key),
            None if jwt.fields.len() <= 1 => jwt.fields.values().next(),
            None => {
                return Err(Unreadable(format!(
                    "`{JWT_NAMESPACE}` metadata holds {} payloads: configure which one \
                     (`--jwt-payload-key`)",
                    jwt.fields.len()
                )));
            }
        };
        if let Some(payload) = payload {
            let Some(envoy_types::pb::google::protobuf::value::Kind::StructValue(payload)) =
                &payload.kind
            else {
                return Err(Unreadable(format!(
                    "the JWT payload in `{JWT_NAMESPACE}` metadata is not an object"
                )));
            };
            r.request.auth = attrs::auth_from_claims(attrs::struct_pairs(payload)?);
        }
    }
    let mut context: Vec<(&String, &String)> = attributes.context_extensions.iter().collect();
    context.sort();
    r.context = Pairs(Cow::Owned(
        context
            .into_iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Value::Str(Cow::Borrowed(v))))
            .collect(),
    ));
    Ok(r)
}

fn non_empty(s: &str) -> Option<Cow<'_, str>> {
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

/// A header of the checked request (names are lower case in both of Envoy's encodings); a
/// header sent twice is joined with `,`.
fn header_value<'a>(
    http: &'a envoy_types::pb::envoy::service::auth::v3::attribute_context::HttpRequest,
    name: &str,
) -> Result<Option<Cow<'a, str>>, Unreadable> {
    if let Some(v) = http.headers.get(name) {
        return Ok(Some(Cow::Borrowed(v)));
    }
    // With `encode_raw_headers`, Envoy sends `header_map` (bytes, repeated entries) instead.
    let Some(map) = &http.header_map else {
        return Ok(None);
    };
    let mut joined: Option<String> = None;
    for h in map
        .headers
        .iter()
        .filter(|h| h.key.eq_ignore_ascii_case(name))
    {
        let value = if h.raw_value.is_empty() {
            h.value.clone()
        } else {
            String::from_utf8(h.raw_value.clone())
                .map_err(|_| Unreadable(format!("header `{name}` is not UTF-8")))?
        };
        joined = Some(match joined {
            Some(prev) => format!("{prev},{value}"),
            None => value,
        });
    }
    Ok(joined.map(Cow::Owned))
}

fn peer_address(
    peer: &Peer,
    which: &str,
) -> Result<Option<(std::net::IpAddr, Option<u16>)>, Unreadable> {
    let Some(address) = peer.address.as_ref().and_then(|a| a.address.as_ref()) else {
        return Ok(None);
    };
    let Address::SocketAddress(socket) = address else {
        // A pipe or an internal address has no IP to test.
        return Ok(None);
    };
    let ip = attrs::parse_ip(&socket.address).ok_or_else(|| {
        Unreadable(format!(
            "the {which} address `{}` is not an IP address",
            socket.address
        ))
    })?;
    let port = match &socket.port_specifier {
        Some(PortSpecifier::PortValue(p)) => u16::try_from(*p).ok(),
        _ => None,
    };
    Ok(Some((ip, port)))
}

#[cfg(test)]
#[path = "grpc_tests.rs"]
mod tests;
