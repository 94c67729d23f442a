//! The dimensions beyond `mesh`/`flat`/`rbac` ([`Dims`]) and the workloads keyed by them:
//! `labels`, `globs`, `cidrs`, `claims`, `hosts`, `select` and `istio`.
//!
//! Every workload but `istio` has the same shape: rule `i` allows `GET` on `/KIND/p{i % 10}/**`
//! to whoever its dimension admits, and 5% deny rules carve `…/admin/**` out of an earlier
//! allow rule (same dimension), so the dimension, not the path, tells the rules apart.

use std::fmt;
use std::net::Ipv4Addr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Effect, Kind, PathPat, Req, Rule, Target, Workload, spiffe};

/// An IPv4 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address (host bits zero).
    pub addr: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub len: u8,
}

impl Cidr {
    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(self.addr) & mask
    }

    /// An address inside, `host` added to the network address.
    pub fn host(&self, host: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | host)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A `select` statement: the destination workload's namespace and optionally one label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Select {
    /// `destination.namespace`.
    pub namespace: String,
    /// `destination.labels[key] == value`.
    pub label: Option<(String, String)>,
}

/// Truth of a test on a request that may lack the attribute (spec §9): `None` is unknown.
pub(super) type Tri = Option<bool>;

impl Select {
    /// Whether the selection holds (`Some(true)`), fails, or is unknown (spec §4.4: a request
    /// with destination labels carries all of the workload's labels; none at all is unknown).
    pub fn test(&self, req: &Req) -> Tri {
        let ns: Tri = req.dst_namespace.as_ref().map(|n| *n == self.namespace);
        let label: Tri = match &self.label {
            None => Some(true),
            Some(_) if req.dst_labels.is_empty() => None,
            Some((k, v)) => Some(req.dst_labels.iter().any(|(a, b)| a == k && b == v)),
        };
        match (ns, label) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    }
}

/// The dimensions beyond `mesh`/`flat`/`rbac`, each unrestricted when `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dims {
    /// `from label KEY = VALUE` (`source.labels`).
    pub src_label: Option<(String, String)>,
    /// `to label KEY = VALUE` (`destination.labels`).
    pub dst_label: Option<(String, String)>,
    /// `from principal "PREFIX*"`: the principal starts with `PREFIX` and the rest has no `/`.
    pub principal_glob: Option<String>,
    /// `from ip CIDR` (`source.ip`).
    pub src_cidr: Option<Cidr>,
    /// `when request.auth.claims[KEY] contains VALUE`.
    pub claim: Option<(String, String)>,
    /// `to host "*SUFFIX"`: the host, lower-cased, ends with `SUFFIX` (lower case) and the rest
    /// has no `/`.
    pub host_suffix: Option<String>,
    /// `select …`.
    pub select: Option<Select>,
}

impl Dims {
    /// Whether every restricted dimension holds for `req`.
    pub fn matches(&self, req: &Req) -> bool {
        let label = |want: &Option<(String, String)>, have: &[(String, String)]| {
            want.as_ref()
                .is_none_or(|(k, v)| have.iter().any(|(a, b)| a == k && b == v))
        };
        label(&self.src_label, &req.labels)
            && label(&self.dst_label, &req.dst_labels)
            && self.principal_glob.as_ref().is_none_or(|p| {
                req.principal
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| !rest.contains('/'))
            })
            && self.src_cidr.is_none_or(|c| {
                req.src_ip
                    .as_deref()
                    .and_then(|ip| ip.parse().ok())
                    .is_some_and(|ip| c.contains(ip))
            })
            && self.claim.as_ref().is_none_or(|(k, v)| {
                k == "groups" && req.groups.as_ref().is_some_and(|g| g.contains(v))
            })
            && self.host_suffix.as_ref().is_none_or(|s| {
                req.host.as_ref().is_some_and(|h| {
                    h.to_ascii_lowercase()
                        .strip_suffix(&s.to_ascii_lowercase())
                        .is_some_and(|rest| !rest.contains('/'))
                })
            })
            && self
                .select
                .as_ref()
                .is_none_or(|s| s.test(req) == Some(true))
    }
}

fn get(path: String) -> Target {
    Target::Direct {
        methods: vec!["GET".to_string()],
        path: PathPat::Prefix(path),
    }
}

