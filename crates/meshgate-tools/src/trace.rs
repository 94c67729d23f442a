//! Evaluating one rule part by part, recording what each part did: the common ground of
//! coverage and explanations.
//!
//! The decision itself always comes from the evaluator; a trace evaluates every part of a rule
//! (every `from` and `to` clause, every granted role, every `when` and `unless`), even those the
//! evaluator would skip, so that an explanation can list every condition that failed. Which
//! parts the evaluator would actually have reached is recorded alongside (coverage counts only
//! those).

use std::fmt::Write as _;

use meshgate::attr::Attr;
use meshgate::eval::{self, Env, Truth};
use meshgate::model::{Clause, Cond, Rule, Test};
use meshgate::request::Value;

/// What one part of a rule did for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The part held (a clause matched, a role granted the request, a `when` was true, an
    /// `unless` was false).
    Held,
    /// The part did not hold.
    Failed,
    /// The part's value could not be told: an attribute it reads is absent. For `when` and
    /// `unless` this fails the rule.
    Unknown,
    /// Evaluating the part failed (a context value of the wrong kind).
    Error,
}

impl Outcome {
    /// Whether the part held.
    pub fn held(self) -> bool {
        self == Outcome::Held
    }
}

/// The trace of one rule for one request.
#[derive(Clone, Debug)]
pub struct RuleTrace {
    /// Per `select` clause: its outcome and each matcher's truth, read as a selection reads
    /// labels (spec §4.4: a request with destination labels lacks none by accident).
    pub select: Vec<(Outcome, Vec<Truth>)>,
    /// Per `from` clause: its outcome and each matcher's truth.
    pub from: Vec<(Outcome, Vec<Truth>)>,
    /// Per `to` clause.
    pub to: Vec<(Outcome, Vec<Truth>)>,
    /// Per granted role: whether some permission of it held.
    pub grants: Vec<Outcome>,
    /// Per `when`: held when true.
    pub when: Vec<Outcome>,
    /// Per `unless`: held when false.
    pub unless: Vec<Outcome>,
    /// Per `when`: when it is an `or`, the outcomes of the operands the evaluator reaches, in
    /// order (each held when true); empty otherwise. See [`or_operands`].
    pub when_or: Vec<Vec<Outcome>>,
    /// Per `unless`: the same, each operand held when false (as if it were its own `unless`).
    pub unless_or: Vec<Vec<Outcome>>,
    /// Error messages of parts whose outcome is [`Outcome::Error`].
    pub errors: Vec<String>,
}

impl RuleTrace {
    /// Whether some `select` clause held (or there is none).
    pub fn select_held(&self) -> bool {
        self.select.is_empty() || self.select.iter().any(|(o, _)| o.held())
    }

    /// Whether some `from` clause held (or there is none).
    pub fn from_held(&self) -> bool {
        self.from.is_empty() || self.from.iter().any(|(o, _)| o.held())
    }

    /// Whether some `to` clause held (or there is none).
    pub fn to_held(&self) -> bool {
        self.to.is_empty() || self.to.iter().any(|(o, _)| o.held())
    }

    /// Whether some granted role granted the request (or none is granted).
    pub fn grants_held(&self) -> bool {
        self.grants.is_empty() || self.grants.iter().any(|o| o.held())
    }

    /// Whether the rule matched.
    pub fn matched(&self) -> bool {
        self.select_held()
            && self.from_held()
            && self.to_held()
            && self.grants_held()
            && self.when.iter().all(|o| o.held())
            && self.unless.iter().all(|o| o.held())
    }

    /// How many of the rule's parts fail: each of `select`, `from`, `to` and `grant` counts
    /// once (its alternatives are one part), each `when` and `unless` once.
    pub fn failures(&self) -> usize {
        [
            self.select_held(),
            self.from_held(),
            self.to_held(),
            self.grants_held(),
        ]
        .into_iter()
        .chain(self.when.iter().map(|o| o.held()))
        .chain(self.unless.iter().map(|o| o.held()))
        .filter(|held| !held)
        .count()
    }

