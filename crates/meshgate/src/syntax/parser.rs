//! Items: roles, rules, their statements and `from`/`to` clauses.
//!
//! Errors are fatal within an item (nom's `Failure`); the file-level loop records the error and
//! resumes at the next line that starts an item, so one file reports all its broken items.

use super::ast::*;
use super::expr::expr;
use super::lexeme::*;
use super::literal::literal;
use crate::span::Span;

const ITEM_KEYWORDS: [&str; 6] = ["role", "allow", "deny", "audit", "dry_run", "default"];

/// Parses a whole file, collecting every syntax error (one per broken item).
pub fn file(input: In<'_>) -> (File, Vec<SyntaxError>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut i = input;
    while let Ok((rest, ())) = ws(i) {
        i = rest;
        if i.fragment().is_empty() {
            break;
        }
        match item(i) {
            Ok((rest, it)) => {
                items.push(it);
                i = rest;
            }
            Err(nom::Err::Error(mut e) | nom::Err::Failure(mut e)) => {
                if e.message.is_empty() {
                    // A byte offset (`take` would count characters).
                    let at = nom::Input::take_from(
                        &input,
                        e.start
                            .saturating_sub(input.location_offset())
                            .min(input.fragment().len()),
                    );
                    e.message = format!("unexpected {}", found(at));
                    e.end = e.start.saturating_add(found_len(at));
                }
                let resume_from = e.end.max(i.location_offset().saturating_add(1));
                // An item left open (a missing `}`) fails at the keyword of the next item: resume
                // right there, so that item is parsed and its own errors are reported too.
                let next = if e.start > i.location_offset() {
                    item_at(input, e.start)
                } else {
                    None
                };
                errors.push(e);
                match next.or_else(|| skip_to_next_item(input, resume_from)) {
                    Some(rest) => i = rest,
                    None => break,
                }
            }
            Err(nom::Err::Incomplete(_)) => break,
        }
    }
    (File { items }, errors)
}

/// The input at byte `at` when an item's head (`allow "id" {`, `role name {`, …) starts there
/// as the first thing on its line.
fn item_at(input: In<'_>, at: usize) -> Option<In<'_>> {
    let text = *input.fragment();
    let at = at.checked_sub(input.location_offset())?;
    let line = text.get(
        text.get(..at)?
            .rfind('\n')
            .map_or(0, |n| n.saturating_add(1))..at,
    )?;
    if !line.trim_matches([' ', '\t', '\r']).is_empty() {
        return None;
    }
    let here = nom::Input::take_from(&input, at);
    let head = |i| -> PResult<'_, ()> {
        let i = if let Ok((rest, _)) = keyword("role")(i) {
            ident(rest)?.0
        } else if let Ok((rest, _)) = keyword("default")(i) {
            string(keyword("allow")(rest)?.0)?.0
        } else {
            let i = keyword("dry_run")(i).map_or(i, |(rest, _)| rest);
            let (i, _) =
                nom::branch::alt((keyword("allow"), keyword("deny"), keyword("audit"))).parse(i)?;
            string(i)?.0
        };
        punct("{")(i).map(|(rest, _)| (rest, ()))
    };
    head(here).is_ok().then_some(here)
}

