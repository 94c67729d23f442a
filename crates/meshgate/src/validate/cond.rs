//! Conditions: resolving attributes, checking operand types, and lowering comparisons to
//! predicates (`<`, `in 8..17` and `==` all become ranges, `!=` becomes a negation).

use super::Ctx;
use super::literals;
use crate::attr::{self, Attr, ResolveError, Type};
use crate::model::{Cond, Condition, DynPred, Pred, Scalar, Test};
use crate::pattern::{Pattern, PatternSet};
use crate::span::Span;
use crate::syntax::ast::{AttrRef, CmpOp, Expr, ExprKind, Lit, LitKind, Operand};

/// Resolves an attribute reference, reporting unknown names with a suggestion.
pub fn resolve(cx: &mut Ctx<'_>, a: &AttrRef) -> Option<Attr> {
    let path = a
        .path
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".");
    let keys: Vec<&str> = a.keys.iter().map(|k| k.value.as_str()).collect();
    match attr::resolve(&path, &keys) {
        Ok(attr) => Some(attr),
        Err(ResolveError::Unknown { suggestion }) => {
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "attributes start with `source.`, `destination.`, `request.`, `connection.`, `time` or `context.`; spec/language.md lists them".to_string(),
            };
            cx.error(
                "unknown-attribute",
                format!("unknown attribute `{path}`"),
                a.span,
                Some(&help),
            );
            None
        }
        Err(ResolveError::MissingKey) => {
            cx.error(
                "attribute-key",
                format!("`{path}` needs a key"),
                a.span,
                Some(&format!("e.g. `{path}[\"name\"]`")),
            );
            None
        }
        Err(ResolveError::UnexpectedKey) => {
            cx.error(
                "attribute-key",
                format!("`{path}` does not take this key"),
                a.span,
                None,
            );
            None
        }
    }
}

/// Refuses a condition nested deeper than [`PolicyLimits::max_expression_depth`]
/// (parentheses and `not`; the operands of an `and`/`or` chain count once, as written).
///
/// [`PolicyLimits::max_expression_depth`]: crate::PolicyLimits::max_expression_depth
fn check_depth(cx: &mut Ctx<'_>, e: &Expr) -> Option<()> {
    let limit = cx.limits.max_expression_depth;
    // Chains are stored as balanced trees of `And`/`Or`: a level of nesting as written is a
    // `not`, or a chain under a `not` or under a chain of the other operator (parentheses).
    // An explicit stack: no recursion on input.
    #[derive(Clone, Copy, PartialEq)]
    enum Parent {
        Top,
        Chain(bool),
        Not,
    }
    let mut deepest: Option<Span> = None;
    let mut stack = vec![(e, 0usize, Parent::Top)];
    while let Some((e, depth, parent)) = stack.pop() {
        if depth > limit {
            deepest = Some(e.span);
            break;
        }
        match &e.kind {
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let depth = match parent {
                    Parent::Top => depth,
                    Parent::Chain(p) if p == is_and => depth,
                    Parent::Chain(_) | Parent::Not => depth.saturating_add(1),
                };
                stack.push((a, depth, Parent::Chain(is_and)));
                stack.push((b, depth, Parent::Chain(is_and)));
            }
            ExprKind::Not(a) => stack.push((a, depth.saturating_add(1), Parent::Not)),
            ExprKind::Has(_) | ExprKind::Cmp { .. } | ExprKind::Bool(_) => {}
        }
    }
    match deepest {
        Some(span) => {
            let what = format!("condition is nested more than {limit} levels deep");
            cx.over_limit(what, "max_expression_depth", limit, span);
            None
        }
        None => Some(()),
    }
}

