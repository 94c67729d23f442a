//! `meshgate import istio`: expected outputs in `tests/expected/`.

mod common;

use common::{assert_expected, meshgate_root, scratch};

#[test]
fn import_istio_prints_the_policy_and_it_decides() {
    let out = meshgate_root(&["import", "istio", "examples/istio/httpbin.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    // The committed example is the expected output, so the example can never go stale.
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/istio/httpbin.mgp");
    if std::env::var_os("MESHGATE_BLESS").is_some() {
        std::fs::write(&example, &out.stdout).unwrap();
    }
    assert_eq!(
        out.stdout,
        std::fs::read_to_string(&example).unwrap(),
        "examples/istio/httpbin.mgp differs from the import of httpbin.yaml (MESHGATE_BLESS=1 rewrites it)"
    );
    // Its policy tests pass (README, "Testing Istio policies offline").
    let tests = meshgate_root(&["test", "examples/istio"]);
    assert_eq!(tests.code, 0, "{}{}", tests.stdout, tests.stderr);
    assert!(
        tests.stdout.contains("6 passed; 0 failed"),
        "{}",
        tests.stdout
    );

    let policy = scratch("import-istio").join("httpbin.mgp");
    let policy = policy.to_str().unwrap();
    let out = meshgate_root(&[
        "import",
        "istio",
        "examples/istio/httpbin.yaml",
        "-o",
        policy,
    ]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    for (request, code, reason) in [
        (
            "examples/istio/get-ip-admin.json",
            0,
            "foo/allow-path-ip[0]",
        ),
        (
            "examples/istio/get-ip-guest.json",
            3,
            "foo/deny-method-get[0]",
        ),
    ] {
        let out = meshgate_root(&[
            "eval",
            "--no-clock",
            "--policy",
            policy,
            "--request",
            request,
        ]);
        assert_eq!(out.code, code, "{request}: {}", out.stderr);
        assert!(out.stdout.contains(reason), "{request}: {}", out.stdout);
    }
}

#[test]
fn import_istio_refuses_custom_naming_the_field() {
    let out = meshgate_root(&[
        "import",
        "istio",
        "spec/conformance/istio/testdata/http/custom-simple-http-in.yaml",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_expected("import-istio-custom.txt", &out.stderr);
}

/// Istio's own test `trust-domain-multiple-aliases` (trust domain `td1`, aliases `cluster.local`
/// and `some-td`): every principal of a trust domain of the bundle is expanded to all three.
#[test]
fn import_istio_expands_principals_to_the_trust_domain_aliases() {
    let out = meshgate_root(&[
        "import",
        "istio",
        "spec/conformance/istio/testdata/http/simple-policy-multiple-td-aliases-in.yaml",
        "--trust-domain",
        "td1",
        "--trust-domain-alias",
        "cluster.local",
        "--trust-domain-alias",
        "some-td",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_expected("import-istio-td-aliases.mgp", &out.stdout);
}

#[test]
fn import_istio_refuses_a_trust_domain_with_a_slash() {
    let out = meshgate_root(&[
        "import",
        "istio",
        "examples/istio/httpbin.yaml",
        "--trust-domain-alias",
        "td1/ns",
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: trust domain alias `td1/ns` has a `/`: give the trust domain alone, as in `cluster.local`\n"
    );
}
