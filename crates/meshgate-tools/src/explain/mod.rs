//! Explanations: why a request got its decision.
//!
//! For an allowed request, the allow rules that matched; for a request a deny rule refused, that
//! rule and the allow rules it overrode; for a request no rule allowed (the default deny), the
//! nearest allow rules, those with the fewest failing parts, with every condition that failed
//! and the request's values that made it fail:
//!
//! ```text
//! allow "frontend-reads-payments": principal matched; service matched;
//!   path "/api/admin/x" is not granted by role reader (/api/**: GET, HEAD; method was POST)
//! ```

use std::fmt::Write as _;

use serde::Serialize;

use super::coverage::PartKind;
use super::trace::{self, Outcome, RuleTrace};
use super::{Location, location, text};
use meshgate::PolicySet;
use meshgate::attr::Attr;
use meshgate::eval::combine::Group;
use meshgate::eval::{self, Env, PartCheck, PermissionPart, Truth};
use meshgate::model::{Clause, Cond, Effect, Permission, Rule};
use meshgate::request::Request;

/// How many near-miss allow rules an explanation of a default deny lists.
pub const NEAREST: usize = 3;

/// Why a request got its decision.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// One line: what decided.
    pub summary: String,
    /// The decision, in its JSON shape.
    pub decision: super::DecisionRecord,
    /// The rules that decided: the deny that matched, or the allows that matched.
    pub deciding: Vec<RuleExplanation>,
    /// Allow rules that matched but were overridden by a deny rule or an evaluation error.
    pub overridden: Vec<RuleExplanation>,
    /// When no allow rule matched: the allow rules with the fewest failing parts.
    pub nearest: Vec<RuleExplanation>,
    /// Audit and dry-run rules that matched.
    pub noted: Vec<RuleExplanation>,
    /// The `default allow` that allowed the request, or, for a default deny, the first that
    /// selects its workload but could not open it (allow rules claim the workload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_allow: Option<DefaultExplanation>,
    /// For a default deny in a set with `default allow` items: the allow rules that claim the
    /// request's workload, so that no default opens it (spec §4.4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claimed_by: Vec<ClaimExplanation>,
}

/// A `default allow` item in an explanation.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultExplanation {
    /// Its id.
    pub id: String,
    /// Where it is declared.
    pub location: Location,
    /// Whether it allowed the request (false: it selects the workload, which is claimed).
    pub applied: bool,
}

/// An allow rule that claims the request's workload.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimExplanation {
    /// Rule id.
    pub rule: String,
    /// Where it is declared.
    pub location: Location,
    /// `held` when its selection holds, `unknown` when the request does not say enough (an
    /// unknown selection claims too).
    pub selection: Outcome,
    /// Why, with the request's values.
    pub detail: String,
}

/// How one rule fared.
#[derive(Clone, Debug, Serialize)]
pub struct RuleExplanation {
    /// Rule id.
    pub rule: String,
    /// Its effect.
    pub effect: Effect,
    /// Whether it is a dry-run rule.
    pub dry_run: bool,
    /// Where it is declared.
    pub location: Location,
    /// Whether it matched.
    pub matched: bool,
    /// How many of its parts failed (`from`, `to` and the grants count once each).
    pub failed_parts: usize,
    /// One check per clause, granted role and condition.
    pub checks: Vec<Check>,
    /// Evaluation errors.
    pub errors: Vec<String>,
    /// The checks in one line: what held and exactly what failed.
    pub summary: String,
}

/// One clause, granted role or condition of a rule, and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Which kind of part.
    pub kind: PartKind,
    /// The part as written.
    pub text: String,
    /// Held, failed, unknown or error.
    pub outcome: Outcome,
    /// What held or exactly what failed, with the request's values.
    pub detail: String,
}

