//! The indexed decision engine.
//!
//! Rules are split into three groups (enforcing deny rules, enforcing allow rules, and the
//! observing ones: audit and dry-run), and each group gets an [`index::Index`] that yields the
//! few rules that may match a request. Only those are evaluated, with the same evaluation code
//! as the reference evaluator, and the results are assembled exactly as the reference assembles
//! them (see [`crate::eval::reference`]). A decision takes no lock and, for a request whose
//! strings are borrowed, allocates nothing unless more than eight rules of one group match.
//!
//! It fails closed: a rule id the index yields but the engine cannot look up is an evaluation
//! error (which denies), and a claim it cannot look up claims the workload.

mod affix;
mod bits;
mod claims;
mod index;
mod keys;
mod strmap;

use std::sync::Arc;

use smallvec::SmallVec;

pub use index::IndexStats;

use crate::PolicySet;
use crate::decision::{Decision, DryRun, EvalError};
use crate::eval::{self, Env};
use crate::model::{DefaultAllow, Effect, Rule};
use crate::request::Request;
use keys::Purpose;

/// An immutable decision engine compiled from a [`PolicySet`]. `Send + Sync` and cheap to
/// clone: share one across threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Compiled>,
}

struct Compiled {
    rules: Arc<[Rule]>,
    defaults: Arc<[DefaultAllow]>,
    deny: index::Index,
    allow: index::Index,
    observe: index::Index,
    /// Which allow rules claim which workloads; built only when the set has defaults.
    claims: Option<claims::Claims>,
}

/// How each group of an engine's rules was indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStats {
    /// Enforcing deny rules.
    pub deny: IndexStats,
    /// Enforcing allow rules.
    pub allow: IndexStats,
    /// Audit and dry-run rules.
    pub observe: IndexStats,
    /// The claims of allow rules on workloads (only when the set has `default allow` items).
    pub claims: Option<IndexStats>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.inner.rules.len())
            .finish_non_exhaustive()
    }
}

/// Ids of matching rules, collected on the stack.
type Hits = SmallVec<[u32; 8]>;

/// Rules that could not be evaluated: their ids and the errors.
type Errors = Vec<(u32, String)>;

impl Engine {
    /// Compiles a policy set.
    pub fn new(set: &PolicySet) -> Engine {
        let rules = set.shared_rules();
        let group = |pick: fn(&Rule) -> bool| -> Vec<u32> {
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| pick(r))
                .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                .collect()
        };
        let deny = group(|r| !r.dry_run && r.effect == Effect::Deny);
        // The enforcing allow rules, which are also the ones that claim workloads (§4.4).
        let allow = group(Rule::claims);
        let observe = group(|r| r.dry_run || r.effect == Effect::Audit);
        let defaults = set.shared_defaults();
        let claims = (!defaults.is_empty()).then(|| claims::Claims::build(&rules, &allow));
        let compiled = Compiled {
            deny: index::Index::build(&rules, &deny, Purpose::Match),
            allow: index::Index::build(&rules, &allow, Purpose::Match),
            observe: index::Index::build(&rules, &observe, Purpose::Match),
            claims,
            defaults,
            rules,
        };
        Engine {
            inner: Arc::new(compiled),
        }
    }

    /// The rules, in set order.
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// How the deny, allow and observe groups (and the claims) were indexed.
    pub fn index_stats(&self) -> EngineStats {
        let c = &*self.inner;
        EngineStats {
            deny: c.deny.stats(),
            allow: c.allow.stats(),
            observe: c.observe.stats(),
            claims: c.claims.as_ref().map(claims::Claims::stats),
        }
    }

    /// Decides a request. Returns exactly what [`PolicySet::decide_reference`] returns.
    pub fn decide<'e>(&'e self, request: &Request<'_>) -> Decision<'e> {
        if let Some(d) = Decision::for_abnormal_path(request) {
            return d;
        }
        let c = &*self.inner;
        let env = Env::new(request);
        let none = |_: &crate::attr::Attr| false;
        let mut d = Decision::default();

        // Deny rules: the first in set order that matches or errors decides.
        let mut first: Option<(u32, Option<String>)> = None;
        c.deny.candidates(&env, none, |id| {
            if first.as_ref().is_some_and(|(f, _)| *f <= id) {
                return;
            }
            match c.eval(id, &env) {
                Ok(true) => first = Some((id, None)),
                Ok(false) => {}
                Err(message) => first = Some((id, Some(message))),
            }
        });
        if let Some((id, outcome)) = first {
            match outcome {
                None => d.reasons.push(c.id_of(id)),
                Some(message) => d.errors.push(EvalError {
                    rule: c.id_of(id),
                    message,
                }),
            }
        } else {
            // Allow rules: all of them; any error denies.
            let (hits, errors) = c.matches(&c.allow, &env);
            if errors.is_empty() {
                d.reasons.extend(hits.iter().map(|&id| c.id_of(id)));
                d.allowed = !d.reasons.is_empty();
                if !d.allowed
                    && let Some(default) = c.defaults.iter().find(|x| eval::opens(x, &env))
                {
                    let claimed = c
                        .claims
                        .as_ref()
                        .is_none_or(|claims| claims.claimed(&c.rules, &env));
                    if !claimed {
                        d.reasons.push(default.id.as_str());
                        d.allowed = true;
                    }
                }
            } else {
                c.push_errors(&mut d, errors);
            }
        }

        // Audit and dry-run rules: reported, never deciding.
        let (hits, errors) = c.matches(&c.observe, &env);
        for &id in &hits {
            match c.rules.get(id as usize) {
                Some(r) if r.dry_run => d.dry_run.push(DryRun {
                    rule: &r.id,
                    effect: r.effect,
                }),
                Some(r) => d.audits.push(r.id.as_str()),
                None => {}
            }
        }
        c.push_errors(&mut d, errors);
        d
    }
}

