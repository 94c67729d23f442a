//! The request space's coordinates: a *dimension* is one attribute the rules test (all of
//! `time`, `time.hour`, `time.minute`, `time.weekday` and `time.date` are one, [`Dim::Time`]),
//! and a [`Rep`] is one value of a dimension, put into a request with [`apply`].
//!
//! Invariant: [`apply`] sets only the dimension it is given, so requests are built one
//! dimension at a time and a class's representative means the same in any request.

use std::borrow::Cow;
use std::net::IpAddr;

use meshgate::attr::Attr;
use meshgate::request::{Pairs, Request, Value};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Dim {
    Attr(Attr),
    Time,
    /// Whether the destination carries a label under a key no rule tests (named by the key it
    /// is set under): a `select` reads a missing label as false only when the request carries
    /// some destination label (spec §4.4), so the presence of any label is part of the space.
    OtherLabels(String),
}

pub(super) fn dim_of(a: &Attr) -> Dim {
    match a {
        Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate => {
            Dim::Time
        }
        other => Dim::Attr(other.clone()),
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Attr(a) => write!(f, "{a}"),
            Dim::Time => f.write_str("time"),
            Dim::OtherLabels(_) => f.write_str("destination.labels (other keys)"),
        }
    }
}

/// A candidate value of one dimension.
#[derive(Clone, Debug)]
pub(super) enum Rep {
    Absent,
    Str(String),
    List(Vec<String>),
    Ip(IpAddr),
    Int(i64),
    Time(jiff::Timestamp),
    Ctx(Value<'static>),
}

/// Sets one dimension of a request. `false` when it cannot be set as asked.
pub(super) fn apply(req: &mut Request<'static>, dim: &Dim, rep: &Rep) -> bool {
    let s = |r: &Rep| match r {
        Rep::Str(s) => Some(Cow::Owned(s.clone())),
        _ => None,
    };
    let ip = |r: &Rep| match r {
        Rep::Ip(ip) => Some(*ip),
        _ => None,
    };
    if matches!(rep, Rep::Absent) {
        return true;
    }
    match dim {
        Dim::OtherLabels(key) => push(&mut req.destination.labels, key, Some(Cow::Borrowed("zz9"))),
        Dim::Time => {
            if let Rep::Time(t) = rep {
                req.time = Some(*t);
            }
        }
        Dim::Attr(a) => match a {
            Attr::SourcePrincipal => req.source.principal = s(rep),
            Attr::SourceNamespace => req.source.namespace = s(rep),
            Attr::SourceServiceAccount => req.source.service_account = s(rep),
            Attr::SourceTrustDomain => req.source.trust_domain = s(rep),
            Attr::SourceLabel(k) => push(&mut req.source.labels, k, s(rep)),
            Attr::SourceIp => req.source.ip = ip(rep),
            Attr::SourceRemoteIp => req.source.remote_ip = ip(rep),
            Attr::DestService => req.destination.service = s(rep),
            Attr::DestNamespace => req.destination.namespace = s(rep),
            Attr::DestLabel(k) => push(&mut req.destination.labels, k, s(rep)),
            Attr::DestPort => {
                req.destination.port = if let Rep::Int(n) = rep {
                    u16::try_from(*n).ok()
                } else {
                    None
                }
            }
            Attr::DestIp => req.destination.ip = ip(rep),
            Attr::Method => req.request.method = s(rep),
            Attr::Path => req.request.path = s(rep),
            Attr::Host => req.request.host = s(rep),
            Attr::Header(k) => push(&mut req.request.headers, k, s(rep)),
            Attr::AuthPrincipal => req.request.auth.principal = s(rep),
            Attr::AuthPresenter => req.request.auth.presenter = s(rep),
            Attr::AuthAudiences => {
                if let Rep::List(items) = rep {
                    req.request.auth.audiences = Some(Cow::Owned(
                        items.iter().map(|i| Cow::Owned(i.clone())).collect(),
                    ));
                }
            }
            Attr::AuthClaim(keys) => {
                let Rep::List(items) = rep else { return false };
                return put_claim(&mut req.request.auth.claims, keys, items);
            }
            Attr::ConnectionSni => req.connection.sni = s(rep),
            Attr::Context(k) => {
                if let Rep::Ctx(v) = rep {
                    req.context
                        .0
                        .to_mut()
                        .push((Cow::Owned(k.to_string()), v.clone()));
                }
            }
            Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate => {
            }
        },
    }
    true
}

/// Puts the claim at `keys` (`claims["org"]["team"]`) with the string list `items` into
/// `claims`, beside the claims already there: claims under one key share its map (the paths
/// `org.team` and `org.role` make `{"org": {"team": …, "role": …}}`). A claim whose path runs
/// through another claim's is a map there, which every test of the shorter claim treats like
/// the empty list (present, no string), so an empty list and a map stand for each other.
/// `false` when the claim cannot be put there: its place, or a key on its way, holds a
/// non-empty list, or it is a non-empty list where a map is.
fn put_claim(
    claims: &mut Pairs<'static, Value<'static>>,
    keys: &[Box<str>],
    items: &[String],
) -> bool {
    let Some((last, path)) = keys.split_last() else {
        return false;
    };
    let mut level = claims;
    for k in path {
        let entries = level.0.to_mut();
        let i = match entries.iter().position(|(key, _)| key == k.as_ref()) {
            Some(i) => i,
            None => {
                entries.push((Cow::Owned(k.to_string()), Value::Map(Pairs::default())));
                entries.len().saturating_sub(1)
            }
        };
        let Some((_, v)) = entries.get_mut(i) else {
            return false;
        };
        if matches!(v, Value::List(l) if l.is_empty()) {
            *v = Value::Map(Pairs::default());
        }
        let Value::Map(next) = v else {
            return false;
        };
        level = next;
    }
    let entries = level.0.to_mut();
    match entries.iter().find(|(key, _)| key == last.as_ref()) {
        // A map here already (a longer claim's way): it is the empty list.
        Some((_, Value::Map(_))) => items.is_empty(),
        Some(_) => false,
        None => {
            let list = items
                .iter()
                .map(|i| Value::Str(Cow::Owned(i.clone())))
                .collect();
            entries.push((Cow::Owned(last.to_string()), Value::List(Cow::Owned(list))));
            true
        }
    }
}

pub(super) fn push(
    pairs: &mut Pairs<'static, Cow<'static, str>>,
    key: &str,
    value: Option<Cow<'static, str>>,
) {
    if let Some(v) = value {
        pairs.0.to_mut().push((Cow::Owned(key.to_string()), v));
    }
}
