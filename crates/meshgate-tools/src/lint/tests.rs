//! Tests of the parent module.
use super::*;

fn codes(src: &str) -> Vec<(String, usize)> {
    let set = PolicySet::parse(src, "p.mgp").unwrap();
    lint(&set)
        .iter()
        .map(|d| (d.code().to_string(), d.start().line))
        .collect()
}

fn has(src: &str, code: &str) -> bool {
    codes(src).iter().any(|(c, _)| c == code)
}

#[test]
fn never_matching_rules() {
    assert!(has(
        "allow \"a\" { from principal \"x\" when false }",
        "never-matches"
    ));
    assert!(has(
        "allow \"a\" { from principal \"x\" when request.method == \"GET\" when request.method == \"POST\" }",
        "never-matches"
    ));
    assert!(has(
        "allow \"a\" { from namespace \"a\", namespace \"b\" }",
        "never-matches"
    ));
    assert!(!has(
        "allow \"a\" { from namespace \"a\" from namespace \"b\" }",
        "never-matches"
    ));
    assert!(!has(
        "allow \"a\" { from principal \"x\" when request.method == \"GET\" or request.method == \"POST\" }",
        "never-matches"
    ));
}

#[test]
fn empty_time_windows() {
    assert_eq!(
        codes(
            "allow \"a\" { from principal \"x\"\n when time.weekday in mon..fri\n when time.weekday in [sat, sun] }"
        ),
        [("empty-time-window".to_string(), 3)]
    );
    assert!(has(
        "allow \"a\" { from principal \"x\" when time.hour in 8..10 and time.hour in 12..14 }",
        "empty-time-window"
    ));
    assert!(has(
        "allow \"a\" { from principal \"x\" when time >= 2027-01-01T00:00:00Z when time < 2026-01-01T00:00:00Z }",
        "empty-time-window"
    ));
    assert!(!has(
        "allow \"a\" { from principal \"x\" when time.hour in 22..6 and time.hour in 5..9 }",
        "empty-time-window"
    ));
}

#[test]
fn over_permissive_allows() {
    assert!(has("allow \"a\" { to service \"x\" }", "no-subject"));
    assert!(has(
        "allow \"a\" { from principal \"p\" to namespace \"prod\" }",
        "broad-path"
    ));
    assert!(has(
        "allow \"a\" { from principal \"p\" to namespace \"prod\", path \"/**\" }",
        "broad-path"
    ));
    assert!(has(
        "role all { permit * on \"/**\" }\nallow \"a\" { from principal \"p\" to namespace \"prod\" grant all }",
        "broad-path"
    ));
    assert!(!has(
        "allow \"a\" { from principal \"p\" to namespace \"prod\", path \"/api/**\" }",
        "broad-path"
    ));
    assert!(!has(
        "allow \"a\" { from principal \"p\" to namespace \"prod\", service \"s\" }",
        "broad-path"
    ));
}

#[test]
fn redundant_rules() {
    assert!(has(
        "deny \"d\" { from namespace \"legacy\" }\nallow \"a\" { from namespace \"legacy\", principal \"p\" to service \"s\" }",
        "shadowed-by-deny"
    ));
    assert!(has(
        "deny \"d\" {}\nallow \"a\" { from principal \"p\" }",
        "shadowed-by-deny"
    ));
    assert!(!has(
        "deny \"d\" { from namespace \"legacy\" when has source.ip }\nallow \"a\" { from namespace \"legacy\" }",
        "shadowed-by-deny"
    ));
    assert!(has(
        "allow \"wide\" { from namespace \"shop\" }\nallow \"narrow\" { from namespace \"shop\" to path \"/a\" }",
        "subsumed-allow"
    ));
    assert!(has(
        "allow \"wide\" { from principal \"spiffe://td/ns/shop/sa/*\" }\nallow \"narrow\" { from principal \"spiffe://td/ns/shop/sa/web\" }",
        "subsumed-allow"
    ));
    assert!(!has(
        "allow \"a\" { from namespace \"shop\" when has source.ip }\nallow \"b\" { from namespace \"shop\" to path \"/a\" }",
        "subsumed-allow"
    ));
    let c = codes(
        "allow \"a\" { from namespace \"shop\" }\nallow \"b\" {\n  from namespace \"shop\"  # same\n}",
    );
    assert_eq!(c, [("duplicate-rule".to_string(), 2)]);
}

