//! Lint: warnings about valid policies that probably do not do what their authors meant.
//!
//! Every warning has a stable code, a location and a help line. The checks are cheap and
//! sound: a warning is only given when the stated fact holds (a rule reported as never
//! matching can never match), but not every such fact is found.
//!
//! | code | what |
//! |---|---|
//! | `never-matches` | a rule can never match: `when false`, two `==` tests on one attribute with no value in common, a `from`/`to` clause whose matchers contradict each other |
//! | `empty-time-window` | a rule's time conditions (all `when`s together) leave no hour, minute, weekday, date or instant |
//! | `shadowed-by-deny` | every request an allow rule matches is denied by a deny rule without conditions |
//! | `subsumed-allow` | every request an allow rule matches is also allowed by another allow rule |
//! | `duplicate-rule` | two rules with the same effect say the same thing |
//! | `no-subject` | an allow rule has no `from`: any caller, authenticated or not |
//! | `broad-path` | an allow rule grants every path on a whole namespace (no service or host, a `**` path or none) |
//! | `unused-role` | a role is neither granted nor included |
//! | `deny-absent-bypass` | a deny rule with a negated test (`not namespace "prod"`, `!=`, `unless`) does not apply when the attribute is absent, so a request without it slips past |

use std::collections::{HashMap, HashSet};

mod redundancy;

use redundancy::redundancy;
pub(crate) use redundancy::{body_key, text_key};
use std::sync::Arc;

use meshgate::PolicySet;
use meshgate::attr::Attr;
use meshgate::diagnostic::Diagnostic;
use meshgate::model::{Clause, Cond, Effect, Pred, Rule, Test};
use meshgate::span::{SourceFile, Span};

/// Every lint code, for documentation and tests.
pub const CODES: [&str; 9] = [
    "never-matches",
    "empty-time-window",
    "shadowed-by-deny",
    "subsumed-allow",
    "duplicate-rule",
    "no-subject",
    "broad-path",
    "unused-role",
    "deny-absent-bypass",
];

struct Linter<'s> {
    set: &'s PolicySet,
    out: Vec<Diagnostic>,
}

impl Linter<'_> {
    fn file(&self, span: Span) -> Option<&Arc<SourceFile>> {
        self.set.files().get(span.file.0 as usize)
    }

    fn warn(&mut self, code: &'static str, message: String, span: Span, help: String) {
        if let Some(file) = self.file(span) {
            let d = Diagnostic::warning(code, message, file, span).with_help(help);
            self.out.push(d);
        }
    }

    fn at(&self, span: Span) -> String {
        super::location(self.set, span).to_string()
    }
}

/// Lints a policy set. Warnings are in set order (file, then position).
pub fn lint(set: &PolicySet) -> Vec<Diagnostic> {
    let mut l = Linter {
        set,
        out: Vec::new(),
    };
    let rules: Vec<&Rule> = set.rules().iter().collect();
    let mut never = HashSet::new();
    for r in &rules {
        // An allow rule that never matches still claims its workloads, closing them to the
        // `default allow` items (Istio's "allow nothing" policy): not a mistake then.
        let claims_for_defaults = r.claims() && !set.defaults().is_empty();
        if claims_for_defaults {
            let mut quiet = Linter {
                set,
                out: Vec::new(),
            };
            if never_matches(&mut quiet, r) {
                never.insert(r.id.as_str());
            }
        } else if never_matches(&mut l, r) {
            never.insert(r.id.as_str());
        }
    }
    for r in &rules {
        if r.effect == Effect::Allow && !r.dry_run && !never.contains(r.id.as_str()) {
            over_permissive(&mut l, r);
        }
        if r.effect == Effect::Deny && !r.dry_run {
            absent_bypass(&mut l, r, &rules);
        }
    }
    redundancy(&mut l, &rules, &never);
    unused_roles(&mut l);
    l.out.sort_by_key(|d| (d.span().file, d.span().start));
    l.out
}

// ---------------------------------------------------------------------------------------------
// Rules that never match.

/// The values a conjunction of tests leaves for each attribute, where that is cheap to tell.
#[derive(Clone, Debug)]
enum Values {
    /// Exact strings (case-folded when the attribute ignores case).
    Strs(HashSet<String>),
    /// Integer ranges.
    Ints(Vec<(i64, i64)>),
    /// Weekday bit mask.
    Weekdays(u8),
    /// Inclusive date range.
    Dates(jiff::civil::Date, jiff::civil::Date),
    /// Inclusive instant range.
    Times(jiff::Timestamp, jiff::Timestamp),
}

