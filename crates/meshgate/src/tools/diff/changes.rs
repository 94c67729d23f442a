//! Which deciding rules were removed, added or changed between the two sets (the search looks
//! only where a changed rule can match).
//!
//! Invariant: a rule not listed as changed has the same meaning and the same place among the
//! deciding rules of its effect in both sets, so it decides alike in both.

use std::collections::{BTreeMap, HashSet};

use super::RuleChanges;
use crate::PolicySet;
use crate::model::{Effect, Rule};

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
        crate::tools::lint::body_key(set, r),
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
