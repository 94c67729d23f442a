//! `meshgate serve` (crates/meshgate-server): its tests against real proxies, and its load
//! benchmark.
//!
//! - `cargo xtask serve --test`, and `cargo xtask test` as one of its steps, run [`test`]:
//!   install nginx and caddy from Debian when missing and Envoy 1.40 (the e2e suite's virtual
//!   environment), then run `meshgate-cli`'s `serve` tests and its ignored `serve_proxies`
//!   tests, which start and stop `meshgate serve`, a backend, Envoy (gRPC and HTTP ext_authz),
//!   nginx (`auth_request`) and Caddy (`forward_auth`) from `examples/ext-authz/`.
//! - `cargo xtask bench-serve [--seconds N] [--soak [--rate N]]`: [`bench`], not part of
//!   `cargo xtask test`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;
use crate::wasm;

/// `cargo xtask serve --test`.
pub fn run(args: &[String]) -> util::Result {
    match args {
        [flag] if flag == "--test" => test(),
        _ => Err("usage: cargo xtask serve --test".to_string()),
    }
}

/// Installs what is missing of nginx, caddy (Debian) and wrk (when `wrk`).
fn ensure_debian(wrk: bool) -> util::Result {
    let mut wanted = vec!["nginx", "caddy"];
    if wrk {
        wanted.push("wrk");
    }
    let missing: Vec<&str> = wanted.into_iter().filter(|p| !util::have(p)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        wasm::apt_install(&missing)
    }
}

/// The serve tests, with the proxies installed.
pub fn test() -> util::Result {
    ensure_debian(false)?;
    let envoy = crate::envoy_e2e::ensure_envoy()?;
    let envoy = envoy.display().to_string();
    util::cargo_env(
        &[
            "test",
            "-p",
            "meshgate-cli",
            "--test",
            "serve",
            "--test",
            "serve_proxies",
            "--",
            "--include-ignored",
        ],
        &[("MESHGATE_ENVOY", envoy.as_str())],
    )
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(name: &str, cmd: &mut Command) -> util::Result<Proc> {
    cmd.stdin(Stdio::null())
        .spawn()
        .map(Proc)
        .map_err(|e| format!("cannot start {name}: {e}"))
}

fn free_port() -> util::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The status of `GET path` on `127.0.0.1:port`, if it answers.
fn status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split(' ').nth(1)?.parse().ok()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) -> util::Result {
    let deadline = Instant::now().checked_add(Duration::from_secs(60));
    while deadline.is_some_and(|d| Instant::now() < d) {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("timed out waiting for {what}"))
}

/// The benchmark policy: 1,000 rules, one allow per caller principal with a method and a path
/// prefix and every 20th rule a deny (as the Envoy filter's benchmark), plus the rule the
/// proxied requests match. `tag` renames the rules, so that two tags are two versions.
fn policy(tag: &str) -> String {
    let mut p = String::new();
    for i in 0..999 {
        let principal = format!("spiffe://cluster.local/ns/ns{i}/sa/sa{i}");
        if i % 20 == 19 {
            p.push_str(&format!(
                "deny \"{tag}d{i}\" {{ from principal \"{principal}\" to path \"/api/r{i}/admin/**\" }}\n"
            ));
        } else {
            p.push_str(&format!(
                "allow \"{tag}r{i}\" {{ from principal \"{principal}\" to method GET, path \"/api/r{i}/**\" }}\n"
            ));
        }
    }
    p.push_str(&format!(
        "allow \"{tag}proxied\" {{ from ip 127.0.0.0/8 to method GET, path \"/proxied/**\" }}\n"
    ));
    p
}

/// The gRPC request of the load client: the last allow rule's caller.
const GRPC_PRINCIPAL: &str = "spiffe://cluster.local/ns/ns998/sa/sa998";
const GRPC_PATH: &str = "/api/r998/items";

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn load_client(bin: &Path, port: u16, rate: u64, seconds: u64) -> util::Result<String> {
    let out = util::output(
        Command::new(bin)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args([
                "--rate",
                &rate.to_string(),
                "--seconds",
                &seconds.to_string(),
            ])
            .args(["--principal", GRPC_PRINCIPAL, "--path", GRPC_PATH]),
    )?;
    Ok(out.trim().to_string())
}

