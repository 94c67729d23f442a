//! The Cedar side of a case: its rules as Cedar policies (`permit` for allow, `forbid` for
//! deny), reading a request built by `super::cedar_request` as follows:
//!
//! - The caller is the principal: `Workload::"<source.principal>"` (or `Anonymous::"anonymous"`
//!   without one), with attributes `id` (the principal), `namespace`, `service_account`,
//!   `trust_domain` (given in the request, or derived from a SPIFFE id as spec §6.4 says),
//!   `labels` (a record) and `ip` (an `ipaddr` extension value), each present only when the
//!   meshgate attribute is.
//! - The target is the resource `Dest::"dest"`, with `namespace`, `labels`, `port` and `ip`.
//! - The method is the action, `Action::"<method>"` (`Action::"-"` without one: no meshgate
//!   method is `-`); `context.method` is present exactly when the method is.
//! - `context.path`, and `context.claims.groups` (a set) for the JWT claim.
//!
//! Three-valued logic (spec §9) is modelled with `has`: every condition `e` becomes two Cedar
//! expressions, `T(e)` ("e is true") and `F(e)` ("e is false"), each a plain boolean that
//! never errs (every attribute access is guarded by `has`). `when e` requires `T(e)`, `unless
//! e` requires `F(e)`; unknown makes both false. A matcher is `G && P` (`G && !P` negated),
//! `G` the presence guard.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::ast::{Attr, Effect, Expr, Kind, Matcher, Op, Rule, Val};
use super::mgp::rule_id;
use crate::render::q;

/// The presence guard and the value expression of an attribute.
fn access(a: Attr) -> (String, String) {
    let own = |on: &str, name: &str| (format!("{on} has {name}"), format!("{on}.{name}"));
    match a {
        Attr::Principal => own("principal", "id"),
        Attr::Namespace => own("principal", "namespace"),
        Attr::ServiceAccount => own("principal", "service_account"),
        Attr::TrustDomain => own("principal", "trust_domain"),
        Attr::SrcLabel(k) => (
            format!("principal has labels && principal.labels has {}", q(k)),
            format!("principal.labels[{}]", q(k)),
        ),
        Attr::SrcIp => own("principal", "ip"),
        Attr::DstNamespace => own("resource", "namespace"),
        Attr::DstLabel(k) => (
            format!("resource has labels && resource.labels has {}", q(k)),
            format!("resource.labels[{}]", q(k)),
        ),
        Attr::DstPort => own("resource", "port"),
        Attr::DstIp => own("resource", "ip"),
        Attr::Method => ("context has method".into(), "action".into()),
        Attr::Path => own("context", "path"),
        Attr::Groups => (
            "context has claims && context.claims has groups".into(),
            "context.claims.groups".into(),
        ),
    }
}

/// A meshgate pattern (spec §8) as a Cedar test on `v`. Exact only for the shapes the
/// vocabularies use: no `*`, `**`, a trailing `/**`, a leading `**/`, or one `*`. Cedar's
/// `like` `*` crosses `/`, meshgate's does not: `P` with one `*` is `v like P` without
/// `v like P'`, `P'` being `P` with its `*` widened to `*/*` (the run it matched has a `/`).
pub fn pattern(v: &str, p: &str) -> String {
    let stars = p.matches('*').count();
    if p == "**" {
        return "true".into();
    }
    if stars == 0 {
        return format!("{v} == {}", q(p));
    }
    if let Some(rest) = p.strip_prefix("**/")
        && !rest.contains('*')
    {
        return format!(
            "({v} == {} || {v} like {})",
            q(rest),
            q(&format!("*/{rest}"))
        );
    }
    if let Some(prefix) = p.strip_suffix("/**")
        && !prefix.contains('*')
    {
        return format!("{v} like {}", q(&format!("{prefix}/*")));
    }
    assert!(
        stars == 1,
        "pattern {p:?} has no exact Cedar translation (see spec/cedar.md)"
    );
    format!(
        "({v} like {} && !({v} like {}))",
        q(p),
        q(&p.replacen('*', "*/*", 1))
    )
}

/// An address or network in a form Cedar's `ip()` accepts: IPv6 written as eight hex groups
/// (Cedar refuses the dotted IPv4 tail of `::ffff:10.1.2.3`; the address is the same).
pub fn ip_text(s: &str) -> String {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = match addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(a)) => a
            .segments()
            .iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":"),
        Ok(IpAddr::V4(a)) => a.to_string(),
        Err(e) => panic!("bad address {s:?} in the vocabulary: {e}"),
    };
    match prefix {
        Some(p) => format!("{addr}/{p}"),
        None => addr,
    }
}

fn either(tests: impl Iterator<Item = String>) -> String {
    let tests: Vec<String> = tests.collect();
    format!("({})", tests.join(" || "))
}

fn str_of(v: &Val) -> &'static str {
    match v {
        Val::S(s) => s,
        Val::Port(..) => panic!("a port where a string is expected"),
    }
}

