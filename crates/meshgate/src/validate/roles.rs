//! Roles: collecting declarations, expanding `include`, rejecting unknown and cyclic roles.

use std::collections::HashMap;

use super::{Ctx, literals};
use crate::attr::closest;
use crate::model::{Permission, Role};
use crate::syntax::ast::{self, RoleStmt};

/// Validates every role and expands includes. Roles with errors are left out of the result (so
/// rules that grant them report no second error).
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
    let mut out = HashMap::new();
    let mut names: Vec<&str> = by_name.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        let mut stack = Vec::new();
        if let Some(perms) = permissions(cx, &by_name, name, &mut stack) {
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
    }
    out
}

/// The permissions of `name`, its includes expanded; `None` if it or an included role is broken.
/// Errors are reported once, at the role where they are written.
fn permissions(
    cx: &mut Ctx<'_>,
    roles: &HashMap<&str, (usize, &ast::RoleDecl)>,
    name: &str,
    stack: &mut Vec<String>,
) -> Option<Vec<Permission>> {
    let &(file, decl) = roles.get(name)?;
    stack.push(name.to_string());
    let mut out = Vec::new();
    let mut ok = true;
    let reporting = stack.len() == 1;
    for stmt in &decl.body {
        cx.set_file(file);
        match stmt {
            RoleStmt::Permit(p) => match permit(cx, p, name, reporting) {
                Some(perm) => out.push(perm),
                None => ok = false,
            },
            RoleStmt::Include(inc) => {
                if stack.contains(&inc.name) {
                    if reporting {
                        let mut cycle = stack.clone();
                        cycle.push(inc.name.clone());
                        cx.error(
                            "role-cycle",
                            format!(
                                "role `{name}` includes itself through `{}`",
                                cycle.join("` → `")
                            ),
                            inc.span,
                            Some("remove one of the includes in the cycle"),
                        );
                    }
                    ok = false;
                } else if !roles.contains_key(inc.name.as_str()) {
                    if reporting {
                        let help = closest(&inc.name, roles.keys().copied())
                            .map(|s| format!("did you mean `{s}`?"));
                        cx.error(
                            "unknown-role",
                            format!("unknown role `{}`", inc.name),
                            inc.span,
                            help.as_deref(),
                        );
                    }
                    ok = false;
                } else {
                    match permissions(cx, roles, &inc.name, stack) {
                        Some(perms) => out.extend(perms.into_iter().map(|mut p| {
                            p.via.insert(0, name.to_string());
                            p
                        })),
                        None => ok = false,
                    }
                }
            }
        }
    }
    stack.pop();
    ok.then_some(out)
}

fn permit(cx: &mut Ctx<'_>, p: &ast::Permit, role: &str, reporting: bool) -> Option<Permission> {
    // Nested expansions validate the same statements again; only the outermost pass reports.
    let mut quiet;
    let cx: &mut Ctx<'_> = if reporting {
        cx
    } else {
        quiet = cx.quiet();
        &mut quiet
    };
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