/// The input at the first line after byte `from` whose first word starts an item.
fn skip_to_next_item(input: In<'_>, from: usize) -> Option<In<'_>> {
    let text = *input.fragment();
    let base = input.location_offset();
    let from = from.saturating_sub(base);
    let mut line_start = text
        .get(from..)?
        .find('\n')?
        .saturating_add(from)
        .saturating_add(1);
    loop {
        let line = text.get(line_start..)?;
        let trimmed = line.trim_start_matches([' ', '\t', '\r']);
        let indent = line.len().saturating_sub(trimmed.len());
        if ITEM_KEYWORDS.iter().any(|kw| {
            trimmed
                .strip_prefix(kw)
                .is_some_and(|after| !after.starts_with(is_ident_char))
        }) {
            // A byte offset (`take` would count characters).
            return Some(nom::Input::take_from(
                &input,
                line_start.saturating_add(indent),
            ));
        }
        line_start = line_start.saturating_add(line.find('\n')?.saturating_add(1));
    }
}

use nom::Parser;

fn item(i: In<'_>) -> PResult<'_, Item> {
    if peek_keyword(i, "role") {
        return role(i).map(|(r, d)| (r, Item::Role(d)));
    }
    if peek_keyword(i, "default") {
        return default(i).map(|(r, d)| (r, Item::Default(d)));
    }
    if ITEM_KEYWORDS.iter().any(|kw| peek_keyword(i, kw)) {
        return rule(i).map(|(r, d)| (r, Item::Rule(d)));
    }
    let (at, _) = ws(i)?;
    fail(
        at,
        format!(
            "expected `allow`, `deny`, `audit`, `dry_run`, `default` or `role`, found {}",
            found(at)
        ),
        Some(
            "a policy file holds rules (`allow \"id\" { … }`), roles (`role name { … }`) and \
             defaults (`default allow \"id\" { … }`)",
        ),
    )
}

fn name<'a>(i: In<'a>, what: &str) -> PResult<'a, Ident> {
    match ident(i) {
        Ok((rest, id)) => Ok((
            rest,
            Ident {
                name: id.fragment().to_string(),
                span: span_of(&id),
            },
        )),
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            fail(at, format!("expected {what}, found {}", found(at)), None)
        }
        Err(e) => Err(e),
    }
}

fn role(i: In<'_>) -> PResult<'_, RoleDecl> {
    let (i, kw) = keyword("role")(i)?;
    let (i, name) = name(i, "a role name")?;
    let (mut i, _) = expect(i, "{", "after the role name")?;
    let mut body = Vec::new();
    loop {
        if let Ok((rest, close)) = punct("}")(i) {
            return Ok((
                rest,
                RoleDecl {
                    name,
                    body,
                    span: kw.to(close),
                },
            ));
        }
        if let Ok((rest, _)) = keyword("include")(i) {
            let (rest, names) = names(rest, "a role name after `include`")?;
            body.extend(names.into_iter().map(RoleStmt::Include));
            i = rest;
        } else if let Ok((rest, start)) = keyword("permit")(i) {
            let (rest, p) = permit(rest, start)?;
            body.push(RoleStmt::Permit(p));
            i = rest;
        } else {
            let (at, _) = ws(i)?;
            return fail(
                at,
                format!(
                    "expected `permit`, `include` or `}}` in role `{}`, found {}",
                    name.name,
                    found(at)
                ),
                Some("e.g. `permit GET, HEAD on \"/api/**\"` or `include reader`"),
            );
        }
    }
}

fn names<'a>(i: In<'a>, what: &str) -> PResult<'a, Vec<Ident>> {
    let (mut i, first) = name(i, what)?;
    let mut out = vec![first];
    while let Ok((rest, _)) = punct(",")(i) {
        let (rest, n) = name(rest, what)?;
        out.push(n);
        i = rest;
    }
    Ok((i, out))
}

fn permit(i: In<'_>, start: Span) -> PResult<'_, Permit> {
    let (i, methods, methods_span) = if let Ok((rest, star)) = punct("*")(i) {
        (rest, None, star)
    } else {
        let (rest, ms) = names(i, "an HTTP method or `*` after `permit`")?;
        let span = ms.first().map(|m| m.span).unwrap_or(start);
        let span = ms.last().map_or(span, |m| span.to(m.span));
        (rest, Some(ms), span)
    };
    let (i, _) = match keyword("on")(i) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            return fail(
                at,
                format!(
                    "expected `on` and a path after the methods, found {}",
                    found(at)
                ),
                Some("e.g. `permit GET on \"/api/**\"`"),
            );
        }
        Err(e) => return Err(e),
    };
    let (mut i, paths) = literal(i)?;
    let mut end = paths.span;
    let mut hosts = None;
    let mut ports = None;
    loop {
        if let Ok((rest, kw)) = keyword("host")(i) {
            if hosts.is_some() {
                return fail_at(
                    i,
                    kw,
                    "`host` is given twice in one `permit`",
                    Some("list several hosts in one `host [\"a\", \"b\"]`"),
                );
            }
            let (rest, h) = literal(rest)?;
            end = h.span;
            hosts = Some(h);
            i = rest;
        } else if let Ok((rest, kw)) = keyword("port")(i) {
            if ports.is_some() {
                return fail_at(
                    i,
                    kw,
                    "`port` is given twice in one `permit`",
                    Some("list several ports in one `port [80, 8000..8999]`"),
                );
            }
            let (rest, p) = literal(rest)?;
            end = p.span;
            ports = Some(p);
            i = rest;
        } else {
            break;
        }
    }
    Ok((
        i,
        Permit {
            methods,
            methods_span,
            paths,
            hosts,
            ports,
            span: start.to(end),
        },
    ))
}