fn port_test(v: &str, val: &Val) -> String {
    match val {
        Val::Port(lo, hi) if lo == hi => format!("{v} == {lo}"),
        Val::Port(lo, hi) => format!("({v} >= {lo} && {v} <= {hi})"),
        Val::S(s) => panic!("a string {s:?} where a port is expected"),
    }
}

fn action_list(vs: &[Val]) -> String {
    let ms: Vec<String> = vs
        .iter()
        .map(|m| format!("Action::{}", q(str_of(m))))
        .collect();
    format!("[{}]", ms.join(", "))
}

/// The positive test `P` of a matcher's values (any value matches).
fn matcher_test(a: Attr, vs: &[Val]) -> String {
    let (_, v) = access(a);
    match a.kind() {
        Kind::Str => either(vs.iter().map(|p| pattern(&v, str_of(p)))),
        Kind::Ip => either(
            vs.iter()
                .map(|c| format!("{v}.isInRange(ip({}))", q(&ip_text(str_of(c))))),
        ),
        Kind::Port => either(vs.iter().map(|p| port_test(&v, p))),
        Kind::Method => format!("action in {}", action_list(vs)),
        Kind::List => panic!("no matcher on a list"),
    }
}

fn matcher(m: &Matcher) -> String {
    let (g, _) = access(m.attr);
    let p = matcher_test(m.attr, &m.values);
    if m.negated {
        format!("({g} && !({p}))")
    } else {
        format!("({g} && {p})")
    }
}

/// The positive test of a comparison, and whether the operator negates it (`!=`).
fn cmp_test(a: Attr, op: Op, vs: &[Val]) -> (String, bool) {
    let (_, v) = access(a);
    let negate = op == Op::Ne;
    let test = match (a.kind(), op) {
        (Kind::Str, Op::Eq | Op::Ne) => format!("{v} == {}", q(str_of(&vs[0]))),
        (Kind::Str, Op::In) => {
            let l: Vec<String> = vs.iter().map(|s| q(str_of(s))).collect();
            format!("[{}].contains({v})", l.join(", "))
        }
        (Kind::Str, Op::Matches) => matcher_test(a, vs),
        (Kind::Ip | Kind::Method, Op::Eq | Op::Ne | Op::In) => matcher_test(a, vs),
        (Kind::Port, Op::Eq | Op::Ne | Op::In) => matcher_test(a, vs),
        (Kind::Port, Op::Lt) => format!("{v} < {}", port_of(&vs[0])),
        (Kind::Port, Op::Ge) => format!("{v} >= {}", port_of(&vs[0])),
        (Kind::List, Op::Eq | Op::Ne | Op::Contains) => {
            format!("{v}.contains({})", q(str_of(&vs[0])))
        }
        (Kind::List, Op::In) => {
            let l: Vec<String> = vs.iter().map(|s| q(str_of(s))).collect();
            format!("{v}.containsAny([{}])", l.join(", "))
        }
        (k, op) => panic!("{op:?} on {k:?} is outside the fragment"),
    };
    (test, negate)
}

fn port_of(v: &Val) -> u16 {
    match v {
        Val::Port(p, _) => *p,
        Val::S(s) => panic!("a string {s:?} where a port is expected"),
    }
}

/// `T(e)` (`want` true) or `F(e)` (`want` false): the condition is definitely true / false.
pub fn truth(e: &Expr, want: bool) -> String {
    match e {
        Expr::Const(b) => (*b == want).to_string(),
        Expr::Has(a) => {
            let (g, _) = access(*a);
            if want {
                format!("({g})")
            } else {
                format!("!({g})")
            }
        }
        Expr::Cmp(a, op, vs) => {
            let (g, _) = access(*a);
            let (test, negate) = cmp_test(*a, *op, vs);
            if want != negate {
                format!("({g} && {test})")
            } else {
                format!("({g} && !({test}))")
            }
        }
        Expr::Not(e) => truth(e, !want),
        Expr::And(a, b) | Expr::Or(a, b) => {
            // T(a and b) = T(a) && T(b); F(a and b) = F(a) || F(b); dually for `or`.
            let conj = matches!(e, Expr::And(..)) == want;
            let join = if conj { "&&" } else { "||" };
            format!("({} {join} {})", truth(a, want), truth(b, want))
        }
    }
}

fn clauses(cs: &[Vec<Matcher>]) -> String {
    either(cs.iter().map(|c| {
        let ms: Vec<String> = c.iter().map(matcher).collect();
        format!("({})", ms.join(" && "))
    }))
}

