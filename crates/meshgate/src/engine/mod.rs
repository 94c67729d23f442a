//! The indexed decision engine.
//!
//! Rules are split into three groups (enforcing deny rules, enforcing allow rules, and the
//! observing ones: audit and dry-run), and each group gets an [`index::Index`] that yields the
//! few rules that may match a request. Only those are evaluated, with the same evaluation code
//! as the reference evaluator, and their outcomes go through the same decision procedure
//! ([`crate::eval::combine`]). A decision takes no lock and, for a request whose
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
use crate::decision::Decision;
use crate::eval::Env;
use crate::eval::combine::{self, Group, Groups, Outcome};
use crate::model::{DefaultAllow, Rule};
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

/// Rules that could not be evaluated: their ids (the index's and the rule's) and the errors.
type Errors<'e> = Vec<(u32, &'e str, String)>;

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
        let deny = group(|r| Group::of(r) == Group::Deny);
        // The enforcing allow rules, which are also the ones that claim workloads (§4.4).
        let allow = group(|r| Group::of(r) == Group::Allow);
        let observe = group(|r| Group::of(r) == Group::Observe);
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

    /// The rules, in set order (the model is internal: see the crate docs).
    #[doc(hidden)]
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
        combine::decide(&Indexed(&self.inner), request)
    }
}

/// A compiled engine, as the decision procedure reads it.
struct Indexed<'e>(&'e Compiled);

impl<'e> Groups<'e> for Indexed<'e> {
    fn first_deny(&self, env: &Env<'_, '_>) -> Option<Outcome<'e>> {
        // Candidates come in index order, not set order: keep the earliest that decides.
        let mut first: Option<(u32, Outcome<'e>)> = None;
        self.0.deny.candidates(
            env,
            |_| false,
            |id| {
                if first.as_ref().is_some_and(|(f, _)| *f <= id) {
                    return;
                }
                if let Some(o) = self.0.outcome(id, env) {
                    first = Some((id, o));
                }
            },
        );
        first.map(|(_, o)| o)
    }

    fn outcomes(&self, group: Group, env: &Env<'_, '_>, mut each: impl FnMut(Outcome<'e>)) {
        let index = match group {
            // Not asked by the procedure; answered all the same.
            Group::Deny => &self.0.deny,
            Group::Allow => &self.0.allow,
            Group::Observe => &self.0.observe,
        };
        let mut hits = Hits::new();
        let mut errors = Errors::new();
        index.candidates(
            env,
            |_| false,
            |id| match self.0.outcome(id, env) {
                Some(Outcome::Match(_)) => hits.push(id),
                Some(Outcome::Error { rule, message }) => errors.push((id, rule, message)),
                None => {}
            },
        );
        // A rule may be yielded once per value of a multi-valued attribute.
        hits.sort_unstable();
        hits.dedup();
        errors.sort_by_key(|(id, ..)| *id);
        errors.dedup_by_key(|(id, ..)| *id);
        for id in hits {
            if let Some(rule) = self.0.rules.get(id as usize) {
                each(Outcome::Match(rule));
            }
        }
        for (_, rule, message) in errors {
            each(Outcome::Error { rule, message });
        }
    }

    fn claimed(&self, env: &Env<'_, '_>) -> bool {
        // No claims index means no defaults, and then nothing asks; claim all the same.
        self.0
            .claims
            .as_ref()
            .is_none_or(|claims| claims.claimed(&self.0.rules, env))
    }

    fn defaults(&self) -> &'e [DefaultAllow] {
        &self.0.defaults
    }
}

impl Compiled {
    /// The outcome of rule `id`. A rule the engine cannot find is an error, never a non-match.
    fn outcome<'e>(&'e self, id: u32, env: &Env<'_, '_>) -> Option<Outcome<'e>> {
        match self.rules.get(id as usize) {
            Some(r) => combine::outcome(r, env),
            None => Some(Outcome::Error {
                rule: "",
                message: missing(id),
            }),
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
    use crate::model::Effect;

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