/// A field of the load client's JSON line.
fn field(json: &str, name: &str) -> u64 {
    json.split(&format!("\"{name}\":"))
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `wrk` for `seconds` on `url`: (requests/s, p50, p99) as wrk prints them.
fn wrk(url: &str, seconds: u64, connections: u32) -> util::Result<(String, String, String)> {
    let out = util::output(
        Command::new("wrk")
            .args(["-t", "1", "-c", &connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--latency", url]),
    )?;
    let pick = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let non_2xx = pick("Non-2xx or 3xx responses:");
    if !non_2xx.is_empty() {
        return Err(format!("wrk on {url}: {non_2xx} non-2xx responses\n{out}"));
    }
    Ok((pick("Requests/sec:"), pick("50%"), pick("99%")))
}

/// `cargo xtask bench-serve [--seconds N] [--soak [--rate N]]`: gRPC `Check` against
/// `meshgate serve` and the no-op baseline, then HTTP through nginx and Envoy, `N` seconds per
/// run (15); with `--soak`, `N` seconds (300) at `--rate` checks/s (10,000) with reloads.
pub fn bench(args: &[String]) -> util::Result {
    let mut soak = false;
    let mut seconds = None;
    let mut soak_rate = 10_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--soak" => soak = true,
            "--seconds" => {
                seconds = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("`--seconds` needs a number")?,
                );
            }
            "--rate" => {
                soak_rate = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("`--rate` needs a number")?;
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` (expected --soak, --rate N, --seconds N)"
                ));
            }
        }
    }
    ensure_debian(true)?;
    let envoy = crate::envoy_e2e::ensure_envoy()?;
    util::cargo(&[
        "build",
        "--release",
        "-p",
        "meshgate-cli",
        "-p",
        "meshgate-server",
        "--bin",
        "meshgate",
        "--example",
        "check_load",
        "--example",
        "noop_authz",
    ])?;
    let release = util::root().join("target").join("release");
    let meshgate = release.join("meshgate");
    let client = release.join("examples").join("check_load");
    let noop = release.join("examples").join("noop_authz");
    let dir = util::root().join("target").join("serve-bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let policy_file = dir.join("bench.mgp");
    write_atomic(&policy_file, &policy("a"))?;
    let load = util::output(Command::new("cat").arg("/proc/loadavg")).unwrap_or_default();
    eprintln!("load average before: {}", load.trim());

    let (grpc, http, admin) = (free_port()?, free_port()?, free_port()?);
    let server = spawn(
        "meshgate serve",
        Command::new(&meshgate)
            .arg("serve")
            .arg("--policy")
            .arg(&policy_file)
            .args(["--grpc", &format!("127.0.0.1:{grpc}")])
            .args(["--http", &format!("127.0.0.1:{http}")])
            .args(["--admin", &format!("127.0.0.1:{admin}")]),
    )?;
    wait_for("meshgate serve", || status(admin, "/readyz") == Some(200))?;
    let pid = server.0.id();

    if soak {
        let seconds = seconds.unwrap_or(300);
        return soak_run(&client, grpc, admin, pid, &policy_file, soak_rate, seconds);
    }
    let seconds = seconds.unwrap_or(15);

    // The floor: the same client against a server on the same gRPC stack that allows every
    // check without reading it (`examples/noop_authz.rs`).
    let noop_port = free_port()?;
    let noop_server = spawn(
        "noop_authz",
        Command::new(&noop).arg(format!("127.0.0.1:{noop_port}")),
    )?;
    wait_for("noop_authz", || {
        std::net::TcpStream::connect(("127.0.0.1", noop_port)).is_ok()
    })?;
    let mut rows = Vec::new();
    // 1,000/s: the latency without queueing; 10,000/s: the target; 20,000/s: past it.
    for rate in [1_000, 10_000, 20_000] {
        for (label, port, pid) in [
            (
                "no-op gRPC server (the stack's floor)",
                noop_port,
                noop_server.0.id(),
            ),
            ("meshgate serve", grpc, pid),
        ] {
            let cpu_before = cpu_ticks(pid);
            let line = load_client(&client, port, rate, seconds)?;
            let cpu = cpu_ticks(pid).saturating_sub(cpu_before);
            let answered = field(&line, "answered").max(1);
            // Clock ticks are 10 ms: CPU µs per check = ticks * 10,000 / checks.
            let cpu_us = cpu.saturating_mul(10_000) as f64 / answered as f64;
            eprintln!(
                "{label}, gRPC Check at {rate}/s: {line}; server CPU {cpu_us:.1} µs per check"
            );
            let failed = field(&line, "errors") > 0 || field(&line, "allowed") != answered;
            if rate == 10_000 && failed {
                return Err(format!(
                    "the gRPC run at the target rate had errors or denials: {line}"
                ));
            }
            rows.push(format!(
                "| {label}, gRPC Check offered {rate}/s | {} | {} µs | {} µs | {} µs | {} µs / {} µs | {} µs | {cpu_us:.0} µs | {} |",
                field(&line, "rate"),
                field(&line, "p50_us"),
                field(&line, "p99_us"),
                field(&line, "p999_us"),
                field(&line, "rtt_p50_us"),
                field(&line, "rtt_p99_us"),
                field(&line, "lag_p50_us"),
                field(&line, "errors").saturating_add(field(&line, "skipped")),
            ));
        }
    }
    drop(noop_server);
    let metrics = http_get_body(admin, "/metrics")?;
    let sum = metric_value(&metrics, "meshgate_decision_duration_seconds_sum");
    let count = metric_value(&metrics, "meshgate_decision_duration_seconds_count");
    if count > 0.0 {
        eprintln!(
            "server-side decision time (mapping, limits, engine, metrics): mean {:.1} µs over {count} checks",
            sum / count * 1e6
        );
    }

    // nginx: a backend (`return 200`), a front without auth and a front with auth_request.
    let (backend, front, plain) = (free_port()?, free_port()?, free_port()?);
    let nginx_conf = dir.join("nginx.conf");
    let example = std::fs::read_to_string(
        util::root()
            .join("examples")
            .join("ext-authz")
            .join("nginx.conf"),
    )
    .map_err(|e| format!("cannot read the nginx example: {e}"))?;
    let mut conf = example
        .replace(
            "listen 127.0.0.1:8000;",
            &format!("listen 127.0.0.1:{front};"),
        )
        .replace(
            "server 127.0.0.1:9192;",
            &format!("server 127.0.0.1:{http};"),
        )
        .replace("http://127.0.0.1:8080;", "http://backend;");
    let extra = format!(
        "  upstream backend {{ server 127.0.0.1:{backend}; keepalive 16; }}\n  server {{ listen 127.0.0.1:{backend}; location / {{ return 200 \"ok\\n\"; }} }}\n  server {{ listen 127.0.0.1:{plain}; location / {{ proxy_pass http://backend; }} }}\n}}\n"
    );
    let end = conf
        .rfind('}')
        .ok_or("the nginx example has no closing brace")?;
    conf.truncate(end);
    conf.push_str(&extra);
    std::fs::write(&nginx_conf, conf).map_err(|e| format!("cannot write nginx.conf: {e}"))?;
    let globals = format!(
        "daemon off; pid {}; error_log {} warn;",
        dir.join("nginx.pid").display(),
        dir.join("nginx-error.log").display()
    );
    let _nginx = spawn(
        "nginx",
        Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&nginx_conf)
            .args(["-g", &globals]),
    )?;
    wait_for("nginx", || status(front, "/proxied/x") == Some(200))?;
    for (label, port) in [
        ("HTTP through nginx, no auth (baseline)", plain),
        ("HTTP through nginx `auth_request` → meshgate", front),
    ] {
        for connections in [1, 8] {
            let url = format!("http://127.0.0.1:{port}/proxied/x");
            let (rps, p50, p99) = wrk(&url, seconds, connections)?;
            eprintln!("{label}, {connections} connections: {rps} req/s, p50 {p50}, p99 {p99}");
            rows.push(format!(
                "| {label}, wrk {connections} connections | {rps} | {p50} | {p99} | | | | | |"
            ));
        }
    }

    // Envoy: the gRPC example with and without its ext_authz filter, in front of the backend.
    let example = std::fs::read_to_string(
        util::root()
            .join("examples")
            .join("ext-authz")
            .join("envoy-grpc.yaml"),
    )
    .map_err(|e| format!("cannot read the Envoy example: {e}"))?;
    let mut envoys = Vec::new();
    for with_authz in [false, true] {
        let (listen, envoy_admin) = (free_port()?, free_port()?);
        let mut yaml = example
            .replace("port_value: 10000", &format!("port_value: {listen}"))
            .replace("port_value: 9191", &format!("port_value: {grpc}"))
            .replace("port_value: 8080", &format!("port_value: {backend}"))
            .replace("port_value: 9901", &format!("port_value: {envoy_admin}"));
        if !with_authz {
            let start = yaml
                .find("          - name: envoy.filters.http.ext_authz")
                .ok_or("no ext_authz filter in the Envoy example")?;
            let end = yaml
                .find("          - name: envoy.filters.http.router")
                .ok_or("no router in the Envoy example")?;
            yaml.replace_range(start..end, "");
        }
        let file = dir.join(format!("envoy-{with_authz}.yaml"));
        std::fs::write(&file, yaml).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let proc = spawn(
            "envoy",
            Command::new(&envoy).arg("-c").arg(&file).args([
                "--concurrency",
                "1",
                "--disable-hot-restart",
                "--log-level",
                "error",
            ]),
        )?;
        wait_for("envoy", || status(listen, "/proxied/x") == Some(200))?;
        let label = if with_authz {
            "HTTP through Envoy ext_authz gRPC → meshgate"
        } else {
            "HTTP through Envoy, no ext_authz (baseline)"
        };
        for connections in [1, 8] {
            let url = format!("http://127.0.0.1:{listen}/proxied/x");
            let (rps, p50, p99) = wrk(&url, seconds, connections)?;
            eprintln!("{label}, {connections} connections: {rps} req/s, p50 {p50}, p99 {p99}");
            rows.push(format!(
                "| {label}, wrk {connections} connections, 1 Envoy worker | {rps} | {p50} | {p99} | | | | | |"
            ));
        }
        envoys.push(proc);
    }
    let load = util::output(Command::new("cat").arg("/proc/loadavg")).unwrap_or_default();
    println!(
        "\n1,000 rules; {seconds} s per run; load average after: {}\n",
        load.trim()
    );
    println!(
        "| run | checks or requests/s | p50 | p99 | p99.9 | round trip p50 / p99 | pacing lag p50 | server CPU per check | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        println!("{r}");
    }
    Ok(())
}

/// The process's user and system CPU time, in clock ticks (10 ms).
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')').map(|(_, r)| r.to_string())?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = f.get(11)?.parse().ok()?;
            let stime: u64 = f.get(12)?.parse().ok()?;
            Some(utime.saturating_add(stime))
        })
        .unwrap_or(0)
}

fn http_get_body(port: u16, path: &str) -> util::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn metric_value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn write_atomic(path: &Path, text: &str) -> util::Result {
    let tmp: PathBuf = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
}

/// Five minutes at `rate` checks/s (10,000 unless `--rate`) with a policy reload every 10 s:
/// zero errors, and the server's RSS at the start and the end.
fn soak_run(
    client: &Path,
    grpc: u16,
    admin: u16,
    pid: u32,
    policy_file: &Path,
    rate: u64,
    seconds: u64,
) -> util::Result {
    let rss_start = rss_kib(pid);
    let client = client.to_path_buf();
    let load = std::thread::spawn(move || load_client(&client, grpc, rate, seconds));
    let start = Instant::now();
    let mut reloads = 0u32;
    let mut samples = vec![rss_start];
    while !load.is_finished() {
        std::thread::sleep(Duration::from_secs(10));
        if load.is_finished() || start.elapsed() >= Duration::from_secs(seconds) {
            break;
        }
        reloads = reloads.saturating_add(1);
        let tag = if reloads % 2 == 1 { "b" } else { "a" };
        write_atomic(policy_file, &policy(tag))?;
        samples.push(rss_kib(pid));
    }
    let line = load.join().map_err(|_| "the load client panicked")??;
    let rss_end = rss_kib(pid);
    let metrics = http_get_body(admin, "/metrics")?;
    let metric = |name: &str| metric_value(&metrics, name);
    println!("soak at {rate}/s for {seconds} s: {line}");
    println!(
        "soak: {reloads} policy rewrites, meshgate_policy_reloads_total {}, failures {}",
        metric("meshgate_policy_reloads_total"),
        metric("meshgate_policy_reload_failures_total")
    );
    println!(
        "soak: RSS {rss_start} KiB at the start, {rss_end} KiB at the end; every 10 s: {samples:?}"
    );
    // Flat: the second half adds under 5% to the RSS of the midpoint. A leak per check or per
    // reload grows both halves alike; buffers sized by the busiest moment so far (the allocator
    // keeps freed memory) rise early and then stop.
    let mid = samples.get(samples.len() / 2).copied().unwrap_or(rss_start);
    let growth = rss_end.saturating_sub(mid);
    println!(
        "soak: RSS grew {growth} KiB over the second half ({:.1}% of {mid} KiB)",
        growth as f64 * 100.0 / mid.max(1) as f64
    );
    if growth.saturating_mul(20) > mid {
        return Err(format!(
            "memory still grows in the second half of the soak: {mid} → {rss_end} KiB"
        ));
    }
    if field(&line, "errors") > 0
        || field(&line, "skipped") > 0
        || field(&line, "allowed") != field(&line, "answered")
    {
        return Err(format!("the soak had errors or denials: {line}"));
    }
    Ok(())
}
