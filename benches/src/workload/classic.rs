//! The first three workloads: `mesh`, `flat` and `rbac` (exact principals, namespaces and
//! services, path prefixes, conditions and role grants).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Cond, Dims, Effect, Kind, PathPat, Perm, Role, Rule, Target, Workload, spiffe};

pub(super) fn mesh(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    let deny = Workload::deny_positions(rng, n);
    let mut rules: Vec<Rule> = Vec::with_capacity(n);
    let mut allows: Vec<usize> = Vec::with_capacity(n);
    for (i, is_deny) in deny.into_iter().enumerate() {
        if is_deny && !allows.is_empty() {
            // Carve an admin part out of an earlier allow rule's prefix.
            let base = rules[allows[rng.random_range(0..allows.len())]].clone();
            let Target::Direct {
                path: PathPat::Prefix(prefix),
                methods,
            } = &base.target
            else {
                continue;
            };
            rules.push(Rule {
                id: format!("mesh-deny-{i}"),
                effect: Effect::Deny,
                target: Target::Direct {
                    methods: methods.clone(),
                    path: PathPat::Prefix(format!("{prefix}admin/")),
                },
                cond: None,
                ..base
            });
            continue;
        }
        let ns = format!("ns{}", rng.random_range(0..100u32));
        let svc = rng.random_range(0..200u32);
        let cond = if rng.random_bool(0.10) {
            if rng.random_bool(0.5) {
                Some(Cond::Label {
                    key: "team".to_string(),
                    value: format!("t{}", rng.random_range(0..20u32)),
                })
            } else {
                let from = rng.random_range(0..12u8);
                Some(Cond::Hours {
                    from,
                    to: from + 1 + rng.random_range(0..11u8),
                })
            }
        } else {
            None
        };
        allows.push(rules.len());
        rules.push(Rule {
            id: format!("mesh-{i}"),
            effect: Effect::Allow,
            principal: Some(spiffe(&ns, &format!("sa{i}"))),
            namespace: Some(ns),
            service: Some(format!("svc{svc}.ns{}.svc.cluster.local", svc % 100)),
            target: Target::Direct {
                methods: vec!["GET".to_string()],
                path: PathPat::Prefix(format!("/svc{svc}/p{i}/")),
            },
            cond,
            dims: Dims::default(),
        });
    }
    Workload {
        kind: Kind::Mesh,
        rules,
        roles: Vec::new(),
        requests: Vec::new(),
        default_allow: None,
    }
}

pub(super) fn flat(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    let deny = Workload::deny_positions(rng, n);
    let principal = spiffe("ns0", "flat");
    let mut rules: Vec<Rule> = Vec::with_capacity(n);
    let mut prefixes: Vec<String> = Vec::new();
    for (i, is_deny) in deny.into_iter().enumerate() {
        let base = Rule {
            id: format!("flat-{i}"),
            effect: Effect::Allow,
            principal: Some(principal.clone()),
            namespace: Some("ns0".to_string()),
            service: Some("flat.ns0.svc.cluster.local".to_string()),
            target: Target::Direct {
                methods: vec!["GET".to_string()],
                path: PathPat::Prefix(format!("/flat/r{i}/")),
            },
            cond: None,
            dims: Dims::default(),
        };
        if is_deny && !prefixes.is_empty() {
            let prefix = prefixes[rng.random_range(0..prefixes.len())].clone();
            rules.push(Rule {
                id: format!("flat-deny-{i}"),
                effect: Effect::Deny,
                target: Target::Direct {
                    methods: vec!["GET".to_string()],
                    path: PathPat::Prefix(format!("{prefix}admin/")),
                },
                ..base
            });
        } else if i % 4 == 3 && i + 1 < n {
            rules.push(Rule {
                target: Target::Direct {
                    methods: vec!["GET".to_string()],
                    path: PathPat::Exact(format!("/flat/r{i}/status")),
                },
                ..base
            });
        } else {
            prefixes.push(format!("/flat/r{i}/"));
            rules.push(base);
        }
    }
    Workload {
        kind: Kind::Flat,
        rules,
        roles: Vec::new(),
        requests: Vec::new(),
        default_allow: None,
    }
}

/// Number of roles in `rbac`.
pub const RBAC_ROLES: usize = 50;

pub(super) fn rbac(rng: &mut ChaCha8Rng, n: usize) -> Workload {
    let roles: Vec<Role> = (0..RBAC_ROLES)
        .map(|k| {
            let mut perms = vec![Perm {
                methods: vec!["GET".to_string(), "HEAD".to_string()],
                path: PathPat::Prefix(format!("/rbac/r{k}/")),
            }];
            if k % 5 == 0 {
                perms.push(Perm {
                    methods: vec!["POST".to_string()],
                    path: PathPat::Prefix(format!("/rbac/r{k}/write/")),
                });
            }
            let includes = if k >= 40 {
                vec![format!("r{}", k - 40)]
            } else {
                Vec::new()
            };
            Role {
                name: format!("r{k}"),
                perms,
                includes,
            }
        })
        .collect();
    let users = (n / 2).max(1);
    let deny = Workload::deny_positions(rng, n);
    let mut rules: Vec<Rule> = Vec::with_capacity(n);
    let mut grants: Vec<usize> = Vec::with_capacity(n);
    for (i, is_deny) in deny.into_iter().enumerate() {
        if is_deny && !grants.is_empty() {
            let base = rules[grants[rng.random_range(0..grants.len())]].clone();
            let Target::Grant(role) = &base.target else {
                continue;
            };
            rules.push(Rule {
                id: format!("rbac-deny-{i}"),
                effect: Effect::Deny,
                target: Target::Direct {
                    methods: Vec::new(),
                    path: PathPat::Prefix(format!("/rbac/{role}/secret/")),
                },
                ..base
            });
            continue;
        }
        let u = rng.random_range(0..users);
        let role = if i + 1 == n {
            format!("r{}", 40 + rng.random_range(0..10usize))
        } else {
            format!("r{}", rng.random_range(0..RBAC_ROLES))
        };
        grants.push(rules.len());
        rules.push(Rule {
            id: format!("rbac-{i}"),
            effect: Effect::Allow,
            principal: Some(spiffe(&format!("team{}", u % 100), &format!("user{u}"))),
            namespace: None,
            service: None,
            target: Target::Grant(role),
            cond: None,
            dims: Dims::default(),
        });
    }
    Workload {
        kind: Kind::Rbac,
        rules,
        roles,
        requests: Vec::new(),
        default_allow: None,
    }
}
