//! The rule index of one group of rules (deny, allow, or observe).
//!
//! Every rule is posted exactly once: under the keys of the one dimension that selects it best,
//! or on the residual list when no dimension can. A dimension can key a rule when the rule can
//! only match if the request's value on that dimension is one of a known set: every `from` (or
//! every `to`, or every `select`) clause holds a positive exact test of the attribute, or every
//! granted permission restricts it. Lookups then yield a superset of the rules that can match; the
//! engine evaluates only those. Soundness (never missing a rule that matches) rests on that
//! "every clause" condition, and is checked against the reference evaluator by the
//! equivalence property test.

use hashbrown::HashMap;

use super::strmap::StrMap;
use super::trie::{PathKey, PathTrie};
use crate::attr::Attr;
use crate::eval::Env;
use crate::model::{Clause, Pred, Rule};

/// Attributes that can key a rule through its `from` clauses.
const FROM_DIMS: [Attr; 5] = [
    Attr::SourcePrincipal,
    Attr::SourceServiceAccount,
    Attr::SourceNamespace,
    Attr::AuthPrincipal,
    Attr::SourceTrustDomain,
];
/// Attributes that can key a rule through its `to` clauses.
const TO_DIMS: [Attr; 3] = [Attr::DestService, Attr::Host, Attr::DestNamespace];

/// A way to key one rule.
#[derive(Debug)]
enum Option_ {
    Str(usize, Vec<Box<str>>),
    Path(Vec<PathKey>),
}

/// Every string dimension, in preference order for ties.
fn dims() -> impl Iterator<Item = (usize, Attr)> {
    FROM_DIMS.into_iter().chain(TO_DIMS).enumerate()
}

/// The index of one group.
pub struct Index {
    strs: Vec<(Attr, StrMap)>,
    paths: PathTrie,
    residual: Box<[u32]>,
}

/// How the rules of a group were posted, for diagnostics and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Rules posted under a string dimension.
    pub by_attribute: usize,
    /// Rules posted in the path trie.
    pub by_path: usize,
    /// Rules evaluated for every request.
    pub residual: usize,
}

impl Index {
    /// Indexes the rules of `all` whose positions are `members`.
    pub fn build(all: &[Rule], members: &[u32]) -> Index {
        let options: Vec<Vec<Option_>> = members
            .iter()
            .map(|&id| all.get(id as usize).map(options).unwrap_or_default())
            .collect();
        // Cost of a key: how many rules offer it. A rule picks the option whose keys are
        // shared by the fewest rules, which keeps posting lists short.
        let mut str_counts: HashMap<(usize, &str), u32> = HashMap::new();
        let mut path_counts: HashMap<&PathKey, u32> = HashMap::new();
        for opts in &options {
            for o in opts {
                match o {
                    Option_::Str(d, keys) => keys.iter().for_each(|k| {
                        let n = str_counts.entry((*d, k)).or_default();
                        *n = n.saturating_add(1);
                    }),
                    Option_::Path(keys) => keys.iter().for_each(|k| {
                        let n = path_counts.entry(k).or_default();
                        *n = n.saturating_add(1);
                    }),
                }
            }
        }
        let cost = |o: &Option_| -> u64 {
            match o {
                Option_::Str(d, keys) => keys
                    .iter()
                    .map(|k| u64::from(str_counts.get(&(*d, k.as_ref())).copied().unwrap_or(1)))
                    .fold(0, u64::saturating_add),
                Option_::Path(keys) => keys
                    .iter()
                    // A key with few segments is reached by many paths: weigh it up.
                    .map(|k| {
                        let weight = if k.segments.len() < 2 { 1_000 } else { 0 };
                        u64::from(path_counts.get(k).copied().unwrap_or(1)).saturating_add(weight)
                    })
                    .fold(0, u64::saturating_add),
            }
        };
        let mut strs: Vec<HashMap<Box<str>, Vec<u32>>> = dims().map(|_| HashMap::new()).collect();
        let mut paths = PathTrie::default();
        let mut residual = Vec::new();
        for (&id, opts) in members.iter().zip(&options) {
            match opts.iter().min_by_key(|o| cost(o)) {
                Some(Option_::Str(d, keys)) => {
                    if let Some(map) = strs.get_mut(*d) {
                        for k in keys {
                            let list = map.entry(k.clone()).or_default();
                            if list.last() != Some(&id) {
                                list.push(id);
                            }
                        }
                    }
                }
                Some(Option_::Path(keys)) => paths.insert(id, keys),
                None => residual.push(id),
            }
        }
        let strs = dims()
            .zip(strs)
            .filter(|(_, m)| !m.is_empty())
            .map(|((_, attr), m)| {
                let fold = attr.case_insensitive();
                (attr, StrMap::new(m, fold))
            })
            .collect();
        Index {
            strs,
            paths,
            residual: residual.into_boxed_slice(),
        }
    }