#[test]
fn unused_roles_and_absent_bypass() {
    assert_eq!(
        codes(
            "role r { permit GET on \"/**\" }\nrole s { include r }\nallow \"a\" { from principal \"p\" to service \"x\" grant r }"
        ),
        [("unused-role".to_string(), 2)]
    );
    assert!(has(
        "deny \"d\" { from not namespace \"prod\" }",
        "deny-absent-bypass"
    ));
    assert!(has(
        "deny \"d\" { when source.namespace != \"prod\" }",
        "deny-absent-bypass"
    ));
    assert!(has(
        "deny \"d\" { unless source.namespace == \"prod\" }",
        "deny-absent-bypass"
    ));
    assert!(!has(
        "deny \"d\" { unless has source.principal }",
        "deny-absent-bypass"
    ));
    // Guarded negations apply to requests without the attribute too.
    assert!(!has(
        "deny \"d\" { when not has source.namespace or not source.namespace == \"prod\" }",
        "deny-absent-bypass"
    ));
    assert!(!has(
        "deny \"d\" { when request.method == \"GET\" and (not has source.namespace or (source.ip in 10.0.0.0/8 and not source.namespace == \"prod\")) }",
        "deny-absent-bypass"
    ));
    assert!(!has(
        "deny \"d\" { unless has source.namespace and source.namespace == \"prod\" }",
        "deny-absent-bypass"
    ));
    // A guard of another attribute guards nothing here.
    assert!(has(
        "deny \"d\" { when not has source.principal or not source.namespace == \"prod\" }",
        "deny-absent-bypass"
    ));
    assert!(has(
        "deny \"d\" { when not (not has source.namespace or source.namespace == \"prod\") }",
        "deny-absent-bypass"
    ));
    assert!(!has(
        "deny \"d\" { from not namespace \"prod\" }\ndeny \"n\" { unless has source.namespace }",
        "deny-absent-bypass"
    ));
    assert!(!has(
        "deny \"d\" { from namespace \"legacy\" }",
        "deny-absent-bypass"
    ));
}

#[test]
fn selections_and_defaults_are_read_as_scope() {
    let src = "default allow \"mesh\" { }\n\
        allow \"nothing\" { select namespace \"foo\"  when false }\n\
        allow \"a\" { select namespace \"foo\" from namespace \"x\" }\n\
        allow \"b\" { select namespace \"bar\" from namespace \"x\" }\n\
        deny \"d\" { select namespace \"baz\" }\n\
        allow \"c\" { select label app = \"web\"  to namespace \"prod\" }\n\
        allow \"e\" { select namespace \"qux\" }\n";
    // `nothing` claims foo (no never-matches); `a` and `b` select different workloads
    // (neither duplicate nor subsumed), `d` shadows neither; `c` is scoped to labelled
    // workloads (no broad-path) but, like `e`, has no `from`, as before.
    assert_eq!(
        codes(src),
        [("no-subject".to_string(), 6), ("no-subject".to_string(), 7)]
    );
    // Without a default, `when false` is still a rule that never matches.
    assert!(has(
        "allow \"nothing\" { select namespace \"foo\"  when false }",
        "never-matches"
    ));
    // Selections that imply each other still make a duplicate, a subsumed allow and a
    // shadowing deny.
    assert!(has(
        "allow \"a\" { select namespace \"foo\" from namespace \"x\" }\nallow \"b\" { select namespace \"foo\" from namespace [\"x\", \"y\"] }",
        "subsumed-allow"
    ));
    assert!(has(
        "allow \"a\" { select namespace \"foo\" from namespace \"x\" }\ndeny \"d\" { select namespace \"foo\" }",
        "shadowed-by-deny"
    ));
}
