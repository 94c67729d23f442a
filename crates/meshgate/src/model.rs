//! The validated policy model: what rules mean, with every name resolved, every literal typed
//! and every role expanded. Both evaluators (the reference and the indexed engine) read this.

use std::sync::Arc;

use ipnet::IpNet;

use crate::attr::Attr;
use crate::pattern::PatternSet;
use crate::span::Span;
pub use crate::syntax::ast::Effect;

/// A validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// allow, deny or audit.
    pub effect: Effect,
    /// Evaluated and reported, never deciding.
    pub dry_run: bool,
    /// The whole declaration.
    pub span: Span,
    /// Span of the id.
    pub id_span: Span,
    /// `select` clauses: the workloads the rule applies to; any one must hold (none means every
    /// workload). For a non-dry-run allow rule they are also the workloads it *claims*, which
    /// closes them to every [`DefaultAllow`] (spec §4.4).
    pub select: Vec<Clause>,
    /// `from` clauses: any one must hold (none means any caller).
    pub from: Vec<Clause>,
    /// `to` clauses: any one must hold (none means any target).
    pub to: Vec<Clause>,
    /// Roles granted, in the order written. Some permission of some granted role must hold
    /// (a rule granting no role is not restricted this way).
    pub grants: Vec<Grant>,
    /// `when` conditions: all must be true.
    pub when: Vec<Condition>,
    /// `unless` conditions: all must be false.
    pub unless: Vec<Condition>,
    /// Time zone of `time.hour`, `time.minute`, `time.weekday`, `time.date` (UTC by default).
    pub zone: Zone,
}

/// A `default allow "ID" { select … }` item: a request that no rule decided is allowed when
/// its workload is selected here and claimed by no allow rule (spec §4.4).
#[derive(Clone, Debug)]
pub struct DefaultAllow {
    /// Unique id (shared with rule ids), reported in `reasons` when the default allows.
    pub id: String,
    /// The whole declaration.
    pub span: Span,
    /// Span of the id.
    pub id_span: Span,
    /// The workloads it opens: any one clause must hold (none means every workload).
    pub select: Vec<Clause>,
}

impl Rule {
    /// Whether the rule claims workloads: a non-dry-run allow rule (spec §4.4).
    pub fn claims(&self) -> bool {
        crate::eval::combine::Group::of(self) == crate::eval::combine::Group::Allow
    }
}

/// A rule's time zone.
#[derive(Clone, Debug)]
pub struct Zone {
    /// IANA name, or `UTC` (borrowed, so the default costs no allocation per rule).
    pub name: std::borrow::Cow<'static, str>,
    /// The zone.
    pub tz: jiff::tz::TimeZone,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            name: std::borrow::Cow::Borrowed("UTC"),
            tz: jiff::tz::TimeZone::UTC,
        }
    }
}

/// A role granted by a rule.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Role name.
    pub role: String,
    /// Where the name is in the rule.
    pub span: Span,
    /// The role's permissions, `include`s expanded (shared with the role and every other grant).
    pub permissions: Arc<[Permission]>,
}

impl Rule {
    /// Every permission granted by the rule, role by role.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.grants.iter().flat_map(|g| g.permissions.iter())
    }
}

/// One `select`, `from` or `to` clause: all its tests must hold.
#[derive(Clone, Debug)]
pub struct Clause {
    /// The tests (matchers).
    pub tests: Vec<Test>,
    /// The clause.
    pub span: Span,
}

/// A test of one attribute.
#[derive(Clone, Debug)]
pub struct Test {
    /// The attribute tested.
    pub attr: Attr,
    /// What it must satisfy.
    pub pred: Pred,
    /// Negated (`not namespace "x"`): holds when the attribute is present and fails `pred`.
    pub negated: bool,
    /// Where it was written.
    pub span: Span,
}

/// Predicates on attribute values.
#[derive(Clone, Debug)]
pub enum Pred {
    /// A string (or any element of a string list) matches one of the patterns.
    Str(PatternSet),
    /// A string equals another attribute's value (both present).
    AttrEq(Attr),
    /// An address lies in one of the networks.
    Ip(Vec<IpNet>),
    /// An integer lies in one of the inclusive ranges.
    Int(Vec<(i64, i64)>),
    /// A weekday is in the set (bit 0 = Monday … bit 6 = Sunday).
    Weekday(u8),
    /// A date lies in the inclusive range.
    Date(jiff::civil::Date, jiff::civil::Date),
    /// An instant lies in the inclusive range.
    Time(jiff::Timestamp, jiff::Timestamp),
    /// A test of a context value whose type is known only at run time.
    Dyn(DynPred),
}

