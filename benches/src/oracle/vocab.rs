//! The vocabularies of the fragment: small, and chosen so that rules and requests collide.
//!
//! Every pattern has an exact Cedar translation (`super::cedar::pattern`): no `*`, `**`, a
//! trailing `/**`, a leading `**/`, or exactly one `*`.

use super::ast::{Attr, ClaimVal};

/// Label keys.
pub const LABEL_KEYS: &[&str] = &["app", "team"];

/// Source attributes a `from` matcher may test.
pub const FROM_ATTRS: &[Attr] = &[
    Attr::Principal,
    Attr::Namespace,
    Attr::ServiceAccount,
    Attr::TrustDomain,
    Attr::SrcLabel("app"),
    Attr::SrcLabel("team"),
    Attr::SrcIp,
];

/// Target attributes a `to` matcher may test.
pub const TO_ATTRS: &[Attr] = &[
    Attr::DstNamespace,
    Attr::DstLabel("app"),
    Attr::DstPort,
    Attr::DstIp,
    Attr::Method,
    Attr::Path,
];

/// Attributes conditions may test (every attribute).
pub const COND_ATTRS: &[Attr] = &[
    Attr::Principal,
    Attr::Namespace,
    Attr::ServiceAccount,
    Attr::TrustDomain,
    Attr::SrcLabel("app"),
    Attr::SrcLabel("team"),
    Attr::SrcIp,
    Attr::DstNamespace,
    Attr::DstLabel("app"),
    Attr::DstPort,
    Attr::DstIp,
    Attr::Method,
    Attr::Path,
    Attr::Groups,
];

/// Principals a request carries (SPIFFE ids that derive, and ones that do not: an extra
/// segment, an empty service account or namespace, an empty trust domain, no scheme, the empty
/// string).
pub const PRINCIPALS: &[&str] = &[
    "spiffe://td1/ns/a/sa/x",
    "spiffe://td1/ns/a/sa/y",
    "spiffe://td1/ns/b/sa/x",
    "spiffe://td2/ns/a/sa/x",
    "spiffe://td1/ns/a/sa/x/extra",
    "spiffe://td1/ns/a/sa/",
    "spiffe://td1/ns//sa/x",
    "spiffe:///ns/a/sa/x",
    "spiffe://td1/other",
    "plain",
    "",
];
/// Principal patterns: exact ids, one `*` (within one segment), a trailing `/**`, a leading
/// `**/`, and `**`.
pub const PRINCIPAL_PATTERNS: &[&str] = &[
    "spiffe://td1/ns/a/sa/x",
    "spiffe://td1/ns/b/sa/x",
    "spiffe://td1/ns/a/sa/*",
    "spiffe://td1/ns/*/sa/x",
    "spiffe://td1/**",
    "**/sa/x",
    "spiffe://*/ns/a/sa/x",
    "plain*",
    "*",
    "**",
];
/// Namespaces, service accounts and trust domains a request gives explicitly (overriding
/// what its principal derives); the empty namespace is present, and matches `*`.
pub const NAMESPACES: &[&str] = &["a", "b", "prod", "a/b", ""];
/// Namespace patterns.
pub const NAMESPACE_PATTERNS: &[&str] = &["a", "b", "prod", "*", "p*", "a/*"];
/// Service accounts.
pub const SERVICE_ACCOUNTS: &[&str] = &["x", "y", "admin"];
/// Service account patterns.
pub const SERVICE_ACCOUNT_PATTERNS: &[&str] = &["x", "y", "*", "ad*"];
/// Trust domains.
pub const TRUST_DOMAINS: &[&str] = &["td1", "td2", "other"];
/// Trust domain patterns.
pub const TRUST_DOMAIN_PATTERNS: &[&str] = &["td1", "td2", "td*", "*"];
/// Label values (the empty string included).
pub const LABEL_VALUES: &[&str] = &["web", "api", "", "w/eb"];
/// Label value patterns.
pub const LABEL_PATTERNS: &[&str] = &["web", "api", "", "w*", "*"];
/// Addresses a request carries: IPv4 inside and outside the networks, an IPv4-mapped IPv6
/// address, IPv6.
pub const IPS: &[&str] = &[
    "10.1.2.3",
    "10.1.9.9",
    "10.2.0.1",
    "192.168.1.1",
    "::ffff:10.1.2.3",
    "fd00::1",
    "::1",
];
/// Networks (nested, `/0` of both families, single addresses, an IPv4-mapped IPv6 network).
pub const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.3",
    "0.0.0.0/0",
    "::/0",
    "fd00::/8",
    "::ffff:10.0.0.0/104",
    "::1",
];
/// Ports a request carries.
pub const PORTS: &[u16] = &[80, 443, 8080, 9000, 0];
/// Bounds of `<` and `>=` (meshgate refuses a bound that can never or always hold, such as
/// `< 0`).
pub const PORT_BOUNDS: &[u16] = &[80, 443, 8080, 9000];
/// Port values: integers and inclusive ranges.
pub const PORT_VALUES: &[(u16, u16)] = &[(80, 80), (443, 443), (8000, 8999), (0, 1023), (0, 65535)];
/// Methods (in policies).
pub const METHODS: &[&str] = &["GET", "POST", "HEAD", "DELETE"];
/// Methods a request carries (compared exactly: `get` is not `GET`).
pub const REQ_METHODS: &[&str] = &["GET", "POST", "HEAD", "DELETE", "get"];
/// Paths a request carries: normalized (no `.`/`..`/empty segments, which meshgate denies
/// unevaluated, spec §6.3), some with a query or fragment, which meshgate cuts off.
pub const PATHS: &[&str] = &[
    "/api/v1?x=1",
    "/admin#top",
    "/api",
    "/api/",
    "/api/v1",
    "/api/v1/x",
    "/api/v2/x",
    "/api/v1/x/y",
    "/admin",
    "/admin/x",
    "/",
    "/x",
];
/// Path patterns.
pub const PATH_PATTERNS: &[&str] = &[
    "/api",
    "/api/v1",
    "/api/**",
    "/api/*",
    "/api/*/x",
    "/api/v*",
    "/**",
    "/*",
    "/admin/**",
    "**/x",
    "**",
];
/// Group claim values.
pub const GROUPS: &[&str] = &["g1", "g2", "g3", "1", "true"];

/// Claim elements a request carries.
pub const CLAIM_VALS: &[ClaimVal] = &[
    ClaimVal::Str("g1"),
    ClaimVal::Str("g2"),
    ClaimVal::Str("g3"),
    ClaimVal::Int(1),
    ClaimVal::Bool(true),
    ClaimVal::Nested("g2"),
    ClaimVal::Object,
];
