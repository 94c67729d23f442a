//! The fields of a request's shape: their names, where each sits, and what each holds.
//!
//! This table is the one definition of the shape that every reader follows (the JSON reader, the
//! Python and JavaScript bindings through it, and [`RequestBuilder`](super::RequestBuilder)): a
//! name not listed under its section is an unknown field, and the [`Kind`] says what a field
//! accepts.

use std::fmt;

/// A field of a request: a section (an object of further fields) or an attribute.
///
/// Each variant is named by its path: [`Field::SourcePrincipal`] is `source.principal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `source`, the caller.
    Source,
    /// `destination`, the workload called.
    Destination,
    /// `request`, the HTTP request.
    Request,
    /// `request.auth`, the authenticated end user.
    Auth,
    /// `connection`.
    Connection,
    /// `source.principal`.
    SourcePrincipal,
    /// `source.namespace`.
    SourceNamespace,
    /// `source.service_account`.
    SourceServiceAccount,
    /// `source.trust_domain`.
    SourceTrustDomain,
    /// `source.labels`.
    SourceLabels,
    /// `source.ip`.
    SourceIp,
    /// `source.remote_ip`.
    SourceRemoteIp,
    /// `destination.service`.
    DestinationService,
    /// `destination.namespace`.
    DestinationNamespace,
    /// `destination.labels`.
    DestinationLabels,
    /// `destination.port`.
    DestinationPort,
    /// `destination.ip`.
    DestinationIp,
    /// `request.method`.
    RequestMethod,
    /// `request.path`.
    RequestPath,
    /// `request.host`.
    RequestHost,
    /// `request.headers`.
    RequestHeaders,
    /// `request.auth.principal`.
    AuthPrincipal,
    /// `request.auth.presenter`.
    AuthPresenter,
    /// `request.auth.audiences`.
    AuthAudiences,
    /// `request.auth.claims`.
    AuthClaims,
    /// `connection.sni`.
    ConnectionSni,
    /// `time`.
    Time,
    /// `context`.
    Context,
}

/// What a [`Field`] holds, and so what a reader may give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// An object of further fields.
    Section,
    /// A string.
    Str,
    /// An IP address, written as a string.
    Ip,
    /// A port: an integer from 0 to 65535.
    Port,
    /// An instant, written as an RFC 3339 timestamp string.
    Time,
    /// An object whose values are strings (labels, headers).
    StrMap,
    /// A list of strings (audiences).
    StrList,
    /// An object whose values are [`Value`](super::Value)s (claims, context).
    ValueMap,
}

use Field as F;

/// The fields at the top of a request, in order.
const ROOT: [Field; 6] = [
    F::Source,
    F::Destination,
    F::Request,
    F::Connection,
    F::Time,
    F::Context,
];
const SOURCE: [Field; 7] = [
    F::SourcePrincipal,
    F::SourceNamespace,
    F::SourceServiceAccount,
    F::SourceTrustDomain,
    F::SourceLabels,
    F::SourceIp,
    F::SourceRemoteIp,
];
const DESTINATION: [Field; 5] = [
    F::DestinationService,
    F::DestinationNamespace,
    F::DestinationLabels,
    F::DestinationPort,
    F::DestinationIp,
];
const REQUEST: [Field; 5] = [
    F::RequestMethod,
    F::RequestPath,
    F::RequestHost,
    F::RequestHeaders,
    F::Auth,
];
const AUTH: [Field; 4] = [
    F::AuthPrincipal,
    F::AuthPresenter,
    F::AuthAudiences,
    F::AuthClaims,
];
const CONNECTION: [Field; 1] = [F::ConnectionSni];

// The names of each section's fields, in the same order (for "unknown field … expected one of").
const ROOT_NAMES: [&str; 6] = [
    "source",
    "destination",
    "request",
    "connection",
    "time",
    "context",
];
const SOURCE_NAMES: [&str; 7] = [
    "principal",
    "namespace",
    "service_account",
    "trust_domain",
    "labels",
    "ip",
    "remote_ip",
];
const DESTINATION_NAMES: [&str; 5] = ["service", "namespace", "labels", "port", "ip"];
const REQUEST_NAMES: [&str; 5] = ["method", "path", "host", "headers", "auth"];
const AUTH_NAMES: [&str; 4] = ["principal", "presenter", "audiences", "claims"];
const CONNECTION_NAMES: [&str; 1] = ["sni"];

