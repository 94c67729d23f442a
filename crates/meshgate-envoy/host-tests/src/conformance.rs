//! The conformance corpus (`spec/conformance/cases/`) as Envoy requests.
//!
//! A case's request is expressed through the attributes the filter reads (see the attribute
//! table in `crates/meshgate-envoy/README.md`). Some requests cannot be expressed exactly, and
//! [`to_envoy`] says why:
//!
//! - `source.labels` and `source.remote_ip` have no Envoy attribute the filter reads;
//! - an empty principal, SNI or destination namespace is absent in Envoy;
//! - the proxy always has a clock, so a request without `time` is expressible only when the
//!   policy never mentions time;
//! - integers above 2^53 in claims or context do not survive protobuf's doubles;
//! - the filter sees a caller's namespace, service account and trust domain only through a
//!   SPIFFE id, and a JWT's principal, presenter and audiences only through its claims. Where a
//!   case gives one without the other, the harness writes the SPIFFE id (`spiffe://TD/ns/NS/sa/SA`,
//!   `cluster.local` and `default` where not given) or the claims (`iss`/`sub` split at the last
//!   `/`, `azp`, `aud`); the request the filter then sees carries attributes the case did not,
//!   and the case runs only if its policy never names them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::{EnvoyRequest, pairs, proto, time};

/// One policy directory of the corpus.
pub struct Dir {
    /// Directory name, e.g. `claims`.
    pub name: String,
    /// Its `*.mgp` files in sorted order: `(file name, text)`.
    pub sources: Vec<(String, String)>,
    /// Its cases.
    pub cases: Vec<Value>,
}

impl Dir {
    /// All policy text, for the "does the policy mention …" checks.
    pub fn text(&self) -> String {
        self.sources
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The names of every request header the cases use, lower case.
    pub fn header_names(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for c in &self.cases {
            if let Some(Value::Object(h)) = c.pointer("/request/request/headers") {
                names.extend(h.keys().map(|k| k.to_ascii_lowercase()));
            }
        }
        names.into_iter().collect()
    }

    /// The plugin configuration that loads this directory's policy, with decision logs on.
    pub fn configuration(&self) -> String {
        let policies: Vec<Value> = self
            .sources
            .iter()
            .map(|(n, t)| json!({"name": n, "text": t}))
            .collect();
        json!({"policies": policies, "headers": self.header_names(), "decision_log": true})
            .to_string()
    }
}

/// `spec/conformance/cases`: `$MESHGATE_CONFORMANCE_CASES`, else found from this crate.
pub fn cases_dir() -> PathBuf {
    match std::env::var_os("MESHGATE_CONFORMANCE_CASES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../spec/conformance/cases"),
    }
}

/// Every directory of the corpus, sorted by name.
pub fn load() -> Vec<Dir> {
    let root = cases_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "mgp"))
                .collect();
            files.sort();
            let sources = files
                .iter()
                .map(|f| {
                    let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
                    let text = std::fs::read_to_string(f)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
                    (name.unwrap_or_default(), text)
                })
                .collect();
            let cases_path = dir.join("cases.json");
            let cases_text = std::fs::read_to_string(&cases_path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", cases_path.display()));
            let cases: Vec<Value> = serde_json::from_str(&cases_text)
                .unwrap_or_else(|e| panic!("{}: {e}", cases_path.display()));
            Dir {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                sources,
                cases,
            }
        })
        .collect()
}

/// A request that becomes Envoy attributes, and the proxy clock it needs.
pub struct Expressed {
    /// Headers and properties.
    pub request: EnvoyRequest,
    /// The clock, nanoseconds since the epoch.
    pub time: u64,
}