/// Explains the decision `set` gives `request`.
pub fn explain(set: &PolicySet, request: &Request<'_>) -> Explanation {
    let decision = set.decide_reference(request);
    let env = Env::new(request);
    let explain_rule = |rule: &Rule| -> RuleExplanation {
        let t = trace::trace(rule, &env);
        rule_explanation(set, rule, &t, &env)
    };
    let find = |id: &str| set.rules().iter().find(|r| r.id == id);
    let mut deciding: Vec<RuleExplanation> = decision
        .reasons
        .iter()
        .filter_map(|id| find(id))
        .map(explain_rule)
        .collect();
    let denied_by = (!decision.allowed && !decision.reasons.is_empty())
        .then(|| decision.reasons.first().copied())
        .flatten();
    let mut overridden = Vec::new();
    let mut nearest = Vec::new();
    if !decision.allowed {
        let allows: Vec<RuleExplanation> = set
            .rules()
            .iter()
            .filter(|r| Group::of(r) == Group::Allow)
            .map(explain_rule)
            .collect();
        let (matched, mut missed): (Vec<_>, Vec<_>) = allows
            .into_iter()
            .partition(|r| r.matched && r.errors.is_empty());
        overridden = matched;
        if overridden.is_empty() && denied_by.is_none() {
            missed.sort_by_key(|r| r.failed_parts);
            nearest = missed.into_iter().take(NEAREST).collect();
        }
    }
    let noted: Vec<RuleExplanation> = decision
        .audits
        .iter()
        .copied()
        .chain(decision.dry_run.iter().map(|d| d.rule))
        .filter_map(&find)
        .map(explain_rule)
        .collect();
    // The defaults: which one allowed, or, for a default deny, which one the claims closed.
    let default_deny = decision.is_default_deny();
    let by_default = set
        .defaults()
        .iter()
        .find(|d| decision.allowed && decision.reasons.first() == Some(&d.id.as_str()));
    let selecting = set.defaults().iter().find(|d| eval::opens(d, &env));
    let default_allow =
        by_default
            .or(selecting.filter(|_| default_deny))
            .map(|d| DefaultExplanation {
                id: d.id.clone(),
                location: location(set, d.span),
                applied: by_default.is_some(),
            });
    let claimed_by: Vec<ClaimExplanation> = if default_deny && !set.defaults().is_empty() {
        set.rules()
            .iter()
            .filter(|r| r.claims())
            .filter_map(|r| claim_explanation(set, r, &env))
            .collect()
    } else {
        Vec::new()
    };
    let summary = if let Some(d) = by_default {
        format!(
            "allowed by default allow {:?}: no allow rule matched and none claims the workload",
            d.id
        )
    } else if decision.allowed {
        let ids: Vec<String> = decision
            .reasons
            .iter()
            .map(|r| format!("allow {r:?}"))
            .collect();
        format!("allowed by {}", ids.join(", "))
    } else if let Some(id) = denied_by {
        format!("denied by deny {id:?}")
    } else if !decision.errors.is_empty() {
        let ids: Vec<String> = decision
            .errors
            .iter()
            .map(|e| format!("{:?}", e.rule))
            .collect();
        format!("denied: rule {} could not be evaluated", ids.join(", "))
    } else if set.defaults().is_empty() {
        "denied: no allow rule matched (default deny)".to_string()
    } else if let Some(d) = &default_allow {
        let ids: Vec<String> = claimed_by
            .iter()
            .map(|c| format!("allow {:?}", c.rule))
            .collect();
        format!(
            "denied: no allow rule matched (default deny); default allow {:?} does not apply: the workload is claimed by {}",
            d.id,
            ids.join(", ")
        )
    } else {
        "denied: no allow rule matched (default deny); no default allow selects the workload"
            .to_string()
    };
    if !decision.errors.is_empty() && decision.reasons.is_empty() {
        deciding = decision
            .errors
            .iter()
            .filter_map(|e| find(e.rule))
            .map(explain_rule)
            .collect();
    }
    Explanation {
        allowed: decision.allowed,
        summary,
        decision: (&decision).into(),
        deciding,
        overridden,
        nearest,
        noted,
        default_allow,
        claimed_by,
    }
}