/// Lowers a whole `when` or `unless` expression, keeping where it is written (see
/// [`Condition`]).
pub fn condition(cx: &mut Ctx<'_>, e: &Expr) -> Option<Condition> {
    check_depth(cx, e)?;
    let cond = lower(cx, e)?;
    let operands = match &cond {
        Cond::Or(items) => {
            let spans = or_operand_spans(e);
            // Lowering flattens exactly the tree's `or` nodes (parentheses leave none), so the
            // counts agree; were they ever not to, each operand points at the whole expression
            // rather than at a wrong one.
            if spans.len() == items.len() {
                spans
            } else {
                vec![e.span; items.len()]
            }
        }
        _ => Vec::new(),
    };
    Some(Condition {
        cond,
        span: e.span,
        operands,
    })
}

/// The spans of the operands of `e`'s top-level `or`, left to right.
fn or_operand_spans(e: &Expr) -> Vec<Span> {
    // An explicit stack: no recursion on input. Right pushed first, so left pops first.
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            _ => out.push(e.span),
        }
    }
    out
}

/// Lowers an expression.
pub fn lower(cx: &mut Ctx<'_>, e: &Expr) -> Option<Cond> {
    match &e.kind {
        ExprKind::Bool(b) => Some(Cond::Const(*b)),
        ExprKind::Not(inner) => lower(cx, inner).map(|c| Cond::Not(Box::new(c))),
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            let (la, lb) = (lower(cx, a), lower(cx, b));
            let (la, lb) = (la?, lb?);
            let is_and = matches!(e.kind, ExprKind::And(..));
            Some(flatten(is_and, la, lb))
        }
        ExprKind::Has(a) => resolve(cx, a).map(Cond::Has),
        ExprKind::Cmp {
            lhs,
            op,
            op_span,
            rhs,
        } => {
            let attr = resolve(cx, lhs)?;
            comparison(cx, attr, *op, *op_span, rhs, e.span)
        }
    }
}

fn flatten(is_and: bool, a: Cond, b: Cond) -> Cond {
    let mut items = Vec::new();
    for c in [a, b] {
        match (is_and, c) {
            (true, Cond::And(inner)) | (false, Cond::Or(inner)) => items.extend(inner),
            (_, c) => items.push(c),
        }
    }
    if is_and {
        Cond::And(items)
    } else {
        Cond::Or(items)
    }
}

fn test(attr: Attr, pred: Pred, span: Span) -> Cond {
    Cond::Test(Test {
        attr,
        pred,
        negated: false,
        span,
    })
}

fn comparison(
    cx: &mut Ctx<'_>,
    attr: Attr,
    op: CmpOp,
    op_span: Span,
    rhs: &Operand,
    span: Span,
) -> Option<Cond> {
    let lit = match rhs {
        Operand::Attr(other) => {
            let other = resolve(cx, other)?;
            let strs = |t: Type| t == Type::Str;
            if !matches!(op, CmpOp::Eq | CmpOp::Ne) || !strs(attr.ty()) || !strs(other.ty()) {
                cx.error("type", format!("`{attr}` {} `{other}` is not supported", op.as_str()), span, Some("two attributes can be compared only with `==` or `!=`, and only when both are strings"));
                return None;
            }
            let c = test(attr, Pred::AttrEq(other), span);
            return Some(if op == CmpOp::Ne {
                Cond::Not(Box::new(c))
            } else {
                c
            });
        }
        Operand::Lit(lit) => lit,
    };
    let ty = attr.ty();
    let positive = match (ty, op) {
        (_, CmpOp::Ne) => {
            return comparison(cx, attr, CmpOp::Eq, op_span, rhs, span)
                .map(|c| Cond::Not(Box::new(c)));
        }
        (Type::Str | Type::StrList, CmpOp::Eq) => string_eq(cx, &attr, lit, span)?,
        (Type::Str | Type::StrList, CmpOp::In) => {
            let set = literals::patterns(
                cx,
                lit,
                &format!("`{attr} in`"),
                false,
                attr.case_insensitive(),
            )?;
            Pred::Str(set)
        }
        (Type::Str | Type::StrList, CmpOp::Matches) => Pred::Str(literals::patterns(
            cx,
            lit,
            "`matches`",
            true,
            attr.case_insensitive(),
        )?),
        (Type::StrList, CmpOp::Contains) => string_eq(cx, &attr, lit, span)?,
        (Type::Ip, CmpOp::Eq | CmpOp::In) => {
            Pred::Ip(literals::networks(cx, lit, &format!("`{attr}`"))?)
        }
        (Type::Int, _) => Pred::Int(int_pred(cx, &attr, op, op_span, lit)?),
        (Type::Weekday, CmpOp::Eq | CmpOp::In) => Pred::Weekday(weekdays(cx, lit)?),
        (Type::Date, _) => date_pred(cx, op, op_span, lit)?,
        (Type::Timestamp, _) => time_pred(cx, op, op_span, lit)?,
        (Type::Dynamic, _) => Pred::Dyn(dyn_pred(cx, op, op_span, lit)?),
        _ => return unsupported(cx, &attr, op, op_span),
    };
    Some(test(attr, positive, span))
}