/// Whether `policy` may read the attribute `attr` (one of the names [`to_envoy`] synthesizes).
/// A substring check, conservative: it may skip a case that would have passed, never run one
/// whose policy reads an attribute the harness added.
fn mentions(policy: &str, attr: &str) -> bool {
    let code = code_only(policy);
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let any = |word: &str, unless_after: &[&str]| {
        code.match_indices(word).any(|(at, _)| {
            let before = code.get(..at).unwrap_or_default();
            let after = code.get(at + word.len()..).unwrap_or_default();
            // A whole identifier: `time` in `time.hour`, not in `timezone` or `runtime`.
            !ident(before.chars().next_back())
                && !ident(after.chars().next())
                && !unless_after.iter().any(|p| before.ends_with(p))
        })
    };
    match attr {
        "source.principal" => any("principal", &["request_", "auth."]),
        "source.namespace" => any("namespace", &["destination."]),
        "source.service_account" => any("service_account", &[]),
        "source.trust_domain" => any("trust_domain", &[]),
        "auth.principal" => any("request_principal", &[]) || any("auth.principal", &[]),
        "auth.presenter" => any("presenter", &[]),
        "auth.audiences" => any("audiences", &[]),
        "auth.claims" => any("claims", &[]),
        // The attribute `time` and its fields, not a `context.time`.
        "time" => any("time", &["context."]),
        other => any(other, &[]),
    }
}

/// The policy text with comments and the contents of strings blanked out, so that a word in a
/// comment or in a path pattern is not taken for an attribute.
fn code_only(policy: &str) -> String {
    let mut out = String::with_capacity(policy.len());
    let mut chars = policy.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push('"');
            }
            c => out.push(c),
        }
    }
    out
}

fn str_at<'v>(v: &'v Value, path: &str) -> Option<&'v str> {
    v.pointer(path).and_then(Value::as_str)
}

