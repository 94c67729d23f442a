//! Candidate values per kind of attribute (strings, SPIFFE principals, addresses, integers,
//! context values, lists of claims or audiences), from what the rules write ([`Seeds`]); time
//! is in [`super::time`].
//!
//! Invariant: the candidates of a dimension reach every class of it, that is every
//! combination of its atoms' truth values that some value produces, except where a reason is
//! returned (several globs with inner wildcards, the list-class cap), which makes the report
//! inexact.

use std::borrow::Cow;
use std::net::IpAddr;

use super::builder::Seeds;
use super::dims::{Dim, Rep, apply};
use super::logic::Atom;
use super::time::time_candidates;
use meshgate::attr::{Attr, Type};
use meshgate::eval::Env;
use meshgate::model::Scalar;
use meshgate::pattern::Pattern;
use meshgate::request::{Request, Value};

/// Instances of a pattern: `*` and `**` filled in.
pub(super) fn instances(p: &Pattern) -> Vec<String> {
    if !p.is_glob() {
        return vec![p.as_str().to_string()];
    }
    let text = p.as_str();
    let one = text.replace("**", "zz9").replace('*', "zz9");
    let two = text.replace("**", "zz9/zz9").replace('*', "zz9");
    vec![one, two]
}

pub(super) fn prefix_glob(p: &Pattern) -> bool {
    let t = p.as_str();
    let inner = t
        .strip_suffix("/**")
        .or_else(|| t.strip_suffix('*'))
        .unwrap_or(t);
    !inner.contains('*')
}

pub(super) fn candidate_strings(seeds: &Seeds, path_like: bool) -> Vec<String> {
    let mut out: Vec<String> = seeds.patterns.iter().flat_map(instances).collect();
    out.push(if path_like {
        "/zz9-other".to_string()
    } else {
        "zz9-other".to_string()
    });
    out
}

/// SPIFFE ids that supply fewer derived attributes (`source.namespace`, `service_account`)
/// than the given ones, for regions that need those absent: with a trailing segment the id has
/// no `/ns/N/sa/S` form. Listed after the others, so they represent a class only when no other
/// string does.
pub(super) fn principal_variants(strings: &[String]) -> Vec<String> {
    strings
        .iter()
        .filter(|s| s.starts_with("spiffe://"))
        .map(|s| format!("{s}/zz9"))
        .collect()
}

pub(super) fn ip_candidates(nets: &[ipnet::IpNet]) -> Vec<IpAddr> {
    let mut v4: Vec<u128> = vec![0, u128::from(u32::MAX)];
    let mut v6: Vec<u128> = vec![0, u128::MAX];
    for n in nets {
        let (lo, hi, list) = match n {
            ipnet::IpNet::V4(n) => (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
                &mut v4,
            ),
            ipnet::IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast()), &mut v6),
        };
        list.extend([lo, hi, lo.saturating_sub(1), hi.saturating_add(1)]);
    }
    let mut out: Vec<IpAddr> = v4
        .into_iter()
        .filter_map(|x| u32::try_from(x).ok())
        .map(|x| IpAddr::V4(x.into()))
        .collect();
    out.extend(v6.into_iter().map(|x| IpAddr::V6(x.into())));
    out
}

pub(super) fn int_candidates(ranges: &[(i64, i64)]) -> Vec<i64> {
    let mut out = vec![0, 1, -1];
    for &(lo, hi) in ranges {
        out.extend([lo, hi, lo.saturating_sub(1), hi.saturating_add(1)]);
    }
    out
}

pub(super) fn context_candidates(seeds: &Seeds) -> Vec<Value<'static>> {
    let mut out = Vec::new();
    for s in &seeds.scalars {
        let v = match s {
            Scalar::Str(x) => Value::Str(Cow::Owned(x.clone())),
            Scalar::Int(n) => Value::Int(*n),
            Scalar::Bool(b) => Value::Bool(*b),
        };
        out.push(Value::List(Cow::Owned(vec![v.clone()])));
        out.push(v);
    }
    out.extend(int_candidates(&seeds.ints).into_iter().map(Value::Int));
    out.extend(
        candidate_strings(seeds, false)
            .into_iter()
            .map(|s| Value::Str(Cow::Owned(s))),
    );
    out.extend([
        Value::Bool(true),
        Value::Bool(false),
        Value::List(Cow::Owned(Vec::new())),
    ]);
    out
}

