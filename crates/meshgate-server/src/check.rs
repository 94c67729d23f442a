//! The decision shared by every front end: a mapped request (or why it could not be mapped) in,
//! a [`Verdict`] out, with the metrics and the decision log written on the way. Everything that
//! is not an allow denies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use meshgate::{PolicySet, Request, RequestLimits, SharedEngine};

use crate::attrs::Unreadable;
use crate::log::DecisionLog;
use crate::metrics::{Metrics, Rejection};

/// The header naming the deny rule, as the Envoy filter sends it.
pub const RULE_HEADER: &str = "x-meshgate-denied-by";
/// Status of every check while no policy is loaded (as the Envoy filter answers then).
pub const NOT_LOADED_STATUS: u16 = 503;
const NOT_LOADED: &str = "the authorization policy is not loaded";

/// What the proxy is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request through.
    Allow,
    /// Answer the client with this.
    Deny(Denial),
}

/// A denial's response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// HTTP status.
    pub status: u16,
    /// The deny rule, when it decided and may be revealed.
    pub rule: Option<String>,
    /// Plain-text body.
    pub body: String,
}

/// How denials are answered.
#[derive(Clone, Debug)]
pub struct DenySettings {
    /// Status of a denial (400–599).
    pub status: u16,
    /// Name the deny rule in [`RULE_HEADER`] and in the body.
    pub reveal_rule: bool,
}

/// The server's shared state: the engine (absent until a policy first loads), metrics, log.
#[derive(Debug)]
pub struct State {
    engine: OnceLock<SharedEngine>,
    /// Metrics.
    pub metrics: Metrics,
    log: Option<DecisionLog>,
    deny: DenySettings,
    limits: RequestLimits,
    draining: AtomicBool,
}

impl State {
    /// A state with no policy loaded.
    pub fn new(deny: DenySettings, log: Option<DecisionLog>, limits: RequestLimits) -> State {
        State {
            engine: OnceLock::new(),
            metrics: Metrics::new(),
            log,
            deny,
            limits,
            draining: AtomicBool::new(false),
        }
    }

    /// Serves `set` from now on; returns its version.
    pub fn install(&self, set: &PolicySet) -> String {
        let version = match self.engine.get() {
            Some(shared) => shared.replace(set),
            None => {
                let shared = self.engine.get_or_init(|| SharedEngine::new(set));
                shared.version()
            }
        };
        self.metrics.loaded(&version, set.rules().len());
        version
    }

    /// The version serving now, if any.
    pub fn version(&self) -> Option<String> {
        self.engine.get().map(SharedEngine::version)
    }

    /// Ready: a policy is loaded and the server is not shutting down.
    pub fn ready(&self) -> bool {
        self.engine.get().is_some() && !self.draining.load(Ordering::Relaxed)
    }

    /// Marks the server as shutting down (`/readyz` fails from now on).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Counts and denies a check refused before it was mapped (over the size limit).
    pub fn refuse(&self, why: Rejection, error: &str) -> Verdict {
        self.metrics.rejected(why);
        if let Some(log) = &self.log {
            log.error(error, None, self.version().as_deref());
        }
        Verdict::Deny(self.error_denial(error))
    }

