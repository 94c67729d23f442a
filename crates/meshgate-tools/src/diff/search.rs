//! The search for regions: assigning classes to dimensions one at a time, cutting a branch as
//! soon as no changed rule can match or both sets' `allowed` is fixed, and deciding each
//! region concretely on an example request.
//!
//! Invariants: a branch is cut only when every request of it decides alike under both sets
//! (from [`Space::eval`]'s over-approximation); a reported region's example lies in the
//! region's classes and really decides differently (both sets are run on it); a region whose
//! example cannot be built is counted in `unbuilt`, never silently dropped.

use std::collections::HashMap;

use super::claims;
use super::dims::{Dim, Rep, apply};
use super::logic::{A, Atom, E, F, Space, T, atoms_of};
use super::render::describe;
use super::{MAX_REGIONS, MAX_STEPS, Region};
use meshgate::PolicySet;
use meshgate::attr::Attr;
use meshgate::model::Effect;
use meshgate::request::Request;

pub(super) struct RuleExpr {
    pub(super) expr: A,
    pub(super) effect: Effect,
    pub(super) changed: bool,
    pub(super) dims: Vec<usize>,
}

/// What a side decides when no deny and no allow rule matched and none erred: per side, with
/// `default allow` items, "some default opens the workload and no allow rule claims it"
/// (spec §4.4); without any, nothing (default deny).
pub(super) struct Fallback {
    pub(super) expr: A,
    pub(super) dims: Vec<usize>,
}

pub(super) struct Search<'a, 's> {
    pub(super) space: &'a Space<'s>,
    pub(super) rules: &'a [RuleExpr],
    pub(super) sides: &'a [Vec<usize>; 2],
    pub(super) fallbacks: &'a [Option<Fallback>; 2],
    /// Whether the fallbacks may differ: a default or a claiming rule changed.
    pub(super) fallback_may_differ: bool,
    pub(super) old: &'a PolicySet,
    pub(super) new: &'a PolicySet,
    pub(super) steps: usize,
    pub(super) regions: Vec<Region>,
    pub(super) incomplete: bool,
    /// Regions left out because no request of theirs could be built.
    pub(super) unbuilt: usize,
}

impl Search<'_, '_> {
    /// Whether one side's decision is fixed by the outcomes (one per rule) and the value of
    /// its fallback: `Some(allowed)`.
    /// `order` is the side's deciding rules in set order, as indices into `rules`.
    pub(super) fn decided(
        &self,
        order: &[usize],
        outcomes: &[u8],
        fallback: Option<u8>,
    ) -> Option<bool> {
        let mut allows: Vec<u8> = Vec::new();
        for &i in order {
            // Were an index out of range, `None` (undecided) is the answer that cannot be
            // wrong: the search goes on and decides concretely.
            let outcome = *outcomes.get(i)?;
            match self.rules.get(i)?.effect {
                Effect::Deny => match outcome {
                    F => {}
                    T => return Some(false),
                    _ => return None,
                },
                Effect::Allow => allows.push(outcome),
                _ => {}
            }
        }
        if allows.iter().any(|o| o & E != 0) {
            return None;
        }
        if allows.iter().all(|&o| o == F) {
            return match fallback {
                None => Some(false),
                Some(T) => Some(true),
                Some(F) => Some(false),
                Some(_) => None,
            };
        }
        allows.contains(&T).then_some(true)
    }

