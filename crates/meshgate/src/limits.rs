//! Limits on what a policy set and a request may hold.
//!
//! meshgate runs inside proxies, where an unbounded input is a denial of service. Every size
//! that input controls is bounded, with defaults generous enough for real meshes (hundreds of
//! thousands of rules) and small enough that no single input can exhaust a proxy's memory or
//! stack. A policy beyond a limit is rejected with a diagnostic of code `limit` naming the limit
//! and its value; a request beyond one gets a [`RequestError`](crate::RequestError) naming the
//! field. The limits are part of the API: set them with
//! [`PolicySetBuilder::limits`](crate::PolicySetBuilder::limits) and
//! [`Request::from_json_with`](crate::Request::from_json_with).
//!
//! Some limits also have a hard ceiling that no configuration lifts, because a reader itself
//! depends on it. Each is defined here, once, as an associated constant of its limits type, and
//! the parsers and readers use these constants:
//!
//! - policies: expressions nest at most [`PolicyLimits::MAX_EXPRESSION_DEPTH`] levels (the parser
//!   recurses on parentheses and `not`), a list literal holds at most
//!   [`PolicyLimits::MAX_LIST_LEN`] items, and a source is at most 4 GiB (spans are 32-bit);
//! - requests: one map holds at most [`RequestLimits::MAX_MAP_ENTRIES`] entries and one list at
//!   most [`RequestLimits::MAX_LIST_ITEMS`] items (duplicate keys are found by comparison, so
//!   larger maps would cost quadratic time), and claim and context values nest at most
//!   [`RequestLimits::MAX_DEPTH`] levels (readers recurse on them).
//!
//! The defaults are [`PolicyLimits::DEFAULT`] and [`RequestLimits::DEFAULT`].

/// Limits on a policy set, checked while it is parsed and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Largest source (one file), in bytes. Default 16 MiB.
    pub max_source_bytes: usize,
    /// Most rules and `default allow` items in the whole set. Default 1,000,000.
    pub max_rules: usize,
    /// Most roles in the whole set. Default 100,000.
    pub max_roles: usize,
    /// Deepest nesting of a `when`/`unless` condition (parentheses and `not`). Default 64,
    /// which is also the parser's ceiling.
    pub max_expression_depth: usize,
    /// Most items in one list literal. Default 10,000.
    pub max_list_len: usize,
    /// Longest glob pattern, in bytes. Default 1,024.
    pub max_pattern_bytes: usize,
    /// Most `*` wildcards in one glob pattern (each `*` within a segment costs matching time;
    /// `**` counts as one). Default 16.
    pub max_pattern_wildcards: usize,
    /// Most glob patterns (patterns with a wildcard) in the whole set. Default 1,000,000.
    pub max_patterns: usize,
}

impl PolicyLimits {
    /// The parser's ceiling on the nesting of a condition (parentheses and `not`), whatever
    /// [`max_expression_depth`](Self::max_expression_depth) says: the parser recurses on them.
    pub const MAX_EXPRESSION_DEPTH: usize = 64;
    /// The parser's ceiling on the items of one list literal, whatever
    /// [`max_list_len`](Self::max_list_len) says, so that a hostile file cannot make the parser
    /// allocate without bound through one list.
    pub const MAX_LIST_LEN: usize = 1_000_000;

    /// The default limits.
    pub const DEFAULT: PolicyLimits = PolicyLimits {
        max_source_bytes: 16 << 20,
        max_rules: 1_000_000,
        max_roles: 100_000,
        max_expression_depth: Self::MAX_EXPRESSION_DEPTH,
        max_list_len: 10_000,
        max_pattern_bytes: 1024,
        max_pattern_wildcards: 16,
        max_patterns: 1_000_000,
    };
}

impl Default for PolicyLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Limits on a request, checked while it is read (by [`Request::from_json_with`] or
/// [`RequestBuilder::finish`]).
///
/// [`Request::from_json_with`]: crate::Request::from_json_with
/// [`RequestBuilder::finish`]: crate::request::RequestBuilder::finish
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Largest JSON document, in bytes. Default 1 MiB.
    pub max_bytes: usize,
    /// Most request headers. Default 256.
    pub max_headers: usize,
    /// Most labels on the source or on the destination. Default 256.
    pub max_labels: usize,
    /// Most entries in one JSON object among the claims and the context, at any depth, and
    /// most top-level claims or context keys. Default 1,024 (and never more than
    /// [`MAX_MAP_ENTRIES`](Self::MAX_MAP_ENTRIES) in effect).
    pub max_map_entries: usize,
    /// Most items in one JSON list among the claims, audiences and context. Default 1,024 (and
    /// never more than [`MAX_LIST_ITEMS`](Self::MAX_LIST_ITEMS) in effect).
    pub max_list_items: usize,
    /// Longest string anywhere in the request, in bytes. Default 64 KiB.
    pub max_string_bytes: usize,
}

impl RequestLimits {
    /// Ceiling on the entries of one map (labels, headers, claims, context, and objects within
    /// claims and context), whatever the limits say: duplicate keys are detected by comparison,
    /// so larger maps would cost quadratic time.
    pub const MAX_MAP_ENTRIES: usize = 1024;
    /// Ceiling on the items of one list (audiences, and lists within claims and context),
    /// whatever the limits say.
    pub const MAX_LIST_ITEMS: usize = 1024;
    /// Deepest nesting of lists and objects in one claim or context value: a value nested
    /// deeper is refused, because readers recurse on values.
    pub const MAX_DEPTH: usize = 16;

    /// The default limits.
    pub const DEFAULT: RequestLimits = RequestLimits {
        max_bytes: 1 << 20,
        max_headers: 256,
        max_labels: 256,
        max_map_entries: Self::MAX_MAP_ENTRIES,
        max_list_items: Self::MAX_LIST_ITEMS,
        max_string_bytes: 64 << 10,
    };

    /// No configurable limit: only the ceilings ([`MAX_MAP_ENTRIES`](Self::MAX_MAP_ENTRIES),
    /// [`MAX_LIST_ITEMS`](Self::MAX_LIST_ITEMS), [`MAX_DEPTH`](Self::MAX_DEPTH)) hold. For a
    /// front end whose input is already bounded by its host (a proxy's own limits on headers
    /// and metadata) and that must not refuse what the host accepted.
    pub const CEILINGS: RequestLimits = RequestLimits {
        max_bytes: usize::MAX,
        max_headers: Self::MAX_MAP_ENTRIES,
        max_labels: Self::MAX_MAP_ENTRIES,
        max_map_entries: Self::MAX_MAP_ENTRIES,
        max_list_items: Self::MAX_LIST_ITEMS,
        max_string_bytes: usize::MAX,
    };
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
