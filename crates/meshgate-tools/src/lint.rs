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

// ---------------------------------------------------------------------------------------------
// Shadowed, subsumed and duplicate rules.

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
    let text = super::text(set, span);
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

fn redundancy(l: &mut Linter<'_>, rules: &[&Rule], never: &HashSet<&str>) {
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
mod tests {
    use super::*;

    fn codes(src: &str) -> Vec<(String, usize)> {
        let set = PolicySet::parse(src, "p.mgp").unwrap();
        lint(&set)
            .iter()
            .map(|d| (d.code().to_string(), d.start().line))
            .collect()
    }

    fn has(src: &str, code: &str) -> bool {
        codes(src).iter().any(|(c, _)| c == code)
    }

    #[test]
    fn never_matching_rules() {
        assert!(has(
            "allow \"a\" { from principal \"x\" when false }",
            "never-matches"
        ));
        assert!(has(
            "allow \"a\" { from principal \"x\" when request.method == \"GET\" when request.method == \"POST\" }",
            "never-matches"
        ));
        assert!(has(
            "allow \"a\" { from namespace \"a\", namespace \"b\" }",
            "never-matches"
        ));
        assert!(!has(
            "allow \"a\" { from namespace \"a\" from namespace \"b\" }",
            "never-matches"
        ));
        assert!(!has(
            "allow \"a\" { from principal \"x\" when request.method == \"GET\" or request.method == \"POST\" }",
            "never-matches"
        ));
    }

    #[test]
    fn empty_time_windows() {
        assert_eq!(
            codes(
                "allow \"a\" { from principal \"x\"\n when time.weekday in mon..fri\n when time.weekday in [sat, sun] }"
            ),
            [("empty-time-window".to_string(), 3)]
        );
        assert!(has(
            "allow \"a\" { from principal \"x\" when time.hour in 8..10 and time.hour in 12..14 }",
            "empty-time-window"
        ));
        assert!(has(
            "allow \"a\" { from principal \"x\" when time >= 2027-01-01T00:00:00Z when time < 2026-01-01T00:00:00Z }",
            "empty-time-window"
        ));
        assert!(!has(
            "allow \"a\" { from principal \"x\" when time.hour in 22..6 and time.hour in 5..9 }",
            "empty-time-window"
        ));
    }

    #[test]
    fn over_permissive_allows() {
        assert!(has("allow \"a\" { to service \"x\" }", "no-subject"));
        assert!(has(
            "allow \"a\" { from principal \"p\" to namespace \"prod\" }",
            "broad-path"
        ));
        assert!(has(
            "allow \"a\" { from principal \"p\" to namespace \"prod\", path \"/**\" }",
            "broad-path"
        ));
        assert!(has(
            "role all { permit * on \"/**\" }\nallow \"a\" { from principal \"p\" to namespace \"prod\" grant all }",
            "broad-path"
        ));
        assert!(!has(
            "allow \"a\" { from principal \"p\" to namespace \"prod\", path \"/api/**\" }",
            "broad-path"
        ));
        assert!(!has(
            "allow \"a\" { from principal \"p\" to namespace \"prod\", service \"s\" }",
            "broad-path"
        ));
    }

    #[test]
    fn redundant_rules() {
        assert!(has(
            "deny \"d\" { from namespace \"legacy\" }\nallow \"a\" { from namespace \"legacy\", principal \"p\" to service \"s\" }",
            "shadowed-by-deny"
        ));
        assert!(has(
            "deny \"d\" {}\nallow \"a\" { from principal \"p\" }",
            "shadowed-by-deny"
        ));
        assert!(!has(
            "deny \"d\" { from namespace \"legacy\" when has source.ip }\nallow \"a\" { from namespace \"legacy\" }",
            "shadowed-by-deny"
        ));
        assert!(has(
            "allow \"wide\" { from namespace \"shop\" }\nallow \"narrow\" { from namespace \"shop\" to path \"/a\" }",
            "subsumed-allow"
        ));
        assert!(has(
            "allow \"wide\" { from principal \"spiffe://td/ns/shop/sa/*\" }\nallow \"narrow\" { from principal \"spiffe://td/ns/shop/sa/web\" }",
            "subsumed-allow"
        ));
        assert!(!has(
            "allow \"a\" { from namespace \"shop\" when has source.ip }\nallow \"b\" { from namespace \"shop\" to path \"/a\" }",
            "subsumed-allow"
        ));
        let c = codes(
            "allow \"a\" { from namespace \"shop\" }\nallow \"b\" {\n  from namespace \"shop\"  # same\n}",
        );
        assert_eq!(c, [("duplicate-rule".to_string(), 2)]);
    }

    #[test]
    fn unused_roles_and_absent_bypass() {
        assert_eq!(
            codes(
                "role r { permit GET on \"/**\" }\nrole s { include r }\nallow \"a\" { from principal \"p\" to service \"x\" grant r }"
            ),
            [("unused-role".to_string(), 2)]
        );
        assert!(has(
            "deny \"d\" { from not namespace \"prod\" }",
            "deny-absent-bypass"
        ));
        assert!(has(
            "deny \"d\" { when source.namespace != \"prod\" }",
            "deny-absent-bypass"
        ));
        assert!(has(
            "deny \"d\" { unless source.namespace == \"prod\" }",
            "deny-absent-bypass"
        ));
        assert!(!has(
            "deny \"d\" { unless has source.principal }",
            "deny-absent-bypass"
        ));
        // Guarded negations apply to requests without the attribute too.
        assert!(!has(
            "deny \"d\" { when not has source.namespace or not source.namespace == \"prod\" }",
            "deny-absent-bypass"
        ));
        assert!(!has(
            "deny \"d\" { when request.method == \"GET\" and (not has source.namespace or (source.ip in 10.0.0.0/8 and not source.namespace == \"prod\")) }",
            "deny-absent-bypass"
        ));
        assert!(!has(
            "deny \"d\" { unless has source.namespace and source.namespace == \"prod\" }",
            "deny-absent-bypass"
        ));
        // A guard of another attribute guards nothing here.
        assert!(has(
            "deny \"d\" { when not has source.principal or not source.namespace == \"prod\" }",
            "deny-absent-bypass"
        ));
        assert!(has(
            "deny \"d\" { when not (not has source.namespace or source.namespace == \"prod\") }",
            "deny-absent-bypass"
        ));
        assert!(!has(
            "deny \"d\" { from not namespace \"prod\" }\ndeny \"n\" { unless has source.namespace }",
            "deny-absent-bypass"
        ));
        assert!(!has(
            "deny \"d\" { from namespace \"legacy\" }",
            "deny-absent-bypass"
        ));
    }

    #[test]
    fn selections_and_defaults_are_read_as_scope() {
        let src = "default allow \"mesh\" { }\n\
            allow \"nothing\" { select namespace \"foo\"  when false }\n\
            allow \"a\" { select namespace \"foo\" from namespace \"x\" }\n\
            allow \"b\" { select namespace \"bar\" from namespace \"x\" }\n\
            deny \"d\" { select namespace \"baz\" }\n\
            allow \"c\" { select label app = \"web\"  to namespace \"prod\" }\n\
            allow \"e\" { select namespace \"qux\" }\n";
        // `nothing` claims foo (no never-matches); `a` and `b` select different workloads
        // (neither duplicate nor subsumed), `d` shadows neither; `c` is scoped to labelled
        // workloads (no broad-path) but, like `e`, has no `from`, as before.
        assert_eq!(
            codes(src),
            [("no-subject".to_string(), 6), ("no-subject".to_string(), 7)]
        );
        // Without a default, `when false` is still a rule that never matches.
        assert!(has(
            "allow \"nothing\" { select namespace \"foo\"  when false }",
            "never-matches"
        ));
        // Selections that imply each other still make a duplicate, a subsumed allow and a
        // shadowing deny.
        assert!(has(
            "allow \"a\" { select namespace \"foo\" from namespace \"x\" }\nallow \"b\" { select namespace \"foo\" from namespace [\"x\", \"y\"] }",
            "subsumed-allow"
        ));
        assert!(has(
            "allow \"a\" { select namespace \"foo\" from namespace \"x\" }\ndeny \"d\" { select namespace \"foo\" }",
            "shadowed-by-deny"
        ));
    }
}
