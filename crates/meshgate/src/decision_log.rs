//! The decision-log record: one JSON line per decided request, the same in every front end
//! that writes one (the Envoy filter, the tower layer, the authorization server).
//!
//! This is the audit trail: who asked (`principal`), for what (`method`, `path`), when
//! (`time`), what was decided and by which rules (the [`Decision`]'s own JSON shape), what the
//! front end did (`action`), and under which policy version (`version`). Fields, in order:
//!
//! `allowed`, `reasons`, `audits`, `dry_run`, `errors` (as in [`Decision::to_json`]), `mode`
//! (`enforce` or `dry-run`), `action` (`continue` or `deny`), then, when known: `error` (the
//! request could not be decided), `principal`, `method`, `path` (query removed), `time`,
//! `version`, and the `headers` and `claims` when asked for, with the values of names listed in
//! `redact` replaced by `"[redacted]"`.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::decision::{Decision, DryRun, EvalError};
use crate::request::{Pairs, Request};

/// What the front end did with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The request went on.
    Continue,
    /// The request was answered with a denial.
    Deny,
}

/// The front end's mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Denials are enforced.
    #[default]
    Enforce,
    /// Nothing is blocked; denials are logged only.
    DryRun,
}

impl Mode {
    /// `enforce` or `dry-run`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
        }
    }
}

/// One decision-log record. Build it with [`DecisionLog::decided`] or
/// [`DecisionLog::refused`], add what is known, and write [`DecisionLog::to_json`].
///
/// `'a` is what the record borrows; `'r`, the request's own borrows (kept apart because
/// [`Request`] is invariant in its lifetime).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecisionLog<'a, 'r> {
    /// Whether the request was allowed.
    pub allowed: bool,
    /// The decision's `reasons`.
    pub reasons: &'a [&'a str],
    /// The decision's `audits`.
    pub audits: &'a [&'a str],
    /// The decision's `dry_run`.
    pub dry_run: &'a [DryRun<'a>],
    /// The decision's `errors`.
    pub errors: &'a [EvalError<'a>],
    /// Why the request could not be decided, when it was not.
    pub error: Option<&'a str>,
    /// Enforce or dry-run.
    pub mode: Mode,
    /// What the front end did.
    pub action: Action,
    /// The request, for its principal, method, path and time.
    pub request: Option<&'a Request<'r>>,
    /// The policy version that decided.
    pub version: Option<&'a str>,
    /// Also log the request's headers.
    pub headers: bool,
    /// Also log the request's JWT claims.
    pub claims: bool,
    /// Header and claim names whose values are replaced by `"[redacted]"` (headers ignore
    /// case; claims compare exactly, at the top level).
    pub redact: &'a [String],
}

const REDACTED: &str = "[redacted]";

impl<'a, 'r> DecisionLog<'a, 'r> {
    /// The record of a decided request.
    pub fn decided(decision: &'a Decision<'a>, mode: Mode, action: Action) -> Self {
        DecisionLog {
            allowed: decision.allowed,
            reasons: decision.reasons.as_slice(),
            audits: decision.audits.as_slice(),
            dry_run: decision.dry_run.as_slice(),
            errors: &decision.errors,
            ..DecisionLog::empty(mode, action)
        }
    }

    /// The record of a request that could not be decided (it is denied, or continues in
    /// dry-run), with the reason.
    pub fn refused(error: &'a str, mode: Mode, action: Action) -> Self {
        DecisionLog {
            error: Some(error),
            ..DecisionLog::empty(mode, action)
        }
    }

    fn empty(mode: Mode, action: Action) -> Self {
        DecisionLog {
            allowed: false,
            reasons: &[],
            audits: &[],
            dry_run: &[],
            errors: &[],
            error: None,
            mode,
            action,
            request: None,
            version: None,
            headers: false,
            claims: false,
            redact: &[],
        }
    }

    /// With the request's principal, method, path and time.
    #[must_use]
    pub fn request(mut self, request: &'a Request<'r>) -> Self {
        self.request = Some(request);
        self
    }

    /// With the policy version.
    #[must_use]
    pub fn version(mut self, version: &'a str) -> Self {
        self.version = Some(version);
        self
    }

    /// With the request's headers and claims (as asked), redacting the values of `redact`.
    #[must_use]
    pub fn detail(mut self, headers: bool, claims: bool, redact: &'a [String]) -> Self {
        self.headers = headers;
        self.claims = claims;
        self.redact = redact;
        self
    }

    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"allowed":false}"#.to_string())
    }
}