impl Field {
    /// The fields of a section in order: of the whole request for `None`, of `Some(section)`
    /// otherwise (empty for a field that is not a section).
    pub fn children(section: Option<Field>) -> &'static [Field] {
        match section {
            None => &ROOT,
            Some(F::Source) => &SOURCE,
            Some(F::Destination) => &DESTINATION,
            Some(F::Request) => &REQUEST,
            Some(F::Auth) => &AUTH,
            Some(F::Connection) => &CONNECTION,
            Some(_) => &[],
        }
    }

    /// The names of [`children`](Self::children), in the same order.
    pub fn names(section: Option<Field>) -> &'static [&'static str] {
        match section {
            None => &ROOT_NAMES,
            Some(F::Source) => &SOURCE_NAMES,
            Some(F::Destination) => &DESTINATION_NAMES,
            Some(F::Request) => &REQUEST_NAMES,
            Some(F::Auth) => &AUTH_NAMES,
            Some(F::Connection) => &CONNECTION_NAMES,
            Some(_) => &[],
        }
    }

    /// The field called `name` in `section` (`None`: the top of the request), if there is one.
    ///
    /// Readers call this for every key, so it is a `match` (which the compiler turns into a
    /// dispatch on the length), not a search of [`names`](Self::names); a unit test checks that
    /// the two agree.
    pub fn child(section: Option<Field>, name: &str) -> Option<Field> {
        Some(match section {
            None => match name {
                "source" => F::Source,
                "destination" => F::Destination,
                "request" => F::Request,
                "connection" => F::Connection,
                "time" => F::Time,
                "context" => F::Context,
                _ => return None,
            },
            Some(F::Source) => match name {
                "principal" => F::SourcePrincipal,
                "namespace" => F::SourceNamespace,
                "service_account" => F::SourceServiceAccount,
                "trust_domain" => F::SourceTrustDomain,
                "labels" => F::SourceLabels,
                "ip" => F::SourceIp,
                "remote_ip" => F::SourceRemoteIp,
                _ => return None,
            },
            Some(F::Destination) => match name {
                "service" => F::DestinationService,
                "namespace" => F::DestinationNamespace,
                "labels" => F::DestinationLabels,
                "port" => F::DestinationPort,
                "ip" => F::DestinationIp,
                _ => return None,
            },
            Some(F::Request) => match name {
                "method" => F::RequestMethod,
                "path" => F::RequestPath,
                "host" => F::RequestHost,
                "headers" => F::RequestHeaders,
                "auth" => F::Auth,
                _ => return None,
            },
            Some(F::Auth) => match name {
                "principal" => F::AuthPrincipal,
                "presenter" => F::AuthPresenter,
                "audiences" => F::AuthAudiences,
                "claims" => F::AuthClaims,
                _ => return None,
            },
            Some(F::Connection) => match name {
                "sni" => F::ConnectionSni,
                _ => return None,
            },
            Some(_) => return None,
        })
    }

    /// The field at a dotted path, e.g. `request.auth.claims`.
    pub fn from_path(path: &str) -> Option<Field> {
        let mut field = None;
        for name in path.split('.') {
            field = Some(Self::child(field, name)?);
        }
        field
    }

    /// The section holding this field, `None` for the top of the request.
    pub fn parent(self) -> Option<Field> {
        match self {
            F::Source | F::Destination | F::Request | F::Connection | F::Time | F::Context => None,
            F::Auth | F::RequestMethod | F::RequestPath | F::RequestHost | F::RequestHeaders => {
                Some(F::Request)
            }
            F::SourcePrincipal
            | F::SourceNamespace
            | F::SourceServiceAccount
            | F::SourceTrustDomain
            | F::SourceLabels
            | F::SourceIp
            | F::SourceRemoteIp => Some(F::Source),
            F::DestinationService
            | F::DestinationNamespace
            | F::DestinationLabels
            | F::DestinationPort
            | F::DestinationIp => Some(F::Destination),
            F::AuthPrincipal | F::AuthPresenter | F::AuthAudiences | F::AuthClaims => Some(F::Auth),
            F::ConnectionSni => Some(F::Connection),
        }
    }

    /// The field's own name, e.g. `principal`.
    pub fn name(self) -> &'static str {
        let section = self.parent();
        let i = Self::children(section).iter().position(|f| *f == self);
        i.and_then(|i| Self::names(section).get(i))
            .copied()
            .unwrap_or_default()
    }

    /// The field's dotted path, e.g. `source.principal`.
    pub fn path(self) -> &'static str {
        match self {
            F::Source => "source",
            F::Destination => "destination",
            F::Request => "request",
            F::Auth => "request.auth",
            F::Connection => "connection",
            F::SourcePrincipal => "source.principal",
            F::SourceNamespace => "source.namespace",
            F::SourceServiceAccount => "source.service_account",
            F::SourceTrustDomain => "source.trust_domain",
            F::SourceLabels => "source.labels",
            F::SourceIp => "source.ip",
            F::SourceRemoteIp => "source.remote_ip",
            F::DestinationService => "destination.service",
            F::DestinationNamespace => "destination.namespace",
            F::DestinationLabels => "destination.labels",
            F::DestinationPort => "destination.port",
            F::DestinationIp => "destination.ip",
            F::RequestMethod => "request.method",
            F::RequestPath => "request.path",
            F::RequestHost => "request.host",
            F::RequestHeaders => "request.headers",
            F::AuthPrincipal => "request.auth.principal",
            F::AuthPresenter => "request.auth.presenter",
            F::AuthAudiences => "request.auth.audiences",
            F::AuthClaims => "request.auth.claims",
            F::ConnectionSni => "connection.sni",
            F::Time => "time",
            F::Context => "context",
        }
    }

    /// What the field holds.
    pub fn kind(self) -> Kind {
        match self {
            F::Source | F::Destination | F::Request | F::Auth | F::Connection => Kind::Section,
            F::SourceIp | F::SourceRemoteIp | F::DestinationIp => Kind::Ip,
            F::DestinationPort => Kind::Port,
            F::Time => Kind::Time,
            F::SourceLabels | F::DestinationLabels | F::RequestHeaders => Kind::StrMap,
            F::AuthAudiences => Kind::StrList,
            F::AuthClaims | F::Context => Kind::ValueMap,
            F::SourcePrincipal
            | F::SourceNamespace
            | F::SourceServiceAccount
            | F::SourceTrustDomain
            | F::DestinationService
            | F::DestinationNamespace
            | F::RequestMethod
            | F::RequestPath
            | F::RequestHost
            | F::AuthPrincipal
            | F::AuthPresenter
            | F::ConnectionSni => Kind::Str,
        }
    }

    /// The name of the Rust type a section is read into (`Request` for the top), as serde
    /// names it in "expected struct …".
    pub(crate) fn struct_name(section: Option<Field>) -> &'static str {
        match section {
            None => "Request",
            Some(F::Source) => "Source",
            Some(F::Destination) => "Destination",
            Some(F::Request) => "Http",
            Some(F::Auth) => "Auth",
            Some(F::Connection) => "Connection",
            Some(_) => "",
        }
    }

    /// A bit of its own in a `u32`, to remember which fields were given.
    pub(crate) fn bit(self) -> u32 {
        1u32.checked_shl(self as u32).unwrap_or(0)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_found_by_its_path() {
        let mut all = Vec::new();
        let mut sections = vec![None];
        while let Some(section) = sections.pop() {
            for &f in Field::children(section) {
                assert_eq!(f.parent(), section);
                assert_eq!(Field::from_path(f.path()), Some(f));
                assert_eq!(Field::child(section, f.name()), Some(f));
                if f.kind() == Kind::Section {
                    sections.push(Some(f));
                }
                all.push(f);
            }
        }
        assert_eq!(all.len(), 28);
        for section in [
            None,
            Some(Field::Source),
            Some(Field::Auth),
            Some(Field::Time),
        ] {
            for (f, name) in Field::children(section).iter().zip(Field::names(section)) {
                assert_eq!(Field::child(section, name), Some(*f));
            }
            assert_eq!(Field::child(section, "nope"), None);
        }
        assert!(all.iter().all(|f| (*f as u32) < 32));
        assert_eq!(Field::from_path("source.nope"), None);
    }
}