    /// Calls `f` with the id of every rule that may match the request, each exactly once, in no
    /// particular order.
    pub fn candidates(&self, env: &Env<'_, '_>, mut f: impl FnMut(u32)) {
        for (attr, map) in &self.strs {
            if let Some(value) = env.str_attr(attr) {
                map.get(value).iter().for_each(|&id| f(id));
            }
        }
        if !self.paths.is_empty() {
            if let Some(path) = env.request().path() {
                self.paths
                    .walk(path, |ids| ids.iter().for_each(|&id| f(id)));
            }
        }
        self.residual.iter().for_each(|&id| f(id));
    }

    /// How the rules were posted.
    pub fn stats(&self) -> IndexStats {
        let by_attribute = self.strs.iter().map(|(_, m)| m.len()).sum();
        IndexStats {
            by_attribute,
            by_path: usize::from(!self.paths.is_empty()),
            residual: self.residual.len(),
        }
    }
}

/// Every way the rule can be keyed.
fn options(rule: &Rule) -> Vec<Option_> {
    let mut out = Vec::new();
    for (d, attr) in dims() {
        let clauses = if FROM_DIMS.contains(&attr) {
            &rule.from
        } else {
            &rule.to
        };
        if let Some(keys) = exact_keys(clauses, &attr) {
            out.push(Option_::Str(d, keys));
        }
    }
    // `select` is ANDed with the rest of the scope, so its namespaces key the rule as well.
    if let (Some(keys), Some(d)) = (
        exact_keys(&rule.select, &Attr::DestNamespace),
        dims()
            .find(|(_, a)| *a == Attr::DestNamespace)
            .map(|(d, _)| d),
    ) {
        out.push(Option_::Str(d, keys));
    }
    // Hosts granted by roles: every permission must restrict the host to exact names.
    if !rule.grants.is_empty() {
        let host_keys: Option<Vec<Box<str>>> = rule
            .permissions()
            .map(|p| {
                p.hosts
                    .as_ref()
                    .filter(|h| h.0.iter().all(|p| !p.is_glob()))
                    .map(|h| {
                        h.0.iter()
                            .map(|p| Box::from(p.as_str()))
                            .collect::<Vec<_>>()
                    })
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let (Some(keys), Some(d)) = (
            host_keys,
            dims().find(|(_, a)| *a == Attr::Host).map(|(d, _)| d),
        ) {
            out.push(Option_::Str(d, dedup(keys)));
        }
        let keys: Vec<PathKey> = rule
            .permissions()
            .flat_map(|p| p.paths.0.iter().map(PathKey::of))
            .collect();
        out.push(Option_::Path(keys));
    }
    if !rule.to.is_empty() {
        let keys: Option<Vec<PathKey>> = rule
            .to
            .iter()
            .map(|c| {
                c.tests
                    .iter()
                    .find_map(|t| match (&t.attr, &t.pred, t.negated) {
                        (Attr::Path, Pred::Str(set), false) => {
                            Some(set.0.iter().map(PathKey::of).collect::<Vec<_>>())
                        }
                        _ => None,
                    })
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let Some(keys) = keys {
            out.push(Option_::Path(keys));
        }
    }
    out
}

/// The exact values `attr` must take for some clause to hold, when every clause has a positive
/// all-exact test of `attr`; `None` otherwise (including when there are no clauses).
pub(super) fn exact_keys(clauses: &[Clause], attr: &Attr) -> Option<Vec<Box<str>>> {
    if clauses.is_empty() {
        return None;
    }
    let mut keys = Vec::new();
    for c in clauses {
        let best = c
            .tests
            .iter()
            .filter_map(|t| match (&t.pred, t.negated) {
                (Pred::Str(set), false)
                    if t.attr == *attr && set.0.iter().all(|p| !p.is_glob()) =>
                {
                    Some(set)
                }
                _ => None,
            })
            .min_by_key(|set| set.0.len())?;
        keys.extend(best.0.iter().map(|p| Box::from(p.as_str())));
    }
    Some(dedup(keys))
}

fn dedup(mut keys: Vec<Box<str>>) -> Vec<Box<str>> {
    keys.sort_unstable();
    keys.dedup();
    keys
}
