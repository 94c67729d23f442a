//! Evaluation of the model against a request: tests, conditions, and whole rules.
//!
//! Both deciders share this module: the reference evaluator walks every rule with it, and the
//! indexed engine calls it on the few candidates its index leaves. The semantics are those of
//! `spec/language.md`: absent attributes make tests unknown, `when` needs true, `unless` needs
//! false, `and`/`or` evaluate left to right and stop early.

mod attrs;
pub mod combine;
pub mod reference;
mod truth;

pub use attrs::{Env, weekday_bit};
pub use truth::Truth;

use crate::attr::Attr;
use crate::model::{Clause, Cond, DefaultAllow, Permission, Rule, Test, Zone};

/// An evaluation error (only context values of an unexpected kind cause one).
pub type EvalResult<T> = Result<T, String>;

/// Evaluates one test.
pub fn test(t: &Test, env: &Env<'_, '_>, rule: &Rule) -> EvalResult<Truth> {
    let truth = attrs::eval_pred(&t.attr, &t.pred, env, &rule.zone)?;
    Ok(if t.negated { truth.negate() } else { truth })
}

/// Evaluates a condition.
pub fn cond(c: &Cond, env: &Env<'_, '_>, rule: &Rule) -> EvalResult<Truth> {
    Ok(match c {
        Cond::Const(b) => Truth::from_bool(*b),
        Cond::Has(attr) => Truth::from_bool(attrs::has(attr, env)),
        Cond::Test(t) => test(t, env, rule)?,
        Cond::Not(inner) => cond(inner, env, rule)?.negate(),
        Cond::And(items) => {
            let mut acc = Truth::True;
            for item in items {
                match cond(item, env, rule)? {
                    Truth::False => return Ok(Truth::False),
                    Truth::Unknown => acc = Truth::Unknown,
                    Truth::True => {}
                }
            }
            acc
        }
        Cond::Or(items) => {
            let mut acc = Truth::False;
            for item in items {
                match cond(item, env, rule)? {
                    Truth::True => return Ok(Truth::True),
                    Truth::Unknown => acc = Truth::Unknown,
                    Truth::False => {}
                }
            }
            acc
        }
    })
}

/// Whether a `from`/`to` clause holds: every matcher true. Matchers never error.
pub fn clause(c: &Clause, env: &Env<'_, '_>, rule: &Rule) -> bool {
    c.tests
        .iter()
        .all(|t| matches!(test(t, env, rule), Ok(Truth::True)))
}

/// Whether a permission holds for the request: its method, path, host and port parts all
/// hold (see [`PermissionPart`]), checked in that order and stopping at the first that fails.
pub fn permission(p: &Permission, env: &Env<'_, '_>) -> bool {
    PermissionPart::ALL
        .iter()
        .all(|part| part.check(p, env) == PartCheck::Held)
}

/// A part of a permission (`permit METHODS on PATHS [host HOSTS] [port PORTS]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionPart {
    /// The methods (none listed: any method).
    Method,
    /// The path patterns (always given).
    Path,
    /// The host patterns (none given: any host).
    Host,
    /// The port ranges (none given: any port).
    Port,
}

/// How a permission part fares against a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartCheck {
    /// It holds (or the permission does not restrict it).
    Held,
    /// The request lacks the attribute the part restricts.
    Absent,
    /// The request's value is not one the part allows.
    Missed,
}

impl PermissionPart {
    /// Every part, in the order [`permission`] checks them.
    pub const ALL: [PermissionPart; 4] = [
        PermissionPart::Method,
        PermissionPart::Path,
        PermissionPart::Host,
        PermissionPart::Port,
    ];

