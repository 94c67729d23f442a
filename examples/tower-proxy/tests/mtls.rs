//! The example proxy end to end: a CA, server and client certificates made here (the clients'
//! with SPIFFE URI SANs), an upstream HTTP server, the proxy in front of it, and real TLS
//! clients. Covers the mTLS identity reaching the policy, a client without a certificate, a
//! certificate from another CA, a deny rule's 403, and a policy reload (good, then broken).

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

const FRONTEND: &str = "spiffe://cluster.local/ns/shop/sa/frontend";
const LEGACY: &str = "spiffe://cluster.local/ns/legacy/sa/old";

const POLICY_V1: &str = r#"
allow "frontend-reads" {
  from principal "spiffe://cluster.local/ns/shop/sa/frontend"
  to path "/api/**"
}
deny "no-admin" { to path "/api/admin/**" }
allow "health" { to path "/healthz" }
"#;

struct Pki {
    ca: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        Pki {
            ca,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf certificate with DNS and URI SANs, and its key, as PEM.
    fn leaf(&self, dns: &[&str], uri: Option<&str>) -> (String, String) {
        let mut params =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>()).unwrap();
        if let Some(uri) = uri {
            params
                .subject_alt_names
                .push(SanType::URI(uri.try_into().unwrap()));
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// An upstream that answers every request with its path; on `/api/headers`, with the headers
/// a proxy must set or remove, and a hop-by-hop header of its own.
async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: hyper::Request<_>| async move {
                    let mut body = format!("upstream saw {}", req.uri().path());
                    if req.uri().path() == "/api/headers" {
                        for name in [
                            "x-forwarded-for",
                            "x-forwarded-proto",
                            "x-hop",
                            "keep-alive",
                        ] {
                            let value = req.headers().get(name).map(|v| v.to_str().unwrap());
                            body.push_str(&format!("\n{name}: {value:?}"));
                        }
                    }
                    let mut response =
                        hyper::Response::new(http_body_util::Full::new(Bytes::from(body)));
                    let headers = response.headers_mut();
                    headers.insert("connection", "x-upstream-hop".parse().unwrap());
                    headers.insert("x-upstream-hop", "1".parse().unwrap());
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// A TLS client trusting `ca`, presenting `identity` when given.
fn client(ca: &str, identity: Option<&(String, String)>) -> tokio_rustls::TlsConnector {
    #[expect(deprecated, reason = "the ring provider, as the proxy uses")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// GET `path` through the proxy: status, `x-meshgate-denied-by`, body.
async fn get(
    connector: &tokio_rustls::TlsConnector,
    proxy: SocketAddr,
    path: &str,
) -> Result<(u16, Option<String>, String), String> {
    let (status, headers, body) = get_with(connector, proxy, path, &[]).await?;
    let rule = headers
        .get("x-meshgate-denied-by")
        .map(|v| v.to_str().unwrap().to_string());
    Ok((status, rule, body))
}

/// GET `path` through the proxy with extra request headers: status, headers, body.
async fn get_with(
    connector: &tokio_rustls::TlsConnector,
    proxy: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, hyper::HeaderMap, String), String> {
    let tcp = TcpStream::connect(proxy).await.map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("host", "localhost");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Empty::<Bytes>::new()).unwrap();
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, headers, String::from_utf8(body.to_vec()).unwrap()))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_identity_reaches_the_policy_and_reloads_apply() {
    let dir = std::env::temp_dir().join(format!("tower-proxy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::new("mesh CA");
    let (server_cert, server_key) = pki.leaf(&["localhost"], None);
    let frontend = pki.leaf(&[], Some(FRONTEND));
    let legacy = pki.leaf(&[], Some(LEGACY));
    let stranger = Pki::new("another CA").leaf(&[], Some(FRONTEND));
    let ca_pem = pki.ca.pem();

    let policy = write(&dir, "policy.mgp", POLICY_V1);
    let config = tower_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: format!("http://{}", upstream().await).parse().unwrap(),
        policy: policy.clone(),
        client_ca: write(&dir, "ca.pem", &ca_pem),
        cert: write(&dir, "server.pem", &server_cert),
        key: write(&dir, "server.key", &server_key),
        reload_interval: Duration::from_millis(50),
        decision_log: false,
    };
    let proxy = tower_proxy::start(config).await.expect("proxy starts");
    let addr = proxy.addr;
    let as_frontend = client(&ca_pem, Some(&frontend));
    let as_legacy = client(&ca_pem, Some(&legacy));
    let anonymous = client(&ca_pem, None);

    // The client certificate's SPIFFE id is the caller.
    assert_eq!(
        get(&as_frontend, addr, "/api/cart").await.unwrap(),
        (200, None, "upstream saw /api/cart".to_string())
    );
    assert_eq!(
        get(&as_legacy, addr, "/api/cart").await.unwrap(),
        (
            403,
            None,
            "denied: no rule allows this request\n".to_string()
        )
    );
    // No certificate: no identity, so only the rule that needs none allows.
    assert_eq!(get(&anonymous, addr, "/api/cart").await.unwrap().0, 403);
    assert_eq!(get(&anonymous, addr, "/healthz").await.unwrap().0, 200);
    // A deny rule names itself.
    assert_eq!(
        get(&as_frontend, addr, "/api/admin/users").await.unwrap(),
        (
            403,
            Some("no-admin".to_string()),
            "denied by rule `no-admin`\n".to_string()
        )
    );
    // Forwarding: the caller's address replaces a client's claim; hop-by-hop headers, and those
    // `Connection` names, stop at the proxy both ways.
    let (status, headers, body) = get_with(
        &as_frontend,
        addr,
        "/api/headers",
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("connection", "x-hop"),
            ("x-hop", "secret"),
            ("keep-alive", "timeout=5"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "upstream saw /api/headers\nx-forwarded-for: Some(\"127.0.0.1\")\n\
         x-forwarded-proto: Some(\"https\")\nx-hop: None\nkeep-alive: None"
    );
    assert_eq!(headers.get("x-upstream-hop"), None);
    // A certificate from a CA the proxy does not trust never reaches the policy.
    let stranger = client(&ca_pem, Some(&stranger));
    assert!(get(&stranger, addr, "/api/cart").await.is_err());

    // Reload: legacy is let in, then a broken edit leaves that version deciding.
    let v1 = proxy.engine.version();
    std::fs::write(
        &policy,
        format!(
            "{POLICY_V1}\nallow \"legacy\" {{ from principal \"{LEGACY}\" to path \"/api/**\" }}\n"
        ),
    )
    .unwrap();
    let reloaded = wait_for(|| proxy.engine.version() != v1).await;
    assert!(reloaded, "the edited policy was loaded");
    assert_eq!(get(&as_legacy, addr, "/api/cart").await.unwrap().0, 200);

    let v2 = proxy.engine.version();
    std::fs::write(&policy, "allow \"broken\" {").unwrap();
    let refused = wait_for(|| {
        proxy
            .reloads
            .failed
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    })
    .await;
    assert!(refused, "the broken edit was seen and refused");
    assert_eq!(proxy.engine.version(), v2);
    assert_eq!(get(&as_legacy, addr, "/api/cart").await.unwrap().0, 200);

    proxy.shutdown().await;
    assert!(
        get(&as_frontend, addr, "/api/cart").await.is_err(),
        "stopped"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `done` for up to ten seconds.
async fn wait_for(done: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}
