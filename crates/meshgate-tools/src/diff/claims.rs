//! Claims under one key in one region: making the chosen classes of the claim dimensions fit
//! into one request.
//!
//! Two claim dimensions whose paths share a first key (`claims["org"]["team"]`,
//! `claims["org"]["role"]`) share that claim's map, which [`super::dims::apply`] builds. When
//! one path runs through the other (`claims["org"]` and `claims["org"]["team"]`), the longer
//! claim present makes the shorter one a map, which every test of the shorter one treats like
//! the empty list (present, holding no string): so the longer claim can be present only where
//! the shorter one is in the class of the empty list.
//!
//! Invariant: [`fit`] changes a choice only to another member of the same dimension's classes
//! in the region, and says a region is empty only when it is: some claim every request of the
//! region has would make a shorter claim a map, and the region holds no class of the shorter
//! claim that a map is in.

use super::dims::{Dim, Rep};
use meshgate::attr::Attr;

/// Whether the claim at `short` lies on the way to the claim at `long`.
fn on_the_way(short: &[Box<str>], long: &[Box<str>]) -> bool {
    short.len() < long.len() && long.starts_with(short)
}

/// Moves `choice` (per assigned dimension, an index into its `options`) to members that fit
/// into one request: a claim dimension with a longer claim present goes to the empty list,
/// or else the longer claim to absent. `false` when the region holds no request.
pub(super) fn fit(dims: &[&Dim], options: &[Vec<&Rep>], choice: &mut [usize]) -> bool {
    let claims: Vec<(usize, &[Box<str>])> = dims
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Dim::Attr(Attr::AuthClaim(keys)) => Some((i, keys.as_ref())),
            _ => None,
        })
        .collect();
    if claims.len() < 2 {
        return true;
    }
    let position = |i: usize, want: &dyn Fn(&Rep) -> bool| -> Option<usize> {
        options.get(i)?.iter().position(|r| want(r))
    };
    let empty = |r: &Rep| matches!(r, Rep::List(items) if items.is_empty());
    let absent = |r: &Rep| matches!(r, Rep::Absent);
    let chosen = |choice: &[usize], i: usize| -> Option<&Rep> {
        options.get(i)?.get(*choice.get(i)?).copied()
    };
    // First the claims that cannot be present: a claim on their way has no empty list.
    for &(i, long) in &claims {
        if chosen(choice, i).is_none_or(absent) {
            continue;
        }
        let blocked = claims
            .iter()
            .any(|&(j, short)| on_the_way(short, long) && position(j, &empty).is_none());
        if !blocked {
            continue;
        }
        match (position(i, &absent), choice.get_mut(i)) {
            (Some(a), Some(c)) => *c = a,
            // Present in every request of the region, yet it would make a claim on its way a
            // map, which the region does not allow.
            _ => return false,
        }
    }
    // Then every claim on the way of a present one is the empty list (a map, once built).
    for &(i, long) in &claims {
        if chosen(choice, i).is_none_or(absent) {
            continue;
        }
        for &(j, short) in &claims {
            if !on_the_way(short, long) {
                continue;
            }
            // The first loop saw to it that there is an empty list; were there none, the
            // request would not build and the region would count as unbuilt.
            if let (Some(e), Some(c)) = (position(j, &empty), choice.get_mut(j)) {
                *c = e;
            }
        }
    }
    true
}
