//! Condition expressions (`when` / `unless`), by precedence climbing:
//! `or` < `and` < `not` < comparison. Nesting is bounded so that no input can overflow the
//! stack.

use super::ast::*;
use super::lexeme::*;
use super::literal::literal;

/// Deepest nesting of parentheses and `not` accepted: the parser's ceiling, defined by
/// [`PolicyLimits::MAX_EXPRESSION_DEPTH`](crate::PolicyLimits::MAX_EXPRESSION_DEPTH).
const MAX_DEPTH: usize = crate::limits::PolicyLimits::MAX_EXPRESSION_DEPTH;

/// Roots of attribute paths; a bare word starting with one of these is an attribute.
pub const ATTRIBUTE_ROOTS: [&str; 6] = [
    "source",
    "destination",
    "request",
    "time",
    "context",
    "connection",
];

/// A condition expression.
pub fn expr(i: In<'_>) -> PResult<'_, Expr> {
    or_expr(i, 0)
}

fn or_expr(i: In<'_>, depth: usize) -> PResult<'_, Expr> {
    let (mut i, first) = and_expr(i, depth)?;
    let mut operands = vec![first];
    while let Ok((rest, _)) = keyword("or")(i) {
        let (rest, rhs) = and_expr(rest, depth)?;
        operands.push(rhs);
        i = rest;
    }
    Ok((i, balanced(operands, ExprKind::Or)))
}

fn and_expr(i: In<'_>, depth: usize) -> PResult<'_, Expr> {
    let (mut i, first) = not_expr(i, depth)?;
    let mut operands = vec![first];
    while let Ok((rest, _)) = keyword("and")(i) {
        let (rest, rhs) = not_expr(rest, depth)?;
        operands.push(rhs);
        i = rest;
    }
    Ok((i, balanced(operands, ExprKind::And)))
}

/// Joins a chain `a op b op c …` (at least one operand) into a balanced tree, so that a long
/// chain nests only logarithmically deep: every later stage (validation, dropping the tree)
/// recurses on it, and a left-deep tree of a few thousand operands would overflow the stack.
/// `and` and `or` are associative and the operands keep their left-to-right order.
fn balanced(mut operands: Vec<Expr>, join: fn(Box<Expr>, Box<Expr>) -> ExprKind) -> Expr {
    if operands.len() <= 1 {
        // The parsers above always push a first operand.
        return operands.pop().unwrap_or(Expr {
            kind: ExprKind::Bool(true),
            span: crate::span::Span::default(),
        });
    }
    let right = operands.split_off(operands.len() / 2);
    let (lhs, rhs) = (balanced(operands, join), balanced(right, join));
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: join(Box::new(lhs), Box::new(rhs)),
        span,
    }
}

fn too_deep<T>(i: In<'_>) -> PResult<'_, T> {
    // Point at the `(` or `not` that goes too deep, not at the white space before it.
    let (i, ()) = ws(i)?;
    fail(
        i,
        format!("condition is nested more than {MAX_DEPTH} levels deep"),
        Some("split it into several `when` statements"),
    )
}

fn not_expr(i: In<'_>, depth: usize) -> PResult<'_, Expr> {
    if let Ok((rest, kw)) = keyword("not")(i) {
        if depth >= MAX_DEPTH {
            return too_deep(i);
        }
        let (rest, inner) = not_expr(rest, depth.saturating_add(1))?;
        let span = kw.to(inner.span);
        return Ok((
            rest,
            Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            },
        ));
    }
    primary(i, depth)
}

fn primary(i: In<'_>, depth: usize) -> PResult<'_, Expr> {
    if let Ok((rest, open)) = punct("(")(i) {
        if depth >= MAX_DEPTH {
            return too_deep(i);
        }
        let (rest, mut inner) = or_expr(rest, depth.saturating_add(1))?;
        let (rest, close) = expect(rest, ")", "to close `(`")?;
        inner.span = open.to(close);
        return Ok((rest, inner));
    }
    if let Ok((rest, kw)) = keyword("has")(i) {
        let (rest, attr) = attribute(rest)?;
        let span = kw.to(attr.span);
        return Ok((
            rest,
            Expr {
                kind: ExprKind::Has(attr),
                span,
            },
        ));
    }
    for (kw, value) in [("true", true), ("false", false)] {
        if let Ok((rest, span)) = keyword(kw)(i) {
            return Ok((
                rest,
                Expr {
                    kind: ExprKind::Bool(value),
                    span,
                },
            ));
        }
    }
    let (at, _) = ws(i)?;
    if ident(at).is_err() {
        return fail(
            at,
            format!("expected a condition, found {}", found(at)),
            Some("a condition compares an attribute with a value, e.g. `source.ip in 10.0.0.0/8`"),
        );
    }
    let (rest, lhs) = attribute(at)?;
    let (rest, (op, op_span)) = match operator(rest) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(rest)?;
            return fail(
                at,
                format!(
                    "expected an operator after `{}`, found {}",
                    path_text(&lhs),
                    found(at)
                ),
                Some(
                    "the operators are `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `matches` and `contains`",
                ),
            );
        }
        Err(e) => return Err(e),
    };
    let (rest, rhs) = operand(rest)?;
    let span = lhs.span.to(match &rhs {
        Operand::Attr(a) => a.span,
        Operand::Lit(l) => l.span,
    });
    Ok((
        rest,
        Expr {
            kind: ExprKind::Cmp {
                lhs,
                op,
                op_span,
                rhs,
            },
            span,
        },
    ))
}

/// The attribute's dotted path as written, without keys.
pub fn path_text(a: &AttrRef) -> String {
    a.path
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

fn operator(i: In<'_>) -> PResult<'_, (CmpOp, crate::span::Span)> {
    for (text, op) in [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ] {
        if let Ok((rest, span)) = punct(text)(i) {
            return Ok((rest, (op, span)));
        }
    }
    for (text, op) in [
        ("in", CmpOp::In),
        ("matches", CmpOp::Matches),
        ("contains", CmpOp::Contains),
    ] {
        if let Ok((rest, span)) = keyword(text)(i) {
            return Ok((rest, (op, span)));
        }
    }
    if let Ok((_, span)) = punct("=")(i) {
        return fail_at(i, span, "unexpected `=`", Some("compare with `==`"));
    }
    Err(nom::Err::Error(SyntaxError {
        start: i.location_offset(),
        end: i.location_offset(),
        message: String::new(),
        help: None,
    }))
}

fn operand(i: In<'_>) -> PResult<'_, Operand> {
    if let Ok((_, first)) = ident(i)
        && ATTRIBUTE_ROOTS.contains(first.fragment())
    {
        return attribute(i).map(|(r, a)| (r, Operand::Attr(a)));
    }
    literal(i).map(|(r, l)| (r, Operand::Lit(l)))
}

/// An attribute reference: `ident(.ident)*(["key"])*`.
pub fn attribute(i: In<'_>) -> PResult<'_, AttrRef> {
    let (mut i, first) = match ident(i) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            return fail(
                at,
                format!(
                    "expected an attribute such as `source.namespace`, found {}",
                    found(at)
                ),
                None,
            );
        }
        Err(e) => return Err(e),
    };
    let start = span_of(&first);
    let mut path = vec![Ident {
        name: first.fragment().to_string(),
        span: start,
    }];
    let mut end = start;
    // Segments are joined by `.` with no white space around it.
    while let Some(rest) = i.fragment().strip_prefix('.') {
        let _ = rest;
        let (after_dot, _) = nom::bytes::complete::tag::<_, _, SyntaxError>(".")
            .parse_complete(i)
            .map_err(nom::Err::convert)?;
        match nom::bytes::complete::take_while1::<_, _, SyntaxError>(|c: char| {
            c.is_ascii_alphanumeric() || c == '_'
        })
        .parse_complete(after_dot)
        {
            Ok((rest, seg)) => {
                end = span_of(&seg);
                path.push(Ident {
                    name: seg.fragment().to_string(),
                    span: end,
                });
                i = rest;
            }
            Err(_) => {
                return fail(
                    after_dot,
                    format!(
                        "expected an attribute name after `.`, found {}",
                        found(after_dot)
                    ),
                    None,
                );
            }
        }
    }
    let mut keys = Vec::new();
    while i.fragment().starts_with('[') {
        let (rest, _) = punct("[")(i)?;
        let (rest, key) = match string(rest) {
            Ok((rest, (value, span))) => (rest, StrLit { value, span }),
            Err(nom::Err::Error(_)) => {
                let (at, _) = ws(rest)?;
                return fail(
                    at,
                    format!("expected a key in quotes, found {}", found(at)),
                    Some("e.g. `request.headers[\"x-user\"]`"),
                );
            }
            Err(e) => return Err(e),
        };
        let (rest, close) = expect(rest, "]", "after the key")?;
        end = close;
        keys.push(key);
        i = rest;
    }
    Ok((
        i,
        AttrRef {
            path,
            keys,
            span: start.to(end),
        },
    ))
}

use nom::Parser;
