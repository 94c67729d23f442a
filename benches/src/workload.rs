//! The abstract rule model and the workload generator.
//!
//! A [`Workload`] is a list of [`Rule`]s (and, for `rbac`, [`Role`]s) in a model small enough
//! that every engine can express it exactly: SPIFFE principal, source namespace, destination
//! service, methods, one path pattern (a prefix glob `P/**` or an exact path), an optional
//! label or hour-of-day condition, and role grants; and the dimensions of [`Dims`] (source and
//! destination labels, principal globs, source CIDRs, JWT group claims, host globs and `select`
//! workload selections) with Istio's per-workload `default allow`. The renderers in
//! [`crate::render`] turn it into each engine's language; the three benchmark requests come with
//! the decision the model says they must get. The generators are in `workload/classic.rs`
//! (`mesh`, `flat`, `rbac`) and `workload/dims.rs` (the others).
//!
//! Everything is generated from a fixed seed with ChaCha8, so every run and every machine sees
//! the same rules.

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// The seed every workload is generated from.
pub const SEED: u64 = 0x6d65_7368_6761_7465; // "meshgate"

/// Trust domain of every generated principal.
pub const TRUST_DOMAIN: &str = "cluster.local";

/// Rule sets the benchmark knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Distinct SPIFFE principals over 100 namespaces and 200 services, each rule allowing one
    /// principal in one namespace to GET a path prefix on one service; 5% deny rules; 10% of the
    /// allow rules carry a label or hour-of-day condition.
    Mesh,
    /// Every rule has the same principal, namespace and service and differs only by its path
    /// pattern (prefix globs and a quarter exact paths); 5% deny rules.
    Flat,
    /// 50 roles (ten of which include another), N rules each granting one role to one
    /// principal; 5% deny rules for principals on a part of a role's paths.
    Rbac,
    /// Rules keyed by the caller's and/or the destination's workload label
    /// (`from label app = "cN"`, `to label app = "sN"`); 5% deny carve-outs.
    Labels,
    /// One principal glob per namespace (`from principal "spiffe://…/ns/nN/sa/*"`).
    Globs,
    /// Source CIDRs (`from ip 10.a.b.0/24`, distinct /24s, every 20th a /16 over them).
    Cidrs,
    /// JWT group claims (`when request.auth.claims["groups"] contains "gN"`).
    Claims,
    /// Host globs (`to host "*.tN.example.com"`).
    Hosts,
    /// One namespace, N workloads told apart by `select namespace "prod", label app = "aN"`.
    Select,
    /// Istio-shaped: per namespace a deny rule and allow rules selecting workloads by label,
    /// plus `default allow` for workloads no allow rule claims.
    Istio,
}

impl Kind {
    /// Every workload, in report order.
    pub const ALL: [Kind; 10] = [
        Kind::Mesh,
        Kind::Flat,
        Kind::Rbac,
        Kind::Labels,
        Kind::Globs,
        Kind::Cidrs,
        Kind::Claims,
        Kind::Hosts,
        Kind::Select,
        Kind::Istio,
    ];

    /// The workload's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mesh => "mesh",
            Kind::Flat => "flat",
            Kind::Rbac => "rbac",
            Kind::Labels => "labels",
            Kind::Globs => "globs",
            Kind::Cidrs => "cidrs",
            Kind::Claims => "claims",
            Kind::Hosts => "hosts",
            Kind::Select => "select",
            Kind::Istio => "istio",
        }
    }

    /// The workload with this name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Allows when it matches (unless a deny rule matches).
    Allow,
    /// Denies when it matches; deny overrides allow.
    Deny,
}

/// A path pattern every engine can express exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPat {
    /// Paths starting with this string, which ends in `/` (meshgate `"P**"`, i.e. `P/**` with
    /// the `/` in the prefix).
    Prefix(String),
    /// Exactly this path.
    Exact(String),
}