impl Serialize for DecisionLog<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("allowed", &self.allowed)?;
        m.serialize_entry("reasons", self.reasons)?;
        m.serialize_entry("audits", self.audits)?;
        m.serialize_entry("dry_run", self.dry_run)?;
        m.serialize_entry("errors", self.errors)?;
        m.serialize_entry("mode", self.mode.name())?;
        m.serialize_entry(
            "action",
            match self.action {
                Action::Continue => "continue",
                Action::Deny => "deny",
            },
        )?;
        if let Some(e) = self.error {
            m.serialize_entry("error", e)?;
        }
        if let Some(r) = self.request {
            if let Some(p) = r.source.principal.as_deref() {
                m.serialize_entry("principal", p)?;
            }
            if let Some(v) = r.request.method.as_deref() {
                m.serialize_entry("method", v)?;
            }
            if let Some(v) = r.path() {
                m.serialize_entry("path", v)?;
            }
            if let Some(t) = &r.time {
                m.serialize_entry("time", t)?;
            }
        }
        if let Some(v) = self.version {
            m.serialize_entry("version", v)?;
        }
        if let Some(r) = self.request {
            let redacted = |name: &str, ignore_case: bool| {
                self.redact.iter().any(|x| {
                    if ignore_case {
                        x.eq_ignore_ascii_case(name)
                    } else {
                        x == name
                    }
                })
            };
            if self.headers && !r.request.headers.is_empty() {
                m.serialize_entry(
                    "headers",
                    &Redacted {
                        pairs: &r.request.headers,
                        hide: &|k: &str| redacted(k, true),
                    },
                )?;
            }
            if self.claims && !r.request.auth.claims.is_empty() {
                m.serialize_entry(
                    "claims",
                    &Redacted {
                        pairs: &r.request.auth.claims,
                        hide: &|k: &str| redacted(k, false),
                    },
                )?;
            }
        }
        m.end()
    }
}

/// A map whose values under hidden keys are written as `"[redacted]"`.
struct Redacted<'p, 'a, V: Clone> {
    pairs: &'p Pairs<'a, V>,
    hide: &'p dyn Fn(&str) -> bool,
}

impl<V: Clone + Serialize> Serialize for Redacted<'_, '_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.pairs.0.len()))?;
        for (k, v) in self.pairs.0.iter() {
            if (self.hide)(k) {
                m.serialize_entry(k, REDACTED)?;
            } else {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, PolicySet};

    #[test]
    fn writes_the_shared_schema() {
        let set = PolicySet::parse(
            r#"allow "read" { to path "/ok" } audit "watch" { to path "/ok" }"#,
            "p.mgp",
        )
        .unwrap();
        let engine = Engine::new(&set);
        let r = Request::from_json(
            r#"{"source": {"principal": "spiffe://td/ns/a/sa/b"},
                "request": {"method": "GET", "path": "/ok?x", "headers": {"authorization": "Bearer t", "x-tenant": "a"},
                            "auth": {"claims": {"sub": "alice", "email": "a@x"}}},
                "time": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let d = engine.decide(&r);
        let line = DecisionLog::decided(&d, Mode::Enforce, Action::Continue)
            .request(&r)
            .to_json();
        assert_eq!(
            line,
            r#"{"allowed":true,"reasons":["read"],"audits":["watch"],"dry_run":[],"errors":[],"mode":"enforce","action":"continue","principal":"spiffe://td/ns/a/sa/b","method":"GET","path":"/ok","time":"2026-01-01T00:00:00Z"}"#
        );
        let redact = vec!["Authorization".to_string(), "email".to_string()];
        let line = DecisionLog::decided(&d, Mode::DryRun, Action::Continue)
            .request(&r)
            .version("v1")
            .detail(true, true, &redact)
            .to_json();
        assert!(
            line.ends_with(r#""version":"v1","headers":{"authorization":"[redacted]","x-tenant":"a"},"claims":{"sub":"alice","email":"[redacted]"}}"#),
            "{line}"
        );
        let refused = DecisionLog::refused("bad header", Mode::Enforce, Action::Deny).to_json();
        assert_eq!(
            refused,
            r#"{"allowed":false,"reasons":[],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","error":"bad header"}"#
        );
    }
}