impl Values {
    fn of(t: &Test) -> Option<Values> {
        if t.negated {
            return None;
        }
        Some(match &t.pred {
            Pred::Str(set)
                if set.0.iter().all(|p| !p.is_glob())
                    && t.attr.ty() == meshgate::attr::Type::Str =>
            {
                Values::Strs(set.0.iter().map(|p| p.as_str().to_string()).collect())
            }
            Pred::Int(ranges) => Values::Ints(ranges.clone()),
            Pred::Weekday(mask) => Values::Weekdays(*mask),
            Pred::Date(a, b) => Values::Dates(*a, *b),
            Pred::Time(a, b) => Values::Times(*a, *b),
            _ => return None,
        })
    }

    fn intersect(&self, other: &Values) -> Option<Values> {
        Some(match (self, other) {
            (Values::Strs(a), Values::Strs(b)) => {
                Values::Strs(a.intersection(b).cloned().collect())
            }
            (Values::Ints(a), Values::Ints(b)) => {
                let mut out = Vec::new();
                for &(a0, a1) in a {
                    for &(b0, b1) in b {
                        let (lo, hi) = (a0.max(b0), a1.min(b1));
                        if lo <= hi {
                            out.push((lo, hi));
                        }
                    }
                }
                Values::Ints(out)
            }
            (Values::Weekdays(a), Values::Weekdays(b)) => Values::Weekdays(a & b),
            (Values::Dates(a0, a1), Values::Dates(b0, b1)) => {
                Values::Dates((*a0).max(*b0), (*a1).min(*b1))
            }
            (Values::Times(a0, a1), Values::Times(b0, b1)) => {
                Values::Times((*a0).max(*b0), (*a1).min(*b1))
            }
            _ => return None,
        })
    }

    fn is_empty(&self) -> bool {
        match self {
            Values::Strs(s) => s.is_empty(),
            Values::Ints(r) => r.is_empty(),
            Values::Weekdays(m) => *m == 0,
            Values::Dates(a, b) => a > b,
            Values::Times(a, b) => a > b,
        }
    }
}

/// The first attribute whose tests (all of which must hold) leave no value, with the span of
/// the test that emptied it.
fn contradiction<'t>(tests: impl IntoIterator<Item = &'t Test>) -> Option<(&'t Test, &'t Test)> {
    let mut seen: HashMap<&Attr, (Values, &Test)> = HashMap::new();
    for t in tests {
        let Some(v) = Values::of(t) else { continue };
        match seen.get(&t.attr) {
            Some((prev, first)) => {
                if let Some(both) = prev.intersect(&v) {
                    if both.is_empty() {
                        return Some((first, t));
                    }
                    let first = *first;
                    seen.insert(&t.attr, (both, first));
                }
            }
            None => {
                seen.insert(&t.attr, (v, t));
            }
        }
    }
    None
}

/// Tests that must all hold for the conditions to be true: the `when`s and their top-level
/// `and`s. Also tells whether some `when` is the constant `false`.
fn required_tests<'r>(rule: &'r Rule, out: &mut Vec<&'r Test>) -> bool {
    fn walk<'r>(c: &'r Cond, out: &mut Vec<&'r Test>) -> bool {
        match c {
            Cond::Const(false) => true,
            Cond::Test(t) => {
                out.push(t);
                false
            }
            Cond::And(items) => {
                // Every item is walked (no short cut): all their tests are required.
                let mut constant_false = false;
                for i in items {
                    constant_false |= walk(i, out);
                }
                constant_false
            }
            _ => false,
        }
    }
    let mut constant_false = false;
    for c in &rule.when {
        constant_false |= walk(&c.cond, out);
    }
    constant_false
        || rule
            .unless
            .iter()
            .any(|c| matches!(c.cond, Cond::Const(true)))
}

fn is_time(attr: &Attr) -> bool {
    matches!(
        attr,
        Attr::Time | Attr::TimeHour | Attr::TimeMinute | Attr::TimeWeekday | Attr::TimeDate
    )
}

