//! The `meshgate` binary, run as a user would: `check` and `eval` on `examples/mesh`.

#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed setup or assertion panics"
)]

mod common;

use common::{example, meshgate, meshgate_stdin, scratch};
use serde_json::{Value, json};

fn policy() -> String {
    example("policy.mgp")
}

fn eval(request: &str) -> (i32, Value) {
    let out = meshgate(&[
        "eval",
        "--policy",
        &policy(),
        "--request",
        &example(request),
    ]);
    assert!(
        out.stderr.is_empty(),
        "{request}: unexpected stderr: {}",
        out.stderr
    );
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{request}: {e}: {}", out.stdout));
    (out.code, v)
}

#[test]
fn check_accepts_the_example() {
    let out = meshgate(&["check", &policy()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim(),
        "ok: 6 rules, 2 roles in 1 file (0 errors, 0 warnings)"
    );
}

#[test]
fn check_json_on_the_example() {
    let out = meshgate(&["check", "--format", "json", &policy()]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, json!({"ok": true, "rules": 6, "diagnostics": []}));
}

const BAD: &str = "role reader { permit GET on \"/api/**\" }\n\
allow \"a\" {\n  from namespce \"x\"\n  grant readr\n}\n\
allow \"b\" { when source.ip == 5 }\n";

#[test]
fn check_reports_every_error_with_a_location_and_snippet() {
    let dir = scratch("check-bad");
    let path = dir.join("bad.mgp");
    std::fs::write(&path, BAD).unwrap();
    let out = meshgate(&["check", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = &out.stdout;
    let name = path.display().to_string();
    for (at, message, help) in [
        (
            "3:8",
            "unknown `from` matcher `namespce`",
            "did you mean `namespace`?",
        ),
        ("4:9", "unknown role `readr`", "did you mean `reader`?"),
        ("6:31", "found an integer", "e.g. `10.0.0.0/8`"),
    ] {
        assert!(
            text.contains(&format!("{name}:{at}")),
            "missing {at} in\n{text}"
        );
        assert!(text.contains(message), "missing {message} in\n{text}");
        assert!(text.contains(help), "missing {help} in\n{text}");
    }
    // The snippet shows the line and a caret under the span.
    assert!(text.contains("3 │   from namespce \"x\""), "{text}");
    assert!(text.contains("────────"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("error: 3 errors, 0 warnings in 1 file"),
        "{text}"
    );
}

#[test]
fn check_json_reports_diagnostics() {
    let dir = scratch("check-bad-json");
    let path = dir.join("bad.mgp");
    std::fs::write(&path, BAD).unwrap();
    let out = meshgate(&["check", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["rules"], 0);
    let ds = v["diagnostics"].as_array().unwrap();
    let codes: Vec<_> = ds
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("unknown-matcher", 3, 8),
            ("unknown-role", 4, 9),
            ("type", 6, 31)
        ]
    );
    assert_eq!(ds[0]["severity"], "error");
    assert_eq!(ds[0]["help"], "did you mean `namespace`?");
    assert!(ds[0]["snippet"].as_str().unwrap().contains("from namespce"));
}

#[test]
fn check_shows_warnings_and_still_succeeds() {
    let dir = scratch("check-warn");
    let path = dir.join("warn.mgp");
    std::fs::write(&path, "allow \"a\u{200B}\" { to path \"/healthz\" }\n").unwrap();
    let out = meshgate(&["check", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("invisible character U+200B"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("warn.mgp:1:9"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("ok: 1 rule, 0 roles in 1 file (0 errors, 1 warning)"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_reports_unreadable_files_and_errors_in_the_others() {
    let dir = scratch("check-io");
    let bad = dir.join("bad.mgp");
    std::fs::write(&bad, BAD).unwrap();
    let missing = dir.join("missing.mgp");
    let out = meshgate(&["check", missing.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "error[io]: cannot read `{}`: no such file or directory",
            missing.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("unknown role `readr`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("error: 4 errors, 0 warnings in 2 files"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_validates_files_as_one_set() {
    let dir = scratch("check-set");
    let roles = dir.join("roles.mgp");
    let rules = dir.join("rules.mgp");
    std::fs::write(&roles, "role reader { permit GET on \"/**\" }\n").unwrap();
    std::fs::write(
        &rules,
        "allow \"r\" { grant reader }\nallow \"r\" { grant reader }\n",
    )
    .unwrap();
    let out = meshgate(&["check", roles.to_str().unwrap(), rules.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("rule id `r` is used twice"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("{}:2:7", rules.display())),
        "{}",
        out.stdout
    );
    let out = meshgate(&["check", rules.to_str().unwrap()]);
    assert!(
        out.stdout.contains("unknown role `reader`"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_readme_command_allows_the_frontend() {
    // Exactly the README's command line (relative paths, run from the workspace root).
    let out = common::meshgate_in(
        common::workspace(),
        &[
            "eval",
            "--policy",
            "examples/mesh/policy.mgp",
            "--request",
            "examples/mesh/frontend-get.json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "{\"allowed\":true,\"reasons\":[\"frontend-reads-payments\"],\"audits\":[],\"dry_run\":[],\"errors\":[]}\n"
    );
}

#[test]
fn eval_decisions_and_exit_codes() {
    let cases = [
        (
            "frontend-get.json",
            0,
            json!({"allowed": true, "reasons": ["frontend-reads-payments"], "audits": [], "dry_run": [], "errors": []}),
        ),
        (
            "frontend-admin-post.json",
            3,
            json!({"allowed": false, "reasons": [], "audits": [], "dry_run": [], "errors": []}),
        ),
        (
            "legacy-admin.json",
            3,
            json!({"allowed": false, "reasons": ["legacy-no-admin"], "audits": [], "dry_run": [], "errors": []}),
        ),
        (
            "admin-jwt.json",
            0,
            json!({"allowed": true, "reasons": ["payments-admins"], "audits": [], "dry_run": [], "errors": []}),
        ),
        (
            "frontend-export.json",
            0,
            json!({"allowed": true, "reasons": ["frontend-reads-payments"], "audits": ["watch-exports"], "dry_run": [], "errors": []}),
        ),
        (
            "plaintext.json",
            3,
            json!({"allowed": false, "reasons": [], "audits": [], "dry_run": [{"rule": "require-mtls", "effect": "deny"}], "errors": []}),
        ),
        // Friday 17:30 in Berlin (CET, before the DST change): inside 8..17.
        (
            "sre-office-hours.json",
            0,
            json!({"allowed": true, "reasons": ["sre-business-hours"], "audits": [], "dry_run": [], "errors": []}),
        ),
        // Monday, the same 16:30 UTC, is 18:30 in Berlin (CEST, after the change): outside.
        (
            "sre-after-hours.json",
            3,
            json!({"allowed": false, "reasons": [], "audits": [], "dry_run": [], "errors": []}),
        ),
    ];
    for (file, code, expected) in cases {
        let (got_code, got) = eval(file);
        assert_eq!(got, expected, "{file}");
        assert_eq!(got_code, code, "{file}");
    }
}

#[test]
fn eval_pretty_prints() {
    let out = meshgate(&[
        "eval",
        "--policy",
        &policy(),
        "--request",
        &example("frontend-get.json"),
        "--pretty",
    ]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .starts_with("{\n  \"allowed\": true,\n  \"reasons\": [\n"),
        "{}",
        out.stdout
    );
}

fn frontend_without_time() -> Value {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(example("frontend-get.json")).unwrap())
            .unwrap();
    v.as_object_mut().unwrap().remove("time");
    v
}

#[test]
fn eval_reads_stdin_and_arrays_one_decision_per_line() {
    let req = frontend_without_time();
    let mut admin = req.clone();
    admin["request"]["method"] = json!("POST");
    let input = serde_json::to_string(&json!([req, admin, req])).unwrap();
    let out = meshgate_stdin(&["eval", "--policy", &policy(), "--request", "-"], &input);
    assert_eq!(out.code, 3, "{out:?}");
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let allowed: Vec<_> = lines
        .iter()
        .map(|d| d["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, true]);

    let input = serde_json::to_string(&json!([req, req])).unwrap();
    let out = meshgate_stdin(&["eval", "--policy", &policy(), "--request", "-"], &input);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 2);
}

/// A policy whose only allow holds during one hour that has long passed: with the clock, a
/// request without `time` is denied; without the clock, the time condition is unknown and the
/// `unless` in the second rule cannot be false either. The third rule shows that `--no-clock`
/// leaves `time` absent.
#[test]
fn eval_stamps_the_clock_unless_told_not_to() {
    let dir = scratch("clock");
    let path = dir.join("clock.mgp");
    std::fs::write(&path, "allow \"has-time\" { when has time }\n").unwrap();
    let p = path.to_str().unwrap();
    let out = meshgate_stdin(&["eval", "--policy", p, "--request", "-"], "{}");
    assert_eq!(out.code, 0, "{out:?}");
    let out = meshgate_stdin(
        &["eval", "--policy", p, "--request", "-", "--no-clock"],
        "{}",
    );
    assert_eq!(out.code, 3, "{out:?}");
    // A request with its own time keeps it: a window long past is not "now".
    std::fs::write(
        &path,
        "allow \"past\" { when time < 2001-01-01T00:00:00Z }\n",
    )
    .unwrap();
    let out = meshgate_stdin(
        &["eval", "--policy", p, "--request", "-"],
        r#"{"time": "2000-06-01T00:00:00Z"}"#,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = meshgate_stdin(&["eval", "--policy", p, "--request", "-"], "{}");
    assert_eq!(out.code, 3, "{out:?}");
    let help = meshgate(&["eval", "--help"]);
    assert!(help.stdout.contains("--no-clock"), "{}", help.stdout);
    assert!(
        help.stdout.contains("stamped with the current time"),
        "{}",
        help.stdout
    );
}

#[test]
fn eval_rejects_bad_requests_naming_the_field() {
    let cases = [
        (
            r#"{"source": {"ip": "10.0.0.300"}}"#,
            "invalid request: `source.ip`: invalid IP address syntax",
        ),
        (
            r#"{"sorce": {}}"#,
            "invalid request: `sorce`: unknown field `sorce`",
        ),
        (
            r#"{"destination": {"port": 80.5}}"#,
            "invalid request: `destination.port`",
        ),
        (
            r#"{"request": {"headers": {"a": "1", "a": "2"}}}"#,
            "duplicate key",
        ),
        (
            r#"[{}, {"time": "yesterday"}]"#,
            "invalid request: item 2 of 2: `time`",
        ),
        ("{\"source\": ", "invalid request"),
        ("[{}, ", "invalid request: not valid JSON"),
    ];
    for (input, message) in cases {
        let out = meshgate_stdin(&["eval", "--policy", &policy(), "--request", "-"], input);
        assert_eq!(out.code, 2, "{input}: {out:?}");
        assert!(out.stdout.is_empty(), "{input}: {out:?}");
        assert!(
            out.stderr.contains(message),
            "{input}: expected {message:?} in {}",
            out.stderr
        );
    }
}

#[test]
fn eval_usage_and_file_errors() {
    let out = meshgate(&[
        "eval",
        "--policy",
        &policy(),
        "--request",
        "/nonexistent/req.json",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot read `/nonexistent/req.json`: no such file or directory"),
        "{}",
        out.stderr
    );
    let out = meshgate(&["eval", "--policy", &policy()]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = meshgate(&[
        "eval",
        "--policy",
        "/nonexistent/p.mgp",
        "--request",
        &example("frontend-get.json"),
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("error[io]: cannot read `/nonexistent/p.mgp`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn eval_on_a_broken_policy_reports_it_and_exits_1() {
    let dir = scratch("eval-bad");
    let path = dir.join("bad.mgp");
    std::fs::write(&path, BAD).unwrap();
    let out = meshgate(&[
        "eval",
        "--policy",
        path.to_str().unwrap(),
        "--request",
        &example("frontend-get.json"),
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains(&format!("{}:4:9", path.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("error: the policy set has 3 errors, 0 warnings"),
        "{}",
        out.stderr
    );
}

#[test]
fn eval_loads_several_policy_files_as_one_set() {
    let dir = scratch("eval-set");
    let extra = dir.join("extra.mgp");
    std::fs::write(
        &extra,
        "deny \"freeze\" { to service \"payments.prod.svc.cluster.local\" }\n",
    )
    .unwrap();
    let out = meshgate(&[
        "eval",
        "--policy",
        &policy(),
        extra.to_str().unwrap(),
        "--request",
        &example("frontend-get.json"),
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["reasons"], json!(["freeze"]));
}
