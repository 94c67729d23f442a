//! What the filter does with a request: continue or answer locally, which counters move, and the
//! decision-log line.
//!
//! | situation | `enforce` | `dry-run` |
//! |---|---|---|
//! | allowed | continue; `meshgate.allowed` | continue; `meshgate.allowed` |
//! | denied (a deny rule, default deny, or an evaluation error) | local response (`deny_status`); `meshgate.denied` | continue; `meshgate.dry_run_denied` |
//! | attributes unreadable | local response (`deny_status`); `meshgate.denied`, `meshgate.errors` | continue; `meshgate.dry_run_denied`, `meshgate.errors` |
//! | policy not loaded | local response 503; `meshgate.denied`, `meshgate.errors` (continue and `meshgate.allowed` with `failure_mode_allow`) | continue; `meshgate.dry_run_denied`, `meshgate.errors` |
//!
//! Also: `meshgate.audited` when an audit rule matched; `meshgate.dry_run_denied` when a
//! `dry_run deny` rule matched (in either mode); `meshgate.errors` when a rule could not be
//! evaluated.

use meshgate::decision_log::Action as LogAction;
use meshgate::{Decision, DecisionLog, Effect, Request};

use crate::config::{Config, FailureSettings, Mode};

/// Status of every request while the policy is not loaded (fail closed).
pub const NOT_LOADED_STATUS: u32 = 503;

/// Header naming the deny rule that decided (unless `reveal_rule` is off).
pub const RULE_HEADER: &str = "x-meshgate-denied-by";

/// Continue, or answer with a local response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Let the request through.
    Continue,
    /// Answer it here.
    Respond(LocalResponse),
}

/// A local response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    /// HTTP status.
    pub status: u32,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
}

/// The counters one request moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `meshgate.allowed`.
    pub allowed: bool,
    /// `meshgate.denied`.
    pub denied: bool,
    /// `meshgate.dry_run_denied`.
    pub dry_run_denied: bool,
    /// `meshgate.audited`.
    pub audited: bool,
    /// `meshgate.errors`.
    pub errors: bool,
}

/// Everything the filter does for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Continue or respond.
    pub action: Action,
    /// Counters to increment.
    pub counters: Counters,
    /// The decision-log line, when decision logs are on.
    pub log: Option<String>,
}

/// The outcome of a decision.
pub fn decided(config: &Config, request: &Request<'_>, decision: &Decision<'_>) -> Outcome {
    let dry_run_deny_rule = decision.dry_run.iter().any(|d| d.effect == Effect::Deny);
    let mut counters = Counters {
        audited: !decision.audits.is_empty(),
        errors: !decision.errors.is_empty(),
        dry_run_denied: dry_run_deny_rule,
        ..Counters::default()
    };
    let action = if decision.allowed {
        counters.allowed = true;
        Action::Continue
    } else if config.mode == Mode::DryRun {
        counters.dry_run_denied = true;
        Action::Continue
    } else {
        counters.denied = true;
        Action::Respond(deny_response(config, decision))
    };
    let log = config.decision_log.then(|| {
        DecisionLog::decided(decision, config.mode, log_action(&action))
            .request(request)
            .to_json()
    });
    Outcome {
        action,
        counters,
        log,
    }
}

/// The outcome when the request's attributes could not be read (see
/// [`crate::mapping::MappingError`]): denied as an error, like a request that does not load.
pub fn refused(config: &Config, error: &str) -> Outcome {
    let mut counters = Counters {
        errors: true,
        ..Counters::default()
    };
    let action = if config.mode == Mode::DryRun {
        counters.dry_run_denied = true;
        Action::Continue
    } else {
        counters.denied = true;
        let body = match &config.deny_body {
            Some(b) => b.clone(),
            None if config.reveal_rule => format!("denied: {error}\n"),
            None => "access denied\n".to_string(),
        };
        Action::Respond(text_response(config.deny_status, Vec::new(), body))
    };
    let log = config
        .decision_log
        .then(|| error_line(config.mode, &action, error));
    Outcome {
        action,
        counters,
        log,
    }
}