fn rule(i: In<'_>) -> PResult<'_, RuleDecl> {
    let (i, dry_run) = match keyword("dry_run")(i) {
        Ok((rest, s)) => (rest, Some(s)),
        Err(_) => (i, None),
    };
    let (i, effect, effect_span) = if let Ok((rest, s)) = keyword("allow")(i) {
        (rest, Effect::Allow, s)
    } else if let Ok((rest, s)) = keyword("deny")(i) {
        (rest, Effect::Deny, s)
    } else if let Ok((rest, s)) = keyword("audit")(i) {
        (rest, Effect::Audit, s)
    } else {
        let (at, _) = ws(i)?;
        return fail(
            at,
            format!(
                "expected `allow`, `deny` or `audit` after `dry_run`, found {}",
                found(at)
            ),
            None,
        );
    };
    let (i, id) = quoted_id(
        i,
        &format!("the rule id in quotes after `{}`", effect.as_str()),
        "e.g. `allow \"frontend-reads-payments\" { … }`",
    )?;
    let (mut i, _) = expect(i, "{", "after the rule id")?;
    let mut body = Vec::new();
    let start = dry_run.unwrap_or(effect_span);
    loop {
        if let Ok((rest, close)) = punct("}")(i) {
            return Ok((
                rest,
                RuleDecl {
                    dry_run,
                    effect,
                    effect_span,
                    id,
                    body,
                    span: start.to(close),
                },
            ));
        }
        let (rest, stmt) = rule_stmt(i, &id.value)?;
        body.push(stmt);
        i = rest;
    }
}

/// The quoted id of a rule or default; `what` and `help` describe it when it is missing.
fn quoted_id<'a>(i: In<'a>, what: &str, help: &str) -> PResult<'a, StrLit> {
    match string(i) {
        Ok((rest, (value, span))) => Ok((rest, StrLit { value, span })),
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            fail(
                at,
                format!("expected {what}, found {}", found(at)),
                Some(help),
            )
        }
        Err(e) => Err(e),
    }
}

/// `default allow "ID" { select … }`.
fn default(i: In<'_>) -> PResult<'_, DefaultDecl> {
    let (i, kw) = keyword("default")(i)?;
    let i = match keyword("allow")(i) {
        Ok((rest, _)) => rest,
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            let help = if peek_keyword(at, "deny") {
                "requests no rule allows are already denied; `default allow` opens the workloads \
                 that no allow rule selects"
            } else {
                "e.g. `default allow \"mesh-default\" { }`"
            };
            return fail(
                at,
                format!("expected `allow` after `default`, found {}", found(at)),
                Some(help),
            );
        }
        Err(e) => return Err(e),
    };
    let (i, id) = quoted_id(
        i,
        "the default's id in quotes after `default allow`",
        "e.g. `default allow \"mesh-default\" { }`",
    )?;
    let (mut i, _) = expect(i, "{", "after the id")?;
    let mut select = Vec::new();
    loop {
        if let Ok((rest, close)) = punct("}")(i) {
            return Ok((
                rest,
                DefaultDecl {
                    id,
                    select,
                    span: kw.to(close),
                },
            ));
        }
        if let Ok((rest, kw)) = keyword("select")(i) {
            let (rest, c) = clause(rest, kw)?;
            select.push(c);
            i = rest;
            continue;
        }
        let (at, _) = ws(i)?;
        return fail(
            at,
            format!(
                "expected `select` or `}}` in default `{}`, found {}",
                id.value,
                found(at)
            ),
            Some(
                "a default holds only `select` statements, naming the workloads it opens \
                 (e.g. `select namespace \"legacy\"`)",
            ),
        );
    }
}

