//! The Cedar side of a request: its entities (the caller as the principal, the target as the
//! resource, with their attributes), its context and the `cedar_policy::Request` (no schema).
//! `super::cedar` says how the policies read them; every attribute is present exactly when
//! the meshgate attribute is.

use serde_json::{Map, Value, json};

use super::ast::{Claim, ClaimVal, Req};
use super::cedar::ip_text;

/// `source.namespace`, `source.service_account`, `source.trust_domain` as spec §6.4 derives
/// them from a SPIFFE principal (this oracle's own reading of the spec, not meshgate's code).
pub fn spiffe(principal: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let Some(rest) = principal.strip_prefix("spiffe://") else {
        return (None, None, None);
    };
    let (td, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if td.is_empty() {
        return (None, None, None);
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "ns", ns, "sa", sa] if !ns.is_empty() && !sa.is_empty() => {
            (Some(ns), Some(sa), Some(td))
        }
        _ => (None, None, Some(td)),
    }
}

fn ip_value(s: &str) -> Value {
    json!({"__extn": {"fn": "ip", "arg": ip_text(s)}})
}

fn labels(l: &[(&str, &str)]) -> Value {
    Value::Object(l.iter().map(|(k, v)| ((*k).into(), json!(v))).collect())
}

/// The request's entities (principal and resource, with their attributes), as Cedar's JSON.
pub fn entities(r: &Req) -> Value {
    let (d_ns, d_sa, d_td) = r.principal.map(spiffe).unwrap_or((None, None, None));
    let mut src = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    put(&mut src, "id", r.principal);
    put(&mut src, "namespace", r.namespace.or(d_ns));
    put(&mut src, "service_account", r.service_account.or(d_sa));
    put(&mut src, "trust_domain", r.trust_domain.or(d_td));
    if let Some(l) = &r.src_labels {
        src.insert("labels".into(), labels(l));
    }
    if let Some(ip) = r.src_ip {
        src.insert("ip".into(), ip_value(ip));
    }
    let mut dst = Map::new();
    put(&mut dst, "namespace", r.dst_namespace);
    if let Some(l) = &r.dst_labels {
        dst.insert("labels".into(), labels(l));
    }
    if let Some(p) = r.dst_port {
        dst.insert("port".into(), json!(p));
    }
    if let Some(ip) = r.dst_ip {
        dst.insert("ip".into(), ip_value(ip));
    }
    json!([
        {"uid": principal_uid(r), "attrs": src, "parents": []},
        {"uid": {"type": "Dest", "id": "dest"}, "attrs": dst, "parents": []},
    ])
}

fn principal_uid(r: &Req) -> Value {
    match r.principal {
        Some(p) => json!({"type": "Workload", "id": p}),
        None => json!({"type": "Anonymous", "id": "anonymous"}),
    }
}

/// The request's context: `method`, `path`, `claims.groups` (a set), each when present.
pub fn context(r: &Req) -> Value {
    let mut ctx = Map::new();
    if let Some(m) = r.method {
        ctx.insert("method".into(), json!(m));
    }
    if let Some(p) = r.path {
        // Spec §6.3: the path is cut at the first `?` or `#`.
        let p = p.split(['?', '#']).next().unwrap_or_default();
        ctx.insert("path".into(), json!(p));
    }
    if let Some(g) = &r.groups {
        // Spec §6.5, read independently: a string is itself, an integer or boolean its JSON
        // text; in a list, nested lists and objects are ignored; an object is no string.
        let text = |v: &ClaimVal| match v {
            ClaimVal::Str(s) => Some((*s).to_string()),
            ClaimVal::Int(i) => Some(i.to_string()),
            ClaimVal::Bool(b) => Some(b.to_string()),
            ClaimVal::Nested(_) | ClaimVal::Object => None,
        };
        let set: Vec<String> = match g {
            // A single list is the list itself.
            Claim::One(ClaimVal::Nested(s)) => vec![(*s).to_string()],
            Claim::One(v) => text(v).into_iter().collect(),
            Claim::List(l) => l.iter().filter_map(text).collect(),
        };
        ctx.insert("claims".into(), json!({"groups": set}));
    }
    Value::Object(ctx)
}

/// The Cedar request: principal, action, resource and context.
pub fn request(r: &Req) -> Result<cedar_policy::Request, String> {
    let uid = |v: Value| {
        cedar_policy::EntityUid::from_json(v).map_err(|e| format!("cedar entity uid: {e}"))
    };
    let action = uid(json!({"type": "Action", "id": r.method.unwrap_or("-")}))?;
    let resource = uid(json!({"type": "Dest", "id": "dest"}))?;
    let context = cedar_policy::Context::from_json_value(context(r), None)
        .map_err(|e| format!("cedar context: {e}"))?;
    cedar_policy::Request::new(uid(principal_uid(r))?, action, resource, context, None)
        .map_err(|e| format!("cedar request: {e}"))
}
