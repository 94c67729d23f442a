//! Every span the parser records slices its source to the text it names.
//!
//! Loads every valid policy of the repository (the conformance corpus and the examples) and
//! checks the spans of rules, ids, clauses, tests, grants, conditions and roles against the
//! text. This pins positions as the conformance corpus pins diagnostics, but for every node of
//! every policy, not only those with an error. `cargo xtask test` also runs it on a release
//! build: the release-only miscompile of spec/toolchain.md shifted exactly these offsets.

#![expect(
    clippy::panic,
    reason = "test code: a failed setup or assertion panics"
)]

use std::path::{Path, PathBuf};

use meshgate::PolicySet;
use meshgate::model::{Clause, Cond, Test};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policies(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            policies(&p, out);
        } else if p.extension().is_some_and(|x| x == "mgp") {
            out.push(p);
        }
    }
}

/// What `span` covers in `text`.
fn slice(text: &str, span: meshgate::span::Span) -> &str {
    text.get(span.start as usize..span.end as usize)
        .unwrap_or_else(|| panic!("span {span:?} is not inside the text or not on a char boundary"))
}

const MATCHERS: &[&str] = &[
    "not",
    "principal",
    "namespace",
    "service_account",
    "trust_domain",
    "label",
    "ip",
    "remote_ip",
    "request_principal",
    "service",
    "host",
    "port",
    "method",
    "path",
];
const ROOTS: &[&str] = &[
    "source.",
    "destination.",
    "request.",
    "connection.",
    "time",
    "context.",
];

fn check_test(text: &str, t: &Test, matcher: bool, at: &str) {
    // A parenthesized test's span keeps its parentheses.
    let s = slice(text, t.span).trim_start_matches(['(', ' ', '\t', '\n']);
    let ok = if matcher {
        MATCHERS.iter().any(|m| s.starts_with(m))
    } else {
        ROOTS.iter().any(|r| s.starts_with(r)) || s.starts_with("not")
    };
    assert!(ok, "{at}: test span covers `{s}`");
}

fn check_clause(text: &str, c: &Clause, at: &str) {
    let s = slice(text, c.span);
    assert!(!s.trim().is_empty(), "{at}: empty clause span");
    for t in &c.tests {
        check_test(text, t, true, at);
        // A test lies within its clause.
        assert!(
            c.span.start <= t.span.start && t.span.end <= c.span.end,
            "{at}: test outside clause"
        );
    }
}

fn check_cond(text: &str, c: &Cond, at: &str) {
    match c {
        Cond::Test(t) => check_test(text, t, false, at),
        Cond::Not(inner) => check_cond(text, inner, at),
        Cond::And(items) | Cond::Or(items) => items.iter().for_each(|i| check_cond(text, i, at)),
        Cond::Const(_) | Cond::Has(_) => {}
    }
}

#[test]
fn every_span_slices_to_its_text() {
    let mut files = Vec::new();
    policies(&root().join("spec/conformance"), &mut files);
    policies(&root().join("examples"), &mut files);
    files.sort();
    let mut checked = 0usize;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.display().to_string();
        // The corpus holds invalid policies too; those are checked by their diagnostics.
        let Ok(set) = PolicySet::parse(&text, &name) else {
            continue;
        };
        for r in set.rules() {
            let at = format!("{name}: rule `{}`", r.id);
            let whole = slice(&text, r.span);
            assert!(
                ["allow", "deny", "audit", "dry_run"]
                    .iter()
                    .any(|k| whole.starts_with(k)),
                "{at}: rule span starts `{}`",
                whole.chars().take(20).collect::<String>()
            );
            assert!(whole.ends_with('}'), "{at}: rule span ends `{whole}`");
            let id = slice(&text, r.id_span);
            assert_eq!(id.trim_matches('"'), r.id, "{at}: id span");
            for c in r.select.iter().chain(&r.from).chain(&r.to) {
                check_clause(&text, c, &at);
            }
            for g in &r.grants {
                assert_eq!(slice(&text, g.span), g.role, "{at}: grant span");
            }
            for c in r.when.iter().chain(&r.unless) {
                check_cond(&text, &c.cond, &at);
                // The whole expression, and each operand of a top-level `or` inside it.
                let whole = slice(&text, c.span);
                assert!(!whole.trim().is_empty(), "{at}: empty condition span");
                match &c.cond {
                    Cond::Or(items) => assert_eq!(items.len(), c.operands.len(), "{at}: `or`"),
                    _ => assert!(c.operands.is_empty(), "{at}: operands of a non-`or`"),
                }
                for o in &c.operands {
                    assert!(
                        c.span.start <= o.start && o.end <= c.span.end,
                        "{at}: operand `{}` outside `{whole}`",
                        slice(&text, *o)
                    );
                }
            }
            checked += 1;
        }
        for d in set.defaults() {
            let whole = slice(&text, d.span);
            assert!(
                whole.starts_with("default"),
                "{name}: default span `{whole}`"
            );
            assert_eq!(slice(&text, d.id_span).trim_matches('"'), d.id);
        }
        // A role's span is its name.
        for role in set.roles().values() {
            assert_eq!(slice(&text, role.span), role.name, "{name}: role span");
            for p in role.permissions.iter().filter(|p| p.role == role.name) {
                let s = slice(&text, p.span);
                assert!(s.starts_with("permit"), "{name}: permission span `{s}`");
            }
        }
    }
    assert!(
        checked > 150,
        "only {checked} rules checked: are the policies where this test looks?"
    );
}
