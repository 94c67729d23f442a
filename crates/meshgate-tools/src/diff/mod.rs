//! Semantic diff: where two policy sets decide differently.
//!
//! The request space is cut into classes from the language's own structure, not sampled at
//! random and not handed to a solver:
//!
//! 1. Every attribute the two sets test (a *dimension*; all of `time`, `time.hour`,
//!    `time.minute`, `time.weekday` and `time.date` form one) gets a finite set of candidate
//!    values: every exact string written in a rule, an instance of every glob (`*` and `**`
//!    filled in), a string matching none of them (and, for `source.principal`, each SPIFFE id
//!    with a segment added, which supplies no namespace or service account); both ends of every
//!    CIDR and port or hour range and the addresses and numbers just outside them; for time,
//!    every hour (or minute, when a rule tests minutes) of a week in winter and one in summer of
//!    2026, of the days around each 2026 transition of the rules' zones and of the fortnight
//!    around every date and instant a rule names, each also at the offsets past the hour
//!    (minute) where some zone's clock turns (e.g. :30 for UTC+5:30), and then one week of
//!    every combination of the zones' offsets over their history up to 2100; each context
//!    literal and the numbers around each context range; and "absent". Lists (JWT claims,
//!    audiences) get every combination of element classes that makes a different set of tests
//!    true, up to 1024 of them.
//! 2. Candidates that make the same tests come out the same (the same *signature*) form one
//!    class, so every value of the attribute behaves like one class's representative.
//! 3. A search assigns classes to dimensions one at a time. At each step it evaluates every
//!    rule of both sets three-valued over the assigned dimensions ("could match", "cannot
//!    match"). A branch is cut as soon as no changed rule (added, removed or edited) can
//!    match, since then both sets decide alike; and as soon as both sets' `allowed` is fixed,
//!    the branch is one region, decided concretely with both sets on an example request.
//!
//! The result lists each region where `allowed` differs, with a description, an example
//! request, and the decisions before and after. Regions where only the deciding rules (the
//! reasons) change are not reported.
//!
//! Exactness: the diff is exact (every request deciding differently lies in a reported region)
//! for exact strings, globs whose only wildcard is a trailing `*` or `/**` (they nest or are
//! disjoint) or a single glob of any shape per attribute, CIDRs, ports, claims (under one key
//! too, see `claims`) and audiences,
//! hours, minutes, weekdays, dates and instants in any zones up to 2100, `has`, `select` and
//! `default allow` (a side's *fallback*: what it decides when no rule matched, see
//! `search::Fallback`), and context strings, integers and booleans. It is not guaranteed for several distinct globs on one
//! attribute with a wildcard before the end of one of them (their overlap may not be among the
//! candidates), for comparisons of one attribute with another, for `contains` on context
//! lists, and when a limit is reached (more than 1024 list classes, the zones' history, the
//! search's steps or regions): then the report says `exact: false` and why.
//!
//! # Layout and invariants
//!
//! - `dims`: dimensions and their values (`dims::Rep`); setting one dimension of a
//!   request touches nothing else.
//! - `builder`: rules as expressions over atoms, each atom one test of one dimension that
//!   evaluates exactly as the evaluator does; the values the rules write, per dimension.
//! - `candidates` and `time`: candidate values per kind of attribute; they reach every
//!   class of a dimension, or the report says why not.
//! - `classes`: candidates with the same signature (every atom of the dimension alike) form
//!   one class; every value behaves like its class's representative.
//! - `logic`: what truth values an expression can take over some classes; an
//!   over-approximation, so cutting a branch on it is sound.
//! - `changes`: the rules removed, added or changed; an unchanged rule decides alike in both
//!   sets, so only where a changed rule can match can decisions differ.
//! - `search`: the regions, each decided concretely on an example that lies in it;
//!   `claims` makes the claims of a region fit into one request.
//! - `render`: conditions in words and the report as text.
//!
//! Together: a request deciding differently falls into some class of every dimension; the
//! search reaches that combination of classes (no branch holding it is cut), where both sets'
//! decisions are fixed and differ, and reports it, unless the report says it is not exact.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::DecisionRecord;
use builder::{Builder, NO_RULE};
use changes::{changes, deciding};
use logic::{A, Atom, Space, dims_of, substitute_any_label};
use meshgate::PolicySet;
use meshgate::eval::Env;
use meshgate::request::Request;
use search::{Fallback, RuleExpr, Search};

