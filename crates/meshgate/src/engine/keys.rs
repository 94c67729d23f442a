//! What a rule can be keyed by: the ways of naming, from a request's value on one dimension, a
//! set of requests that holds every request the rule can match.
//!
//! A rule can be keyed on an attribute when it can match only if that attribute is present and
//! has one of a known set of values. That holds for a positive test (not negated; negation holds
//! on values outside any set) of the attribute that:
//! - every `select`, every `from` or every `to` clause of the rule has (a clause holds only when
//!   all its tests are true; some clause must hold);
//! - every permission the rule grants restricts (methods, paths, hosts, ports);
//! - is a conjunct of `when` that evaluation reaches without first meeting anything that can
//!   fail (see [`when_options`]), so that skipping the rule cannot hide an evaluation error.
//!
//! Each such test gives one [`Choice`]: a dimension and the keys to post the rule under. Keys
//! are exact strings, literal prefixes or suffixes of globs, CIDRs, or port blocks; the index
//! picks one choice per rule. Soundness of the whole index rests on the claim above, and the
//! equivalence property checks it against the reference evaluator.

use ipnet::IpNet;

use crate::attr::{Attr, Type};
use crate::model::{Clause, Cond, Condition, Pred, Rule};
use crate::pattern::Pattern;

/// A structure of the index that can be probed with a request's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// A string attribute (exact keys, and glob prefixes or suffixes).
    Str(Attr),
    /// An address attribute (CIDRs).
    Ip(Attr),
    /// `destination.port` (port blocks).
    Port,
}

/// How a string choice keys globs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Affix {
    /// By the literal text before the first `*`.
    Prefix,
    /// By the literal text after the last `*`.
    Suffix,
}

/// The keys of one choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Exact values, and glob literals on one side.
    Str {
        /// Values the attribute may equal.
        exact: Vec<Box<str>>,
        /// Which side `affixes` are on.
        side: Affix,
        /// Literal prefixes (or suffixes) the attribute may begin (or end) with.
        affixes: Vec<Box<str>>,
    },
    /// Networks the address may lie in (nested ones removed).
    Nets(Vec<IpNet>),
    /// Inclusive port ranges (merged).
    Ports(Vec<(u16, u16)>),
}

/// One way of keying a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Where the keys go.
    pub dim: Dim,
    /// The keys.
    pub keys: Keys,
}

/// What is being keyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Whether the rule matches: every choice of its scope and conditions.
    Match,
    /// Whether the rule claims the workload (spec §4.4): its `select` only, on the attributes
    /// whose absence [`super::index::Index::candidates`] is told how to treat.
    Claim,
}

/// The values one positive test admits.
enum Term<'r> {
    Patterns(&'r [Pattern]),
    Nets(&'r [IpNet]),
    Ints(&'r [(i64, i64)]),
    Methods(&'r [String]),
}

/// Every way `rule` can be keyed for `purpose`.
pub fn choices(rule: &Rule, purpose: Purpose) -> Vec<Choice> {
    let mut out = Vec::new();
    clause_choices(&rule.select, &mut out);
    if purpose == Purpose::Claim {
        out.retain(|c| {
            matches!(
                &c.dim,
                Dim::Str(Attr::DestNamespace) | Dim::Str(Attr::DestLabel(_))
            )
        });
        return out;
    }
    clause_choices(&rule.from, &mut out);
    clause_choices(&rule.to, &mut out);
    permission_choices(rule, &mut out);
    when_choices(&rule.when, &mut out);
    out
}

/// The terms of the positive tests of `attr` in a clause.
fn clause_terms<'r>(c: &'r Clause, attr: &Attr) -> impl Iterator<Item = Term<'r>> {
    c.tests
        .iter()
        .filter(move |t| !t.negated && t.attr == *attr)
        .filter_map(|t| term(&t.attr, &t.pred))
}

fn term<'r>(attr: &Attr, pred: &'r Pred) -> Option<Term<'r>> {
    match pred {
        Pred::Str(set) => Some(Term::Patterns(&set.0)),
        Pred::Ip(nets) => Some(Term::Nets(nets)),
        Pred::Int(ranges) if *attr == Attr::DestPort => Some(Term::Ints(ranges)),
        _ => None,
    }
}

fn term_len(t: &Term<'_>) -> usize {
    match t {
        Term::Patterns(p) => p.len(),
        Term::Nets(n) => n.len(),
        Term::Ints(r) => r.len(),
        Term::Methods(m) => m.len(),
    }
}

/// Attributes every clause tests positively, each keyed by the union over clauses of its
/// narrowest test in the clause.
fn clause_choices(clauses: &[Clause], out: &mut Vec<Choice>) {
    let Some(first) = clauses.first() else {
        return;
    };
    let mut attrs: Vec<&Attr> = first.tests.iter().map(|t| &t.attr).collect();
    attrs.sort();
    attrs.dedup();
    for attr in attrs {
        let terms: Option<Vec<Term<'_>>> = clauses
            .iter()
            .map(|c| clause_terms(c, attr).min_by_key(term_len))
            .collect();
        if let Some(terms) = terms {
            out.extend(choices_of(attr, &terms));
        }
    }
}

