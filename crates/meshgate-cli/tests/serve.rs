//! `meshgate serve` end to end without a proxy: forward-auth checks over HTTP, reload keeping
//! the last good version, readiness, metrics, the decision log and shutdown on SIGTERM. The
//! tests against real proxies are in `serve_proxies.rs` (`cargo xtask serve --test`).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failed setup or assertion panics"
)]

mod serve_support;

use serve_support::{Meshgate, get, temp_dir, wait_until, write_atomic};

const POLICY_V1: &str = r#"
deny "no-admin" { to path "/admin/**" }
allow "alice" { to namespace "shop" when request.headers["x-user"] == "alice" }
"#;

const POLICY_V2: &str = r#"
allow "bob" { when request.headers["x-user"] == "bob" }
"#;

#[test]
fn forward_auth_decides_reloads_keeps_the_last_good_version_and_drains() {
    let dir = temp_dir("serve-reload");
    let policy = dir.join("policy.mgp");
    let log = dir.join("decisions.log");
    write_atomic(&policy, POLICY_V1);
    let mut m = Meshgate::start(&[
        "--policy",
        dir.to_str().unwrap(),
        "--header",
        "X-User",
        "--destination-namespace",
        "shop",
        "--decision-log",
        log.to_str().unwrap(),
        "--redact",
        "x-user",
    ]);
    let http = m.http.unwrap();
    let admin = m.admin.unwrap();
    assert_eq!(get(admin, "/readyz", &[]).status, 200);
    assert_eq!(get(admin, "/healthz", &[]).status, 200);

    let alice = [
        ("x-user", "alice"),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", "/api/x"),
    ];
    assert_eq!(get(http, "/", &alice).status, 200);
    let bob = [("x-user", "bob"), ("x-original-uri", "/api/x")];
    let r = get(http, "/", &bob);
    assert_eq!(
        (r.status, r.body.as_str()),
        (403, "denied: no rule allows this request\n")
    );
    let r = get(
        http,
        "/",
        &[("x-user", "alice"), ("x-forwarded-uri", "/admin/users")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-meshgate-denied-by"), Some("no-admin"));

    // A broken update is refused and counted; the last good version keeps deciding.
    let v1 = m.versions();
    assert_eq!(v1.len(), 1);
    write_atomic(&policy, "allow \"broken\" {");
    wait_until("the refused update", || {
        m.metric("meshgate_policy_reload_failures_total") == Some(1.0)
    });
    assert_eq!(get(http, "/", &alice).status, 200);
    assert_eq!(get(admin, "/readyz", &[]).status, 200);
    assert!(
        m.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("policy update refused")),
        "the refusal is logged"
    );

    // A good update is served.
    write_atomic(&policy, POLICY_V2);
    wait_until("the second version", || m.versions().len() == 2);
    assert_eq!(get(http, "/", &alice).status, 403);
    assert_eq!(get(http, "/", &bob).status, 200);
    assert_eq!(m.metric("meshgate_policy_reloads_total"), Some(2.0));
    let metrics = get(admin, "/metrics", &[]).body;
    assert!(metrics.contains(r#"meshgate_decisions_total{outcome="denied",rule="no-admin"} 1"#));
    assert!(metrics.contains(&format!(
        r#"meshgate_policy_version_info{{version="{}"}} 1"#,
        m.versions()[1]
    )));

    assert_eq!(m.proc.terminate(), Some(0), "SIGTERM drains and exits 0");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "one line per check");
    let versions = m.versions();
    for (line, version) in lines.iter().zip([0, 0, 0, 0, 1, 1]) {
        assert_eq!(line["version"], versions[version].as_str(), "{line}");
        assert_eq!(line["headers"]["x-user"], "[redacted]", "{line}");
    }
    assert_eq!(lines[2]["reasons"][0], "no-admin");
    assert_eq!(lines[2]["action"], "deny");
    assert_eq!(lines[0]["path"], "/api/x");
    assert_eq!(lines[0]["method"], "GET");
}

#[test]
fn without_a_policy_it_is_not_ready_and_denies_everything() {
    let dir = temp_dir("serve-unloaded");
    let policy = dir.join("p.mgp");
    std::fs::write(&policy, "allow \"x\" { to path \"nope\" }").unwrap();
    let m = Meshgate::start(&["--policy", policy.to_str().unwrap()]);
    assert_eq!(get(m.admin.unwrap(), "/readyz", &[]).status, 503);
    let r = get(m.http.unwrap(), "/anything", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.body, "meshgate: the authorization policy is not loaded\n");
    assert!(
        m.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("every check is denied")),
        "the diagnostics are logged"
    );
    // The policy then loads without a restart.
    std::fs::write(&policy, "allow \"x\" { to path \"/**\" }").unwrap();
    wait_until("the policy", || m.versions().len() == 1);
    assert_eq!(get(m.http.unwrap(), "/anything", &[]).status, 200);
    assert_eq!(get(m.admin.unwrap(), "/readyz", &[]).status, 200);
}

#[test]
fn an_address_in_use_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshgate"))
        .args(["serve", "--policy", "x.mgp", "--grpc", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on `{addr}` (grpc)")),
        "{stderr}"
    );
}

/// The Istio example cannot be run here (no cluster): its parts must at least agree with each
/// other and with `meshgate serve`, and its policy must load.
#[test]
fn the_istio_example_is_consistent() {
    let yaml = serve_support::example("istio.yaml");
    let provider = "meshgate-payments";
    assert!(yaml.contains(&format!("    - name: {provider}\n      envoyExtAuthzGrpc:")));
    assert!(yaml.contains(&format!("  provider:\n    name: {provider}\n")));
    assert!(yaml.contains("  action: CUSTOM\n"));
    assert!(yaml.contains("        failOpen: false\n"));
    assert!(yaml.contains("        port: 9191\n") && yaml.contains("- --grpc=0.0.0.0:9191\n"));
    assert!(yaml.contains("service: meshgate.payments.svc.cluster.local"));
    let policy: String = yaml
        .split("  payments.mgp: |\n")
        .nth(1)
        .expect("the ConfigMap's policy")
        .lines()
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap()))
        .collect();
    let set = meshgate::PolicySet::parse(&policy, "payments.mgp").expect("the policy loads");
    assert_eq!(set.rules().len(), 2);
    // The arguments are `meshgate serve`'s.
    let args: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .collect();
    assert!(args.len() >= 8, "{args:?}");
    let dir = temp_dir("istio-args");
    let policy_dir = dir.join("etc");
    std::fs::create_dir_all(&policy_dir).unwrap();
    std::fs::write(policy_dir.join("payments.mgp"), &policy).unwrap();
    let mut cmd_args = vec!["serve".to_string()];
    for a in &args {
        let a = a
            .replace("/etc/meshgate", policy_dir.to_str().unwrap())
            .replace("0.0.0.0:9191", "127.0.0.1:0")
            .replace("0.0.0.0:9193", "127.0.0.1:0");
        cmd_args.push(format!("--{a}"));
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshgate"))
        .args(&cmd_args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.contains("policy version") && line.contains("(2 rules)"),
        "{line}"
    );
}