/// The outcome while the configuration or the policy is not loaded: 503, unless
/// `failure_mode_allow` or `dry-run` lets requests through.
pub fn not_loaded(settings: FailureSettings, decision_log: bool) -> Outcome {
    let mut counters = Counters {
        errors: true,
        ..Counters::default()
    };
    let mode = if settings.dry_run {
        Mode::DryRun
    } else {
        Mode::Enforce
    };
    let action = if settings.dry_run {
        counters.dry_run_denied = true;
        Action::Continue
    } else if settings.allow {
        counters.allowed = true;
        Action::Continue
    } else {
        counters.denied = true;
        Action::Respond(text_response(
            NOT_LOADED_STATUS,
            Vec::new(),
            "meshgate: the authorization policy is not loaded\n".to_string(),
        ))
    };
    let log =
        decision_log.then(|| error_line(mode, &action, "the authorization policy is not loaded"));
    Outcome {
        action,
        counters,
        log,
    }
}

fn deny_response(config: &Config, decision: &Decision<'_>) -> LocalResponse {
    let rule = decision.reasons.first().copied();
    let mut headers = Vec::new();
    if let (true, Some(rule)) = (config.reveal_rule, rule) {
        headers.push((RULE_HEADER.to_string(), rule.to_string()));
    }
    let body = match &config.deny_body {
        Some(b) => b.clone(),
        // The wording every front end shares (`Decision::denial`).
        None => match decision.denial() {
            Some(why) if config.reveal_rule => format!("{why}\n"),
            _ => "access denied\n".to_string(),
        },
    };
    text_response(config.deny_status, headers, body)
}

fn text_response(status: u32, mut headers: Vec<(String, String)>, body: String) -> LocalResponse {
    headers.push(("content-type".to_string(), "text/plain".to_string()));
    LocalResponse {
        status,
        headers,
        body,
    }
}

fn error_line(mode: Mode, action: &Action, error: &str) -> String {
    DecisionLog::refused(error, mode, log_action(action)).to_json()
}

