//! Tests of the gRPC mapping and responses.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::{
    Address as CoreAddress, Metadata, SocketAddress, address,
};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{
    HttpRequest, Peer, Request as AttrRequest,
};
use envoy_types::pb::google::protobuf::{Struct, Timestamp, Value as PbValue, value::Kind};

use super::*;
use crate::check::Denial;

fn peer(ip: &str, port: u32, principal: &str) -> Peer {
    Peer {
        address: Some(CoreAddress {
            address: Some(address::Address::SocketAddress(SocketAddress {
                address: ip.to_string(),
                port_specifier: Some(PortSpecifier::PortValue(port)),
                ..SocketAddress::default()
            })),
        }),
        principal: principal.to_string(),
        ..Peer::default()
    }
}

fn s(v: &str) -> PbValue {
    PbValue {
        kind: Some(Kind::StringValue(v.to_string())),
    }
}

fn attributes() -> AttributeContext {
    let mut payload = Struct::default();
    payload.fields.insert("iss".into(), s("https://idp"));
    payload.fields.insert("sub".into(), s("alice"));
    payload.fields.insert("aud".into(), s("shop"));
    let mut jwt = Struct::default();
    jwt.fields.insert(
        "payload".into(),
        PbValue {
            kind: Some(Kind::StructValue(payload)),
        },
    );
    let mut filter_metadata = HashMap::new();
    filter_metadata.insert(JWT_NAMESPACE.to_string(), jwt);
    let mut headers = HashMap::new();
    headers.insert("x-user".to_string(), "alice".to_string());
    headers.insert("authorization".to_string(), "Bearer x".to_string());
    AttributeContext {
        source: Some(peer("10.0.0.7", 40000, "spiffe://td/ns/shop/sa/frontend")),
        destination: Some(peer("10.0.0.8", 8080, "")),
        request: Some(AttrRequest {
            time: Some(Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            http: Some(HttpRequest {
                method: "GET".into(),
                path: "/api/x?y=1".into(),
                host: "shop.example.com".into(),
                headers,
                ..HttpRequest::default()
            }),
        }),
        metadata_context: Some(Metadata {
            filter_metadata,
            ..Metadata::default()
        }),
        ..AttributeContext::default()
    }
}

#[test]
fn attributes_become_a_request() {
    let a = attributes();
    let mapping = Mapping {
        headers: vec!["x-user".into(), "x-absent".into()],
        destination_service: Some("shop.prod.svc.cluster.local".into()),
        ..Mapping::default()
    };
    let r = map(&a, &mapping).unwrap();
    assert_eq!(
        r.source.principal.as_deref(),
        Some("spiffe://td/ns/shop/sa/frontend")
    );
    assert_eq!(r.source.ip, Some("10.0.0.7".parse().unwrap()));
    assert_eq!(r.destination.ip, Some("10.0.0.8".parse().unwrap()));
    assert_eq!(r.destination.port, Some(8080));
    assert_eq!(
        r.destination.service.as_deref(),
        Some("shop.prod.svc.cluster.local")
    );
    assert_eq!(r.request.method.as_deref(), Some("GET"));
    assert_eq!(r.path(), Some("/api/x"));
    assert_eq!(r.host(), Some("shop.example.com"));
    assert_eq!(r.request.headers.len(), 1);
    assert_eq!(
        r.request.auth.principal.as_deref(),
        Some("https://idp/alice")
    );
    assert_eq!(r.time.unwrap().to_string(), "2026-01-01T00:00:00Z");
}

#[test]
fn several_jwt_payloads_need_a_key() {
    let mut a = attributes();
    let md = a.metadata_context.as_mut().unwrap();
    let jwt = md.filter_metadata.get_mut(JWT_NAMESPACE).unwrap();
    jwt.fields.insert("other".into(), s("x"));
    assert!(map(&a, &Mapping::default()).is_err());
    let keyed = Mapping {
        jwt_payload_key: Some("payload".into()),
        ..Mapping::default()
    };
    assert!(
        map(&a, &keyed)
            .unwrap()
            .request
            .auth
            .claims
            .get("sub")
            .is_some()
    );
    let wrong = Mapping {
        jwt_payload_key: Some("other".into()),
        ..Mapping::default()
    };
    assert!(map(&a, &wrong).is_err());
}

#[test]
fn bad_addresses_are_unreadable() {
    let mut a = attributes();
    a.source = Some(peer("not-an-ip", 1, ""));
    assert!(map(&a, &Mapping::default()).is_err());
}

#[test]
fn responses_carry_status_header_and_body() {
    let ok = response(&Verdict::Allow);
    assert_eq!(ok.status.unwrap().code, OK);
    assert!(matches!(
        ok.http_response,
        Some(HttpResponse::OkResponse(_))
    ));
    let denied = response(&Verdict::Deny(Denial {
        status: 403,
        rule: Some("no-admin".into()),
        body: "denied by rule `no-admin`\n".into(),
    }));
    assert_eq!(denied.status.unwrap().code, PERMISSION_DENIED);
    let Some(HttpResponse::DeniedResponse(d)) = denied.http_response else {
        panic!("not a denial");
    };
    assert_eq!(d.status.unwrap().code, 403);
    assert!(
        d.headers
            .iter()
            .any(|h| h.header.as_ref().unwrap().key == RULE_HEADER
                && h.header.as_ref().unwrap().value == "no-admin")
    );
    assert_eq!(d.body, "denied by rule `no-admin`\n");
}
