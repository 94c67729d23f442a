//! Building a request field by field: the one place that decides what a request may hold.
//!
//! Every reader of requests feeds a [`RequestBuilder`]: the JSON reader
//! ([`Request::from_json`]), and through it the JavaScript binding; the Python binding's reader of
//! dicts; and proxies that build a request from their own attributes. The rules live here and in
//! [`Field`]:
//!
//! - the fields and what each holds ([`Field`], [`Kind`]): anything else is an unknown field;
//! - a field given twice is an error (`duplicate field`), and so is a key given twice in one map
//!   (`duplicate key`), because a duplicate is how a request smuggles a second value past a
//!   reviewer;
//! - the ceilings of [`RequestLimits`] ([`MAX_MAP_ENTRIES`](RequestLimits::MAX_MAP_ENTRIES),
//!   [`MAX_LIST_ITEMS`](RequestLimits::MAX_LIST_ITEMS), [`MAX_DEPTH`](RequestLimits::MAX_DEPTH)),
//!   checked as values arrive, and its configurable limits, checked by
//!   [`finish`](RequestBuilder::finish);
//! - what a [`Value`] cannot hold (`null`, floating-point numbers, integers beyond 64 bits): the
//!   messages a reader gives when it meets one are [`null_value`], [`float_value`] and
//!   [`int_value`].
//!
//! The JSON reader applies the same rule functions entry by entry while it reads (so that its
//! errors name the exact key or index at fault) and hands the builder values it has already
//! checked.

use std::borrow::Cow;
use std::net::IpAddr;

use super::field::{Field, Kind};
use super::{Pairs, Request, RequestError, Value};
use crate::limits::RequestLimits;

/// Builds a [`Request`] field by field, refusing what a request may not hold.
///
/// ```
/// use meshgate::request::{Field, RequestBuilder};
///
/// let mut b = RequestBuilder::new();
/// b.str(Field::SourcePrincipal, "spiffe://cluster.local/ns/shop/sa/frontend")?
///     .str(Field::RequestMethod, "GET")?
///     .str(Field::SourceIp, "10.1.2.3")?
///     .port(8080)?;
/// let e = b.str(Field::RequestMethod, "POST").unwrap_err();
/// assert_eq!(e.message, "`request`: duplicate field `method`");
/// let request = b.finish()?;
/// assert_eq!(request.source_namespace(), Some("shop"));
/// # Ok::<(), meshgate::RequestError>(())
/// ```
///
/// Every setter names the field it sets and returns the builder again, so calls chain with `?`.
/// A setter that refuses leaves the builder as it was. Strings may be borrowed (`&'a str`) or
/// owned.
#[derive(Clone, Debug, Default)]
pub struct RequestBuilder<'a> {
    request: Request<'a>,
    /// The fields given so far, one bit each ([`Field::bit`]).
    given: u32,
    limits: RequestLimits,
}

/// A value checked for its field's kind, ready to store.
pub(crate) enum Given<'a> {
    Str(Cow<'a, str>),
    Ip(IpAddr),
    Port(u16),
    Time(jiff::Timestamp),
    StrMap(Pairs<'a, Cow<'a, str>>),
    StrList(Vec<Cow<'a, str>>),
    ValueMap(Pairs<'a, Value<'a>>),
}

impl<'a> Request<'a> {
    /// A builder with the default [`RequestLimits`]: see [`RequestBuilder`].
    pub fn builder() -> RequestBuilder<'a> {
        RequestBuilder::new()
    }
}

impl<'a> RequestBuilder<'a> {
    /// An empty request, with the default [`RequestLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty request, with `limits` checked by [`finish`](Self::finish).
    pub fn with_limits(limits: RequestLimits) -> Self {
        RequestBuilder {
            request: Request::default(),
            given: 0,
            limits,
        }
    }

    /// The limits [`finish`](Self::finish) checks.
    pub fn limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// Whether `field` (or, for a section, the section as a whole) was given already.
    pub fn is_given(&self, field: Field) -> bool {
        self.given & field.bit() != 0
    }

