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
//! disjoint) or a single glob of any shape per attribute, CIDRs, ports, claims and audiences,
//! hours, minutes, weekdays, dates and instants in any zones up to 2100, `has`, and context
//! strings, integers and booleans. It is not guaranteed for several distinct globs on one
//! attribute with a wildcard before the end of one of them (their overlap may not be among the
//! candidates), for comparisons of one attribute with another, for `contains` on context
//! lists, and when a limit is reached (more than 1024 list classes, the zones' history, the
//! search's steps or regions): then the report says `exact: false` and why.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use super::DecisionRecord;
use crate::PolicySet;
use crate::attr::{Attr, Type};
use crate::eval::{self, Env, Truth};
use crate::model::{Clause, Cond, DynPred, Effect, Permission, Pred, Rule, Scalar, Test};
use crate::pattern::Pattern;
use crate::request::{Pairs, Request, Value};

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
    #[serde(skip)]
    classes: Vec<(usize, Vec<usize>)>,
}

// ---------------------------------------------------------------------------------------------
// Dimensions, candidates and classes.

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dim {
    Attr(Attr),
    Time,
}

fn dim_of(a: &Attr) -> Dim {
    match a {
        Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate => {
            Dim::Time
        }
        other => Dim::Attr(other.clone()),
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Attr(a) => write!(f, "{a}"),
            Dim::Time => f.write_str("time"),
        }
    }
}

/// A candidate value of one dimension.
#[derive(Clone, Debug)]
enum Rep {
    Absent,
    Str(String),
    List(Vec<String>),
    Ip(IpAddr),
    Int(i64),
    Time(jiff::Timestamp),
    Ctx(Value<'static>),
}

/// Sets one dimension of a request. `false` when it cannot be set as asked.
fn apply(req: &mut Request<'static>, dim: &Dim, rep: &Rep) -> bool {
    let s = |r: &Rep| match r {
        Rep::Str(s) => Some(Cow::Owned(s.clone())),
        _ => None,
    };
    let ip = |r: &Rep| match r {
        Rep::Ip(ip) => Some(*ip),
        _ => None,
    };
    if matches!(rep, Rep::Absent) {
        return true;
    }
    match dim {
        Dim::Time => {
            if let Rep::Time(t) = rep {
                req.time = Some(*t);
            }
        }
        Dim::Attr(a) => match a {
            Attr::SourcePrincipal => req.source.principal = s(rep),
            Attr::SourceNamespace => req.source.namespace = s(rep),
            Attr::SourceServiceAccount => req.source.service_account = s(rep),
            Attr::SourceTrustDomain => req.source.trust_domain = s(rep),
            Attr::SourceLabel(k) => push(&mut req.source.labels, k, s(rep)),
            Attr::SourceIp => req.source.ip = ip(rep),
            Attr::SourceRemoteIp => req.source.remote_ip = ip(rep),
            Attr::DestService => req.destination.service = s(rep),
            Attr::DestNamespace => req.destination.namespace = s(rep),
            Attr::DestLabel(k) => push(&mut req.destination.labels, k, s(rep)),
            Attr::DestPort => {
                req.destination.port = if let Rep::Int(n) = rep {
                    u16::try_from(*n).ok()
                } else {
                    None
                }
            }
            Attr::DestIp => req.destination.ip = ip(rep),
            Attr::Method => req.request.method = s(rep),
            Attr::Path => req.request.path = s(rep),
            Attr::Host => req.request.host = s(rep),
            Attr::Header(k) => push(&mut req.request.headers, k, s(rep)),
            Attr::AuthPrincipal => req.request.auth.principal = s(rep),
            Attr::AuthPresenter => req.request.auth.presenter = s(rep),
            Attr::AuthAudiences => {
                if let Rep::List(items) = rep {
                    req.request.auth.audiences = Some(Cow::Owned(
                        items.iter().map(|i| Cow::Owned(i.clone())).collect(),
                    ));
                }
            }
            Attr::AuthClaim(keys) => {
                let Rep::List(items) = rep else { return false };
                let mut v = Value::List(Cow::Owned(
                    items
                        .iter()
                        .map(|i| Value::Str(Cow::Owned(i.clone())))
                        .collect(),
                ));
                for k in keys.iter().skip(1).rev() {
                    v = Value::Map(Pairs(Cow::Owned(vec![(Cow::Owned(k.to_string()), v)])));
                }
                let Some(first) = keys.first() else {
                    return false;
                };
                if req.request.auth.claims.get(first).is_some() {
                    return false;
                }
                req.request
                    .auth
                    .claims
                    .0
                    .to_mut()
                    .push((Cow::Owned(first.to_string()), v));
            }
            Attr::ConnectionSni => req.connection.sni = s(rep),
            Attr::Context(k) => {
                if let Rep::Ctx(v) = rep {
                    req.context
                        .0
                        .to_mut()
                        .push((Cow::Owned(k.to_string()), v.clone()));
                }
            }
            Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate => {
            }
        },
    }
    true
}

fn push(
    pairs: &mut Pairs<'static, Cow<'static, str>>,
    key: &str,
    value: Option<Cow<'static, str>>,
) {
    if let Some(v) = value {
        pairs.0.to_mut().push((Cow::Owned(key.to_string()), v));
    }
}

/// Truth values as bits, so that sets of them are bit masks.
const T: u8 = 1;
const F: u8 = 2;
const U: u8 = 4;
const E: u8 = 8;

fn bits(t: Result<Truth, String>) -> u8 {
    match t {
        Ok(Truth::True) => T,
        Ok(Truth::False) => F,
        Ok(Truth::Unknown) => U,
        Err(_) => E,
    }
}

/// An atomic test: one dimension, evaluated on a request.
struct Atom<'s> {
    dim: usize,
    /// The test as written, for descriptions.
    label: String,
    eval: Box<dyn Fn(&Env<'_, '_>) -> u8 + 's>,
    /// Truth per class of its dimension.
    truth: Vec<u8>,
}

/// A rule's match, as an expression over atoms.
#[derive(Clone, Debug)]
enum A {
    Atom(usize),
    Const(u8),
    And(Vec<A>),
    Or(Vec<A>),
    Not(Box<A>),
    IsTrue(Box<A>),
    IsFalse(Box<A>),
}

fn map_bits(x: u8, f: impl Fn(u8) -> u8) -> u8 {
    [T, F, U, E]
        .iter()
        .filter(|b| x & **b != 0)
        .fold(0, |acc, b| acc | f(*b))
}