fn unsupported(cx: &mut Ctx<'_>, attr: &Attr, op: CmpOp, op_span: Span) -> Option<Cond> {
    let ty = attr.ty();
    let help = match ty {
        Type::Str => "strings take `==`, `!=`, `in [\"a\", \"b\"]` and `matches \"glob*\"`",
        Type::StrList => {
            "string lists take `contains`, `==`, `!=`, `in` and `matches`, each holding when any element does"
        }
        Type::Ip => "addresses take `==`, `!=` and `in 10.0.0.0/8`",
        Type::Weekday => "weekdays take `==`, `!=` and `in mon..fri`",
        _ => "see the operators in spec/language.md",
    };
    cx.error(
        "operator",
        format!(
            "`{}` cannot be applied to `{attr}` ({})",
            op.as_str(),
            ty.describe()
        ),
        op_span,
        Some(help),
    );
    None
}

fn string_eq(cx: &mut Ctx<'_>, attr: &Attr, lit: &Lit, span: Span) -> Option<Pred> {
    match &lit.kind {
        LitKind::Str(s) => Some(Pred::Str(PatternSet(vec![Pattern::exact(
            s,
            attr.case_insensitive(),
        )]))),
        other => {
            let _ = span;
            cx.error(
                "type",
                format!(
                    "`{attr}` is {} and cannot be compared with {}",
                    attr.ty().describe(),
                    other.describe()
                ),
                lit.span,
                Some("quote the value, e.g. `\"prod\"`; use `in [...]` for several"),
            );
            None
        }
    }
}

fn int_pred(
    cx: &mut Ctx<'_>,
    attr: &Attr,
    op: CmpOp,
    op_span: Span,
    lit: &Lit,
) -> Option<Vec<(i64, i64)>> {
    let bounds = attr.int_bounds().unwrap_or((i64::MIN, i64::MAX));
    let what = format!("`{attr}`");
    let wrap = matches!(attr, Attr::TimeHour | Attr::TimeMinute);
    match op {
        CmpOp::Eq | CmpOp::In => literals::int_ranges(cx, lit, &what, bounds, wrap),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let LitKind::Int(n) = lit.kind else {
                cx.error(
                    "type",
                    format!(
                        "{what} is an integer and cannot be compared with {}",
                        lit.kind.describe()
                    ),
                    lit.span,
                    None,
                );
                return None;
            };
            let range = match op {
                CmpOp::Lt => n.checked_sub(1).map(|m| (bounds.0, m)),
                CmpOp::Le => Some((bounds.0, n)),
                CmpOp::Gt => n.checked_add(1).map(|m| (m, bounds.1)),
                _ => Some((n, bounds.1)),
            };
            match range {
                Some((lo, hi)) if lo <= hi && lo <= bounds.1 && hi >= bounds.0 => {
                    Some(vec![(lo.max(bounds.0), hi.min(bounds.1))])
                }
                _ => {
                    cx.error(
                        "out-of-range",
                        format!("{what} {} {n} can never be true", op.as_str()),
                        lit.span,
                        Some(&format!("{what} is {} to {}", bounds.0, bounds.1)),
                    );
                    None
                }
            }
        }
        _ => {
            unsupported(cx, attr, op, op_span);
            None
        }
    }
}

