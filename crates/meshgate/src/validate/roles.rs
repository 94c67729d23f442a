//! Roles: collecting declarations, expanding `include`, rejecting unknown and cyclic roles.

use std::collections::HashMap;

use super::{Ctx, literals};
use crate::attr::closest;
use crate::model::{Permission, Role};
use crate::syntax::ast::{self, RoleStmt};

/// Validates every role and expands includes. Roles with errors are left out of the result (so
/// rules that grant them report no second error).
#[expect(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "role indices come from `names` and every per-role vector has `names.len()` \
              entries; `cycle.len() - 2` is taken only when the length exceeds 8"
)]
pub fn expand(cx: &mut Ctx<'_>, decls: &[(usize, &ast::RoleDecl)]) -> HashMap<String, Role> {
    let mut by_name: HashMap<&str, (usize, &ast::RoleDecl)> = HashMap::new();
    for &(file, decl) in decls {
        cx.set_file(file);
        if let Some(&(first_file, first)) = by_name.get(decl.name.name.as_str()) {
            let at = cx.location(first_file, first.name.span);
            cx.error(
                "duplicate-role",
                format!("role `{}` is declared twice", decl.name.name),
                decl.name.span,
                Some(&format!("first declared at {at}")),
            );
            continue;
        }
        by_name.insert(&decl.name.name, (file, decl));
    }
    let mut names: Vec<&str> = by_name.keys().copied().collect();
    names.sort_unstable();
    let graph = Graph::new(&names, &by_name);

    // Each role's own statements, checked once: permits, and includes of undeclared roles.
    let mut own: Vec<Option<Vec<Own>>> = Vec::with_capacity(names.len());
    for (n, name) in names.iter().enumerate() {
        let Some(&(file, decl)) = by_name.get(name) else {
            own.push(None);
            continue;
        };
        cx.set_file(file);
        let mut stmts = Vec::new();
        let mut ok = true;
        let mut edges = graph.edges[n].iter();
        for stmt in &decl.body {
            match stmt {
                RoleStmt::Permit(p) => match permit(cx, p, name) {
                    Some(perm) => stmts.push(Own::Permit(perm)),
                    None => ok = false,
                },
                RoleStmt::Include(inc) => match edges.next().copied().flatten() {
                    Some(target) => stmts.push(Own::Include(target, inc.span)),
                    None => {
                        let help = closest(&inc.name, names.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"));
                        cx.error(
                            "unknown-role",
                            format!("unknown role `{}`", inc.name),
                            inc.span,
                            help.as_deref(),
                        );
                        ok = false;
                    }
                },
            }
        }
        own.push(ok.then_some(stmts));
    }

    // Cycles: every include that lies on a cycle is reported, at the role that writes it.
    let component = graph.components();
    let mut cyclic = vec![false; names.len()];
    for (n, stmts) in own.iter().enumerate() {
        for stmt in stmts.iter().flatten() {
            let Own::Include(target, span) = *stmt else {
                continue;
            };
            if component[target] != component[n] {
                continue;
            }
            cyclic[n] = true;
            let mut cycle: Vec<&str> = std::iter::once(n)
                .chain(graph.path(target, n, &component))
                .map(|i| names[i])
                .collect();
            if cycle.len() > 8 {
                // Long cycles are shown by their ends.
                cycle.splice(5..cycle.len() - 2, ["…"]);
            }
            if let Some(&(file, _)) = by_name.get(names[n]) {
                cx.set_file(file);
            }
            cx.error(
                "role-cycle",
                format!(
                    "role `{}` includes itself through `{}`",
                    names[n],
                    cycle.join("` → `")
                ),
                span,
                Some("remove one of the includes in the cycle"),
            );
        }
    }

    // Expansion, included roles first (an explicit stack: include chains may be long). A role
    // is broken when it or anything it includes is.
    let mut expanded: Vec<Option<Option<Vec<Permission>>>> = vec![None; names.len()];
    for root in 0..names.len() {
        let mut stack = vec![(root, false)];
        while let Some((n, children_done)) = stack.pop() {
            if expanded[n].is_some() {
                continue;
            }
            let stmts = match &own[n] {
                Some(stmts) if !cyclic[n] => stmts,
                _ => {
                    expanded[n] = Some(None);
                    continue;
                }
            };
            if !children_done {
                stack.push((n, true));
                for stmt in stmts {
                    if let Own::Include(t, _) = *stmt
                        && expanded[t].is_none()
                    {
                        stack.push((t, false));
                    }
                }
                continue;
            }
            let mut perms: Vec<Permission> = Vec::new();
            let mut ok = true;
            let push = |p: Permission, perms: &mut Vec<Permission>| {
                // One permission per `permit` statement, however many ways it is included.
                if !perms.iter().any(|q| q.span == p.span) {
                    perms.push(p);
                }
            };
            for stmt in stmts {
                match stmt {
                    Own::Permit(p) => push(p.clone(), &mut perms),
                    Own::Include(t, _) => match &expanded[*t] {
                        Some(Some(included)) => {
                            for p in included {
                                let mut p = p.clone();
                                p.via.insert(0, names[n].to_string());
                                push(p, &mut perms);
                            }
                        }
                        _ => ok = false,
                    },
                }
            }
            expanded[n] = Some(ok.then_some(perms));
        }
    }

    let mut out = HashMap::new();
    for (n, name) in names.iter().enumerate() {
        let Some(Some(perms)) = expanded[n].take() else {
            continue;
        };
        let Some(&(file, decl)) = by_name.get(name) else {
            continue;
        };
        cx.set_file(file);
        if perms.is_empty() {
            cx.error(
                "empty-role",
                format!("role `{name}` grants no permission"),
                decl.name.span,
                Some("add a `permit` or an `include`"),
            );
            continue;
        }
        let includes = decl.body.iter().filter_map(|s| match s {
            RoleStmt::Include(i) => Some(i.name.clone()),
            RoleStmt::Permit(_) => None,
        });
        out.insert(
            name.to_string(),
            Role {
                name: name.to_string(),
                span: decl.name.span,
                permissions: perms.into(),
                includes: includes.collect(),
            },
        );
    }
    out
}

/// A role's own statement, checked: a permission, or an include of a declared role (its index).
enum Own {
    Permit(Permission),
    Include(usize, crate::span::Span),
}

/// The include graph over the declared roles (indices into the sorted names).
struct Graph {
    /// For each role, the target of each `include` in order (`None`: not declared).
    edges: Vec<Vec<Option<usize>>>,
}

#[expect(
    clippy::indexing_slicing,
    reason = "node indices are < `edges.len()` (edges point only at declared roles, by index \
              into the same sorted names) and every per-node vector has `edges.len()` entries"
)]
impl Graph {
    fn new(names: &[&str], by_name: &HashMap<&str, (usize, &ast::RoleDecl)>) -> Graph {
        let index = |name: &str| names.binary_search(&name).ok();
        let edges = names
            .iter()
            .map(|name| {
                by_name.get(name).map_or_else(Vec::new, |(_, decl)| {
                    decl.body
                        .iter()
                        .filter_map(|s| match s {
                            RoleStmt::Include(i) => Some(index(&i.name)),
                            RoleStmt::Permit(_) => None,
                        })
                        .collect()
                })
            })
            .collect();
        Graph { edges }
    }

