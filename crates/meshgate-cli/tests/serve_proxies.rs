//! `meshgate serve` behind real proxies: Envoy 1.40 with ext_authz gRPC and with ext_authz HTTP,
//! nginx with `auth_request`, Caddy with `forward_auth`, each run from the configuration in
//! `examples/ext-authz/` with its ports replaced.
//!
//! For each: an allow, a default deny and a deny naming the rule, a header and the client
//! address reaching the decision (and through Envoy gRPC, the mTLS identity and the `jwt_authn`
//! payload), a policy reload while requests flow (every request answered,
//! each decided by exactly one version, as the decision log shows), and the server hung
//! (a check timing out) and stopped each giving a denial.
//!
//! The proxies are installed by `cargo xtask serve --test`, which runs these tests with
//! `--ignored` and `MESHGATE_ENVOY` set to the Envoy binary (nginx and caddy from the PATH).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failed setup or assertion panics"
)]

mod serve_support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serve_support::{
    BACKEND_BODY, Backend, Meshgate, Proc, example, free_port, get, substitute, temp_dir, try_get,
    wait_until, write_atomic,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Proxy {
    EnvoyGrpc,
    EnvoyHttp,
    Nginx,
    Caddy,
}

/// The running proxy, meshgate behind it and the backend.
struct Stack {
    proxy: Proc,
    listen: SocketAddr,
    meshgate: Meshgate,
    backend: Backend,
    policy: std::path::PathBuf,
    log: std::path::PathBuf,
}

fn start(kind: Proxy) -> Stack {
    let dir = temp_dir(&format!("{kind:?}").to_lowercase());
    let policy = dir.join("policy.mgp");
    write_atomic(&policy, &example("policy.mgp"));
    let log = dir.join("decisions.log");
    let backend = Backend::start();
    let mut args = vec![
        "--policy".to_string(),
        policy.display().to_string(),
        "--destination-namespace".to_string(),
        "shop".to_string(),
        "--header".to_string(),
        "x-user".to_string(),
        "--decision-log".to_string(),
        log.display().to_string(),
    ];
    if kind == Proxy::EnvoyHttp {
        args.extend(["--http-path-prefix".to_string(), "/check".to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let meshgate = Meshgate::start(&args);
    let grpc = meshgate.grpc.expect("grpc listener");
    let http = meshgate.http.expect("http listener");
    let port = free_port();
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let b = backend.addr.port();
    let proxy = match kind {
        Proxy::EnvoyGrpc | Proxy::EnvoyHttp => {
            let (file, meshgate_port) = if kind == Proxy::EnvoyGrpc {
                ("envoy-grpc.yaml", grpc.port())
            } else {
                ("envoy-http.yaml", http.port())
            };
            let mut pairs = vec![
                ("port_value: 10000", format!("port_value: {port}")),
                ("port_value: 8080", format!("port_value: {b}")),
                ("port_value: 9901", format!("port_value: {}", free_port())),
            ];
            if kind == Proxy::EnvoyGrpc {
                pairs.push(("port_value: 9191", format!("port_value: {meshgate_port}")));
            } else {
                pairs.push(("port_value: 9192", format!("port_value: {meshgate_port}")));
                pairs.push((
                    "uri: http://127.0.0.1:9192",
                    format!("uri: http://127.0.0.1:{meshgate_port}"),
                ));
            }
            let config = dir.join(file);
            std::fs::write(&config, substitute(&example(file), &pairs)).unwrap();
            let envoy = std::env::var("MESHGATE_ENVOY")
                .expect("MESHGATE_ENVOY names the Envoy binary (cargo xtask serve --test)");
            Proc::spawn(
                "envoy",
                Command::new(envoy)
                    .arg("-c")
                    .arg(&config)
                    .args(["--concurrency", "1", "--disable-hot-restart"])
                    .args(["--log-level", "warn"])
                    .stdin(Stdio::null()),
            )
        }
        Proxy::Nginx => {
            let config = dir.join("nginx.conf");
            let text = substitute(
                &example("nginx.conf"),
                &[
                    (
                        "listen 127.0.0.1:8000;",
                        format!("listen 127.0.0.1:{port};"),
                    ),
                    (
                        "server 127.0.0.1:9192;",
                        format!("server 127.0.0.1:{};", http.port()),
                    ),
                    ("http://127.0.0.1:8080;", format!("http://127.0.0.1:{b};")),
                ],
            );
            std::fs::write(&config, text).unwrap();
            let globals = format!(
                "daemon off; master_process off; pid {}; error_log {} warn;",
                dir.join("nginx.pid").display(),
                dir.join("error.log").display()
            );
            Proc::spawn(
                "nginx",
                Command::new("nginx")
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(&config)
                    .args(["-g", &globals])
                    .stdin(Stdio::null()),
            )
        }
        Proxy::Caddy => {
            let config = dir.join("Caddyfile");
            let text = substitute(
                &example("Caddyfile"),
                &[
                    ("http://:8001", format!("http://:{port}")),
                    (
                        "forward_auth 127.0.0.1:9192",
                        format!("forward_auth 127.0.0.1:{}", http.port()),
                    ),
                    (
                        "reverse_proxy 127.0.0.1:8080",
                        format!("reverse_proxy 127.0.0.1:{b}"),
                    ),
                ],
            );
            std::fs::write(&config, text).unwrap();
            Proc::spawn(
                "caddy",
                Command::new("caddy")
                    .args(["run", "--adapter", "caddyfile", "--config"])
                    .arg(&config)
                    .env("HOME", &dir)
                    .env("XDG_DATA_HOME", dir.join("data"))
                    .env("XDG_CONFIG_HOME", dir.join("config"))
                    .stdin(Stdio::null()),
            )
        }
    };
    // Ready when the proxy answers a request that meshgate allows.
    wait_until(&format!("{kind:?} to serve"), || {
        try_get(listen, "/api/ready", &[("x-user", "alice")]).is_ok_and(|r| r.status == 200)
    });
    Stack {
        proxy,
        listen,
        meshgate,
        backend,
        policy,
        log,
    }
}

fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn scenario(kind: Proxy) {
    let mut s = start(kind);
    let at = s.listen;

    // An allow: the header, the client address (`from ip 127.0.0.0/8`) and the configured
    // namespace all reach the decision.
    let hits = s.backend.hits();
    let r = get(at, "/api/items", &[("x-user", "alice")]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, BACKEND_BODY),
        "{kind:?}: allow"
    );
    assert_eq!(s.backend.hits(), hits + 1);

    // The same request from another user: the default deny, never reaching the backend.
    let r = get(at, "/api/items", &[("x-user", "bob")]);
    assert_eq!(r.status, 403, "{kind:?}: default deny: {r:?}");
    assert_ne!(r.body, BACKEND_BODY);
    // A method the role does not permit: the original method reaches the decision.
    let r = get(at, "/admin/users", &[("x-user", "alice")]);
    assert_eq!(r.status, 403, "{kind:?}: deny rule: {r:?}");
    assert_eq!(
        r.header("x-meshgate-denied-by"),
        Some("no-admin"),
        "{kind:?}: {r:?}"
    );
    assert_eq!(
        s.backend.hits(),
        hits + 1,
        "{kind:?}: denied requests never reach the backend"
    );

    let lines = log_lines(&s.log);
    let admin = lines
        .iter()
        .find(|l| l["path"] == "/admin/users")
        .unwrap_or_else(|| panic!("{kind:?}: no log line for the denial"));
    assert_eq!(admin["method"], "GET");
    assert_eq!(admin["reasons"][0], "no-admin");
    assert_eq!(admin["headers"]["x-user"], "alice");

    reload_while_flowing(kind, &s);

    // The server hung (SIGSTOP: connections are accepted, nothing is answered): the proxy's
    // check times out and it denies (Envoy 403 after 0.5 s, nginx 500 after 1 s, Caddy 504).
    let pid = s.meshgate.proc.child.id().to_string();
    let stopped = Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    assert!(stopped.success());
    // A signal stops a thread when it next runs: wait until every thread is stopped (`T`).
    wait_until("meshgate to stop", || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .map(|t| std::fs::read_to_string(t.unwrap().path().join("stat")).unwrap_or_default())
            .all(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
            })
    });
    let hits = s.backend.hits();
    let r = get(at, "/api/items", &[("x-user", "alice")]);
    assert!(
        r.status >= 403,
        "{kind:?}: a hung meshgate must deny, got {r:?}"
    );
    assert_ne!(r.body, BACKEND_BODY);
    assert_eq!(
        s.backend.hits(),
        hits,
        "{kind:?}: nothing reaches the backend"
    );

    // The server stopped: the proxy denies (Envoy 403, nginx 500, Caddy 502).
    s.meshgate.proc.kill();
    let hits = s.backend.hits();
    let r = get(at, "/api/items", &[("x-user", "alice")]);
    assert!(
        r.status >= 403,
        "{kind:?}: meshgate down must deny, got {r:?}"
    );
    assert_ne!(r.body, BACKEND_BODY);
    assert_eq!(
        s.backend.hits(),
        hits,
        "{kind:?}: nothing reaches the backend"
    );
    s.proxy.kill();
}

/// Requests flow from four threads while the policy flips between two versions that allow the
/// same requests by differently named rules: every request is answered 200, and the decision
/// log has exactly one line per request whose rule is that of the version it names.
fn reload_while_flowing(kind: Proxy, s: &Stack) {
    let v_a = example("policy.mgp");
    let v_b = v_a.replace("\"alice-reads\"", "\"alice-reads-b\"");
    assert_ne!(v_a, v_b);
    let loads_before = s.meshgate.versions().len();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            let at = s.listen;
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) || i < 20 {
                    let path = format!("/api/reload/{t}/{i}");
                    let r = get(at, &path, &[("x-user", "alice")]);
                    assert_eq!(r.status, 200, "{path}: {r:?}");
                    sent.push(path);
                    i += 1;
                }
                sent
            })
        })
        .collect();
    for flip in 0..6 {
        let text = if flip % 2 == 0 { &v_b } else { &v_a };
        write_atomic(&s.policy, text);
        let want = loads_before + flip + 1;
        wait_until("the flipped version", || {
            s.meshgate.versions().len() >= want
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    let sent: Vec<String> = senders
        .into_iter()
        .flat_map(|h| h.join().expect("a sender failed"))
        .collect();
    let versions = s.meshgate.versions();
    let version_a = versions[0].clone();
    let version_b = versions[loads_before].clone();
    assert_ne!(version_a, version_b);
    let lines = log_lines(&s.log);
    let mut seen = HashSet::new();
    let mut by_version = [0usize; 2];
    for line in lines.iter().filter(|l| {
        l["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/api/reload/"))
    }) {
        let path = line["path"].as_str().unwrap().to_string();
        assert!(seen.insert(path.clone()), "{kind:?}: {path} decided twice");
        let version = line["version"].as_str().unwrap();
        let rule = line["reasons"][0].as_str().unwrap_or("");
        if version == version_a {
            assert_eq!(rule, "alice-reads", "{kind:?}: {line}");
            by_version[0] += 1;
        } else {
            assert_eq!(version, version_b, "{kind:?}: {line}");
            assert_eq!(rule, "alice-reads-b", "{kind:?}: {line}");
            by_version[1] += 1;
        }
    }
    assert_eq!(seen.len(), sent.len(), "{kind:?}: one decision per request");
    assert!(
        by_version[0] > 0 && by_version[1] > 0,
        "{kind:?}: both versions decided requests: {by_version:?}"
    );
    eprintln!(
        "{kind:?}: {} requests during 6 reloads, {by_version:?} by version",
        sent.len()
    );
}

#[test]
#[ignore = "needs Envoy: cargo xtask serve --test"]
fn envoy_grpc_ext_authz() {
    scenario(Proxy::EnvoyGrpc);
}

#[test]
#[ignore = "needs Envoy: cargo xtask serve --test"]
fn envoy_http_ext_authz() {
    scenario(Proxy::EnvoyHttp);
}

#[test]
#[ignore = "needs nginx: cargo xtask serve --test"]
fn nginx_auth_request() {
    scenario(Proxy::Nginx);
}

#[test]
#[ignore = "needs caddy: cargo xtask serve --test"]
fn caddy_forward_auth() {
    scenario(Proxy::Caddy);
}

/// A CA and leaf certificates with SPIFFE URI SANs (rcgen).
struct Pki {
    ca: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "meshgate test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        Pki {
            ca,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// Writes `NAME.pem` and `NAME-key.pem` into `dir`.
    fn leaf(&self, dir: &Path, name: &str, dns: &[&str], uri: Option<&str>) {
        let mut params =
            rcgen::CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())
                .unwrap();
        if let Some(uri) = uri {
            params
                .subject_alt_names
                .push(rcgen::SanType::URI(uri.try_into().unwrap()));
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
    }
}

/// The mTLS peer identity reaches the decision through Envoy's gRPC `CheckRequest`
/// (`source.principal`, the client certificate's URI SAN): the gRPC example with a TLS
/// listener requiring client certificates, and curl presenting one of two identities.
#[test]
#[ignore = "needs Envoy: cargo xtask serve --test"]
fn envoy_grpc_ext_authz_passes_the_mtls_identity() {
    let dir = temp_dir("envoy-mtls");
    let pki = Pki::new();
    std::fs::write(dir.join("ca.pem"), pki.ca.pem()).unwrap();
    pki.leaf(&dir, "server", &["localhost"], None);
    let frontend = "spiffe://cluster.local/ns/shop/sa/frontend";
    pki.leaf(&dir, "frontend", &[], Some(frontend));
    pki.leaf(
        &dir,
        "other",
        &[],
        Some("spiffe://cluster.local/ns/other/sa/x"),
    );
    let policy = dir.join("mtls.mgp");
    std::fs::write(
        &policy,
        format!("allow \"frontend\" {{ from namespace \"shop\", principal \"{frontend}\" to path \"/api/**\" }}\n"),
    )
    .unwrap();
    let log = dir.join("decisions.log");
    let backend = Backend::start();
    let meshgate = Meshgate::start(&[
        "--policy",
        policy.to_str().unwrap(),
        "--decision-log",
        log.to_str().unwrap(),
    ]);
    let port = free_port();
    let tls = format!(
        "    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: {{ filename: {d}/server.pem }}
              private_key: {{ filename: {d}/server-key.pem }}
            validation_context:
              trusted_ca: {{ filename: {d}/ca.pem }}
      filters:",
        d = dir.display()
    );
    let config = dir.join("envoy.yaml");
    let text = substitute(
        &example("envoy-grpc.yaml"),
        &[
            ("    filter_chains:\n    - filters:", tls),
            ("port_value: 10000", format!("port_value: {port}")),
            (
                "port_value: 8080",
                format!("port_value: {}", backend.addr.port()),
            ),
            ("port_value: 9901", format!("port_value: {}", free_port())),
            (
                "port_value: 9191",
                format!("port_value: {}", meshgate.grpc.unwrap().port()),
            ),
        ],
    );
    std::fs::write(&config, text).unwrap();
    let envoy = std::env::var("MESHGATE_ENVOY")
        .expect("MESHGATE_ENVOY names the Envoy binary (cargo xtask serve --test)");
    let _envoy = Proc::spawn(
        "envoy",
        Command::new(envoy)
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", "1", "--disable-hot-restart"])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null()),
    );
    let curl = |who: &str| -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "--cacert"])
            .arg(dir.join("ca.pem"))
            .arg("--cert")
            .arg(dir.join(format!("{who}.pem")))
            .arg("--key")
            .arg(dir.join(format!("{who}-key.pem")))
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .arg(format!("https://localhost:{port}/api/items"))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    };
    wait_until("Envoy with TLS to serve", || curl("frontend").0 == 200);
    assert_eq!(curl("frontend"), (200, BACKEND_BODY.to_string()));
    let (status, _) = curl("other");
    assert_eq!(status, 403, "another identity is denied");
    let lines = log_lines(&log);
    assert!(
        lines
            .iter()
            .any(|l| l["principal"] == frontend && l["allowed"] == true),
        "the decision log names the mTLS identity"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["principal"] == "spiffe://cluster.local/ns/other/sa/x"
                && l["allowed"] == false)
    );
}