#[test]
fn a_check_over_the_size_limit_is_denied_and_counted() {
    let dir = temp_dir("serve-size");
    let policy = dir.join("p.mgp");
    std::fs::write(&policy, "allow \"all\" { to path \"/**\" }").unwrap();
    let m = Meshgate::start(&[
        "--policy",
        policy.to_str().unwrap(),
        "--max-request-bytes",
        "1024",
    ]);
    let http = m.http.unwrap();
    assert_eq!(get(http, "/", &[("x-pad", "small")]).status, 200);
    let big = "x".repeat(2000);
    let r = get(http, "/", &[("x-pad", big.as_str())]);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("exceed the limit"), "{}", r.body);
    // A body (Envoy's `with_request_body`) counts too.
    let mut s = std::net::TcpStream::connect(http).unwrap();
    let body = "b".repeat(2000);
    std::io::Write::write_all(
        &mut s,
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let metrics = get(m.admin.unwrap(), "/metrics", &[]).body;
    assert!(metrics.contains(r#"meshgate_checks_rejected_total{reason="too_large"} 2"#));
}

/// Over the bound on concurrent checks, a check is refused at once (503), not queued: one
/// check held open (its body not yet sent) takes the only slot.
#[test]
fn checks_over_the_concurrency_bound_are_refused_at_once() {
    use std::io::{Read, Write};
    let dir = temp_dir("serve-bound");
    let policy = dir.join("p.mgp");
    std::fs::write(&policy, "allow \"all\" { to path \"/**\" }").unwrap();
    let m = Meshgate::start(&[
        "--policy",
        policy.to_str().unwrap(),
        "--max-concurrent-checks",
        "1",
    ]);
    let http = m.http.unwrap();
    // A check whose body has not come yet holds the one slot while it waits for it.
    let hold = || {
        let mut s = std::net::TcpStream::connect(http).unwrap();
        s.write_all(
            b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(20)))
            .unwrap();
        s
    };
    let mut held = hold();
    wait_until("a refusal while the slot is held", || {
        let r = get(http, "/", &[]);
        assert!(r.status == 200 || r.status == 503, "{r:?}");
        // The probe can reach the server first and take the slot, and the held check is then
        // the one refused (answered at once): hold the slot again with a new one.
        let mut byte = [0u8; 1];
        if r.status == 200 && held.peek(&mut byte).is_ok() {
            held = hold();
        }
        r.status == 503
    });
    held.set_read_timeout(None).unwrap();
    let r = get(http, "/", &[]);
    assert_eq!(r.status, 503);
    assert!(r.body.contains("overloaded"), "{}", r.body);
    // The held check completes and is decided; the slot is free again.
    held.write_all(b"body").unwrap();
    let mut answer = String::new();
    held.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(get(http, "/", &[]).status, 200);
    let metrics = get(m.admin.unwrap(), "/metrics", &[]).body;
    assert!(metrics.contains(r#"meshgate_checks_rejected_total{reason="overloaded"}"#));
}