mod builder;
mod candidates;
mod changes;
mod claims;
mod classes;
mod dims;
mod logic;
mod render;
mod search;
mod time;

/// Most search steps before the diff gives up and says it is incomplete.
pub const MAX_STEPS: usize = 2_000_000;
/// Most regions reported.
pub const MAX_REGIONS: usize = 100_000;

/// The difference between two policy sets.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Whether some request is allowed by one set and denied by the other.
    pub changes_decisions: bool,
    /// Regions where `allowed` differs.
    pub decision_changes: Vec<Region>,
    /// Rule ids only in the old set, only in the new one, and in both but changed.
    pub rules: RuleChanges,
    /// Whether every request that decides differently lies in a reported region.
    pub exact: bool,
    /// Why not, when not.
    pub inexact_because: Vec<String>,
}

/// Which rules changed, by id.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleChanges {
    /// Only in the old set.
    pub removed: Vec<String>,
    /// Only in the new set.
    pub added: Vec<String>,
    /// In both, with a different meaning (or position among the deciding rules).
    pub changed: Vec<String>,
}

/// A region of the request space: each listed attribute in the given class, every other
/// attribute anything at all.
#[derive(Clone, Debug, Serialize)]
pub struct Region {
    /// One line per constrained attribute, e.g. `source.namespace = "legacy"`.
    pub conditions: Vec<String>,
    /// A request in the region.
    pub example: serde_json::Value,
    /// What the old set decides for it.
    pub before: DecisionRecord,
    /// What the new set decides for it.
    pub after: DecisionRecord,
    /// Per dimension constrained, the classes of the region.
    #[serde(skip)]
    classes: Vec<(usize, Vec<usize>)>,
}

/// A prepared comparison of two policy sets. [`Diff::report`] gives the result;
/// [`Diff::region_of`] tells which reported region a request lies in.
pub struct Diff<'s> {
    old: &'s PolicySet,
    new: &'s PolicySet,
    space: Space<'s>,
    report: DiffReport,
}

