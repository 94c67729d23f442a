//! Cases drawn from bytes: the one generator of the Cedar oracle.
//!
//! The proptest (`benches/tests/cedar_oracle.rs`) feeds it random bytes and shrinks them; the
//! `cedar_differential` fuzz target feeds it libFuzzer's. Choices are read with
//! [`arbitrary::Unstructured`]; when the bytes run out every further choice is the first one
//! (and every optional thing absent), so shorter inputs give simpler cases.

use arbitrary::{Result, Unstructured};

use super::ast::{Attr, Case, Claim, Effect, Expr, Kind, Matcher, Op, Req, Rule, Val};
use super::vocab::{
    CLAIM_VALS, COND_ATTRS, FROM_ATTRS, IPS, LABEL_KEYS, LABEL_VALUES, NAMESPACES, PATHS,
    PORT_BOUNDS, PORT_VALUES, PORTS, PRINCIPALS, REQ_METHODS, SERVICE_ACCOUNTS, TO_ATTRS,
    TRUST_DOMAINS,
};

/// Most rules in a case.
const MAX_RULES: u32 = 6;
/// Most requests in a case.
const MAX_REQUESTS: u32 = 6;
/// Deepest condition (`not`, `and`, `or` nest at most this deep).
const MAX_DEPTH: u32 = 2;

/// A case from the bytes.
pub fn case(u: &mut Unstructured<'_>) -> Result<Case> {
    let n_rules = u.int_in_range(1..=MAX_RULES)?;
    let mut rules = Vec::new();
    for _ in 0..n_rules {
        rules.push(rule(u)?);
    }
    let n_requests = u.int_in_range(1..=MAX_REQUESTS)?;
    let mut requests = Vec::new();
    for _ in 0..n_requests {
        requests.push(request(u)?);
    }
    Ok(Case { rules, requests })
}

fn rule(u: &mut Unstructured<'_>) -> Result<Rule> {
    let effect = if u.ratio(1, 3)? {
        Effect::Deny
    } else {
        Effect::Allow
    };
    let from = clauses(u, FROM_ATTRS)?;
    let to = clauses(u, TO_ATTRS)?;
    let mut when = Vec::new();
    for _ in 0..u.int_in_range(0..=2u32)? {
        when.push(expr(u, MAX_DEPTH)?);
    }
    let mut unless = Vec::new();
    if u.ratio(1, 4)? {
        unless.push(expr(u, MAX_DEPTH)?);
    }
    Ok(Rule {
        effect,
        from,
        to,
        when,
        unless,
    })
}

fn clauses(u: &mut Unstructured<'_>, attrs: &[Attr]) -> Result<Vec<Vec<Matcher>>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(0..=2u32)? {
        let mut clause = Vec::new();
        for _ in 0..u.int_in_range(1..=3u32)? {
            let attr = *u.choose(attrs)?;
            clause.push(Matcher {
                negated: u.ratio(1, 5)?,
                attr,
                values: values(u, attr, false, 2)?,
            });
        }
        out.push(clause);
    }
    Ok(out)
}

/// One to `max` values for `attr`: patterns (`exact` false) or literals.
fn values(u: &mut Unstructured<'_>, attr: Attr, exact: bool, max: u32) -> Result<Vec<Val>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(1..=max)? {
        out.push(value(u, attr, exact)?);
    }
    Ok(out)
}

fn value(u: &mut Unstructured<'_>, attr: Attr, exact: bool) -> Result<Val> {
    Ok(match attr.kind() {
        Kind::Port => {
            let (a, b) = *u.choose(PORT_VALUES)?;
            Val::Port(a, b)
        }
        _ => Val::S(u.choose(attr.values(exact))?),
    })
}

fn expr(u: &mut Unstructured<'_>, depth: u32) -> Result<Expr> {
    let compound = depth > 0 && u.ratio(1, 3)?;
    if compound {
        let next = depth.saturating_sub(1);
        return Ok(match u.int_in_range(0..=2u8)? {
            0 => Expr::Not(Box::new(expr(u, next)?)),
            1 => Expr::And(Box::new(expr(u, next)?), Box::new(expr(u, next)?)),
            _ => Expr::Or(Box::new(expr(u, next)?), Box::new(expr(u, next)?)),
        });
    }
    let attr = *u.choose(COND_ATTRS)?;
    match u.int_in_range(0..=9u8)? {
        0 => return Ok(Expr::Const(u.arbitrary()?)),
        1 | 2 => return Ok(Expr::Has(attr)),
        _ => {}
    }
    let ops: &[Op] = match attr.kind() {
        Kind::Str => &[Op::Eq, Op::Ne, Op::In, Op::Matches],
        Kind::Ip | Kind::Method => &[Op::Eq, Op::Ne, Op::In],
        Kind::Port => &[Op::Eq, Op::Ne, Op::In, Op::Lt, Op::Ge],
        // No `matches` on a list: Cedar has no "some element is like" (spec/cedar.md).
        Kind::List => &[Op::Eq, Op::Ne, Op::In, Op::Contains],
    };
    let op = *u.choose(ops)?;
    let vals = match (op, attr.kind()) {
        (Op::Lt | Op::Ge, _) => {
            let b = *u.choose(PORT_BOUNDS)?;
            vec![Val::Port(b, b)]
        }
        (Op::In | Op::Matches, _) => values(u, attr, op == Op::In, 3)?,
        _ => vec![value(u, attr, true)?],
    };
    Ok(Expr::Cmp(attr, op, vals))
}

fn labels(u: &mut Unstructured<'_>) -> Result<Option<Vec<(&'static str, &'static str)>>> {
    if !u.ratio(2, 3)? {
        return Ok(None);
    }
    let mut out = Vec::new();
    for key in LABEL_KEYS {
        if u.ratio(2, 3)? {
            out.push((*key, *u.choose(LABEL_VALUES)?));
        }
    }
    Ok(Some(out))
}

fn maybe<T: Copy>(u: &mut Unstructured<'_>, num: u8, den: u8, from: &[T]) -> Result<Option<T>> {
    Ok(if u.ratio(num, den)? {
        Some(*u.choose(from)?)
    } else {
        None
    })
}

fn request(u: &mut Unstructured<'_>) -> Result<Req> {
    let groups = if u.ratio(2, 3)? {
        Some(if u.ratio(1, 4)? {
            Claim::One(*u.choose(CLAIM_VALS)?)
        } else {
            let mut list = Vec::new();
            for _ in 0..u.int_in_range(0..=2u8)? {
                list.push(*u.choose(CLAIM_VALS)?);
            }
            Claim::List(list)
        })
    } else {
        None
    };
    Ok(Req {
        principal: maybe(u, 4, 5, PRINCIPALS)?,
        namespace: maybe(u, 1, 5, NAMESPACES)?,
        service_account: maybe(u, 1, 6, SERVICE_ACCOUNTS)?,
        trust_domain: maybe(u, 1, 6, TRUST_DOMAINS)?,
        src_labels: labels(u)?,
        src_ip: maybe(u, 3, 4, IPS)?,
        dst_namespace: maybe(u, 3, 4, NAMESPACES)?,
        dst_labels: labels(u)?,
        dst_port: maybe(u, 3, 4, PORTS)?,
        dst_ip: maybe(u, 2, 3, IPS)?,
        method: maybe(u, 4, 5, REQ_METHODS)?,
        path: maybe(u, 4, 5, PATHS)?,
        groups,
    })
}
