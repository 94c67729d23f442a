//! The fragment both languages express, as a small AST.
//!
//! A [`Case`] is a policy set ([`Rule`]s: allow or deny, `from`/`to` clauses of matchers,
//! `when`/`unless` conditions) and a few [`Req`]uests. Every value comes from a small
//! vocabulary chosen so that rules and requests collide: SPIFFE ids whose derived namespace,
//! service account and trust domain other rules test, globs that cover exact values, CIDRs that
//! nest (and IPv4-mapped IPv6 addresses, which lie in no IPv4 network), claims lists
//! (`super::vocab`). The vocabularies hold only patterns whose Cedar translation is exact
//! (`super::cedar::pattern`). Generation from bytes is in `super::generate`; rendering in
//! `super::mgp`, `super::cedar` and `super::cedar_request`.

use super::vocab::{
    CIDRS, GROUPS, LABEL_PATTERNS, LABEL_VALUES, METHODS, NAMESPACE_PATTERNS, NAMESPACES,
    PATH_PATTERNS, PATHS, PRINCIPAL_PATTERNS, PRINCIPALS, SERVICE_ACCOUNT_PATTERNS,
    SERVICE_ACCOUNTS, TRUST_DOMAIN_PATTERNS, TRUST_DOMAINS,
};

/// An attribute of the fragment, with the type that decides its operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// `source.principal`.
    Principal,
    /// `source.namespace` (given, or derived from a SPIFFE principal).
    Namespace,
    /// `source.service_account` (given, or derived).
    ServiceAccount,
    /// `source.trust_domain` (given, or derived).
    TrustDomain,
    /// `source.labels["KEY"]`.
    SrcLabel(&'static str),
    /// `source.ip`.
    SrcIp,
    /// `destination.namespace`.
    DstNamespace,
    /// `destination.labels["KEY"]`.
    DstLabel(&'static str),
    /// `destination.port`.
    DstPort,
    /// `destination.ip`.
    DstIp,
    /// `request.method`.
    Method,
    /// `request.path`.
    Path,
    /// `request.auth.claims["groups"]` (a string list).
    Groups,
}

/// The type of an attribute, which decides the operators and values it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A case-sensitive string (patterns in matchers and `matches`).
    Str,
    /// An IP address (CIDRs).
    Ip,
    /// A port (integers and ranges).
    Port,
    /// An HTTP method (Cedar: the action).
    Method,
    /// A string list (JWT claim).
    List,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `allow` / `permit`.
    Allow,
    /// `deny` / `forbid`.
    Deny,
}

/// A value of a matcher or comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// A string, pattern, CIDR or method.
    S(&'static str),
    /// A port range, inclusive (`A..A` is written as `A`).
    Port(u16, u16),
}