fn rule_stmt<'a>(i: In<'a>, id: &str) -> PResult<'a, RuleStmt> {
    if let Ok((rest, kw)) = keyword("select")(i) {
        return clause(rest, kw).map(|(r, c)| (r, RuleStmt::Select(c)));
    }
    if let Ok((rest, kw)) = keyword("from")(i) {
        return clause(rest, kw).map(|(r, c)| (r, RuleStmt::From(c)));
    }
    if let Ok((rest, kw)) = keyword("to")(i) {
        return clause(rest, kw).map(|(r, c)| (r, RuleStmt::To(c)));
    }
    if let Ok((rest, kw)) = keyword("grant")(i) {
        let (rest, roles) = names(rest, "a role name after `grant`")?;
        let span = roles.last().map_or(kw, |r| kw.to(r.span));
        return Ok((rest, RuleStmt::Grant(roles, span)));
    }
    if let Ok((rest, _)) = keyword("when")(i) {
        return expr(rest).map(|(r, e)| (r, RuleStmt::When(e)));
    }
    if let Ok((rest, _)) = keyword("unless")(i) {
        return expr(rest).map(|(r, e)| (r, RuleStmt::Unless(e)));
    }
    if let Ok((rest, _)) = keyword("timezone")(i) {
        return match string(rest) {
            Ok((rest, (value, span))) => Ok((rest, RuleStmt::Timezone(StrLit { value, span }))),
            Err(nom::Err::Error(_)) => {
                let (at, _) = ws(rest)?;
                fail(
                    at,
                    format!("expected a time zone name in quotes, found {}", found(at)),
                    Some("e.g. `timezone \"Europe/Berlin\"`"),
                )
            }
            Err(e) => Err(e),
        };
    }
    let (at, _) = ws(i)?;
    let help = if at.fragment().is_empty() {
        "close the rule with `}`".to_string()
    } else {
        "a rule body holds `select`, `from`, `to`, `grant`, `when`, `unless` and `timezone` \
         statements"
            .to_string()
    };
    fail(
        at,
        format!(
            "expected `select`, `from`, `to`, `grant`, `when`, `unless`, `timezone` or `}}` in rule `{id}`, found {}",
            found(at)
        ),
        Some(&help),
    )
}

fn clause(i: In<'_>, kw: Span) -> PResult<'_, Clause> {
    let (mut i, first) = matcher(i)?;
    let mut end = first.span;
    let mut matchers = vec![first];
    while let Ok((rest, _)) = punct(",")(i) {
        let (rest, m) = matcher(rest)?;
        end = m.span;
        matchers.push(m);
        i = rest;
    }
    Ok((
        i,
        Clause {
            matchers,
            span: kw.to(end),
        },
    ))
}

fn matcher(i: In<'_>) -> PResult<'_, Matcher> {
    let (i, negated) = match keyword("not")(i) {
        Ok((rest, s)) => (rest, Some(s)),
        Err(_) => (i, None),
    };
    let (i, kind) = match ident(i) {
        Ok((rest, k)) => (
            rest,
            Ident {
                name: k.fragment().to_string(),
                span: span_of(&k),
            },
        ),
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            return fail(
                at,
                format!(
                    "expected a matcher such as `principal`, `namespace` or `path`, found {}",
                    found(at)
                ),
                None,
            );
        }
        Err(e) => return Err(e),
    };
    let (i, key) = if kind.name == "label" {
        let quoted = match string(i) {
            Ok(ok) => Some(ok),
            Err(nom::Err::Error(_)) => None,
            Err(e) => return Err(e),
        };
        let (i, key) = if let Some((rest, (value, span))) = quoted {
            (rest, StrOrIdent { value, span })
        } else {
            match word(i) {
                Ok((rest, w)) => (
                    rest,
                    StrOrIdent {
                        value: w.fragment().to_string(),
                        span: span_of(&w),
                    },
                ),
                Err(_) => {
                    let (at, _) = ws(i)?;
                    return fail(
                        at,
                        format!("expected a label key after `label`, found {}", found(at)),
                        Some("e.g. `label app = \"web\"`"),
                    );
                }
            }
        };
        let (i, _) = expect(i, "=", "after the label key")?;
        (i, Some(key))
    } else {
        (i, None)
    };
    let (i, value) = literal(i)?;
    let start = negated.unwrap_or(kind.span);
    let span = start.to(value.span);
    Ok((
        i,
        Matcher {
            negated,
            kind,
            key,
            value,
            span,
        },
    ))
}