impl<'s> Diff<'s> {
    /// Compares `old` with `new`.
    pub fn new(old: &'s PolicySet, new: &'s PolicySet) -> Diff<'s> {
        let (rule_changes, changed_ids) = changes(old, new);
        let mut b = Builder {
            set: None,
            dims: Vec::new(),
            dim_index: HashMap::new(),
            atoms: Vec::new(),
            seeds: BTreeMap::new(),
            inexact: Vec::new(),
            label_select: false,
        };
        // Each side lists its deciding rules in set order, as indices into `rules`; an unchanged
        // rule is built once (from the old set) and shared by both sides.
        let mut rules: Vec<RuleExpr> = Vec::new();
        let mut sides: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut shared: HashMap<&str, usize> = HashMap::new();
        // Per rule, what it claims (spec §4.4): an enforcing allow rule claims the workloads
        // its selection does not rule out.
        let mut claims: Vec<Option<A>> = Vec::new();
        let mut fallbacks: [Option<Fallback>; 2] = [None, None];
        for ((side, fallback), set) in sides.iter_mut().zip(&mut fallbacks).zip([old, new]) {
            b.set = Some(set);
            for r in set.rules().iter().filter(|r| deciding(r)) {
                let changed = changed_ids.contains(&r.id);
                if !changed && let Some(&i) = shared.get(r.id.as_str()) {
                    side.push(i);
                    continue;
                }
                let i = rules.len();
                let (expr, selection) = b.rule(r);
                rules.push(RuleExpr {
                    expr,
                    effect: r.effect,
                    changed,
                    dims: Vec::new(),
                });
                claims.push(
                    r.claims()
                        .then(|| A::Not(Box::new(A::IsFalse(Box::new(selection))))),
                );
                if !changed {
                    shared.insert(&r.id, i);
                }
                side.push(i);
            }
            if !set.defaults().is_empty() {
                let opens: Vec<A> = set
                    .defaults()
                    .iter()
                    .map(|d| A::IsTrue(Box::new(b.selection(&d.select, &NO_RULE))))
                    .collect();
                let claimed: Vec<A> = side
                    .iter()
                    .filter_map(|&i| claims.get(i).cloned().flatten())
                    .collect();
                *fallback = Some(Fallback {
                    expr: A::And(vec![A::Or(opens), A::Not(Box::new(A::Or(claimed)))]),
                    dims: Vec::new(),
                });
            }
        }
        if b.label_select {
            let any = b.finish_labels();
            for r in &mut rules {
                substitute_any_label(&mut r.expr, &any);
            }
            for f in fallbacks.iter_mut().flatten() {
                substitute_any_label(&mut f.expr, &any);
            }
        }
        for r in &mut rules {
            let mut dims = Vec::new();
            dims_of(&r.expr, &b.atoms, &mut dims);
            r.dims = dims;
        }
        for f in fallbacks.iter_mut().flatten() {
            let mut dims = Vec::new();
            dims_of(&f.expr, &b.atoms, &mut dims);
            f.dims = dims;
        }
        let fallback_may_differ = old
            .rules()
            .iter()
            .chain(new.rules().iter())
            .any(|r| r.claims() && changed_ids.contains(&r.id))
            || old
                .defaults()
                .iter()
                .chain(new.defaults())
                .any(|d| changed_ids.contains(&d.id));
        let (space, inexact) = classes::partition(b);
        let mut report = DiffReport {
            changes_decisions: false,
            decision_changes: Vec::new(),
            rules: rule_changes,
            exact: inexact.is_empty(),
            inexact_because: inexact,
        };
        if !changed_ids.is_empty() {
            let mut search = Search {
                space: &space,
                rules: &rules,
                sides: &sides,
                fallbacks: &fallbacks,
                fallback_may_differ,
                old,
                new,
                steps: 0,
                regions: Vec::new(),
                incomplete: false,
                unbuilt: 0,
            };
            let mut assign = vec![None; space.dims.len()];
            search.run(&mut assign);
            if search.unbuilt > 0 {
                report.exact = false;
                report.inexact_because.push(format!(
                    "no request could be built for {} region(s); requests there that decide \
                     differently are not reported",
                    search.unbuilt
                ));
            }
            if search.incomplete {
                report.exact = false;
                report.inexact_because.push(format!(
                    "the search stopped after {MAX_STEPS} steps or {MAX_REGIONS} regions"
                ));
            }
            report.decision_changes = search.regions;
        }
        report.changes_decisions = !report.decision_changes.is_empty();
        Diff {
            old,
            new,
            space,
            report,
        }
    }

    /// The result.
    pub fn report(&self) -> &DiffReport {
        &self.report
    }

    /// The policy sets compared.
    pub fn sets(&self) -> (&'s PolicySet, &'s PolicySet) {
        (self.old, self.new)
    }

    /// The reported region (index into `decision_changes`) that contains `request`, if any.
    pub fn region_of(&self, request: &Request<'_>) -> Option<usize> {
        let env = Env::new(request);
        let class_of = |d: usize| -> Option<usize> {
            let sig: Vec<u8> = self
                .space
                .atoms
                .iter()
                .filter(|a| a.dim == d)
                .map(|a| (a.eval)(&env))
                .collect();
            let atoms: Vec<&Atom<'_>> = self.space.atoms.iter().filter(|a| a.dim == d).collect();
            let class_count = self.space.classes.get(d)?.len();
            (0..class_count).find(|&c| {
                atoms
                    .iter()
                    .zip(&sig)
                    .all(|(a, s)| a.truth.get(c) == Some(s))
            })
        };
        self.report.decision_changes.iter().position(|r| {
            r.classes
                .iter()
                .all(|(d, cs)| class_of(*d).is_some_and(|c| cs.contains(&c)))
        })
    }
}

/// Compares two policy sets.
pub fn diff(old: &PolicySet, new: &PolicySet) -> DiffReport {
    Diff::new(old, new).report().clone()
}

#[cfg(test)]
mod tests;