    pub(super) fn run(&mut self, assign: &mut Vec<Option<Vec<usize>>>) {
        // At most `MAX_STEPS + 1`: no overflow.
        self.steps = self.steps.saturating_add(1);
        if self.steps > MAX_STEPS || self.regions.len() >= MAX_REGIONS {
            self.incomplete = true;
            return;
        }
        let outcomes: Vec<u8> = self
            .rules
            .iter()
            .map(|r| self.space.eval(&r.expr, assign))
            .collect();
        let fallback: Vec<Option<u8>> = self
            .fallbacks
            .iter()
            .map(|f| f.as_ref().map(|f| self.space.eval(&f.expr, assign)))
            .collect();
        let (old_fallback, new_fallback) = (
            fallback.first().copied().flatten(),
            fallback.get(1).copied().flatten(),
        );
        // No changed rule can match, and the fallbacks cannot differ: both sets decide alike
        // here.
        let fallbacks_alike = !self.fallback_may_differ
            || (old_fallback == new_fallback && old_fallback.is_none_or(|v| v.count_ones() == 1));
        if fallbacks_alike
            && !self
                .rules
                .iter()
                .zip(&outcomes)
                .any(|(r, o)| r.changed && *o != F)
        {
            return;
        }
        let [old_order, new_order] = self.sides;
        match (
            self.decided(old_order, &outcomes, old_fallback),
            self.decided(new_order, &outcomes, new_fallback),
        ) {
            (Some(a), Some(b)) if a == b => return,
            (Some(_), Some(_)) => {
                self.region(assign);
                return;
            }
            _ => {}
        }
        // Branch on the unassigned dimension most undecided rules read (changed rules count
        // double), splitting its classes only as far as those rules tell them apart.
        let mut weight: HashMap<usize, usize> = HashMap::new();
        for (r, o) in self.rules.iter().zip(&outcomes) {
            if o.count_ones() > 1 {
                for &d in &r.dims {
                    // Bounded by twice the number of rules: no overflow.
                    let w = weight.entry(d).or_default();
                    *w = w.saturating_add(if r.changed { 2 } else { 1 });
                }
            }
        }
        let undecided_fallbacks: Vec<&Fallback> = self
            .fallbacks
            .iter()
            .zip(&fallback)
            .filter_map(|(f, v)| f.as_ref().filter(|_| v.is_some_and(|v| v.count_ones() > 1)))
            .collect();
        for f in &undecided_fallbacks {
            for &d in &f.dims {
                let w = weight.entry(d).or_default();
                *w = w.saturating_add(if self.fallback_may_differ { 2 } else { 1 });
            }
        }
        let space = self.space;
        let Some((d, reps)) = space
            .classes
            .iter()
            .zip(assign.iter())
            .enumerate()
            .filter(|(_, (_, slot))| slot.is_none())
            .filter_map(|(d, (reps, _))| Some((d, reps, *weight.get(&d)?)))
            .max_by_key(|(d, _, w)| (*w, std::cmp::Reverse(*d)))
            .map(|(d, reps, _)| (d, reps))
        else {
            self.region(assign);
            return;
        };
        let mut live_atoms: Vec<usize> = Vec::new();
        for (r, o) in self.rules.iter().zip(&outcomes) {
            if o.count_ones() > 1 {
                atoms_of(&r.expr, &mut live_atoms);
            }
        }
        for f in &undecided_fallbacks {
            atoms_of(&f.expr, &mut live_atoms);
        }
        let live_atoms: Vec<&Atom<'_>> = live_atoms
            .iter()
            .filter_map(|a| space.atoms.get(*a))
            .filter(|a| a.dim == d)
            .collect();
        let mut groups: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        for c in 0..reps.len() {
            let sig: Vec<u8> = live_atoms
                .iter()
                .map(|a| a.truth.get(c).copied().unwrap_or(0))
                .collect();
            match groups.iter_mut().find(|(s, _)| *s == sig) {
                Some(g) => g.1.push(c),
                None => groups.push((sig, vec![c])),
            }
        }
        for (_, cs) in groups {
            #[expect(
                clippy::indexing_slicing,
                reason = "`d` is a position in `assign` (enumerated above), whose length the \
                          search never changes"
            )]
            let slot = &mut assign[d];
            *slot = Some(cs);
            self.run(assign);
            if self.incomplete {
                break;
            }
        }
        #[expect(
            clippy::indexing_slicing,
            reason = "`d` is a position in `assign` (enumerated above), whose length the search \
                      never changes"
        )]
        let slot = &mut assign[d];
        *slot = None;
    }

    pub(super) fn region(&mut self, assign: &[Option<Vec<usize>>]) {
        // The assigned dimensions: index, dimension, representatives of its classes, and the
        // classes assigned (indices into the representatives).
        let space = self.space;
        let assigned: Vec<(usize, &Dim, &[Rep], &[usize])> = space
            .dims
            .iter()
            .zip(&space.classes)
            .zip(assign)
            .enumerate()
            .filter_map(|(d, ((dim, reps), cs))| Some((d, dim, reps.as_slice(), cs.as_deref()?)))
            .collect();
        // An example: the first member of each dimension's classes that yields a request,
        // avoiding a derived attribute (`source.namespace`, `service_account`, `trust_domain`)
        // asked to be absent while the principal supplies it. `options` lists per dimension the
        // members of its classes in order (each class's representative, then, for
        // `source.principal`, its other members); `choice` holds the one tried per dimension.
        // On a conflict, the absent attribute's dimension moves to its next member; when it has
        // none, the principal moves to its next member and the others start again.
        let options: Vec<Vec<&Rep>> = assigned
            .iter()
            .map(|(d, _, reps, cs)| {
                let others = space.alternates.get(*d);
                cs.iter()
                    .flat_map(|&c| {
                        reps.get(c)
                            .into_iter()
                            .chain(others.and_then(|o| o.get(c)).into_iter().flatten())
                    })
                    .collect()
            })
            .collect();
        let principal = assigned
            .iter()
            .position(|(_, dim, ..)| **dim == Dim::Attr(Attr::SourcePrincipal));
        let mut choice: Vec<usize> = vec![0; assigned.len()];
        let dims: Vec<&Dim> = assigned.iter().map(|(_, dim, ..)| *dim).collect();
        if !claims::fit(&dims, &options, &mut choice) {
            return;
        }
        let build = |choice: &[usize]| -> Option<Request<'static>> {
            let mut req = Request::default();
            for (((_, dim, ..), opts), &k) in assigned.iter().zip(&options).zip(choice) {
                if !apply(&mut req, dim, opts.get(k)?) {
                    return None;
                }
            }
            Some(req)
        };
        let conflict = |req: &Request<'_>, choice: &[usize]| -> Option<usize> {
            assigned
                .iter()
                .zip(&options)
                .zip(choice)
                .position(|(((_, dim, ..), opts), &k)| {
                    let (Dim::Attr(a), Some(Rep::Absent)) = (dim, opts.get(k)) else {
                        return false;
                    };
                    match a {
                        Attr::SourceNamespace => req.source_namespace().is_some(),
                        Attr::SourceServiceAccount => req.source_service_account().is_some(),
                        Attr::SourceTrustDomain => req.source_trust_domain().is_some(),
                        _ => false,
                    }
                })
        };
        let has_next = |choice: &[usize], k: usize| -> bool {
            match (choice.get(k), options.get(k)) {
                (Some(&c), Some(opts)) => c.saturating_add(1) < opts.len(),
                _ => false,
            }
        };
        let req = loop {
            let Some(req) = build(&choice) else {
                self.unbuilt = self.unbuilt.saturating_add(1);
                return;
            };
            let Some(k) = conflict(&req, &choice) else {
                break req;
            };
            if has_next(&choice, k) {
                if let Some(c) = choice.get_mut(k) {
                    *c = c.saturating_add(1);
                }
                continue;
            }
            // Every principal tried supplies the attribute: the members of a class differ only
            // where a glob's wildcard is filled in, and an instance filling `**` with two
            // segments (or `*` with one) has no `/ns/N/sa/S` form when any member lacks it, so
            // the region holds no request.
            let Some(p) = principal.filter(|&p| has_next(&choice, p)) else {
                return;
            };
            for (i, c) in choice.iter_mut().enumerate() {
                if i == p {
                    *c = c.saturating_add(1);
                } else if matches!(
                    assigned.get(i),
                    Some((
                        _,
                        Dim::Attr(
                            Attr::SourceNamespace
                                | Attr::SourceServiceAccount
                                | Attr::SourceTrustDomain
                        ),
                        ..
                    ))
                ) {
                    *c = 0;
                }
            }
        };
        let before = self.old.decide_reference(&req);
        let after = self.new.decide_reference(&req);
        if before.allowed == after.allowed {
            return;
        }
        let conditions = assigned
            .iter()
            .map(|(d, dim, reps, cs)| describe(space, *d, dim, reps, cs))
            .collect();
        let classes = assigned
            .iter()
            .map(|(d, .., cs)| (*d, cs.to_vec()))
            .collect();
        self.regions.push(Region {
            conditions,
            example: serde_json::from_str(&req.to_json()).unwrap_or(serde_json::Value::Null),
            before: (&before).into(),
            after: (&after).into(),
            classes,
        });
    }
}
