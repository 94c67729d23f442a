//! Attribute decoders shared by the gRPC and HTTP front ends: protobuf `Struct`s (JWT payloads,
//! Istio peer metadata) as meshgate values, Istio's `x-envoy-peer-metadata` header, addresses
//! as proxies write them, and JWT payloads forwarded in a header.
//!
//! Every decoder refuses what it cannot read rather than guessing: the caller denies the check.

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine as _;
use envoy_types::pb::google::protobuf::{Struct, Value as PbValue, value::Kind};
use meshgate::request::{Auth, Pairs, Value};
use prost::Message as _;

/// Deepest nesting of a decoded value (as the Envoy filter).
const MAX_DEPTH: usize = 16;

/// An attribute that could not be read; the check is denied with this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// A protobuf `Struct`'s fields as meshgate pairs: strings, booleans, lists and objects as they
/// are; numbers (doubles) as integers when whole and within 64 bits, else as their decimal
/// text; `null` as absent.
pub fn struct_pairs(s: &Struct) -> Result<Pairs<'_, Value<'_>>, Unreadable> {
    struct_pairs_at(s, 0)
}

fn struct_pairs_at(s: &Struct, depth: usize) -> Result<Pairs<'_, Value<'_>>, Unreadable> {
    if depth > MAX_DEPTH {
        return Err(Unreadable(format!(
            "a metadata value is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut fields: Vec<(&String, &PbValue)> = s.fields.iter().collect();
    // Protobuf maps are unordered: sort so that logs and errors are deterministic.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut pairs = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        if let Some(v) = value_at(value, depth)? {
            pairs.push((Cow::Borrowed(name.as_str()), v));
        }
    }
    Ok(Pairs(Cow::Owned(pairs)))
}

fn value_at(value: &PbValue, depth: usize) -> Result<Option<Value<'_>>, Unreadable> {
    let next = depth.saturating_add(1);
    Ok(match &value.kind {
        None | Some(Kind::NullValue(_)) => None,
        Some(Kind::StringValue(s)) => Some(Value::Str(Cow::Borrowed(s))),
        Some(Kind::BoolValue(b)) => Some(Value::Bool(*b)),
        Some(Kind::NumberValue(n)) => Some(number(*n)),
        Some(Kind::StructValue(s)) => Some(Value::Map(struct_pairs_at(s, next)?)),
        Some(Kind::ListValue(list)) => {
            if next > MAX_DEPTH {
                return Err(Unreadable(format!(
                    "a metadata value is nested deeper than {MAX_DEPTH} levels"
                )));
            }
            let mut items = Vec::with_capacity(list.values.len());
            for item in &list.values {
                if let Some(v) = value_at(item, next)? {
                    items.push(v);
                }
            }
            Some(Value::List(Cow::Owned(items)))
        }
    })
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "the cast is taken only for whole numbers within the i64 range"
)]
fn number<'a>(n: f64) -> Value<'a> {
    // 2^63 as a double: every whole double strictly below it (and at or above -2^63) is an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && (-LIMIT..LIMIT).contains(&n) {
        Value::Int(n as i64)
    } else {
        Value::Str(Cow::Owned(n.to_string()))
    }
}

/// A JWT payload's claims, and the principal (`iss/sub`), presenter (`azp`) and audiences
/// (`aud`) derived from them as Istio does.
pub fn auth_from_claims<'a>(claims: Pairs<'a, Value<'a>>) -> Auth<'a> {
    let text = |name: &str| match claims.get(name) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let principal = match (text("iss"), text("sub")) {
        (Some(iss), Some(sub)) => Some(Cow::Owned(format!("{iss}/{sub}"))),
        _ => None,
    };
    let presenter = text("azp");
    let audiences = match claims.get("aud") {
        Some(Value::Str(s)) => Some(Cow::Owned(vec![s.clone()])),
        Some(Value::List(items)) => Some(Cow::Owned(
            items
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    };
    let mut auth = Auth::default();
    auth.principal = principal;
    auth.presenter = presenter;
    auth.audiences = audiences;
    auth.claims = claims;
    auth
}

/// A JWT payload forwarded in a header (Envoy's `jwt_authn` `forward_payload_header`: the
/// payload's JSON in base64url, padded or not).
pub fn claims_from_header<'a>(value: &str) -> Result<Pairs<'a, Value<'a>>, Unreadable> {
    let trimmed = value.trim().trim_end_matches('=');
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .map_err(|_| Unreadable("the JWT payload header is not base64url".to_string()))?;
    let text = std::str::from_utf8(&json)
        .map_err(|_| Unreadable("the JWT payload header is not UTF-8 JSON".to_string()))?;
    serde_json::from_str(text)
        .map_err(|e| Unreadable(format!("the JWT payload header is not a JSON object: {e}")))
}

/// The caller's workload as Istio's metadata exchange describes it in `x-envoy-peer-metadata`
/// (a base64 protobuf `google.protobuf.Struct` of the sending proxy's node metadata).
#[derive(Debug, Default, PartialEq)]
pub struct PeerMetadata {
    /// `NAMESPACE`.
    pub namespace: Option<String>,
    /// `LABELS` (string values only).
    pub labels: Vec<(String, String)>,
}

/// Decodes an `x-envoy-peer-metadata` value.
pub fn peer_metadata(value: &str) -> Result<PeerMetadata, Unreadable> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| Unreadable("`x-envoy-peer-metadata` is not base64".to_string()))?;
    let node = Struct::decode(bytes.as_slice()).map_err(|_| {
        Unreadable("`x-envoy-peer-metadata` is not a protobuf `Struct`".to_string())
    })?;
    let mut peer = PeerMetadata::default();
    if let Some(PbValue {
        kind: Some(Kind::StringValue(ns)),
    }) = node.fields.get("NAMESPACE")
    {
        peer.namespace = Some(ns.clone());
    }
    if let Some(PbValue {
        kind: Some(Kind::StructValue(labels)),
    }) = node.fields.get("LABELS")
    {
        for (k, v) in &labels.fields {
            if let Some(Kind::StringValue(s)) = &v.kind {
                peer.labels.push((k.clone(), s.clone()));
            }
        }
        peer.labels.sort();
    }
    Ok(peer)
}

