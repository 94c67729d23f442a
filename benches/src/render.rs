//! Translations of a [`Workload`] into each engine's language. `benches/README.md` explains
//! each one; the agreement tests check them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::workload::{Cond, Effect, PathPat, Rule, Target, Workload};

fn q(s: &str) -> String {
    // Every generated string is plain ASCII without quotes or backslashes; escape anyway.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn mgp_path(p: &PathPat) -> String {
    match p {
        PathPat::Prefix(prefix) => q(&format!("{prefix}**")),
        PathPat::Exact(path) => q(path),
    }
}

/// meshgate policy text: one `role` per role, one `allow`/`deny` per rule.
pub fn meshgate(w: &Workload) -> String {
    let mut out = String::with_capacity(w.rules.len() * 200);
    for role in &w.roles {
        let _ = write!(out, "role {} {{", role.name);
        for inc in &role.includes {
            let _ = write!(out, " include {inc}");
        }
        for p in &role.perms {
            let _ = write!(
                out,
                " permit {} on {}",
                p.methods.join(", "),
                mgp_path(&p.path)
            );
        }
        out.push_str(" }\n");
    }
    for rule in &w.rules {
        let kw = match rule.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        let _ = write!(out, "{kw} {} {{", q(&rule.id));
        let mut from = Vec::new();
        if let Some(p) = &rule.principal {
            from.push(format!("principal {}", q(p)));
        }
        if let Some(ns) = &rule.namespace {
            from.push(format!("namespace {}", q(ns)));
        }
        if !from.is_empty() {
            let _ = write!(out, " from {}", from.join(", "));
        }
        let mut to = Vec::new();
        if let Some(s) = &rule.service {
            to.push(format!("service {}", q(s)));
        }
        match &rule.target {
            Target::Direct { methods, path } => {
                match methods.as_slice() {
                    [] => {}
                    [m] => to.push(format!("method {m}")),
                    ms => to.push(format!("method [{}]", ms.join(", "))),
                }
                to.push(format!("path {}", mgp_path(path)));
            }
            Target::Grant(_) => {}
        }
        if !to.is_empty() {
            let _ = write!(out, " to {}", to.join(", "));
        }
        if let Target::Grant(role) = &rule.target {
            let _ = write!(out, " grant {role}");
        }
        match &rule.cond {
            Some(Cond::Label { key, value }) => {
                let _ = write!(out, " when source.labels[{}] == {}", q(key), q(value));
            }
            Some(Cond::Hours { from, to }) => {
                let _ = write!(out, " when time.hour in {from}..{to}");
            }
            None => {}
        }
        out.push_str(" }\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Cedar

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
    CedarText {
        policies,
        entities: Value::Array(entities),
    }
}

// ---------------------------------------------------------------------------------------------
// Rego

/// The Rego policy for a workload; the rules are data ([`rego_data`]). Like the casbin
/// matcher, it tests only what the workload's rules restrict, inline where every rule restricts
/// it (function calls are what an interpreter pays most for).
pub fn rego_policy(w: &Workload) -> String {
    let direct: Vec<(&Rule, &Vec<String>, &PathPat)> = w
        .rules
        .iter()
        .filter_map(|r| match &r.target {
            Target::Direct { methods, path } => Some((r, methods, path)),
            Target::Grant(_) => None,
        })
        .collect();
    let mut conj: Vec<String> = Vec::new();
    let mut funcs = String::new();
    type Field = (&'static str, &'static str, fn(&Rule) -> bool);
    let fields: [Field; 3] = [
        ("principal", "input.source.principal", |r| {
            r.principal.is_some()
        }),
        ("namespace", "input.source.namespace", |r| {
            r.namespace.is_some()
        }),
        ("service", "input.destination.service", |r| {
            r.service.is_some()
        }),
    ];
    for (name, input, has) in fields {
        let n = direct.iter().filter(|(r, _, _)| has(r)).count();
        if n == direct.len() && n > 0 {
            conj.push(format!("r.{name} == {input}"));
        } else if n > 0 {
            conj.push(format!("field_ok(r.{name}, {input})"));
            if !funcs.contains("field_ok(") {
                funcs.push_str("\n# An absent field is unrestricted.\nfield_ok(want, _) if want == null\n\nfield_ok(want, have) if want == have\n");
            }
        }
    }
    let with_methods = direct.iter().filter(|(_, m, _)| !m.is_empty()).count();
    if with_methods == direct.len() && with_methods > 0 {
        conj.push("input.request.method in r.methods".to_string());
    } else if with_methods > 0 {
        conj.push("methods_ok(r.methods)".to_string());
        funcs.push_str(
            "\nmethods_ok(ms) if count(ms) == 0\n\nmethods_ok(ms) if input.request.method in ms\n",
        );
    }
    if direct
        .iter()
        .all(|(_, _, p)| matches!(p, PathPat::Prefix(_)))
    {
        conj.push("startswith(input.request.path, r.path.prefix)".to_string());
    } else {
        conj.push("path_matches(r.path)".to_string());
    }
    if direct.iter().any(|(r, _, _)| r.cond.is_some()) {
        conj.push("cond_ok(r.cond)".to_string());
        funcs.push_str(
            "\ncond_ok(c) if c == null\n\ncond_ok(c) if input.source.labels[c.label.key] == c.label.value\n\ncond_ok(c) if {\n\th := time.clock(time.parse_rfc3339_ns(input.time))[0]\n\tc.hours.from <= h\n\th <= c.hours.to\n}\n",
        );
    }
    let body = conj.iter().map(|c| format!("\t{c}\n")).collect::<String>();
    let mut out = String::from(
        "package meshgate\nimport rego.v1\n\ndefault allow := false\n\n# Deny overrides allow; no rule matching means deny.\nallow if {\n\tnot denied\n\tallowed\n}\n",
    );
    out.push_str(&format!(
        "\ndenied if {{\n\tsome r in data.deny_rules\n{body}}}\n"
    ));
    out.push_str(&format!(
        "\nallowed if {{\n\tsome r in data.allow_rules\n{body}}}\n"
    ));
    if !w.roles.is_empty() {
        out.push_str(
            "\n# Role grants: the principal's roles (OPA's RBAC layout: bindings keyed by subject),\n# closed over `include`, then the roles' permissions.\nallowed if {\n\tgranted := object.get(data.user_roles, input.source.principal, [])\n\tcount(granted) > 0\n\tsome role in graph.reachable(data.role_includes, granted)\n\tsome p in data.role_perms[role]\n\tinput.request.method in p.methods\n\tpath_matches(p.path)\n}\n",
        );
    }
    if out.contains("path_matches(") {
        funcs.push_str("\npath_matches(p) if startswith(input.request.path, p.prefix)\n\npath_matches(p) if input.request.path == p.exact\n");
    }
    out.push_str(&funcs);
    out
}

/// The rule the Rego engine evaluates.
pub const REGO_ENTRYPOINT: &str = "data.meshgate.allow";

fn rego_path(p: &PathPat) -> Value {
    match p {
        PathPat::Prefix(prefix) => json!({"prefix": prefix}),
        PathPat::Exact(path) => json!({"exact": path}),
    }
}

fn rego_rule(rule: &Rule, methods: &[String], path: &PathPat) -> Value {
    let mut r = serde_json::Map::new();
    r.insert("id".to_string(), json!(rule.id));
    for (k, v) in [
        ("principal", &rule.principal),
        ("namespace", &rule.namespace),
        ("service", &rule.service),
    ] {
        r.insert(k.to_string(), json!(v));
    }
    r.insert("methods".to_string(), json!(methods));
    r.insert("path".to_string(), rego_path(path));
    match &rule.cond {
        Some(Cond::Label { key, value }) => {
            r.insert(
                "cond".to_string(),
                json!({"label": {"key": key, "value": value}}),
            );
        }
        Some(Cond::Hours { from, to }) => {
            r.insert(
                "cond".to_string(),
                json!({"hours": {"from": from, "to": to}}),
            );
        }
        None => {
            r.insert("cond".to_string(), Value::Null);
        }
    }
    Value::Object(r)
}

/// The data document for [`rego_policy`].
pub fn rego_data(w: &Workload) -> Value {
    let mut allow = Vec::new();
    let mut deny = Vec::new();
    let mut user_roles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rule in &w.rules {
        match &rule.target {
            Target::Direct { methods, path } => {
                let r = rego_rule(rule, methods, path);
                match rule.effect {
                    Effect::Allow => allow.push(r),
                    Effect::Deny => deny.push(r),
                }
            }
            Target::Grant(role) => {
                if let Some(p) = &rule.principal {
                    user_roles
                        .entry(p.as_str())
                        .or_default()
                        .push(role.as_str());
                }
            }
        }
    }
    let role_includes: BTreeMap<&str, &Vec<String>> = w
        .roles
        .iter()
        .map(|r| (r.name.as_str(), &r.includes))
        .collect();
    let role_perms: BTreeMap<&str, Vec<Value>> = w
        .roles
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.perms
                    .iter()
                    .map(|p| json!({"methods": p.methods, "path": rego_path(&p.path)}))
                    .collect(),
            )
        })
        .collect();
    json!({
        "allow_rules": allow,
        "deny_rules": deny,
        "user_roles": user_roles,
        "role_includes": role_includes,
        "role_perms": role_perms,
    })
}

