//! The tower middleware: decide every request before the service sees it.
//!
//! [`AuthorizeLayer`] wraps a service of `http::Request`s. For each request it maps the
//! request ([`Mapping`]), decides it against the current version of a [`SharedEngine`] (so a
//! reload takes effect on the next request, and each request is decided by exactly one
//! version), reports the [`DecisionLog`] record to a hook, and either calls the inner service
//! or answers the denial itself: 403 by default, `text/plain`, with the deciding deny rule in
//! `x-meshgate-denied-by` and in the body unless the rule is to stay hidden.
//!
//! It fails closed: a request the mapping cannot read is denied, like a rule that cannot be
//! evaluated. In dry-run mode nothing is denied; the records still say what would have been.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{Either, Full};
use meshgate::SharedEngine;
use meshgate::decision_log::{Action, DecisionLog, Mode};
use tower_layer::Layer;
use tower_service::Service;

use crate::mapping::Mapping;

/// The header naming the deny rule that decided (as the Envoy filter sets it).
pub const DENIED_BY: &str = "x-meshgate-denied-by";

/// A hook that receives every decision's record.
pub type DecisionHook = Arc<dyn Fn(&DecisionLog<'_, '_>) + Send + Sync>;

/// The layer: see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct AuthorizeLayer {
    config: Arc<Config>,
}

struct Config {
    engine: Arc<SharedEngine>,
    mapping: Mapping,
    deny_status: StatusCode,
    deny_body: Option<Bytes>,
    reveal_rule: bool,
    mode: Mode,
    hook: Option<DecisionHook>,
}

impl AuthorizeLayer {
    /// Decides with `engine`'s current version, reading requests with `mapping`.
    pub fn new(engine: Arc<SharedEngine>, mapping: Mapping) -> Self {
        AuthorizeLayer {
            config: Arc::new(Config {
                engine,
                mapping,
                deny_status: StatusCode::FORBIDDEN,
                deny_body: None,
                reveal_rule: true,
                mode: Mode::Enforce,
                hook: None,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        // Configuration happens before the layer is shared, so this clones only when a
        // configured layer is configured again.
        let mut config = match Arc::try_unwrap(self.config) {
            Ok(c) => c,
            Err(shared) => Config {
                engine: Arc::clone(&shared.engine),
                mapping: shared.mapping.clone(),
                deny_status: shared.deny_status,
                deny_body: shared.deny_body.clone(),
                reveal_rule: shared.reveal_rule,
                mode: shared.mode,
                hook: shared.hook.clone(),
            },
        };
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// The status of a denial (default 403).
    #[must_use]
    pub fn deny_status(self, status: StatusCode) -> Self {
        self.with(|c| c.deny_status = status)
    }

    /// The body of every denial, replacing the generated one.
    #[must_use]
    pub fn deny_body(self, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        self.with(|c| c.deny_body = Some(body))
    }

    /// Whether denials name the deciding rule (default `true`); `false` for deployments that
    /// must not reveal their policy: the body is then `access denied`.
    #[must_use]
    pub fn reveal_rule(self, reveal: bool) -> Self {
        self.with(|c| c.reveal_rule = reveal)
    }

    /// Dry-run: nothing is denied; the records say what would have been.
    #[must_use]
    pub fn dry_run(self, dry_run: bool) -> Self {
        self.with(|c| {
            c.mode = if dry_run { Mode::DryRun } else { Mode::Enforce };
        })
    }

    /// Calls `hook` with every decision's record (for example, to write it as a JSON line
    /// with [`DecisionLog::to_json`], or to count decisions).
    #[must_use]
    pub fn on_decision(self, hook: impl Fn(&DecisionLog<'_, '_>) + Send + Sync + 'static) -> Self {
        let hook: DecisionHook = Arc::new(hook);
        self.with(|c| c.hook = Some(hook))
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Authorize<S> {
        Authorize {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`AuthorizeLayer`] makes.
#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    config: Arc<Config>,
}

/// A response of the inner service, or a denial.
pub type AuthorizeBody<B> = Either<B, Full<Bytes>>;

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for Authorize<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>>,
{
    type Response = http::Response<AuthorizeBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqB>) -> Self::Future {
        match self.config.check(&req) {
            Some(denial) => ResponseFuture::denied(denial),
            None => ResponseFuture::inner(self.inner.call(req)),
        }
    }
}

impl Config {
    /// The denial for `req`, or `None` to let it through.
    fn check<B>(&self, req: &http::Request<B>) -> Option<http::Response<Full<Bytes>>> {
        let snapshot = self.engine.snapshot();
        let enforce = self.mode == Mode::Enforce;
        let action = |denied: bool| {
            if denied && enforce {
                Action::Deny
            } else {
                Action::Continue
            }
        };
        let (denied_by, why) = match self.mapping.request(req, jiff::Timestamp::now()) {
            Err(e) => {
                let error = e.to_string();
                if let Some(hook) = &self.hook {
                    hook(
                        &DecisionLog::refused(&error, self.mode, action(true))
                            .version(snapshot.version()),
                    );
                }
                (None, format!("denied: {error}"))
            }
            Ok(request) => {
                let decision = snapshot.decide(&request);
                if let Some(hook) = &self.hook {
                    hook(
                        &DecisionLog::decided(&decision, self.mode, action(!decision.allowed))
                            .request(&request)
                            .version(snapshot.version()),
                    );
                }
                let why = decision.denial()?;
                (decision.reasons.first().map(|r| r.to_string()), why)
            }
        };
        if !enforce {
            return None;
        }
        Some(self.denial(denied_by.as_deref(), &why))
    }

    fn denial(&self, rule: Option<&str>, why: &str) -> http::Response<Full<Bytes>> {
        let body = match &self.deny_body {
            Some(b) => b.clone(),
            None if self.reveal_rule => Bytes::from(format!("{why}\n")),
            None => Bytes::from_static(b"access denied\n"),
        };
        let mut response = http::Response::new(Full::new(body));
        *response.status_mut() = self.deny_status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        if self.reveal_rule
            && let Some(value) = rule.and_then(|r| HeaderValue::from_str(r).ok())
        {
            headers.insert(DENIED_BY, value);
        }
        response
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Authorize`]: the inner service's, or a ready denial.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Denied { response: Option<http::Response<Full<Bytes>>> },
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    fn denied(response: http::Response<Full<Bytes>>) -> Self {
        ResponseFuture {
            state: State::Denied {
                response: Some(response),
            },
        }
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResB>, E>>,
{
    type Output = Result<http::Response<AuthorizeBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|r| r.map(|response| response.map(Either::Left))),
            StateProj::Denied { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r.map(Either::Right))),
                // Polled again after completing: answer a denial rather than panic.
                None => {
                    let body = Full::new(Bytes::from_static(b"access denied\n"));
                    let mut r = http::Response::new(Either::Right(body));
                    *r.status_mut() = StatusCode::FORBIDDEN;
                    Poll::Ready(Ok(r))
                }
            },
        }
    }
}