    /// Decides a mapped request. `started` is when the check arrived.
    pub fn decide(&self, started: Instant, request: Result<Request<'_>, Unreadable>) -> Verdict {
        let Some(shared) = self.engine.get() else {
            self.metrics.rejected(Rejection::NotLoaded);
            if let Some(log) = &self.log {
                log.error(NOT_LOADED, None, None);
            }
            return Verdict::Deny(Denial {
                status: NOT_LOADED_STATUS,
                rule: None,
                body: format!("meshgate: {NOT_LOADED}\n"),
            });
        };
        let mut request = match request {
            Ok(r) => r,
            Err(Unreadable(why)) => return self.refuse(Rejection::Unreadable, &why),
        };
        if let Err(e) = request.check_limits(&self.limits) {
            return self.refuse(Rejection::TooLarge, &e.message);
        }
        if request.time.is_none() {
            request.time = Some(jiff::Timestamp::now());
        }
        let snapshot: Arc<meshgate::Snapshot> = shared.snapshot();
        let decision = snapshot.decide(&request);
        let rule = decision.reasons.first().copied();
        let outcome = if decision.allowed {
            "allowed"
        } else if rule.is_none() && !decision.errors.is_empty() {
            "error"
        } else {
            "denied"
        };
        // The rule that decided: the first allow rule (or `default allow`), or the deny rule;
        // empty for the default deny and for errors.
        self.metrics
            .decision(outcome, rule.unwrap_or(""), started.elapsed());
        if let Some(log) = &self.log {
            log.decision(&request, &decision, snapshot.version(), !decision.allowed);
        }
        if decision.allowed {
            return Verdict::Allow;
        }
        let body = match decision.denial() {
            Some(why) if self.deny.reveal_rule => format!("{why}\n"),
            _ => "access denied\n".to_string(),
        };
        Verdict::Deny(Denial {
            status: self.deny.status,
            rule: rule.filter(|_| self.deny.reveal_rule).map(str::to_string),
            body,
        })
    }

    fn error_denial(&self, error: &str) -> Denial {
        Denial {
            status: self.deny.status,
            rule: None,
            body: if self.deny.reveal_rule {
                format!("denied: {error}\n")
            } else {
                "access denied\n".to_string()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(reveal_rule: bool) -> State {
        State::new(
            DenySettings {
                status: 403,
                reveal_rule,
            },
            None,
            RequestLimits::default(),
        )
    }

    fn request(path: &str) -> Request<'static> {
        let mut r = Request::default();
        r.request.method = Some("GET".into());
        r.request.path = Some(path.to_string().into());
        r
    }

    #[test]
    fn fails_closed_until_a_policy_loads_then_decides() {
        let s = state(true);
        assert!(!s.ready());
        let v = s.decide(Instant::now(), Ok(request("/a")));
        assert!(
            matches!(v, Verdict::Deny(Denial { status: 503, .. })),
            "{v:?}"
        );
        let set = PolicySet::parse(
            r#"deny "no-admin" { to path "/admin/**" } allow "all" { to path "/**" }"#,
            "p.mgp",
        )
        .unwrap();
        let version = s.install(&set);
        assert!(s.ready());
        assert_eq!(s.version(), Some(version));
        assert_eq!(s.decide(Instant::now(), Ok(request("/a"))), Verdict::Allow);
        assert_eq!(
            s.decide(Instant::now(), Ok(request("/admin/x"))),
            Verdict::Deny(Denial {
                status: 403,
                rule: Some("no-admin".into()),
                body: "denied by rule `no-admin`\n".into()
            })
        );
        let v = s.decide(Instant::now(), Ok(request("/a/../admin")));
        assert!(
            matches!(&v, Verdict::Deny(d) if d.body.contains("could not be evaluated")),
            "{v:?}"
        );
        let v = s.decide(Instant::now(), Err(Unreadable("bad header".into())));
        assert!(
            matches!(&v, Verdict::Deny(d) if d.body == "denied: bad header\n"),
            "{v:?}"
        );
        s.drain();
        assert!(!s.ready());
        let text = s.metrics.encode();
        assert!(text.contains(r#"meshgate_checks_rejected_total{reason="not_loaded"} 1"#));
        assert!(text.contains(r#"meshgate_checks_rejected_total{reason="unreadable"} 1"#));
        assert!(text.contains(r#"meshgate_decisions_total{outcome="error",rule=""} 1"#));
        assert!(text.contains(r#"meshgate_decisions_total{outcome="allowed",rule="all"} 1"#));
        assert!(text.contains(r#"meshgate_decisions_total{outcome="denied",rule="no-admin"} 1"#));
    }

    #[test]
    fn a_hidden_rule_is_not_revealed() {
        let s = state(false);
        s.install(&PolicySet::parse(r#"deny "secret-rule" { to path "/**" }"#, "p.mgp").unwrap());
        assert_eq!(
            s.decide(Instant::now(), Ok(request("/a"))),
            Verdict::Deny(Denial {
                status: 403,
                rule: None,
                body: "access denied\n".into()
            })
        );
    }
}
