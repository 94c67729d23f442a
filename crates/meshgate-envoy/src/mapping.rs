//! From Envoy's attributes to a meshgate [`Request`].
//!
//! | request field | Envoy attribute |
//! |---|---|
//! | `source.principal` | `connection.uri_san_peer_certificate` (namespace, service account and trust domain are derived from a SPIFFE id by the core) |
//! | `source.ip` | `source.address`, port removed |
//! | `destination.ip` | `destination.address`, port removed |
//! | `destination.port` | `destination.port` |
//! | `destination.namespace` | `xds.node.metadata.NAMESPACE` (else `node.metadata.NAMESPACE`) |
//! | `destination.labels` | `xds.node.metadata.LABELS` (else `node.metadata.LABELS`) |
//! | `destination.service` | the plugin's `destination_service`, else the host of an `outbound\|PORT\|SUBSET\|HOST` `xds.cluster_name` |
//! | `request.method`, `request.host` | `:method`, `:authority` |
//! | `request.path` | `:path`, query and fragment removed |
//! | `request.headers[…]` | the headers the plugin lists in `headers` (repeated headers joined with `,`) |
//! | `request.auth.*` | the JWT payload in dynamic metadata (`metadata.filter_metadata[jwt.metadata_namespace]`) |
//! | `connection.sni` | `connection.requested_server_name` |
//! | `context.*` | the fields of `metadata.filter_metadata[context_metadata_namespace]` |
//! | `time` | the proxy's clock (`proxy_get_current_time_nanoseconds`) |
//!
//! The host is reached through [`Attributes`], so the mapping runs and is tested natively.

use std::borrow::Cow;
use std::net::IpAddr;

use meshgate::request::{Field, Pairs, RequestBuilder, Value};
use meshgate::{Request, RequestError, RequestLimits};

use crate::config::Config;
use crate::wire;

/// What the proxy tells the filter about the current request.
pub trait Attributes {
    /// A property's serialized value: `Ok(None)` when the proxy does not have it, `Err` when the
    /// proxy failed to give it.
    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, String>;
    /// The request headers, names in lower case, in order (a name may repeat).
    fn headers(&self) -> Result<Vec<(String, Vec<u8>)>, String>;
    /// The proxy's current time in nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> Result<i128, String>;
}

/// Property paths the filter reads.
pub mod paths {
    /// The peer certificate's first URI SAN.
    pub const PEER_URI_SAN: &[&str] = &["connection", "uri_san_peer_certificate"];
    /// `source.address`.
    pub const SOURCE_ADDRESS: &[&str] = &["source", "address"];
    /// `destination.address`.
    pub const DESTINATION_ADDRESS: &[&str] = &["destination", "address"];
    /// `destination.port`.
    pub const DESTINATION_PORT: &[&str] = &["destination", "port"];
    /// `connection.requested_server_name`.
    pub const SNI: &[&str] = &["connection", "requested_server_name"];
    /// `xds.node.metadata.NAMESPACE` (Envoy 1.40 has the node only under `xds`).
    pub const NODE_NAMESPACE: &[&str] = &["xds", "node", "metadata", "NAMESPACE"];
    /// `xds.node.metadata.LABELS`.
    pub const NODE_LABELS: &[&str] = &["xds", "node", "metadata", "LABELS"];
    /// `node.metadata.NAMESPACE`, where older proxies put it; read when the `xds.` one is absent.
    pub const LEGACY_NODE_NAMESPACE: &[&str] = &["node", "metadata", "NAMESPACE"];
    /// `node.metadata.LABELS`, read when the `xds.` one is absent.
    pub const LEGACY_NODE_LABELS: &[&str] = &["node", "metadata", "LABELS"];
    /// `xds.cluster_name`.
    pub const CLUSTER_NAME: &[&str] = &["xds", "cluster_name"];
    /// The dynamic metadata (`envoy.config.core.v3.Metadata`).
    pub const METADATA: &[&str] = &["metadata"];
}

/// Why a request's attributes could not be read. The request is then denied as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError(pub String);

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn property(attrs: &impl Attributes, path: &[&str]) -> Result<Option<Vec<u8>>, MappingError> {
    attrs
        .property(path)
        .map_err(|e| MappingError(format!("cannot read `{}`: {e}", path.join("."))))
}

fn text(attrs: &impl Attributes, path: &[&str]) -> Result<Option<String>, MappingError> {
    Ok(property(attrs, path)?
        .filter(|b| !b.is_empty())
        .map(|b| wire::lossy(&b)))
}