fn and2(a: u8, b: u8) -> u8 {
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

fn or2(a: u8, b: u8) -> u8 {
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
struct Space<'s> {
    dims: Vec<Dim>,
    classes: Vec<Vec<Rep>>,
    /// Per dimension and class, other members of the class besides its representative; kept
    /// only for `source.principal`, whose SPIFFE ids supply derived attributes, so that an
    /// example can use a principal that does not supply one a region needs absent.
    alternates: Vec<Vec<Vec<Rep>>>,
    atoms: Vec<Atom<'s>>,
}

/// Most other members kept per class of `source.principal`.
const MAX_ALTERNATES: usize = 8;

impl Space<'_> {
    /// The truth values `a` can take when each dimension is in one of the classes `assign`
    /// gives it (`None`: any class).
    fn eval(&self, a: &A, assign: &[Option<Vec<usize>>]) -> u8 {
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

/// Collects atoms and builds the match expressions of rules.
struct Builder<'s> {
    /// The set whose rules are being added (for the text of tests).
    set: Option<&'s PolicySet>,
    dims: Vec<Dim>,
    dim_index: HashMap<Dim, usize>,
    atoms: Vec<Atom<'s>>,
    /// Values written in the policies, per dimension index (candidate seeds); a dimension
    /// without an entry has none.
    seeds: BTreeMap<usize, Seeds>,
    inexact: Vec<String>,
}

#[derive(Default, Clone)]
struct Seeds {
    patterns: Vec<Pattern>,
    nets: Vec<ipnet::IpNet>,
    ints: Vec<(i64, i64)>,
    dates: Vec<jiff::civil::Date>,
    times: Vec<jiff::Timestamp>,
    zones: Vec<jiff::tz::TimeZone>,
    minutes: bool,
    scalars: Vec<Scalar>,
    also: Vec<usize>,
}

impl<'s> Builder<'s> {
    fn dim(&mut self, d: Dim) -> usize {
        if let Some(&i) = self.dim_index.get(&d) {
            return i;
        }
        let i = self.dims.len();
        self.dims.push(d.clone());
        self.dim_index.insert(d, i);
        i
    }

    fn atom(&mut self, dim: usize, label: String, eval: Box<dyn Fn(&Env<'_, '_>) -> u8 + 's>) -> A {
        let i = self.atoms.len();
        self.atoms.push(Atom {
            dim,
            label,
            eval,
            truth: Vec::new(),
        });
        A::Atom(i)
    }

    fn seed_test(&mut self, t: &Test, rule: &Rule) -> usize {
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

    fn test(&mut self, t: &'s Test, rule: &'s Rule) -> A {
        let d = self.seed_test(t, rule);
        let mut label = self
            .set
            .map_or_else(String::new, |set| one_line(super::text(set, t.span)));
        if t.attr.is_zoned() && rule.zone.name != "UTC" {
            label = format!("{label} in {}", rule.zone.name);
        }
        self.atom(
            d,
            label,
            Box::new(move |env| bits(eval::test(t, env, rule))),
        )
    }

    fn cond(&mut self, c: &'s Cond, rule: &'s Rule) -> A {
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

    fn clauses(&mut self, cs: &'s [Clause], rule: &'s Rule) -> A {
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

    fn permission(&mut self, p: &'s Permission) -> A {
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
                Box::new(move |env| {
                    let m = env.request().request.method.as_deref();
                    if m.is_some_and(|m| ms.iter().any(|x| x == m)) {
                        T
                    } else {
                        F
                    }
                }),
            ));
        }
        let d = self.dim(Dim::Attr(Attr::Path));
        let seeds = self.seeds.entry(d).or_default();
        seeds.patterns.extend(p.paths.0.iter().cloned());
        let label = format!("path {} (role {})", quoted(&p.paths.0), p.role);
        parts.push(self.atom(
            d,
            label,
            Box::new(move |env| {
                if env.request().path().is_some_and(|x| p.paths.matches(x)) {
                    T
                } else {
                    F
                }
            }),
        ));
        if let Some(hosts) = &p.hosts {
            let d = self.dim(Dim::Attr(Attr::Host));
            let seeds = self.seeds.entry(d).or_default();
            seeds.patterns.extend(hosts.0.iter().cloned());
            let label = format!("host {} (role {})", quoted(&hosts.0), p.role);
            parts.push(self.atom(
                d,
                label,
                Box::new(move |env| {
                    if env.request().host().is_some_and(|h| hosts.matches(h)) {
                        T
                    } else {
                        F
                    }
                }),
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
                Box::new(move |env| {
                    let port = env.request().destination.port.map(i64::from);
                    if port.is_some_and(|p| ports.iter().any(|&(lo, hi)| lo <= p && p <= hi)) {
                        T
                    } else {
                        F
                    }
                }),
            ));
        }
        A::And(parts)
    }

    fn rule(&mut self, r: &'s Rule) -> A {
        let mut parts = vec![self.clauses(&r.from, r), self.clauses(&r.to, r)];
        if !r.grants.is_empty() {
            let perms: Vec<A> = r.permissions().map(|p| self.permission(p)).collect();
            parts.push(A::Or(perms));
        }
        for c in &r.when {
            let a = self.cond(c, r);
            parts.push(A::IsTrue(Box::new(a)));
        }
        for c in &r.unless {
            let a = self.cond(c, r);
            parts.push(A::IsFalse(Box::new(a)));
        }
        A::And(parts)
    }
}

fn quoted(ps: &[Pattern]) -> String {
    let items: Vec<String> = ps.iter().map(|p| format!("{:?}", p.as_str())).collect();
    if items.len() == 1 {
        items.join("")
    } else {
        format!("[{}]", items.join(", "))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Instances of a pattern: `*` and `**` filled in.
fn instances(p: &Pattern) -> Vec<String> {
    if !p.is_glob() {
        return vec![p.as_str().to_string()];
    }
    let text = p.as_str();
    let one = text.replace("**", "zz9").replace('*', "zz9");
    let two = text.replace("**", "zz9/zz9").replace('*', "zz9");
    vec![one, two]
}

fn prefix_glob(p: &Pattern) -> bool {
    let t = p.as_str();
    let inner = t
        .strip_suffix("/**")
        .or_else(|| t.strip_suffix('*'))
        .unwrap_or(t);
    !inner.contains('*')
}

fn candidate_strings(seeds: &Seeds, path_like: bool) -> Vec<String> {
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
fn principal_variants(strings: &[String]) -> Vec<String> {
    strings
        .iter()
        .filter(|s| s.starts_with("spiffe://"))
        .map(|s| format!("{s}/zz9"))
        .collect()
}

fn ip_candidates(nets: &[ipnet::IpNet]) -> Vec<IpAddr> {
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

fn int_candidates(ranges: &[(i64, i64)]) -> Vec<i64> {
    let mut out = vec![0, 1, -1];
    for &(lo, hi) in ranges {
        out.extend([lo, hi, lo.saturating_sub(1), hi.saturating_add(1)]);
    }
    out
}

/// Candidate instants of the time dimension, and why they may not cover every class (empty
/// when they do). First the instants of the weeks, days and fortnights listed in the module
/// doc, on whole UTC hours (minutes); then the same spans at the other offsets of an hour
/// (minute) where a zone's clock turns; then [`history_candidates`].
fn time_candidates(seeds: &Seeds) -> (Vec<jiff::Timestamp>, Vec<String>) {
    use jiff::{SignedDuration, Timestamp};
    let step = if seeds.minutes {
        SignedDuration::from_mins(1)
    } else {
        SignedDuration::from_hours(1)
    };
    let mut starts: Vec<Timestamp> = Vec::new();
    let base = |s: &str| s.parse::<Timestamp>().ok();
    starts.extend(base("2026-01-04T00:00:00Z"));
    starts.extend(base("2026-07-05T00:00:00Z"));
    let year_start = base("2026-01-01T00:00:00Z");
    let year_end = base("2027-01-01T00:00:00Z");
    if let (Some(y0), Some(y1)) = (year_start, year_end) {
        for z in &seeds.zones {
            for tr in z.following(y0).take(8) {
                if tr.timestamp() < y1 {
                    starts.push(tr.timestamp());
                }
            }
        }
    }
    let days = |n: i64| SignedDuration::from_hours(n.saturating_mul(24));
    let mut out = Vec::new();
    let mut spans: Vec<(Timestamp, SignedDuration)> = Vec::new();
    let mut span = |start: Timestamp, len: SignedDuration| {
        spans.push((start, len));
        let mut t = start;
        let end = start.checked_add(len).unwrap_or(start);
        while t < end {
            out.push(t);
            t = match t.checked_add(step) {
                Ok(next) => next,
                Err(_) => break,
            };
        }
    };
    for s in starts {
        span(s.checked_sub(days(1)).unwrap_or(s), days(9));
    }
    for d in &seeds.dates {
        if let Ok(t) =
            jiff::tz::TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        {
            span(t.checked_sub(days(8)).unwrap_or(t), days(17));
        }
    }
    let mut exact_points = Vec::new();
    for t in &seeds.times {
        let tick = SignedDuration::from_nanos(1);
        exact_points.extend(
            [t.checked_sub(tick).ok(), Some(*t), t.checked_add(tick).ok()]
                .into_iter()
                .flatten(),
        );
        if *t > Timestamp::MIN && *t < Timestamp::MAX {
            span(t.checked_sub(days(8)).unwrap_or(*t), days(16));
        }
    }
    out.extend(exact_points);
    let unit = if seeds.minutes { 60 } else { 3600 };
    let zones = distinct_zones(seeds);
    let (intervals, mut inexact) = offset_intervals(&zones, seeds);
    let residues = residues(&intervals, unit);
    for (start, len) in spans {
        for base in aligned(start, len, unit) {
            out.extend(
                residues
                    .iter()
                    .filter(|r| **r != 0)
                    .filter_map(|r| Timestamp::from_second(base.checked_add(*r)?).ok()),
            );
        }
    }
    if history_candidates(&intervals, &residues, unit, &mut out) {
        inexact.push(format!(
            "`time`: the zones' offset history needs more than {MAX_HISTORY_CANDIDATES} instants"
        ));
    }
    (out, inexact)
}

/// The zones the rules name, each once.
fn distinct_zones(seeds: &Seeds) -> Vec<&jiff::tz::TimeZone> {
    let mut zones: Vec<&jiff::tz::TimeZone> = Vec::new();
    for z in &seeds.zones {
        if !zones.contains(&z) {
            zones.push(z);
        }
    }
    zones
}

/// The last instant whose offsets the diff walks: zones repeat their rules after it.
const HISTORY_END: &str = "2100-01-01T00:00:00Z";
/// Most transitions walked per zone.
const MAX_TRANSITIONS: usize = 10_000;
/// Most instants tried for the zones' offset history.
const MAX_HISTORY_CANDIDATES: usize = 200_000;

/// A stretch of time in which every zone keeps one offset and no date or instant a rule names
/// is passed: its start, end (exclusive), the zones' offsets in seconds, and its place among
/// the named dates and instants.
struct Interval {
    start: jiff::Timestamp,
    end: jiff::Timestamp,
    offsets: Vec<i32>,
    place: usize,
}

/// The zones' history cut into [`Interval`]s, from before their first transition to
/// [`HISTORY_END`] and a week beyond, and why it is incomplete (empty when it is not).
fn offset_intervals(zones: &[&jiff::tz::TimeZone], seeds: &Seeds) -> (Vec<Interval>, Vec<String>) {
    use jiff::{SignedDuration, Timestamp};
    let mut inexact = Vec::new();
    let Ok(end) = HISTORY_END.parse::<Timestamp>() else {
        return (
            Vec::new(),
            vec!["`time`: no end for the zones' history".to_string()],
        );
    };
    let days = |n: i64| SignedDuration::from_hours(n.saturating_mul(24));
    let mut points: Vec<Timestamp> = Vec::new();
    for z in zones {
        let mut n = 0usize;
        for tr in z.following(Timestamp::MIN) {
            if tr.timestamp() >= end {
                break;
            }
            if n >= MAX_TRANSITIONS {
                inexact.push(format!(
                    "`time`: a zone has more than {MAX_TRANSITIONS} transitions before 2100"
                ));
                break;
            }
            n = n.saturating_add(1);
            points.push(tr.timestamp());
        }
    }
    // Named dates and instants split intervals, so that two instants of one interval are on
    // the same side of each. A date's zoned day lies within two days of its UTC midnight (the
    // fortnight tried around it covers those days instant by instant); an instant and the next
    // nanosecond bound an interval of their own (`time > t` and `time >= t` differ there).
    let mut marks: Vec<Timestamp> = Vec::new();
    for d in &seeds.dates {
        if let Ok(t) =
            jiff::tz::TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        {
            marks.extend(
                [t.checked_sub(days(2)).ok(), t.checked_add(days(3)).ok()]
                    .into_iter()
                    .flatten(),
            );
        }
    }
    for t in &seeds.times {
        marks.push(*t);
        marks.extend(t.checked_add(SignedDuration::from_nanos(1)).ok());
    }
    marks.sort();
    marks.dedup();
    points.extend(marks.iter().copied());
    points.push(end);
    points.sort();
    points.dedup();
    let first = points
        .first()
        .and_then(|p| p.checked_sub(days(8)).ok())
        .unwrap_or(Timestamp::MIN);
    let mut starts = vec![first];
    starts.extend(points.iter().copied().filter(|p| *p > first));
    let mut out = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = match starts.get(i.saturating_add(1)) {
            Some(e) => *e,
            None => start.checked_add(days(8)).unwrap_or(Timestamp::MAX),
        };
        out.push(Interval {
            start,
            end,
            offsets: zones.iter().map(|z| z.to_offset(start).seconds()).collect(),
            place: marks.partition_point(|m| *m <= start),
        });
    }
    (out, inexact)
}

/// The seconds past a whole UTC hour (`unit` 3600) or minute (60) at which some zone's clock
/// turns to a new hour (minute) in some interval: 0, and e.g. 1800 for UTC+5:30.
fn residues(intervals: &[Interval], unit: i64) -> Vec<i64> {
    let mut out = vec![0];
    for o in intervals.iter().flat_map(|i| &i.offsets) {
        let r = i64::from(*o).saturating_neg().rem_euclid(unit);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.sort_unstable();
    out
}

/// The whole UTC hours (minutes, `unit` 60), as seconds, from the one at or before `start`
/// to `start + len`.
fn aligned(start: jiff::Timestamp, len: jiff::SignedDuration, unit: i64) -> Vec<i64> {
    let from = start.as_second().div_euclid(unit).saturating_mul(unit);
    let to = start.as_second().saturating_add(len.as_secs());
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        out.push(t);
        t = match t.checked_add(unit) {
            Some(next) => next,
            None => break,
        };
    }
    out
}

/// Adds to `out` an instant of every class the intervals hold: instants of one interval are
/// alike when they are a whole number of weeks apart (each zone's weekday, hour and minute
/// then agree, and so does every named date and instant), so each interval's offsets and
/// place need each hour (minute) of a week, at each residue, once. `true` when it stopped at
/// [`MAX_HISTORY_CANDIDATES`].
fn history_candidates(
    intervals: &[Interval],
    residues: &[i64],
    unit: i64,
    out: &mut Vec<jiff::Timestamp>,
) -> bool {
    use jiff::{SignedDuration, Timestamp};
    const WEEK: i64 = 7 * 24 * 3600;
    let full = usize::try_from(WEEK.checked_div(unit).unwrap_or(0))
        .unwrap_or(usize::MAX)
        .saturating_mul(residues.len());
    let mut seen: HashMap<(&[i32], usize), HashSet<i64>> = HashMap::new();
    let mut added = 0usize;
    for iv in intervals {
        let week_seen = seen.entry((&iv.offsets, iv.place)).or_default();
        if week_seen.len() >= full {
            continue;
        }
        // The interval's own start, when it cuts a clock's hour (minute): the part after it.
        let start_second = iv.start.as_second();
        if iv.start.subsec_nanosecond() != 0 || !residues.contains(&start_second.rem_euclid(unit)) {
            added = added.saturating_add(1);
            out.push(iv.start);
        }
        let len = iv
            .end
            .duration_since(iv.start)
            .min(SignedDuration::from_hours(8 * 24));
        for base in aligned(iv.start, len, unit) {
            for r in residues {
                let Some(Ok(t)) = base.checked_add(*r).map(Timestamp::from_second) else {
                    continue;
                };
                if t < iv.start || t >= iv.end {
                    continue;
                }
                if week_seen.insert(t.as_second().rem_euclid(WEEK)) {
                    if added >= MAX_HISTORY_CANDIDATES {
                        return true;
                    }
                    added = added.saturating_add(1);
                    out.push(t);
                }
            }
        }
    }
    false
}

fn context_candidates(seeds: &Seeds) -> Vec<Value<'static>> {
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

// ---------------------------------------------------------------------------------------------
// Rules that changed.

fn rule_key(set: &PolicySet, r: &Rule) -> String {
    let perms: Vec<String> = r
        .permissions()
        .map(|p| {
            let paths: Vec<&str> = p.paths.0.iter().map(|x| x.as_str()).collect();
            let hosts: Option<Vec<&str>> = p
                .hosts
                .as_ref()
                .map(|h| h.0.iter().map(|x| x.as_str()).collect());
            format!("{:?}{paths:?}{hosts:?}{:?}", p.methods, p.ports)
        })
        .collect();
    format!(
        "{}|{}|{}|{perms:?}",
        super::lint::body_key(set, r),
        r.zone.name,
        r.effect.as_str()
    )
}

fn deciding(r: &Rule) -> bool {
    !r.dry_run && matches!(r.effect, Effect::Allow | Effect::Deny)
}

fn changes(old: &PolicySet, new: &PolicySet) -> (RuleChanges, HashSet<String>) {
    let old_rules: BTreeMap<&str, &Rule> = old
        .rules()
        .iter()
        .filter(|r| deciding(r))
        .map(|r| (r.id.as_str(), r))
        .collect();
    let new_rules: BTreeMap<&str, &Rule> = new
        .rules()
        .iter()
        .filter(|r| deciding(r))
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut rc = RuleChanges::default();
    for id in old_rules.keys() {
        if !new_rules.contains_key(id) {
            rc.removed.push(id.to_string());
        }
    }
    for (id, n) in &new_rules {
        match old_rules.get(id) {
            None => rc.added.push(id.to_string()),
            Some(o) if rule_key(old, o) != rule_key(new, n) => rc.changed.push(id.to_string()),
            Some(_) => {}
        }
    }
    // Unchanged rules whose order among the deciding rules moved change the reasons' order.
    let same = |set: &PolicySet, effect: Effect, rc: &RuleChanges| -> Vec<String> {
        set.rules()
            .iter()
            .filter(|r| deciding(r) && r.effect == effect)
            .map(|r| r.id.clone())
            .filter(|id| {
                !rc.added.contains(id) && !rc.removed.contains(id) && !rc.changed.contains(id)
            })
            .collect()
    };
    for effect in [Effect::Allow, Effect::Deny] {
        let (a, b) = (same(old, effect, &rc), same(new, effect, &rc));
        if a != b {
            for (x, y) in a.iter().zip(&b) {
                if x != y {
                    rc.changed.push(x.clone());
                    rc.changed.push(y.clone());
                }
            }
        }
    }
    rc.changed.sort();
    rc.changed.dedup();
    let all: HashSet<String> = rc
        .removed
        .iter()
        .chain(&rc.added)
        .chain(&rc.changed)
        .cloned()
        .collect();
    (rc, all)
}

// ---------------------------------------------------------------------------------------------
// The search.

/// A prepared comparison of two policy sets. [`Diff::report`] gives the result;
/// [`Diff::region_of`] tells which reported region a request lies in.
pub struct Diff<'s> {
    old: &'s PolicySet,
    new: &'s PolicySet,
    space: Space<'s>,
    report: DiffReport,
}

struct RuleExpr {
    expr: A,
    effect: Effect,
    changed: bool,
    dims: Vec<usize>,
}

fn dims_of(a: &A, space_atoms: &[Atom<'_>], out: &mut Vec<usize>) {
    match a {
        A::Atom(i) => {
            if let Some(atom) = space_atoms.get(*i) {
                if !out.contains(&atom.dim) {
                    out.push(atom.dim);
                }
            }
        }
        A::Const(_) => {}
        A::And(xs) | A::Or(xs) => xs.iter().for_each(|x| dims_of(x, space_atoms, out)),
        A::Not(x) | A::IsTrue(x) | A::IsFalse(x) => dims_of(x, space_atoms, out),
    }
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
        };
        // Each side lists its deciding rules in set order, as indices into `rules`; an unchanged
        // rule is built once (from the old set) and shared by both sides.
        let mut rules: Vec<RuleExpr> = Vec::new();
        let mut sides: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut shared: HashMap<&str, usize> = HashMap::new();
        for (side, set) in sides.iter_mut().zip([old, new]) {
            b.set = Some(set);
            for r in set.rules().iter().filter(|r| deciding(r)) {
                let changed = changed_ids.contains(&r.id);
                if !changed {
                    if let Some(&i) = shared.get(r.id.as_str()) {
                        side.push(i);
                        continue;
                    }
                }
                let i = rules.len();
                rules.push(RuleExpr {
                    expr: b.rule(r),
                    effect: r.effect,
                    changed,
                    dims: Vec::new(),
                });
                if !changed {
                    shared.insert(&r.id, i);
                }
                side.push(i);
            }
        }
        for r in &mut rules {
            let mut dims = Vec::new();
            dims_of(&r.expr, &b.atoms, &mut dims);
            r.dims = dims;
        }
        // Candidates, then classes by signature.
        let mut inexact = std::mem::take(&mut b.inexact);
        let mut classes: Vec<Vec<Rep>> = Vec::new();
        let mut alternates: Vec<Vec<Vec<Rep>>> = Vec::new();
        let no_seeds = Seeds::default();
        for (d, dim) in b.dims.iter().enumerate() {
            let own = b.seeds.get(&d).unwrap_or(&no_seeds);
            let mut seeds = own.clone();
            for other in own.also.iter().filter_map(|o| b.seeds.get(o)) {
                seeds.patterns.extend(other.patterns.iter().cloned());
            }
            // Distinct globs: one written twice (in two rules, or in both versions of a
            // changed rule) overlaps nothing new.
            let mut globs: Vec<&Pattern> = seeds.patterns.iter().filter(|p| p.is_glob()).collect();
            globs.sort_by(|x, y| x.as_str().cmp(y.as_str()));
            globs.dedup();
            if globs.len() > 1 && globs.iter().any(|g| !prefix_glob(g)) {
                inexact.push(format!(
                    "`{dim}` is matched by several globs, one with a wildcard before its end"
                ));
            }
            let candidates: Vec<Rep> = match dim {
                Dim::Time => {
                    let (times, why) = time_candidates(&seeds);
                    inexact.extend(why);
                    times.into_iter().map(Rep::Time).collect()
                }
                Dim::Attr(a) => match a.ty() {
                    Type::Str => {
                        let mut strings = candidate_strings(&seeds, *a == Attr::Path);
                        if *a == Attr::SourcePrincipal {
                            strings.extend(principal_variants(&strings));
                        }
                        strings.into_iter().map(Rep::Str).collect()
                    }
                    Type::StrList => {
                        let (lists, truncated) =
                            list_candidates(&b.atoms, d, &candidate_strings(&seeds, false), dim);
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
                    Type::Dynamic => context_candidates(&seeds)
                        .into_iter()
                        .map(Rep::Ctx)
                        .collect(),
                    _ => Vec::new(),
                },
            };
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
                let sig: Vec<u8> = b
                    .atoms
                    .iter()
                    .filter(|a| a.dim == d)
                    .map(|a| (a.eval)(&env))
                    .collect();
                match seen.get(&sig) {
                    Some(&c) if !keep_all => {
                        if let Some(o) = others.get_mut(c).filter(|o| o.len() < MAX_ALTERNATES) {
                            if principal {
                                o.push(rep);
                            }
                        }
                    }
                    _ => {
                        seen.insert(sig, kept.len());
                        kept.push(rep);
                        others.push(Vec::new());
                    }
                }
            }
            for atom in b.atoms.iter_mut().filter(|a| a.dim == d) {
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
        let space = Space {
            dims: b.dims,
            classes,
            alternates,
            atoms: b.atoms,
        };
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
                    "no request could be built for {} region(s) (e.g. two claims under one \
                     key); requests there that decide differently are not reported",
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

/// Most list classes built per claim or audience attribute.
const MAX_LIST_CLASSES: usize = 1024;

/// The lists that make different sets of `dim`'s tests true, and whether some were left out
/// (more than [`MAX_LIST_CLASSES`]).
fn list_candidates(
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

struct Search<'a, 's> {
    space: &'a Space<'s>,
    rules: &'a [RuleExpr],
    sides: &'a [Vec<usize>; 2],
    old: &'a PolicySet,
    new: &'a PolicySet,
    steps: usize,
    regions: Vec<Region>,
    incomplete: bool,
    /// Regions left out because no request of theirs could be built.
    unbuilt: usize,
}

impl Search<'_, '_> {
    /// Whether one side's decision is fixed by the outcomes (one per rule): `Some(allowed)`.
    /// `order` is the side's deciding rules in set order, as indices into `rules`.
    fn decided(&self, order: &[usize], outcomes: &[u8]) -> Option<bool> {
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
            return Some(false);
        }
        allows.contains(&T).then_some(true)
    }

    fn run(&mut self, assign: &mut Vec<Option<Vec<usize>>>) {
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
        // No changed rule can match: both sets decide alike here.
        if !self
            .rules
            .iter()
            .zip(&outcomes)
            .any(|(r, o)| r.changed && *o != F)
        {
            return;
        }
        let [old_order, new_order] = self.sides;
        match (
            self.decided(old_order, &outcomes),
            self.decided(new_order, &outcomes),
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

    fn region(&mut self, assign: &[Option<Vec<usize>>]) {
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
            .map(|(d, dim, reps, cs)| self.describe(*d, dim, reps, cs))
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

    /// Dimension `d` (`dim`, whose classes `reps` represent) in the classes `cs`, in words.
    fn describe(&self, d: usize, dim: &Dim, reps: &[Rep], cs: &[usize]) -> String {
        let chosen: Vec<(usize, &Rep)> =
            cs.iter().filter_map(|&c| Some((c, reps.get(c)?))).collect();
        let absent = chosen.iter().any(|(_, r)| matches!(r, Rep::Absent));
        let present: Vec<(usize, &Rep)> = chosen
            .into_iter()
            .filter(|(_, r)| !matches!(r, Rep::Absent))
            .collect();
        let Some(&(_, example)) = present.first() else {
            return format!("{dim} absent");
        };
        let or_absent = if absent { " (or absent)" } else { "" };
        let exact: Vec<&String> = present
            .iter()
            .filter_map(|(_, r)| match r {
                Rep::Str(s) if !s.contains("zz9") => Some(s),
                _ => None,
            })
            .collect();
        if exact.len() == present.len() {
            return match exact.as_slice() {
                [single] => format!("{dim} = {single:?}{or_absent}"),
                _ => format!("{dim} in {exact:?}{or_absent}"),
            };
        }
        let mut held: Vec<&str> = Vec::new();
        let mut failed: Vec<&str> = Vec::new();
        for a in self
            .space
            .atoms
            .iter()
            .filter(|a| a.dim == d && !a.label.is_empty())
        {
            let truths: Vec<u8> = present
                .iter()
                .map(|(c, _)| a.truth.get(*c).copied().unwrap_or(0))
                .collect();
            if truths.iter().all(|t| *t == T) && !held.contains(&a.label.as_str()) {
                held.push(&a.label);
            } else if truths.iter().all(|t| *t != T) && !failed.contains(&a.label.as_str()) {
                failed.push(&a.label);
            }
        }
        failed.retain(|f| !held.contains(f));
        let like = match example {
            Rep::Str(s) => format!("{s:?}"),
            Rep::List(items) => format!("{items:?}"),
            Rep::Ip(ip) => ip.to_string(),
            Rep::Int(n) => n.to_string(),
            Rep::Time(t) => t.to_string(),
            Rep::Ctx(v) => serde_json::to_string(v).unwrap_or_default(),
            Rep::Absent => String::new(),
        };
        let mut parts = Vec::new();
        if !held.is_empty() {
            let verb = if held.len() == 1 { "holds" } else { "hold" };
            parts.push(format!("`{}` {verb}", held.join("`, `")));
        }
        if !failed.is_empty() {
            let verb = if failed.len() == 1 {
                "does not"
            } else {
                "do not"
            };
            parts.push(format!("`{}` {verb}", failed.join("`, `")));
        }
        if parts.is_empty() {
            return format!("{dim} present (e.g. {like}){or_absent}");
        }
        format!(
            "{dim} such that {} (e.g. {like}){or_absent}",
            parts.join(" and ")
        )
    }
}

fn atoms_of(a: &A, out: &mut Vec<usize>) {
    match a {
        A::Atom(i) => {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        A::Const(_) => {}
        A::And(xs) | A::Or(xs) => xs.iter().for_each(|x| atoms_of(x, out)),
        A::Not(x) | A::IsTrue(x) | A::IsFalse(x) => atoms_of(x, out),
    }
}

impl DiffReport {
    /// The report for people: regions grouped by how the decision changes, each group with
    /// the conditions all its regions share and one example.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let rc = &self.rules;
        for (what, ids) in [
            ("removed", &rc.removed),
            ("added", &rc.added),
            ("changed", &rc.changed),
        ] {
            if !ids.is_empty() {
                let ids: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
                let _ = writeln!(out, "rules {what}: {}", ids.join(", "));
            }
        }
        if self.decision_changes.is_empty() {
            let _ = writeln!(out, "no behavioural change");
        } else {
            let mut groups: Vec<(String, String, Vec<&Region>)> = Vec::new();
            for r in &self.decision_changes {
                let (b, a) = (decision_words(&r.before), decision_words(&r.after));
                match groups.iter_mut().find(|(x, y, _)| *x == b && *y == a) {
                    Some(g) => g.2.push(r),
                    None => groups.push((b, a, vec![r])),
                }
            }
            let _ = writeln!(
                out,
                "decisions that change ({} regions):",
                self.decision_changes.len()
            );
            for (n, (b, a, regions)) in (1usize..).zip(&groups) {
                let _ = writeln!(
                    out,
                    "  {n}. {b} -> {a} ({})",
                    if regions.len() == 1 {
                        "1 region".to_string()
                    } else {
                        format!("{} regions", regions.len())
                    }
                );
                let common: Vec<&String> = regions
                    .first()
                    .map(|f| {
                        f.conditions
                            .iter()
                            .filter(|c| regions.iter().all(|r| r.conditions.contains(c)))
                            .collect()
                    })
                    .unwrap_or_default();
                if !common.is_empty() {
                    let _ = writeln!(out, "     in all of them:");
                    for c in common {
                        let _ = writeln!(out, "       {c}");
                    }
                }
                if let Some(first) = regions.first() {
                    let _ = writeln!(out, "     example: {}", first.example);
                }
            }
        }
        if !self.exact {
            let _ = writeln!(out, "note: not exact: {}", self.inexact_because.join("; "));
        }
        out
    }

    /// Every region with its conditions, example and decisions.
    pub fn regions_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (n, r) in (1usize..).zip(&self.decision_changes) {
            let _ = writeln!(
                out,
                "region {n}: {} -> {}",
                decision_words(&r.before),
                decision_words(&r.after)
            );
            for c in &r.conditions {
                let _ = writeln!(out, "  {c}");
            }
            let _ = writeln!(out, "  example: {}", r.example);
        }
        out
    }
}

fn decision_words(d: &DecisionRecord) -> String {
    let ids = |v: &[String]| {
        v.iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if d.allowed {
        format!("allowed by {}", ids(&d.reasons))
    } else if !d.reasons.is_empty() {
        format!("denied by {}", ids(&d.reasons))
    } else if !d.errors.is_empty() {
        let e: Vec<String> = d.errors.iter().map(|e| e.rule.clone()).collect();
        format!("denied (errors in {})", ids(&e))
    } else {
        "denied (no rule matched)".to_string()
    }
}

/// Compares two policy sets.
pub fn diff(old: &PolicySet, new: &PolicySet) -> DiffReport {
    Diff::new(old, new).report().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(a: &str, b: &str) -> (PolicySet, PolicySet) {
        (
            PolicySet::parse(a, "old.mgp").unwrap(),
            PolicySet::parse(b, "new.mgp").unwrap(),
        )
    }

    #[test]
    fn same_meaning_is_no_change() {
        let (a, b) = sets(
            "allow \"a\" { from namespace \"shop\" }",
            "# reworded\nallow \"a\" {\n  from namespace \"shop\"\n}",
        );
        let r = diff(&a, &b);
        assert!(r.decision_changes.is_empty(), "{r:?}");
        assert!(r.to_text().contains("no behavioural change"));
    }

    #[test]
    fn a_new_deny_is_one_region_with_an_example() {
        let (a, b) = sets(
            "allow \"a\" { from namespace \"shop\" }",
            "allow \"a\" { from namespace \"shop\" }\ndeny \"d\" { to path \"/admin/**\" }",
        );
        let r = diff(&a, &b);
        assert_eq!(r.rules.added, ["d"]);
        assert_eq!(r.decision_changes.len(), 1, "{}", r.to_text());
        let region = &r.decision_changes[0];
        assert!(region.before.allowed && !region.after.allowed);
        assert_eq!(region.after.reasons, ["d"]);
        let example = Request::from_value(region.example.clone()).unwrap();
        assert!(a.decide_reference(&example).allowed);
        assert!(!b.decide_reference(&example).allowed);
        assert!(r.exact);
    }

    #[test]
    fn widened_hours_in_a_zone() {
        let (a, b) = sets(
            "allow \"a\" { from namespace \"ops\" when time.hour in 8..17 timezone \"Europe/Berlin\" }",
            "allow \"a\" { from namespace \"ops\" when time.hour in 8..19 timezone \"Europe/Berlin\" }",
        );
        let r = diff(&a, &b);
        assert_eq!(r.rules.changed, ["a"]);
        assert!(!r.decision_changes.is_empty());
        for region in &r.decision_changes {
            assert!(!region.before.allowed && region.after.allowed);
            let req = Request::from_value(region.example.clone()).unwrap();
            let hour = jiff::tz::TimeZone::get("Europe/Berlin")
                .unwrap()
                .to_datetime(req.time.unwrap())
                .hour();
            assert!((18..=19).contains(&hour), "{hour}");
        }
    }

    /// Asserts that `request` decides differently under the two sets and lies in a reported
    /// region, and that the report claims what it found.
    fn assert_found(a: &PolicySet, b: &PolicySet, request: &str) {
        let req = Request::from_json(request).unwrap();
        assert_ne!(
            a.decide_reference(&req).allowed,
            b.decide_reference(&req).allowed,
            "{request} should decide differently"
        );
        let d = Diff::new(a, b);
        let r = d.report();
        assert!(
            d.region_of(&req).is_some(),
            "{request} in no region: {}",
            r.to_text()
        );
        for region in &r.decision_changes {
            let example = Request::from_value(region.example.clone()).unwrap();
            assert_ne!(
                a.decide_reference(&example).allowed,
                b.decide_reference(&example).allowed
            );
        }
    }

    #[test]
    fn a_region_needing_no_namespace_uses_a_principal_that_supplies_none() {
        let old = "allow \"a\" { from namespace \"zzz\", principal \"spiffe://cluster.local/ns/shop/sa/frontend\" }";
        let new = format!(
            "{old}\nallow \"b\" {{ when has source.principal unless has source.namespace }}"
        );
        let (a, b) = sets(old, &new);
        assert_found(&a, &b, r#"{"source": {"principal": "x"}}"#);
        assert!(diff(&a, &b).exact);
    }

    #[test]
    fn a_region_needing_no_namespace_uses_another_member_of_a_spiffe_class() {
        // The class's representative, `…/sa/zz9`, supplies a namespace; `…/sa/zz9/zz9`, of the
        // same class, does not.
        let old = "allow \"a\" { from principal \"spiffe://td/ns/shop/sa/**\" }";
        let new = format!(
            "{old}\ndeny \"d\" {{ from principal \"spiffe://td/ns/shop/sa/**\" unless has source.namespace }}"
        );
        let (a, b) = sets(old, &new);
        assert_found(
            &a,
            &b,
            r#"{"source": {"principal": "spiffe://td/ns/shop/sa/x/y"}}"#,
        );
    }

    fn groups(n: usize) -> String {
        let tests: Vec<String> = (1..=n)
            .map(|i| format!("request.auth.claims[\"groups\"] contains \"g{i}\""))
            .collect();
        format!("allow \"a\" {{ when {} }}", tests.join(" and "))
    }

    #[test]
    fn many_list_values_are_all_combined() {
        let old = groups(9);
        let new =
            format!("{old}\ndeny \"d\" {{ when request.auth.claims[\"groups\"] contains \"g1\" }}");
        let (a, b) = sets(&old, &new);
        let all: Vec<String> = (1..=9).map(|i| format!("\"g{i}\"")).collect();
        let req = format!(
            r#"{{"request": {{"auth": {{"claims": {{"groups": [{}]}}}}}}}}"#,
            all.join(", ")
        );
        assert_found(&a, &b, &req);
        assert!(diff(&a, &b).exact);
    }

    #[test]
    fn too_many_list_classes_make_the_report_inexact() {
        let old = groups(11);
        let new =
            format!("{old}\ndeny \"d\" {{ when request.auth.claims[\"groups\"] contains \"g1\" }}");
        let (a, b) = sets(&old, &new);
        let r = diff(&a, &b);
        assert!(!r.exact, "{}", r.to_text());
        assert!(
            r.inexact_because
                .iter()
                .any(|w| w.contains("classes of lists")),
            "{:?}",
            r.inexact_because
        );
    }

    #[test]
    fn a_zone_half_an_hour_off_utc_is_tried_at_half_hours() {
        let old = "allow \"a\" { when time.hour == 8 timezone \"Asia/Kolkata\" }";
        let new = format!("{old}\ndeny \"d\" {{ when time.hour == 2 }}");
        let (a, b) = sets(old, &new);
        assert_found(&a, &b, r#"{"time": "2026-01-05T02:45:00Z"}"#);
        assert!(diff(&a, &b).exact);
    }

    #[test]
    fn offsets_a_zone_had_in_other_years_are_tried() {
        // Moscow was UTC+4 from 2011 to 2014, UTC+3 in 2026.
        let old = "allow \"a\" { when time.hour == 8 timezone \"Europe/Moscow\" }";
        let new = format!("{old}\ndeny \"d\" {{ when time.hour == 4 }}");
        let (a, b) = sets(old, &new);
        assert_found(&a, &b, r#"{"time": "2012-01-05T04:30:00Z"}"#);
        assert!(diff(&a, &b).exact);
    }

    #[test]
    fn local_mean_time_offsets_are_tried() {
        // Before 1893 Berlin kept local mean time, UTC+0:53:28: 08:00 to 09:00 there is
        // 07:06:32Z to 08:06:32Z, the only time Berlin's hour 8 meets UTC's hour 8.
        let old = "allow \"a\" { when time.hour == 8 timezone \"Europe/Berlin\" }";
        let new = format!("{old}\ndeny \"d\" {{ when time.hour == 8 }}");
        let (a, b) = sets(old, &new);
        assert_found(&a, &b, r#"{"time": "1880-03-01T08:03:00Z"}"#);
    }

    #[test]
    fn one_glob_written_twice_keeps_the_report_exact() {
        let old = "allow \"a\" { to host \"*.example.com\" }";
        let new = format!("{old}\ndeny \"d\" {{ to host \"*.example.com\", path \"/admin/**\" }}");
        let (a, b) = sets(old, &new);
        let r = diff(&a, &b);
        assert!(r.exact, "{:?}", r.inexact_because);
        assert_found(
            &a,
            &b,
            r#"{"request": {"host": "x.example.com", "path": "/admin/y"}}"#,
        );
    }

    #[test]
    fn a_region_without_an_example_makes_the_report_inexact() {
        // Two claims under one key are two dimensions whose values the diff cannot yet put in
        // one request: the region holding both is left out, and the report says so.
        let both = "request.auth.claims[\"org\"][\"team\"] contains \"x\" and request.auth.claims[\"org\"][\"role\"] contains \"y\"";
        let old = format!("allow \"a\" {{ when {both} }}");
        let new = format!(
            "{old}\ndeny \"d\" {{ when request.auth.claims[\"org\"][\"team\"] contains \"x\" }}"
        );
        let (a, b) = sets(&old, &new);
        let req = Request::from_json(
            r#"{"request": {"auth": {"claims": {"org": {"team": ["x"], "role": ["y"]}}}}}"#,
        )
        .unwrap();
        assert!(a.decide_reference(&req).allowed && !b.decide_reference(&req).allowed);
        let r = diff(&a, &b);
        assert!(!r.exact, "{}", r.to_text());
        assert!(
            r.inexact_because
                .iter()
                .any(|w| w.contains("no request could be built")),
            "{:?}",
            r.inexact_because
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::Diff;
        use crate::{PolicySet, Request};

        const ROLES: &str = "role reader { permit GET, HEAD on \"/api/**\" }\nrole operator { include reader permit POST on \"/api/admin/**\" port 8000..8999 }\n";

        const FROM: &[&str] = &[
            "from namespace \"shop\"",
            "from namespace \"ops\", label team = \"sre\"",
            "from not namespace \"legacy\"",
            "from principal \"spiffe://td/ns/shop/sa/*\"",
            "from principal \"spiffe://td/ns/ops/sa/admin\"",
            "from ip 10.0.0.0/8",
            "from ip 10.1.0.0/16, namespace \"ops\"",
            "from request_principal \"https://idp/*\"",
        ];
        const TO: &[&str] = &[
            "to path \"/api/admin/**\"",
            "to path [\"/health\", \"/api/export/**\"]",
            "to method POST",
            "to port 8080",
            "to service \"pay\", path \"/api/**\"",
            "to namespace \"prod\"",
        ];
        const GRANT: &[&str] = &["grant reader", "grant operator"];
        const WHEN: &[&str] = &[
            "when time.hour in 8..17",
            "when time.hour in 22..6",
            "when time.weekday in mon..fri",
            "when has source.ip",
            "when request.headers[\"x-debug\"] == \"1\"",
            "when request.auth.claims[\"groups\"] contains \"admins\"",
            "unless request.auth.claims[\"groups\"] contains \"guests\"",
            "when time >= 2026-06-01T00:00:00Z",
            "when time.date in 2026-12-24..2026-12-26",
        ];
        const ZONES: &[&str] = &[
            "",
            "timezone \"Europe/Berlin\"",
            "timezone \"America/New_York\"",
            "timezone \"Asia/Kolkata\"",
            "timezone \"Europe/Moscow\"",
        ];

        #[derive(Clone, Debug)]
        struct RuleSpec {
            deny: bool,
            from: Option<usize>,
            to: Option<usize>,
            grant: Option<usize>,
            when: Option<usize>,
            zone: usize,
        }

        fn rule_spec() -> impl Strategy<Value = RuleSpec> {
            (
                proptest::bool::weighted(0.3),
                proptest::option::of(0..FROM.len()),
                proptest::option::of(0..TO.len()),
                proptest::option::of(0..GRANT.len()),
                proptest::option::of(0..WHEN.len()),
                0..ZONES.len(),
            )
                .prop_map(|(deny, from, to, grant, when, zone)| RuleSpec {
                    deny,
                    from,
                    to,
                    grant: if deny { None } else { grant },
                    when,
                    zone,
                })
        }

        fn text(rules: &[(usize, RuleSpec)]) -> String {
            let mut out = ROLES.to_string();
            for (id, r) in rules {
                let effect = if r.deny { "deny" } else { "allow" };
                let parts: Vec<&str> = [
                    r.from.map(|i| FROM[i]),
                    r.to.map(|i| TO[i]),
                    r.grant.map(|i| GRANT[i]),
                    r.when.map(|i| WHEN[i]),
                    Some(ZONES[r.zone]),
                ]
                .into_iter()
                .flatten()
                .collect();
                out.push_str(&format!("{effect} \"r{id}\" {{ {} }}\n", parts.join(" ")));
            }
            out
        }

        fn pair() -> impl Strategy<Value = (String, String)> {
            (
                proptest::collection::vec(rule_spec(), 1..5),
                proptest::collection::vec(rule_spec(), 0..3),
                0..4usize,
            )
                .prop_map(|(old, extra, mode)| {
                    let old: Vec<(usize, RuleSpec)> = old.into_iter().enumerate().collect();
                    let mut new = old.clone();
                    match mode {
                        0 => new.extend(extra.into_iter().enumerate().map(|(i, r)| (10 + i, r))),
                        1 => {
                            new.pop();
                        }
                        2 => {
                            if let (Some(first), Some(r)) =
                                (new.first_mut(), extra.into_iter().next())
                            {
                                first.1 = r;
                            }
                        }
                        _ => {
                            new = extra
                                .into_iter()
                                .enumerate()
                                .map(|(i, r)| (20 + i, r))
                                .collect()
                        }
                    }
                    (text(&old), text(&new))
                })
        }

        fn request() -> impl Strategy<Value = String> {
            let opt =
                |xs: &'static [&'static str]| proptest::option::of(proptest::sample::select(xs));
            (
                (
                    opt(&[
                        "spiffe://td/ns/shop/sa/web",
                        "spiffe://td/ns/ops/sa/admin",
                        "spiffe://td/ns/legacy/sa/x",
                        "other",
                    ]),
                    opt(&["shop", "ops", "legacy", "zz"]),
                    opt(&["sre", "dev"]),
                    opt(&["10.1.2.3", "10.200.0.1", "192.168.0.1"]),
                    opt(&["https://idp/alice", "https://other/bob"]),
                ),
                (
                    opt(&[
                        "/api/admin/x",
                        "/api/export/y",
                        "/health",
                        "/api/z",
                        "/other",
                    ]),
                    opt(&["GET", "POST", "HEAD", "PUT"]),
                    proptest::option::of(proptest::sample::select(&[8080u16, 8500, 9999][..])),
                    opt(&["pay", "PAY", "ledger"]),
                    opt(&["prod", "dev"]),
                ),
                (
                    // Minutes after 2026-01-01, mostly in 2026 and 2027, sometimes back to 1850
                    // or on to 2100 (zones' offsets differed then).
                    proptest::option::of(prop_oneof![
                        3 => 0i64..(2 * 366 * 24 * 60),
                        1 => (-176i64 * 366 * 24 * 60)..(74 * 366 * 24 * 60),
                    ]),
                    opt(&["1", "0"]),
                    proptest::option::of(proptest::sample::subsequence(
                        &["admins", "guests", "staff"][..],
                        0..=3,
                    )),
                ),
            )
                .prop_map(
                    |(
                        (pr, ns, team, ip, rp),
                        (path, method, port, svc, dns),
                        (minutes, dbg, groups),
                    )| {
                        let mut source = serde_json::Map::new();
                        let mut dest = serde_json::Map::new();
                        let mut http = serde_json::Map::new();
                        let mut v = serde_json::Map::new();
                        let s = |x: &str| serde_json::Value::String(x.to_string());
                        if let Some(x) = pr {
                            source.insert("principal".into(), s(x));
                        }
                        if let Some(x) = ns {
                            source.insert("namespace".into(), s(x));
                        }
                        if let Some(x) = team {
                            source.insert("labels".into(), serde_json::json!({"team": x}));
                        }
                        if let Some(x) = ip {
                            source.insert("ip".into(), s(x));
                        }
                        if let Some(x) = path {
                            http.insert("path".into(), s(x));
                        }
                        if let Some(x) = method {
                            http.insert("method".into(), s(x));
                        }
                        if let Some(x) = dbg {
                            http.insert("headers".into(), serde_json::json!({"x-debug": x}));
                        }
                        let mut auth = serde_json::Map::new();
                        if let Some(x) = rp {
                            auth.insert("principal".into(), s(x));
                        }
                        if let Some(g) = groups {
                            auth.insert("claims".into(), serde_json::json!({"groups": g}));
                        }
                        if !auth.is_empty() {
                            http.insert("auth".into(), serde_json::Value::Object(auth));
                        }
                        if let Some(x) = port {
                            dest.insert("port".into(), serde_json::json!(x));
                        }
                        if let Some(x) = svc {
                            dest.insert("service".into(), s(x));
                        }
                        if let Some(x) = dns {
                            dest.insert("namespace".into(), s(x));
                        }
                        if let Some(m) = minutes {
                            let t = jiff::Timestamp::from_second(1_767_225_600 + m * 60).unwrap();
                            v.insert("time".into(), s(&t.to_string()));
                        }
                        v.insert("source".into(), serde_json::Value::Object(source));
                        v.insert("destination".into(), serde_json::Value::Object(dest));
                        v.insert("request".into(), serde_json::Value::Object(http));
                        serde_json::Value::Object(v).to_string()
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            /// Every example really decides differently; every request that decides differently
            /// lies in a reported region.
            #[test]
            fn diff_is_sound_and_complete((old, new) in pair(), reqs in proptest::collection::vec(request(), 40)) {
                let a = PolicySet::parse(&old, "old.mgp").unwrap();
                let b = PolicySet::parse(&new, "new.mgp").unwrap();
                let d = Diff::new(&a, &b);
                let report = d.report();
                prop_assert!(report.exact, "{:?}", report.inexact_because);
                for r in &report.decision_changes {
                    let req = Request::from_value(r.example.clone()).unwrap();
                    prop_assert_ne!(a.decide_reference(&req).allowed, b.decide_reference(&req).allowed);
                }
                for json in &reqs {
                    let req = Request::from_json(json).unwrap();
                    if a.decide_reference(&req).allowed != b.decide_reference(&req).allowed {
                        prop_assert!(d.region_of(&req).is_some(), "no region for {}\n{}", json, report.to_text());
                    }
                }
            }

            /// Formatting never changes behaviour: diff(x, fmt(x)) is empty.
            #[test]
            fn diff_of_a_policy_and_its_formatting_is_empty((old, _new) in pair()) {
                let formatted = crate::tools::fmt::format_source(&old, "p.mgp").unwrap();
                let a = PolicySet::parse(&old, "p.mgp").unwrap();
                let b = PolicySet::parse(&formatted, "p.mgp").unwrap();
                let report = Diff::new(&a, &b).report().clone();
                prop_assert!(report.decision_changes.is_empty());
                prop_assert!(report.rules.changed.is_empty() && report.rules.added.is_empty());
            }
        }
    }
}