/// `n` rules of `kind`: allow rule `i` restricted by `dims(rng, i)`, 5% deny carve-outs.
fn carved(
    rng: &mut ChaCha8Rng,
    n: usize,
    kind: Kind,
    mut dims: impl FnMut(&mut ChaCha8Rng, usize) -> Dims,
) -> Workload {
    let deny = Workload::deny_positions(rng, n);
    let mut rules: Vec<Rule> = Vec::with_capacity(n);
    let mut allows: Vec<usize> = Vec::with_capacity(n);
    for (i, is_deny) in deny.into_iter().enumerate() {
        if is_deny && !allows.is_empty() {
            let base = rules[allows[rng.random_range(0..allows.len())]].clone();
            let Target::Direct {
                path: PathPat::Prefix(prefix),
                methods,
            } = &base.target
            else {
                continue;
            };
            rules.push(Rule {
                id: format!("{kind}-deny-{i}"),
                effect: Effect::Deny,
                target: Target::Direct {
                    methods: methods.clone(),
                    path: PathPat::Prefix(format!("{prefix}admin/")),
                },
                ..base
            });
            continue;
        }
        allows.push(rules.len());
        rules.push(Rule {
            id: format!("{kind}-{i}"),
            effect: Effect::Allow,
            principal: None,
            namespace: None,
            service: None,
            target: get(format!("/{kind}/p{}/", i % 10)),
            cond: None,
            dims: dims(rng, i),
        });
    }
    Workload {
        kind,
        rules,
        roles: Vec::new(),
        requests: Vec::new(),
        default_allow: None,
    }
}

fn app(v: String) -> Option<(String, String)> {
    Some(("app".to_string(), v))
}

/// A third of the rules test the caller's label, a third the destination's, a third both;
/// values drawn from N/4 callers and N/4 destinations.
pub(super) fn labels(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    let values = (n / 4).max(1);
    carved(rng, n, Kind::Labels, |rng, i| {
        let c = app(format!("c{}", rng.random_range(0..values)));
        let s = app(format!("s{}", rng.random_range(0..values)));
        Dims {
            src_label: if i % 3 == 1 { None } else { c },
            dst_label: if i % 3 == 0 { None } else { s },
            ..Dims::default()
        }
    })
}

/// `spiffe://cluster.local/ns/n{i}/sa/*`: one glob per namespace.
pub(super) fn globs(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    carved(rng, n, Kind::Globs, |_, i| Dims {
        principal_glob: Some(spiffe(&format!("n{i}"), "")),
        ..Dims::default()
    })
}

/// Distinct /24s `O.a.b.0/24` (`O` from 10 up: 10/8 holds 65,536 of them), in a scrambled
/// order; every 20th allow rule is the /16 around its /24 instead, overlapping other rules.
pub(super) fn cidrs(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    carved(rng, n, Kind::Cidrs, |_, i| {
        // 40503 is odd, so i -> j is a permutation of 0..2^17.
        let j = (i as u32).wrapping_mul(40_503) % (1 << 17);
        let addr = Ipv4Addr::from(((10 + (j >> 16)) << 24) | ((j & 0xffff) << 8));
        let cidr = if i % 20 == 10 {
            Cidr {
                addr: Ipv4Addr::from(u32::from(addr) & 0xffff_0000),
                len: 16,
            }
        } else {
            Cidr { addr, len: 24 }
        };
        Dims {
            src_cidr: Some(cidr),
            ..Dims::default()
        }
    })
}

/// `request.auth.claims["groups"] contains "g{i}"`.
pub(super) fn claims(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    carved(rng, n, Kind::Claims, |_, i| Dims {
        claim: Some(("groups".to_string(), format!("g{i}"))),
        ..Dims::default()
    })
}

/// `to host "*.t{i}.example.com"`.
pub(super) fn hosts(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    carved(rng, n, Kind::Hosts, |_, i| Dims {
        host_suffix: Some(format!(".t{i}.example.com")),
        ..Dims::default()
    })
}

/// `select namespace "prod", label app = "a{i}"`.
pub(super) fn select(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    carved(rng, n, Kind::Select, |_, i| Dims {
        select: Some(Select {
            namespace: "prod".to_string(),
            label: app(format!("a{i}")),
        }),
        ..Dims::default()
    })
}

/// Rules per namespace in `istio`: one deny rule and 19 allow rules.
pub const ISTIO_RULES_PER_NAMESPACE: usize = 20;