/// Attributes every granted permission restricts.
fn permission_choices(rule: &Rule, out: &mut Vec<Choice>) {
    if rule.grants.is_empty() {
        return;
    }
    let perms: Vec<_> = rule.permissions().collect();
    let methods: Option<Vec<Term<'_>>> = perms
        .iter()
        .map(|p| p.methods.as_deref().map(Term::Methods))
        .collect();
    if let Some(terms) = methods {
        out.extend(choices_of(&Attr::Method, &terms));
    }
    let paths: Vec<Term<'_>> = perms.iter().map(|p| Term::Patterns(&p.paths.0)).collect();
    out.extend(choices_of(&Attr::Path, &paths));
    let hosts: Option<Vec<Term<'_>>> = perms
        .iter()
        .map(|p| p.hosts.as_ref().map(|h| Term::Patterns(&h.0)))
        .collect();
    if let Some(terms) = hosts {
        out.extend(choices_of(&Attr::Host, &terms));
    }
    let ports: Option<Vec<Term<'_>>> = perms
        .iter()
        .map(|p| p.ports.as_deref().map(Term::Ints))
        .collect();
    if let Some(terms) = ports {
        out.extend(choices_of(&Attr::DestPort, &terms));
    }
}

/// Positive tests that are conjuncts of `when`, in evaluation order, up to the first condition
/// that can fail with an error.
///
/// `when` conditions are evaluated in order and evaluation stops at the first one that is not
/// true; an `and` stops at its first false operand but goes on past an unknown one. So a test
/// keys the rule when, whenever it is not true, evaluation ends with "no match" before meeting
/// anything that can err: every `when` condition before it cannot err, and if it sits inside an
/// `and`, that whole `and` cannot err either. Only tests of context values can err (a value of
/// the wrong kind).
fn when_choices(when: &[Condition], out: &mut Vec<Choice>) {
    for c in when {
        if can_err(&c.cond) {
            return;
        }
        conjunct_choices(&c.cond, out);
    }
}

/// The positive tests of a condition that cannot err, through nested `and`s.
fn conjunct_choices(c: &Cond, out: &mut Vec<Choice>) {
    match c {
        Cond::Test(t) if !t.negated => {
            if let Some(term) = term(&t.attr, &t.pred) {
                out.extend(choices_of(&t.attr, &[term]));
            }
        }
        Cond::And(items) => items.iter().for_each(|i| conjunct_choices(i, out)),
        _ => {}
    }
}

/// Whether evaluating the condition can fail: it tests a context value (whose kind is known
/// only when the request arrives).
fn can_err(c: &Cond) -> bool {
    match c {
        Cond::Const(_) | Cond::Has(_) => false,
        Cond::Test(t) => matches!(t.pred, Pred::Dyn(_)) || t.attr.ty() == Type::Dynamic,
        Cond::Not(inner) => can_err(inner),
        Cond::And(items) | Cond::Or(items) => items.iter().any(can_err),
    }
}