/// The attributes a policy can read, found from its text. Every way a policy reads an attribute
/// (a matcher, a `permit` option, an attribute path in a condition) spells one of the attribute's
/// keywords, so an attribute none of whose keywords appears anywhere in the text (comments and
/// strings included, which can only add) is read by no rule, and the filter does not ask the
/// proxy for it. The request line (`:method`, `:path`, `:authority`) and the listed headers are
/// always read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// `source.principal` (and what a SPIFFE id derives).
    pub principal: bool,
    /// `source.ip` and `destination.ip`.
    pub ip: bool,
    /// `destination.port`.
    pub port: bool,
    /// `connection.sni`.
    pub sni: bool,
    /// `destination.namespace`.
    pub namespace: bool,
    /// `destination.labels`.
    pub labels: bool,
    /// `destination.service`.
    pub service: bool,
    /// `request.auth.*` and `context.*` (the dynamic metadata).
    pub metadata: bool,
    /// `time` and its fields.
    pub time: bool,
}

impl Needs {
    /// Every attribute.
    pub const ALL: Needs = Needs {
        principal: true,
        ip: true,
        port: true,
        sni: true,
        namespace: true,
        labels: true,
        service: true,
        metadata: true,
        time: true,
    };

    /// What the policy sources can read. The decision log names the principal and the time, so
    /// it needs those two whatever the policy reads.
    pub fn of(sources: &[(String, String)], decision_log: bool) -> Needs {
        let mut n = Needs {
            principal: decision_log,
            ip: false,
            port: false,
            sni: false,
            namespace: false,
            labels: false,
            service: false,
            metadata: false,
            time: decision_log,
        };
        for (_, text) in sources {
            for word in text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
            {
                match word {
                    "principal" | "service_account" | "trust_domain" => n.principal = true,
                    "namespace" => {
                        // The caller's namespace comes from its SPIFFE id.
                        n.principal = true;
                        n.namespace = true;
                    }
                    "ip" => n.ip = true,
                    "port" => n.port = true,
                    "sni" => n.sni = true,
                    "label" | "labels" => n.labels = true,
                    "service" => n.service = true,
                    "request_principal" | "auth" | "context" => n.metadata = true,
                    "time" => n.time = true,
                    _ => {}
                }
            }
        }
        n
    }
}

/// Builds the request for the current HTTP request, reading the attributes in `needs`.
///
/// The request is fed to the core's [`RequestBuilder`], which holds the rules of what a request
/// may hold (the same as for JSON, Python and JavaScript). Its limits are the ceilings alone
/// ([`RequestLimits::CEILINGS`]): Envoy bounds the headers and metadata it hands over, and the
/// filter must not refuse what Envoy accepted.
pub fn request(
    attrs: &impl Attributes,
    config: &Config,
    needs: Needs,
) -> Result<Request<'static>, MappingError> {
    let mut b = RequestBuilder::with_limits(RequestLimits::CEILINGS);

    if needs.principal
        && let Some(principal) = text(attrs, paths::PEER_URI_SAN)?
    {
        b.str(Field::SourcePrincipal, principal).map_err(refused)?;
    }
    if needs.ip {
        for (field, path) in [
            (Field::SourceIp, paths::SOURCE_ADDRESS),
            (Field::DestinationIp, paths::DESTINATION_ADDRESS),
        ] {
            // Pipes, internal addresses and anything else that is not an IP socket: absent.
            if let Some(ip) = text(attrs, path)?.as_deref().and_then(address_ip) {
                b.ip(field, ip).map_err(refused)?;
            }
        }
    }
    if needs.port
        && let Some(bytes) = property(attrs, paths::DESTINATION_PORT)?
    {
        let port = wire::int64(&bytes).ok_or_else(|| {
            MappingError(format!(
                "`destination.port` is {} bytes, not an 8-byte integer",
                bytes.len()
            ))
        })?;
        // A port outside 0..=65535 cannot come from a socket; leave it absent.
        if let Ok(port) = u16::try_from(port) {
            b.port(port).map_err(refused)?;
        }
    }
    if needs.sni
        && let Some(sni) = text(attrs, paths::SNI)?
    {
        b.str(Field::ConnectionSni, sni).map_err(refused)?;
    }
    if needs.namespace {
        let namespace = match text(attrs, paths::NODE_NAMESPACE)? {
            Some(ns) => Some(ns),
            None => text(attrs, paths::LEGACY_NODE_NAMESPACE)?,
        };
        if let Some(ns) = namespace {
            b.str(Field::DestinationNamespace, ns).map_err(refused)?;
        }
    }
    let labels = if needs.labels {
        match property(attrs, paths::NODE_LABELS)? {
            Some(bytes) => Some(bytes),
            None => property(attrs, paths::LEGACY_NODE_LABELS)?,
        }
    } else {
        None
    };
    if let Some(bytes) = labels {
        let labels = wire::string_map(&bytes)
            .map_err(|e| MappingError(format!("cannot decode the node's `LABELS`: {e}")))?;
        // A label repeated in the metadata: the last one wins, as before.
        let labels: Pairs<'static, Cow<'static, str>> = labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect();
        b.pairs(Field::DestinationLabels, labels).map_err(refused)?;
    }
    if needs.service {
        let service = match &config.destination_service {
            Some(s) => Some(s.clone()),
            None => text(attrs, paths::CLUSTER_NAME)?
                .as_deref()
                .and_then(outbound_service)
                .map(str::to_string),
        };
        if let Some(service) = service {
            b.str(Field::DestinationService, service).map_err(refused)?;
        }
    }

    read_headers(attrs, config, &mut b)?;
    if needs.metadata {
        read_metadata(attrs, config, &mut b)?;
    }

    if needs.time {
        let nanos = attrs
            .now_nanos()
            .map_err(|e| MappingError(format!("cannot read the proxy's clock: {e}")))?;
        let time = jiff::Timestamp::from_nanosecond(nanos).map_err(|e| {
            MappingError(format!(
                "the proxy's clock is out of range ({nanos} ns): {e}"
            ))
        })?;
        b.time(time).map_err(refused)?;
    }
    b.finish().map_err(refused)
}

