//! Attributes: the names a policy can test, their types, and how names resolve.
//!
//! Each attribute is a path into the request (`source.namespace`, `request.headers["x-user"]`,
//! `time.hour`). Resolution happens once, at validation; evaluation works on [`Attr`] values.

use std::fmt;

/// A resolved attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attr {
    /// `source.principal`: the peer's mTLS identity, usually a SPIFFE id.
    SourcePrincipal,
    /// `source.namespace` (derived from a SPIFFE principal when absent).
    SourceNamespace,
    /// `source.service_account` (derived from a SPIFFE principal when absent).
    SourceServiceAccount,
    /// `source.trust_domain` (derived from a SPIFFE principal when absent).
    SourceTrustDomain,
    /// `source.labels["KEY"]`.
    SourceLabel(Box<str>),
    /// `source.ip`: the peer address of the connection.
    SourceIp,
    /// `source.remote_ip`: the original client address (e.g. from `X-Forwarded-For`).
    SourceRemoteIp,
    /// `destination.service`: the destination service host name (case-insensitive).
    DestService,
    /// `destination.namespace`.
    DestNamespace,
    /// `destination.labels["KEY"]`.
    DestLabel(Box<str>),
    /// `destination.port`.
    DestPort,
    /// `destination.ip`.
    DestIp,
    /// `request.method`.
    Method,
    /// `request.path`, without the query string.
    Path,
    /// `request.host` (case-insensitive, port ignored).
    Host,
    /// `request.headers["NAME"]` (name case-insensitive).
    Header(Box<str>),
    /// `request.auth.principal`: the JWT `iss/sub`.
    AuthPrincipal,
    /// `request.auth.presenter`: the JWT `azp`.
    AuthPresenter,
    /// `request.auth.audiences`: the JWT `aud` (a list).
    AuthAudiences,
    /// `request.auth.claims["A"]["B"]…` (a string or a list of strings).
    AuthClaim(Box<[Box<str>]>),
    /// `connection.sni` (case-insensitive).
    ConnectionSni,
    /// `time`: the request's instant.
    Time,
    /// `time.hour`: 0 to 23, in the rule's time zone.
    TimeHour,
    /// `time.minute`: 0 to 59, in the rule's time zone.
    TimeMinute,
    /// `time.weekday`: `mon` to `sun`, in the rule's time zone.
    TimeWeekday,
    /// `time.date`: the calendar date in the rule's time zone.
    TimeDate,
    /// `context.KEY`: a free value supplied by the caller.
    Context(Box<str>),
}

/// The static type of an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// One string.
    Str,
    /// A string or a list of strings; tests hold when any element does.
    StrList,
    /// An IP address.
    Ip,
    /// An integer (ports, hours, minutes).
    Int,
    /// An instant.
    Timestamp,
    /// A weekday.
    Weekday,
    /// A calendar date.
    Date,
    /// Known only at run time (`context.*`).
    Dynamic,
}

impl Type {
    /// A short name, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Type::Str => "a string",
            Type::StrList => "a string list",
            Type::Ip => "an IP address",
            Type::Int => "an integer",
            Type::Timestamp => "a timestamp",
            Type::Weekday => "a weekday",
            Type::Date => "a date",
            Type::Dynamic => "a context value",
        }
    }
}

impl Attr {
    /// The attribute's type.
    pub fn ty(&self) -> Type {
        use Attr::*;
        match self {
            SourcePrincipal | SourceNamespace | SourceServiceAccount | SourceTrustDomain
            | SourceLabel(_) | DestService | DestNamespace | DestLabel(_) | Method | Path
            | Host | Header(_) | AuthPrincipal | AuthPresenter | ConnectionSni => Type::Str,
            AuthAudiences | AuthClaim(_) => Type::StrList,
            SourceIp | SourceRemoteIp | DestIp => Type::Ip,
            DestPort | TimeHour | TimeMinute => Type::Int,
            Time => Type::Timestamp,
            TimeWeekday => Type::Weekday,
            TimeDate => Type::Date,
            Context(_) => Type::Dynamic,
        }
    }

    /// Whether string tests on this attribute ignore ASCII case (host names).
    pub fn case_insensitive(&self) -> bool {
        matches!(self, Attr::Host | Attr::DestService | Attr::ConnectionSni)
    }

    /// Whether the attribute's value depends on the rule's time zone.
    pub fn is_zoned(&self) -> bool {
        matches!(
            self,
            Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate
        )
    }

