//! Coverage of policies by tests: for every rule, whether tests made it match and not match,
//! and for each of its parts (each `select`, `from` and `to` clause, each granted role, each `when` and
//! `unless`, and each operand of a top-level `or` in a `when` or `unless`) whether tests made
//! it hold and fail.
//!
//! A part counts only for the requests the evaluator actually brings to it: `from` clauses
//! once some `select` clause held (or there is none), `to` clauses once some `from` clause held, grants once some `to` clause held, each `when` and `unless` once
//! everything before it held, and the operands of its `or` from the first up to the first that
//! is true or erred (the evaluator stops there). Each rule and each part has two outcomes (held / failed; for a
//! rule, matched / not matched); the percentage is the share of outcomes that some test
//! produced.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::trace::{self, RuleTrace};
use super::{location, text};
use meshgate::PolicySet;
use meshgate::eval::Env;
use meshgate::model::Effect;
use meshgate::request::Request;

/// The kinds of rule part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    /// A `select` clause.
    Select,
    /// A `from` clause.
    From,
    /// A `to` clause.
    To,
    /// A granted role.
    Grant,
    /// A `when` condition.
    When,
    /// An `unless` condition.
    Unless,
    /// An operand of the top-level `or` of a `when` or `unless` (which one: [`PartCoverage::of`]).
    Or,
}

/// The `when` or `unless` an [`PartKind::Or`] operand belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PartOf {
    /// [`PartKind::When`] or [`PartKind::Unless`].
    pub kind: PartKind,
    /// Its index among the rule's parts of that kind.
    pub index: usize,
}

/// Coverage of one part of a rule.
#[derive(Clone, Debug, Serialize)]
pub struct PartCoverage {
    /// Which kind of part.
    pub kind: PartKind,
    /// Its index among the rule's parts of that kind (for an `or` operand: among the operands
    /// of its `or`).
    pub index: usize,
    /// For an `or` operand, the condition it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<PartOf>,
    /// The part as written (`from principal "…"`, `grant reader`, `when …`; an `or` operand
    /// without the `or`).
    pub text: String,
    /// 1-based line where it is written.
    pub line: usize,
    /// Tests that reached it and in which it held (an `or` operand of a `when`: true; of an
    /// `unless`: false, as if it were an `unless` of its own).
    pub held: u64,
    /// Tests that reached it and in which it failed (for a condition: unknown and errors too).
    pub failed: u64,
}

/// Coverage of one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCoverage {
    /// Rule id.
    pub rule: String,
    /// Its effect.
    pub effect: Effect,
    /// Whether it is a dry-run rule.
    pub dry_run: bool,
    /// 1-based line of its declaration.
    pub line: usize,
    /// Tests it matched.
    pub matched: u64,
    /// Tests it did not match.
    pub not_matched: u64,
    /// Its parts, in the order `select`, `from`, `to`, grants, `when`, `unless`; the operands of a
    /// condition's `or` right after the condition.
    pub parts: Vec<PartCoverage>,
}

/// Coverage of one policy file.
#[derive(Clone, Debug, Serialize)]
pub struct FileCoverage {
    /// The file's name.
    pub file: String,
    /// Outcomes produced by some test.
    pub covered: usize,
    /// All outcomes (two per rule and per part).
    pub total: usize,
    /// `covered / total` in percent (100 for a file without rules).
    pub percent: f64,
    /// Rules in file order.
    pub rules: Vec<RuleCoverage>,
    /// Ids of the rules no test matched.
    pub never_matched: Vec<String>,
}

/// Coverage of every file the tests ran against.
#[derive(Clone, Debug, Serialize)]
pub struct CoverageReport {
    /// Outcomes produced by some test, over all files.
    pub covered: usize,
    /// All outcomes.
    pub total: usize,
    /// `covered / total` in percent.
    pub percent: f64,
    /// Per file, sorted by name.
    pub files: Vec<FileCoverage>,
}

/// Collects coverage over any number of policy sets and requests. Rules are told apart by
/// file name and id, so a file tested through several sets adds up.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    files: BTreeMap<String, Vec<RuleCoverage>>,
}

fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        (covered as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

fn outcomes(held: u64, failed: u64) -> usize {
    [held, failed].into_iter().filter(|n| *n > 0).count()
}

impl Coverage {
    /// An empty collection.
    pub fn new() -> Self {
        Coverage::default()
    }

    /// Registers the rules of `set` (so rules no request reaches are reported too).
    pub fn add_set(&mut self, set: &PolicySet) {
        for rule in set.rules() {
            let file = location(set, rule.span).file;
            let rules = self.files.entry(file).or_default();
            if rules.iter().any(|r| r.rule == rule.id) {
                continue;
            }
            let mut parts = Vec::new();
            let mut part = |kind, index, of, text: String, span| {
                parts.push(PartCoverage {
                    kind,
                    index,
                    of,
                    text,
                    line: location(set, span).line,
                    held: 0,
                    failed: 0,
                });
            };
            for (i, c) in rule.select.iter().enumerate() {
                part(
                    PartKind::Select,
                    i,
                    None,
                    one_line(text(set, c.span)),
                    c.span,
                );
            }
            for (i, c) in rule.from.iter().enumerate() {
                part(PartKind::From, i, None, one_line(text(set, c.span)), c.span);
            }
            for (i, c) in rule.to.iter().enumerate() {
                part(PartKind::To, i, None, one_line(text(set, c.span)), c.span);
            }
            for (i, g) in rule.grants.iter().enumerate() {
                part(
                    PartKind::Grant,
                    i,
                    None,
                    format!("grant {}", g.role),
                    g.span,
                );
            }
            let conditions = [
                (PartKind::When, "when", &rule.when),
                (PartKind::Unless, "unless", &rule.unless),
            ];
            for (kind, word, conds) in conditions {
                for (i, c) in conds.iter().enumerate() {
                    let written = format!("{word} {}", one_line(text(set, c.span)));
                    part(kind, i, None, written, c.span);
                    // One span per operand of the model's `or` (validation keeps them).
                    for (j, &span) in c.operands.iter().enumerate() {
                        let of = Some(PartOf { kind, index: i });
                        part(PartKind::Or, j, of, one_line(text(set, span)), span);
                    }
                }
            }
            rules.push(RuleCoverage {
                rule: rule.id.clone(),
                effect: rule.effect,
                dry_run: rule.dry_run,
                line: location(set, rule.span).line,
                matched: 0,
                not_matched: 0,
                parts,
            });
        }
    }

    /// Records what every rule of `set` does with `request`.
    pub fn record(&mut self, set: &PolicySet, request: &Request<'_>) {
        let env = Env::new(request);
        for rule in set.rules() {
            let file = location(set, rule.span).file;
            if !self
                .files
                .get(&file)
                .is_some_and(|rs| rs.iter().any(|r| r.rule == rule.id))
            {
                self.add_set(set);
            }
            let Some(entry) = self
                .files
                .get_mut(&file)
                .and_then(|rs| rs.iter_mut().find(|r| r.rule == rule.id))
            else {
                continue;
            };
            let t = trace::trace(rule, &env);
            apply(entry, &t);
        }
    }

    /// The report.
    pub fn report(&self) -> CoverageReport {
        let mut files = Vec::new();
        let (mut all_covered, mut all_total) = (0usize, 0usize);
        for (name, rules) in &self.files {
            let (mut covered, mut total) = (0usize, 0usize);
            for r in rules {
                covered = covered.saturating_add(outcomes(r.matched, r.not_matched));
                total = total.saturating_add(2);
                for p in &r.parts {
                    covered = covered.saturating_add(outcomes(p.held, p.failed));
                    total = total.saturating_add(2);
                }
            }
            all_covered = all_covered.saturating_add(covered);
            all_total = all_total.saturating_add(total);
            let never_matched = rules
                .iter()
                .filter(|r| r.matched == 0)
                .map(|r| r.rule.clone())
                .collect();
            files.push(FileCoverage {
                file: name.clone(),
                covered,
                total,
                percent: percent(covered, total),
                rules: rules.clone(),
                never_matched,
            });
        }
        CoverageReport {
            covered: all_covered,
            total: all_total,
            percent: percent(all_covered, all_total),
            files,
        }
    }
}

fn apply(entry: &mut RuleCoverage, t: &RuleTrace) {
    if t.matched() && t.errors.is_empty() {
        entry.matched = entry.matched.saturating_add(1);
    } else {
        entry.not_matched = entry.not_matched.saturating_add(1);
    }
    let reached = t.reached();
    let (to_reached, grants_reached) = (reached.to, reached.grants);
    let (when_reached, unless_reached) = (reached.when, reached.unless);
    // The n-th `select` (`from`, `to`, grant) part is the trace's n-th `select` clause (…).
    let (mut select, mut from) = (t.select.iter(), t.from.iter());
    let (mut to, mut grants) = (t.to.iter(), t.grants.iter());
    for p in &mut entry.parts {
        let outcome = match p.kind {
            PartKind::Select => select.next().map(|(o, _)| *o),
            PartKind::From => from.next().filter(|_| reached.from).map(|(o, _)| *o),
            PartKind::To => to.next().filter(|_| to_reached).map(|(o, _)| *o),
            PartKind::Grant => grants.next().filter(|_| grants_reached).copied(),
            PartKind::When => t
                .when
                .get(p.index)
                .filter(|_| p.index < when_reached)
                .copied(),
            PartKind::Unless => t
                .unless
                .get(p.index)
                .filter(|_| p.index < unless_reached)
                .copied(),
            // An operand is reached when its condition is and the `or` got as far as it.
            PartKind::Or => match p.of {
                Some(PartOf {
                    kind: PartKind::When,
                    index,
                }) if index < when_reached => t.when_or.get(index),
                Some(PartOf {
                    kind: PartKind::Unless,
                    index,
                }) if index < unless_reached => t.unless_or.get(index),
                _ => None,
            }
            .and_then(|operands| operands.get(p.index))
            .copied(),
        };
        match outcome {
            Some(o) if o.held() => p.held = p.held.saturating_add(1),
            Some(_) => p.failed = p.failed.saturating_add(1),
            None => {}
        }
    }
}

/// Text collapsed onto one line (runs of white space become one space).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl CoverageReport {
    /// The report for people: per file, per rule, per part.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(
                out,
                "coverage of {}: {:.1}% ({}/{} outcomes)",
                f.file, f.percent, f.covered, f.total
            );
            for r in &f.rules {
                let dry = if r.dry_run { "dry_run " } else { "" };
                let _ = writeln!(
                    out,
                    "  {dry}{} {:?} (line {}): matched {}, not matched {}{}",
                    r.effect.as_str(),
                    r.rule,
                    r.line,
                    r.matched,
                    r.not_matched,
                    gap(r.matched, r.not_matched, "never matched", "always matched")
                );
                for p in &r.parts {
                    // An `or` operand goes under its condition: `or OPERAND`, indented.
                    let (indent, word) = match p.kind {
                        PartKind::Or => ("      ", "or "),
                        _ => ("    ", ""),
                    };
                    if p.held == 0 && p.failed == 0 {
                        let _ = writeln!(
                            out,
                            "{indent}{word}{} (line {}): never reached  <- not covered",
                            shorten(&p.text, 70),
                            p.line
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "{indent}{word}{} (line {}): held {}, failed {}{}",
                            shorten(&p.text, 70),
                            p.line,
                            p.held,
                            p.failed,
                            gap(p.held, p.failed, "never held", "never failed")
                        );
                    }
                }
            }
            if !f.never_matched.is_empty() {
                let ids: Vec<String> = f.never_matched.iter().map(|s| format!("{s:?}")).collect();
                let _ = writeln!(out, "  rules no test matched: {}", ids.join(", "));
            }
        }
        let _ = writeln!(
            out,
            "coverage: {:.1}% ({}/{} outcomes)",
            self.percent, self.covered, self.total
        );
        out
    }

    /// The report in lcov's tracefile format: each rule is a function (hit when matched), each
    /// part a line, and each part's held/failed outcomes a pair of branches.
    pub fn to_lcov(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(out, "TN:\nSF:{}", f.file);
            for r in &f.rules {
                let _ = writeln!(out, "FN:{},{}", r.line, r.rule);
            }
            for r in &f.rules {
                let _ = writeln!(out, "FNDA:{},{}", r.matched, r.rule);
            }
            let _ = writeln!(
                out,
                "FNF:{}\nFNH:{}",
                f.rules.len(),
                f.rules.iter().filter(|r| r.matched > 0).count()
            );
            let (mut brf, mut brh) = (0usize, 0usize);
            for (ri, r) in f.rules.iter().enumerate() {
                // Two branches per part (held, failed), numbered in that order within a rule.
                let branches = r.parts.iter().flat_map(|p| {
                    let reached = p.held > 0 || p.failed > 0;
                    [(p, reached, p.held), (p, reached, p.failed)]
                });
                for (bi, (p, reached, n)) in branches.enumerate() {
                    let taken = if reached {
                        n.to_string()
                    } else {
                        "-".to_string()
                    };
                    let _ = writeln!(out, "BRDA:{},{},{},{taken}", p.line, ri, bi);
                    brf = brf.saturating_add(1);
                    brh = brh.saturating_add(usize::from(n > 0));
                }
            }
            let _ = writeln!(out, "BRF:{brf}\nBRH:{brh}");
            let mut lines: BTreeMap<usize, u64> = BTreeMap::new();
            for r in &f.rules {
                let e = lines.entry(r.line).or_default();
                *e = e.saturating_add(r.matched.saturating_add(r.not_matched));
                for p in &r.parts {
                    let e = lines.entry(p.line).or_default();
                    *e = (*e).max(p.held.saturating_add(p.failed));
                }
            }
            for (line, hits) in &lines {
                let _ = writeln!(out, "DA:{line},{hits}");
            }
            let _ = writeln!(
                out,
                "LF:{}\nLH:{}\nend_of_record",
                lines.len(),
                lines.values().filter(|h| **h > 0).count()
            );
        }
        out
    }
}

