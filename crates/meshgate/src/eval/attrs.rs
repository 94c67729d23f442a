//! Reading attributes from a request and applying predicates to them, without allocating.

use std::fmt::Write as _;
use std::net::IpAddr;

use jiff::civil::Weekday;

use super::Truth;
use crate::attr::Attr;
use crate::model::{DynPred, Pred, Scalar, Zone};
use crate::request::{Request, SpiffeId, Value};

/// A request prepared for evaluation: the SPIFFE id parsed once.
pub struct Env<'r, 'a> {
    req: &'r Request<'a>,
    spiffe: Option<SpiffeId<'r>>,
}

impl<'r, 'a> Env<'r, 'a> {
    /// Prepares `req`.
    pub fn new(req: &'r Request<'a>) -> Self {
        Env {
            req,
            spiffe: req.spiffe(),
        }
    }

    /// The request.
    pub fn request(&self) -> &'r Request<'a> {
        self.req
    }

    /// The value of a single-string attribute, if present.
    pub fn str_attr(&self, attr: &Attr) -> Option<&'r str> {
        let r = self.req;
        match attr {
            Attr::SourcePrincipal => r.source.principal.as_deref(),
            Attr::SourceNamespace => r
                .source
                .namespace
                .as_deref()
                .or(self.spiffe.and_then(|s| s.namespace)),
            Attr::SourceServiceAccount => r
                .source
                .service_account
                .as_deref()
                .or(self.spiffe.and_then(|s| s.service_account)),
            Attr::SourceTrustDomain => r
                .source
                .trust_domain
                .as_deref()
                .or(self.spiffe.map(|s| s.trust_domain)),
            Attr::SourceLabel(k) => r.source.labels.get(k).map(|v| &**v),
            Attr::DestService => r.destination.service.as_deref(),
            Attr::DestNamespace => r.destination.namespace.as_deref(),
            Attr::DestLabel(k) => r.destination.labels.get(k).map(|v| &**v),
            Attr::Method => r.request.method.as_deref(),
            Attr::Path => r.path(),
            Attr::Host => r.host(),
            Attr::Header(k) => r.request.headers.get_ignore_case(k).map(|v| &**v),
            Attr::AuthPrincipal => r.request.auth.principal.as_deref(),
            Attr::AuthPresenter => r.request.auth.presenter.as_deref(),
            Attr::ConnectionSni => r.connection.sni.as_deref(),
            _ => None,
        }
    }

    /// Calls `f` with each string value of a string or string-list attribute (none when it is
    /// absent), read as tests read them: a claim's integers and booleans as their JSON text,
    /// a list's scalar elements (§6.5).
    pub fn each_str(&self, attr: &Attr, mut f: impl FnMut(&str)) {
        match attr {
            Attr::AuthAudiences => {
                if let Some(auds) = self.req.request.auth.audiences.as_deref() {
                    auds.iter().for_each(|a| f(a));
                }
            }
            Attr::AuthClaim(keys) => {
                if let Some(v) = self.claim(keys) {
                    any_str(v, |s| {
                        f(s);
                        false
                    });
                }
            }
            _ => {
                if let Some(s) = self.str_attr(attr) {
                    f(s);
                }
            }
        }
    }

    /// The value of an address attribute, if present.
    pub fn ip_attr(&self, attr: &Attr) -> Option<IpAddr> {
        match attr {
            Attr::SourceIp => self.req.source.ip,
            Attr::SourceRemoteIp => self.req.source.remote_ip,
            Attr::DestIp => self.req.destination.ip,
            _ => None,
        }
    }

    fn claim(&self, keys: &[Box<str>]) -> Option<&'r Value<'a>> {
        let (first, rest) = keys.split_first()?;
        let mut v = self.req.request.auth.claims.get(first)?;
        for k in rest {
            match v {
                Value::Map(m) => v = m.get(k)?,
                _ => return None,
            }
        }
        Some(v)
    }
}

/// Whether the attribute is present in the request.
pub fn has(attr: &Attr, env: &Env<'_, '_>) -> bool {
    let r = env.req;
    match attr {
        Attr::SourceIp | Attr::SourceRemoteIp | Attr::DestIp => env.ip_attr(attr).is_some(),
        Attr::DestPort => r.destination.port.is_some(),
        Attr::AuthAudiences => r.request.auth.audiences.is_some(),
        Attr::AuthClaim(keys) => env.claim(keys).is_some(),
        Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate => {
            r.time.is_some()
        }
        Attr::Context(k) => r.context.get(k).is_some(),
        _ => env.str_attr(attr).is_some(),
    }
}

