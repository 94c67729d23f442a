//! The syntax tree: what the operator wrote, with a span on every node.
//!
//! Nothing here is checked beyond the grammar; validation (`crate::validate`) turns it into the model.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::span::Span;

/// A parsed `.mgp` file.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug)]
pub enum Item {
    /// `role NAME { … }`
    Role(RoleDecl),
    /// `[dry_run] allow|deny|audit "ID" { … }`
    Rule(RuleDecl),
    /// `default allow "ID" { select … }`
    Default(DefaultDecl),
}

/// `default allow "ID" { select … }`: the per-workload default (spec §4.4).
#[derive(Clone, Debug)]
pub struct DefaultDecl {
    /// The id.
    pub id: StrLit,
    /// Its `select` clauses (any one must hold; none: every workload).
    pub select: Vec<Clause>,
    /// The whole declaration.
    pub span: Span,
}

/// A bare identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A double-quoted string, escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrLit {
    /// The value.
    pub value: String,
    /// Where it is, quotes included.
    pub span: Span,
}

/// `role NAME { include … permit … }`
#[derive(Clone, Debug)]
pub struct RoleDecl {
    /// The role's name.
    pub name: Ident,
    /// Body statements.
    pub body: Vec<RoleStmt>,
    /// The whole declaration.
    pub span: Span,
}

/// A statement in a role body.
#[derive(Clone, Debug)]
pub enum RoleStmt {
    /// `include OTHER`
    Include(Ident),
    /// `permit METHODS on PATHS [host HOSTS] [port PORTS]`
    Permit(Permit),
}

/// `permit GET, HEAD on "/api/**" host "x" port 8080`
#[derive(Clone, Debug)]
pub struct Permit {
    /// Methods, or `None` for `*` (any method).
    pub methods: Option<Vec<Ident>>,
    /// Where the method list (or `*`) is.
    pub methods_span: Span,
    /// Path patterns.
    pub paths: Lit,
    /// Host patterns.
    pub hosts: Option<Lit>,
    /// Ports.
    pub ports: Option<Lit>,
    /// The whole statement.
    pub span: Span,
}

/// Rule effect keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Grants access when matched (unless a deny matches).
    Allow,
    /// Refuses access when matched; overrides every allow.
    Deny,
    /// Recorded in the decision; never changes it.
    Audit,
}

impl Effect {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::Audit => "audit",
        }
    }
}

/// A rule declaration.
#[derive(Clone, Debug)]
pub struct RuleDecl {
    /// Span of the `dry_run` keyword, when present.
    pub dry_run: Option<Span>,
    /// The effect.
    pub effect: Effect,
    /// Span of the effect keyword.
    pub effect_span: Span,
    /// The rule id.
    pub id: StrLit,
    /// Body statements.
    pub body: Vec<RuleStmt>,
    /// The whole declaration.
    pub span: Span,
}

/// A statement in a rule body.
#[derive(Clone, Debug)]
pub enum RuleStmt {
    /// `from MATCHER, …`
    From(Clause),
    /// `to MATCHER, …`
    To(Clause),
    /// `select MATCHER, …` (the workloads the rule applies to)
    Select(Clause),
    /// `grant ROLE, …`
    Grant(Vec<Ident>, Span),
    /// `when EXPR`
    When(Expr),
    /// `unless EXPR`
    Unless(Expr),
    /// `timezone "Area/City"`
    Timezone(StrLit),
}

/// A comma-separated list of matchers after `from` or `to`.
#[derive(Clone, Debug)]
pub struct Clause {
    /// The matchers (all must hold).
    pub matchers: Vec<Matcher>,
    /// The whole clause, keyword included.
    pub span: Span,
}

/// `[not] KIND [KEY =] VALUE`, e.g. `namespace "prod"`, `label app = "web"`, `not ip 10.0.0.0/8`.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Span of `not`, when present.
    pub negated: Option<Span>,
    /// The matcher keyword (`principal`, `namespace`, `label`, …).
    pub kind: Ident,
    /// For `label KEY = VALUE`, the key.
    pub key: Option<StrOrIdent>,
    /// The value (a literal or a bracketed list).
    pub value: Lit,
    /// The whole matcher.
    pub span: Span,
}

/// A label key: `app` or `"app.kubernetes.io/name"`.
#[derive(Clone, Debug)]
pub struct StrOrIdent {
    /// The key text.
    pub value: String,
    /// Where it is.
    pub span: Span,
}

/// A literal value.
#[derive(Clone, Debug)]
pub struct Lit {
    /// What it is.
    pub kind: LitKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of literal. Bare words are classified by the parser (`8080` is an integer,
/// `10.0.0.0/8` a CIDR, `mon` a weekday, `GET` an identifier).
#[derive(Clone, Debug)]
pub enum LitKind {
    /// `"text"`
    Str(String),
    /// `42`
    Int(i64),
    /// `true`, `false`
    Bool(bool),
    /// `10.1.2.3`, `2001:db8::1`
    Ip(IpAddr),
    /// `10.0.0.0/8`
    Cidr(IpNet),
    /// `2026-01-01T00:00:00Z`
    Timestamp(jiff::Timestamp),
    /// `2026-12-24`
    Date(jiff::civil::Date),
    /// `mon` … `sun`
    Weekday(jiff::civil::Weekday),
    /// A bare identifier such as `GET`.
    Ident(String),
    /// `LO..HI`, both ends included.
    Range(Box<Lit>, Box<Lit>),
    /// `[a, b, …]`
    List(Vec<Lit>),
}

impl LitKind {
    /// A short name of the kind, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            LitKind::Str(_) => "a string",
            LitKind::Int(_) => "an integer",
            LitKind::Bool(_) => "a boolean",
            LitKind::Ip(_) => "an IP address",
            LitKind::Cidr(_) => "a CIDR block",
            LitKind::Timestamp(_) => "a timestamp",
            LitKind::Date(_) => "a date",
            LitKind::Weekday(_) => "a weekday",
            LitKind::Ident(_) => "an identifier",
            LitKind::Range(..) => "a range",
            LitKind::List(_) => "a list",
        }
    }
}

/// An attribute reference: `source.labels["app"]`, `request.auth.claims["groups"]`, `time.hour`.
#[derive(Clone, Debug)]
pub struct AttrRef {
    /// Dotted segments, e.g. `["source", "labels"]`.
    pub path: Vec<Ident>,
    /// Bracketed keys after the path, e.g. `["app"]`.
    pub keys: Vec<StrLit>,
    /// The whole reference.
    pub span: Span,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `matches`
    Matches,
    /// `contains`
    Contains,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
            CmpOp::Matches => "matches",
            CmpOp::Contains => "contains",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug)]
pub enum Operand {
    /// Another attribute (`source.namespace == destination.namespace`).
    Attr(AttrRef),
    /// A literal.
    Lit(Lit),
}

/// A condition expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Kinds of condition expression.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `has ATTR`
    Has(AttrRef),
    /// `ATTR OP OPERAND`
    Cmp {
        /// Left side.
        lhs: AttrRef,
        /// Operator.
        op: CmpOp,
        /// Span of the operator.
        op_span: Span,
        /// Right side.
        rhs: Operand,
    },
    /// `true` / `false`
    Bool(bool),
}
