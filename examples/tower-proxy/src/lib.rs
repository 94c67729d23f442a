//! A small mTLS reverse proxy that authorizes every request with meshgate: the example of
//! `meshgate-http`'s tower layer in a real server.
//!
//! Each connection is TLS with an optional client certificate, verified against a CA. The
//! certificate's URI SANs (a SPIFFE id in a mesh) become the request's [`PeerInfo`], together
//! with the addresses and SNI; [`AuthorizeLayer`] decides each request against the current
//! policy version, and allowed requests are forwarded to the upstream over plain HTTP/1.1. The
//! policy file is watched and reloaded when it changes; a version that does not load is
//! reported and the last good one keeps deciding.
//!
//! A connection whose client certificate the CA does not vouch for is refused by TLS; a
//! connection without one reaches the policy with no identity, so only rules that need none
//! can allow it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use meshgate::{PolicySet, SharedEngine};
use meshgate_http::{AuthorizeLayer, Mapping, PeerInfo};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceBuilder;

/// What the proxy needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The upstream, e.g. `http://127.0.0.1:8080`.
    pub upstream: hyper::Uri,
    /// The policy file, reloaded when it changes.
    pub policy: PathBuf,
    /// PEM: the CA that issues client certificates.
    pub client_ca: PathBuf,
    /// PEM: the server's certificate chain.
    pub cert: PathBuf,
    /// PEM: the server's private key.
    pub key: PathBuf,
    /// How often the policy file is checked for changes.
    pub reload_interval: Duration,
    /// Write each decision's record to standard output as a JSON line.
    pub decision_log: bool,
}

/// A running proxy. Dropping it does not stop it: call [`Running::shutdown`].
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The engine it decides with (its version changes on reload).
    pub engine: Arc<SharedEngine>,
    /// Reloads that succeeded and failed.
    pub reloads: Arc<Reloads>,
    stop: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

/// Reload counts.
#[derive(Debug, Default)]
pub struct Reloads {
    /// New versions loaded.
    pub loaded: AtomicU64,
    /// Changes refused because the policy did not load.
    pub failed: AtomicU64,
}

impl Running {
    /// Stops accepting connections and the policy watcher.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept.await;
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Loads the policy and TLS material, binds, and starts serving.
pub async fn start(config: Config) -> Result<Running, Error> {
    let text = read_policy(&config.policy)?;
    let set = load(&config.policy, &text).map_err(|rendered| -> Error { rendered.into() })?;
    let engine = Arc::new(SharedEngine::new(&set));
    let acceptor = TlsAcceptor::from(Arc::new(tls_config(&config)?));
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let reloads = Arc::new(Reloads::default());

    tokio::spawn(watch_policy(
        config.clone(),
        text,
        Arc::clone(&engine),
        Arc::clone(&reloads),
        stopped.clone(),
    ));

    let mut authorize = AuthorizeLayer::new(Arc::clone(&engine), Mapping::new());
    if config.decision_log {
        authorize = authorize.on_decision(|record| println!("{}", record.to_json()));
    }
    let forward = Forward {
        client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        upstream: config.upstream.clone(),
        caller: None,
    };
    let accept = tokio::spawn(accept_loop(
        listener, acceptor, authorize, forward, addr, stopped,
    ));
    Ok(Running {
        addr,
        engine,
        reloads,
        stop,
        accept,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    authorize: AuthorizeLayer,
    forward: Forward,
    local: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("tower-proxy: accept failed: {e}");
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let (acceptor, authorize) = (acceptor.clone(), authorize.clone());
        let forward = Forward {
            caller: Some(remote),
            ..forward.clone()
        };
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    eprintln!("tower-proxy: TLS handshake with {remote} failed: {e}");
                    return;
                }
            };
            let (_, session) = tls.get_ref();
            // The chain was verified by the TLS layer; an end-entity certificate that cannot
            // be read closes the connection rather than passing as anonymous.
            let sans = match session.peer_certificates().and_then(|c| c.first()) {
                None => Vec::new(),
                Some(cert) => match PeerInfo::uri_sans_of(cert.as_ref()) {
                    Ok(sans) => sans,
                    Err(e) => {
                        eprintln!("tower-proxy: client certificate of {remote}: {e}");
                        return;
                    }
                },
            };
            let peer = PeerInfo::new(Some(remote), Some(local))
                .with_uri_sans(sans)
                .with_sni(session.server_name().map(str::to_string));
            let service = ServiceBuilder::new()
                .map_request(move |mut req: hyper::Request<Incoming>| {
                    req.extensions_mut().insert(peer.clone());
                    req
                })
                .layer(authorize)
                .service(forward);
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                .await;
            if let Err(e) = served {
                eprintln!("tower-proxy: connection from {remote}: {e}");
            }
        });
    }
}