/// A request the core's builder refused (nothing Envoy hands over should be).
fn refused(e: RequestError) -> MappingError {
    MappingError(e.to_string())
}

fn read_headers(
    attrs: &impl Attributes,
    config: &Config,
    b: &mut RequestBuilder<'static>,
) -> Result<(), MappingError> {
    let headers = attrs
        .headers()
        .map_err(|e| MappingError(format!("cannot read the request headers: {e}")))?;
    let mut selected: Vec<(String, String)> = Vec::new();
    for (name, value) in &headers {
        let name = name.as_str();
        // The first `:method`, `:path` and `:authority` make the request line; a repeated
        // one is read like any other header.
        let pseudo = match name {
            ":method" => Some(Field::RequestMethod),
            ":path" => Some(Field::RequestPath),
            ":authority" => Some(Field::RequestHost),
            _ => None,
        };
        match pseudo {
            Some(field) if !b.is_given(field) => {
                let mut value = wire::lossy(value);
                if field == Field::RequestPath {
                    value.truncate(value.find(['?', '#']).unwrap_or(value.len()));
                }
                b.str(field, value).map_err(refused)?;
            }
            _ => {
                if let Some(wanted) = config.headers.iter().find(|h| h.eq_ignore_ascii_case(name)) {
                    let value = wire::lossy(value);
                    // Repeated headers are joined with `,`, as Envoy's RBAC filter reads them:
                    // a second `x-tenant` line cannot hide behind the first.
                    match selected.iter_mut().find(|(n, _)| n == wanted) {
                        Some((_, v)) => {
                            v.push(',');
                            v.push_str(&value);
                        }
                        None => selected.push((wanted.clone(), value)),
                    }
                }
            }
        }
    }
    let headers: Pairs<'static, Cow<'static, str>> = selected
        .into_iter()
        .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
        .collect();
    if !headers.is_empty() {
        b.pairs(Field::RequestHeaders, headers).map_err(refused)?;
    }
    Ok(())
}

