//! Literals: strings, bracketed lists, and bare words classified by their shape.
//!
//! A bare word is one run of `[A-Za-z0-9_.:/+-]`, so `10.0.0.0/8`, `2001:db8::/32`,
//! `2026-03-29T01:30:00Z`, `8000..8999` and `mon..fri` each arrive as one word and are
//! classified here. Classification is by shape alone; whether the kind fits where it stands
//! is the validator's concern.

use std::borrow::Cow;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::ast::{Lit, LitKind};
use super::lexeme::{
    In, PResult, expect, fail, fail_at, found, punct, span_between, span_of, string, word, ws,
};
use crate::span::Span;

/// Longest list literal accepted: the parser's ceiling, defined by
/// [`PolicyLimits::MAX_LIST_LEN`](crate::PolicyLimits::MAX_LIST_LEN).
const MAX_LIST_LEN: usize = crate::limits::PolicyLimits::MAX_LIST_LEN;

/// A literal: a string, a list, or a bare word.
pub fn literal(i: In<'_>) -> PResult<'_, Lit> {
    let (i, _) = ws(i)?;
    match string(i) {
        Ok((rest, (value, span))) => {
            return Ok((
                rest,
                Lit {
                    kind: LitKind::Str(value),
                    span,
                },
            ));
        }
        // Not a string; a broken one (unterminated, bad escape) is reported as such.
        Err(nom::Err::Error(_)) => {}
        Err(e) => return Err(e),
    }
    if let Ok((rest, open)) = punct("[")(i) {
        return list(i, rest, open);
    }
    match word(i) {
        Ok((rest, w)) => {
            let span = span_of(&w);
            match classify(w.fragment(), span) {
                Ok(kind) => Ok((rest, Lit { kind, span })),
                Err((message, help)) => fail_at(i, span, message, Some(&help)),
            }
        }
        Err(nom::Err::Error(_)) => fail(
            i,
            format!("expected a value, found {}", found(i)),
            Some(VALUE_HELP),
        ),
        Err(e) => Err(e),
    }
}

const VALUE_HELP: &str = "values are strings (`\"/api/**\"`), numbers (`8080`), ranges (`8..17`, `mon..fri`), \
IP addresses and CIDRs (`10.0.0.0/8`), dates (`2026-12-24`), timestamps (`2026-01-01T00:00:00Z`) or lists of these in `[…]`";

fn list<'a>(start: In<'a>, mut i: In<'a>, open: Span) -> PResult<'a, Lit> {
    let mut items = Vec::new();
    loop {
        if let Ok((rest, _)) = punct("]")(i) {
            return Ok((
                rest,
                Lit {
                    kind: LitKind::List(items),
                    span: span_between(&start_ws(start), &rest),
                },
            ));
        }
        if items.len() >= MAX_LIST_LEN {
            return fail_at(
                i,
                open,
                format!("list has more than {MAX_LIST_LEN} items"),
                Some("split the rule or use a glob"),
            );
        }
        let (rest, item) = literal(i)?;
        if matches!(item.kind, LitKind::List(_)) {
            return fail_at(rest, item.span, "lists cannot be nested", None);
        }
        items.push(item);
        i = rest;
        if let Ok((rest, _)) = punct(",")(i) {
            i = rest;
        } else {
            let (rest, _) = expect(i, "]", "to close the list")?;
            return Ok((
                rest,
                Lit {
                    kind: LitKind::List(items),
                    span: span_between(&start_ws(start), &rest),
                },
            ));
        }
    }
}

fn start_ws(i: In<'_>) -> In<'_> {
    ws(i).map(|(rest, ())| rest).unwrap_or(i)
}

type ClassifyError = (String, Cow<'static, str>);

/// A byte length as a span offset (sources are limited far below 4 GiB).
fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Classifies a bare word by its shape.
pub fn classify(text: &str, span: Span) -> Result<LitKind, ClassifyError> {
    if let Some((lo, hi)) = text.split_once("..") {
        let lo_span = Span {
            end: span.start.saturating_add(clamp(lo.len())),
            ..span
        };
        let hi_span = Span {
            start: span.start.saturating_add(clamp(lo.len())).saturating_add(2),
            ..span
        };
        if lo.is_empty() || hi.is_empty() || hi.contains("..") {
            return Err((
                format!("invalid range `{text}`"),
                "a range is `LOW..HIGH`, both ends included, e.g. `8000..8999` or `mon..fri`"
                    .into(),
            ));
        }
        let lo = classify_single(lo)?;
        let hi = classify_single(hi)?;
        return Ok(LitKind::Range(
            Box::new(Lit {
                kind: lo,
                span: lo_span,
            }),
            Box::new(Lit {
                kind: hi,
                span: hi_span,
            }),
        ));
    }
    classify_single(text)
}

fn classify_single(text: &str) -> Result<LitKind, ClassifyError> {
    match text {
        "true" => return Ok(LitKind::Bool(true)),
        "false" => return Ok(LitKind::Bool(false)),
        _ => {}
    }
    if let Some(day) = weekday(text) {
        return Ok(LitKind::Weekday(day));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().map(LitKind::Int).map_err(|_| {
            (
                format!("integer `{text}` is out of range"),
                "integers are 64-bit signed".into(),
            )
        });
    }
    if text.contains('/') {
        return match IpNet::from_str(text) {
            Ok(net) if net.trunc() == net => Ok(LitKind::Cidr(net)),
            Ok(net) => Err((
                format!("CIDR `{text}` has host bits set"),
                format!("write the network address: `{}`", net.trunc()).into(),
            )),
            Err(_) => Err((
                format!("invalid CIDR `{text}`"),
                "a CIDR is an address and a prefix length, e.g. `10.0.0.0/8` or `2001:db8::/32`"
                    .into(),
            )),
        };
    }
    if let Ok(ip) = IpAddr::from_str(text) {
        return Ok(LitKind::Ip(ip));
    }
    if looks_like_date(text) {
        if text.len() == 10 {
            return jiff::civil::Date::from_str(text)
                .map(LitKind::Date)
                .map_err(|_| {
                    (
                        format!("invalid date `{text}`"),
                        "a date is `YYYY-MM-DD`, e.g. `2026-12-24`".into(),
                    )
                });
        }
        return jiff::Timestamp::from_str(text).map(LitKind::Timestamp).map_err(|_| {
            (
                format!("invalid timestamp `{text}`"),
                "a timestamp is RFC 3339 with an offset, e.g. `2026-01-01T00:00:00Z` or `2026-01-01T09:00:00+01:00`".into(),
            )
        });
    }
    if text.contains(':') {
        return Err((
            format!("invalid IP address `{text}`"),
            "e.g. `10.1.2.3` or `2001:db8::1`".into(),
        ));
    }
    let mut chars = text.chars();
    if chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Ok(LitKind::Ident(text.to_string()));
    }
    if text.split('.').count() == 4
        && text
            .split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err((
            format!("invalid IP address `{text}`"),
            "each part of an IPv4 address is 0 to 255".into(),
        ));
    }
    Err((format!("invalid value `{text}`"), VALUE_HELP.into()))
}

fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
}

/// The weekday a three-letter name stands for.
pub fn weekday(text: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    Some(match text {
        "mon" => Monday,
        "tue" => Tuesday,
        "wed" => Wednesday,
        "thu" => Thursday,
        "fri" => Friday,
        "sat" => Saturday,
        "sun" => Sunday,
        _ => return None,
    })
}