impl PathPat {
    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPat::Prefix(p) => path.starts_with(p.as_str()),
            PathPat::Exact(p) => path == p,
        }
    }

    /// A path that matches, with `tail` appended to a prefix.
    pub fn example(&self, tail: &str) -> String {
        match self {
            PathPat::Prefix(p) => format!("{p}{tail}"),
            PathPat::Exact(p) => p.clone(),
        }
    }
}

/// A `when` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `source.labels[key] == value` (false when the label is absent).
    Label {
        /// Label key.
        key: String,
        /// Required value.
        value: String,
    },
    /// The UTC hour of the request's time lies in `from..=to` (`from <= to`; false without a
    /// time).
    Hours {
        /// First hour.
        from: u8,
        /// Last hour (inclusive).
        to: u8,
    },
}

/// What a rule permits or forbids once its caller and target match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// These methods (any when empty) on this path.
    Direct {
        /// Methods; empty means any.
        methods: Vec<String>,
        /// Path pattern.
        path: PathPat,
    },
    /// The permissions of this role (and the roles it includes). Only in allow rules.
    Grant(String),
}

/// One rule of the abstract model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// Allow or deny.
    pub effect: Effect,
    /// Caller's SPIFFE id, if restricted.
    pub principal: Option<String>,
    /// Caller's namespace, if restricted.
    pub namespace: Option<String>,
    /// Destination service, if restricted.
    pub service: Option<String>,
    /// What the rule covers.
    pub target: Target,
    /// Extra condition.
    pub cond: Option<Cond>,
    /// The other dimensions (all unrestricted in `mesh`, `flat` and `rbac`).
    pub dims: Dims,
}

/// A permission of a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perm {
    /// Methods (never empty).
    pub methods: Vec<String>,
    /// Path pattern.
    pub path: PathPat,
}

/// A role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Its own permissions.
    pub perms: Vec<Perm>,
    /// Roles whose permissions it also has.
    pub includes: Vec<String>,
}

/// The attributes of a request the model looks at; rendered to the shared JSON request shape
/// (meshgate's) by [`Req::to_json`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Req {
    /// `source.principal`.
    pub principal: String,
    /// `source.namespace` (given explicitly, so no engine needs to parse SPIFFE ids).
    pub namespace: String,
    /// `source.labels`.
    pub labels: Vec<(String, String)>,
    /// `destination.service`.
    pub service: String,
    /// `request.method`.
    pub method: String,
    /// `request.path` (no query string).
    pub path: String,
    /// `time`, RFC 3339 in UTC (`YYYY-MM-DDThh:mm:ssZ`).
    pub time: Option<String>,
    /// `source.ip`.
    pub src_ip: Option<String>,
    /// `destination.namespace`.
    pub dst_namespace: Option<String>,
    /// `destination.labels` (none at all: the key is left out).
    pub dst_labels: Vec<(String, String)>,
    /// `request.auth.claims["groups"]`.
    pub groups: Option<Vec<String>>,
    /// `request.host`.
    pub host: Option<String>,
}

impl Req {
    /// The shared JSON request (meshgate's request shape).
    pub fn to_value(&self) -> Value {
        let map = |pairs: &[(String, String)]| -> serde_json::Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        };
        let mut source = json!({"principal": self.principal, "namespace": self.namespace, "labels": map(&self.labels)});
        if let Some(ip) = &self.src_ip {
            source["ip"] = json!(ip);
        }
        let mut destination = json!({"service": self.service});
        if let Some(ns) = &self.dst_namespace {
            destination["namespace"] = json!(ns);
        }
        if !self.dst_labels.is_empty() {
            destination["labels"] = Value::Object(map(&self.dst_labels));
        }
        let mut request = json!({"method": self.method, "path": self.path});
        if let Some(h) = &self.host {
            request["host"] = json!(h);
        }
        if let Some(g) = &self.groups {
            request["auth"] = json!({"claims": {"groups": g}});
        }
        let mut v = json!({"source": source, "destination": destination, "request": request});
        if let (Some(t), Some(obj)) = (&self.time, v.as_object_mut()) {
            obj.insert("time".to_string(), Value::String(t.clone()));
        }
        v
    }

    /// The shared JSON request as text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The UTC hour of `time`.
    pub fn hour(&self) -> Option<u8> {
        self.time
            .as_deref()
            .and_then(|t| t.get(11..13))
            .and_then(|h| h.parse().ok())
    }
}

