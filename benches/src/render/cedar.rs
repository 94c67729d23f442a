//! The Cedar translation: policies, and entities for role membership.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::q;
use crate::workload::{Cond, Dims, Effect, PathPat, Target, Workload};
/// The Cedar translation: policy text and entities JSON.
#[derive(Clone, Debug)]
pub struct CedarText {
    /// Policies, one per direct rule and one per role permission.
    pub policies: String,
    /// Entities: each granted principal (`Workload`) with its roles as parents, and each role
    /// (`Role`) with the roles that include it as parents.
    pub entities: Value,
}

fn cedar_path(p: &PathPat) -> String {
    match p {
        // `like` treats `*` as any run of characters, `/` included: a prefix test.
        PathPat::Prefix(prefix) => format!("context.path like {}", q(&format!("{prefix}*"))),
        PathPat::Exact(path) => format!("context.path == {}", q(path)),
    }
}

fn cedar_cond(c: &Cond) -> String {
    match c {
        Cond::Label { key, value } => {
            format!(
                "context.labels has {} && context.labels[{}] == {}",
                q(key),
                q(key),
                q(value)
            )
        }
        Cond::Hours { from, to } => format!(
            "context has time && context.time.toTime() >= duration(\"{from}h\") && context.time.toTime() < duration(\"{}h\")",
            u32::from(*to) + 1
        ),
    }
}

