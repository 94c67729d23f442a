//! Translations of a [`Workload`] into each engine's language. `benches/README.md` explains
//! each one; the agreement tests check them.

use std::fmt::Write as _;

use crate::workload::{Cond, Effect, PathPat, Target, Workload};

pub(crate) fn q(s: &str) -> String {
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
        let d = &rule.dims;
        if let Some(sel) = &d.select {
            let _ = write!(out, " select namespace {}", q(&sel.namespace));
            if let Some((k, v)) = &sel.label {
                let _ = write!(out, ", label {k} = {}", q(v));
            }
        }
        let mut from = Vec::new();
        if let Some(p) = &d.principal_glob {
            from.push(format!("principal {}", q(&format!("{p}*"))));
        }
        if let Some((k, v)) = &d.src_label {
            from.push(format!("label {k} = {}", q(v)));
        }
        if let Some(c) = &d.src_cidr {
            from.push(format!("ip {c}"));
        }
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
        if let Some((k, v)) = &d.dst_label {
            to.push(format!("label {k} = {}", q(v)));
        }
        if let Some(s) = &d.host_suffix {
            to.push(format!("host {}", q(&format!("*{s}"))));
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
        if let Some((k, v)) = &d.claim {
            let _ = write!(out, " when request.auth.claims[{}] contains {}", q(k), q(v));
        }
        out.push_str(" }\n");
    }
    if let Some(id) = &w.default_allow {
        let _ = writeln!(out, "default allow {} {{ }}", q(id));
    }
    out
}

/// Which request attributes beyond those of `mesh`/`flat`/`rbac` a workload's rules read: the
/// peers' adapters put only these into their request objects, so the first three workloads are
/// measured as before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The principal as a string (Cedar), for principal globs.
    pub principal: bool,
    /// `destination.namespace` and `destination.labels`.
    pub destination: bool,
    /// `source.ip`.
    pub src_ip: bool,
    /// `request.auth.claims["groups"]`.
    pub groups: bool,
    /// `request.host`.
    pub host: bool,
    /// A `default allow`: Cedar's resource is then the destination workload (see
    /// [`cedar_dest_key`]).
    pub dest_key: bool,
}

impl Needs {
    /// What `w`'s rules read.
    pub fn of(w: &Workload) -> Needs {
        let any = |f: &dyn Fn(&crate::workload::Dims) -> bool| w.rules.iter().any(|r| f(&r.dims));
        Needs {
            principal: any(&|d| d.principal_glob.is_some()),
            destination: any(&|d| d.dst_label.is_some() || d.select.is_some()),
            src_ip: any(&|d| d.src_cidr.is_some()),
            groups: any(&|d| d.claim.is_some()),
            host: any(&|d| d.host_suffix.is_some()),
            dest_key: w.default_allow.is_some(),
        }
    }
}

mod casbin;
mod cedar;
mod rego;

pub use casbin::{CASBIN_ANY, CasbinText, casbin};
pub use cedar::{CedarText, cedar, cedar_dest_key};
pub use rego::{REGO_ENTRYPOINT, rego_data, rego_policy};
