//! The server: binding the listeners, loading the policy, polling it for changes, serving until
//! shut down, and draining in-flight checks on the way out.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::http::StatusCode;
use axum::serve::ListenerExt;
use envoy_types::ext_authz::v3::pb::AuthorizationServer;
use meshgate::RequestLimits;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::check::{DenySettings, State};
use crate::http::Checker;
use crate::log::DecisionLog;
use crate::metrics::Rejection;
use crate::policy::{Poll, Watcher};
use crate::{Config, LogTarget, Mapping, grpc, http};

/// A bound server, ready to run. See the crate docs.
#[derive(Debug)]
pub struct Server {
    state: Arc<State>,
    mapping: Arc<Mapping>,
    forwarded: Arc<meshgate_http::Mapping>,
    policy: Vec<PathBuf>,
    reload_interval: Duration,
    permits: Arc<Semaphore>,
    max_request_bytes: usize,
    watcher: Watcher,
    grpc: Option<TcpListener>,
    http: Option<TcpListener>,
    admin: Option<TcpListener>,
}

impl Server {
    /// Opens the decision log, binds the listeners and loads the policy. A policy that does not
    /// load is reported on standard error and the server starts not ready (every check denied)
    /// until a good version appears.
    pub async fn bind(config: Config) -> Result<Server, String> {
        if !(400..=599).contains(&config.deny_status) {
            return Err(format!(
                "deny status `{}` is not an error status (400–599)",
                config.deny_status
            ));
        }
        if config.policy.is_empty() {
            return Err("no policy file given".to_string());
        }
        let log = match &config.decision_log {
            None => None,
            Some(LogTarget::Stdout) => Some(DecisionLog::new(
                Box::new(std::io::stdout()),
                config.redact.clone(),
            )),
            Some(LogTarget::File(path)) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        format!(
                            "cannot open decision log `{}`: {}",
                            path.display(),
                            crate::policy::reason(&e)
                        )
                    })?;
                Some(DecisionLog::new(Box::new(file), config.redact.clone()))
            }
        };
        let limits = RequestLimits {
            max_bytes: config.max_request_bytes,
            ..RequestLimits::default()
        };
        let state = Arc::new(State::new(
            DenySettings {
                status: config.deny_status,
                reveal_rule: config.reveal_rule,
            },
            log,
            limits,
        ));
        let bind = |addr: Option<SocketAddr>, what: &'static str| async move {
            match addr {
                None => Ok(None),
                Some(a) => TcpListener::bind(a).await.map(Some).map_err(|e| {
                    format!(
                        "cannot listen on `{a}` ({what}): {}",
                        crate::policy::reason(&e)
                    )
                }),
            }
        };
        let mut server = Server {
            state,
            mapping: Arc::new(config.mapping.clone()),
            forwarded: Arc::new(http::forwarded_mapping(&config.mapping)?),
            policy: config.policy.clone(),
            reload_interval: config.reload_interval,
            permits: Arc::new(Semaphore::new(config.max_concurrent_checks.max(1))),
            max_request_bytes: config.max_request_bytes,
            watcher: Watcher::default(),
            grpc: bind(config.grpc, "grpc").await?,
            http: bind(config.http, "http").await?,
            admin: bind(config.admin, "admin").await?,
        };
        server.poll().await;
        Ok(server)
    }

    /// The address of the gRPC listener.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address of the HTTP check listener.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address of the admin listener.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The shared state (for embedding and tests).
    pub fn state(&self) -> Arc<State> {
        self.state.clone()
    }

    /// Reads the policy files and installs a changed version.
    async fn poll(&mut self) {
        let paths = self.policy.clone();
        let mut watcher = std::mem::take(&mut self.watcher);
        let joined = tokio::task::spawn_blocking(move || {
            let poll = watcher.poll(&paths);
            (watcher, poll)
        })
        .await;
        let Ok((watcher, poll)) = joined else {
            eprintln!("meshgate serve: the policy poll failed");
            return;
        };
        self.watcher = watcher;
        match poll {
            Poll::Unchanged => {}
            Poll::Loaded(set) => {
                let version = self.state.install(&set);
                eprintln!(
                    "meshgate serve: policy version {version} loaded ({} rules)",
                    set.rules().len()
                );
            }
            Poll::Failed(why) => {
                self.state.metrics.reload_failed();
                match self.state.version() {
                    Some(v) => eprintln!(
                        "meshgate serve: policy update refused, version {v} keeps serving:\n{why}"
                    ),
                    None => eprintln!(
                        "meshgate serve: policy not loaded, every check is denied:\n{why}"
                    ),
                }
            }
        }
    }

    /// Serves until `shutdown` completes, then stops accepting, lets checks in progress finish
    /// and returns.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut tasks = tokio::task::JoinSet::new();
        let overloaded = {
            let state = self.state.clone();
            move |e: tower::BoxError| {
                state.metrics.rejected(Rejection::Overloaded);
                e
            }
        };
        if let Some(listener) = self.grpc.take() {
            let service = AuthorizationServer::new(grpc::Service::new(
                self.state.clone(),
                self.mapping.clone(),
            ))
            .max_decoding_message_size(self.max_request_bytes);
            let layers = ServiceBuilder::new()
                .map_err(overloaded.clone())
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::with_semaphore(
                    self.permits.clone(),
                ))
                .into_inner();
            let signal = stopped(stop_rx.clone());
            tasks.spawn(async move {
                tonic::transport::Server::builder()
                    .layer(layers)
                    .add_service(service)
                    .serve_with_incoming_shutdown(
                        tonic::transport::server::TcpIncoming::from(listener)
                            .with_nodelay(Some(true)),
                        signal,
                    )
                    .await
                    .map_err(|e| format!("grpc listener failed: {e}"))
            });
        }
        if let Some(listener) = self.http.take() {
            let checker = Checker {
                state: self.state.clone(),
                mapping: self.mapping.clone(),
                forwarded: self.forwarded.clone(),
                max_request_bytes: self.max_request_bytes,
            };
            let state = self.state.clone();
            let router = http::check_router(checker).layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(move |_: tower::BoxError| {
                        let state = state.clone();
                        async move {
                            state.metrics.rejected(Rejection::Overloaded);
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "denied: the authorization server is overloaded\n",
                            )
                        }
                    }))
                    .load_shed()
                    .layer(GlobalConcurrencyLimitLayer::with_semaphore(
                        self.permits.clone(),
                    )),
            );
            let signal = stopped(stop_rx.clone());
            tasks.spawn(async move {
                // Small answers: send them at once rather than wait for more (Nagle).
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, router)
                    .with_graceful_shutdown(signal)
                    .await
                    .map_err(|e| format!("http listener failed: {e}"))
            });
        }
        if let Some(listener) = self.admin.take() {
            let router = http::admin_router(self.state.clone());
            let signal = stopped(stop_rx.clone());
            tasks.spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(signal)
                    .await
                    .map_err(|e| format!("admin listener failed: {e}"))
            });
        }
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(self.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failure = None;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => self.poll().await,
                Some(done) = tasks.join_next() => {
                    // A listener stopped on its own: fail rather than serve half.
                    failure = Some(match done {
                        Ok(Err(e)) => e,
                        Ok(Ok(())) => "a listener stopped".to_string(),
                        Err(e) => format!("a listener task failed: {e}"),
                    });
                    break;
                }
            }
        }
        self.state.drain();
        let _ = stop_tx.send(true);
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                failure.get_or_insert(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