    fn targets(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges[n].iter().filter_map(|t| *t)
    }

    /// Strongly connected components (Kosaraju, without recursion): an include lies on a cycle
    /// exactly when both its ends are in one component.
    fn components(&self) -> Vec<usize> {
        let n = self.edges.len();
        let mut order = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        for root in 0..n {
            if seen[root] {
                continue;
            }
            seen[root] = true;
            let mut stack = vec![(root, self.targets(root).collect::<Vec<_>>().into_iter())];
            while let Some((node, next)) = stack.last_mut() {
                match next.next() {
                    Some(t) if !seen[t] => {
                        seen[t] = true;
                        let children = self.targets(t).collect::<Vec<_>>().into_iter();
                        stack.push((t, children));
                    }
                    Some(_) => {}
                    None => {
                        order.push(*node);
                        stack.pop();
                    }
                }
            }
        }
        let mut reverse = vec![Vec::new(); n];
        for from in 0..n {
            for to in self.targets(from) {
                reverse[to].push(from);
            }
        }
        let mut component = vec![usize::MAX; n];
        for (c, &root) in order.iter().rev().enumerate() {
            if component[root] != usize::MAX {
                continue;
            }
            component[root] = c;
            let mut stack = vec![root];
            while let Some(node) = stack.pop() {
                for &prev in &reverse[node] {
                    if component[prev] == usize::MAX {
                        component[prev] = c;
                        stack.push(prev);
                    }
                }
            }
        }
        component
    }

    /// A shortest include chain from `from` to `to` within one component, both ends included.
    fn path(&self, from: usize, to: usize, component: &[usize]) -> Vec<usize> {
        let mut parent = vec![usize::MAX; self.edges.len()];
        let mut queue = std::collections::VecDeque::from([from]);
        parent[from] = from;
        while let Some(node) = queue.pop_front() {
            if node == to {
                break;
            }
            for t in self.targets(node) {
                if parent[t] == usize::MAX && component[t] == component[from] {
                    parent[t] = node;
                    queue.push_back(t);
                }
            }
        }
        let mut path = vec![to];
        let mut node = to;
        while node != from && parent[node] != usize::MAX {
            node = parent[node];
            path.push(node);
        }
        path.reverse();
        path
    }
}

fn permit(cx: &mut Ctx<'_>, p: &ast::Permit, role: &str) -> Option<Permission> {
    let mut ok = true;
    let methods = match &p.methods {
        None => None,
        Some(ms) => {
            for m in ms {
                if !m.name.bytes().all(|b| b.is_ascii_uppercase()) {
                    let help = format!(
                        "methods are upper case, e.g. `{}`",
                        m.name.to_ascii_uppercase()
                    );
                    cx.error(
                        "method",
                        format!("invalid HTTP method `{}`", m.name),
                        m.span,
                        Some(&help),
                    );
                    ok = false;
                }
            }
            Some(ms.iter().map(|m| m.name.clone()).collect())
        }
    };
    let paths = literals::paths(cx, &p.paths, "`on`");
    let hosts = p
        .hosts
        .as_ref()
        .map(|h| literals::patterns(cx, h, "`host`", true, true));
    let ports = p
        .ports
        .as_ref()
        .map(|l| literals::int_ranges(cx, l, "`port`", (0, 65_535), false));
    let hosts = match hosts {
        Some(None) => {
            ok = false;
            None
        }
        Some(Some(h)) => Some(h),
        None => None,
    };
    let ports = match ports {
        Some(None) => {
            ok = false;
            None
        }
        Some(Some(p)) => Some(p),
        None => None,
    };
    let paths = paths?;
    ok.then(|| Permission {
        role: role.to_string(),
        via: Vec::new(),
        methods,
        paths,
        hosts,
        ports,
        span: p.span,
    })
}
