//! The meshgate side: a case as `.mgp` text and its requests as the JSON request shape
//! (spec §12).

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::ast::{Attr, Claim, Effect, Expr, Matcher, Op, Req, Rule, Val};

/// The id of rule `i` (the same in both languages).
pub fn rule_id(i: usize) -> String {
    format!("r{i}")
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn attr(a: Attr) -> String {
    match a {
        Attr::Principal => "source.principal".into(),
        Attr::Namespace => "source.namespace".into(),
        Attr::ServiceAccount => "source.service_account".into(),
        Attr::TrustDomain => "source.trust_domain".into(),
        Attr::SrcLabel(k) => format!("source.labels[{}]", quote(k)),
        Attr::SrcIp => "source.ip".into(),
        Attr::DstNamespace => "destination.namespace".into(),
        Attr::DstLabel(k) => format!("destination.labels[{}]", quote(k)),
        Attr::DstPort => "destination.port".into(),
        Attr::DstIp => "destination.ip".into(),
        Attr::Method => "request.method".into(),
        Attr::Path => "request.path".into(),
        Attr::Groups => "request.auth.claims[\"groups\"]".into(),
    }
}

/// A value as written in a policy: strings quoted, CIDRs, methods and ports bare.
fn value(a: Attr, v: Val) -> String {
    match v {
        Val::Port(lo, hi) if lo == hi => lo.to_string(),
        Val::Port(lo, hi) => format!("{lo}..{hi}"),
        Val::S(s) => match a {
            Attr::SrcIp | Attr::DstIp | Attr::Method => s.to_string(),
            _ => quote(s),
        },
    }
}

fn values(a: Attr, vs: &[Val]) -> String {
    match vs {
        [v] => value(a, *v),
        _ => format!(
            "[{}]",
            vs.iter()
                .map(|v| value(a, *v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn matcher(m: &Matcher) -> String {
    let name = match m.attr {
        Attr::Principal => "principal".to_string(),
        Attr::Namespace | Attr::DstNamespace => "namespace".into(),
        Attr::ServiceAccount => "service_account".into(),
        Attr::TrustDomain => "trust_domain".into(),
        Attr::SrcLabel(k) | Attr::DstLabel(k) => format!("label {k} ="),
        Attr::SrcIp | Attr::DstIp => "ip".into(),
        Attr::DstPort => "port".into(),
        Attr::Method => "method".into(),
        Attr::Path => "path".into(),
        Attr::Groups => unreachable!("no claims matcher"),
    };
    let not = if m.negated { "not " } else { "" };
    format!("{not}{name} {}", values(m.attr, &m.values))
}

/// A condition, fully parenthesized.
pub fn expr(e: &Expr) -> String {
    match e {
        Expr::Const(b) => b.to_string(),
        Expr::Has(a) => format!("has {}", attr(*a)),
        Expr::Not(e) => format!("not ({})", expr(e)),
        Expr::And(a, b) => format!("({}) and ({})", expr(a), expr(b)),
        Expr::Or(a, b) => format!("({}) or ({})", expr(a), expr(b)),
        Expr::Cmp(a, op, vs) => {
            let op = match op {
                Op::Eq => "==",
                Op::Ne => "!=",
                Op::In => "in",
                Op::Matches => "matches",
                Op::Contains => "contains",
                Op::Lt => "<",
                Op::Ge => ">=",
            };
            // `request.method == GET` would read `GET` as a bare word: quote methods here.
            let rhs = match (a, vs.as_slice()) {
                (Attr::Method, [Val::S(m)]) => quote(m),
                (Attr::Method, ms) => format!(
                    "[{}]",
                    ms.iter()
                        .map(|m| match m {
                            Val::S(m) => quote(m),
                            Val::Port(..) => unreachable!("a port as a method"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => values(*a, vs),
            };
            format!("{} {op} {rhs}", attr(*a))
        }
    }
}

fn rule(out: &mut String, i: usize, r: &Rule) {
    let effect = match r.effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    };
    let _ = writeln!(out, "{effect} {} {{", quote(&rule_id(i)));
    for (kw, clauses) in [("from", &r.from), ("to", &r.to)] {
        for c in clauses {
            let ms: Vec<String> = c.iter().map(matcher).collect();
            let _ = writeln!(out, "  {kw} {}", ms.join(", "));
        }
    }
    for e in &r.when {
        let _ = writeln!(out, "  when {}", expr(e));
    }
    for e in &r.unless {
        let _ = writeln!(out, "  unless {}", expr(e));
    }
    out.push_str("}\n");
}

/// The policy set as `.mgp` text.
pub fn policy(rules: &[Rule]) -> String {
    let mut out = String::new();
    for (i, r) in rules.iter().enumerate() {
        rule(&mut out, i, r);
    }
    out
}

fn labels(l: &[(&str, &str)]) -> Value {
    Value::Object(
        l.iter()
            .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
            .collect(),
    )
}

/// The request in the JSON request shape (absent fields omitted).
pub fn request(r: &Req) -> Value {
    let mut source = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v.to_string()));
        }
    };
    put(&mut source, "principal", r.principal);
    put(&mut source, "namespace", r.namespace);
    put(&mut source, "service_account", r.service_account);
    put(&mut source, "trust_domain", r.trust_domain);
    if let Some(l) = &r.src_labels {
        source.insert("labels".into(), labels(l));
    }
    put(&mut source, "ip", r.src_ip);
    let mut destination = Map::new();
    put(&mut destination, "namespace", r.dst_namespace);
    if let Some(l) = &r.dst_labels {
        destination.insert("labels".into(), labels(l));
    }
    if let Some(p) = r.dst_port {
        destination.insert("port".into(), json!(p));
    }
    put(&mut destination, "ip", r.dst_ip);
    let mut request = Map::new();
    put(&mut request, "method", r.method);
    put(&mut request, "path", r.path);
    if let Some(g) = &r.groups {
        let g = match g {
            Claim::One(v) => v.json(),
            Claim::List(l) => Value::Array(l.iter().map(|v| v.json()).collect()),
        };
        request.insert("auth".into(), json!({"claims": {"groups": g}}));
    }
    let mut out = Map::new();
    for (k, m) in [
        ("source", source),
        ("destination", destination),
        ("request", request),
    ] {
        if !m.is_empty() {
            out.insert(k.into(), Value::Object(m));
        }
    }
    Value::Object(out)
}
