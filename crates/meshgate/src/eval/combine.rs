//! The decision procedure, written once: which group a rule belongs to, and how the groups'
//! outcomes become a [`Decision`].
//!
//! Both deciders feed [`decide`]: the reference evaluator by evaluating every rule of a group
//! in set order ([`super::reference`]), the engine by evaluating the candidates its indexes
//! yield (`engine/mod.rs`). They differ only in *which* rules they look at, never in what the
//! outcomes mean, so the equivalence property compares the indexes and nothing else.
//!
//! The procedure (spec/language.md, "Decisions"):
//! 1. [`Group::Deny`]: the first rule in set order that matches denies (`reasons` = its id); the
//!    first that errs denies with that error. Later deny rules are not looked at.
//! 2. Otherwise [`Group::Allow`], all of it: any error denies (every erring allow rule is
//!    reported); otherwise, if any rule matched, the request is allowed and `reasons` lists them
//!    in set order; otherwise, if some `default allow` selects the request's workload and no
//!    allow rule claims it (spec §4.4), that default allows it; otherwise it is denied by
//!    default.
//! 3. [`Group::Observe`] (audit and dry-run rules), all of it: reported, never deciding; their
//!    errors are reported without denying.

use crate::decision::{Decision, DryRun, EvalError};
use crate::model::{DefaultAllow, Effect, Rule};
use crate::request::Request;

use super::Env;

/// The group a rule is decided in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// Enforcing deny rules: the first that matches decides.
    Deny,
    /// Enforcing allow rules: every one that matches is a reason. These are also the rules
    /// that claim workloads from `default allow` (spec §4.4).
    Allow,
    /// Audit rules and dry-run rules of every effect: reported, never deciding.
    Observe,
}

impl Group {
    /// The group of `rule`.
    pub fn of(rule: &Rule) -> Group {
        if rule.dry_run || rule.effect == Effect::Audit {
            Group::Observe
        } else if rule.effect == Effect::Deny {
            Group::Deny
        } else {
            Group::Allow
        }
    }
}

/// One rule that matched or could not be evaluated.
#[derive(Debug)]
pub enum Outcome<'p> {
    /// The rule matched.
    Match(&'p Rule),
    /// The rule could not be evaluated. `rule` is its id (empty when a decider lost the rule
    /// itself, which is an internal fault that must deny).
    Error {
        /// The rule's id.
        rule: &'p str,
        /// What went wrong.
        message: String,
    },
}

/// What a decider supplies to [`decide`]: the outcomes of each group for one request.
pub trait Groups<'p> {
    /// The first rule of [`Group::Deny`], in set order, that matches or errs.
    fn first_deny(&self, env: &Env<'_, '_>) -> Option<Outcome<'p>>;

    /// Calls `each` for every rule of `group` ([`Group::Allow`] or [`Group::Observe`]) that
    /// matches or errs: once per rule, matches in set order and errors in set order.
    fn outcomes(&self, group: Group, env: &Env<'_, '_>, each: impl FnMut(Outcome<'p>));

    /// Whether some rule of [`Group::Allow`] claims the request's workload: its selection is
    /// not definitely false (an unknown selection claims, so a missing attribute closes a
    /// workload rather than opening it).
    fn claimed(&self, env: &Env<'_, '_>) -> bool;

    /// The `default allow` items, in set order.
    fn defaults(&self) -> &'p [DefaultAllow];
}

/// Decides `request` from the outcomes `groups` supplies. See the module docs.
pub fn decide<'p>(groups: &impl Groups<'p>, request: &Request<'_>) -> Decision<'p> {
    if let Some(d) = Decision::for_abnormal_path(request) {
        return d;
    }
    let env = Env::new(request);
    let mut d = Decision::default();
    let error = |d: &mut Decision<'p>, rule: &'p str, message: String| {
        d.errors.push(EvalError { rule, message });
    };

    match groups.first_deny(&env) {
        Some(Outcome::Match(rule)) => d.reasons.push(rule.id.as_str()),
        Some(Outcome::Error { rule, message }) => error(&mut d, rule, message),
        None => {
            let mut erred = false;
            groups.outcomes(Group::Allow, &env, |o| match o {
                Outcome::Match(rule) => d.reasons.push(rule.id.as_str()),
                Outcome::Error { rule, message } => {
                    erred = true;
                    error(&mut d, rule, message);
                }
            });
            if erred {
                d.reasons.clear();
            } else if !d.reasons.is_empty() {
                d.allowed = true;
            } else if let Some(default) = groups.defaults().iter().find(|x| super::opens(x, &env))
                && !groups.claimed(&env)
            {
                d.reasons.push(default.id.as_str());
                d.allowed = true;
            }
        }
    }

    groups.outcomes(Group::Observe, &env, |o| match o {
        Outcome::Match(rule) if rule.dry_run => d.dry_run.push(DryRun {
            rule: &rule.id,
            effect: rule.effect,
        }),
        Outcome::Match(rule) => d.audits.push(rule.id.as_str()),
        Outcome::Error { rule, message } => error(&mut d, rule, message),
    });
    d
}

/// The outcome of evaluating `rule`: `None` when it does not match.
pub fn outcome<'p>(rule: &'p Rule, env: &Env<'_, '_>) -> Option<Outcome<'p>> {
    match super::rule(rule, env) {
        Ok(true) => Some(Outcome::Match(rule)),
        Ok(false) => None,
        Err(message) => Some(Outcome::Error {
            rule: &rule.id,
            message,
        }),
    }
}
