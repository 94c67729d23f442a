//! Decisions: the answer, why, and what else was noticed.
//!
//! The JSON form is the stable shape every binding and decision log shares:
//! `{"allowed": bool, "reasons": [rule ids], "audits": [rule ids],
//!   "dry_run": [{"rule": id, "effect": "allow"|"deny"|"audit"}],
//!   "errors": [{"rule": id, "message": text}]}`.
//! `reasons` holds the deny rule that decided, every allow rule that matched, or the
//! `default allow` that opened the workload; it is empty when nothing allowed the request
//! (default deny) or when an error denied it.

use serde::Serialize;
use smallvec::SmallVec;

use crate::model::Effect;

/// The outcome of one decision. Borrows rule ids from the policy set, so building one does not
/// allocate unless more than two rules land in one list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Decision<'p> {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The rules that decided: the first matching deny, every matching allow, or the
    /// `default allow` that opened the workload.
    pub reasons: SmallVec<[&'p str; 2]>,
    /// Audit rules that matched.
    pub audits: SmallVec<[&'p str; 2]>,
    /// Dry-run rules that matched, with what they would have done.
    pub dry_run: SmallVec<[DryRun<'p>; 2]>,
    /// Rules that could not be evaluated. An error in an allow or deny rule denies the request.
    pub errors: Vec<EvalError<'p>>,
}

/// A dry-run rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DryRun<'p> {
    /// The rule id.
    pub rule: &'p str,
    /// What it would have done.
    pub effect: Effect,
}

/// A rule that could not be evaluated for this request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvalError<'p> {
    /// The rule id.
    pub rule: &'p str,
    /// What went wrong.
    pub message: String,
}

impl Decision<'_> {
    /// The decision on a request that cannot be evaluated at all: denied, with one error
    /// whose `rule` is empty (it is about the request, not a rule).
    pub fn unevaluable(message: String) -> Self {
        let mut d = Decision::default();
        d.errors.push(EvalError { rule: "", message });
        d
    }

    /// [`unevaluable`](Self::unevaluable) when the request's path is ambiguous.
    pub(crate) fn for_abnormal_path(request: &crate::Request<'_>) -> Option<Self> {
        let why = request.path_abnormality()?;
        let path = request.path().unwrap_or_default();
        Some(Decision::unevaluable(format!(
            "`request.path` `{path}` is not normalized: it has {why}; normalize paths before \
             deciding (as Envoy's `normalize_path` and `merge_slashes` do)"
        )))
    }

    /// Whether no rule matched and the request fell to the default deny.
    pub fn is_default_deny(&self) -> bool {
        !self.allowed && self.reasons.is_empty() && self.errors.is_empty()
    }

    /// The decision as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"allowed":false}"#.to_string())
    }

    /// The decision as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