fn log_action(action: &Action) -> LogAction {
    match action {
        Action::Continue => LogAction::Continue,
        Action::Respond(_) => LogAction::Deny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(text: &str) -> meshgate::Engine {
        meshgate::Engine::new(&meshgate::PolicySet::parse(text, "p.mgp").unwrap())
    }

    fn request(json: &str) -> Request<'static> {
        Request::from_json(json).unwrap()
    }

    const POLICY: &str = r#"
        allow "read" { to path "/ok" }
        deny "block" { to path "/blocked" }
        audit "watch" { to path "/ok" }
        dry_run deny "would-block" { to path "/ok" }
        allow "risky" { to path "/risk" when context.risk < 5 }
    "#;

    fn outcome(config: &Config, json: &str) -> Outcome {
        let e = engine(POLICY);
        let r = request(json);
        decided(config, &r, &e.decide(&r))
    }

    #[test]
    fn allow_continues_and_counts() {
        let c = Config {
            decision_log: true,
            ..Config::default()
        };
        let o = outcome(
            &c,
            r#"{"source": {"principal": "spiffe://td/ns/a/sa/b"}, "request": {"method": "GET", "path": "/ok?x"}, "time": "2026-01-01T00:00:00Z"}"#,
        );
        assert_eq!(o.action, Action::Continue);
        assert_eq!(
            o.counters,
            Counters {
                allowed: true,
                audited: true,
                dry_run_denied: true,
                ..Counters::default()
            }
        );
        assert_eq!(
            o.log.as_deref(),
            Some(
                r#"{"allowed":true,"reasons":["read"],"audits":["watch"],"dry_run":[{"rule":"would-block","effect":"deny"}],"errors":[],"mode":"enforce","action":"continue","principal":"spiffe://td/ns/a/sa/b","method":"GET","path":"/ok","time":"2026-01-01T00:00:00Z"}"#
            )
        );
    }

    #[test]
    fn deny_names_the_rule_unless_told_not_to() {
        let o = outcome(&Config::default(), r#"{"request": {"path": "/blocked"}}"#);
        let Action::Respond(r) = o.action else {
            panic!("{o:?}")
        };
        assert_eq!(r.status, 403);
        assert!(r.headers.contains(&(RULE_HEADER.into(), "block".into())));
        assert_eq!(r.body, "denied by rule `block`\n");
        assert!(o.counters.denied && !o.counters.allowed);
        assert_eq!(o.log, None);

        let quiet = Config {
            reveal_rule: false,
            deny_status: 404,
            ..Config::default()
        };
        let Action::Respond(r) = outcome(&quiet, r#"{"request": {"path": "/blocked"}}"#).action
        else {
            panic!()
        };
        assert_eq!(r.status, 404);
        assert!(r.headers.iter().all(|(k, _)| k != RULE_HEADER));
        assert_eq!(r.body, "access denied\n");
    }

    #[test]
    fn default_deny_and_errors_are_described() {
        let Action::Respond(r) =
            outcome(&Config::default(), r#"{"request": {"path": "/x"}}"#).action
        else {
            panic!()
        };
        assert_eq!(r.body, "denied: no rule allows this request\n");
        let o = outcome(
            &Config::default(),
            r#"{"request": {"path": "/risk"}, "context": {"risk": "3"}}"#,
        );
        assert!(o.counters.errors && o.counters.denied);
        let Action::Respond(r) = o.action else {
            panic!()
        };
        assert_eq!(r.body, "denied: rule `risky` could not be evaluated\n");
        // A path that is not normalized is an error of the request, not of a rule.
        let Action::Respond(r) = outcome(
            &Config::default(),
            r#"{"request": {"path": "/ok/../blocked"}}"#,
        )
        .action
        else {
            panic!()
        };
        assert_eq!(r.body, "denied: the request could not be evaluated\n");
        let custom = Config {
            deny_body: Some("nope".into()),
            ..Config::default()
        };
        let Action::Respond(r) = outcome(&custom, r#"{"request": {"path": "/blocked"}}"#).action
        else {
            panic!()
        };
        assert_eq!(r.body, "nope");
        assert!(r.headers.contains(&(RULE_HEADER.into(), "block".into())));
    }

    #[test]
    fn dry_run_mode_never_blocks() {
        let c = Config {
            mode: Mode::DryRun,
            decision_log: true,
            ..Config::default()
        };
        let o = outcome(&c, r#"{"request": {"path": "/blocked"}}"#);
        assert_eq!(o.action, Action::Continue);
        assert!(o.counters.dry_run_denied && !o.counters.denied && !o.counters.allowed);
        let log = o.log.unwrap();
        assert!(
            log.contains(r#""allowed":false"#)
                && log.contains(r#""mode":"dry-run","action":"continue""#),
            "{log}"
        );
        let o = refused(&c, "cannot read `metadata`");
        assert_eq!(o.action, Action::Continue);
        assert!(o.counters.errors && o.counters.dry_run_denied);
    }

    #[test]
    fn refused_and_not_loaded_fail_closed() {
        let o = refused(&Config::default(), "cannot read `metadata`: boom");
        let Action::Respond(r) = o.action else {
            panic!()
        };
        assert_eq!(r.status, 403);
        assert_eq!(r.body, "denied: cannot read `metadata`: boom\n");
        assert!(o.counters.errors && o.counters.denied);

        let closed = FailureSettings {
            allow: false,
            dry_run: false,
            reject: false,
        };
        let o = not_loaded(closed, true);
        let Action::Respond(r) = o.action else {
            panic!()
        };
        assert_eq!(r.status, 503);
        assert!(o.counters.denied && o.counters.errors);
        assert!(
            o.log
                .unwrap()
                .contains(r#""error":"the authorization policy is not loaded""#)
        );

        let open = FailureSettings {
            allow: true,
            dry_run: false,
            reject: false,
        };
        let o = not_loaded(open, false);
        assert_eq!(o.action, Action::Continue);
        assert!(o.counters.allowed && o.counters.errors && o.log.is_none());
    }
}
