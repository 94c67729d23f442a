//! Which allow rules claim a request's workload, for `default allow` (spec §4.4).
//!
//! A default opens a workload only when no enforcing allow rule's selection is true or unknown
//! for it. Most selections name the workload's namespace exactly (`select namespace "foo", …`
//! in every clause), so claims are posted by namespace: a request is checked against the
//! claims of its own namespace and the few that do not name one exactly. A request without
//! `destination.namespace` makes every namespace test unknown, so there every claim is checked
//! (the reference evaluator's answer, kept exactly; such requests are incomplete anyway).

use hashbrown::HashMap;

use super::index::exact_keys;
use super::strmap::StrMap;
use crate::attr::Attr;
use crate::eval::{self, Env, Truth};
use crate::model::Rule;

/// The claims of one policy set's enforcing allow rules.
pub struct Claims {
    by_namespace: StrMap,
    /// Claims that do not name their namespace exactly.
    residual: Box<[u32]>,
    /// Every claiming rule, for requests without a namespace.
    all: Box<[u32]>,
}

impl Claims {
    /// Posts the claims of the rules at positions `members` of `all`.
    pub fn build(rules: &[Rule], members: &[u32]) -> Claims {
        let mut by_namespace: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut residual = Vec::new();
        for &id in members {
            let keys = rules
                .get(id as usize)
                .and_then(|r| exact_keys(&r.select, &Attr::DestNamespace));
            match keys {
                Some(keys) => keys
                    .into_iter()
                    .for_each(|k| by_namespace.entry(k).or_default().push(id)),
                None => residual.push(id),
            }
        }
        Claims {
            by_namespace: StrMap::new(by_namespace, Attr::DestNamespace.case_insensitive()),
            residual: residual.into_boxed_slice(),
            all: members.into(),
        }
    }

    /// Whether some allow rule claims the request's workload.
    pub fn claimed(&self, rules: &[Rule], env: &Env<'_, '_>) -> bool {
        let claims = |id: &u32| {
            rules
                .get(*id as usize)
                .is_some_and(|r| eval::selection(r, env) != Truth::False)
        };
        match env.str_attr(&Attr::DestNamespace) {
            Some(ns) => {
                self.by_namespace.get(ns).iter().any(claims) || self.residual.iter().any(claims)
            }
            None => self.all.iter().any(claims),
        }
    }
}