/// An ES256 key pair: signs JWTs and publishes its JWKS.
struct Jwt {
    key: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl Jwt {
    fn new() -> Jwt {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Jwt { key, rng }
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jwks(&self) -> String {
        use ring::signature::KeyPair as _;
        // An uncompressed P-256 point: 0x04, X, Y.
        let point = self.key.public_key().as_ref();
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "test",
            "x": Jwt::b64(&point[1..33]), "y": Jwt::b64(&point[33..65]),
        }]})
        .to_string()
    }

    fn token(&self, claims: &serde_json::Value) -> String {
        let header = Jwt::b64(br#"{"alg":"ES256","typ":"JWT","kid":"test"}"#);
        let payload = Jwt::b64(claims.to_string().as_bytes());
        let input = format!("{header}.{payload}");
        let sig = self.key.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", Jwt::b64(sig.as_ref()))
    }
}

/// The `jwt_authn` payload reaches the decision through the gRPC `CheckRequest`'s
/// `metadata_context`: Envoy validates the token and puts its payload in dynamic metadata, the
/// example's ext_authz filter forwards that namespace, and a claims rule decides.
#[test]
#[ignore = "needs Envoy: cargo xtask serve --test"]
fn envoy_grpc_ext_authz_passes_the_jwt_payload() {
    let dir = temp_dir("envoy-jwt");
    let jwt = Jwt::new();
    let issuer = "https://auth.example.com";
    let policy = dir.join("jwt.mgp");
    std::fs::write(
        &policy,
        format!(
            "allow \"admins\" {{ from request_principal \"{issuer}/alice\" to path \"/api/**\" \
             when request.auth.claims[\"groups\"] contains \"admins\" }}\n"
        ),
    )
    .unwrap();
    let log = dir.join("decisions.log");
    let backend = Backend::start();
    let meshgate = Meshgate::start(&[
        "--policy",
        policy.to_str().unwrap(),
        "--decision-log",
        log.to_str().unwrap(),
        "--redact",
        "email",
    ]);
    let jwt_filter = format!(
        "          http_filters:
          - name: envoy.filters.http.jwt_authn
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                test:
                  issuer: {issuer}
                  local_jwks:
                    inline_string: '{jwks}'
                  payload_in_metadata: jwt_payload
              rules:
              - match: {{ prefix: \"/\" }}
                requires:
                  requires_any:
                    requirements:
                    - provider_name: test
                    - allow_missing: {{}}
",
        jwks = jwt.jwks()
    );
    let port = free_port();
    let config = dir.join("envoy.yaml");
    let text = substitute(
        &example("envoy-grpc.yaml"),
        &[
            ("          http_filters:\n", jwt_filter),
            ("port_value: 10000", format!("port_value: {port}")),
            (
                "port_value: 8080",
                format!("port_value: {}", backend.addr.port()),
            ),
            ("port_value: 9901", format!("port_value: {}", free_port())),
            (
                "port_value: 9191",
                format!("port_value: {}", meshgate.grpc.unwrap().port()),
            ),
        ],
    );
    std::fs::write(&config, text).unwrap();
    let envoy = std::env::var("MESHGATE_ENVOY")
        .expect("MESHGATE_ENVOY names the Envoy binary (cargo xtask serve --test)");
    let _envoy = Proc::spawn(
        "envoy",
        Command::new(envoy)
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", "1", "--disable-hot-restart"])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null()),
    );
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let exp = jiff::Timestamp::now().as_second() + 3600;
    let alice = jwt.token(&serde_json::json!({
        "iss": issuer, "sub": "alice", "exp": exp, "groups": ["dev", "admins"],
        "email": "alice@example.com",
    }));
    let bob = jwt.token(&serde_json::json!({
        "iss": issuer, "sub": "bob", "exp": exp, "groups": ["admins"],
    }));
    let bearer = |t: &str| format!("Bearer {t}");
    wait_until("Envoy with jwt_authn to serve", || {
        try_get(
            listen,
            "/api/x",
            &[("authorization", bearer(&alice).as_str())],
        )
        .is_ok_and(|r| r.status == 200)
    });
    let r = get(
        listen,
        "/api/items",
        &[("authorization", bearer(&alice).as_str())],
    );
    assert_eq!((r.status, r.body.as_str()), (200, BACKEND_BODY));
    let r = get(
        listen,
        "/api/items",
        &[("authorization", bearer(&bob).as_str())],
    );
    assert_eq!(r.status, 403, "another subject: {r:?}");
    let r = get(listen, "/api/items", &[]);
    assert_eq!(r.status, 403, "no token: {r:?}");
    let lines = log_lines(&log);
    let allowed = lines
        .iter()
        .find(|l| l["allowed"] == true)
        .expect("an allowed line");
    assert_eq!(allowed["claims"]["sub"], "alice");
    assert_eq!(allowed["claims"]["email"], "[redacted]");
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap()
            .contains("alice@example.com")
    );
}