/// Scalar literals for dynamic (context) tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// Tests of context values; a value of the wrong kind is an evaluation error.
#[derive(Clone, Debug)]
pub enum DynPred {
    /// `==` one of these (a one-element list for `==`).
    OneOf(Vec<Scalar>),
    /// An integer in an inclusive range (`<`, `in 1..5`, …).
    IntRange(i64, i64),
    /// A string matching a glob (`matches`).
    Glob(PatternSet),
    /// A list containing the scalar (`contains`).
    Contains(Scalar),
}

/// A permission of a role: method x path x host x port.
#[derive(Clone, Debug)]
pub struct Permission {
    /// The role that declared it (after `include` expansion, the including role is in `via`).
    pub role: String,
    /// The chain of roles through which it was granted, outermost first.
    pub via: Vec<String>,
    /// Methods, or `None` for any.
    pub methods: Option<Vec<String>>,
    /// Path patterns.
    pub paths: PatternSet,
    /// Host patterns, if restricted.
    pub hosts: Option<PatternSet>,
    /// Port ranges, if restricted.
    pub ports: Option<Vec<(i64, i64)>>,
    /// Where it was declared.
    pub span: Span,
}

/// A condition.
#[derive(Clone, Debug)]
pub enum Cond {
    /// `true` / `false`.
    Const(bool),
    /// All hold (left to right, stopping at the first false).
    And(Vec<Cond>),
    /// Any holds (left to right, stopping at the first true).
    Or(Vec<Cond>),
    /// Negation; unknown stays unknown.
    Not(Box<Cond>),
    /// Presence of an attribute; never unknown.
    Has(Attr),
    /// A test; unknown when the attribute is absent.
    Test(Test),
}

/// A `when` or `unless` condition, with where it is written: the tools (explain, coverage)
/// point at conditions and at the operands of a top-level `or` without parsing the source again.
#[derive(Clone, Debug)]
pub struct Condition {
    /// What it means.
    pub cond: Cond,
    /// The whole expression.
    pub span: Span,
    /// When [`cond`](Self::cond) is a [`Cond::Or`], the span of each of its operands, left to
    /// right (one per item of the `Or`); otherwise empty.
    pub operands: Vec<Span>,
}

/// A role, after validation.
#[derive(Clone, Debug)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// Its permissions including those of included roles.
    pub permissions: Arc<[Permission]>,
    /// Roles it includes directly.
    pub includes: Vec<String>,
}

/// Releasing the spare capacity of a validated model.
///
/// Validation builds the model by pushing onto vectors, which leaves up to half of each one
/// unused (a one-pattern set keeps room for four). A loaded policy lives as long as the engine
/// that decides with it, so that slack is memory held for nothing: on the benchmark's mesh
/// workload it was half of the model (1.46 of 2.85 KiB per rule). Each validated rule and
/// default is shrunk once, when it is built.
pub(crate) trait ShrinkToFit {
    /// Drops the spare capacity of every vector in `self`, at every depth.
    fn shrink_to_fit(&mut self);
}

impl<T: ShrinkToFit> ShrinkToFit for Vec<T> {
    fn shrink_to_fit(&mut self) {
        self.iter_mut().for_each(ShrinkToFit::shrink_to_fit);
        Vec::shrink_to_fit(self);
    }
}

impl ShrinkToFit for Rule {
    fn shrink_to_fit(&mut self) {
        self.id.shrink_to_fit();
        ShrinkToFit::shrink_to_fit(&mut self.select);
        ShrinkToFit::shrink_to_fit(&mut self.from);
        ShrinkToFit::shrink_to_fit(&mut self.to);
        // Grants share their permissions (`Arc<[_]>`, exact) with the roles.
        self.grants.shrink_to_fit();
        ShrinkToFit::shrink_to_fit(&mut self.when);
        ShrinkToFit::shrink_to_fit(&mut self.unless);
    }
}

impl ShrinkToFit for DefaultAllow {
    fn shrink_to_fit(&mut self) {
        self.id.shrink_to_fit();
        ShrinkToFit::shrink_to_fit(&mut self.select);
    }
}