    /// Records that a section (`source`, `request.auth`, …) is being read, for readers of
    /// nested documents: a second one is refused as a duplicate. Setting a section's fields
    /// does not need it.
    pub fn section(&mut self, section: Field) -> Result<&mut Self, RequestError> {
        if section.kind() != Kind::Section {
            return Err(mismatch(section, "an object"));
        }
        self.give(section)?;
        Ok(self)
    }

    /// Sets a field written as a string: a string field, an IP address (parsed here), or the
    /// time (an RFC 3339 timestamp, parsed here).
    pub fn str(
        &mut self,
        field: Field,
        value: impl Into<Cow<'a, str>>,
    ) -> Result<&mut Self, RequestError> {
        let value = value.into();
        let given = match field.kind() {
            Kind::Str => Given::Str(value),
            Kind::Ip => Given::Ip(
                value
                    .parse()
                    .map_err(|e: std::net::AddrParseError| refuse(field.path(), e.to_string()))?,
            ),
            Kind::Time => Given::Time(
                value
                    .parse()
                    .map_err(|e: jiff::Error| refuse(field.path(), e.to_string()))?,
            ),
            _ => return Err(mismatch(field, "a string")),
        };
        self.checked(field, given)
    }

    /// Sets a field written as an integer: the port (0 to 65535).
    pub fn int(&mut self, field: Field, value: i64) -> Result<&mut Self, RequestError> {
        if field.kind() != Kind::Port {
            return Err(mismatch(field, "an integer"));
        }
        let port = u16::try_from(value).map_err(|_| {
            refuse(
                field.path(),
                format!("invalid value: integer `{value}`, expected u16"),
            )
        })?;
        self.checked(field, Given::Port(port))
    }

    /// Sets an IP address field (`source.ip`, `source.remote_ip`, `destination.ip`).
    pub fn ip(&mut self, field: Field, ip: IpAddr) -> Result<&mut Self, RequestError> {
        if field.kind() != Kind::Ip {
            return Err(mismatch(field, "an IP address"));
        }
        self.checked(field, Given::Ip(ip))
    }

    /// Sets `destination.port`.
    pub fn port(&mut self, port: u16) -> Result<&mut Self, RequestError> {
        self.checked(Field::DestinationPort, Given::Port(port))
    }

    /// Sets `time`.
    pub fn time(&mut self, time: jiff::Timestamp) -> Result<&mut Self, RequestError> {
        self.checked(Field::Time, Given::Time(time))
    }

    /// Sets a map of strings (`source.labels`, `destination.labels`, `request.headers`). A key
    /// given twice, or more than [`RequestLimits::MAX_MAP_ENTRIES`] entries, is an error.
    pub fn pairs(
        &mut self,
        field: Field,
        pairs: Pairs<'a, Cow<'a, str>>,
    ) -> Result<&mut Self, RequestError> {
        if field.kind() != Kind::StrMap {
            return Err(mismatch(field, "an object of strings"));
        }
        check_keys(&pairs).map_err(|m| refuse(field.path(), m))?;
        self.checked(field, Given::StrMap(pairs))
    }

    /// Sets `request.auth.audiences`.
    pub fn audiences(&mut self, audiences: Vec<Cow<'a, str>>) -> Result<&mut Self, RequestError> {
        self.checked(Field::AuthAudiences, Given::StrList(audiences))
    }

    /// Sets a map of values (`request.auth.claims`, `context`). A key given twice in any
    /// object, more than [`RequestLimits::MAX_MAP_ENTRIES`] entries in one object or
    /// [`RequestLimits::MAX_LIST_ITEMS`] items in one list, or lists and objects nested more
    /// than [`RequestLimits::MAX_DEPTH`] levels, is an error.
    pub fn values(
        &mut self,
        field: Field,
        values: Pairs<'a, Value<'a>>,
    ) -> Result<&mut Self, RequestError> {
        if field.kind() != Kind::ValueMap {
            return Err(mismatch(field, "an object"));
        }
        check_keys(&values)
            .and_then(|()| values.iter().try_for_each(|(_, v)| check_value(v, 0)))
            .map_err(|m| refuse(field.path(), m))?;
        self.checked(field, Given::ValueMap(values))
    }