/// The case's request as Envoy attributes, or why it cannot be one.
pub fn to_envoy(request: &Value, policy: &str) -> Result<Expressed, String> {
    let mut r = EnvoyRequest::default();
    // Attributes the filter will see that the case does not have.
    let mut synthesized: Vec<&str> = Vec::new();

    for unmapped in ["/source/labels", "/source/remote_ip"] {
        if request.pointer(unmapped).is_some() {
            return Err(format!(
                "`{}` has no Envoy attribute",
                unmapped.trim_start_matches('/').replace('/', ".")
            ));
        }
    }
    for (field, path) in [
        ("/source/principal", "source.principal"),
        ("/connection/sni", "connection.sni"),
        ("/destination/namespace", "destination.namespace"),
    ] {
        if str_at(request, field) == Some("") {
            return Err(format!("an empty `{path}` is absent in Envoy"));
        }
    }

    // The caller: a SPIFFE id, given or written from namespace, service account, trust domain.
    let ns = str_at(request, "/source/namespace");
    let sa = str_at(request, "/source/service_account");
    let td = str_at(request, "/source/trust_domain");
    let principal = match str_at(request, "/source/principal") {
        Some(p) => {
            let derived = spiffe(p);
            for (given, derived, name) in [
                (ns, derived.1, "source.namespace"),
                (sa, derived.2, "source.service_account"),
                (td, derived.0, "source.trust_domain"),
            ] {
                if given.is_some() && given != derived {
                    return Err(format!(
                        "a given `{name}` that the SPIFFE id does not carry"
                    ));
                }
            }
            Some(p.to_string())
        }
        None if ns.is_some() || sa.is_some() || td.is_some() => {
            let (ns, sa) = (ns.unwrap_or("default"), sa.unwrap_or("default"));
            if ns.contains('/') || sa.contains('/') || td.is_some_and(|t| t.contains('/')) {
                return Err("a namespace, service account or trust domain with `/`".into());
            }
            synthesized.push("source.principal");
            if request.pointer("/source/namespace").is_none() {
                synthesized.push("source.namespace");
            }
            if request.pointer("/source/service_account").is_none() {
                synthesized.push("source.service_account");
            }
            if td.is_none() {
                synthesized.push("source.trust_domain");
            }
            Some(format!(
                "spiffe://{}/ns/{ns}/sa/{sa}",
                td.unwrap_or("cluster.local")
            ))
        }
        None => None,
    };
    if let Some(p) = principal {
        r = r.peer(&p);
    }

    if let Some(ip) = str_at(request, "/source/ip") {
        r = r.property("source.address", socket(ip, 53000));
    }
    let port = request.pointer("/destination/port").and_then(Value::as_i64);
    if let Some(p) = port {
        r = r.port(p);
    }
    if let Some(ip) = str_at(request, "/destination/ip") {
        r = r.property("destination.address", socket(ip, port.unwrap_or(80)));
    }
    if let Some(s) = str_at(request, "/destination/service") {
        r = r.property(
            "xds.cluster_name",
            format!("outbound|{}||{s}", port.unwrap_or(80)),
        );
    }
    if let Some(ns) = str_at(request, "/destination/namespace") {
        r = r.property("xds.node.metadata.NAMESPACE", ns);
    }
    if let Some(Value::Object(labels)) = request.pointer("/destination/labels") {
        let entries: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
            .collect();
        r = r.property("xds.node.metadata.LABELS", pairs::encode(&entries));
    }
    if let Some(sni) = str_at(request, "/connection/sni") {
        r = r.property("connection.requested_server_name", sni);
    }

    for (field, header) in [
        ("/request/method", ":method"),
        ("/request/path", ":path"),
        ("/request/host", ":authority"),
    ] {
        if let Some(v) = str_at(request, field) {
            r = r.header(header, v);
        }
    }
    if let Some(Value::Object(headers)) = request.pointer("/request/headers") {
        let mut seen = BTreeSet::new();
        for (k, v) in headers {
            if !seen.insert(k.to_ascii_lowercase()) {
                return Err("two headers whose names differ only in case".into());
            }
            r = r.header(&k.to_ascii_lowercase(), v.as_str().unwrap_or_default());
        }
    }

    let mut namespaces: Vec<(&str, Vec<u8>)> = Vec::new();
    if let Some(Value::Object(auth)) = request.pointer("/request/auth") {
        let claims = jwt_claims(auth, &mut synthesized)?;
        if !proto::exact(&claims) {
            return Err("a claim integer beyond 2^53 (protobuf numbers are doubles)".into());
        }
        namespaces.push((
            "envoy.filters.http.jwt_authn",
            proto::struct_value_field("jwt_payload", &claims),
        ));
    }
    if let Some(ctx) = request.get("context") {
        if !proto::exact(ctx) {
            return Err("a context integer beyond 2^53 (protobuf numbers are doubles)".into());
        }
        namespaces.push(("meshgate.context", proto::structure(ctx)));
    }
    if !namespaces.is_empty() {
        r = r.property("metadata", proto::metadata(&namespaces));
    }

    let time = match str_at(request, "/time") {
        Some(t) => time::unix_nanos(t).ok_or_else(|| format!("time `{t}` before 1970"))?,
        None if mentions(policy, "time") => {
            return Err("no `time`, and the proxy always has a clock".into());
        }
        None => 0,
    };

    for word in synthesized {
        if mentions(policy, word) {
            return Err(format!(
                "the policy may read `{word}`, which the Envoy form of this request adds"
            ));
        }
    }
    Ok(Expressed { request: r, time })
}