/// How `rule` claims the request's workload, if it does: its selection is true or unknown.
fn claim_explanation(set: &PolicySet, rule: &Rule, env: &Env<'_, '_>) -> Option<ClaimExplanation> {
    let selection = match eval::selection(rule, env) {
        Truth::False => return None,
        Truth::True => Outcome::Held,
        Truth::Unknown => Outcome::Unknown,
    };
    let detail = if rule.select.is_empty() {
        "no `select`: it claims every workload".to_string()
    } else {
        let t = trace::trace(rule, env);
        let checks: Vec<String> = rule
            .select
            .iter()
            .zip(&t.select)
            .filter(|(_, (o, _))| selection != Outcome::Held || o.held())
            .map(|(c, (o, truths))| {
                clause_check(set, PartKind::Select, c, *o, truths, env, rule).detail
            })
            .collect();
        let checks = checks.join("; ");
        if selection == Outcome::Held {
            format!("selects the workload: {checks}")
        } else {
            format!("may select the workload (unknown claims): {checks}")
        }
    };
    Some(ClaimExplanation {
        rule: rule.id.clone(),
        location: location(set, rule.span),
        selection,
        detail,
    })
}

fn rule_explanation(
    set: &PolicySet,
    rule: &Rule,
    t: &RuleTrace,
    env: &Env<'_, '_>,
) -> RuleExplanation {
    let mut checks = Vec::new();
    for (c, (outcome, truths)) in rule.select.iter().zip(&t.select) {
        checks.push(clause_check(
            set,
            PartKind::Select,
            c,
            *outcome,
            truths,
            env,
            rule,
        ));
    }
    for (c, (outcome, truths)) in rule.from.iter().zip(&t.from) {
        checks.push(clause_check(
            set,
            PartKind::From,
            c,
            *outcome,
            truths,
            env,
            rule,
        ));
    }
    for (c, (outcome, truths)) in rule.to.iter().zip(&t.to) {
        checks.push(clause_check(
            set,
            PartKind::To,
            c,
            *outcome,
            truths,
            env,
            rule,
        ));
    }
    for (g, outcome) in rule.grants.iter().zip(&t.grants) {
        let detail = if outcome.held() {
            format!("granted by role {}", g.role)
        } else {
            not_granted(&g.role, &g.permissions, env)
        };
        checks.push(Check {
            kind: PartKind::Grant,
            text: format!("grant {}", g.role),
            outcome: *outcome,
            detail,
        });
    }
    let conditions = [
        (PartKind::When, &rule.when, &t.when),
        (PartKind::Unless, &rule.unless, &t.unless),
    ];
    for (kind, conds, outcomes) in conditions {
        for (c, outcome) in conds.iter().zip(outcomes) {
            let written = one_line(text(set, c.span));
            checks.push(cond_check(kind, &written, &c.cond, *outcome, env, rule));
        }
    }
    let matched = t.matched() && t.errors.is_empty();
    let summary = summarize(&checks, t);
    RuleExplanation {
        rule: rule.id.clone(),
        effect: rule.effect,
        dry_run: rule.dry_run,
        location: location(set, rule.span),
        matched,
        failed_parts: t.failures(),
        checks,
        errors: t.errors.clone(),
        summary,
    }
}

