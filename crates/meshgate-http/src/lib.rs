//! # meshgate-http
//!
//! [meshgate](meshgate) for HTTP services and proxies built on [`http`] and `tower`: linkerd2-proxy
//! style Rust proxies, API gateways, and services that authorize their own callers.
//!
//! - [`mapping`]: one mapping from an [`http::Request`] (and the [`PeerInfo`] of its
//!   connection) to a meshgate request, for requests decided where they arrive and for the
//!   forwarded questions of nginx `auth_request`, Caddy `forward_auth` and Envoy HTTP
//!   `ext_authz`.
//! - [`layer`]: [`AuthorizeLayer`], a tower layer that decides every request with a
//!   [`SharedEngine`](meshgate::SharedEngine) (policies reload without a restart) and answers
//!   denials with 403.
//! - [`peer`]: [`PeerInfo`], the request extension the TLS layer fills in (the client
//!   certificate's URI SANs, the addresses, SNI).
//! - [`xfcc`]: Envoy's `x-forwarded-client-cert` header, for services behind a proxy that ends
//!   TLS.
//!
//! Decision records are the runtime's [`DecisionLog`](meshgate::DecisionLog), the same JSON
//! line the Envoy filter writes.
//!
//! ```
//! use std::sync::Arc;
//! use meshgate::{PolicySet, SharedEngine};
//! use meshgate_http::{AuthorizeLayer, Mapping, PeerInfo};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let policy = PolicySet::parse(r#"
//!     allow "frontend" { from principal "spiffe://cluster.local/ns/shop/sa/frontend" to path "/api/**" }
//! "#, "policy.mgp").unwrap();
//! let engine = Arc::new(SharedEngine::new(&policy));
//! let service = ServiceBuilder::new()
//!     .layer(AuthorizeLayer::new(engine, Mapping::new()))
//!     .service_fn(|_req: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
//!     });
//!
//! // The TLS layer puts the peer's identity on each request.
//! let mut request = http::Request::get("/api/cart").body(()).unwrap();
//! request.extensions_mut().insert(
//!     PeerInfo::default().with_uri_sans(vec!["spiffe://cluster.local/ns/shop/sa/frontend".into()]),
//! );
//! assert_eq!(service.clone().oneshot(request).await.unwrap().status(), 200);
//!
//! let anonymous = http::Request::get("/api/cart").body(()).unwrap();
//! assert_eq!(service.oneshot(anonymous).await.unwrap().status(), 403);
//! # });
//! ```

#![forbid(unsafe_code)]

pub mod layer;
pub mod mapping;
pub mod peer;
pub mod xfcc;

pub use layer::{AuthorizeLayer, DENIED_BY};
pub use mapping::{Mapping, MappingError, Origin};
pub use peer::PeerInfo;
