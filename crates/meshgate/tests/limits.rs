//! Limits as API (`PolicyLimits`, `RequestLimits`): each limit refuses what exceeds it with an
//! error naming the limit, accepts what is exactly at it, and can be raised or lowered.

#![expect(
    clippy::expect_used,
    reason = "test code: a failed setup or assertion panics"
)]

use meshgate::{PolicyLimits, PolicySet, Request, RequestLimits};

fn build(text: &str, limits: PolicyLimits) -> Result<PolicySet, meshgate::Diagnostics> {
    let mut b = PolicySet::builder();
    b.add_source("limits.mgp", text).limits(limits);
    b.build()
}

/// The one error of a refused policy: code `limit`, the message, and where.
fn refused(text: &str, limits: PolicyLimits) -> (String, usize, usize, String) {
    let errors = build(text, limits).expect_err("must be refused");
    let e = errors.errors().next().expect("an error");
    assert_eq!(e.code(), "limit", "{e}");
    assert!(
        e.help().is_some_and(|h| h.contains("PolicyLimits::")),
        "the help names the limit: {e}"
    );
    (
        e.message().to_string(),
        e.start().line,
        e.start().column,
        e.help().unwrap_or_default().to_string(),
    )
}

fn rules(n: usize) -> String {
    (0..n)
        .map(|i| format!("allow \"r{i}\" {{ to path \"/p{i}\" }}\n"))
        .collect()
}

#[test]
fn source_size() {
    let text = rules(10);
    let limits = |max| PolicyLimits {
        max_source_bytes: max,
        ..PolicyLimits::default()
    };
    let (message, line, column, _) = refused(&text, limits(text.len() - 1));
    assert_eq!(
        message,
        format!(
            "source is {} bytes: the limit is {}",
            text.len(),
            text.len() - 1
        )
    );
    assert_eq!((line, column), (1, 1));
    assert!(build(&text, limits(text.len())).is_ok());
}

#[test]
fn rule_count() {
    let limits = |max| PolicyLimits {
        max_rules: max,
        ..PolicyLimits::default()
    };
    let (message, line, column, help) = refused(&rules(5), limits(4));
    assert_eq!(
        message,
        "the policy set has more than 4 rules: the limit is 4"
    );
    assert_eq!((line, column), (5, 7), "at the first rule past the limit");
    assert!(help.contains("max_rules"));
    assert_eq!(build(&rules(5), limits(5)).unwrap().rules().len(), 5);
    // Defaults count with the rules.
    let with_default = format!("{}default allow \"d\" {{ }}\n", rules(5));
    let (message, line, column, _) = refused(&with_default, limits(5));
    assert_eq!(
        message,
        "the policy set has more than 5 rules and defaults: the limit is 5"
    );
    assert_eq!((line, column), (6, 15));
    assert_eq!(build(&with_default, limits(6)).unwrap().defaults().len(), 1);
}

#[test]
fn role_count() {
    let text = "role a { permit GET on \"/a\" }\nrole b { permit GET on \"/b\" }\n";
    let limits = |max| PolicyLimits {
        max_roles: max,
        ..PolicyLimits::default()
    };
    let (message, line, _, _) = refused(text, limits(1));
    assert_eq!(
        message,
        "the policy set declares more than 1 roles: the limit is 1"
    );
    assert_eq!(line, 2);
    assert!(build(text, limits(2)).is_ok());
}

#[test]
fn expression_depth_counts_parentheses_and_not_but_not_chain_length() {
    let limits = |max| PolicyLimits {
        max_expression_depth: max,
        ..PolicyLimits::default()
    };
    // Depth 3: the `(…)` `and` chain inside the `or` chain, the `not`, the `(…)` after it.
    let text = "allow \"a\" { when true or (true and not (false or true)) or false }\n";
    assert!(build(text, limits(3)).is_ok());
    let (message, line, _, _) = refused(text, limits(2));
    assert_eq!(
        message,
        "condition is nested more than 2 levels deep: the limit is 2"
    );
    assert_eq!(line, 1);
    // A long chain is one level, however long.
    let chain = vec!["true"; 5_000].join(" and ");
    assert!(build(&format!("allow \"a\" {{ when {chain} }}\n"), limits(1)).is_ok());
}

#[test]
fn list_length_can_be_lowered_and_raised() {
    let text = |n: usize| {
        let items = vec!["\"/x\""; n].join(", ");
        format!("allow \"a\" {{ to path [{items}] }}\n")
    };
    let limits = |max| PolicyLimits {
        max_list_len: max,
        ..PolicyLimits::default()
    };
    let (message, _, column, _) = refused(&text(3), limits(2));
    assert_eq!(message, "list in `path` has 3 items: the limit is 2");
    assert_eq!(column, 21);
    assert!(build(&text(2), limits(2)).is_ok());
    // Above the default of 10,000 once raised.
    assert!(build(&text(10_001), limits(20_000)).is_ok());
}