    /// The request, once checked against the configurable [`RequestLimits`] (the first field
    /// that exceeds one is named in the error).
    pub fn finish(self) -> Result<Request<'a>, RequestError> {
        self.request.check_limits(&self.limits)?;
        Ok(self.request)
    }

    /// The request, without the configurable limits: for the JSON reader, whose caller checks
    /// them once the whole document is read.
    pub(crate) fn into_request(self) -> Request<'a> {
        self.request
    }

    /// Marks `field` given, refusing a second time.
    fn give(&mut self, field: Field) -> Result<(), RequestError> {
        if self.is_given(field) {
            return Err(duplicate(field));
        }
        self.given |= field.bit();
        Ok(())
    }

    fn checked(&mut self, field: Field, value: Given<'a>) -> Result<&mut Self, RequestError> {
        self.put(field, value)?;
        Ok(self)
    }

    /// Stores a value whose content is already checked, refusing a field given twice or a
    /// value of the wrong kind for the field.
    pub(crate) fn put(&mut self, field: Field, value: Given<'a>) -> Result<(), RequestError> {
        if self.is_given(field) {
            return Err(duplicate(field));
        }
        let r = &mut self.request;
        match (field, value) {
            (Field::SourcePrincipal, Given::Str(s)) => r.source.principal = Some(s),
            (Field::SourceNamespace, Given::Str(s)) => r.source.namespace = Some(s),
            (Field::SourceServiceAccount, Given::Str(s)) => r.source.service_account = Some(s),
            (Field::SourceTrustDomain, Given::Str(s)) => r.source.trust_domain = Some(s),
            (Field::SourceLabels, Given::StrMap(p)) => r.source.labels = p,
            (Field::SourceIp, Given::Ip(ip)) => r.source.ip = Some(ip),
            (Field::SourceRemoteIp, Given::Ip(ip)) => r.source.remote_ip = Some(ip),
            (Field::DestinationService, Given::Str(s)) => r.destination.service = Some(s),
            (Field::DestinationNamespace, Given::Str(s)) => r.destination.namespace = Some(s),
            (Field::DestinationLabels, Given::StrMap(p)) => r.destination.labels = p,
            (Field::DestinationPort, Given::Port(p)) => r.destination.port = Some(p),
            (Field::DestinationIp, Given::Ip(ip)) => r.destination.ip = Some(ip),
            (Field::RequestMethod, Given::Str(s)) => r.request.method = Some(s),
            (Field::RequestPath, Given::Str(s)) => r.request.path = Some(s),
            (Field::RequestHost, Given::Str(s)) => r.request.host = Some(s),
            (Field::RequestHeaders, Given::StrMap(p)) => r.request.headers = p,
            (Field::AuthPrincipal, Given::Str(s)) => r.request.auth.principal = Some(s),
            (Field::AuthPresenter, Given::Str(s)) => r.request.auth.presenter = Some(s),
            (Field::AuthAudiences, Given::StrList(a)) => {
                r.request.auth.audiences = Some(Cow::Owned(a));
            }
            (Field::AuthClaims, Given::ValueMap(p)) => r.request.auth.claims = p,
            (Field::ConnectionSni, Given::Str(s)) => r.connection.sni = Some(s),
            (Field::Time, Given::Time(t)) => r.time = Some(t),
            (Field::Context, Given::ValueMap(p)) => r.context = p,
            (field, _) => return Err(mismatch(field, "a value of another kind")),
        }
        self.given |= field.bit();
        Ok(())
    }
}

/// An error naming `field` (a path; empty for the whole request).
pub(crate) fn refuse(field: &str, message: String) -> RequestError {
    let message = if field.is_empty() {
        message
    } else {
        format!("`{field}`: {message}")
    };
    RequestError {
        field: field.to_string(),
        message,
    }
}