fn never_matches(l: &mut Linter<'_>, r: &Rule) -> bool {
    let what = format!("{} {:?}", r.effect.as_str(), r.id);
    let mut tests = Vec::new();
    if required_tests(r, &mut tests) {
        l.warn(
            "never-matches",
            format!("{what} can never match: a condition is constant"),
            r.id_span,
            "`when false` (or `unless true`) disables the rule; remove the rule or the condition"
                .to_string(),
        );
        return true;
    }
    if let Some((first, second)) = contradiction(tests.iter().copied()) {
        let (code, kind) = if is_time(&second.attr) {
            ("empty-time-window", "time window")
        } else {
            ("never-matches", "condition")
        };
        let first_at = l.at(first.span);
        l.warn(
            code,
            format!(
                "{what} can never match: its {kind} on `{}` is empty",
                second.attr
            ),
            second.span,
            format!(
                "no value of `{}` satisfies both this test and the one at {first_at}",
                second.attr
            ),
        );
        return true;
    }
    for (side, clauses) in [("from", &r.from), ("to", &r.to)] {
        if clauses.is_empty() {
            continue;
        }
        let broken: Vec<(&Test, &Test)> = clauses
            .iter()
            .filter_map(|c| contradiction(c.tests.iter()))
            .collect();
        if broken.len() == clauses.len()
            && let Some((first, second)) = broken.first()
        {
            let first_at = l.at(first.span);
            l.warn(
                    "never-matches",
                    format!("{what} can never match: no `{side}` clause can hold"),
                    second.span,
                    format!("`{}` cannot take this value and the one at {first_at} at once; matchers in one clause must all hold (write `[a, b]` for either)", second.attr),
                );
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Over-permissive allow rules.

fn over_permissive(l: &mut Linter<'_>, r: &Rule) {
    if r.from.is_empty() {
        l.warn(
            "no-subject",
            format!("allow {:?} has no `from`: it allows any caller, even one without an identity", r.id),
            r.id_span,
            "restrict the callers with `from principal …`, `from namespace …` or similar, or say why in a comment and ignore this".to_string(),
        );
    }
    let everything = |p: &meshgate::pattern::Pattern| p.as_str() == "/**" || p.as_str() == "**";
    let grants_all_paths =
        !r.grants.is_empty() && r.permissions().any(|p| p.paths.0.iter().any(everything));
    let clauses: Vec<Option<&Clause>> = if r.to.is_empty() {
        vec![None]
    } else {
        r.to.iter().map(Some).collect()
    };
    for c in clauses {
        let tests: &[Test] = c.map_or(&[], |c| c.tests.as_slice());
        let has = |a: &dyn Fn(&Attr) -> bool| tests.iter().any(|t| a(&t.attr) && !t.negated);
        let scoped = has(&|a| {
            matches!(
                a,
                Attr::DestService | Attr::Host | Attr::DestIp | Attr::DestLabel(_)
            )
        });
        let namespace = has(&|a| matches!(a, Attr::DestNamespace));
        // A selection of labelled workloads scopes the rule as a `to label` does.
        let selected = !r.select.is_empty()
            && r.select.iter().all(|c| {
                c.tests
                    .iter()
                    .any(|t| !t.negated && matches!(t.attr, Attr::DestLabel(_)))
            });
        let scoped = scoped || selected;
        let path_tests: Vec<&Test> = tests
            .iter()
            .filter(|t| t.attr == Attr::Path && !t.negated)
            .collect();
        let all_paths = if path_tests.is_empty() {
            r.grants.is_empty() || grants_all_paths
        } else {
            path_tests
                .iter()
                .any(|t| matches!(&t.pred, Pred::Str(s) if s.0.iter().any(everything)))
        };
        if namespace && !scoped && all_paths {
            let span = c.map_or(r.id_span, |c| c.span);
            l.warn(
                "broad-path",
                format!("allow {:?} allows every path of every service in a namespace", r.id),
                span,
                "name the services (`to service …`) or the paths (`path \"/api/**\"`, or a role) it is meant for".to_string(),
            );
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deny rules an absent attribute bypasses.

/// The attribute an operand of a disjunction guards: `not has A` is true when `A` is absent, so
/// the disjunction holds there whatever its other operands test about `A` (under an odd number
/// of `not`s, `has A` in a conjunction does the same).
fn absence_guard(c: &Cond, negated: bool) -> Option<&Attr> {
    match (c, negated) {
        (Cond::Not(inner), false) => match &**inner {
            Cond::Has(a) => Some(a),
            _ => None,
        },
        (Cond::Has(a), true) => Some(a),
        _ => None,
    }
}

/// Attributes whose absence makes a test of the rule unknown or false through a negation.
fn negated_attrs(r: &Rule) -> Vec<(Attr, Span)> {
    fn in_cond(c: &Cond, negated: bool, out: &mut Vec<(Attr, Option<Span>)>) {
        match c {
            Cond::Not(inner) => in_cond(inner, !negated, out),
            // `not has A or …` (in `when`), or `has A and …` (in `unless`), holds for the rule
            // whenever A is absent: negations of A beside it are guarded, not bypassed.
            Cond::Or(items) | Cond::And(items) => {
                // Read through `not`, an `and` is an `or`.
                let guarded: Vec<&Attr> = if matches!(c, Cond::Or(_)) != negated {
                    items
                        .iter()
                        .filter_map(|i| absence_guard(i, negated))
                        .collect()
                } else {
                    Vec::new()
                };
                let mut inner = Vec::new();
                items.iter().for_each(|i| in_cond(i, negated, &mut inner));
                out.extend(inner.into_iter().filter(|(a, _)| !guarded.contains(&a)));
            }
            Cond::Test(t) if negated != t.negated => out.push((t.attr.clone(), Some(t.span))),
            _ => {}
        }
    }
    let mut found: Vec<(Attr, Option<Span>)> = Vec::new();
    for c in r.from.iter().chain(&r.to) {
        for t in &c.tests {
            if t.negated {
                found.push((t.attr.clone(), Some(t.span)));
            }
        }
    }
    for c in &r.when {
        in_cond(&c.cond, false, &mut found);
    }
    // An `unless` must be false for the rule to match: a plain test in it is unknown when
    // its attribute is absent, so the deny does not apply.
    for c in &r.unless {
        in_cond(&c.cond, true, &mut found);
    }
    let mut out: Vec<(Attr, Span)> = Vec::new();
    for (a, s) in found {
        if !out.iter().any(|(b, _)| *b == a) {
            out.push((a, s.unwrap_or(r.id_span)));
        }
    }
    out
}

/// Whether some deny rule denies every request without `attr` (`deny … { unless has ATTR }`).
fn absence_denied(attr: &Attr, rules: &[&Rule]) -> bool {
    rules.iter().any(|r| {
        r.effect == Effect::Deny
            && !r.dry_run
            && r.select.is_empty()
            && r.from.is_empty()
            && r.to.is_empty()
            && r.when.is_empty()
            && r.unless
                .iter()
                .any(|c| matches!(&c.cond, Cond::Has(a) if a == attr))
    })
}

fn absent_bypass(l: &mut Linter<'_>, r: &Rule, rules: &[&Rule]) {
    for (attr, span) in negated_attrs(r) {
        if absence_denied(&attr, rules) || matches!(attr, Attr::Context(_)) {
            continue;
        }
        l.warn(
            "deny-absent-bypass",
            format!("deny {:?} does not apply to a request without `{attr}`", r.id),
            span,
            format!("a test on an absent attribute never holds, so this negation lets such a request through to the allow rules; also deny it: `deny \"no-{}\" {{ unless has {attr} }}`", short(&attr)),
        );
    }
}

fn short(attr: &Attr) -> String {
    let text = attr.to_string();
    let last = text.rsplit(['.', '[']).next().unwrap_or("attr");
    last.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .replace('_', "-")
}

fn unused_roles(l: &mut Linter<'_>) {
    let mut used: HashSet<&str> = HashSet::new();
    for r in l.set.rules() {
        for g in &r.grants {
            used.insert(&g.role);
        }
    }
    for role in l.set.roles().values() {
        for inc in &role.includes {
            used.insert(inc);
        }
    }
    let mut unused: Vec<(Span, String)> = l
        .set
        .roles()
        .values()
        .filter(|r| !used.contains(r.name.as_str()))
        .map(|r| (r.span, r.name.clone()))
        .collect();
    unused.sort_by_key(|(s, _)| (s.file, s.start));
    for (span, name) in unused {
        l.warn(
            "unused-role",
            format!("role `{name}` is never granted or included"),
            span,
            format!("grant it in an allow rule (`grant {name}`) or remove it"),
        );
    }
}

#[cfg(test)]
mod tests;