impl Compiled {
    /// Evaluates rule `id`. A rule the engine cannot find is an error, never a non-match.
    fn eval(&self, id: u32, env: &Env<'_, '_>) -> eval::EvalResult<bool> {
        match self.rules.get(id as usize) {
            Some(r) => eval::rule(r, env),
            None => Err(missing(id)),
        }
    }

    /// The id of rule `id`, or `""` when it cannot be found (its error says so).
    fn id_of(&self, id: u32) -> &str {
        self.rules.get(id as usize).map_or("", |r| r.id.as_str())
    }

    /// Every candidate of `index` that matches, and every one that errs, each once and in
    /// set order.
    fn matches(&self, index: &index::Index, env: &Env<'_, '_>) -> (Hits, Errors) {
        let mut hits = Hits::new();
        let mut errors = Errors::new();
        index.candidates(
            env,
            |_| false,
            |id| match self.eval(id, env) {
                Ok(true) => hits.push(id),
                Ok(false) => {}
                Err(message) => errors.push((id, message)),
            },
        );
        // A rule may be yielded once per value of a multi-valued attribute.
        hits.sort_unstable();
        hits.dedup();
        errors.sort_by_key(|(id, _)| *id);
        errors.dedup_by_key(|(id, _)| *id);
        (hits, errors)
    }

    fn push_errors<'e>(&'e self, d: &mut Decision<'e>, errors: Errors) {
        for (id, message) in errors {
            d.errors.push(EvalError {
                rule: self.id_of(id),
                message,
            });
        }
    }
}

/// The error of a rule id the engine cannot find (an internal fault: it denies).
fn missing(id: u32) -> String {
    format!(
        "internal error: rule #{id} is indexed but missing from the engine; the request is denied"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
    }

    /// An engine whose index refers to rules it no longer holds (only a test can make one).
    fn with_rules_lost(src: &str, keep: usize) -> Engine {
        let set = PolicySet::parse(src, "test.mgp").unwrap();
        let engine = Engine::new(&set);
        let c = &*engine.inner;
        let kept: Vec<Rule> = c.rules.iter().take(keep).cloned().collect();
        let lost = Compiled {
            rules: kept.into(),
            defaults: c.defaults.clone(),
            deny: index::Index::build(
                &c.rules,
                &(0..c.rules.len() as u32)
                    .filter(|&i| c.rules[i as usize].effect == Effect::Deny)
                    .collect::<Vec<_>>(),
                Purpose::Match,
            ),
            allow: index::Index::build(
                &c.rules,
                &(0..c.rules.len() as u32)
                    .filter(|&i| c.rules[i as usize].claims())
                    .collect::<Vec<_>>(),
                Purpose::Match,
            ),
            observe: index::Index::build(&c.rules, &[], Purpose::Match),
            claims: Some(claims::Claims::build(
                &c.rules,
                &(0..c.rules.len() as u32)
                    .filter(|&i| c.rules[i as usize].claims())
                    .collect::<Vec<_>>(),
            )),
        };
        Engine {
            inner: Arc::new(lost),
        }
    }

    fn request(json: &str) -> Request<'static> {
        Request::from_json(json).unwrap()
    }

    #[test]
    fn a_lost_deny_rule_denies_with_an_error() {
        let e = with_rules_lost(r#"allow "a" { to path "/x" } deny "d" { to path "/x" }"#, 1);
        let d = e.decide(&request(r#"{"request": {"path": "/x"}}"#));
        assert!(!d.allowed);
        assert!(
            d.errors.iter().any(|e| e.message.contains("missing")),
            "{d:?}"
        );
    }

    #[test]
    fn a_lost_allow_rule_denies_with_an_error() {
        let e = with_rules_lost(
            r#"allow "a" { to path "/y" } allow "b" { to path "/x" }"#,
            1,
        );
        let d = e.decide(&request(r#"{"request": {"path": "/x"}}"#));
        assert!(!d.allowed);
        assert_eq!(d.errors.len(), 1, "{d:?}");
    }

    #[test]
    fn a_lost_claim_claims_the_workload() {
        let e = with_rules_lost(
            r#"default allow "open" { select namespace "shop" }
               allow "a" { to path "/never" }
               allow "b" { select namespace "shop" to path "/other" }"#,
            1,
        );
        let d = e.decide(&request(
            r#"{"destination": {"namespace": "shop"}, "request": {"path": "/x"}}"#,
        ));
        // Rule `b` claims the workload but cannot be found: the default must not open it.
        assert!(!d.allowed, "{d:?}");
    }
}