/// `[not] ATTR VALUES` in a `from` or `to` clause: holds when the attribute is present and
/// matches any value (negated: none).
#[derive(Clone, Debug)]
pub struct Matcher {
    /// `not`.
    pub negated: bool,
    /// The attribute.
    pub attr: Attr,
    /// One or more values (patterns for strings).
    pub values: Vec<Val>,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==` one value (strings: literal; IPs: in the network; lists: some element equal).
    Eq,
    /// `!=`: `not (… == …)`.
    Ne,
    /// `in` a list.
    In,
    /// `matches` a list of patterns.
    Matches,
    /// `contains` one string (lists).
    Contains,
    /// `<` an integer.
    Lt,
    /// `>=` an integer.
    Ge,
}

/// A condition, three-valued (spec §9).
#[derive(Clone, Debug)]
pub enum Expr {
    /// `true` / `false`.
    Const(bool),
    /// `has ATTR`: never unknown.
    Has(Attr),
    /// `ATTR OP VALUES`: unknown when the attribute is absent.
    Cmp(Attr, Op, Vec<Val>),
    /// `not`.
    Not(Box<Expr>),
    /// `and`.
    And(Box<Expr>, Box<Expr>),
    /// `or`.
    Or(Box<Expr>, Box<Expr>),
}

/// A rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Allow or deny.
    pub effect: Effect,
    /// `from` clauses (any; none: any caller), each a conjunction of matchers.
    pub from: Vec<Vec<Matcher>>,
    /// `to` clauses (any; none: any target).
    pub to: Vec<Vec<Matcher>>,
    /// `when` conditions (each must be true).
    pub when: Vec<Expr>,
    /// `unless` conditions (each must be false).
    pub unless: Vec<Expr>,
}

/// An element of a JWT claim list, or the claim itself (spec §6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimVal {
    /// A string: itself.
    Str(&'static str),
    /// An integer: its JSON text (`1`).
    Int(i64),
    /// A boolean: its JSON text (`true`).
    Bool(bool),
    /// A nested list (of one string): ignored inside a list.
    Nested(&'static str),
    /// An object (`{"g": "g1"}`): no string at all.
    Object,
}

/// A JWT `groups` claim as the request carries it.
#[derive(Clone, Debug)]
pub enum Claim {
    /// A single value (a string, integer or boolean is one element; an object none).
    One(ClaimVal),
    /// A list (possibly empty).
    List(Vec<ClaimVal>),
}

impl ClaimVal {
    /// The claim value as JSON.
    pub fn json(self) -> serde_json::Value {
        match self {
            ClaimVal::Str(s) => s.into(),
            ClaimVal::Int(i) => i.into(),
            ClaimVal::Bool(b) => b.into(),
            ClaimVal::Nested(s) => serde_json::json!([s]),
            ClaimVal::Object => serde_json::json!({"g": "g1"}),
        }
    }
}

/// A request: every field optional.
#[derive(Clone, Debug, Default)]
pub struct Req {
    /// `source.principal`.
    pub principal: Option<&'static str>,
    /// `source.namespace`, given explicitly.
    pub namespace: Option<&'static str>,
    /// `source.service_account`, given explicitly.
    pub service_account: Option<&'static str>,
    /// `source.trust_domain`, given explicitly.
    pub trust_domain: Option<&'static str>,
    /// `source.labels` (distinct keys).
    pub src_labels: Option<Vec<(&'static str, &'static str)>>,
    /// `source.ip`.
    pub src_ip: Option<&'static str>,
    /// `destination.namespace`.
    pub dst_namespace: Option<&'static str>,
    /// `destination.labels` (distinct keys).
    pub dst_labels: Option<Vec<(&'static str, &'static str)>>,
    /// `destination.port`.
    pub dst_port: Option<u16>,
    /// `destination.ip`.
    pub dst_ip: Option<&'static str>,
    /// `request.method`.
    pub method: Option<&'static str>,
    /// `request.path`.
    pub path: Option<&'static str>,
    /// `request.auth.claims["groups"]`.
    pub groups: Option<Claim>,
}

/// One generated case: a policy set and the requests to decide against it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The rules, in set order.
    pub rules: Vec<Rule>,
    /// The requests.
    pub requests: Vec<Req>,
}

impl Attr {
    /// The attribute's type.
    pub fn kind(self) -> Kind {
        match self {
            Attr::SrcIp | Attr::DstIp => Kind::Ip,
            Attr::DstPort => Kind::Port,
            Attr::Method => Kind::Method,
            Attr::Groups => Kind::List,
            _ => Kind::Str,
        }
    }

    /// The patterns a matcher or `matches` takes (strings), the literals `==`/`in` take
    /// (`exact`), or the CIDRs / methods / groups for the other kinds.
    pub fn values(self, exact: bool) -> &'static [&'static str] {
        match (self, exact) {
            (Attr::Principal, false) => PRINCIPAL_PATTERNS,
            (Attr::Principal, true) => PRINCIPALS,
            (Attr::Namespace | Attr::DstNamespace, false) => NAMESPACE_PATTERNS,
            (Attr::Namespace | Attr::DstNamespace, true) => NAMESPACES,
            (Attr::ServiceAccount, false) => SERVICE_ACCOUNT_PATTERNS,
            (Attr::ServiceAccount, true) => SERVICE_ACCOUNTS,
            (Attr::TrustDomain, false) => TRUST_DOMAIN_PATTERNS,
            (Attr::TrustDomain, true) => TRUST_DOMAINS,
            (Attr::SrcLabel(_) | Attr::DstLabel(_), false) => LABEL_PATTERNS,
            (Attr::SrcLabel(_) | Attr::DstLabel(_), true) => LABEL_VALUES,
            (Attr::Path, false) => PATH_PATTERNS,
            (Attr::Path, true) => PATHS,
            (Attr::SrcIp | Attr::DstIp, _) => CIDRS,
            (Attr::Method, _) => METHODS,
            (Attr::Groups, _) => GROUPS,
            (Attr::DstPort, _) => &[],
        }
    }
}