#[test]
fn glob_length_wildcards_and_count() {
    let lim = PolicyLimits {
        max_pattern_bytes: 8,
        max_pattern_wildcards: 2,
        max_patterns: 3,
        ..PolicyLimits::default()
    };
    let (message, ..) = refused("allow \"a\" { to path \"/abcdefg/*\" }", lim.clone());
    assert_eq!(message, "glob pattern of 10 bytes: the limit is 8");
    let (message, ..) = refused("allow \"a\" { to path \"/*a*b*\" }", lim.clone());
    assert_eq!(message, "glob pattern with 3 wildcards: the limit is 2");
    // `**` is one wildcard, and exact strings are not globs.
    assert!(
        build(
            "allow \"a\" { to path [\"/**/*\", \"/exact/long/path\"] }",
            lim.clone()
        )
        .is_ok()
    );
    let four = "allow \"a\" { to path [\"/a/*\", \"/b/*\", \"/c/*\", \"/d/*\"] }";
    let (message, ..) = refused(four, lim.clone());
    assert_eq!(
        message,
        "the policy set has more than 3 glob patterns: the limit is 3"
    );
    let three = "allow \"a\" { to path [\"/a/*\", \"/b/*\", \"/c/*\"] }";
    assert!(build(three, lim).is_ok());
}

#[test]
fn default_limits_are_documented_values() {
    let p = PolicyLimits::default();
    assert_eq!(
        (
            p.max_source_bytes,
            p.max_rules,
            p.max_roles,
            p.max_expression_depth
        ),
        (16 << 20, 1_000_000, 100_000, 64)
    );
    assert_eq!(
        (
            p.max_list_len,
            p.max_pattern_bytes,
            p.max_pattern_wildcards,
            p.max_patterns
        ),
        (10_000, 1024, 16, 1_000_000)
    );
    let r = RequestLimits::default();
    assert_eq!(
        (
            r.max_bytes,
            r.max_headers,
            r.max_labels,
            r.max_map_entries,
            r.max_list_items,
            r.max_string_bytes
        ),
        (1 << 20, 256, 256, 1024, 1024, 64 << 10)
    );
}

fn request_error(json: &str, limits: &RequestLimits) -> (String, String) {
    let e = Request::from_json_with(json, limits).expect_err("must be refused");
    (e.field, e.message)
}

#[test]
fn request_limits_name_the_field_and_the_limit() {
    let lim = RequestLimits {
        max_bytes: 4096,
        max_headers: 2,
        max_labels: 1,
        max_map_entries: 2,
        max_list_items: 2,
        max_string_bytes: 10,
    };
    let ok =
        r#"{"source": {"labels": {"app": "web"}}, "request": {"headers": {"a": "1", "b": "2"}}}"#;
    assert!(Request::from_json_with(ok, &lim).is_ok());

    let cases = [
        (
            r#"{"request": {"headers": {"a": "1", "b": "2", "c": "3"}}}"#,
            "request.headers",
            "`request.headers`: 3 entries exceed `RequestLimits::max_headers` (2)",
        ),
        (
            r#"{"destination": {"labels": {"a": "1", "b": "2"}}}"#,
            "destination.labels",
            "`destination.labels`: 2 entries exceed `RequestLimits::max_labels` (1)",
        ),
        (
            r#"{"source": {"principal": "spiffe://x/long"}}"#,
            "source.principal",
            "`source.principal`: a string of 15 bytes exceeds `RequestLimits::max_string_bytes` (10)",
        ),
        (
            r#"{"request": {"auth": {"claims": {"g": ["a", "b", "c"]}}}}"#,
            "request.auth.claims",
            "`request.auth.claims`: 3 entries exceed `RequestLimits::max_list_items` (2)",
        ),
        (
            r#"{"context": {"a": {"x": 1, "y": 2, "z": 3}}}"#,
            "context",
            "`context`: 3 entries exceed `RequestLimits::max_map_entries` (2)",
        ),
        (
            r#"{"request": {"auth": {"audiences": ["a", "b", "c"]}}}"#,
            "request.auth.audiences",
            "`request.auth.audiences`: 3 entries exceed `RequestLimits::max_list_items` (2)",
        ),
    ];
    for (json, field, message) in cases {
        assert_eq!(
            request_error(json, &lim),
            (field.to_string(), message.to_string()),
            "{json}"
        );
    }
    let big = format!(r#"{{"context": {{"pad": "{}"}}}}"#, "x".repeat(5000));
    let (field, message) = request_error(&big, &lim);
    assert_eq!(field, "");
    assert_eq!(
        message,
        "request of 5024 bytes exceeds `RequestLimits::max_bytes` (4096)"
    );
}

#[test]
fn a_request_is_an_object() {
    for json in ["[]", "[{}]", "\"x\"", "1", "null", "true"] {
        let e = Request::from_json(json).expect_err(json);
        assert!(
            e.message.contains("a request is a JSON object"),
            "{json}: {e}"
        );
    }
    let e = Request::from_value(serde_json::json!([])).expect_err("an array");
    assert!(e.message.contains("a request is a JSON object"), "{e}");
}