/// A field given twice, named as serde names it: at its section, `duplicate field `name``.
fn duplicate(field: Field) -> RequestError {
    let section = field.parent().map(Field::path).unwrap_or_default();
    refuse(section, format!("duplicate field `{}`", field.name()))
}

fn mismatch(field: Field, given: &str) -> RequestError {
    let expected = match field.kind() {
        Kind::Section => "an object of fields",
        Kind::Str => "a string",
        Kind::Ip => "an IP address",
        Kind::Port => "a port (an integer from 0 to 65535)",
        Kind::Time => "a timestamp",
        Kind::StrMap => "an object of strings",
        Kind::StrList => "a list of strings",
        Kind::ValueMap => "an object",
    };
    refuse(field.path(), format!("expected {expected}, given {given}"))
}

/// The rule for a key about to be added to a top-level map (labels, headers, claims,
/// context) already holding `entries`: at most [`RequestLimits::MAX_MAP_ENTRIES`] entries,
/// each key once.
pub(crate) fn map_key<V: Clone>(entries: &[(Cow<'_, str>, V)], key: &str) -> Result<(), String> {
    let max = RequestLimits::MAX_MAP_ENTRIES;
    if entries.len() >= max {
        return Err(format!("more than {max} entries"));
    }
    if entries.iter().any(|(k, _)| k == key) {
        return Err(format!("duplicate key `{key}`"));
    }
    Ok(())
}

/// The rule for a key about to be added to an object within a claim or context value: each
/// key once, at most [`RequestLimits::MAX_MAP_ENTRIES`] entries.
pub(crate) fn object_key(entries: &[(Cow<'_, str>, Value<'_>)], key: &str) -> Result<(), String> {
    if entries.iter().any(|(k, _)| k == key) {
        return Err(format!("duplicate key `{key}`"));
    }
    if entries.len() >= RequestLimits::MAX_MAP_ENTRIES {
        return Err("object has too many entries".to_string());
    }
    Ok(())
}

/// The rule for an item about to be added to a list within a claim or context value, which
/// holds `len` items: at most [`RequestLimits::MAX_LIST_ITEMS`].
pub(crate) fn list_item(len: usize) -> Result<(), String> {
    let max = RequestLimits::MAX_LIST_ITEMS;
    if len >= max {
        return Err(format!("list has more than {max} items"));
    }
    Ok(())
}

/// The rule for a list or object at `depth` within a claim or context value (0 for the value
/// itself): at most [`RequestLimits::MAX_DEPTH`] levels.
pub(crate) fn nested(depth: usize) -> Result<(), String> {
    if depth >= RequestLimits::MAX_DEPTH {
        return Err("value is nested too deeply".to_string());
    }
    Ok(())
}

/// The message for a `null` where a claim or context value goes.
pub fn null_value() -> String {
    "`null` is not supported".to_string()
}

/// The message for a floating-point number where a claim or context value goes.
pub fn float_value(v: f64) -> String {
    format!("floating-point value `{v}` is not supported")
}

/// A non-negative integer as a claim or context value: within 64 bits, signed.
pub fn int_value(v: u64) -> Result<i64, String> {
    i64::try_from(v).map_err(|_| "integer out of range".to_string())
}

/// The keys of a top-level map built by a caller, checked as the JSON reader checks them.
fn check_keys<V: Clone>(pairs: &Pairs<'_, V>) -> Result<(), String> {
    let entries = &pairs.0;
    for (i, (key, _)) in entries.iter().enumerate() {
        map_key(entries.get(..i).unwrap_or_default(), key)?;
    }
    Ok(())
}

/// A claim or context value built by a caller, checked against the rules the JSON reader
/// applies while reading. The recursion stops at [`RequestLimits::MAX_DEPTH`].
fn check_value(v: &Value<'_>, depth: usize) -> Result<(), String> {
    match v {
        Value::Str(_) | Value::Int(_) | Value::Bool(_) => Ok(()),
        Value::List(items) => {
            nested(depth)?;
            for (i, item) in items.iter().enumerate() {
                list_item(i)?;
                check_value(item, depth.saturating_add(1))?;
            }
            Ok(())
        }
        Value::Map(pairs) => {
            nested(depth)?;
            let entries = &pairs.0;
            for (i, (key, item)) in entries.iter().enumerate() {
                object_key(entries.get(..i).unwrap_or_default(), key)?;
                check_value(item, depth.saturating_add(1))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_what_json_reads() {
        let mut b = Request::builder();
        b.str(Field::SourcePrincipal, "spiffe://td/ns/a/sa/b")
            .unwrap()
            .str(Field::SourceIp, "10.1.2.3")
            .unwrap()
            .int(Field::DestinationPort, 8080)
            .unwrap()
            .str(Field::Time, "2026-03-29T01:30:00Z")
            .unwrap()
            .pairs(
                Field::SourceLabels,
                [(Cow::Borrowed("app"), Cow::Borrowed("web"))]
                    .into_iter()
                    .collect(),
            )
            .unwrap()
            .values(
                Field::Context,
                [(Cow::Borrowed("risk"), Value::Int(2))]
                    .into_iter()
                    .collect(),
            )
            .unwrap();
        let json = r#"{"source":{"principal":"spiffe://td/ns/a/sa/b","labels":{"app":"web"},"ip":"10.1.2.3"},"destination":{"port":8080},"time":"2026-03-29T01:30:00Z","context":{"risk":2}}"#;
        assert_eq!(b.finish().unwrap(), Request::from_json(json).unwrap());
    }

    #[test]
    fn refuses_what_json_refuses() {
        let mut b = Request::builder();
        let e = b.int(Field::DestinationPort, 70_000).unwrap_err();
        assert_eq!(e.field, "destination.port");
        assert_eq!(
            e.message,
            "`destination.port`: invalid value: integer `70000`, expected u16"
        );
        let e = b.str(Field::SourceIp, "10.0.0.300").unwrap_err();
        assert_eq!(e.message, "`source.ip`: invalid IP address syntax");
        let e = b.str(Field::DestinationPort, "80").unwrap_err();
        assert_eq!(e.field, "destination.port");
        b.str(Field::SourceNamespace, "a").unwrap();
        let e = b.str(Field::SourceNamespace, "b").unwrap_err();
        assert_eq!(e.message, "`source`: duplicate field `namespace`");
        b.section(Field::Source).unwrap();
        let e = b.section(Field::Source).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("", "duplicate field `source`")
        );
        let dup: Pairs<'_, Cow<'_, str>> = Pairs(Cow::Owned(vec![
            (Cow::Borrowed("a"), Cow::Borrowed("1")),
            (Cow::Borrowed("a"), Cow::Borrowed("2")),
        ]));
        let e = b.pairs(Field::RequestHeaders, dup).unwrap_err();
        assert_eq!(e.message, "`request.headers`: duplicate key `a`");
        let mut deep = Value::Int(1);
        for _ in 0..=RequestLimits::MAX_DEPTH {
            deep = Value::List(Cow::Owned(vec![deep]));
        }
        let e = b
            .values(
                Field::Context,
                [(Cow::Borrowed("x"), deep)].into_iter().collect(),
            )
            .unwrap_err();
        assert_eq!(e.message, "`context`: value is nested too deeply");
        // What was refused left nothing behind.
        assert!(!b.is_given(Field::Context) && !b.is_given(Field::DestinationPort));
    }

    #[test]
    fn finish_checks_the_configurable_limits() {
        let limits = RequestLimits {
            max_string_bytes: 3,
            ..RequestLimits::default()
        };
        let mut b = RequestBuilder::with_limits(limits);
        b.str(Field::RequestPath, "/long").unwrap();
        let e = b.finish().unwrap_err();
        assert_eq!(e.field, "request.path");
    }
}
