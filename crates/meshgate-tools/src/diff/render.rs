//! Rendering: a region's conditions in words ([`describe`]) and the report as text.

use super::dims::{Dim, Rep};
use super::logic::{Space, T};
use super::{DiffReport, Region};
use crate::DecisionRecord;

pub(super) fn describe(
    space: &Space<'_>,
    d: usize,
    dim: &Dim,
    reps: &[Rep],
    cs: &[usize],
) -> String {
    let chosen: Vec<(usize, &Rep)> = cs.iter().filter_map(|&c| Some((c, reps.get(c)?))).collect();
    let absent = chosen.iter().any(|(_, r)| matches!(r, Rep::Absent));
    let present: Vec<(usize, &Rep)> = chosen
        .into_iter()
        .filter(|(_, r)| !matches!(r, Rep::Absent))
        .collect();
    let Some(&(_, example)) = present.first() else {
        return format!("{dim} absent");
    };
    let or_absent = if absent { " (or absent)" } else { "" };
    let exact: Vec<&String> = present
        .iter()
        .filter_map(|(_, r)| match r {
            Rep::Str(s) if !s.contains("zz9") => Some(s),
            _ => None,
        })
        .collect();
    if exact.len() == present.len() {
        return match exact.as_slice() {
            [single] => format!("{dim} = {single:?}{or_absent}"),
            _ => format!("{dim} in {exact:?}{or_absent}"),
        };
    }
    let mut held: Vec<&str> = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    for a in space
        .atoms
        .iter()
        .filter(|a| a.dim == d && !a.label.is_empty())
    {
        let truths: Vec<u8> = present
            .iter()
            .map(|(c, _)| a.truth.get(*c).copied().unwrap_or(0))
            .collect();
        if truths.iter().all(|t| *t == T) && !held.contains(&a.label.as_str()) {
            held.push(&a.label);
        } else if truths.iter().all(|t| *t != T) && !failed.contains(&a.label.as_str()) {
            failed.push(&a.label);
        }
    }
    failed.retain(|f| !held.contains(f));
    let like = match example {
        Rep::Str(s) => format!("{s:?}"),
        Rep::List(items) => format!("{items:?}"),
        Rep::Ip(ip) => ip.to_string(),
        Rep::Int(n) => n.to_string(),
        Rep::Time(t) => t.to_string(),
        Rep::Ctx(v) => serde_json::to_string(v).unwrap_or_default(),
        Rep::Absent => String::new(),
    };
    let mut parts = Vec::new();
    if !held.is_empty() {
        let verb = if held.len() == 1 { "holds" } else { "hold" };
        parts.push(format!("`{}` {verb}", held.join("`, `")));
    }
    if !failed.is_empty() {
        let verb = if failed.len() == 1 {
            "does not"
        } else {
            "do not"
        };
        parts.push(format!("`{}` {verb}", failed.join("`, `")));
    }
    if parts.is_empty() {
        return format!("{dim} present (e.g. {like}){or_absent}");
    }
    format!(
        "{dim} such that {} (e.g. {like}){or_absent}",
        parts.join(" and ")
    )
}

impl DiffReport {
    /// The report for people: regions grouped by how the decision changes, each group with
    /// the conditions all its regions share and one example.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let rc = &self.rules;
        for (what, ids) in [
            ("removed", &rc.removed),
            ("added", &rc.added),
            ("changed", &rc.changed),
        ] {
            if !ids.is_empty() {
                let ids: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
                let _ = writeln!(out, "rules {what}: {}", ids.join(", "));
            }
        }
        if self.decision_changes.is_empty() {
            let _ = writeln!(out, "no behavioural change");
        } else {
            let mut groups: Vec<(String, String, Vec<&Region>)> = Vec::new();
            for r in &self.decision_changes {
                let (b, a) = (decision_words(&r.before), decision_words(&r.after));
                match groups.iter_mut().find(|(x, y, _)| *x == b && *y == a) {
                    Some(g) => g.2.push(r),
                    None => groups.push((b, a, vec![r])),
                }
            }
            let _ = writeln!(
                out,
                "decisions that change ({} regions):",
                self.decision_changes.len()
            );
            for (n, (b, a, regions)) in (1usize..).zip(&groups) {
                let _ = writeln!(
                    out,
                    "  {n}. {b} -> {a} ({})",
                    if regions.len() == 1 {
                        "1 region".to_string()
                    } else {
                        format!("{} regions", regions.len())
                    }
                );
                let common: Vec<&String> = regions
                    .first()
                    .map(|f| {
                        f.conditions
                            .iter()
                            .filter(|c| regions.iter().all(|r| r.conditions.contains(c)))
                            .collect()
                    })
                    .unwrap_or_default();
                if !common.is_empty() {
                    let _ = writeln!(out, "     in all of them:");
                    for c in common {
                        let _ = writeln!(out, "       {c}");
                    }
                }
                if let Some(first) = regions.first() {
                    let _ = writeln!(out, "     example: {}", first.example);
                }
            }
        }
        if !self.exact {
            let _ = writeln!(out, "note: not exact: {}", self.inexact_because.join("; "));
        }
        out
    }

    /// Every region with its conditions, example and decisions.
    pub fn regions_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (n, r) in (1usize..).zip(&self.decision_changes) {
            let _ = writeln!(
                out,
                "region {n}: {} -> {}",
                decision_words(&r.before),
                decision_words(&r.after)
            );
            for c in &r.conditions {
                let _ = writeln!(out, "  {c}");
            }
            let _ = writeln!(out, "  example: {}", r.example);
        }
        out
    }
}

fn decision_words(d: &DecisionRecord) -> String {
    let ids = |v: &[String]| {
        v.iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if d.allowed {
        format!("allowed by {}", ids(&d.reasons))
    } else if !d.reasons.is_empty() {
        format!("denied by {}", ids(&d.reasons))
    } else if !d.errors.is_empty() {
        let e: Vec<String> = d.errors.iter().map(|e| e.rule.clone()).collect();
        format!("denied (errors in {})", ids(&e))
    } else {
        "denied (no rule matched)".to_string()
    }
}