/// Applies `pred` to `attr`'s value; unknown when the attribute is absent.
pub fn eval_pred(
    attr: &Attr,
    pred: &Pred,
    env: &Env<'_, '_>,
    zone: &Zone,
) -> Result<Truth, String> {
    let r = env.req;
    let known = |b: Option<bool>| Ok(b.map_or(Truth::Unknown, Truth::from_bool));
    match pred {
        Pred::Str(set) => match attr {
            Attr::AuthAudiences => known(
                r.request
                    .auth
                    .audiences
                    .as_deref()
                    .map(|auds| auds.iter().any(|a| set.matches(a))),
            ),
            Attr::AuthClaim(keys) => known(env.claim(keys).map(|v| any_str(v, |s| set.matches(s)))),
            _ => known(env.str_attr(attr).map(|s| set.matches(s))),
        },
        Pred::AttrEq(other) => {
            let ci = attr.case_insensitive() || other.case_insensitive();
            known(match (env.str_attr(attr), env.str_attr(other)) {
                (Some(a), Some(b)) => Some(if ci {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }),
                _ => None,
            })
        }
        Pred::Ip(nets) => known(
            env.ip_attr(attr)
                .map(|ip| nets.iter().any(|n| n.contains(&ip))),
        ),
        Pred::Int(ranges) => {
            let value = match attr {
                Attr::DestPort => r.destination.port.map(i64::from),
                Attr::TimeHour => r.time.map(|t| i64::from(zone.tz.to_datetime(t).hour())),
                Attr::TimeMinute => r.time.map(|t| i64::from(zone.tz.to_datetime(t).minute())),
                _ => None,
            };
            known(value.map(|v| ranges.iter().any(|&(lo, hi)| lo <= v && v <= hi)))
        }
        Pred::Weekday(mask) => known(
            r.time
                .map(|t| mask & weekday_bit(zone.tz.to_datetime(t).weekday()) != 0),
        ),
        Pred::Date(lo, hi) => known(r.time.map(|t| {
            let d = zone.tz.to_datetime(t).date();
            *lo <= d && d <= *hi
        })),
        Pred::Time(lo, hi) => known(r.time.map(|t| *lo <= t && t <= *hi)),
        Pred::Dyn(p) => match attr {
            Attr::Context(k) => match r.context.get(k) {
                None => Ok(Truth::Unknown),
                Some(v) => dyn_pred(p, v, attr).map(Truth::from_bool),
            },
            _ => Ok(Truth::Unknown),
        },
    }
}

/// Bit for a weekday in a [`Pred::Weekday`] mask (Monday = bit 0).
pub fn weekday_bit(day: Weekday) -> u8 {
    1 << (day.to_monday_zero_offset() as u8)
}

/// Whether `f` holds for the value read as a string, or for any element when it is a list.
fn any_str(v: &Value<'_>, mut f: impl FnMut(&str) -> bool) -> bool {
    match v {
        Value::List(items) => items.iter().any(|item| scalar_str(item, &mut f)),
        other => scalar_str(other, &mut f),
    }
}

/// Applies `f` to a scalar's string form, formatting integers on the stack.
fn scalar_str(v: &Value<'_>, f: &mut impl FnMut(&str) -> bool) -> bool {
    match v {
        Value::Str(s) => f(s),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let mut buf = StackStr::default();
            let _ = write!(buf, "{n}");
            f(buf.as_str())
        }
        Value::List(_) | Value::Map(_) => false,
    }
}

/// A 24-byte string buffer: enough for any `i64`.
#[derive(Default)]
struct StackStr {
    buf: [u8; 24],
    len: usize,
}

impl StackStr {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(std::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn scalar_eq(v: &Value<'_>, s: &Scalar) -> Option<bool> {
    match (v, s) {
        (Value::Str(a), Scalar::Str(b)) => Some(a == b),
        (Value::Int(a), Scalar::Int(b)) => Some(a == b),
        (Value::Bool(a), Scalar::Bool(b)) => Some(a == b),
        _ => None,
    }
}

fn scalar_kind(s: &Scalar) -> &'static str {
    match s {
        Scalar::Str(_) => "a string",
        Scalar::Int(_) => "an integer",
        Scalar::Bool(_) => "a boolean",
    }
}

fn dyn_pred(p: &DynPred, v: &Value<'_>, attr: &Attr) -> Result<bool, String> {
    let mismatch = |wanted: &str| {
        format!(
            "`{attr}` is {} but the rule compares it with {wanted}",
            v.kind()
        )
    };
    match p {
        DynPred::OneOf(options) => {
            let mut comparable = false;
            for o in options {
                match scalar_eq(v, o) {
                    Some(true) => return Ok(true),
                    Some(false) => comparable = true,
                    None => {}
                }
            }
            if comparable {
                Ok(false)
            } else {
                Err(mismatch(options.first().map_or("a value", scalar_kind)))
            }
        }
        DynPred::IntRange(lo, hi) => match v {
            Value::Int(n) => Ok(lo <= n && n <= hi),
            _ => Err(mismatch("an integer")),
        },
        DynPred::Glob(set) => match v {
            Value::Str(s) => Ok(set.matches(s)),
            _ => Err(mismatch("a string pattern")),
        },
        DynPred::Contains(s) => match v {
            Value::List(items) => Ok(items.iter().any(|item| scalar_eq(item, s) == Some(true))),
            _ => Err(mismatch("a list element")),
        },
    }
}
