//! The reference evaluator: every rule, in order, with nothing clever.
//!
//! This is the semantic oracle. The indexed engine must return exactly what this returns for
//! every policy set and request, and the equivalence property test checks that it does. Keep it
//! obviously correct rather than fast: it evaluates every rule of a group in set order and hands
//! the outcomes to the one decision procedure, [`super::combine::decide`].

use crate::decision::Decision;
use crate::model::{DefaultAllow, Rule};
use crate::request::Request;

use super::combine::{self, Group, Groups, Outcome};
use super::{Env, Truth};

/// Decides `req` against `rules` and `defaults` (each in set order).
pub fn decide<'p>(
    rules: &'p [Rule],
    defaults: &'p [DefaultAllow],
    req: &Request<'_>,
) -> Decision<'p> {
    combine::decide(&Linear { rules, defaults }, req)
}

/// Every rule of a group, in set order.
struct Linear<'p> {
    rules: &'p [Rule],
    defaults: &'p [DefaultAllow],
}

impl<'p> Linear<'p> {
    fn group(&self, group: Group) -> impl Iterator<Item = &'p Rule> + use<'p> {
        self.rules.iter().filter(move |r| Group::of(r) == group)
    }
}

impl<'p> Groups<'p> for Linear<'p> {
    fn first_deny(&self, env: &Env<'_, '_>) -> Option<Outcome<'p>> {
        self.group(Group::Deny)
            .find_map(|r| combine::outcome(r, env))
    }

    fn outcomes(&self, group: Group, env: &Env<'_, '_>, each: impl FnMut(Outcome<'p>)) {
        self.group(group)
            .filter_map(|r| combine::outcome(r, env))
            .for_each(each);
    }

    fn claimed(&self, env: &Env<'_, '_>) -> bool {
        self.group(Group::Allow)
            .any(|r| super::selection(r, env) != Truth::False)
    }

    fn defaults(&self) -> &'p [DefaultAllow] {
        self.defaults
    }
}
