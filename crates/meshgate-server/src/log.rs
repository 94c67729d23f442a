//! JSON decision logs: one line per check, in the Envoy filter's schema plus the policy version,
//! the host, and the request's exposed headers and JWT claims with configured names redacted.
//!
//! ```json
//! {"allowed":false,"reasons":["no-admin"],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","principal":"spiffe://cluster.local/ns/legacy/sa/old","method":"GET","path":"/api/admin/users","time":"2026-03-30T08:00:00Z","version":"5c0f…","host":"api.example.com","headers":{"x-user":"alice","authorization":"[redacted]"},"claims":{"sub":"alice"}}
//! ```
//!
//! A check that could not be decided (no policy loaded, unreadable attributes, a request over
//! the limits) has an `error` field instead of the decision's details, as in the filter.

use std::io::Write;
use std::sync::Mutex;

use meshgate::decision::{DryRun, EvalError};
use meshgate::request::{Pairs, Value};
use meshgate::{Decision, Request};
use serde::Serialize;
use serde::ser::SerializeMap;

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Where decision-log lines go, and which names are redacted.
pub struct DecisionLog {
    out: Mutex<Box<dyn Write + Send>>,
    redact: Vec<String>,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("redact", &self.redact)
            .finish_non_exhaustive()
    }
}

impl DecisionLog {
    /// Lines go to `out` (each written whole and flushed); header and claim values whose name
    /// is in `redact` (header names ignoring case, claim names exactly) are replaced by
    /// `[redacted]`.
    pub fn new(out: Box<dyn Write + Send>, redact: Vec<String>) -> DecisionLog {
        DecisionLog {
            out: Mutex::new(out),
            redact,
        }
    }

    /// Logs a decision.
    pub fn decision(
        &self,
        request: &Request<'_>,
        decision: &Decision<'_>,
        version: &str,
        denied: bool,
    ) {
        let line = Line {
            allowed: decision.allowed,
            reasons: &decision.reasons,
            audits: &decision.audits,
            dry_run: &decision.dry_run,
            errors: &decision.errors,
            mode: "enforce",
            action: if denied { "deny" } else { "continue" },
            error: None,
            principal: request.source.principal.as_deref(),
            method: request.request.method.as_deref(),
            path: request.path(),
            time: request.time,
            version: Some(version),
            host: request.request.host.as_deref(),
            headers: Redacted {
                pairs: &request.request.headers,
                redact: &self.redact,
                ignore_case: true,
            },
            claims: Redacted {
                pairs: &request.request.auth.claims,
                redact: &self.redact,
                ignore_case: false,
            },
        };
        self.write(&line);
    }

    /// Logs a check denied before any decision, with why.
    pub fn error(&self, error: &str, version: Option<&str>) {
        let none = Pairs::default();
        let none_claims = Pairs::default();
        let line = Line {
            allowed: false,
            reasons: &[],
            audits: &[],
            dry_run: &[],
            errors: &[],
            mode: "enforce",
            action: "deny",
            error: Some(error),
            principal: None,
            method: None,
            path: None,
            time: Some(jiff::Timestamp::now()),
            version,
            host: None,
            headers: Redacted {
                pairs: &none,
                redact: &self.redact,
                ignore_case: true,
            },
            claims: Redacted {
                pairs: &none_claims,
                redact: &self.redact,
                ignore_case: false,
            },
        };
        self.write(&line);
    }

    fn write(&self, line: &Line<'_, '_>) {
        let mut text = match serde_json::to_vec(line) {
            Ok(text) => text,
            Err(_) => br#"{"allowed":false,"error":"decision log line not serializable"}"#.to_vec(),
        };
        text.push(b'\n');
        if let Ok(mut out) = self.out.lock() {
            // A log that cannot be written must not change the decision: the line is lost.
            let _ = out.write_all(&text).and_then(|()| out.flush());
        }
    }
}

/// One line. Field order is the filter's, then the server's additions.
#[derive(Serialize)]
struct Line<'a, 'q> {
    allowed: bool,
    reasons: &'a [&'a str],
    audits: &'a [&'a str],
    dry_run: &'a [DryRun<'a>],
    errors: &'a [EvalError<'a>],
    mode: &'static str,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Redacted::is_empty")]
    headers: Redacted<'a, 'q, std::borrow::Cow<'q, str>>,
    #[serde(skip_serializing_if = "Redacted::is_empty")]
    claims: Redacted<'a, 'q, Value<'q>>,
}

/// Pairs serialized as a JSON object with the redacted names' values replaced.
struct Redacted<'a, 'q, V: Clone + Serialize> {
    pairs: &'a Pairs<'q, V>,
    redact: &'a [String],
    ignore_case: bool,
}

impl<V: Clone + Serialize> Redacted<'_, '_, V> {
    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn hidden(&self, name: &str) -> bool {
        self.redact.iter().any(|r| {
            if self.ignore_case {
                r.eq_ignore_ascii_case(name)
            } else {
                r == name
            }
        })
    }
}

impl<V: Clone + Serialize> Serialize for Redacted<'_, '_, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.pairs.len()))?;
        for (name, value) in self.pairs.iter() {
            if self.hidden(name) {
                map.serialize_entry(name, REDACTED)?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use meshgate::{Engine, PolicySet};

    /// A writer whose lines a test reads back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_follow_the_filter_schema_and_redact_by_name() {
        let set = PolicySet::parse(
            r#"deny "no-admin" { to path "/admin/**" } allow "all" { to path "/**" }"#,
            "p.mgp",
        )
        .unwrap();
        let engine = Engine::new(&set);
        let buffer = Buffer::default();
        let log = DecisionLog::new(
            Box::new(buffer.clone()),
            vec!["Authorization".to_string(), "email".to_string()],
        );
        let request = Request::from_json(
            r#"{"source": {"principal": "spiffe://td/ns/a/sa/b"},
                "request": {"method": "GET", "path": "/admin/x?token=1", "host": "h",
                  "headers": {"authorization": "Bearer s3cret", "x-user": "alice"},
                  "auth": {"claims": {"sub": "alice", "email": "a@example.com"}}},
                "time": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let decision = engine.decide(&request);
        log.decision(&request, &decision, "v1", true);
        log.error("the authorization policy is not loaded", None);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"allowed":false,"reasons":["no-admin"],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","principal":"spiffe://td/ns/a/sa/b","method":"GET","path":"/admin/x","time":"2026-01-01T00:00:00Z","version":"v1","host":"h","headers":{"authorization":"[redacted]","x-user":"alice"},"claims":{"sub":"alice","email":"[redacted]"}}"#
        );
        assert!(!text.contains("s3cret") && !text.contains("a@example.com"));
        assert!(lines[1].starts_with(
            r#"{"allowed":false,"reasons":[],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","error":"the authorization policy is not loaded","time":"#
        ));
    }
}