fn read_metadata(
    attrs: &impl Attributes,
    config: &Config,
    b: &mut RequestBuilder<'static>,
) -> Result<(), MappingError> {
    let Some(bytes) = property(attrs, paths::METADATA)? else {
        return Ok(());
    };
    let [jwt, context] = wire::metadata_namespaces(
        &bytes,
        &config.jwt.metadata_namespace,
        &config.context_metadata_namespace,
    )
    .map_err(|e| MappingError(format!("cannot decode the dynamic metadata: {e}")))?;
    if let Some(ns) = jwt {
        let payload = match &config.jwt.payload_key {
            Some(key) => ns.get(key).cloned(),
            None => match ns.len() {
                0 => None,
                1 => ns.iter().next().map(|(_, v)| v.clone()),
                _ => {
                    let keys: Vec<String> = ns.iter().map(|(k, _)| format!("`{k}`")).collect();
                    return Err(MappingError(format!(
                        "the `{}` metadata holds several JWT payloads ({}); set `jwt.payload_key` to choose one",
                        config.jwt.metadata_namespace,
                        keys.join(", ")
                    )));
                }
            },
        };
        match payload {
            Some(Value::Map(claims)) => auth_from_claims(claims, b)?,
            Some(other) => {
                return Err(MappingError(format!(
                    "the JWT payload in the `{}` metadata is {}, not an object",
                    config.jwt.metadata_namespace,
                    other.kind()
                )));
            }
            None => {}
        }
    }
    if let Some(ctx) = context
        && !ctx.is_empty()
    {
        b.values(Field::Context, ctx).map_err(refused)?;
    }
    Ok(())
}

/// `request.auth` from a JWT payload: principal `iss/sub` (as Istio forms it), presenter `azp`,
/// audiences `aud` (a string or a list of strings), and every claim.
fn auth_from_claims(
    claims: Pairs<'static, Value<'static>>,
    b: &mut RequestBuilder<'static>,
) -> Result<(), MappingError> {
    let string = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    if let (Some(iss), Some(sub)) = (string("iss"), string("sub")) {
        b.str(Field::AuthPrincipal, format!("{iss}/{sub}"))
            .map_err(refused)?;
    }
    if let Some(azp) = string("azp") {
        b.str(Field::AuthPresenter, azp).map_err(refused)?;
    }
    let audiences = match claims.get("aud") {
        Some(Value::Str(s)) => Some(vec![s.clone()]),
        Some(Value::List(items)) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(|s| Cow::Owned(s.to_string())))
                .collect(),
        ),
        _ => None,
    };
    if let Some(audiences) = audiences {
        b.audiences(audiences).map_err(refused)?;
    }
    if !claims.is_empty() {
        b.values(Field::AuthClaims, claims).map_err(refused)?;
    }
    Ok(())
}

/// The IP of an Envoy socket address (`10.1.2.3:443`, `[2001:db8::1]:443`, or a bare address);
/// `None` for pipes, internal addresses and anything else that is not an IP socket.
pub fn address_ip(address: &str) -> Option<IpAddr> {
    if let Ok(ip) = address.parse() {
        return Some(ip);
    }
    if let Some(rest) = address.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return port.parse::<u16>().ok().and(ip.parse().ok());
    }
    let (ip, port) = address.rsplit_once(':')?;
    match ip.parse().ok()? {
        ip @ IpAddr::V4(_) if port.parse::<u16>().is_ok() => Some(ip),
        _ => None,
    }
}