/// Istio-shaped: namespaces `nsK` of 20 rules each, first a deny rule
/// (`select namespace "nsK" to path "/admin/**"`), then allow rules selecting one of five
/// workloads by `app` label, from a principal (half) or a source namespace (half), `GET` on
/// `/api/r{i}/**`; and `default allow "mesh-default" { }`, which opens every workload no allow
/// rule claims (other namespaces, other apps).
pub(super) fn istio(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    let namespaces = n.div_ceil(ISTIO_RULES_PER_NAMESPACE);
    let rules = (0..n)
        .map(|i| {
            let ns = format!("ns{}", i / ISTIO_RULES_PER_NAMESPACE);
            if i % ISTIO_RULES_PER_NAMESPACE == 0 && i + 1 < n {
                return Rule {
                    id: format!("{ns}/deny-admin"),
                    effect: Effect::Deny,
                    principal: None,
                    namespace: None,
                    service: None,
                    target: Target::Direct {
                        methods: Vec::new(),
                        path: PathPat::Prefix("/admin/".to_string()),
                    },
                    cond: None,
                    dims: Dims {
                        select: Some(Select {
                            namespace: ns,
                            label: None,
                        }),
                        ..Dims::default()
                    },
                };
            }
            let from_ns = format!("ns{}", rng.random_range(0..namespaces));
            let (principal, namespace) = if rng.random_bool(0.5) {
                let sa = format!("sa{}", rng.random_range(0..50u32));
                (Some(spiffe(&from_ns, &sa)), None)
            } else {
                (None, Some(from_ns))
            };
            Rule {
                id: format!("{ns}/allow-{i}"),
                effect: Effect::Allow,
                principal,
                namespace,
                service: None,
                target: get(format!("/api/r{i}/")),
                cond: None,
                dims: Dims {
                    select: Some(Select {
                        namespace: ns,
                        label: app(format!("a{}", i % 5)),
                    }),
                    ..Dims::default()
                },
            }
        })
        .collect();
    Workload {
        kind: Kind::Istio,
        rules,
        roles: Vec::new(),
        requests: Vec::new(),
        default_allow: Some("mesh-default".to_string()),
    }
}

impl Workload {
    /// Probes around the dimensions `rule` restricts: each one missing, and each one just
    /// outside (another label value, a principal one segment deeper, an address outside the
    /// network, another group, a host differing in case or without the leading label, another
    /// namespace or workload).
    pub(super) fn dim_probes(&self, rule: &Rule, req: &Req) -> Vec<Req> {
        let d = &rule.dims;
        let mut out = Vec::new();
        let mut with = |f: &dyn Fn(&mut Req)| {
            let mut r = req.clone();
            f(&mut r);
            out.push(r);
        };
        if d.src_label.is_some() {
            with(&|r| r.labels.retain(|(k, _)| k != "app"));
            with(&|r| r.labels = vec![("app".to_string(), "other".to_string())]);
        }
        if d.dst_label.is_some() {
            with(&|r| r.dst_labels.clear());
            with(&|r| r.dst_labels = vec![("app".to_string(), "other".to_string())]);
        }
        if let Some(p) = &d.principal_glob {
            with(&|r| r.principal = format!("{p}deep/er"));
            with(&|r| r.principal = p.clone());
            with(&|r| r.principal = p.replace("/sa/", "/sa-x/") + "caller");
        }
        if d.src_cidr.is_some() {
            with(&|r| r.src_ip = None);
            with(&|r| r.src_ip = Some("192.0.2.1".to_string()));
            with(&|r| r.src_ip = Some("10.255.255.254".to_string()));
        }
        if d.claim.is_some() {
            with(&|r| r.groups = None);
            with(&|r| r.groups = Some(vec!["staff".to_string()]));
            with(&|r| r.groups = Some(Vec::new()));
        }
        if let Some(s) = &d.host_suffix {
            with(&|r| r.host = r.host.as_ref().map(|h| h.to_ascii_uppercase()));
            with(&|r| r.host = Some(s.trim_start_matches('.').to_string()));
            with(&|r| r.host = Some(format!("a.b{s}")));
            with(&|r| r.host = Some(format!("api{s}.evil")));
            with(&|r| r.host = None);
        }
        if d.select.is_some() || self.default_allow.is_some() {
            with(&|r| r.dst_labels.clear());
            with(&|r| r.dst_namespace = None);
            with(&|r| {
                r.dst_namespace = None;
                r.dst_labels.clear();
            });
            with(&|r| r.dst_namespace = Some("elsewhere".to_string()));
            with(&|r| r.dst_labels = vec![("app".to_string(), "unclaimed".to_string())]);
            with(&|r| r.dst_labels = vec![("tier".to_string(), "web".to_string())]);
        }
        out
    }
}