// ---------------------------------------------------------------------------------------------
// casbin

/// The casbin translation: model text, `p` lines and `g` lines.
#[derive(Clone, Debug)]
pub struct CasbinText {
    /// The model (`.conf`).
    pub model: String,
    /// Policy rules: `sub, dom, svc, obj, act, eft, cond`.
    pub policies: Vec<Vec<String>>,
    /// Role links: `member, role`.
    pub groupings: Vec<Vec<String>>,
}

/// Value of a casbin policy column that any request value matches.
pub const CASBIN_ANY: &str = "*";

fn casbin_obj(p: &PathPat) -> String {
    match p {
        // keyMatch: `*` at the end matches any suffix.
        PathPat::Prefix(prefix) => format!("{prefix}*"),
        PathPat::Exact(path) => path.clone(),
    }
}

fn casbin_cond(c: &Option<Cond>) -> String {
    match c {
        None => String::new(),
        Some(Cond::Label { key, value }) => format!("r.attrs.labels.{key} == {}", q(value)),
        Some(Cond::Hours { from, to }) => format!("r.attrs.hour >= {from} && r.attrs.hour <= {to}"),
    }
}

/// The casbin model and policy. The matcher tests only the columns the rules use; a column
/// some rules leave open holds [`CASBIN_ANY`].
pub fn casbin(w: &Workload) -> CasbinText {
    let mut policies = Vec::new();
    let mut groupings = Vec::new();
    let or_any = |v: &Option<String>| v.clone().unwrap_or_else(|| CASBIN_ANY.to_string());
    for role in &w.roles {
        let sub = format!("role:{}", role.name);
        for p in &role.perms {
            for m in &p.methods {
                policies.push(vec![
                    sub.clone(),
                    CASBIN_ANY.to_string(),
                    CASBIN_ANY.to_string(),
                    casbin_obj(&p.path),
                    m.clone(),
                    "allow".to_string(),
                    String::new(),
                ]);
            }
        }
        for inc in &role.includes {
            groupings.push(vec![sub.clone(), format!("role:{inc}")]);
        }
    }
    for rule in &w.rules {
        match &rule.target {
            Target::Grant(role) => {
                groupings.push(vec![or_any(&rule.principal), format!("role:{role}")]);
            }
            Target::Direct { methods, path } => {
                let eft = match rule.effect {
                    Effect::Allow => "allow",
                    Effect::Deny => "deny",
                };
                let ms: Vec<String> = if methods.is_empty() {
                    vec![CASBIN_ANY.to_string()]
                } else {
                    methods.clone()
                };
                for m in ms {
                    policies.push(vec![
                        or_any(&rule.principal),
                        or_any(&rule.namespace),
                        or_any(&rule.service),
                        casbin_obj(path),
                        m,
                        eft.to_string(),
                        casbin_cond(&rule.cond),
                    ]);
                }
            }
        }
    }
    // casbin keeps rules in a set: identical lines (the same carve-out chosen twice, the same
    // grant twice) mean the same thing once.
    dedup(&mut policies);
    dedup(&mut groupings);
    let column = |i: usize, req: &str| {
        let vals: Vec<&str> = policies
            .iter()
            .filter_map(|p: &Vec<String>| p.get(i).map(String::as_str))
            .collect();
        let p = format!("p.{}", ["sub", "dom", "svc", "obj", "act"][i]);
        if vals.iter().all(|v| *v == CASBIN_ANY) {
            None
        } else if vals.contains(&CASBIN_ANY) {
            Some(format!("({p} == \"{CASBIN_ANY}\" || {req} == {p})"))
        } else {
            Some(format!("{req} == {p}"))
        }
    };
    let mut m = Vec::new();
    if groupings.is_empty() {
        m.extend(column(0, "r.sub"));
    } else {
        m.push("g(r.sub, p.sub)".to_string());
    }
    m.extend(column(1, "r.dom"));
    m.extend(column(2, "r.svc"));
    m.push("keyMatch(r.obj, p.obj)".to_string());
    m.extend(column(4, "r.act"));
    if policies
        .iter()
        .any(|p| p.get(6).is_some_and(|c| !c.is_empty()))
    {
        m.push("(p.cond == \"\" || eval(p.cond))".to_string());
    }
    let role_def = if groupings.is_empty() {
        ""
    } else {
        "\n[role_definition]\ng = _, _\n"
    };
    let model = format!(
        "[request_definition]\nr = sub, dom, svc, obj, act, attrs\n\n[policy_definition]\np = sub, dom, svc, obj, act, eft, cond\n{role_def}\n[policy_effect]\ne = some(where (p.eft == allow)) && !some(where (p.eft == deny))\n\n[matchers]\nm = {}\n",
        m.join(" && ")
    );
    CasbinText {
        model,
        policies,
        groupings,
    }
}

fn dedup(lines: &mut Vec<Vec<String>>) {
    let mut seen = std::collections::HashSet::new();
    lines.retain(|l| seen.insert(l.clone()));
}