/// The one-line account: held groups briefly, failed ones exactly.
fn summarize(checks: &[Check], t: &RuleTrace) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (kind, held) in [
        (PartKind::Select, t.select_held()),
        (PartKind::From, t.from_held()),
        (PartKind::To, t.to_held()),
        (PartKind::Grant, t.grants_held()),
    ] {
        let group: Vec<&Check> = checks.iter().filter(|c| c.kind == kind).collect();
        if group.is_empty() {
            continue;
        }
        if held {
            if let Some(c) = group.iter().find(|c| c.outcome.held()) {
                parts.push(c.detail.clone());
            }
        } else {
            let failed: Vec<String> = group.iter().map(|c| c.detail.clone()).collect();
            let joined = if failed.len() > 1 && kind != PartKind::Grant {
                let kw = match kind {
                    PartKind::Select => "select",
                    PartKind::From => "from",
                    _ => "to",
                };
                format!(
                    "no `{kw}` clause held: {}",
                    failed
                        .iter()
                        .map(|f| format!("({f})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                failed.join("; ")
            };
            parts.push(joined);
        }
    }
    for c in checks
        .iter()
        .filter(|c| matches!(c.kind, PartKind::When | PartKind::Unless))
    {
        parts.push(c.detail.clone());
    }
    if parts.is_empty() {
        return "matches every request".to_string();
    }
    parts.join("; ")
}

/// The parts of a matcher as written: its kind (`principal`, `label team`) and value text.
fn matcher_words(written: &str) -> (bool, String, String) {
    let written = written.trim();
    let (negated, s) = match written.strip_prefix("not") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
        _ => (false, written),
    };
    let (kind, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let rest = rest.trim();
    if kind == "label"
        && let Some((key, value)) = rest.split_once('=')
    {
        return (
            negated,
            format!("label {}", key.trim()),
            one_line(value.trim()),
        );
    }
    (negated, kind.to_string(), one_line(rest))
}

fn clause_check(
    set: &PolicySet,
    kind: PartKind,
    c: &Clause,
    outcome: Outcome,
    truths: &[Truth],
    env: &Env<'_, '_>,
    rule: &Rule,
) -> Check {
    let mut held = Vec::new();
    let mut failed = Vec::new();
    for (test, truth) in c.tests.iter().zip(truths) {
        let (negated, mut what, value) = matcher_words(text(set, test.span));
        if matches!(kind, PartKind::To | PartKind::Select)
            && (what == "namespace" || what == "ip" || what.starts_with("label "))
        {
            what = format!("destination {what}");
        }
        let not = if negated { "not " } else { "" };
        if truth.is_true() {
            held.push(format!("{not}{what} matched"));
            continue;
        }
        failed.push(match trace::value_of(&test.attr, env, rule) {
            None => format!("{what} is absent"),
            Some(v) if negated => format!("{what} was {v}, which `not {what} {value}` excludes"),
            Some(v) => format!("{what} was {v}, not {value}"),
        });
    }
    let detail = if failed.is_empty() {
        held.join(", ")
    } else {
        failed.join(", ")
    };
    Check {
        kind,
        text: one_line(text(set, c.span)),
        outcome,
        detail,
    }
}

fn permission_text(p: &Permission) -> String {
    let paths: Vec<&str> = p.paths.0.iter().map(|x| x.as_str()).collect();
    let methods = p
        .methods
        .as_ref()
        .map_or_else(|| "*".to_string(), |m| m.join(", "));
    let mut s = format!("{}: {methods}", paths.join(", "));
    if let Some(h) = &p.hosts {
        let hosts: Vec<&str> = h.0.iter().map(|x| x.as_str()).collect();
        let _ = write!(s, " host {}", hosts.join(", "));
    }
    if let Some(ports) = &p.ports {
        let ports: Vec<String> = ports
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}..{b}")
                }
            })
            .collect();
        let _ = write!(s, " port {}", ports.join(", "));
    }
    s
}

/// Why a permission does not hold: the parts that fail ([`eval::PermissionPart`]), with the
/// request's values.
fn permission_misses(p: &Permission, env: &Env<'_, '_>) -> Vec<String> {
    let req = env.request();
    let mut out = Vec::new();
    for part in PermissionPart::ALL {
        let check = part.check(p, env);
        let name = match part {
            PermissionPart::Method => "method",
            PermissionPart::Path => "path",
            PermissionPart::Host => "host",
            PermissionPart::Port => "port",
        };
        match (check, part) {
            (PartCheck::Held, _) => {}
            (PartCheck::Absent, _) => out.push(format!("{name} absent")),
            (PartCheck::Missed, PermissionPart::Method) => out.push(format!(
                "method was {}",
                req.request.method.as_deref().unwrap_or_default()
            )),
            (PartCheck::Missed, PermissionPart::Path) => out.push("path not covered".to_string()),
            (PartCheck::Missed, PermissionPart::Host) => {
                out.push(format!("host was {:?}", req.host().unwrap_or_default()));
            }
            (PartCheck::Missed, PermissionPart::Port) => out.push(format!(
                "port was {}",
                req.destination.port.unwrap_or_default()
            )),
        }
    }
    out
}

