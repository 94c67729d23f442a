//! JSON decision logs: one line per check, the runtime's shared record
//! ([`meshgate::DecisionLog`], the Envoy filter's schema plus the policy version), with the
//! request's exposed headers and JWT claims and the values of configured names redacted.
//!
//! ```json
//! {"allowed":false,"reasons":["no-admin"],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","principal":"spiffe://cluster.local/ns/legacy/sa/old","method":"GET","path":"/api/admin/users","time":"2026-03-30T08:00:00Z","version":"5c0f…","headers":{"x-user":"alice","authorization":"[redacted]"},"claims":{"sub":"alice"}}
//! ```
//!
//! A check that could not be decided (no policy loaded, unreadable attributes, a request over
//! the limits) has an `error` field instead of the decision's details, as in the filter.

use std::io::Write;
use std::sync::Mutex;

use meshgate::decision_log::{Action, Mode};
use meshgate::{Decision, DecisionLog as Record, Request};

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
        let action = if denied {
            Action::Deny
        } else {
            Action::Continue
        };
        let record = Record::decided(decision, Mode::Enforce, action)
            .request(request)
            .version(version)
            .detail(true, true, &self.redact);
        self.write(record.to_json());
    }

    /// Logs a check denied before any decision, with why (and the request as far as it was
    /// read).
    pub fn error(&self, error: &str, request: Option<&Request<'_>>, version: Option<&str>) {
        let mut record = Record::refused(error, Mode::Enforce, Action::Deny);
        if let Some(r) = request {
            record = record.request(r).detail(true, true, &self.redact);
        }
        if let Some(v) = version {
            record = record.version(v);
        }
        self.write(record.to_json());
    }

    fn write(&self, mut text: String) {
        text.push('\n');
        if let Ok(mut out) = self.out.lock() {
            // A log that cannot be written must not change the decision: the line is lost.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
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
        log.error("the authorization policy is not loaded", None, None);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"allowed":false,"reasons":["no-admin"],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","principal":"spiffe://td/ns/a/sa/b","method":"GET","path":"/admin/x","time":"2026-01-01T00:00:00Z","version":"v1","headers":{"authorization":"[redacted]","x-user":"alice"},"claims":{"sub":"alice","email":"[redacted]"}}"#
        );
        assert!(!text.contains("s3cret") && !text.contains("a@example.com"));
        assert_eq!(
            lines[1],
            r#"{"allowed":false,"reasons":[],"audits":[],"dry_run":[],"errors":[],"mode":"enforce","action":"deny","error":"the authorization policy is not loaded"}"#
        );
    }
}