fn weekdays(cx: &mut Ctx<'_>, lit: &Lit) -> Option<u8> {
    let mut mask = 0u8;
    for item in literals::items(cx, lit, "`time.weekday`")? {
        match &item.kind {
            LitKind::Weekday(d) => mask |= crate::eval::weekday_bit(*d),
            LitKind::Range(lo, hi) => {
                let (LitKind::Weekday(a), LitKind::Weekday(b)) = (&lo.kind, &hi.kind) else {
                    cx.error(
                        "type",
                        "`time.weekday` takes weekday ranges such as `mon..fri`",
                        item.span,
                        None,
                    );
                    return None;
                };
                let mut day = *a;
                loop {
                    mask |= crate::eval::weekday_bit(day);
                    if day == *b {
                        break;
                    }
                    day = day.next();
                }
            }
            other => {
                cx.error(
                    "type",
                    format!(
                        "`time.weekday` takes weekdays (`mon` … `sun`), found {}",
                        other.describe()
                    ),
                    item.span,
                    Some("e.g. `time.weekday in mon..fri`"),
                );
                return None;
            }
        }
    }
    Some(mask)
}

fn date_pred(cx: &mut Ctx<'_>, op: CmpOp, op_span: Span, lit: &Lit) -> Option<Pred> {
    use jiff::civil::Date;
    let one = |cx: &mut Ctx<'_>, l: &Lit| match l.kind {
        LitKind::Date(d) => Some(d),
        ref other => {
            cx.error(
                "type",
                format!(
                    "`time.date` takes dates (`2026-12-24`), found {}",
                    other.describe()
                ),
                l.span,
                None,
            );
            None
        }
    };
    let (lo, hi) = match (op, &lit.kind) {
        (CmpOp::In, LitKind::Range(a, b)) => (one(cx, a)?, one(cx, b)?),
        (CmpOp::Eq, _) => {
            let d = one(cx, lit)?;
            (d, d)
        }
        (CmpOp::Lt, _) => (Date::MIN, one(cx, lit)?.yesterday().ok()?),
        (CmpOp::Le, _) => (Date::MIN, one(cx, lit)?),
        (CmpOp::Gt, _) => (one(cx, lit)?.tomorrow().ok()?, Date::MAX),
        (CmpOp::Ge, _) => (one(cx, lit)?, Date::MAX),
        _ => {
            cx.error(
                "operator",
                format!("`{}` cannot be applied to `time.date` here", op.as_str()),
                op_span,
                Some("dates take `==`, `!=`, `<`, `<=`, `>`, `>=` and `in 2026-12-24..2026-12-26`"),
            );
            return None;
        }
    };
    if lo > hi {
        cx.error(
            "range",
            "date range is empty",
            lit.span,
            Some("write the earlier date first; both ends are included"),
        );
        return None;
    }
    Some(Pred::Date(lo, hi))
}

