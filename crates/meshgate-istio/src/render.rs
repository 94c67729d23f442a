//! Printing translated rules as meshgate policy text.

use std::fmt::Write as _;

use crate::resource::Action;
use crate::translate::{Atom, OutRule, Side};

/// The id of the one `default allow` item of an import.
pub const DEFAULT_ALLOW_ID: &str = "istio:default-allow";

/// The text of a whole import: a header, Istio's per-workload default, then every rule.
pub fn policy_text(header: &[String], rules: &[OutRule]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(
        "\n# Istio's default: a workload that no ALLOW policy selects is allowed; one that some\n\
         # ALLOW policy selects is allowed only by a matching allow rule.\n",
    );
    let _ = writeln!(out, "default allow \"{DEFAULT_ALLOW_ID}\" {{}}");
    for r in rules {
        out.push('\n');
        rule(&mut out, r);
    }
    out
}

fn rule(out: &mut String, r: &OutRule) {
    for line in r.comment.lines() {
        let _ = writeln!(out, "# {line}");
    }
    let effect = match r.effect {
        Action::Allow => "allow",
        Action::Deny => "deny",
        Action::Audit => "audit",
    };
    let dry = if r.dry_run { "dry_run " } else { "" };
    let _ = writeln!(out, "{dry}{effect} {} {{", crate::translate::quote(&r.id));
    if let Some(s) = &r.select {
        let _ = writeln!(out, "  select {s}");
    }
    clauses(out, &r.from, Side::From);
    clauses(out, &r.to, Side::To);
    for w in &r.when {
        let _ = writeln!(out, "  when {w}");
    }
    for u in &r.unless {
        let _ = writeln!(out, "  unless {u}");
    }
    out.push_str("}\n");
}

/// `from`/`to` clauses when every atom has a native matcher, else one `when` with the OR of
/// the ANDs. No entries (or an entry without atoms): any, nothing printed.
fn clauses(out: &mut String, entries: &[Vec<Atom>], side: Side) {
    if entries.is_empty() || entries.iter().any(Vec::is_empty) {
        return;
    }
    let native: Option<Vec<String>> = entries
        .iter()
        .map(|e| {
            e.iter()
                .map(|a| match &a.native {
                    Some((s, text)) if *s == side => Some(text.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<String>>>()
                .map(|m| m.join(", "))
        })
        .collect();
    let keyword = match side {
        Side::From => "from",
        Side::To => "to",
    };
    match native {
        Some(lines) => {
            for l in lines {
                let _ = writeln!(out, "  {keyword} {l}");
            }
        }
        None => {
            let ands: Vec<String> = entries
                .iter()
                .map(|e| {
                    let parts: Vec<&str> = e.iter().map(|a| a.expr.as_str()).collect();
                    if parts.len() == 1 || entries.len() == 1 {
                        parts.join(" and ")
                    } else {
                        format!("({})", parts.join(" and "))
                    }
                })
                .collect();
            let _ = writeln!(out, "  when {}", ands.join(" or "));
        }
    }
}