    /// Which parts the evaluator reaches: every `select` clause; the `from` clauses when some
    /// `select` held; the `to` clauses when some `from` held too; the grants when some `to`
    /// held too; each `when` and `unless` in order while everything before it held.
    pub fn reached(&self) -> Reached {
        let from = self.select_held();
        let to = from && self.from_held();
        let grants = to && self.to_held();
        let mut r = Reached {
            from,
            to,
            grants,
            when: 0,
            unless: 0,
        };
        if !(grants && self.grants_held()) {
            return r;
        }
        r.when = reached_in_order(&self.when);
        if self.when.iter().all(|o| o.held()) {
            r.unless = reached_in_order(&self.unless);
        }
        r
    }
}

/// The parts of a rule the evaluator reaches for one request ([`RuleTrace::reached`]); the
/// `select` clauses are always reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reached {
    /// The `from` clauses.
    pub from: bool,
    /// The `to` clauses.
    pub to: bool,
    /// The granted roles.
    pub grants: bool,
    /// How many `when` statements, from the first.
    pub when: usize,
    /// How many `unless` statements, from the first.
    pub unless: usize,
}

/// How many of `parts`, evaluated in order, are reached: all of them up to and including the
/// first that fails.
fn reached_in_order(parts: &[Outcome]) -> usize {
    parts
        .split_inclusive(|o| !o.held())
        .next()
        .map_or(0, <[Outcome]>::len)
}

fn clause_trace(c: &Clause, env: &Env<'_, '_>, rule: &Rule) -> (Outcome, Vec<Truth>) {
    let truths: Vec<Truth> = c
        .tests
        .iter()
        .map(|t| eval::test(t, env, rule).unwrap_or(Truth::Unknown))
        .collect();
    let outcome = if truths.iter().all(|t| t.is_true()) {
        Outcome::Held
    } else {
        Outcome::Failed
    };
    (outcome, truths)
}

fn cond_outcome(
    c: &Cond,
    env: &Env<'_, '_>,
    rule: &Rule,
    want: Truth,
    errors: &mut Vec<String>,
) -> Outcome {
    match eval::cond(c, env, rule) {
        Ok(t) if t == want => Outcome::Held,
        Ok(Truth::Unknown) => Outcome::Unknown,
        Ok(_) => Outcome::Failed,
        Err(e) => {
            errors.push(e);
            Outcome::Error
        }
    }
}

/// The outcomes of the operands of `c`'s top-level `or` that the evaluator reaches (none when
/// `c` is not an `or`): it evaluates them left to right and stops after the first that is true
/// or fails with an error (§7.1); an unknown operand does not stop it (§9). An operand holds
/// when its truth is `want`.
pub fn or_operands(c: &Cond, env: &Env<'_, '_>, rule: &Rule, want: Truth) -> Vec<Outcome> {
    let Cond::Or(items) = c else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match eval::cond(item, env, rule) {
            Ok(t) => {
                out.push(if t == want {
                    Outcome::Held
                } else if t == Truth::Unknown {
                    Outcome::Unknown
                } else {
                    Outcome::Failed
                });
                if t == Truth::True {
                    break;
                }
            }
            Err(_) => {
                out.push(Outcome::Error);
                break;
            }
        }
    }
    out
}

fn select_trace(c: &Clause, env: &Env<'_, '_>) -> (Outcome, Vec<Truth>) {
    let truths: Vec<Truth> = c.tests.iter().map(|t| eval::select_test(t, env)).collect();
    let outcome = if truths.iter().all(|t| t.is_true()) {
        Outcome::Held
    } else {
        Outcome::Failed
    };
    (outcome, truths)
}

