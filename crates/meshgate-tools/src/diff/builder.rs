//! Turning rules into expressions over atoms ([`Builder::rule`]), and collecting what the
//! rules write per dimension ([`Seeds`]: patterns, networks, ranges, dates, zones, scalars),
//! from which [`super::candidates`] makes candidate values.
//!
//! Invariant: an atom evaluates exactly as the evaluator does (it calls [`eval::test`] or
//! [`eval::cond`], or checks one [`eval::PermissionPart`] of a permission), so an expression's value on
//! a request is the rule's; and every attribute an atom reads has its dimension here, so a
//! request's class is fixed by its values on the dimensions.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use super::dims::{Dim, dim_of};
use super::logic::{A, Atom, F, T, U, bits};
use meshgate::PolicySet;
use meshgate::attr::Attr;
use meshgate::eval::{self, Env, PartCheck, PermissionPart};
use meshgate::model::{Clause, Cond, DynPred, Effect, Permission, Pred, Rule, Scalar, Test, Zone};
use meshgate::pattern::Pattern;
use meshgate::span::Span;

/// Collects atoms and builds the match expressions of rules.
pub(super) struct Builder<'s> {
    /// The set whose rules are being added (for the text of tests).
    pub(super) set: Option<&'s PolicySet>,
    pub(super) dims: Vec<Dim>,
    pub(super) dim_index: HashMap<Dim, usize>,
    pub(super) atoms: Vec<Atom<'s>>,
    /// Values written in the policies, per dimension index (candidate seeds); a dimension
    /// without an entry has none.
    pub(super) seeds: BTreeMap<usize, Seeds>,
    pub(super) inexact: Vec<String>,
    /// Whether some `select` tests a label (then [`A::AnyLabel`] occurs and
    /// [`Builder::finish_labels`] must run).
    pub(super) label_select: bool,
}

/// The rule a `default allow`'s matchers are evaluated with: selection matchers read no time,
/// so no zone (the only thing the evaluator takes from a rule for them) matters.
pub(super) static NO_RULE: LazyLock<Rule> = LazyLock::new(|| Rule {
    id: String::new(),
    effect: Effect::Allow,
    dry_run: false,
    span: Span::default(),
    id_span: Span::default(),
    select: Vec::new(),
    from: Vec::new(),
    to: Vec::new(),
    grants: Vec::new(),
    when: Vec::new(),
    unless: Vec::new(),
    zone: Zone::default(),
});

#[derive(Default, Clone)]
pub(super) struct Seeds {
    pub(super) patterns: Vec<Pattern>,
    pub(super) nets: Vec<ipnet::IpNet>,
    pub(super) ints: Vec<(i64, i64)>,
    pub(super) dates: Vec<jiff::civil::Date>,
    pub(super) times: Vec<jiff::Timestamp>,
    pub(super) zones: Vec<jiff::tz::TimeZone>,
    pub(super) minutes: bool,
    pub(super) scalars: Vec<Scalar>,
    pub(super) also: Vec<usize>,
}

impl<'s> Builder<'s> {
    pub(super) fn dim(&mut self, d: Dim) -> usize {
        if let Some(&i) = self.dim_index.get(&d) {
            return i;
        }
        let i = self.dims.len();
        self.dims.push(d.clone());
        self.dim_index.insert(d, i);
        i
    }

    pub(super) fn atom(
        &mut self,
        dim: usize,
        label: String,
        eval: Box<dyn Fn(&Env<'_, '_>) -> u8 + 's>,
    ) -> A {
        let i = self.atoms.len();
        self.atoms.push(Atom {
            dim,
            label,
            eval,
            truth: Vec::new(),
        });
        A::Atom(i)
    }