fn rule(out: &mut String, i: usize, r: &Rule) {
    let head = match r.effect {
        Effect::Allow => "permit",
        Effect::Deny => "forbid",
    };
    let mut to = r.to.clone();
    // One `to` clause with a method: the method goes in the scope, as Cedar authors write it.
    let mut action = "action".to_string();
    if let [clause] = to.as_mut_slice()
        && let Some(at) = clause
            .iter()
            .position(|m| m.attr == Attr::Method && !m.negated)
    {
        let m = clause.remove(at);
        action = format!("action in {}", action_list(&m.values));
        if clause.is_empty() {
            to.clear();
        }
    }
    // One `from` clause with one exact principal: the principal goes in the scope.
    let mut from = r.from.clone();
    let mut principal = "principal".to_string();
    if let [clause] = from.as_mut_slice()
        && let Some(at) = clause.iter().position(|m| {
            m.attr == Attr::Principal
                && !m.negated
                && matches!(m.values.as_slice(), [Val::S(p)] if !p.contains('*'))
        })
    {
        let m = clause.remove(at);
        principal = format!("principal == Workload::{}", q(str_of(&m.values[0])));
        if clause.is_empty() {
            from.clear();
        }
    }
    let _ = write!(
        out,
        "@id({})\n{head} ({principal}, {action}, resource)",
        q(&rule_id(i))
    );
    if !from.is_empty() {
        let _ = write!(out, "\n  when {{ {} }}", clauses(&from));
    }
    if !to.is_empty() {
        let _ = write!(out, "\n  when {{ {} }}", clauses(&to));
    }
    for e in &r.when {
        let _ = write!(out, "\n  when {{ {} }}", truth(e, true));
    }
    for e in &r.unless {
        let _ = write!(out, "\n  when {{ {} }}", truth(e, false));
    }
    out.push_str(";\n");
}

/// The policy set as Cedar text: `permit` per allow rule, `forbid` per deny rule.
pub fn policies(rules: &[Rule]) -> String {
    let mut out = String::new();
    for (i, r) in rules.iter().enumerate() {
        rule(&mut out, i, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::ip_text;

    /// Evaluates a Cedar boolean expression with no entities: `Err` on an evaluation error.
    fn eval(expr: &str) -> Result<bool, String> {
        let text = format!("permit (principal, action, resource) when {{ {expr} }};");
        let policies = cedar_policy::PolicySet::from_str(&text).map_err(|e| format!("{e:?}"))?;
        let uid = |t: &str| cedar_policy::EntityUid::from_str(&format!("{t}::\"x\"")).unwrap();
        let request = cedar_policy::Request::new(
            uid("A"),
            uid("Action"),
            uid("B"),
            cedar_policy::Context::empty(),
            None,
        )
        .unwrap();
        let response = cedar_policy::Authorizer::new().is_authorized(
            &request,
            &policies,
            &cedar_policy::Entities::empty(),
        );
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(e.to_string());
        }
        Ok(response.decision() == cedar_policy::Decision::Allow)
    }

    #[test]
    fn ipv4_mapped_addresses_are_written_in_hex_and_keep_their_family() {
        assert_eq!(ip_text("::ffff:10.1.2.3"), "0:0:0:0:0:ffff:a01:203");
        assert_eq!(ip_text("::ffff:10.0.0.0/104"), "0:0:0:0:0:ffff:a00:0/104");
        assert_eq!(ip_text("10.1.0.0/16"), "10.1.0.0/16");
        // Cedar refuses the dotted form, which is why the translation writes hex.
        assert!(eval(r#"ip("::ffff:10.1.2.3").isIpv6()"#).is_err());
        let mapped = r#"ip("0:0:0:0:0:ffff:a01:203")"#;
        assert_eq!(
            eval(&format!("{mapped}.isInRange(ip(\"10.0.0.0/8\"))")),
            Ok(false)
        );
        assert_eq!(
            eval(&format!("{mapped}.isInRange(ip(\"0.0.0.0/0\"))")),
            Ok(false)
        );
        assert_eq!(eval(&format!("{mapped}.isInRange(ip(\"::/0\"))")), Ok(true));
        let net = ip_text("::ffff:10.0.0.0/104");
        assert_eq!(
            eval(&format!("{mapped}.isInRange(ip(\"{net}\"))")),
            Ok(true)
        );
        assert_eq!(eval(r#"ip("10.1.2.3").isInRange(ip("::/0"))"#), Ok(false));
    }

    #[test]
    fn like_crosses_slashes_so_one_star_needs_a_second_test() {
        assert_eq!(eval(r#""a/b" like "a*""#), Ok(true));
        let p = super::pattern("\"a/b\"", "a*");
        assert_eq!(eval(&p), Ok(false));
        assert_eq!(eval(&super::pattern("\"ab\"", "a*")), Ok(true));
        assert_eq!(eval(&super::pattern("\"/x\"", "**/x")), Ok(true));
        assert_eq!(eval(&super::pattern("\"x\"", "**/x")), Ok(true));
        assert_eq!(eval(&super::pattern("\"/yx\"", "**/x")), Ok(false));
        assert_eq!(eval(&super::pattern("\"/api\"", "/api/**")), Ok(false));
        assert_eq!(eval(&super::pattern("\"/api/\"", "/api/**")), Ok(true));
    }
}
