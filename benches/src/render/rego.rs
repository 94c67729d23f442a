//! The Rego translation: a fixed policy per workload shape, the rules as data.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::workload::{Cond, Effect, PathPat, Rule, Target, Workload};
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
    rego_dims(&direct, &mut conj, &mut funcs);
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
    if w.default_allow.is_some() {
        out.push_str(DEFAULT_ALLOW);
    }
    if out.contains("path_matches(") {
        funcs.push_str("\npath_matches(p) if startswith(input.request.path, p.prefix)\n\npath_matches(p) if input.request.path == p.exact\n");
    }
    out.push_str(&funcs);
    out
}

/// Istio's per-workload default (spec §4.4): allowed when no allow rule matched and none
/// claims the workload (its selection is true or unknown: an absent namespace, no destination
/// label at all).
const DEFAULT_ALLOW: &str = r#"
# `default allow`: open the workloads no allow rule claims.
allow if {
	not denied
	not allowed
	not claimed
}

claimed if {
	some r in data.allow_rules
	sel_maybe(r.select)
}

sel_maybe(s) if s == null

sel_maybe(s) if {
	ns_maybe(s.namespace)
	label_maybe(s.label)
}

ns_maybe(_) if not input.destination.namespace

ns_maybe(ns) if input.destination.namespace == ns

label_maybe(l) if l == null

label_maybe(_) if not input.destination.labels

label_maybe(_) if count(input.destination.labels) == 0

label_maybe(l) if input.destination.labels[l.key] == l.value
"#;

type Dim = (
    &'static str,
    fn(&crate::workload::Dims) -> bool,
    &'static str,
    &'static str,
);

/// Per dimension: the data field, whether a rule restricts it, the inline test of `r.FIELD`
/// (where every rule restricts it) and the function `FIELD_ok(x)` (where some do not).
const DIMS: [Dim; 7] = [
    (
        "src_label",
        |d| d.src_label.is_some(),
        "input.source.labels[r.src_label.key] == r.src_label.value",
        "src_label_ok(l) if input.source.labels[l.key] == l.value",
    ),
    (
        "dst_label",
        |d| d.dst_label.is_some(),
        "input.destination.labels[r.dst_label.key] == r.dst_label.value",
        "dst_label_ok(l) if input.destination.labels[l.key] == l.value",
    ),
    (
        "principal_glob",
        |d| d.principal_glob.is_some(),
        "glob.match(r.principal_glob, [\"/\"], input.source.principal)",
        "principal_glob_ok(g) if glob.match(g, [\"/\"], input.source.principal)",
    ),
    (
        "cidr",
        |d| d.src_cidr.is_some(),
        "net.cidr_contains(r.cidr, input.source.ip)",
        "cidr_ok(c) if net.cidr_contains(c, input.source.ip)",
    ),
    (
        "claim",
        |d| d.claim.is_some(),
        "r.claim.value in input.request.auth.claims[r.claim.key]",
        "claim_ok(c) if c.value in input.request.auth.claims[c.key]",
    ),
    (
        "host",
        |d| d.host_suffix.is_some(),
        "glob.match(r.host, [\"/\"], lower(input.request.host))",
        "host_ok(h) if glob.match(h, [\"/\"], lower(input.request.host))",
    ),
    (
        "select",
        |d| d.select.is_some(),
        "input.destination.namespace == r.select.namespace\n\tselect_label_ok(r.select.label)",
        "select_ok(s) if {\n\tinput.destination.namespace == s.namespace\n\tselect_label_ok(s.label)\n}",
    ),
];

fn rego_dims(
    direct: &[(&Rule, &Vec<String>, &PathPat)],
    conj: &mut Vec<String>,
    funcs: &mut String,
) {
    for (name, has, inline, func) in DIMS {
        let n = direct.iter().filter(|(r, _, _)| has(&r.dims)).count();
        if n == 0 {
            continue;
        } else if n == direct.len() {
            conj.push(inline.to_string());
        } else {
            conj.push(format!("{name}_ok(r.{name})"));
            funcs.push_str(&format!("\n{name}_ok(x) if x == null\n\n{func}\n"));
        }
        if name == "select" {
            funcs.push_str("\nselect_label_ok(l) if l == null\n\nselect_label_ok(l) if input.destination.labels[l.key] == l.value\n");
        }
    }
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
    let d = &rule.dims;
    let kv = |l: &Option<(String, String)>| {
        l.as_ref()
            .map_or(Value::Null, |(k, v)| json!({"key": k, "value": v}))
    };
    r.insert("src_label".to_string(), kv(&d.src_label));
    r.insert("dst_label".to_string(), kv(&d.dst_label));
    r.insert(
        "principal_glob".to_string(),
        json!(d.principal_glob.as_ref().map(|p| format!("{p}*"))),
    );
    r.insert("cidr".to_string(), json!(d.src_cidr.map(|c| c.to_string())));
    r.insert("claim".to_string(), kv(&d.claim));
    r.insert(
        "host".to_string(),
        json!(
            d.host_suffix
                .as_ref()
                .map(|s| format!("*{}", s.to_ascii_lowercase()))
        ),
    );
    r.insert(
        "select".to_string(),
        d.select.as_ref().map_or(
            Value::Null,
            |s| json!({"namespace": s.namespace, "label": kv(&s.label)}),
        ),
    );
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
    // Dimension fields no rule restricts are left out (the first three workloads' data stays
    // as it was).
    for (name, ..) in DIMS {
        let unused = allow
            .iter()
            .chain(&deny)
            .all(|r: &Value| r.get(name).is_none_or(Value::is_null));
        if unused {
            for r in allow.iter_mut().chain(deny.iter_mut()) {
                if let Some(o) = r.as_object_mut() {
                    o.remove(name);
                }
            }
        }
    }
    json!({
        "allow_rules": allow,
        "deny_rules": deny,
        "user_roles": user_roles,
        "role_includes": role_includes,
        "role_perms": role_perms,
    })
}