fn gap(a: u64, b: u64, none_a: &str, none_b: &str) -> String {
    match (a, b) {
        (0, _) => format!("  <- {none_a}"),
        (_, 0) => format!("  <- {none_b}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parts_only_where_the_evaluator_reaches_them() {
        let set = PolicySet::parse(
            "role r { permit GET on \"/a/**\" }\n\
             allow \"a\" {\n  from namespace \"x\"\n  from namespace \"y\"\n  grant r\n  when request.headers[\"k\"] == \"v\"\n}\n\
             deny \"d\" { to path \"/never\" }\n",
            "p.mgp",
        )
        .unwrap();
        let mut cov = Coverage::new();
        cov.add_set(&set);
        let req = |json: &str| Request::from_json(json).unwrap();
        cov.record(&set, &req(r#"{"source": {"namespace": "x"}, "request": {"method": "GET", "path": "/a/b", "headers": {"k": "v"}}}"#));
        cov.record(
            &set,
            &req(r#"{"source": {"namespace": "z"}, "request": {"method": "GET", "path": "/a/b"}}"#),
        );
        let report = cov.report();
        let f = &report.files[0];
        let a = &f.rules[0];
        assert_eq!((a.matched, a.not_matched), (1, 1));
        let counts: Vec<_> = a.parts.iter().map(|p| (p.kind, p.held, p.failed)).collect();
        assert_eq!(
            counts,
            [
                (PartKind::From, 1, 1),
                (PartKind::From, 0, 2),
                (PartKind::Grant, 1, 0),
                (PartKind::When, 1, 0)
            ]
        );
        assert_eq!(a.parts[3].text, "when request.headers[\"k\"] == \"v\"");
        assert_eq!(a.parts[3].line, 6);
        assert_eq!(f.never_matched, ["d"]);
        // rule a: 2 + from x: 2 + from y: 1 + grant: 1 + when: 1; rule d: 1 + to: 1 → 9 of 14.
        assert_eq!((f.covered, f.total), (9, 14));
        assert!(report.to_text().contains("never held"));
        assert!(report.to_lcov().contains("FNDA:1,a\nFNDA:0,d\n"));
    }

    #[test]
    fn counts_or_operands_up_to_the_first_true_or_erring_one() {
        let set = PolicySet::parse(
            "allow \"a\" {\n  from namespace \"x\"\n  when source.service_account == \"s\" or (context.n < 5\n    and has source.ip) or context.k == \"v\"\n  unless request.method == \"DELETE\" or request.path == \"/admin\"\n}\n",
            "p.mgp",
        )
        .unwrap();
        let mut cov = Coverage::new();
        cov.add_set(&set);
        let req = |json: &str| Request::from_json(json).unwrap();
        // Not reached: the `from` fails, so neither condition nor any operand counts.
        cov.record(&set, &req(r#"{"source": {"namespace": "y"}}"#));
        // The first operand is true: the others are not reached; the `unless` is, and both of
        // its operands are false (each held, as an `unless` of its own).
        cov.record(
            &set,
            &req(r#"{"source": {"namespace": "x", "service_account": "s"}, "request": {"method": "GET", "path": "/"}}"#),
        );
        // The first is unknown (absent), the second false, the third true: all reached. The
        // `unless`'s first operand is true, so its second is not reached.
        cov.record(
            &set,
            &req(r#"{"source": {"namespace": "x"}, "context": {"n": 9, "k": "v"}, "request": {"method": "DELETE", "path": "/admin"}}"#),
        );
        // The second is an error (a string compared with `<`): the evaluator stops there.
        cov.record(
            &set,
            &req(r#"{"source": {"namespace": "x", "service_account": "t"}, "context": {"n": "many", "k": "v"}}"#),
        );
        let report = cov.report();
        let a = &report.files[0].rules[0];
        let counts: Vec<_> = a
            .parts
            .iter()
            .map(|p| {
                (
                    p.kind,
                    p.index,
                    p.of.map(|o| (o.kind, o.index)),
                    p.held,
                    p.failed,
                )
            })
            .collect();
        let when = Some((PartKind::When, 0));
        let unless = Some((PartKind::Unless, 0));
        assert_eq!(
            counts,
            [
                (PartKind::From, 0, None, 3, 1),
                (PartKind::When, 0, None, 2, 1),
                (PartKind::Or, 0, when, 1, 2),
                (PartKind::Or, 1, when, 0, 2),
                (PartKind::Or, 2, when, 1, 0),
                (PartKind::Unless, 0, None, 1, 1),
                (PartKind::Or, 0, unless, 1, 1),
                (PartKind::Or, 1, unless, 1, 0),
            ]
        );
        let texts: Vec<&str> = a.parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts[2..5],
            [
                "source.service_account == \"s\"",
                "(context.n < 5 and has source.ip)",
                "context.k == \"v\""
            ]
        );
        assert_eq!(
            a.parts.iter().map(|p| p.line).collect::<Vec<_>>(),
            [2, 3, 3, 3, 4, 5, 5, 5]
        );
        let text = report.to_text();
        assert!(
            text.contains(
                "      or context.k == \"v\" (line 4): held 1, failed 0  <- never failed\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        let part = &json["files"][0]["rules"][0]["parts"][6];
        assert_eq!(part["kind"], "or");
        assert_eq!(
            part["of"],
            serde_json::json!({"kind": "unless", "index": 0})
        );
        assert!(json["files"][0]["rules"][0]["parts"][0].get("of").is_none());
        // Two branches per part: the `unless`'s second operand is parts[7], branches 14 and 15.
        let lcov = report.to_lcov();
        assert!(lcov.contains("BRDA:5,0,14,1\nBRDA:5,0,15,0\n"), "{lcov}");
        // rule: 2 + from: 2 + when: 2 + operands 2, 1, 1 + unless: 2 + operands 2, 1.
        assert_eq!((report.covered, report.total), (15, 18));
    }

    #[test]
    fn lists_no_operands_for_a_condition_that_is_not_an_or() {
        let set = PolicySet::parse(
            "allow \"a\" { when not (has source.ip or has source.principal) and true }\n",
            "p.mgp",
        )
        .unwrap();
        let mut cov = Coverage::new();
        cov.add_set(&set);
        let kinds: Vec<_> = cov.report().files[0].rules[0]
            .parts
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(kinds, [PartKind::When]);
    }

    #[test]
    fn select_clauses_are_parts_before_from() {
        let set = PolicySet::parse(
            "allow \"a\" {\n  select namespace \"foo\"\n  select label app = \"web\"\n  from namespace \"x\"\n}\n",
            "p.mgp",
        )
        .unwrap();
        let mut cov = Coverage::new();
        cov.add_set(&set);
        let req = |json: &str| Request::from_json(json).unwrap();
        // Selected by namespace; the `from` then fails.
        cov.record(
            &set,
            &req(r#"{"destination": {"namespace": "foo"}, "source": {"namespace": "y"}}"#),
        );
        // Not selected (another namespace, labels without `app`): the `from` is not reached.
        cov.record(&set, &req(r#"{"destination": {"namespace": "bar", "labels": {"tier": "1"}}, "source": {"namespace": "x"}}"#));
        // Selected by label.
        cov.record(
            &set,
            &req(r#"{"destination": {"labels": {"app": "web"}}, "source": {"namespace": "x"}}"#),
        );
        let report = cov.report();
        let a = &report.files[0].rules[0];
        let counts: Vec<_> = a
            .parts
            .iter()
            .map(|p| (p.kind, p.index, p.line, p.held, p.failed))
            .collect();
        assert_eq!(
            counts,
            [
                (PartKind::Select, 0, 2, 1, 2),
                (PartKind::Select, 1, 3, 1, 2),
                (PartKind::From, 0, 4, 1, 1),
            ]
        );
        assert_eq!((a.matched, a.not_matched), (1, 2));
        assert_eq!(a.parts[1].text, "select label app = \"web\"");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["files"][0]["rules"][0]["parts"][0]["kind"], "select");
    }
}