    /// How this part of `p` fares against the request.
    pub fn check(self, p: &Permission, env: &Env<'_, '_>) -> PartCheck {
        let req = env.request();
        let verdict = |value: Option<bool>| match value {
            None => PartCheck::Absent,
            Some(true) => PartCheck::Held,
            Some(false) => PartCheck::Missed,
        };
        match self {
            PermissionPart::Method => match &p.methods {
                None => PartCheck::Held,
                Some(ms) => verdict(
                    req.request
                        .method
                        .as_deref()
                        .map(|m| ms.iter().any(|x| x == m)),
                ),
            },
            PermissionPart::Path => verdict(req.path().map(|path| p.paths.matches(path))),
            PermissionPart::Host => match &p.hosts {
                None => PartCheck::Held,
                Some(hs) => verdict(req.host().map(|h| hs.matches(h))),
            },
            PermissionPart::Port => match &p.ports {
                None => PartCheck::Held,
                Some(ps) => verdict(req.destination.port.map(|port| {
                    ps.iter()
                        .any(|&(lo, hi)| lo <= i64::from(port) && i64::from(port) <= hi)
                })),
            },
        }
    }
}

/// Whether the rule's scope holds: some `select` clause, some `from` clause, some `to` clause
/// and some granted permission (each vacuous when the rule has none).
pub fn scope(rule: &Rule, env: &Env<'_, '_>) -> bool {
    selection(rule, env).is_true()
        && (rule.from.is_empty() || rule.from.iter().any(|c| clause(c, env, rule)))
        && (rule.to.is_empty() || rule.to.iter().any(|c| clause(c, env, rule)))
        && (rule.grants.is_empty() || rule.permissions().any(|p| permission(p, env)))
}

/// The three-valued truth of the rule's selection: whether the request's workload is one the
/// rule selects. Unknown when that depends on an attribute the request lacks; an allow rule
/// whose selection is not false claims the workload (spec §4.4), so missing attributes close
/// workloads rather than open them.
pub fn selection(rule: &Rule, env: &Env<'_, '_>) -> Truth {
    selection_of(&rule.select, env)
}

/// Whether a `default allow` selects the request's workload (definitely: unknown does not
/// open it).
pub fn opens(default: &DefaultAllow, env: &Env<'_, '_>) -> bool {
    selection_of(&default.select, env).is_true()
}

/// Three-valued OR over `select` clauses of the AND of their tests (none: true). Selection
/// matchers are strings, which never err and need no time zone.
///
/// A selection reads the workload's labels the way a Kubernetes label selector does: a request
/// that carries destination labels carries all of them, so a label it lacks is one the workload
/// does not have (false, and `not label …` holds). Only a request with no destination label at
/// all leaves label tests unknown.
fn selection_of(clauses: &[Clause], env: &Env<'_, '_>) -> Truth {
    if clauses.is_empty() {
        return Truth::True;
    }
    let mut any = Truth::False;
    for c in clauses {
        let mut all = Truth::True;
        for t in &c.tests {
            match select_test(t, env) {
                Truth::False => {
                    all = Truth::False;
                    break;
                }
                Truth::Unknown => all = Truth::Unknown,
                Truth::True => {}
            }
        }
        match all {
            Truth::True => return Truth::True,
            Truth::Unknown => any = Truth::Unknown,
            Truth::False => {}
        }
    }
    any
}

/// The truth of one `select` matcher (see [`selection`] for how labels are read). Selection
/// matchers are strings, which never err and need no time zone.
pub fn select_test(t: &Test, env: &Env<'_, '_>) -> Truth {
    let mut truth =
        attrs::eval_pred(&t.attr, &t.pred, env, &Zone::default()).unwrap_or(Truth::Unknown);
    if truth == Truth::Unknown
        && matches!(t.attr, Attr::DestLabel(_))
        && !env.request().destination.labels.is_empty()
    {
        truth = Truth::False;
    }
    if t.negated { truth.negate() } else { truth }
}

/// Whether the rule's conditions hold: every `when` true, then every `unless` false, in order.
pub fn conditions(rule: &Rule, env: &Env<'_, '_>) -> EvalResult<bool> {
    for c in &rule.when {
        if !cond(&c.cond, env, rule)?.is_true() {
            return Ok(false);
        }
    }
    for c in &rule.unless {
        if cond(&c.cond, env, rule)? != Truth::False {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the rule matches: scope, then conditions.
pub fn rule(rule: &Rule, env: &Env<'_, '_>) -> EvalResult<bool> {
    if !scope(rule, env) {
        return Ok(false);
    }
    conditions(rule, env)
}