fn time_pred(cx: &mut Ctx<'_>, op: CmpOp, op_span: Span, lit: &Lit) -> Option<Pred> {
    use jiff::{SignedDuration, Timestamp};
    let one = |cx: &mut Ctx<'_>, l: &Lit| match l.kind {
        LitKind::Timestamp(t) => Some(t),
        ref other => {
            cx.error(
                "type",
                format!(
                    "`time` takes timestamps (`2026-01-01T00:00:00Z`), found {}",
                    other.describe()
                ),
                l.span,
                Some(
                    "for hours, weekdays and dates use `time.hour`, `time.weekday` and `time.date`",
                ),
            );
            None
        }
    };
    let tick = SignedDuration::from_nanos(1);
    let (lo, hi) = match (op, &lit.kind) {
        (CmpOp::In, LitKind::Range(a, b)) => (one(cx, a)?, one(cx, b)?),
        (CmpOp::Eq, _) => {
            let t = one(cx, lit)?;
            (t, t)
        }
        (CmpOp::Lt, _) => (Timestamp::MIN, one(cx, lit)?.checked_sub(tick).ok()?),
        (CmpOp::Le, _) => (Timestamp::MIN, one(cx, lit)?),
        (CmpOp::Gt, _) => (one(cx, lit)?.checked_add(tick).ok()?, Timestamp::MAX),
        (CmpOp::Ge, _) => (one(cx, lit)?, Timestamp::MAX),
        _ => {
            cx.error(
                "operator",
                format!("`{}` cannot be applied to `time`", op.as_str()),
                op_span,
                Some("`time` takes `==`, `<`, `<=`, `>`, `>=` and `in T1..T2`"),
            );
            return None;
        }
    };
    if lo > hi {
        cx.error(
            "range",
            "time range is empty",
            lit.span,
            Some("write the earlier instant first; both ends are included"),
        );
        return None;
    }
    Some(Pred::Time(lo, hi))
}

fn scalar(cx: &mut Ctx<'_>, lit: &Lit) -> Option<Scalar> {
    match &lit.kind {
        LitKind::Str(s) => Some(Scalar::Str(s.clone())),
        LitKind::Int(n) => Some(Scalar::Int(*n)),
        LitKind::Bool(b) => Some(Scalar::Bool(*b)),
        other => {
            cx.error(
                "type",
                format!(
                    "context values are strings, integers or booleans, found {}",
                    other.describe()
                ),
                lit.span,
                Some("quote other values as strings"),
            );
            None
        }
    }
}

fn dyn_pred(cx: &mut Ctx<'_>, op: CmpOp, op_span: Span, lit: &Lit) -> Option<DynPred> {
    match (op, &lit.kind) {
        (CmpOp::Eq, _) => Some(DynPred::OneOf(vec![scalar(cx, lit)?])),
        (CmpOp::In, LitKind::Range(a, b)) => match (&a.kind, &b.kind) {
            (LitKind::Int(lo), LitKind::Int(hi)) if lo <= hi => Some(DynPred::IntRange(*lo, *hi)),
            _ => {
                cx.error(
                    "range",
                    "context ranges are non-empty integer ranges such as `1..5`",
                    lit.span,
                    None,
                );
                None
            }
        },
        (CmpOp::In, _) => {
            let items = literals::items(cx, lit, "`in`")?;
            let scalars: Option<Vec<Scalar>> = items.into_iter().map(|l| scalar(cx, l)).collect();
            Some(DynPred::OneOf(scalars?))
        }
        (CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge, LitKind::Int(n)) => {
            let n = *n;
            let range = match op {
                CmpOp::Lt => n.checked_sub(1).map(|m| (i64::MIN, m)),
                CmpOp::Le => Some((i64::MIN, n)),
                CmpOp::Gt => n.checked_add(1).map(|m| (m, i64::MAX)),
                _ => Some((n, i64::MAX)),
            };
            match range {
                Some((lo, hi)) => Some(DynPred::IntRange(lo, hi)),
                None => {
                    cx.error(
                        "out-of-range",
                        format!("`{} {n}` can never be true", op.as_str()),
                        lit.span,
                        None,
                    );
                    None
                }
            }
        }
        (CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge, other) => {
            cx.error(
                "type",
                format!(
                    "`{}` compares integers, found {}",
                    op.as_str(),
                    other.describe()
                ),
                lit.span,
                None,
            );
            None
        }
        (CmpOp::Matches, _) => Some(DynPred::Glob(literals::patterns(
            cx,
            lit,
            "`matches`",
            true,
            false,
        )?)),
        (CmpOp::Contains, _) => Some(DynPred::Contains(scalar(cx, lit)?)),
        (CmpOp::Ne, _) => {
            cx.error(
                "operator",
                "`!=` is lowered before this point",
                op_span,
                None,
            );
            None
        }
    }
}
