//! Which allow rules claim a request's workload, for `default allow` (spec §4.4).
//!
//! A default opens a workload only when no enforcing allow rule's selection is true or unknown
//! for it. Claims are indexed by what their selections name: the namespace, or a label
//! (`select namespace "shop", label app = "web"`), exact or glob. A selection is unknown rather
//! than false when the request lacks what it tests: a request without `destination.namespace`
//! meets every claim keyed by namespace, and one without any destination label every claim
//! keyed by a label (a request that carries labels carries all of them, so a label it lacks is
//! false, §4.4). Claims whose selections name neither are checked for every request.

use super::index::Index;
use super::keys::Purpose;
use crate::attr::Attr;
use crate::eval::{self, Env, Truth};
use crate::model::Rule;

/// The claims of one policy set's enforcing allow rules.
pub struct Claims {
    index: Index,
}

impl Claims {
    /// Posts the claims of the rules at positions `members` of `rules`.
    pub fn build(rules: &[Rule], members: &[u32]) -> Claims {
        Claims {
            index: Index::build(rules, members, Purpose::Claim),
        }
    }

    /// Whether some allow rule claims the request's workload. A claim that cannot be looked up
    /// counts as claiming: a lost rule must close workloads, never open them.
    pub fn claimed(&self, rules: &[Rule], env: &Env<'_, '_>) -> bool {
        let unlabelled = env.request().destination.labels.is_empty();
        let absent = |attr: &Attr| match attr {
            Attr::DestNamespace => true,
            Attr::DestLabel(_) => unlabelled,
            _ => false,
        };
        let mut claimed = false;
        self.index.candidates(env, absent, |id| {
            claimed = claimed
                || rules
                    .get(id as usize)
                    .is_none_or(|r| eval::selection(r, env) != Truth::False);
        });
        claimed
    }

    /// How the claims were posted.
    pub fn stats(&self) -> super::IndexStats {
        self.index.stats()
    }
}
