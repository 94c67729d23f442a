//! Which deciding rules and `default allow` items were removed, added or changed between the
//! two sets (the search looks only where a changed rule can match, or, with defaults, where a
//! changed default or claim can tell the sets apart).
//!
//! Invariant: a rule not listed as changed has the same meaning and the same place among the
//! deciding rules of its effect in both sets, so it decides (and claims) alike in both; a
//! default not listed has the same selection in both.

use std::collections::{BTreeMap, HashSet};

use super::RuleChanges;
use meshgate::PolicySet;
use meshgate::model::{Effect, Rule};

pub(super) fn rule_key(set: &PolicySet, r: &Rule) -> String {
    let perms: Vec<String> = r
        .permissions()
        .map(|p| {
            let paths: Vec<&str> = p.paths.0.iter().map(|x| x.as_str()).collect();
            let hosts: Option<Vec<&str>> = p
                .hosts
                .as_ref()
                .map(|h| h.0.iter().map(|x| x.as_str()).collect());
            format!("{:?}{paths:?}{hosts:?}{:?}", p.methods, p.ports)
        })
        .collect();
    format!(
        "{}|{}|{}|{perms:?}",
        crate::lint::body_key(set, r),
        r.zone.name,
        r.effect.as_str()
    )
}

pub(super) fn deciding(r: &Rule) -> bool {
    !r.dry_run && matches!(r.effect, Effect::Allow | Effect::Deny)
}

pub(super) fn changes(old: &PolicySet, new: &PolicySet) -> (RuleChanges, HashSet<String>) {
    let old_rules: BTreeMap<&str, &Rule> = old
        .rules()
        .iter()
        .filter(|r| deciding(r))
        .map(|r| (r.id.as_str(), r))
        .collect();
    let new_rules: BTreeMap<&str, &Rule> = new
        .rules()
        .iter()
        .filter(|r| deciding(r))
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut rc = RuleChanges::default();
    for id in old_rules.keys() {
        if !new_rules.contains_key(id) {
            rc.removed.push(id.to_string());
        }
    }
    for (id, n) in &new_rules {
        match old_rules.get(id) {
            None => rc.added.push(id.to_string()),
            Some(o) if rule_key(old, o) != rule_key(new, n) => rc.changed.push(id.to_string()),
            Some(_) => {}
        }
    }
    // Unchanged rules whose order among the deciding rules moved change the reasons' order.
    let same = |set: &PolicySet, effect: Effect, rc: &RuleChanges| -> Vec<String> {
        set.rules()
            .iter()
            .filter(|r| deciding(r) && r.effect == effect)
            .map(|r| r.id.clone())
            .filter(|id| {
                !rc.added.contains(id) && !rc.removed.contains(id) && !rc.changed.contains(id)
            })
            .collect()
    };
    for effect in [Effect::Allow, Effect::Deny] {
        let (a, b) = (same(old, effect, &rc), same(new, effect, &rc));
        if a != b {
            for (x, y) in a.iter().zip(&b) {
                if x != y {
                    rc.changed.push(x.clone());
                    rc.changed.push(y.clone());
                }
            }
        }
    }
    // Defaults: their order changes only which one `reasons` names, not `allowed`.
    let default_keys = |set: &PolicySet| -> BTreeMap<String, String> {
        set.defaults()
            .iter()
            .map(|d| {
                let body = meshgate::Span {
                    start: d.id_span.end,
                    ..d.span
                };
                (d.id.clone(), crate::lint::text_key(set, body))
            })
            .collect()
    };
    let (old_defaults, new_defaults) = (default_keys(old), default_keys(new));
    for id in old_defaults.keys() {
        if !new_defaults.contains_key(id) {
            rc.removed.push(id.clone());
        }
    }
    for (id, key) in &new_defaults {
        match old_defaults.get(id) {
            None => rc.added.push(id.clone()),
            Some(k) if k != key => rc.changed.push(id.clone()),
            Some(_) => {}
        }
    }
    rc.removed.sort();
    rc.added.sort();
    rc.changed.sort();
    rc.changed.dedup();
    let all: HashSet<String> = rc
        .removed
        .iter()
        .chain(&rc.added)
        .chain(&rc.changed)
        .cloned()
        .collect();
    (rc, all)
}