    pub(super) fn seed_test(&mut self, t: &Test, rule: &Rule) -> usize {
        let d = self.dim(dim_of(&t.attr));
        let zone = rule.zone.tz.clone();
        let s = self.seeds.entry(d).or_default();
        match &t.pred {
            Pred::Str(set) => s.patterns.extend(set.0.iter().cloned()),
            Pred::AttrEq(other) => {
                let o = self.dim(dim_of(other));
                self.seeds.entry(d).or_default().also.push(o);
                self.seeds.entry(o).or_default().also.push(d);
                self.inexact
                    .push(format!("`{}` is compared with `{other}`", t.attr));
            }
            Pred::Ip(nets) => s.nets.extend(nets.iter().copied()),
            Pred::Int(r) => {
                s.ints.extend(r.iter().copied());
                if t.attr == Attr::TimeMinute {
                    s.minutes = true;
                }
                s.zones.push(zone);
            }
            Pred::Weekday(_) => s.zones.push(zone),
            Pred::Date(a, b) => {
                s.dates.extend([*a, *b]);
                s.zones.push(zone);
            }
            Pred::Time(a, b) => s.times.extend([*a, *b]),
            Pred::Dyn(p) => match p {
                DynPred::OneOf(v) => s.scalars.extend(v.iter().cloned()),
                DynPred::IntRange(a, b) => s.ints.push((*a, *b)),
                DynPred::Glob(set) => s.patterns.extend(set.0.iter().cloned()),
                DynPred::Contains(v) => {
                    s.scalars.push(v.clone());
                    self.inexact
                        .push(format!("`{}` is tested with `contains`", t.attr));
                }
            },
        }
        d
    }

    pub(super) fn test(&mut self, t: &'s Test, rule: &'s Rule) -> A {
        let d = self.seed_test(t, rule);
        let mut label = self
            .set
            .map_or_else(String::new, |set| one_line(crate::text(set, t.span)));
        if t.attr.is_zoned() && rule.zone.name != "UTC" {
            label = format!("{label} in {}", rule.zone.name);
        }
        self.atom(
            d,
            label,
            Box::new(move |env| bits(eval::test(t, env, rule))),
        )
    }

    pub(super) fn cond(&mut self, c: &'s Cond, rule: &'s Rule) -> A {
        match c {
            Cond::Const(b) => A::Const(if *b { T } else { F }),
            Cond::And(items) => A::And(items.iter().map(|i| self.cond(i, rule)).collect()),
            Cond::Or(items) => A::Or(items.iter().map(|i| self.cond(i, rule)).collect()),
            Cond::Not(inner) => A::Not(Box::new(self.cond(inner, rule))),
            Cond::Has(attr) => {
                let d = self.dim(dim_of(attr));
                self.atom(
                    d,
                    format!("has {attr}"),
                    Box::new(move |env| bits(eval::cond(c, env, rule))),
                )
            }
            Cond::Test(t) => self.test(t, rule),
        }
    }