/// Traces `rule` for the request in `env`.
pub fn trace(rule: &Rule, env: &Env<'_, '_>) -> RuleTrace {
    let mut errors = Vec::new();
    let select = rule.select.iter().map(|c| select_trace(c, env)).collect();
    let from = rule
        .from
        .iter()
        .map(|c| clause_trace(c, env, rule))
        .collect();
    let to = rule.to.iter().map(|c| clause_trace(c, env, rule)).collect();
    let grants = rule
        .grants
        .iter()
        .map(|g| {
            if g.permissions.iter().any(|p| eval::permission(p, env)) {
                Outcome::Held
            } else {
                Outcome::Failed
            }
        })
        .collect();
    let when = rule
        .when
        .iter()
        .map(|c| cond_outcome(&c.cond, env, rule, Truth::True, &mut errors))
        .collect();
    let unless = rule
        .unless
        .iter()
        .map(|c| cond_outcome(&c.cond, env, rule, Truth::False, &mut errors))
        .collect();
    let when_or = rule
        .when
        .iter()
        .map(|c| or_operands(&c.cond, env, rule, Truth::True))
        .collect();
    let unless_or = rule
        .unless
        .iter()
        .map(|c| or_operands(&c.cond, env, rule, Truth::False))
        .collect();
    RuleTrace {
        select,
        from,
        to,
        grants,
        when,
        unless,
        when_or,
        unless_or,
        errors,
    }
}

/// The value of an attribute in the request, as it would be quoted in an explanation
/// (`"shop"`, `10.1.2.3`, `17`, `["a", "b"]`); `None` when absent.
pub fn value_of(attr: &Attr, env: &Env<'_, '_>, rule: &Rule) -> Option<String> {
    let r = env.request();
    let zoned = |t: jiff::Timestamp| rule.zone.tz.to_datetime(t);
    let quoted = |s: &str| format!("{s:?}");
    match attr {
        Attr::SourceIp => r.source.ip.map(|ip| ip.to_string()),
        Attr::SourceRemoteIp => r.source.remote_ip.map(|ip| ip.to_string()),
        Attr::DestIp => r.destination.ip.map(|ip| ip.to_string()),
        Attr::DestPort => r.destination.port.map(|p| p.to_string()),
        Attr::AuthAudiences => r.request.auth.audiences.as_deref().map(|a| {
            let items: Vec<String> = a.iter().map(|s| quoted(s)).collect();
            format!("[{}]", items.join(", "))
        }),
        Attr::AuthClaim(keys) => {
            let (first, rest) = keys.split_first()?;
            let mut v = r.request.auth.claims.get(first)?;
            for k in rest {
                match v {
                    Value::Map(m) => v = m.get(k)?,
                    _ => return None,
                }
            }
            Some(json_text(v))
        }
        Attr::Context(k) => r.context.get(k).map(json_text),
        Attr::Time => r.time.map(|t| t.to_string()),
        Attr::TimeHour => r.time.map(|t| zoned(t).hour().to_string()),
        Attr::TimeMinute => r.time.map(|t| zoned(t).minute().to_string()),
        Attr::TimeWeekday => r.time.map(|t| weekday_name(zoned(t).weekday()).to_string()),
        Attr::TimeDate => r.time.map(|t| zoned(t).date().to_string()),
        other => env.str_attr(other).map(quoted),
    }
}

fn json_text(v: &Value<'_>) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value<'_>) {
    match v {
        Value::Str(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.0.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k:?}: ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// `mon` … `sun`.
pub fn weekday_name(d: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match d {
        Monday => "mon",
        Tuesday => "tue",
        Wednesday => "wed",
        Thursday => "thu",
        Friday => "fri",
        Saturday => "sat",
        Sunday => "sun",
    }
}

/// The truth of a test, for a matcher or a condition leaf.
pub fn test_truth(t: &Test, env: &Env<'_, '_>, rule: &Rule) -> Result<Truth, String> {
    eval::test(t, env, rule)
}
