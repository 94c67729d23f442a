//! The casbin translation: a model per workload shape and policy lines.

use super::q;
use crate::workload::{Cond, Dims, Effect, PathPat, Target, Workload};
/// The casbin translation: model text, `p` lines and `g` lines.
#[derive(Clone, Debug)]
pub struct CasbinText {
    /// The model (`.conf`).
    pub model: String,
    /// Policy rules: `sub, dom, svc, obj, act, eft, cond`, then the columns of [`CASBIN_DIMS`]
    /// the workload uses, `""` where a rule leaves it open.
    pub policies: Vec<Vec<String>>,
    /// Role links: `member, role`.
    pub groupings: Vec<Vec<String>>,
}

/// Extra policy columns for the dimensions, with the matcher's test of a non-empty column (the
/// request's `attrs` are built by `engines::Casbin`; `dlabels` are the destination labels, `dns`
/// the destination namespace, `ip`/`host` `""` when absent, `host` lower-cased).
pub const CASBIN_DIMS: [(&str, &str); 7] = [
    ("sl", "r.attrs.labels.app == p.sl"),
    ("dl", "r.attrs.dlabels.app == p.dl"),
    ("ip", "(r.attrs.ip != \"\" && ipMatch(r.attrs.ip, p.ip))"),
    ("grp", "p.grp in r.attrs.groups"),
    ("host", "globMatch(r.attrs.host, p.host)"),
    ("sns", "r.attrs.dns == p.sns"),
    ("sapp", "r.attrs.dlabels.app == p.sapp"),
];

fn casbin_dims(d: &Dims) -> [String; 7] {
    let val = |l: &Option<(String, String)>| {
        l.as_ref().map_or(String::new(), |(k, v)| {
            // The matcher reads the `app` label, the only key these workloads use.
            assert_eq!(k, "app", "casbin translation: label key");
            v.clone()
        })
    };
    let sel = d.select.as_ref();
    [
        val(&d.src_label),
        val(&d.dst_label),
        d.src_cidr.map(|c| c.to_string()).unwrap_or_default(),
        d.claim.as_ref().map(|(_, v)| v.clone()).unwrap_or_default(),
        d.host_suffix
            .as_ref()
            .map(|s| format!("*{}", s.to_ascii_lowercase()))
            .unwrap_or_default(),
        sel.map(|s| s.namespace.clone()).unwrap_or_default(),
        sel.map(|s| val(&s.label)).unwrap_or_default(),
    ]
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
                let sub = match &rule.dims.principal_glob {
                    Some(p) => format!("{p}*"),
                    None => or_any(&rule.principal),
                };
                for m in ms {
                    let mut line = vec![
                        sub.clone(),
                        or_any(&rule.namespace),
                        or_any(&rule.service),
                        casbin_obj(path),
                        m,
                        eft.to_string(),
                        casbin_cond(&rule.cond),
                    ];
                    line.extend(casbin_dims(&rule.dims));
                    policies.push(line);
                }
            }
        }
    }
    // Role permission lines leave every dimension open.
    for p in policies.iter_mut() {
        p.resize(7 + CASBIN_DIMS.len(), String::new());
    }
    // Only the dimension columns some rule uses stay.
    let used: Vec<usize> = (0..CASBIN_DIMS.len())
        .filter(|i| policies.iter().any(|p| !p[7 + i].is_empty()))
        .collect();
    for p in policies.iter_mut() {
        let dims: Vec<String> = used.iter().map(|i| p[7 + i].clone()).collect();
        p.truncate(7);
        p.extend(dims);
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
    let globs = w.rules.iter().any(|r| r.dims.principal_glob.is_some());
    if globs {
        // `globMatch` keeps `*` within one `/` segment, as meshgate's globs do; an exact
        // principal is a glob without `*`.
        let all = policies.iter().all(|p| p[0] != CASBIN_ANY);
        m.push(if all {
            "globMatch(r.sub, p.sub)".to_string()
        } else {
            format!("(p.sub == \"{CASBIN_ANY}\" || globMatch(r.sub, p.sub))")
        });
    } else if groupings.is_empty() {
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
    let mut extra_cols = String::new();
    for (k, &i) in used.iter().enumerate() {
        let (name, test) = CASBIN_DIMS[i];
        extra_cols.push_str(&format!(", {name}"));
        if policies.iter().all(|p| !p[7 + k].is_empty()) {
            m.push(test.to_string());
        } else {
            m.push(format!("(p.{name} == \"\" || {test})"));
        }
    }
    let role_def = if groupings.is_empty() {
        ""
    } else {
        "\n[role_definition]\ng = _, _\n"
    };
    let model = format!(
        "[request_definition]\nr = sub, dom, svc, obj, act, attrs\n\n[policy_definition]\np = sub, dom, svc, obj, act, eft, cond{extra_cols}\n{role_def}\n[policy_effect]\ne = some(where (p.eft == allow)) && !some(where (p.eft == deny))\n\n[matchers]\nm = {}\n",
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
