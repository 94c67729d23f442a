//! Three-valued logic over classes: rules as expressions ([`A`]) over atomic tests
//! ([`Atom`]), each atom reading one dimension, and [`Space::eval`], which gives the set of
//! truth values (a bit mask of [`T`], [`F`], [`U`], [`E`]) an expression can take when each
//! dimension is limited to some of its classes.
//!
//! Invariants: every [`A::Atom`] indexes [`Space::atoms`], and every atom's `dim` indexes
//! [`Space::dims`] and [`Space::classes`]; `Atom::truth` has one entry per class of its
//! dimension. The evaluation over-approximates: a truth value not in the mask cannot occur for
//! any request of the classes, so the search may cut a branch on it.

use super::dims::{Dim, Rep};
use meshgate::eval::{Env, Truth};

/// Truth values as bits, so that sets of them are bit masks.
pub(super) const T: u8 = 1;
pub(super) const F: u8 = 2;
pub(super) const U: u8 = 4;
pub(super) const E: u8 = 8;

pub(super) fn bits(t: Result<Truth, String>) -> u8 {
    match t {
        Ok(Truth::True) => T,
        Ok(Truth::False) => F,
        Ok(Truth::Unknown) => U,
        Err(_) => E,
    }
}

/// An atomic test: one dimension, evaluated on a request.
pub(super) struct Atom<'s> {
    pub(super) dim: usize,
    /// The test as written, for descriptions.
    pub(super) label: String,
    pub(super) eval: Box<dyn Fn(&Env<'_, '_>) -> u8 + 's>,
    /// Truth per class of its dimension.
    pub(super) truth: Vec<u8>,
}

/// A rule's match, as an expression over atoms.
#[derive(Clone, Debug)]
pub(super) enum A {
    Atom(usize),
    Const(u8),
    And(Vec<A>),
    Or(Vec<A>),
    Not(Box<A>),
    IsTrue(Box<A>),
    IsFalse(Box<A>),
    /// Whether the destination carries some label: a placeholder while rules are built,
    /// replaced by the expression over every label dimension once they are all known
    /// ([`substitute_any_label`]).
    AnyLabel,
}

pub(super) fn map_bits(x: u8, f: impl Fn(u8) -> u8) -> u8 {
    [T, F, U, E]
        .iter()
        .filter(|b| x & **b != 0)
        .fold(0, |acc, b| acc | f(*b))
}

pub(super) fn and2(a: u8, b: u8) -> u8 {
    let mut out = 0;
    for x in [T, F, U, E] {
        for y in [T, F, U, E] {
            if a & x == 0 || b & y == 0 {
                continue;
            }
            out |= if x == E || y == E {
                E
            } else if x == F || y == F {
                F
            } else if x == U || y == U {
                U
            } else {
                T
            };
        }
    }
    out
}

pub(super) fn or2(a: u8, b: u8) -> u8 {
    let not = |v| {
        map_bits(v, |x| {
            if x == T {
                F
            } else if x == F {
                T
            } else {
                x
            }
        })
    };
    not(and2(not(a), not(b)))
}

/// The request space: its dimensions, the classes of each (one representative per class) and
/// the atoms. Every `A::Atom` of an expression indexes `atoms`, and every atom's `dim` indexes
/// `dims` and `classes` (the builder made them together).
pub(super) struct Space<'s> {
    pub(super) dims: Vec<Dim>,
    pub(super) classes: Vec<Vec<Rep>>,
    /// Per dimension and class, other members of the class besides its representative; kept
    /// only for `source.principal`, whose SPIFFE ids supply derived attributes, so that an
    /// example can use a principal that does not supply one a region needs absent.
    pub(super) alternates: Vec<Vec<Vec<Rep>>>,
    pub(super) atoms: Vec<Atom<'s>>,
}

/// Most other members kept per class of `source.principal`.
pub(super) const MAX_ALTERNATES: usize = 8;

impl Space<'_> {
    /// The truth values `a` can take when each dimension is in one of the classes `assign`
    /// gives it (`None`: any class).
    pub(super) fn eval(&self, a: &A, assign: &[Option<Vec<usize>>]) -> u8 {
        match a {
            A::Atom(i) => {
                // Were an index out of range, "any truth value" is the answer that never cuts a
                // branch of the search wrongly.
                let Some(atom) = self.atoms.get(*i) else {
                    return T | F | U | E;
                };
                match assign.get(atom.dim).and_then(Option::as_ref) {
                    Some(cs) => cs.iter().fold(0, |acc, c| {
                        acc | atom.truth.get(*c).copied().unwrap_or(T | F | U | E)
                    }),
                    None => atom.truth.iter().fold(0, |acc, t| acc | t),
                }
            }
            A::Const(v) => *v,
            // Replaced before any evaluation; were one left, "any value" never cuts wrongly.
            A::AnyLabel => T | F | U | E,
            A::Not(x) => map_bits(self.eval(x, assign), |b| {
                if b == T {
                    F
                } else if b == F {
                    T
                } else {
                    b
                }
            }),
            A::And(items) => items
                .iter()
                .fold(T, |acc, i| and2(acc, self.eval(i, assign))),
            A::Or(items) => items
                .iter()
                .fold(F, |acc, i| or2(acc, self.eval(i, assign))),
            A::IsTrue(x) => map_bits(self.eval(x, assign), |b| {
                if b == T {
                    T
                } else if b == E {
                    E
                } else {
                    F
                }
            }),
            A::IsFalse(x) => map_bits(self.eval(x, assign), |b| {
                if b == F {
                    T
                } else if b == E {
                    E
                } else {
                    F
                }
            }),
        }
    }
}

pub(super) fn dims_of(a: &A, space_atoms: &[Atom<'_>], out: &mut Vec<usize>) {
    match a {
        A::Atom(i) => {
            if let Some(atom) = space_atoms.get(*i)
                && !out.contains(&atom.dim)
            {
                out.push(atom.dim);
            }
        }
        A::Const(_) | A::AnyLabel => {}
        A::And(xs) | A::Or(xs) => xs.iter().for_each(|x| dims_of(x, space_atoms, out)),
        A::Not(x) | A::IsTrue(x) | A::IsFalse(x) => dims_of(x, space_atoms, out),
    }
}

pub(super) fn atoms_of(a: &A, out: &mut Vec<usize>) {
    match a {
        A::Atom(i) => {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        A::Const(_) | A::AnyLabel => {}
        A::And(xs) | A::Or(xs) => xs.iter().for_each(|x| atoms_of(x, out)),
        A::Not(x) | A::IsTrue(x) | A::IsFalse(x) => atoms_of(x, out),
    }
}

/// Replaces every [`A::AnyLabel`] in `a` by `any`.
pub(super) fn substitute_any_label(a: &mut A, any: &A) {
    match a {
        A::AnyLabel => *a = any.clone(),
        A::Atom(_) | A::Const(_) => {}
        A::And(xs) | A::Or(xs) => xs.iter_mut().for_each(|x| substitute_any_label(x, any)),
        A::Not(x) | A::IsTrue(x) | A::IsFalse(x) => substitute_any_label(x, any),
    }
}