/// The service host of an outbound Istio cluster name, `outbound|PORT|SUBSET|HOST`.
pub fn outbound_service(cluster: &str) -> Option<&str> {
    let mut parts = cluster.split('|');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("outbound"), Some(_), Some(_), Some(host), None) if !host.is_empty() => Some(host),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::wire::tests::enc;

    #[derive(Default)]
    struct Fake {
        properties: HashMap<String, Vec<u8>>,
        failing: Option<String>,
        headers: Vec<(String, Vec<u8>)>,
        now: i128,
    }

    impl Fake {
        fn set(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Self {
            self.properties.insert(path.join("."), value.into());
            self
        }
        fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.into(), value.into()));
            self
        }
    }

    impl Attributes for Fake {
        fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, String> {
            let key = path.join(".");
            if self.failing.as_deref() == Some(key.as_str()) {
                return Err("serialization failure".into());
            }
            Ok(self.properties.get(&key).cloned())
        }
        fn headers(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
            Ok(self.headers.clone())
        }
        fn now_nanos(&self) -> Result<i128, String> {
            Ok(self.now)
        }
    }

    fn config() -> Config {
        Config {
            headers: vec!["x-tenant".into()],
            ..Config::default()
        }
    }

    #[test]
    fn every_attribute_is_mapped() {
        let claims = enc::structure(&[
            ("iss", enc::string("https://auth.example.com")),
            ("sub", enc::string("alice")),
            ("azp", enc::string("web")),
            ("aud", enc::list_value(&[enc::string("payments")])),
            ("groups", enc::list_value(&[enc::string("admins")])),
        ]);
        let md = enc::metadata(&[
            (
                "envoy.filters.http.jwt_authn",
                enc::structure(&[("jwt_payload", enc::wrap_struct(&claims))]),
            ),
            (
                "meshgate.context",
                enc::structure(&[("risk", enc::number(2.0))]),
            ),
        ]);
        let fake = Fake {
            now: 1_774_747_800_000_000_000,
            ..Fake::default()
        }
        .set(
            paths::PEER_URI_SAN,
            "spiffe://cluster.local/ns/shop/sa/frontend",
        )
        .set(paths::SOURCE_ADDRESS, "10.1.2.3:53000")
        .set(paths::DESTINATION_ADDRESS, "[2001:db8::4]:8443")
        .set(paths::DESTINATION_PORT, 8443i64.to_le_bytes())
        .set(paths::SNI, "payments.example.com")
        .set(paths::NODE_NAMESPACE, "prod")
        .set(paths::NODE_LABELS, enc::pairs(&[(b"tier", b"api")]))
        .set(
            paths::CLUSTER_NAME,
            "outbound|8443||payments.prod.svc.cluster.local",
        )
        .set(paths::METADATA, md)
        .header(":method", "GET")
        .header(":path", "/api/balance?x=1")
        .header(":authority", "payments.example.com:8443")
        .header("x-tenant", "acme")
        .header("x-other", "hidden")
        .header("x-tenant", "evil");
        let r = request(&fake, &config(), Needs::ALL).unwrap();
        let expected = Request::from_json(
            r#"{
            "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend", "ip": "10.1.2.3"},
            "destination": {"service": "payments.prod.svc.cluster.local", "namespace": "prod",
                            "labels": {"tier": "api"}, "port": 8443, "ip": "2001:db8::4"},
            "request": {"method": "GET", "path": "/api/balance", "host": "payments.example.com:8443",
                        "headers": {"x-tenant": "acme,evil"},
                        "auth": {"principal": "https://auth.example.com/alice", "presenter": "web",
                                 "audiences": ["payments"],
                                 "claims": {"iss": "https://auth.example.com", "sub": "alice", "azp": "web",
                                            "aud": ["payments"], "groups": ["admins"]}}},
            "connection": {"sni": "payments.example.com"},
            "time": "2026-03-29T01:30:00Z",
            "context": {"risk": 2}
        }"#,
        )
        .unwrap();
        assert_eq!(r, expected);
        assert_eq!(r.source_namespace(), Some("shop"));
    }

    #[test]
    fn absent_attributes_stay_absent() {
        let r = request(&Fake::default(), &config(), Needs::ALL).unwrap();
        let mut expected = Request::builder();
        expected.time(jiff::Timestamp::UNIX_EPOCH).unwrap();
        let expected = expected.finish().unwrap();
        assert_eq!(r, expected);
    }

    #[test]
    fn the_node_is_read_under_xds_then_at_the_top_level() {
        let legacy = Fake::default()
            .set(paths::LEGACY_NODE_NAMESPACE, "old")
            .set(paths::LEGACY_NODE_LABELS, enc::pairs(&[(b"app", b"a")]));
        let r = request(&legacy, &config(), Needs::ALL).unwrap();
        assert_eq!(r.destination.namespace.as_deref(), Some("old"));
        assert_eq!(r.destination.labels.len(), 1);
        let both = legacy
            .set(paths::NODE_NAMESPACE, "new")
            .set(paths::NODE_LABELS, enc::pairs(&[]));
        let r = request(&both, &config(), Needs::ALL).unwrap();
        assert_eq!(r.destination.namespace.as_deref(), Some("new"));
        assert!(r.destination.labels.is_empty());
    }

    #[test]
    fn a_static_destination_service_wins() {
        let fake = Fake::default().set(paths::CLUSTER_NAME, "outbound|80||a.svc");
        let mut c = config();
        c.destination_service = Some("b.svc".into());
        let r = request(&fake, &c, Needs::ALL).unwrap();
        assert_eq!(r.destination.service.as_deref(), Some("b.svc"));
    }

    #[test]
    fn unreadable_attributes_refuse_the_request() {
        let fake = Fake {
            failing: Some("metadata".into()),
            ..Fake::default()
        };
        let e = request(&fake, &config(), Needs::ALL).unwrap_err();
        assert!(e.0.contains("`metadata`"), "{e}");
        let fake = Fake::default().set(paths::DESTINATION_PORT, [1, 2]);
        assert!(
            request(&fake, &config(), Needs::ALL)
                .unwrap_err()
                .0
                .contains("destination.port")
        );
        let fake = Fake::default().set(paths::METADATA, [0x0a, 0x09]);
        assert!(
            request(&fake, &config(), Needs::ALL)
                .unwrap_err()
                .0
                .contains("dynamic metadata")
        );
        let fake = Fake::default().set(paths::NODE_LABELS, [7, 7, 7]);
        assert!(
            request(&fake, &config(), Needs::ALL)
                .unwrap_err()
                .0
                .contains("LABELS")
        );
    }

    #[test]
    fn several_jwt_payloads_need_a_key() {
        let payload = |sub: &str| enc::struct_value(&[("sub", enc::string(sub))]);
        let md = enc::metadata(&[(
            "envoy.filters.http.jwt_authn",
            enc::structure(&[("a", payload("x")), ("b", payload("y"))]),
        )]);
        let fake = Fake::default().set(paths::METADATA, md);
        let e = request(&fake, &config(), Needs::ALL).unwrap_err();
        assert!(
            e.0.contains("`a`, `b`") && e.0.contains("payload_key"),
            "{e}"
        );
        let mut c = config();
        c.jwt.payload_key = Some("b".into());
        let r = request(&fake, &c, Needs::ALL).unwrap();
        assert_eq!(r.request.auth.claims.get("sub"), Some(&Value::str("y")));
        let md = enc::metadata(&[(
            "envoy.filters.http.jwt_authn",
            enc::structure(&[("a", enc::string("x"))]),
        )]);
        let fake = Fake::default().set(paths::METADATA, md);
        assert!(
            request(&fake, &config(), Needs::ALL)
                .unwrap_err()
                .0
                .contains("not an object")
        );
    }

    #[test]
    fn only_the_attributes_a_policy_names_are_read() {
        let src = |t: &str| vec![("p.mgp".to_string(), t.to_string())];
        let n = Needs::of(&src(r#"allow "a" { to path "/x" }"#), false);
        assert_eq!(
            n,
            Needs {
                principal: false,
                ip: false,
                port: false,
                sni: false,
                namespace: false,
                labels: false,
                service: false,
                metadata: false,
                time: false,
            }
        );
        let n = Needs::of(
            &src(
                r#"allow "a" { from namespace "x" to port 80 when time.hour in 8..17 and context.k == 1 }"#,
            ),
            false,
        );
        assert!(n.principal && n.namespace && n.port && n.time && n.metadata);
        assert!(!n.ip && !n.labels && !n.service && !n.sni);
        let n = Needs::of(&src(r#"allow "a" { to path "/x" }"#), true);
        assert!(n.principal && n.time && !n.ip);
        let n = Needs::of(
            &src(
                r#"allow "a" { from request_principal "x" to label app = "y", service "s" when connection.sni == "z" and source.ip in 10.0.0.0/8 }"#,
            ),
            false,
        );
        assert!(n.metadata && n.labels && n.service && n.sni && n.ip);

        // What is not needed is not read: a request without the attributes decides the same.
        let fake = Fake::default()
            .set(paths::PEER_URI_SAN, "spiffe://td/ns/a/sa/b")
            .set(paths::METADATA, [0x0a, 0x09]);
        let none = Needs::of(&src(r#"allow "a" { to path "/x" }"#), false);
        let r = request(&fake, &config(), none).unwrap();
        assert_eq!(r, Request::default());
    }

    #[test]
    fn addresses_and_cluster_names() {
        assert_eq!(address_ip("10.0.0.1:80"), "10.0.0.1".parse().ok());
        assert_eq!(address_ip("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(address_ip("[::1]:80"), "::1".parse().ok());
        assert_eq!(address_ip("::1"), "::1".parse().ok());
        assert_eq!(address_ip("/var/run/sock"), None);
        assert_eq!(address_ip("envoy://internal/"), None);
        assert_eq!(address_ip("10.0.0.1:http"), None);
        assert_eq!(outbound_service("outbound|80|v1|a.b.svc"), Some("a.b.svc"));
        assert_eq!(outbound_service("inbound|80||"), None);
        assert_eq!(outbound_service("outbound|80||"), None);
        assert_eq!(outbound_service("outbound|80||a|b"), None);
    }
}