/// An address, alone or with a port (`1.2.3.4:5`, `[::1]:5`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::google::protobuf::ListValue;

    fn s(v: &str) -> PbValue {
        PbValue {
            kind: Some(Kind::StringValue(v.to_string())),
        }
    }

    #[test]
    fn structs_become_values() {
        let mut inner = Struct::default();
        inner.fields.insert(
            "n".into(),
            PbValue {
                kind: Some(Kind::NumberValue(3.0)),
            },
        );
        inner.fields.insert(
            "f".into(),
            PbValue {
                kind: Some(Kind::NumberValue(1.5)),
            },
        );
        inner.fields.insert(
            "z".into(),
            PbValue {
                kind: Some(Kind::NullValue(0)),
            },
        );
        let mut top = Struct::default();
        top.fields.insert("iss".into(), s("https://idp"));
        top.fields.insert("sub".into(), s("alice"));
        top.fields.insert(
            "aud".into(),
            PbValue {
                kind: Some(Kind::ListValue(ListValue {
                    values: vec![s("a"), s("b")],
                })),
            },
        );
        top.fields.insert(
            "o".into(),
            PbValue {
                kind: Some(Kind::StructValue(inner)),
            },
        );
        let auth = auth_from_claims(struct_pairs(&top).unwrap());
        assert_eq!(auth.principal.as_deref(), Some("https://idp/alice"));
        assert_eq!(auth.audiences.unwrap().len(), 2);
        let json = serde_json::to_string(&auth.claims).unwrap();
        assert_eq!(
            json,
            r#"{"aud":["a","b"],"iss":"https://idp","o":{"f":"1.5","n":3},"sub":"alice"}"#
        );
    }

    #[test]
    fn deep_structs_are_refused() {
        let mut v = Struct::default();
        for _ in 0..20 {
            let mut outer = Struct::default();
            outer.fields.insert(
                "a".into(),
                PbValue {
                    kind: Some(Kind::StructValue(v)),
                },
            );
            v = outer;
        }
        assert!(struct_pairs(&v).is_err());
    }

    #[test]
    fn peer_metadata_decodes_namespace_and_labels() {
        let mut labels = Struct::default();
        labels.fields.insert("app".into(), s("frontend"));
        let mut node = Struct::default();
        node.fields.insert("NAMESPACE".into(), s("shop"));
        node.fields.insert(
            "LABELS".into(),
            PbValue {
                kind: Some(Kind::StructValue(labels)),
            },
        );
        let header = base64::engine::general_purpose::STANDARD.encode(node.encode_to_vec());
        let peer = peer_metadata(&header).unwrap();
        assert_eq!(peer.namespace.as_deref(), Some("shop"));
        assert_eq!(peer.labels, vec![("app".into(), "frontend".into())]);
        assert!(peer_metadata("not base64!").is_err());
        assert!(peer_metadata("/////w==").is_err());
    }

    #[test]
    fn addresses_and_payload_headers() {
        assert_eq!(parse_ip("[::1]:80"), Some("::1".parse().unwrap()));
        assert_eq!(parse_ip("10.0.0.1:443"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(parse_ip("nonsense"), None);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"alice","groups":["a"]}"#);
        let claims = claims_from_header(&payload).unwrap();
        assert_eq!(claims.get("sub").and_then(Value::as_str), Some("alice"));
        assert!(claims_from_header("e30").unwrap().is_empty());
        assert!(claims_from_header("W10").is_err());
    }
}
