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
//! Some limits also have a hard ceiling that no configuration lifts, because the parser itself
//! depends on it: expressions nest at most [`MAX_DEPTH`](crate::syntax::MAX_DEPTH) levels (the
//! parser recurses on parentheses and `not`), a list holds at most
//! [`MAX_LIST_LEN`](crate::syntax::MAX_LIST_LEN) items, a source is at most 4 GiB (spans are 32-bit)
//! and a JSON request nests at most 16 levels.

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

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            max_source_bytes: 16 << 20,
            max_rules: 1_000_000,
            max_roles: 100_000,
            max_expression_depth: crate::syntax::MAX_DEPTH,
            max_list_len: 10_000,
            max_pattern_bytes: 1024,
            max_pattern_wildcards: 16,
            max_patterns: 1_000_000,
        }
    }
}

/// Limits on a JSON request, checked while it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// Largest JSON document, in bytes. Default 1 MiB.
    pub max_bytes: usize,
    /// Most request headers. Default 256.
    pub max_headers: usize,
    /// Most labels on the source or on the destination. Default 256.
    pub max_labels: usize,
    /// Most entries in one JSON object among the claims and the context, at any depth, and
    /// most top-level claims or context keys. Default 1,024.
    pub max_map_entries: usize,
    /// Most items in one JSON list among the claims, audiences and context. Default 1,024.
    pub max_list_items: usize,
    /// Longest string anywhere in the request, in bytes. Default 64 KiB.
    pub max_string_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bytes: 1 << 20,
            max_headers: 256,
            max_labels: 256,
            max_map_entries: 1024,
            max_list_items: 1024,
            max_string_bytes: 64 << 10,
        }
    }
}