/// The choices of `attr` from the union of `terms`; none when a term does not suit the
/// attribute.
fn choices_of(attr: &Attr, terms: &[Term<'_>]) -> Vec<Choice> {
    match attr.ty() {
        Type::Str | Type::StrList => str_choices(attr, terms),
        Type::Ip => {
            let mut nets = Vec::new();
            for t in terms {
                match t {
                    Term::Nets(n) => nets.extend(n.iter().map(IpNet::trunc)),
                    _ => return Vec::new(),
                }
            }
            vec![Choice {
                dim: Dim::Ip(attr.clone()),
                keys: Keys::Nets(outermost(nets)),
            }]
        }
        Type::Int if *attr == Attr::DestPort => {
            let mut ranges = Vec::new();
            for t in terms {
                match t {
                    Term::Ints(r) => ranges.extend(r.iter().map(|&(lo, hi)| {
                        let clamp = |v: i64| u16::try_from(v.clamp(0, 65_535)).unwrap_or(0);
                        (clamp(lo), clamp(hi))
                    })),
                    _ => return Vec::new(),
                }
            }
            ranges.retain(|(lo, hi)| lo <= hi);
            vec![Choice {
                dim: Dim::Port,
                keys: Keys::Ports(merged(ranges)),
            }]
        }
        _ => Vec::new(),
    }
}

fn str_choices(attr: &Attr, terms: &[Term<'_>]) -> Vec<Choice> {
    let fold = attr.case_insensitive();
    let mut exact: Vec<Box<str>> = Vec::new();
    let mut globs: Vec<&Pattern> = Vec::new();
    for t in terms {
        match t {
            Term::Patterns(ps) => {
                for p in ps.iter() {
                    // Keys of a folding dimension are lowercase, as folded patterns are.
                    if p.is_case_insensitive() != fold {
                        return Vec::new();
                    }
                    if p.is_glob() {
                        globs.push(p);
                    } else {
                        exact.push(p.as_str().into());
                    }
                }
            }
            Term::Methods(ms) if !fold => exact.extend(ms.iter().map(|m| Box::from(m.as_str()))),
            _ => return Vec::new(),
        }
    }
    let choice = |side: Affix| {
        let affixes: Vec<Box<str>> = globs
            .iter()
            .map(|p| match side {
                Affix::Prefix => glob_prefix(p.as_str()),
                Affix::Suffix => glob_suffix(p.as_str()),
            })
            .map(Box::from)
            .collect();
        let (exact, affixes) = uncovered(exact.clone(), affixes, side);
        Choice {
            dim: Dim::Str(attr.clone()),
            keys: Keys::Str {
                exact,
                side,
                affixes,
            },
        }
    };
    if globs.is_empty() {
        vec![choice(Affix::Prefix)]
    } else {
        vec![choice(Affix::Prefix), choice(Affix::Suffix)]
    }
}

/// The literal text a glob's matches all start with: everything before its first `*`.
pub fn glob_prefix(glob: &str) -> &str {
    glob.split('*').next().unwrap_or("")
}

/// The literal text a glob's matches all end with: everything after its last `*`, less the `/`
/// of a leading `**/`, which may match nothing (`**/x` matches `x`).
pub fn glob_suffix(glob: &str) -> &str {
    let after = glob.rsplit('*').next().unwrap_or("");
    let only_leading = glob.starts_with("**/") && glob.get(2..).is_some_and(|r| !r.contains('*'));
    if only_leading {
        after.strip_prefix('/').unwrap_or(after)
    } else {
        after
    }
}

/// Drops the keys another key of the same choice already covers (an exact value or affix that
/// begins, or ends, with another affix), so that a probe meets each rule once per value.
fn uncovered(
    exact: Vec<Box<str>>,
    affixes: Vec<Box<str>>,
    side: Affix,
) -> (Vec<Box<str>>, Vec<Box<str>>) {
    let oriented = |s: &str| -> Vec<u8> {
        match side {
            Affix::Prefix => s.as_bytes().to_vec(),
            Affix::Suffix => s.bytes().rev().collect(),
        }
    };
    // Sorted, everything an affix covers comes right after it.
    let mut all: Vec<(Vec<u8>, bool, Box<str>)> = exact
        .into_iter()
        .map(|s| (oriented(&s), false, s))
        .chain(affixes.into_iter().map(|s| (oriented(&s), true, s)))
        .collect();
    all.sort();
    all.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let mut cover: Option<Vec<u8>> = None;
    let (mut exact, mut affixes) = (Vec::new(), Vec::new());
    for (key, is_affix, text) in all {
        if cover.as_ref().is_some_and(|c| key.starts_with(c)) {
            continue;
        }
        if is_affix {
            cover = Some(key);
            affixes.push(text);
        } else {
            exact.push(text);
        }
    }
    (exact, affixes)
}

/// The networks not inside another of the list.
fn outermost(mut nets: Vec<IpNet>) -> Vec<IpNet> {
    nets.sort_by_key(|n| n.prefix_len());
    let mut out: Vec<IpNet> = Vec::new();
    for n in nets {
        if !out.iter().any(|o| o.contains(&n)) {
            out.push(n);
        }
    }
    out
}

/// Overlapping or adjacent ranges merged.
fn merged(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1).saturating_add(1) => {
                last.1 = last.1.max(hi);
            }
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_literals() {
        assert_eq!(glob_prefix("spiffe://td/ns/a/sa/*"), "spiffe://td/ns/a/sa/");
        assert_eq!(glob_suffix("*.shop.example.com"), ".shop.example.com");
        assert_eq!(glob_suffix("**/favicon.ico"), "favicon.ico");
        assert_eq!(glob_suffix("/a/**/b"), "/b");
        assert_eq!(glob_prefix("**"), "");
    }

    #[test]
    fn covered_keys_are_dropped() {
        let (exact, affixes) = uncovered(
            vec!["/api/x".into(), "/b".into()],
            vec!["/api/".into(), "/api/v1/".into(), "/c".into()],
            Affix::Prefix,
        );
        assert_eq!(exact, vec![Box::from("/b")]);
        assert_eq!(affixes, vec![Box::from("/api/"), Box::from("/c")]);
    }

    #[test]
    fn ranges_merge() {
        assert_eq!(
            merged(vec![(5, 9), (1, 3), (4, 4), (20, 30)]),
            [(1, 9), (20, 30)]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Every string a glob matches starts with its prefix and ends with its suffix.
        #[test]
        fn glob_matches_carry_the_literals(
            segs in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just("**".to_string()), "[ab*.]{0,4}"
            ], 1..5),
            text in "[ab/.]{0,10}",
        ) {
            let glob = segs.join("/");
            if let Ok(p) = Pattern::new(&glob, false)
                && p.matches(&text) && p.is_glob() {
                    proptest::prop_assert!(text.starts_with(glob_prefix(p.as_str())), "{} {}", glob, text);
                    proptest::prop_assert!(text.ends_with(glob_suffix(p.as_str())), "{} {}", glob, text);
                }
        }
    }
}
