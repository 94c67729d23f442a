//! The baseline of `cargo xtask bench-serve`: an ext_authz gRPC server on the same stack as
//! `meshgate serve` (tonic, HTTP/2, the same runtime, `TCP_NODELAY`) that decodes each
//! `CheckRequest` and allows it without looking at it. The load client's figures against it are
//! the floor of the stack on the machine; `meshgate serve`'s figures above them are what the
//! mapping, the limits, the decision and the metrics cost.
//!
//! ```console
//! $ cargo run --release -p meshgate-server --example noop_authz -- 127.0.0.1:9191
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark baseline: a failed setup panics"
)]

use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, HttpResponse, OkHttpResponse,
};
use envoy_types::pb::google::rpc;

struct AllowAll;

#[tonic::async_trait]
impl Authorization for AllowAll {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        // Read the message as the real server does, so the protobuf decode stays in the floor.
        let check = request.into_inner();
        std::hint::black_box(&check);
        Ok(tonic::Response::new(CheckResponse {
            status: Some(rpc::Status::default()),
            http_response: Some(HttpResponse::OkResponse(OkHttpResponse::default())),
            ..CheckResponse::default()
        }))
    }
}

fn main() {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9191".into())
        .parse()
        .expect("an address like 127.0.0.1:9191");
    // The runtime `meshgate serve` builds by default: multi-threaded, a worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!(
            "noop_authz: listening on {}",
            listener.local_addr().unwrap()
        );
        tonic::transport::Server::builder()
            .add_service(AuthorizationServer::new(AllowAll))
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            )
            .await
            .expect("serve");
    });
}