impl ShrinkToFit for Clause {
    fn shrink_to_fit(&mut self) {
        ShrinkToFit::shrink_to_fit(&mut self.tests);
    }
}

impl ShrinkToFit for Test {
    fn shrink_to_fit(&mut self) {
        self.pred.shrink_to_fit();
    }
}

impl ShrinkToFit for Pred {
    fn shrink_to_fit(&mut self) {
        match self {
            Pred::Str(patterns) | Pred::Dyn(DynPred::Glob(patterns)) => patterns.0.shrink_to_fit(),
            Pred::Ip(nets) => nets.shrink_to_fit(),
            Pred::Int(ranges) => ranges.shrink_to_fit(),
            Pred::Dyn(DynPred::OneOf(values)) => values.shrink_to_fit(),
            Pred::AttrEq(_)
            | Pred::Weekday(_)
            | Pred::Date(..)
            | Pred::Time(..)
            | Pred::Dyn(DynPred::IntRange(..) | DynPred::Contains(_)) => {}
        }
    }
}

impl ShrinkToFit for Condition {
    fn shrink_to_fit(&mut self) {
        self.cond.shrink_to_fit();
        self.operands.shrink_to_fit();
    }
}

impl ShrinkToFit for Cond {
    fn shrink_to_fit(&mut self) {
        match self {
            Cond::And(items) | Cond::Or(items) => ShrinkToFit::shrink_to_fit(items),
            Cond::Not(inner) => inner.shrink_to_fit(),
            Cond::Test(test) => test.shrink_to_fit(),
            Cond::Const(_) | Cond::Has(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicySet;

    /// Every vector of `cond`, at every depth, is exactly as long as its capacity.
    fn cond_exact(cond: &Cond) -> bool {
        match cond {
            Cond::And(items) | Cond::Or(items) => {
                items.len() == items.capacity() && items.iter().all(cond_exact)
            }
            Cond::Not(inner) => cond_exact(inner),
            Cond::Test(test) => test_exact(test),
            Cond::Const(_) | Cond::Has(_) => true,
        }
    }

    fn test_exact(test: &Test) -> bool {
        match &test.pred {
            Pred::Str(p) | Pred::Dyn(DynPred::Glob(p)) => p.0.len() == p.0.capacity(),
            Pred::Ip(v) => v.len() == v.capacity(),
            Pred::Int(v) => v.len() == v.capacity(),
            Pred::Dyn(DynPred::OneOf(v)) => v.len() == v.capacity(),
            _ => true,
        }
    }

    fn clauses_exact(clauses: &Vec<Clause>) -> bool {
        clauses.len() == clauses.capacity()
            && clauses
                .iter()
                .all(|c| c.tests.len() == c.tests.capacity() && c.tests.iter().all(test_exact))
    }

    #[test]
    fn a_validated_model_keeps_no_spare_capacity() {
        let set = PolicySet::parse(
            r#"
            default allow "open" { select namespace ["a", "b", "c"], label app = "x" }
            allow "r" {
              select namespace "shop"
              from principal ["spiffe://td/ns/a/sa/x", "spiffe://td/ns/b/sa/*"],
                   ip [10.0.0.0/8, 192.168.0.0/16]
              from namespace "ops"
              to method [GET, POST, PUT], path ["/a/**", "/b/*", "/c"], port [80, 443, 8000..8100]
              when context.level in 1..5 or context.tier == "gold" or context.tier == "silver"
              when not (request.headers["x-a"] matches "v*" and has request.headers["x-b"])
              unless source.namespace == destination.namespace
            }
            "#,
            "p.mgp",
        )
        .unwrap_or_else(|e| panic!("{}", e.render()));
        for r in set.rules().iter() {
            assert_eq!(r.id.len(), r.id.capacity());
            assert!(clauses_exact(&r.select) && clauses_exact(&r.from) && clauses_exact(&r.to));
            for c in r.when.iter().chain(&r.unless) {
                assert!(cond_exact(&c.cond), "{}", r.id);
                assert_eq!(c.operands.len(), c.operands.capacity());
            }
            assert_eq!(r.when.len(), r.when.capacity());
        }
        for d in set.defaults().iter() {
            assert!(clauses_exact(&d.select));
        }
    }
}
