//! Partitioning each dimension's values into classes: candidates (from
//! [`super::candidates`]) that make every atom of the dimension come out the same (the same
//! *signature*) are one class, represented by the first of them.
//!
//! Invariants: every value of a dimension behaves, for every atom, like its class's
//! representative (as far as the candidates reach every class, see [`super::candidates`]);
//! *absent* is always a class of its own; `Atom::truth` is filled here, one entry per class.
//! For `source.principal`, up to [`MAX_ALTERNATES`] other members of each class are kept: a
//! SPIFFE id supplies `source.namespace`, `service_account` and `trust_domain`, which a region
//! may need absent, and another member may not supply them.

use std::collections::HashMap;

use super::builder::{Builder, Seeds};
use super::candidates::candidates;
use super::dims::{Dim, Rep, apply};
use super::logic::{MAX_ALTERNATES, Space};
use meshgate::attr::{Attr, Type};
use meshgate::eval::Env;
use meshgate::request::Request;

/// The space of the rules `b` built: each dimension's classes, with the atoms' truth per
/// class, and why the candidates may not reach every class (sorted, empty when they do).
pub(super) fn partition(mut b: Builder<'_>) -> (Space<'_>, Vec<String>) {
    let mut inexact = std::mem::take(&mut b.inexact);
    let mut classes: Vec<Vec<Rep>> = Vec::new();
    let mut alternates: Vec<Vec<Vec<Rep>>> = Vec::new();
    let no_seeds = Seeds::default();
    let atoms = &mut b.atoms;
    for (d, dim) in b.dims.iter().enumerate() {
        let own = b.seeds.get(&d).unwrap_or(&no_seeds);
        // A dimension compared with another also gets the other's values.
        let mut seeds = own.clone();
        for other in own.also.iter().filter_map(|o| b.seeds.get(o)) {
            seeds.patterns.extend(other.patterns.iter().cloned());
        }
        let (candidates, why) = candidates(d, dim, &seeds, atoms);
        inexact.extend(why);
        let mut reps = vec![Rep::Absent];
        if matches!(dim, Dim::Attr(a) if a.ty() == Type::StrList) {
            reps.push(Rep::List(Vec::new()));
        }
        reps.extend(candidates);
        let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut kept = Vec::new();
        let mut others: Vec<Vec<Rep>> = Vec::new();
        let keep_all = !own.also.is_empty();
        let principal = *dim == Dim::Attr(Attr::SourcePrincipal);
        for rep in reps {
            let mut req = Request::default();
            if !apply(&mut req, dim, &rep) {
                continue;
            }
            let env = Env::new(&req);
            let sig: Vec<u8> = atoms
                .iter()
                .filter(|a| a.dim == d)
                .map(|a| (a.eval)(&env))
                .collect();
            match seen.get(&sig) {
                Some(&c) if !keep_all => {
                    if let Some(o) = others.get_mut(c).filter(|o| o.len() < MAX_ALTERNATES)
                        && principal
                    {
                        o.push(rep);
                    }
                }
                _ => {
                    seen.insert(sig, kept.len());
                    kept.push(rep);
                    others.push(Vec::new());
                }
            }
        }
        for atom in atoms.iter_mut().filter(|a| a.dim == d) {
            atom.truth = kept
                .iter()
                .map(|rep| {
                    let mut req = Request::default();
                    apply(&mut req, dim, rep);
                    (atom.eval)(&Env::new(&req))
                })
                .collect();
        }
        classes.push(kept);
        alternates.push(others);
    }
    inexact.sort();
    inexact.dedup();
    inexact.sort();
    inexact.dedup();
    let space = Space {
        dims: b.dims,
        classes,
        alternates,
        atoms: b.atoms,
    };
    (space, inexact)
}