/// Most list classes built per claim or audience attribute.
pub(super) const MAX_LIST_CLASSES: usize = 1024;

/// The lists that make different sets of `dim`'s tests true, and whether some were left out
/// (more than [`MAX_LIST_CLASSES`]).
pub(super) fn list_candidates(
    atoms: &[Atom<'_>],
    d: usize,
    elements: &[String],
    dim: &Dim,
) -> (Vec<Rep>, bool) {
    // Element signatures; a list's signature is what its elements make true together, so
    // every union of element signatures is a class.
    let sig = |items: &[String]| -> Vec<u8> {
        let mut req = Request::default();
        apply(&mut req, dim, &Rep::List(items.to_vec()));
        let env = Env::new(&req);
        atoms
            .iter()
            .filter(|a| a.dim == d)
            .map(|a| (a.eval)(&env))
            .collect()
    };
    let mut out: Vec<(Vec<u8>, Vec<String>)> = Vec::new();
    for e in elements {
        let s = sig(std::slice::from_ref(e));
        if !out.iter().any(|(x, _)| *x == s) {
            out.push((s, vec![e.clone()]));
        }
    }
    let mut next = 0usize;
    while out.len() < MAX_LIST_CLASSES {
        let Some((_, base)) = out.get(next) else {
            break;
        };
        let base = base.clone();
        let singles: Vec<String> = out
            .iter()
            .filter_map(|(_, v)| match v.as_slice() {
                [single] => Some(single.clone()),
                _ => None,
            })
            .collect();
        for s in singles {
            if base.contains(&s) {
                continue;
            }
            let mut items = base.clone();
            items.push(s);
            let sg = sig(&items);
            if !out.iter().any(|(x, _)| *x == sg) {
                out.push((sg, items));
            }
        }
        // At most `out.len()`: no overflow.
        next = next.saturating_add(1);
    }
    // Lists not yet extended remain: their unions may make classes not built.
    let truncated = next < out.len();
    (
        out.into_iter().map(|(_, v)| Rep::List(v)).collect(),
        truncated,
    )
}

/// The candidate values of dimension `d` (`dim`), from its seeds and its atoms (lists are
/// combined by what their elements make true), and why they may not reach every class (empty
/// when they do). Absent (and the empty list) are not among them: every dimension has those.
pub(super) fn candidates(
    d: usize,
    dim: &Dim,
    seeds: &Seeds,
    atoms: &[Atom<'_>],
) -> (Vec<Rep>, Vec<String>) {
    let mut inexact = Vec::new();
    // Distinct globs: one written twice (in two rules, or in both versions of a changed rule)
    // overlaps nothing new.
    let mut globs: Vec<&Pattern> = seeds.patterns.iter().filter(|p| p.is_glob()).collect();
    globs.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    globs.dedup();
    if globs.len() > 1 && globs.iter().any(|g| !prefix_glob(g)) {
        inexact.push(format!(
            "`{dim}` is matched by several globs, one with a wildcard before its end"
        ));
    }
    let candidates: Vec<Rep> = match dim {
        // Present (any label under the key): its one value besides absent.
        Dim::OtherLabels(key) => vec![Rep::Str(key.clone())],
        Dim::Time => {
            let (times, why) = time_candidates(seeds);
            inexact.extend(why);
            times.into_iter().map(Rep::Time).collect()
        }
        Dim::Attr(a) => match a.ty() {
            Type::Str => {
                let mut strings = candidate_strings(seeds, *a == Attr::Path);
                if *a == Attr::SourcePrincipal {
                    strings.extend(principal_variants(&strings));
                }
                strings.into_iter().map(Rep::Str).collect()
            }
            Type::StrList => {
                let (lists, truncated) =
                    list_candidates(atoms, d, &candidate_strings(seeds, false), dim);
                if truncated {
                    inexact.push(format!(
                        "`{dim}` has more than {MAX_LIST_CLASSES} classes of lists"
                    ));
                }
                lists
            }
            Type::Ip => ip_candidates(&seeds.nets)
                .into_iter()
                .map(Rep::Ip)
                .collect(),
            Type::Int => int_candidates(&seeds.ints)
                .into_iter()
                .filter(|n| (0..=65_535).contains(n))
                .map(Rep::Int)
                .collect(),
            Type::Dynamic => context_candidates(seeds)
                .into_iter()
                .map(Rep::Ctx)
                .collect(),
            _ => Vec::new(),
        },
    };
    (candidates, inexact)
}
