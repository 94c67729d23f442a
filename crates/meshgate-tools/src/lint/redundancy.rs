//! Shadowed, subsumed and duplicate rules: when every request one rule matches is matched by
//! another (`shadowed-by-deny`, `subsumed-allow`, `duplicate-rule`). Implication is checked
//! test by test, so it is sound but incomplete: a reported rule is redundant, but not every
//! redundant rule is reported.

use std::collections::HashSet;

use meshgate::PolicySet;
use meshgate::model::{Clause, Effect, Pred, Rule, Test};
use meshgate::span::Span;

use super::Linter;

/// Whether `a` holding implies `b` holding (same attribute, `a`'s values within `b`'s).
fn test_implies(a: &Test, b: &Test) -> bool {
    if a.attr != b.attr || a.negated != b.negated {
        return false;
    }
    match (&a.pred, &b.pred) {
        (Pred::Str(x), Pred::Str(y)) if !a.negated => {
            x.0.iter()
                .all(|p| y.0.iter().any(|q| q == p) || (!p.is_glob() && y.matches(p.as_str())))
        }
        (Pred::Str(x), Pred::Str(y)) => x == y,
        (Pred::Ip(x), Pred::Ip(y)) if !a.negated => {
            x.iter().all(|n| y.iter().any(|m| m.contains(n)))
        }
        (Pred::Int(x), Pred::Int(y)) if !a.negated => x
            .iter()
            .all(|&(lo, hi)| y.iter().any(|&(l2, h2)| l2 <= lo && hi <= h2)),
        _ => false,
    }
}

/// Whether every request satisfying clause `a` satisfies clause `b`.
fn clause_implies(a: &Clause, b: &Clause) -> bool {
    b.tests
        .iter()
        .all(|tb| a.tests.iter().any(|ta| test_implies(ta, tb)))
}

/// Whether every request that satisfies some clause of `a` satisfies some clause of `b` (no
/// clauses mean "anything").
fn clauses_imply(a: &[Clause], b: &[Clause]) -> bool {
    if b.is_empty() {
        return true;
    }
    !a.is_empty() && a.iter().all(|ca| b.iter().any(|cb| clause_implies(ca, cb)))
}

/// Whether rule `b` matches every request rule `a` matches, judged on structure: `b` has no
/// conditions, its clauses (`select` too) follow from `a`'s, and it grants at least `a`'s
/// roles.
fn rule_implies(a: &Rule, b: &Rule) -> bool {
    let grants = b.grants.is_empty()
        || (!a.grants.is_empty()
            && a.grants
                .iter()
                .all(|g| b.grants.iter().any(|h| h.role == g.role)));
    b.when.is_empty()
        && b.unless.is_empty()
        && grants
        && clauses_imply(&a.select, &b.select)
        && clauses_imply(&a.from, &b.from)
        && clauses_imply(&a.to, &b.to)
}

/// The rule's text from its `{`, without white space and comments: equal for rules that say
/// the same thing in the same words.
pub(crate) fn body_key(set: &PolicySet, r: &Rule) -> String {
    let body = Span {
        start: r.id_span.end,
        ..r.span
    };
    format!(
        "{}|{}|{}",
        r.effect.as_str(),
        r.dry_run,
        text_key(set, body)
    )
}

/// The text `span` covers, without white space and comments (kept between two words, and in
/// strings): equal for texts that say the same thing in the same words.
pub(crate) fn text_key(set: &PolicySet, span: Span) -> String {
    let text = crate::text(set, span);
    let word = |c: char| c.is_alphanumeric() || "_-.:/+\"*".contains(c);
    let mut out = String::new();
    let (mut in_comment, mut in_string, mut escaped, mut gap) = (false, false, false, false);
    for c in text.chars() {
        if in_comment {
            in_comment = c != '\n';
            gap = true;
            continue;
        }
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '#' {
            in_comment = true;
            continue;
        }
        if c.is_whitespace() {
            gap = true;
            continue;
        }
        // White space matters only between two words.
        if gap && out.chars().next_back().is_some_and(word) && word(c) {
            out.push(' ');
        }
        gap = false;
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

pub(super) fn redundancy(l: &mut Linter<'_>, rules: &[&Rule], never: &HashSet<&str>) {
    let live: Vec<&Rule> = rules
        .iter()
        .copied()
        .filter(|r| !never.contains(r.id.as_str()))
        .collect();
    let mut reported: HashSet<&str> = HashSet::new();
    // Duplicates: the later of two rules that say the same thing.
    for (i, r) in live.iter().enumerate() {
        let key = body_key(l.set, r);
        let same_zone = |o: &Rule| o.zone.name == r.zone.name;
        if let Some(first) = live.iter().take(i).find(|o| {
            o.effect == r.effect
                && o.dry_run == r.dry_run
                && same_zone(o)
                && (body_key(l.set, o) == key || (rule_implies(r, o) && rule_implies(o, r)))
        }) {
            let at = l.at(first.id_span);
            l.warn(
                "duplicate-rule",
                format!(
                    "{} {:?} says the same as {:?}",
                    r.effect.as_str(),
                    r.id,
                    first.id
                ),
                r.id_span,
                format!("{:?} is at {at}; remove one of them", first.id),
            );
            reported.insert(r.id.as_str());
        }
    }
    let denies: Vec<&Rule> = live
        .iter()
        .copied()
        .filter(|r| {
            r.effect == Effect::Deny && !r.dry_run && r.when.is_empty() && r.unless.is_empty()
        })
        .collect();
    let allows: Vec<&Rule> = live
        .iter()
        .copied()
        .filter(|r| r.effect == Effect::Allow && !r.dry_run)
        .collect();
    for a in &allows {
        if reported.contains(a.id.as_str()) {
            continue;
        }
        if let Some(d) = denies.iter().find(|d| {
            clauses_imply(&a.select, &d.select)
                && clauses_imply(&a.from, &d.from)
                && clauses_imply(&a.to, &d.to)
        }) {
            let at = l.at(d.id_span);
            l.warn(
                "shadowed-by-deny",
                format!(
                    "allow {:?} never allows anything: deny {:?} refuses every request it matches",
                    a.id, d.id
                ),
                a.id_span,
                format!(
                    "deny {:?} is at {at}; narrow the deny or remove the allow",
                    d.id
                ),
            );
            continue;
        }
        if let Some(b) = allows
            .iter()
            .find(|b| b.id != a.id && rule_implies(a, b) && !rule_implies(b, a))
        {
            let at = l.at(b.id_span);
            l.warn(
                "subsumed-allow",
                format!("allow {:?} is redundant: allow {:?} allows every request it matches", a.id, b.id),
                a.id_span,
                format!("allow {:?} is at {at}; remove the narrower rule unless it is meant to be listed in decisions", b.id),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Unused roles.