    pub(super) fn clauses(&mut self, cs: &'s [Clause], rule: &'s Rule) -> A {
        if cs.is_empty() {
            return A::Const(T);
        }
        A::Or(
            cs.iter()
                .map(|c| {
                    A::And(
                        c.tests
                            .iter()
                            .map(|t| A::IsTrue(Box::new(self.test(t, rule))))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    pub(super) fn permission(&mut self, p: &'s Permission) -> A {
        let mut parts = Vec::new();
        if let Some(ms) = &p.methods {
            let d = self.dim(Dim::Attr(Attr::Method));
            self.seeds
                .entry(d)
                .or_default()
                .patterns
                .extend(ms.iter().map(|m| Pattern::exact(m, false)));
            let label = format!("method {} (role {})", ms.join(", "), p.role);
            parts.push(self.atom(
                d,
                label,
                Box::new(move |env| held(PermissionPart::Method, p, env)),
            ));
        }
        let d = self.dim(Dim::Attr(Attr::Path));
        let seeds = self.seeds.entry(d).or_default();
        seeds.patterns.extend(p.paths.0.iter().cloned());
        let label = format!("path {} (role {})", quoted(&p.paths.0), p.role);
        parts.push(self.atom(
            d,
            label,
            Box::new(move |env| held(PermissionPart::Path, p, env)),
        ));
        if let Some(hosts) = &p.hosts {
            let d = self.dim(Dim::Attr(Attr::Host));
            let seeds = self.seeds.entry(d).or_default();
            seeds.patterns.extend(hosts.0.iter().cloned());
            let label = format!("host {} (role {})", quoted(&hosts.0), p.role);
            parts.push(self.atom(
                d,
                label,
                Box::new(move |env| held(PermissionPart::Host, p, env)),
            ));
        }
        if let Some(ports) = &p.ports {
            let d = self.dim(Dim::Attr(Attr::DestPort));
            let seeds = self.seeds.entry(d).or_default();
            seeds.ints.extend(ports.iter().copied());
            let label = format!("port {ports:?} (role {})", p.role);
            parts.push(self.atom(
                d,
                label,
                Box::new(move |env| held(PermissionPart::Port, p, env)),
            ));
        }
        A::And(parts)
    }

    /// A selection, three-valued (spec §4.4): some `select` clause with every matcher true
    /// (none: true). A label matcher reads a missing label as false when the destination
    /// carries some label, as unknown when it carries none: with `P` the matcher (positive),
    /// `H` the label's presence and `L` "some label", `(P and H) or (not L and unknown)`.
    pub(super) fn selection(&mut self, clauses: &'s [Clause], rule: &'s Rule) -> A {
        if clauses.is_empty() {
            return A::Const(T);
        }
        let mut alternatives = Vec::with_capacity(clauses.len());
        for c in clauses {
            let mut all = Vec::with_capacity(c.tests.len());
            for t in &c.tests {
                let test = self.test(t, rule);
                let Attr::DestLabel(key) = &t.attr else {
                    all.push(test);
                    continue;
                };
                self.label_select = true;
                let d = self.dim(Dim::Attr(t.attr.clone()));
                let has = self.atom(
                    d,
                    String::new(),
                    Box::new(move |env| {
                        if env.request().destination.labels.get(key).is_some() {
                            T
                        } else {
                            F
                        }
                    }),
                );
                let positive = if t.negated {
                    A::Not(Box::new(test))
                } else {
                    test
                };
                let read = A::Or(vec![
                    A::And(vec![positive, has]),
                    A::And(vec![A::Not(Box::new(A::AnyLabel)), A::Const(U)]),
                ]);
                all.push(if t.negated {
                    A::Not(Box::new(read))
                } else {
                    read
                });
            }
            alternatives.push(A::And(all));
        }
        A::Or(alternatives)
    }

    /// Adds the dimension of labels under keys no rule tests, and returns the expression
    /// "the destination carries some label" over it and every label dimension.
    pub(super) fn finish_labels(&mut self) -> A {
        let keys: Vec<String> = self
            .dims
            .iter()
            .filter_map(|d| match d {
                Dim::Attr(Attr::DestLabel(k)) => Some(k.to_string()),
                _ => None,
            })
            .collect();
        let mut other = "zz9-other".to_string();
        while keys.contains(&other) {
            other.push('9');
        }
        let mut any = Vec::new();
        for (d, dim) in self.dims.clone().iter().enumerate() {
            if let Dim::Attr(Attr::DestLabel(k)) = dim {
                let k = k.clone();
                any.push(self.atom(
                    d,
                    String::new(),
                    Box::new(move |env| {
                        if env.request().destination.labels.get(&k).is_some() {
                            T
                        } else {
                            F
                        }
                    }),
                ));
            }
        }
        let d = self.dim(Dim::OtherLabels(other));
        let label = "a destination label under a key no rule tests".to_string();
        any.push(self.atom(
            d,
            label,
            Box::new(move |env| {
                let labels = &env.request().destination.labels;
                if labels.0.iter().any(|(k, _)| !keys.iter().any(|x| x == k)) {
                    T
                } else {
                    F
                }
            }),
        ));
        A::Or(any)
    }

    /// A rule: its match, and its selection (what it claims, for an allow rule).
    pub(super) fn rule(&mut self, r: &'s Rule) -> (A, A) {
        let selection = self.selection(&r.select, r);
        let mut parts = vec![
            A::IsTrue(Box::new(selection.clone())),
            self.clauses(&r.from, r),
            self.clauses(&r.to, r),
        ];
        if !r.grants.is_empty() {
            let perms: Vec<A> = r.permissions().map(|p| self.permission(p)).collect();
            parts.push(A::Or(perms));
        }
        for c in &r.when {
            let a = self.cond(&c.cond, r);
            parts.push(A::IsTrue(Box::new(a)));
        }
        for c in &r.unless {
            let a = self.cond(&c.cond, r);
            parts.push(A::IsFalse(Box::new(a)));
        }
        (A::And(parts), selection)
    }
}

pub(super) fn quoted(ps: &[Pattern]) -> String {
    let items: Vec<String> = ps.iter().map(|p| format!("{:?}", p.as_str())).collect();
    if items.len() == 1 {
        items.join("")
    } else {
        format!("[{}]", items.join(", "))
    }
}

pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A permission part as an atom's value: two-valued, as [`eval::permission`] reads it (an
/// absent attribute fails the part).
fn held(part: PermissionPart, p: &Permission, env: &Env<'_, '_>) -> u8 {
    if part.check(p, env) == PartCheck::Held {
        T
    } else {
        F
    }
}