/// A benchmark request with the decision the model requires.
#[derive(Clone, Debug)]
pub struct BenchRequest {
    /// `last` (matches the last rule), `none` (matches nothing), `deny` (hits a deny rule).
    pub name: &'static str,
    /// The request.
    pub req: Req,
    /// The required decision.
    pub allowed: bool,
}

/// A generated workload.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Which workload.
    pub kind: Kind,
    /// Rules, in set order.
    pub rules: Vec<Rule>,
    /// Roles (empty except for `rbac`).
    pub roles: Vec<Role>,
    /// The benchmark requests.
    pub requests: Vec<BenchRequest>,
    /// The id of a `default allow` without selection (spec §4.4; `istio` only): a request no
    /// allow rule matches is allowed when no allow rule claims its workload.
    pub default_allow: Option<String>,
}

/// `spiffe://cluster.local/ns/NS/sa/SA`.
pub fn spiffe(ns: &str, sa: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}")
}

const BASE_TIME: &str = "2026-03-27T12:30:00Z";

fn time_at(hour: u8) -> String {
    format!("2026-03-27T{hour:02}:30:00Z")
}

impl Workload {
    /// Generates workload `kind` with `n` rules (at least 3).
    pub fn generate(kind: Kind, n: usize) -> Workload {
        let n = n.max(3);
        let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ (n as u64).rotate_left(17) ^ kind as u64);
        let mut w = match kind {
            Kind::Mesh => classic::mesh(&mut rng, n),
            Kind::Flat => classic::flat(&mut rng, n),
            Kind::Rbac => classic::rbac(&mut rng, n),
            Kind::Labels => dims::labels(&mut rng, n),
            Kind::Globs => dims::globs(&mut rng, n),
            Kind::Cidrs => dims::cidrs(&mut rng, n),
            Kind::Claims => dims::claims(&mut rng, n),
            Kind::Hosts => dims::hosts(&mut rng, n),
            Kind::Select => dims::select(&mut rng, n),
            Kind::Istio => dims::istio(&mut rng, n),
        };
        w.requests = w.bench_requests();
        w
    }

    /// Which positions are deny rules: 5% at random, never the last, and at least one.
    pub(crate) fn deny_positions(rng: &mut ChaCha8Rng, n: usize) -> Vec<bool> {
        let mut deny: Vec<bool> = (0..n)
            .map(|i| i > 0 && i + 1 < n && rng.random_bool(0.05))
            .collect();
        if !deny.iter().any(|d| *d)
            && let Some(d) = deny.get_mut(n - 2)
        {
            *d = true;
        }
        deny
    }

    /// The decision of the model for `req` (deny overrides allow, default deny).
    pub fn decide(&self, req: &Req) -> bool {
        let mut allowed = false;
        for rule in &self.rules {
            if self.rule_matches(rule, req) {
                match rule.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed || (self.default_allow.is_some() && !self.claimed(req))
    }

    /// Whether some allow rule claims the request's workload: its selection is true or unknown
    /// (spec §4.4; a rule without `select` claims every workload).
    pub fn claimed(&self, req: &Req) -> bool {
        self.rules.iter().any(|r| {
            r.effect == Effect::Allow
                && r.dims
                    .select
                    .as_ref()
                    .is_none_or(|s| s.test(req) != Some(false))
        })
    }

    /// Whether `rule` matches `req` in the model.
    pub fn rule_matches(&self, rule: &Rule, req: &Req) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if !eq(&rule.principal, &req.principal)
            || !eq(&rule.namespace, &req.namespace)
            || !eq(&rule.service, &req.service)
        {
            return false;
        }
        let target = match &rule.target {
            Target::Direct { methods, path } => {
                (methods.is_empty() || methods.contains(&req.method)) && path.matches(&req.path)
            }
            Target::Grant(role) => self
                .role_perms(role)
                .iter()
                .any(|p| p.methods.contains(&req.method) && p.path.matches(&req.path)),
        };
        target
            && rule.dims.matches(req)
            && match &rule.cond {
                None => true,
                Some(Cond::Label { key, value }) => {
                    req.labels.iter().any(|(k, v)| k == key && v == value)
                }
                Some(Cond::Hours { from, to }) => {
                    req.hour().is_some_and(|h| *from <= h && h <= *to)
                }
            }
    }

    /// A role's permissions including those of the roles it includes.
    pub fn role_perms(&self, name: &str) -> Vec<&Perm> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let mut todo = vec![name.to_string()];
        while let Some(r) = todo.pop() {
            if seen.contains(&r) {
                continue;
            }
            if let Some(role) = self.roles.iter().find(|x| x.name == r) {
                out.extend(role.perms.iter());
                todo.extend(role.includes.iter().cloned());
            }
            seen.push(r);
        }
        out
    }

    /// A request that `rule` matches (satisfying its condition), with `tail` after a prefix.
    pub fn request_for(&self, rule: &Rule, tail: &str) -> Req {
        let mut req = Req {
            principal: rule
                .principal
                .clone()
                .unwrap_or_else(|| spiffe("ns0", "anyone")),
            namespace: rule.namespace.clone().unwrap_or_else(|| "ns0".to_string()),
            labels: vec![("app".to_string(), "web".to_string())],
            service: rule
                .service
                .clone()
                .unwrap_or_else(|| "any.ns0.svc.cluster.local".to_string()),
            method: "GET".to_string(),
            path: "/".to_string(),
            time: Some(BASE_TIME.to_string()),
            src_ip: None,
            dst_namespace: None,
            dst_labels: Vec::new(),
            groups: None,
            host: None,
        };
        let d = &rule.dims;
        if let Some(p) = &d.principal_glob {
            req.principal = format!("{p}caller");
        }
        if rule.namespace.is_none()
            && let Some(ns) = req
                .principal
                .split("/ns/")
                .nth(1)
                .and_then(|r| r.split('/').next())
        {
            req.namespace = ns.to_string();
        }
        match &rule.target {
            Target::Direct { methods, path } => {
                if let Some(m) = methods.first() {
                    req.method = m.clone();
                }
                req.path = path.example(tail);
            }
            Target::Grant(role) => {
                if let Some(p) = self.role_perms(role).last() {
                    req.method = p.methods.first().cloned().unwrap_or_default();
                    req.path = p.path.example(tail);
                }
            }
        }
        match &rule.cond {
            Some(Cond::Label { key, value }) => req.labels.push((key.clone(), value.clone())),
            Some(Cond::Hours { from, .. }) => req.time = Some(time_at(*from)),
            None => {}
        }
        let set = |pairs: &mut Vec<(String, String)>, (k, v): &(String, String)| {
            pairs.retain(|(a, _)| a != k);
            pairs.push((k.clone(), v.clone()));
        };
        if let Some(l) = &d.src_label {
            set(&mut req.labels, l);
        }
        if let Some(l) = &d.dst_label {
            set(&mut req.dst_labels, l);
        }
        if let Some(c) = d.src_cidr {
            // Inside the network, away from its first /24 when it is wider.
            let host = if c.len <= 16 { 0xc8_07 } else { 7 };
            req.src_ip = Some(c.host(host).to_string());
        }
        if let Some((_, v)) = &d.claim {
            req.groups = Some(vec!["staff".to_string(), v.clone()]);
        }
        if let Some(s) = &d.host_suffix {
            req.host = Some(format!("api{s}"));
        }
        if let Some(sel) = &d.select {
            req.dst_namespace = Some(sel.namespace.clone());
            match &sel.label {
                Some(l) => set(&mut req.dst_labels, l),
                // A workload no allow rule of the namespace selects by label.
                None => set(
                    &mut req.dst_labels,
                    &("app".to_string(), "open".to_string()),
                ),
            }
        }
        req
    }

    fn bench_requests(&self) -> Vec<BenchRequest> {
        let mut out = Vec::new();
        if let Some(last) = self.rules.last() {
            let req = self.request_for(last, "items/42");
            out.push(BenchRequest {
                name: "last",
                allowed: self.decide(&req),
                req,
            });
            let mut none = self.request_for(last, "items/42");
            none.path = format!("/nomatch/{}/items/42", self.kind);
            out.push(BenchRequest {
                name: "none",
                allowed: self.decide(&none),
                req: none,
            });
        }
        if let Some(deny) = self.rules.iter().rev().find(|r| r.effect == Effect::Deny) {
            // The allow rule the deny carves out of: same caller, a path it covers.
            let mut req = self.request_for(deny, "x");
            if let Some(allow) = self.rules.iter().find(|r| {
                r.effect == Effect::Allow
                    && r.principal == deny.principal
                    && self.rule_matches(
                        r,
                        &Req {
                            labels: vec![],
                            ..req.clone()
                        },
                    )
            }) {
                let with_cond = self.request_for(allow, "");
                req.labels = with_cond.labels;
                req.time = with_cond.time;
            }
            out.push(BenchRequest {
                name: "deny",
                allowed: self.decide(&req),
                req,
            });
        }
        out
    }

    /// Extra requests for the agreement tests: for up to `max` rules spread over the set, a
    /// request the rule matches, the same with another method, one with its condition
    /// violated, one from another principal and one with the path's parent.
    pub fn probe_requests(&self, max: usize) -> Vec<Req> {
        let step = (self.rules.len() / max.max(1)).max(1);
        let mut out: Vec<Req> = self.requests.iter().map(|r| r.req.clone()).collect();
        for rule in self.rules.iter().step_by(step) {
            let req = self.request_for(rule, "a/b");
            let mut other_method = req.clone();
            other_method.method = if req.method == "GET" {
                "POST".to_string()
            } else {
                "GET".to_string()
            };
            let mut head = req.clone();
            head.method = "HEAD".to_string();
            let mut other_principal = req.clone();
            other_principal.principal = spiffe(&req.namespace, "stranger");
            let mut parent = req.clone();
            parent.path = match req.path.rfind('/') {
                Some(i) if i > 0 => req.path[..i].to_string(),
                _ => "/".to_string(),
            };
            let mut no_cond = req.clone();
            no_cond.labels.retain(|(k, _)| k == "app");
            no_cond.time = Some(time_at(23));
            let mut no_time = req.clone();
            no_time.time = None;
            out.extend(self.dim_probes(rule, &req));
            out.extend([
                req,
                other_method,
                head,
                other_principal,
                parent,
                no_cond,
                no_time,
            ]);
        }
        out
    }
}

mod classic;
mod dims;

pub use dims::{Cidr, Dims, Select};

/// Loads a generated policy into meshgate. The largest workloads are bigger than the default
/// `PolicyLimits::max_source_bytes` (16 MiB) in one file, so that limit is raised here, as an
/// operator loading such a set would.
pub fn load_meshgate(text: &str) -> Result<meshgate::PolicySet, String> {
    let limits = meshgate::PolicyLimits {
        max_source_bytes: 256 << 20,
        ..meshgate::PolicyLimits::default()
    };
    meshgate::PolicySet::builder()
        .limits(limits)
        .add_source("bench.mgp", text)
        .build()
        .map_err(|d| d.render())
}