fn not_granted(role: &str, perms: &[Permission], env: &Env<'_, '_>) -> String {
    let req = env.request();
    let what = match req.path() {
        Some(p) => format!("path {p:?}"),
        None => "a request without a path".to_string(),
    };
    let listed: Vec<String> = perms.iter().map(permission_text).collect();
    let nearest = perms
        .iter()
        .map(|p| permission_misses(p, env))
        .min_by_key(Vec::len)
        .unwrap_or_default();
    let why: Vec<String> = nearest
        .into_iter()
        .filter(|m| m != "path not covered")
        .collect();
    let why = if why.is_empty() {
        String::new()
    } else {
        format!("; {}", why.join(", "))
    };
    format!(
        "{what} is not granted by role {role} ({}{why})",
        listed.join("; ")
    )
}

fn cond_check(
    kind: PartKind,
    written: &str,
    c: &Cond,
    outcome: Outcome,
    env: &Env<'_, '_>,
    rule: &Rule,
) -> Check {
    let kw = if kind == PartKind::When {
        "when"
    } else {
        "unless"
    };
    let mut attrs = Vec::new();
    collect_attrs(c, &mut attrs);
    let zoned =
        rule.zone.name != "UTC" && env.request().time.is_some() && attrs.iter().any(Attr::is_zoned);
    let values: Vec<String> = attrs
        .iter()
        .map(|a| match trace::value_of(a, env, rule) {
            Some(v) => format!("{a} is {v}"),
            None => format!("{a} is absent"),
        })
        .collect();
    let mut values = values.join(", ");
    if zoned {
        let _ = write!(values, " in {}", rule.zone.name);
    }
    let state = match (kind, outcome) {
        (_, Outcome::Error) => "could not be evaluated".to_string(),
        (_, Outcome::Unknown) => "is unknown".to_string(),
        (PartKind::Unless, Outcome::Held) | (PartKind::When, Outcome::Failed) => {
            "is false".to_string()
        }
        _ => "is true".to_string(),
    };
    let detail = if values.is_empty() {
        format!("{kw} `{written}` {state}")
    } else {
        format!("{kw} `{written}` {state} ({values})")
    };
    Check {
        kind,
        text: format!("{kw} {written}"),
        outcome,
        detail,
    }
}

fn collect_attrs(c: &Cond, out: &mut Vec<Attr>) {
    let mut push = |a: &Attr| {
        if !out.contains(a) {
            out.push(a.clone());
        }
    };
    match c {
        Cond::Const(_) => {}
        Cond::Has(a) => push(a),
        Cond::Test(t) => {
            push(&t.attr);
            if let meshgate::model::Pred::AttrEq(other) = &t.pred {
                push(other);
            }
        }
        Cond::Not(inner) => collect_attrs(inner, out),
        Cond::And(items) | Cond::Or(items) => items.iter().for_each(|i| collect_attrs(i, out)),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl RuleExplanation {
    /// `allow "id" (file:line:col): summary`.
    pub fn to_line(&self) -> String {
        let dry = if self.dry_run { "dry_run " } else { "" };
        format!(
            "{dry}{} {:?} ({}): {}",
            self.effect.as_str(),
            self.rule,
            self.location,
            self.summary
        )
    }
}

impl Explanation {
    /// The explanation for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary);
        for r in &self.deciding {
            let _ = writeln!(out, "  {}", r.to_line());
            for e in &r.errors {
                let _ = writeln!(out, "    error: {e}");
            }
        }
        if !self.overridden.is_empty() {
            let _ = writeln!(
                out,
                "overridden allow rules (they matched, but the request is denied):"
            );
            for r in &self.overridden {
                let _ = writeln!(out, "  {}", r.to_line());
            }
        }
        if !self.nearest.is_empty() {
            let _ = writeln!(out, "nearest allow rules:");
            for r in &self.nearest {
                let _ = writeln!(out, "  {}", r.to_line());
            }
        }
        if !self.claimed_by.is_empty() {
            let _ = writeln!(out, "allow rules that claim the workload:");
            for c in &self.claimed_by {
                let _ = writeln!(out, "  allow {:?} ({}): {}", c.rule, c.location, c.detail);
            }
        }
        if !self.noted.is_empty() {
            let _ = writeln!(out, "also matched (never deciding):");
            for r in &self.noted {
                let verb = if r.dry_run {
                    format!(" (would {})", r.effect.as_str())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  {}{verb}", r.to_line());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