/// The claims object the JWT filter would have written for `auth`, noting which
/// `request.auth` attributes the filter derives that the case did not give.
fn jwt_claims<'s>(
    auth: &Map<String, Value>,
    synthesized: &mut Vec<&'s str>,
) -> Result<Value, String> {
    let mut claims = match auth.get("claims") {
        Some(Value::Object(c)) => c.clone(),
        _ => Map::new(),
    };
    let had = |claims: &Map<String, Value>, k: &str| claims.contains_key(k);

    // principal <-> iss/sub
    let derived_principal = match (claims.get("iss"), claims.get("sub")) {
        (Some(Value::String(i)), Some(Value::String(s))) => Some(format!("{i}/{s}")),
        _ => None,
    };
    match (
        auth.get("principal").and_then(Value::as_str),
        derived_principal,
    ) {
        (Some(p), Some(d)) if p != d => {
            return Err("`request.auth.principal` differs from the claims' `iss/sub`".into());
        }
        (Some(_), Some(_)) | (None, None) => {}
        (None, Some(_)) => synthesized.push("auth.principal"),
        (Some(p), None) => {
            if had(&claims, "iss") || had(&claims, "sub") {
                return Err(
                    "`request.auth.principal` with an `iss` or `sub` claim that is not a string"
                        .into(),
                );
            }
            let Some((iss, sub)) = p.rsplit_once('/') else {
                return Err("`request.auth.principal` without `/` cannot be `iss/sub`".into());
            };
            claims.insert("iss".into(), iss.into());
            claims.insert("sub".into(), sub.into());
            synthesized.push("auth.claims");
        }
    }
    // presenter <-> azp
    match (
        auth.get("presenter").and_then(Value::as_str),
        claims.get("azp"),
    ) {
        (Some(p), Some(Value::String(a))) if p != a => {
            return Err("`request.auth.presenter` differs from the `azp` claim".into());
        }
        (Some(_), Some(Value::String(_))) | (None, None) => {}
        (None, Some(Value::String(_))) => synthesized.push("auth.presenter"),
        (None, Some(_)) => {}
        (Some(_), Some(_)) => return Err("an `azp` claim that is not a string".into()),
        (Some(p), None) => {
            claims.insert("azp".into(), p.into());
            synthesized.push("auth.claims");
        }
    }
    // audiences <-> aud
    let given = auth.get("audiences");
    match (given, claims.get("aud")) {
        (Some(a), Some(aud)) => {
            let from_claim = match aud {
                Value::String(s) => json!([s]),
                Value::Array(items) => {
                    Value::Array(items.iter().filter(|v| v.is_string()).cloned().collect())
                }
                _ => return Err("an `aud` claim that is neither a string nor a list".into()),
            };
            if *a != from_claim {
                return Err("`request.auth.audiences` differs from the `aud` claim".into());
            }
        }
        (None, Some(Value::String(_) | Value::Array(_))) => synthesized.push("auth.audiences"),
        (None, _) => {}
        (Some(a), None) => {
            claims.insert("aud".into(), a.clone());
            synthesized.push("auth.claims");
        }
    }
    Ok(Value::Object(claims))
}

/// Trust domain, namespace and service account of a SPIFFE id, as the core derives them.
fn spiffe(p: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let Some(rest) = p.strip_prefix("spiffe://") else {
        return (None, None, None);
    };
    let (td, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if td.is_empty() {
        return (None, None, None);
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "ns", ns, "sa", sa] if !ns.is_empty() && !sa.is_empty() => {
            (Some(td), Some(ns), Some(sa))
        }
        _ => (Some(td), None, None),
    }
}

/// An Envoy socket address: `ip:port`, `[ip]:port` for IPv6.
fn socket(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The decision fields of a decision-log line, for comparison with a case's `expect` (whose
/// missing lists mean empty lists).
pub fn decision_of(line: &Value) -> Value {
    let field = |k: &str| line.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "allowed": field("allowed"),
        "reasons": field("reasons"),
        "audits": field("audits"),
        "dry_run": field("dry_run"),
        "errors": field("errors"),
    })
}

/// A case's `expect`, with missing lists filled in.
pub fn expected(expect: &Value) -> Value {
    let list = |k: &str| expect.get(k).cloned().unwrap_or_else(|| json!([]));
    json!({
        "allowed": expect.get("allowed").cloned().unwrap_or(Value::Null),
        "reasons": list("reasons"),
        "audits": list("audits"),
        "dry_run": list("dry_run"),
        "errors": list("errors"),
    })
}