/// Forwards a request to the upstream; an upstream failure is a 502.
///
/// As a proxy must (RFC 9110, section 7.6.1), it removes the hop-by-hop headers, and those the
/// `Connection` header names, from the request and from the response. It tells the upstream
/// who the caller is in `X-Forwarded-For` and `X-Forwarded-Proto`, replacing what the client
/// sent: this proxy is where the connection from outside ends, so nothing before it is trusted.
#[derive(Clone)]
struct Forward {
    client: Client<HttpConnector, Incoming>,
    upstream: hyper::Uri,
    /// The connection's client address.
    caller: Option<SocketAddr>,
}

/// The headers that describe one connection, not the message: RFC 9110's (section 7.6.1) and
/// RFC 2616's older list, as Go's `httputil.ReverseProxy` removes them. (This proxy speaks
/// HTTP/1.1 to the upstream and does not relay upgrades.)
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop headers and those `Connection` names.
fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

type ForwardBody = Either<Incoming, Full<Bytes>>;

impl tower::Service<hyper::Request<Incoming>> for Forward {
    type Response = hyper::Response<ForwardBody>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: hyper::Request<Incoming>) -> Self::Future {
        strip_hop_by_hop(req.headers_mut());
        let headers = req.headers_mut();
        headers.remove("x-forwarded-for");
        if let Some(caller) = self.caller
            && let Ok(ip) = hyper::header::HeaderValue::from_str(&caller.ip().to_string())
        {
            headers.insert("x-forwarded-for", ip);
        }
        headers.insert(
            "x-forwarded-proto",
            hyper::header::HeaderValue::from_static("https"),
        );
        let client = self.client.clone();
        let mut parts = self.upstream.clone().into_parts();
        parts.path_and_query = req.uri().path_and_query().cloned();
        let uri = hyper::Uri::from_parts(parts);
        Box::pin(async move {
            let response = match uri {
                Ok(uri) => {
                    *req.uri_mut() = uri;
                    client.request(req).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            Ok(match response {
                Ok(mut r) => {
                    strip_hop_by_hop(r.headers_mut());
                    r.map(Either::Left)
                }
                Err(e) => {
                    eprintln!("tower-proxy: upstream: {e}");
                    let mut r = hyper::Response::new(Either::Right(Full::new(Bytes::from_static(
                        b"bad gateway\n",
                    ))));
                    *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                    r
                }
            })
        })
    }
}

#[expect(
    deprecated,
    reason = "ring keeps this example free of aws-lc's C build; rustls deprecates it for lacking \
              post-quantum key exchange, which a production proxy gets from the aws-lc-rs provider"
)]
fn tls_config(config: &Config) -> Result<rustls::ServerConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&config.client_ca)? {
        roots.add(ca?)?;
    }
    // Client certificates are optional: a connection without one reaches the policy with no
    // identity (and is denied by any rule that needs one); one the CA does not vouch for is
    // refused by the handshake.
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()?;
    let chain = CertificateDer::pem_file_iter(&config.cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&config.key)?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

fn read_policy(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()).into())
}

/// Parses the policy; on failure, the rendered diagnostics.
fn load(path: &Path, text: &str) -> Result<PolicySet, String> {
    PolicySet::parse(text, &path.display().to_string()).map_err(|d| {
        d.0.iter()
            .map(meshgate::Diagnostic::render)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Reloads the policy whenever the file's text changes.
async fn watch_policy(
    config: Config,
    mut current: String,
    engine: Arc<SharedEngine>,
    reloads: Arc<Reloads>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen: Option<SystemTime> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.reload_interval) => {}
            _ = stopped.changed() => return,
        }
        // The modification time says when to look; the text says whether anything changed
        // (a write within the clock's resolution still differs in text).
        let modified = std::fs::metadata(&config.policy)
            .and_then(|m| m.modified())
            .ok();
        if modified.is_some() && modified == seen {
            continue;
        }
        seen = modified;
        let text = match read_policy(&config.policy) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tower-proxy: {e}; the current policy keeps deciding");
                reloads.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        if text == current {
            continue;
        }
        match load(&config.policy, &text) {
            Ok(set) => {
                let version = engine.replace(&set);
                reloads.loaded.fetch_add(1, Ordering::Relaxed);
                eprintln!("tower-proxy: policy version {version} loaded");
            }
            Err(rendered) => {
                reloads.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "tower-proxy: the new policy does not load; version {} keeps deciding\n{rendered}",
                    engine.version()
                );
            }
        }
        current = text;
    }
}
