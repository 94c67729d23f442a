//! Converting literals to the values the model needs: string lists, patterns, networks, port
//! ranges. Each conversion names what it expected when the literal is of another kind.

use ipnet::IpNet;

use super::Ctx;
use crate::pattern::{Pattern, PatternSet};
use crate::span::Span;
use crate::syntax::ast::{Lit, LitKind};

/// The items of a literal: its elements when it is a list, itself otherwise. An empty list is
/// an error: it would match nothing, and silently so.
pub fn items<'l>(cx: &mut Ctx<'_>, lit: &'l Lit, what: &str) -> Option<Vec<&'l Lit>> {
    match &lit.kind {
        LitKind::List(items) if items.is_empty() => {
            cx.error(
                "empty-list",
                format!("empty list in {what} matches nothing"),
                lit.span,
                Some("give at least one value, or remove the matcher"),
            );
            None
        }
        LitKind::List(items) if items.len() > cx.limits.max_list_len => {
            let limit = cx.limits.max_list_len;
            let what = format!("list in {what} has {} items", items.len());
            cx.over_limit(what, "max_list_len", limit, lit.span);
            None
        }
        LitKind::List(items) => Some(items.iter().collect()),
        _ => Some(vec![lit]),
    }
}

/// A string or list of strings, as patterns (`*` makes a glob when `globs` is true).
pub fn patterns(
    cx: &mut Ctx<'_>,
    lit: &Lit,
    what: &str,
    globs: bool,
    case_insensitive: bool,
) -> Option<PatternSet> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in items(cx, lit, what)? {
        let LitKind::Str(s) = &item.kind else {
            cx.error(
                "type",
                format!(
                    "{what} takes a string or a list of strings, found {}",
                    item.kind.describe()
                ),
                item.span,
                Some("quote the value, e.g. `\"prod\"`"),
            );
            ok = false;
            continue;
        };
        if globs && s.contains('*') && !glob_within_limits(cx, s, item.span) {
            ok = false;
            continue;
        }
        if globs {
            match Pattern::new(s, case_insensitive) {
                Ok(p) => out.push(p),
                Err(e) => {
                    cx.error("glob", e.message, item.span, Some(&e.help));
                    ok = false;
                }
            }
        } else {
            out.push(Pattern::exact(s, case_insensitive));
        }
    }
    ok.then_some(PatternSet(out))
}

/// Checks a glob against the pattern limits, counting it towards the set's total.
fn glob_within_limits(cx: &mut Ctx<'_>, s: &str, span: Span) -> bool {
    let limits = cx.limits;
    cx.patterns = cx.patterns.saturating_add(1);
    if cx.patterns == limits.max_patterns.saturating_add(1) {
        let what = format!(
            "the policy set has more than {} glob patterns",
            limits.max_patterns
        );
        cx.over_limit(what, "max_patterns", limits.max_patterns, span);
        return false;
    }
    if s.len() > limits.max_pattern_bytes {
        let what = format!("glob pattern of {} bytes", s.len());
        cx.over_limit(what, "max_pattern_bytes", limits.max_pattern_bytes, span);
        return false;
    }
    // Runs of `*` (so `**` is one wildcard).
    let mut in_run = false;
    let wildcards = s
        .chars()
        .filter(|&c| {
            let starts_run = c == '*' && !in_run;
            in_run = c == '*';
            starts_run
        })
        .count();
    if wildcards > limits.max_pattern_wildcards {
        let what = format!("glob pattern with {wildcards} wildcards");
        cx.over_limit(
            what,
            "max_pattern_wildcards",
            limits.max_pattern_wildcards,
            span,
        );
        return false;
    }
    cx.patterns <= limits.max_patterns
}

