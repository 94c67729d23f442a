//! The indexed decision engine.
//!
//! Rules are split into three groups (enforcing deny rules, enforcing allow rules, and the
//! observing ones: audit and dry-run), and each group gets an [`index::Index`] that yields the
//! few rules that may match a request. Only those are evaluated, with the same evaluation code
//! as the reference evaluator, and the results are assembled exactly as the reference assembles
//! them (see [`crate::eval::reference`]). A decision takes no lock and, for a request whose
//! strings are borrowed, allocates nothing unless more than eight rules of one group match.

mod claims;
mod index;
mod strmap;
mod trie;

use std::sync::Arc;

use smallvec::SmallVec;

pub use index::IndexStats;

use crate::PolicySet;
use crate::decision::{Decision, DryRun, EvalError};
use crate::eval::{self, Env};
use crate::model::{DefaultAllow, Effect, Rule};
use crate::request::Request;

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

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.inner.rules.len())
            .finish_non_exhaustive()
    }
}

/// Ids of matching rules, collected on the stack.
type Hits = SmallVec<[u32; 8]>;

impl Engine {
    /// Compiles a policy set.
    pub fn new(set: &PolicySet) -> Engine {
        let rules = set.shared_rules();
        let group = |pick: fn(&Rule) -> bool| -> Vec<u32> {
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| pick(r))
                .map(|(i, _)| i as u32)
                .collect()
        };
        let deny = group(|r| !r.dry_run && r.effect == Effect::Deny);
        // The enforcing allow rules, which are also the ones that claim workloads (§4.4).
        let allow = group(Rule::claims);
        let observe = group(|r| r.dry_run || r.effect == Effect::Audit);
        let defaults = set.shared_defaults();
        let claims = (!defaults.is_empty()).then(|| claims::Claims::build(&rules, &allow));
        let compiled = Compiled {
            deny: index::Index::build(&rules, &deny),
            allow: index::Index::build(&rules, &allow),
            observe: index::Index::build(&rules, &observe),
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

    /// How the deny, allow and observe groups were indexed.
    pub fn index_stats(&self) -> [IndexStats; 3] {
        [
            self.inner.deny.stats(),
            self.inner.allow.stats(),
            self.inner.observe.stats(),
        ]
    }

    /// Decides a request. Returns exactly what [`PolicySet::decide_reference`] returns.
    pub fn decide<'e>(&'e self, request: &Request<'_>) -> Decision<'e> {
        if let Some(d) = Decision::for_abnormal_path(request) {
            return d;
        }
        let c = &*self.inner;
        let env = Env::new(request);
        let rule = |id: u32| c.rules.get(id as usize);
        let mut d = Decision::default();

        // Deny rules: the first in set order that matches or errors decides.
        let mut first: Option<(u32, Option<String>)> = None;
        c.deny.candidates(&env, |id| {
            if first.as_ref().is_some_and(|(f, _)| *f < id) {
                return;
            }
            if let Some(r) = rule(id) {
                match eval::rule(r, &env) {
                    Ok(true) => first = Some((id, None)),
                    Ok(false) => {}
                    Err(message) => first = Some((id, Some(message))),
                }
            }
        });
        if let Some((id, outcome)) = first {
            if let Some(r) = rule(id) {
                match outcome {
                    None => d.reasons.push(r.id.as_str()),
                    Some(message) => d.errors.push(EvalError {
                        rule: &r.id,
                        message,
                    }),
                }
            }
        } else {
            // Allow rules: all of them; any error denies.
            let mut hits = Hits::new();
            let mut errors: Vec<(u32, String)> = Vec::new();
            c.allow.candidates(&env, |id| {
                if let Some(r) = rule(id) {
                    match eval::rule(r, &env) {
                        Ok(true) => hits.push(id),
                        Ok(false) => {}
                        Err(message) => errors.push((id, message)),
                    }
                }
            });
            if errors.is_empty() {
                hits.sort_unstable();
                d.reasons.extend(
                    hits.iter()
                        .filter_map(|&id| rule(id))
                        .map(|r| r.id.as_str()),
                );
                d.allowed = !d.reasons.is_empty();
                if !d.allowed {
                    if let Some(default) = c.defaults.iter().find(|x| eval::opens(x, &env)) {
                        let claimed = c
                            .claims
                            .as_ref()
                            .is_none_or(|claims| claims.claimed(&c.rules, &env));
                        if !claimed {
                            d.reasons.push(default.id.as_str());
                            d.allowed = true;
                        }
                    }
                }
            } else {
                errors.sort_unstable_by_key(|(id, _)| *id);
                push_errors(&mut d, errors, &rule);
            }
        }

        // Audit and dry-run rules: reported, never deciding.
        let mut hits = Hits::new();
        let mut errors: Vec<(u32, String)> = Vec::new();
        c.observe.candidates(&env, |id| {
            if let Some(r) = rule(id) {
                match eval::rule(r, &env) {
                    Ok(true) => hits.push(id),
                    Ok(false) => {}
                    Err(message) => errors.push((id, message)),
                }
            }
        });
        hits.sort_unstable();
        for r in hits.iter().filter_map(|&id| rule(id)) {
            if r.dry_run {
                d.dry_run.push(DryRun {
                    rule: &r.id,
                    effect: r.effect,
                });
            } else {
                d.audits.push(r.id.as_str());
            }
        }
        errors.sort_unstable_by_key(|(id, _)| *id);
        push_errors(&mut d, errors, &rule);
        d
    }
}

fn push_errors<'e>(
    d: &mut Decision<'e>,
    errors: Vec<(u32, String)>,
    rule: &impl Fn(u32) -> Option<&'e Rule>,
) {
    for (id, message) in errors {
        if let Some(r) = rule(id) {
            d.errors.push(EvalError {
                rule: &r.id,
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
    }
}