    /// The inclusive bounds of an integer attribute's values, used to reject impossible
    /// comparisons (`time.hour == 25`).
    pub fn int_bounds(&self) -> Option<(i64, i64)> {
        match self {
            Attr::DestPort => Some((0, 65_535)),
            Attr::TimeHour => Some((0, 23)),
            Attr::TimeMinute => Some((0, 59)),
            _ => None,
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Attr::*;
        match self {
            SourcePrincipal => f.write_str("source.principal"),
            SourceNamespace => f.write_str("source.namespace"),
            SourceServiceAccount => f.write_str("source.service_account"),
            SourceTrustDomain => f.write_str("source.trust_domain"),
            SourceLabel(k) => write!(f, "source.labels[{k:?}]"),
            SourceIp => f.write_str("source.ip"),
            SourceRemoteIp => f.write_str("source.remote_ip"),
            DestService => f.write_str("destination.service"),
            DestNamespace => f.write_str("destination.namespace"),
            DestLabel(k) => write!(f, "destination.labels[{k:?}]"),
            DestPort => f.write_str("destination.port"),
            DestIp => f.write_str("destination.ip"),
            Method => f.write_str("request.method"),
            Path => f.write_str("request.path"),
            Host => f.write_str("request.host"),
            Header(k) => write!(f, "request.headers[{k:?}]"),
            AuthPrincipal => f.write_str("request.auth.principal"),
            AuthPresenter => f.write_str("request.auth.presenter"),
            AuthAudiences => f.write_str("request.auth.audiences"),
            AuthClaim(keys) => {
                f.write_str("request.auth.claims")?;
                keys.iter().try_for_each(|k| write!(f, "[{k:?}]"))
            }
            ConnectionSni => f.write_str("connection.sni"),
            Time => f.write_str("time"),
            TimeHour => f.write_str("time.hour"),
            TimeMinute => f.write_str("time.minute"),
            TimeWeekday => f.write_str("time.weekday"),
            TimeDate => f.write_str("time.date"),
            Context(k) => write!(f, "context.{k}"),
        }
    }
}

/// How many bracketed keys an attribute path takes.
enum Keys {
    None,
    One,
    OneOrMore,
}

/// Every plain attribute path, with how many keys it takes.
const PATHS: &[(&str, Keys)] = &[
    ("source.principal", Keys::None),
    ("source.namespace", Keys::None),
    ("source.service_account", Keys::None),
    ("source.trust_domain", Keys::None),
    ("source.labels", Keys::One),
    ("source.ip", Keys::None),
    ("source.remote_ip", Keys::None),
    ("destination.service", Keys::None),
    ("destination.namespace", Keys::None),
    ("destination.labels", Keys::One),
    ("destination.port", Keys::None),
    ("destination.ip", Keys::None),
    ("request.method", Keys::None),
    ("request.path", Keys::None),
    ("request.host", Keys::None),
    ("request.headers", Keys::One),
    ("request.auth.principal", Keys::None),
    ("request.auth.presenter", Keys::None),
    ("request.auth.audiences", Keys::None),
    ("request.auth.claims", Keys::OneOrMore),
    ("connection.sni", Keys::None),
    ("time", Keys::None),
    ("time.hour", Keys::None),
    ("time.minute", Keys::None),
    ("time.weekday", Keys::None),
    ("time.date", Keys::None),
];

/// Why an attribute path did not resolve.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// No such attribute; with the closest known path, if any is close.
    Unknown {
        /// The closest known attribute.
        suggestion: Option<String>,
    },
    /// The attribute takes a key in brackets and none was given.
    MissingKey,
    /// Keys were given to an attribute that takes none, or too many.
    UnexpectedKey,
}

/// Resolves a dotted path and its bracketed keys.
pub fn resolve(path: &str, keys: &[&str]) -> Result<Attr, ResolveError> {
    if let Some(key) = path.strip_prefix("context.") {
        if key.is_empty() || key.contains('.') {
            return Err(ResolveError::Unknown { suggestion: None });
        }
        return if keys.is_empty() {
            Ok(Attr::Context(key.into()))
        } else {
            Err(ResolveError::UnexpectedKey)
        };
    }
    let Some((_, arity)) = PATHS.iter().find(|(p, _)| *p == path) else {
        return Err(ResolveError::Unknown {
            suggestion: suggest(path),
        });
    };
    match (arity, keys) {
        (Keys::None, []) => {}
        (Keys::None, _) => return Err(ResolveError::UnexpectedKey),
        (_, []) => return Err(ResolveError::MissingKey),
        (Keys::One, [_, _, ..]) => return Err(ResolveError::UnexpectedKey),
        _ => {}
    }
    let key = |i: usize| -> Box<str> { keys.get(i).copied().unwrap_or("").into() };
    Ok(match path {
        "source.principal" => Attr::SourcePrincipal,
        "source.namespace" => Attr::SourceNamespace,
        "source.service_account" => Attr::SourceServiceAccount,
        "source.trust_domain" => Attr::SourceTrustDomain,
        "source.labels" => Attr::SourceLabel(key(0)),
        "source.ip" => Attr::SourceIp,
        "source.remote_ip" => Attr::SourceRemoteIp,
        "destination.service" => Attr::DestService,
        "destination.namespace" => Attr::DestNamespace,
        "destination.labels" => Attr::DestLabel(key(0)),
        "destination.port" => Attr::DestPort,
        "destination.ip" => Attr::DestIp,
        "request.method" => Attr::Method,
        "request.path" => Attr::Path,
        "request.host" => Attr::Host,
        "request.headers" => Attr::Header(key(0).to_ascii_lowercase().into()),
        "request.auth.principal" => Attr::AuthPrincipal,
        "request.auth.presenter" => Attr::AuthPresenter,
        "request.auth.audiences" => Attr::AuthAudiences,
        "request.auth.claims" => {
            Attr::AuthClaim(keys.iter().map(|k| Box::<str>::from(*k)).collect())
        }
        "connection.sni" => Attr::ConnectionSni,
        "time" => Attr::Time,
        "time.hour" => Attr::TimeHour,
        "time.minute" => Attr::TimeMinute,
        "time.weekday" => Attr::TimeWeekday,
        _ => Attr::TimeDate,
    })
}

/// The known path closest to `path`, when one is close enough to be a likely typo.
pub fn suggest(path: &str) -> Option<String> {
    closest(path, PATHS.iter().map(|(p, _)| *p))
}

/// Longest word (in characters) that gets a did-you-mean suggestion.
const MAX_SUGGESTED_LEN: usize = 64;

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    // The distance costs length × length: a hostile policy with thousands of long misspelt
    // names must not make validation slow, so long words get no suggestion, and candidates
    // whose length alone puts them out of reach are skipped before measuring.
    if word.chars().count() > MAX_SUGGESTED_LEN {
        return None;
    }
    let reach = |c: &str| (c.len().max(word.len()) / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| c.len().abs_diff(word.len()) <= reach(c))
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, c)| *d <= reach(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}