/// Path patterns: like [`patterns`], and each must start with `/` or `*`, since request paths do.
pub fn paths(cx: &mut Ctx<'_>, lit: &Lit, what: &str) -> Option<PatternSet> {
    let set = patterns(cx, lit, what, true, false)?;
    let mut ok = true;
    for (p, item) in set.0.iter().zip(items(cx, lit, what).unwrap_or_default()) {
        if !p.as_str().starts_with('/') && !p.as_str().starts_with('*') {
            cx.error(
                "path",
                format!("path `{}` does not start with `/`", p.as_str()),
                item.span,
                Some("request paths always start with `/`, so this pattern could never match"),
            );
            ok = false;
        }
    }
    ok.then_some(set)
}

/// IP addresses and CIDRs, as networks (an address is a /32 or /128).
pub fn networks(cx: &mut Ctx<'_>, lit: &Lit, what: &str) -> Option<Vec<IpNet>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in items(cx, lit, what)? {
        match &item.kind {
            LitKind::Cidr(net) => out.push(*net),
            LitKind::Ip(ip) => out.push(IpNet::from(*ip)),
            LitKind::Str(s) => {
                cx.error(
                    "type",
                    format!("{what} takes IP addresses or CIDR blocks, found the string `{s}`"),
                    item.span,
                    Some("write addresses without quotes, e.g. `10.0.0.0/8`"),
                );
                ok = false;
            }
            other => {
                cx.error(
                    "type",
                    format!(
                        "{what} takes IP addresses or CIDR blocks, found {}",
                        other.describe()
                    ),
                    item.span,
                    Some("e.g. `10.0.0.0/8` or `[10.0.0.0/8, 192.168.1.7]`"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Integers and ranges within `bounds`, as inclusive ranges. With `wrap`, a range whose low end
/// is above its high end wraps around (`22..6` for hours).
pub fn int_ranges(
    cx: &mut Ctx<'_>,
    lit: &Lit,
    what: &str,
    bounds: (i64, i64),
    wrap: bool,
) -> Option<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in items(cx, lit, what)? {
        match int_range(cx, item, what, bounds, wrap) {
            Some(mut r) => out.append(&mut r),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn int_range(
    cx: &mut Ctx<'_>,
    lit: &Lit,
    what: &str,
    bounds: (i64, i64),
    wrap: bool,
) -> Option<Vec<(i64, i64)>> {
    match &lit.kind {
        LitKind::Int(n) => Some(vec![(in_bounds(cx, *n, lit.span, what, bounds)?, *n)]),
        LitKind::Range(lo, hi) => {
            let (LitKind::Int(a), LitKind::Int(b)) = (&lo.kind, &hi.kind) else {
                cx.error(
                    "type",
                    format!(
                        "{what} takes integer ranges, found `{}`",
                        describe_range(lo, hi)
                    ),
                    lit.span,
                    None,
                );
                return None;
            };
            let a = in_bounds(cx, *a, lo.span, what, bounds)?;
            let b = in_bounds(cx, *b, hi.span, what, bounds)?;
            if a <= b {
                Some(vec![(a, b)])
            } else if wrap {
                Some(vec![(a, bounds.1), (bounds.0, b)])
            } else {
                cx.error(
                    "range",
                    format!("range `{a}..{b}` is empty"),
                    lit.span,
                    Some("write the low end first; both ends are included"),
                );
                None
            }
        }
        other => {
            cx.error(
                "type",
                format!(
                    "{what} takes integers or ranges, found {}",
                    other.describe()
                ),
                lit.span,
                Some("e.g. `8080`, `8000..8999` or `[80, 443]`"),
            );
            None
        }
    }
}

fn describe_range(lo: &Lit, hi: &Lit) -> String {
    format!("{}..{}", lo.kind.describe(), hi.kind.describe())
}

fn in_bounds(
    cx: &mut Ctx<'_>,
    n: i64,
    span: Span,
    what: &str,
    (lo, hi): (i64, i64),
) -> Option<i64> {
    if n < lo || n > hi {
        cx.error(
            "out-of-range",
            format!("{what} is {lo} to {hi}; `{n}` can never match"),
            span,
            None,
        );
        return None;
    }
    Some(n)
}