fn cedar_actions(methods: &[String]) -> String {
    match methods {
        [] => "action".to_string(),
        [m] => format!("action == Action::{}", q(m)),
        ms => format!(
            "action in [{}]",
            ms.iter()
                .map(|m| format!("Action::{}", q(m)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The id of the Cedar resource for a destination workload when the workload has a
/// `default allow`: `NS|APP`, with `*` for an absent namespace or no destination label at all
/// (unknown, spec §4.4) and `-` for labels without `app`. The entities put every id an allow
/// rule's selection claims (is true or unknown for) under `Claims::"allow"`.
pub fn cedar_dest_key(
    namespace: Option<&str>,
    labels: Option<&serde_json::Map<String, Value>>,
) -> String {
    let app = match labels {
        None => "*",
        Some(l) if l.is_empty() => "*",
        Some(l) => l.get("app").and_then(Value::as_str).unwrap_or("-"),
    };
    format!("{}|{app}", namespace.unwrap_or("*"))
}

fn cedar_label(attr: &str, (k, v): &(String, String)) -> String {
    format!("{attr} has {} && {attr}[{}] == {}", q(k), q(k), q(v))
}

/// The tests of the [`Dims`] a rule restricts (context attributes are in `engines::Cedar`).
fn cedar_dims(d: &Dims, when: &mut Vec<String>) {
    if let Some(p) = &d.principal_glob {
        // Cedar's `*` also matches `/`, meshgate's does not: the second test keeps it in one
        // segment.
        when.push(format!(
            "context.principal like {} && !(context.principal like {})",
            q(&format!("{p}*")),
            q(&format!("{p}*/*"))
        ));
    }
    if let Some(l) = &d.src_label {
        when.push(cedar_label("context.labels", l));
    }
    if let Some(l) = &d.dst_label {
        when.push(cedar_label("context.dst_labels", l));
    }
    if let Some(c) = &d.src_cidr {
        when.push(format!(
            "context has source_ip && context.source_ip.isInRange(ip(\"{c}\"))"
        ));
    }
    if let Some((_, v)) = &d.claim {
        when.push(format!(
            "context has groups && context.groups.contains({})",
            q(v)
        ));
    }
    if let Some(s) = &d.host_suffix {
        // The adapter lower-cases the host (meshgate ignores its case).
        when.push(format!(
            "context has host && context.host like {} && !(context.host like \"*/*\")",
            q(&format!("*{}", s.to_ascii_lowercase()))
        ));
    }
    if let Some(sel) = &d.select {
        when.push(format!("context.dst_namespace == {}", q(&sel.namespace)));
        if let Some(l) = &sel.label {
            when.push(cedar_label("context.dst_labels", l));
        }
    }
}

/// Cedar policies and entities.
pub fn cedar(w: &Workload) -> CedarText {
    let mut policies = String::with_capacity(w.rules.len() * 300);
    for role in &w.roles {
        for (i, p) in role.perms.iter().enumerate() {
            let _ = writeln!(
                policies,
                "@id({})\npermit (principal in Role::{}, {}, resource) when {{ {} }};",
                q(&format!("role-{}-{i}", role.name)),
                q(&role.name),
                cedar_actions(&p.methods),
                cedar_path(&p.path)
            );
        }
    }
    // principal -> roles granted by rules (Cedar's RBAC lives in the entity hierarchy).
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rule in &w.rules {
        match &rule.target {
            Target::Grant(role) => {
                if let Some(p) = &rule.principal {
                    members.entry(p.as_str()).or_default().push(role.as_str());
                }
            }
            Target::Direct { methods, path } => {
                let head = match rule.effect {
                    Effect::Allow => "permit",
                    Effect::Deny => "forbid",
                };
                let principal = match &rule.principal {
                    Some(p) => format!("principal == Workload::{}", q(p)),
                    None => "principal".to_string(),
                };
                let resource = match &rule.service {
                    Some(s) => format!("resource == Service::{}", q(s)),
                    None => "resource".to_string(),
                };
                let mut when = Vec::new();
                if let Some(ns) = &rule.namespace {
                    when.push(format!("context.source_namespace == {}", q(ns)));
                }
                when.push(cedar_path(path));
                if let Some(c) = &rule.cond {
                    when.push(cedar_cond(c));
                }
                cedar_dims(&rule.dims, &mut when);
                let _ = writeln!(
                    policies,
                    "@id({})\n{head} ({principal}, {}, {resource}) when {{ {} }};",
                    q(&rule.id),
                    cedar_actions(methods),
                    when.join(" && ")
                );
            }
        }
    }
    let mut entities = Vec::new();
    for role in &w.roles {
        // A role that includes another is a member of it.
        let parents: Vec<Value> = role
            .includes
            .iter()
            .map(|r| json!({"type": "Role", "id": r}))
            .collect();
        entities.push(
            json!({"uid": {"type": "Role", "id": role.name}, "attrs": {}, "parents": parents}),
        );
    }
    for (principal, roles) in members {
        let parents: Vec<Value> = roles
            .iter()
            .map(|r| json!({"type": "Role", "id": r}))
            .collect();
        entities.push(
            json!({"uid": {"type": "Workload", "id": principal}, "attrs": {}, "parents": parents}),
        );
    }
    if let Some(id) = &w.default_allow {
        // Istio's per-workload default (spec §4.4): open what no allow rule claims. A rule
        // without selection claims everything, and then the default never opens anything.
        let mut claimed = std::collections::BTreeSet::new();
        let mut all = false;
        for r in w.rules.iter().filter(|r| r.effect == Effect::Allow) {
            match &r.dims.select {
                Some(sel) => {
                    let app = sel.label.as_ref().map_or("*", |(_, v)| v.as_str());
                    for ns in [sel.namespace.as_str(), "*"] {
                        claimed.insert(format!("{ns}|{app}"));
                        claimed.insert(format!("{ns}|*"));
                    }
                }
                None => all = true,
            }
        }
        if !all {
            let _ = writeln!(
                policies,
                "@id({})\npermit (principal, action, resource) unless {{ resource in Claims::\"allow\" }};",
                q(id)
            );
            entities.push(
                json!({"uid": {"type": "Claims", "id": "allow"}, "attrs": {}, "parents": []}),
            );
            for key in claimed {
                entities.push(json!({"uid": {"type": "Dest", "id": key}, "attrs": {}, "parents": [{"type": "Claims", "id": "allow"}]}));
            }
        }
    }
    CedarText {
        policies,
        entities: Value::Array(entities),
    }
}
