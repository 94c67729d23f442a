//! The reference evaluator: every rule, in order, with nothing clever.
//!
//! This is the semantic oracle. The indexed engine must return exactly what this returns for
//! every policy set and request, and the equivalence property test checks that it does. Keep it
//! obviously correct rather than fast.
//!
//! The decision procedure (spec/language.md, "Decisions"):
//! 1. Deny rules, in set order: the first that matches denies (`reasons` = its id); the first
//!    that errors denies with that error. Later deny rules are not looked at.
//! 2. Otherwise allow rules, all of them: any error denies (every erroring allow is reported);
//!    otherwise, if any matched, the request is allowed and `reasons` lists them in order;
//!    otherwise, if some `default allow` selects the request's workload and no allow rule
//!    claims it (spec §4.4), it is allowed by that default; otherwise it is denied by default.
//! 3. Audit rules and dry-run rules are always all evaluated; they never change the decision,
//!    and their errors are reported without denying.

use crate::decision::{Decision, DryRun, EvalError};
use crate::model::{DefaultAllow, Effect, Rule};
use crate::request::Request;

use super::Env;

/// Decides `req` against `rules` and `defaults` (each in set order).
pub fn decide<'p>(
    rules: &'p [Rule],
    defaults: &'p [DefaultAllow],
    req: &Request<'_>,
) -> Decision<'p> {
    if let Some(d) = Decision::for_abnormal_path(req) {
        return d;
    }
    let env = Env::new(req);
    let mut d = Decision::default();
    let mut denied = false;
    for r in rules
        .iter()
        .filter(|r| !r.dry_run && r.effect == Effect::Deny)
    {
        match super::rule(r, &env) {
            Ok(true) => {
                d.reasons.push(r.id.as_str());
                denied = true;
                break;
            }
            Ok(false) => {}
            Err(message) => {
                d.errors.push(EvalError {
                    rule: &r.id,
                    message,
                });
                denied = true;
                break;
            }
        }
    }
    if !denied {
        let mut allow_error = false;
        for r in rules
            .iter()
            .filter(|r| !r.dry_run && r.effect == Effect::Allow)
        {
            match super::rule(r, &env) {
                Ok(true) => d.reasons.push(r.id.as_str()),
                Ok(false) => {}
                Err(message) => {
                    d.errors.push(EvalError {
                        rule: &r.id,
                        message,
                    });
                    allow_error = true;
                }
            }
        }
        if allow_error {
            d.reasons.clear();
        } else if !d.reasons.is_empty() {
            d.allowed = true;
        } else if let Some(default) = defaults.iter().find(|x| super::opens(x, &env))
            && !rules
                .iter()
                .any(|r| r.claims() && super::selection(r, &env) != super::Truth::False)
        {
            d.reasons.push(default.id.as_str());
            d.allowed = true;
        }
    }
    for r in rules
        .iter()
        .filter(|r| r.dry_run || r.effect == Effect::Audit)
    {
        match super::rule(r, &env) {
            Ok(true) if r.dry_run => d.dry_run.push(DryRun {
                rule: &r.id,
                effect: r.effect,
            }),
            Ok(true) => d.audits.push(r.id.as_str()),
            Ok(false) => {}
            Err(message) => d.errors.push(EvalError {
                rule: &r.id,
                message,
            }),
        }
    }
    d
}
