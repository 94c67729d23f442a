//! `meshgate test` (with coverage) and `meshgate explain` on `examples/mesh`, against expected
//! outputs in `tests/expected/`.

mod common;

use common::{assert_expected, meshgate, meshgate_root, scratch};
use serde_json::Value;

#[test]
fn test_runs_the_example_suite() {
    // `examples/mesh` alone: other examples (`examples/istio`) bring test files of their own.
    let out = meshgate_root(&["test", "examples/mesh"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_expected("test.txt", &out.stdout);
    assert!(
        out.stdout
            .ends_with("test result: ok. 11 passed; 0 failed\n")
    );
}

#[test]
fn test_with_coverage() {
    let out = meshgate_root(&["test", "examples/mesh/policy.test.json", "--coverage"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_expected("test-coverage.txt", &out.stdout);
}

#[test]
fn test_coverage_lists_the_operands_of_or() {
    let fixture = "crates/meshgate-cli/tests/fixtures/alternatives";
    let out = meshgate_root(&["test", fixture, "--coverage"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_expected("test-coverage-or.txt", &out.stdout);
    let out = meshgate_root(&["test", fixture, "--format", "json", "--coverage"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let parts = &v["coverage"]["files"][0]["rules"][0]["parts"];
    let operand = |i: usize| {
        let p = &parts[i];
        (
            p["kind"].as_str().unwrap().to_string(),
            p["of"].clone(),
            p["held"].as_u64().unwrap(),
            p["failed"].as_u64().unwrap(),
        )
    };
    let when = serde_json::json!({"kind": "when", "index": 0});
    // The service account holds once; the claim is reached twice and holds once; the context
    // flag is reached once (the claims are absent: unknown, so the `or` goes on) and is true.
    assert_eq!(operand(2), ("or".into(), when.clone(), 1, 2));
    assert_eq!(operand(3), ("or".into(), when.clone(), 1, 1));
    assert_eq!(operand(4), ("or".into(), when, 1, 0));
    let lcov = scratch("lcov-or").join("or.lcov");
    let out = meshgate_root(&["test", fixture, "--lcov", lcov.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&lcov).unwrap();
    // Parts 2..4 are the operands, two branches each (held, failed), at their lines.
    assert!(
        text.contains(
            "BRDA:4,0,4,1\nBRDA:4,0,5,2\nBRDA:5,0,6,1\nBRDA:5,0,7,1\nBRDA:6,0,8,1\nBRDA:6,0,9,0\n"
        ),
        "{text}"
    );
}

#[test]
fn test_json_report_with_coverage() {
    let out = meshgate_root(&["test", "examples/mesh", "--format", "json", "--coverage"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["passed"], 11);
    assert_eq!(v["failed"], 0);
    let suite = &v["suites"][0];
    assert_eq!(suite["file"], "examples/mesh/policy.test.json");
    assert_eq!(suite["policies"][0], "examples/mesh/policy.mgp");
    assert_eq!(suite["cases"][0]["name"], "frontend reads a balance");
    assert_eq!(
        suite["cases"][0]["decision"]["reasons"][0],
        "frontend-reads-payments"
    );
    let file = &v["coverage"]["files"][0];
    assert_eq!(file["file"], "examples/mesh/policy.mgp");
    let rule = &file["rules"][0];
    assert_eq!(rule["rule"], "frontend-reads-payments");
    assert_eq!(rule["parts"][0]["kind"], "from");
    assert!(rule["parts"][0]["held"].as_u64().unwrap() > 0);
    assert_eq!(file["never_matched"], serde_json::json!([]));
    let pct = v["coverage"]["percent"].as_f64().unwrap();
    assert!(pct > 50.0 && pct <= 100.0, "{pct}");
}

#[test]
fn test_writes_lcov() {
    let dir = scratch("lcov");
    let lcov = dir.join("policy.lcov");
    let out = meshgate_root(&["test", "examples/mesh", "--lcov", lcov.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&lcov).unwrap();
    assert!(
        text.starts_with("TN:\nSF:examples/mesh/policy.mgp\nFN:"),
        "{text}"
    );
    assert!(text.contains("FNDA:2,frontend-reads-payments\n"), "{text}");
    assert!(text.contains("\nBRDA:"), "{text}");
    assert!(text.ends_with("end_of_record\n"), "{text}");
}

const POLICY: &str = "role reader { permit GET on \"/api/**\" }\n\
allow \"reads\" {\n  from namespace \"shop\"\n  grant reader\n}\n\
deny \"no-legacy\" { from namespace \"legacy\" }\n";

#[test]
fn test_reports_failures_like_cargo_test() {
    let dir = scratch("failing");
    std::fs::write(dir.join("p.mgp"), POLICY).unwrap();
    std::fs::write(
        dir.join("p.test.json"),
        r#"{"cases": [
            {"name": "shop reads", "request": {"source": {"namespace": "shop"}, "request": {"method": "GET", "path": "/api/x"}}, "expect": "allow"},
            {"name": "shop writes", "request": {"source": {"namespace": "shop"}, "request": {"method": "PUT", "path": "/api/x"}}, "expect": {"allowed": true, "reasons": ["reads"]}},
            {"name": "legacy", "request": {"source": {"namespace": "legacy"}}, "expect": {"allowed": false, "reasons": ["reads"]}}
        ]}"#,
    )
    .unwrap();
    let out = meshgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = out.stdout.replace(&dir.display().to_string(), "DIR");
    assert_expected("test-failing.txt", &text);

    let out = meshgate(&["test", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (
            v["ok"].as_bool(),
            v["passed"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(false), Some(1), Some(2))
    );
    assert_eq!(
        v["suites"][0]["cases"][2]["failures"][0],
        "expected reasons [\"reads\"], got [\"no-legacy\"]"
    );
}

#[test]
fn test_reports_bad_test_files_and_broken_policies() {
    let dir = scratch("broken");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::write(dir.join("a/p.mgp"), POLICY).unwrap();
    std::fs::write(
        dir.join("a/bad.test.json"),
        r#"{"cases": [{"name": "x", "request": {"source": {"ip": "1.2.3"}}, "expect": "deny"}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("b/p.mgp"), "allow \"x\" { grant nobody }\n").unwrap();
    std::fs::write(dir.join("b/ok.test.json"), r#"{"cases": []}"#).unwrap();
    let out = meshgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("bad.test.json: `cases[0].request.source.ip`: invalid IP address syntax"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("unknown role `nobody`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("p.mgp:1:19"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("test result: FAILED. 0 passed; 0 failed; 2 file errors"),
        "{}",
        out.stdout
    );

    let empty = scratch("no-tests");
    let out = meshgate(&["test", empty.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("no test files (`*.test.json`) found"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_uses_named_policies_relative_to_the_test_file() {
    let dir = scratch("named");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("policies/p.mgp"), POLICY).unwrap();
    std::fs::write(
        dir.join("tests/p.test.json"),
        r#"{"policies": ["../policies/p.mgp"], "cases": [{"name": "legacy", "request": {"source": {"namespace": "legacy"}}, "expect": {"allowed": false, "reasons": ["no-legacy"]}}]}"#,
    )
    .unwrap();
    let out = meshgate(&["test", dir.join("tests/p.test.json").to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("test result: ok. 1 passed; 0 failed"),
        "{}",
        out.stdout
    );
}

#[test]
fn explain_each_example_request() {
    for (name, code) in [
        ("frontend-get", 0),
        ("frontend-admin-post", 3),
        ("legacy-admin", 3),
        ("admin-jwt", 0),
        ("frontend-export", 0),
        ("plaintext", 3),
        ("sre-office-hours", 0),
        ("sre-after-hours", 3),
    ] {
        let request = format!("examples/mesh/{name}.json");
        let out = meshgate_root(&[
            "explain",
            "--policy",
            "examples/mesh/policy.mgp",
            "--request",
            &request,
        ]);
        assert_eq!(out.code, code, "{name}: {out:?}");
        assert_expected(&format!("explain-{name}.txt"), &out.stdout);
    }
}

#[test]
fn explain_names_the_exact_failure() {
    let out = meshgate_root(&[
        "explain",
        "--policy",
        "examples/mesh/policy.mgp",
        "--request",
        "examples/mesh/frontend-admin-post.json",
    ]);
    assert!(
        out.stdout.contains(
            "allow \"frontend-reads-payments\" (examples/mesh/policy.mgp:10:1): principal matched; service matched; \
             path \"/api/admin/refunds\" is not granted by role reader (/api/**: GET, HEAD; method was POST)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn explain_json() {
    let out = meshgate_root(&[
        "explain",
        "--policy",
        "examples/mesh/policy.mgp",
        "--request",
        "examples/mesh/legacy-admin.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["summary"], "denied by deny \"legacy-no-admin\"");
    assert_eq!(v["decision"]["reasons"][0], "legacy-no-admin");
    assert_eq!(v["deciding"][0]["rule"], "legacy-no-admin");
    assert_eq!(v["deciding"][0]["location"]["line"], 34);
    assert_eq!(v["overridden"][0]["rule"], "payments-admins");
    assert_eq!(v["deciding"][0]["checks"][0]["kind"], "from");
    assert_eq!(v["deciding"][0]["checks"][0]["outcome"], "held");
}

#[test]
fn fmt_formats_the_example_and_keeps_its_meaning() {
    let dir = scratch("fmt");
    let policy = dir.join("policy.mgp");
    std::fs::copy(
        common::workspace().join("examples/mesh/policy.mgp"),
        &policy,
    )
    .unwrap();
    std::fs::copy(
        common::workspace().join("examples/mesh/policy.test.json"),
        dir.join("policy.test.json"),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let before = std::fs::read_to_string(&policy).unwrap();
    let check = meshgate(&["fmt", "--check", p]);
    let out = meshgate(&["fmt", p]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = std::fs::read_to_string(&policy).unwrap();
    assert_expected("fmt-policy.mgp", &after);
    if before == after {
        assert_eq!(check.code, 0, "{check:?}");
    } else {
        assert_eq!(check.code, 1, "{check:?}");
        assert!(check.stdout.contains("not formatted"), "{}", check.stdout);
        assert_eq!(out.stdout, format!("formatted {p}\n"));
    }
    // Formatted again: nothing to do.
    let again = meshgate(&["fmt", "--check", p]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.is_empty());
    // Same decisions: the example's tests still pass against the formatted policy.
    let tests = meshgate(&["test", dir.to_str().unwrap()]);
    assert_eq!(tests.code, 0, "{tests:?}");
}

#[test]
fn fmt_refuses_what_does_not_parse() {
    let dir = scratch("fmt-bad");
    let path = dir.join("bad.mgp");
    std::fs::write(&path, "allow \"x\" { frm x }\n").unwrap();
    let out = meshgate(&["fmt", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("bad.mgp:1:13"), "{}", out.stderr);
    assert!(out.stderr.contains("cannot format"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "allow \"x\" { frm x }\n"
    );
}

#[test]
fn lint_the_example_is_clean() {
    let out = meshgate_root(&["lint", "--deny-warnings", "examples/mesh/policy.mgp"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ok: no warnings in 1 file\n");
}

#[test]
fn lint_finds_each_kind_of_problem() {
    let fixture = "crates/meshgate-cli/tests/fixtures/risky.mgp";
    let out = meshgate_root(&["lint", fixture]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_expected("lint-risky.txt", &out.stdout);
    let out = meshgate_root(&["lint", "--deny-warnings", fixture]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .ends_with("error: 9 warnings in 1 file (denied by --deny-warnings)\n"),
        "{}",
        out.stdout
    );
    let out = meshgate_root(&["lint", "--format", "json", fixture]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let found: Vec<(String, u64)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("unused-role", 5),
        ("no-subject", 8),
        ("broad-path", 13),
        ("duplicate-rule", 18),
        ("subsumed-allow", 19),
        ("shadowed-by-deny", 24),
        ("deny-absent-bypass", 28),
        ("empty-time-window", 36),
        ("never-matches", 41),
    ];
    assert_eq!(found, want.map(|(c, l)| (c.to_string(), l)));
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "warning" && d["help"].is_string())
    );
}

#[test]
fn diff_of_two_versions_of_the_example() {
    let v2 = "crates/meshgate-cli/tests/fixtures/policy-v2.mgp";
    let out = meshgate_root(&["diff", "examples/mesh/policy.mgp", v2]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_expected("diff-policy-v2.txt", &out.stdout);
    let out = meshgate_root(&["diff", "--format", "json", "examples/mesh/policy.mgp", v2]);
    assert_eq!(out.code, 3, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["changes_decisions"], true);
    assert_eq!(v["exact"], true);
    assert_eq!(
        v["rules"]["added"],
        serde_json::json!(["exports-from-reporting-only"])
    );
    assert_eq!(
        v["rules"]["changed"],
        serde_json::json!(["legacy-no-admin", "sre-business-hours"])
    );
    // Every example request really decides as reported, under both versions.
    let dir = scratch("diff-examples");
    for region in v["decision_changes"].as_array().unwrap() {
        let req = dir.join("req.json");
        std::fs::write(&req, region["example"].to_string()).unwrap();
        for (policy, key) in [("examples/mesh/policy.mgp", "before"), (v2, "after")] {
            let out = meshgate_root(&[
                "eval",
                "--no-clock",
                "--policy",
                policy,
                "--request",
                req.to_str().unwrap(),
            ]);
            let got: Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(got, region[key], "{policy}: {}", region["example"]);
        }
    }
}

#[test]
fn diff_without_behavioural_change() {
    let out = meshgate_root(&[
        "diff",
        "examples/mesh/policy.mgp",
        "examples/mesh/policy.mgp",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "no behavioural change\n");
    // The formatted policy means the same.
    let formatted = common::workspace().join("crates/meshgate-cli/tests/expected/fmt-policy.mgp");
    let out = meshgate_root(&[
        "diff",
        "examples/mesh/policy.mgp",
        formatted.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "no behavioural change\n");
}

#[test]
fn diff_reports_bad_input() {
    let out = meshgate_root(&["diff", "examples/mesh/policy.mgp", "/nonexistent/p.mgp"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot read `/nonexistent/p.mgp`"),
        "{}",
        out.stderr
    );
}
