//! Decisions: the answer, why, and what else was noticed.
//!
//! The JSON form is the stable shape every binding and decision log shares:
//! `{"allowed": bool, "reasons": [rule ids], "audits": [rule ids],
//!   "dry_run": [{"rule": id, "effect": "allow"|"deny"|"audit"}],
//!   "errors": [{"rule": id, "message": text}]}`.
//! `reasons` holds the deny rule that decided, every allow rule that matched, or the
//! `default allow` that opened the workload; it is empty when nothing allowed the request
//! (default deny) or when an error denied it.

use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use crate::model::Effect;

/// The outcome of one decision. Borrows rule ids from the policy set, so building one does not
/// allocate unless more than two rules land in one list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Decision<'p> {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The rules that decided: the first matching deny, every matching allow, or the
    /// `default allow` that opened the workload.
    pub reasons: List<&'p str>,
    /// Audit rules that matched.
    pub audits: List<&'p str>,
    /// Dry-run rules that matched, with what they would have done.
    pub dry_run: List<DryRun<'p>>,
    /// Rules that could not be evaluated. An error in an allow or deny rule denies the request.
    pub errors: Vec<EvalError<'p>>,
}

/// A list in a [`Decision`], in set order. Read it as a slice (it dereferences to `[T]`); it
/// holds up to two items without allocating, which is what makes most decisions allocation-free.
///
/// Unlike a `SmallVec`, it is covariant in `T`, so a `Decision<'long>` can be used where a
/// `Decision<'short>` is expected.
#[derive(Clone)]
pub struct List<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    Empty,
    One(T),
    Two([T; 2]),
    Heap(Vec<T>),
}

impl<T> List<T> {
    /// The items, in set order.
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(item) => std::slice::from_ref(item),
            Repr::Two(items) => items,
            Repr::Heap(items) => items,
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        self.0 = match std::mem::replace(&mut self.0, Repr::Empty) {
            Repr::Empty => Repr::One(item),
            Repr::One(first) => Repr::Two([first, item]),
            Repr::Two([a, b]) => Repr::Heap(vec![a, b, item]),
            Repr::Heap(mut items) => {
                items.push(item);
                Repr::Heap(items)
            }
        };
    }

    pub(crate) fn clear(&mut self) {
        self.0 = Repr::Empty;
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Repr::Empty)
    }
}

impl<T: PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for List<T> {}

impl<T: Serialize> Serialize for List<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'l, T> IntoIterator for &'l List<T> {
    type Item = &'l T;
    type IntoIter = std::slice::Iter<'l, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// A dry-run rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DryRun<'p> {
    /// The rule id.
    pub rule: &'p str,
    /// What it would have done.
    pub effect: Effect,
}

/// A rule that could not be evaluated for this request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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

    /// Why a denied request was denied, in one line for a response body or a log (`None`
    /// when it is allowed): ``denied by rule `ID` ``, ``denied: rule `ID` could not be
    /// evaluated``, `denied: the request could not be evaluated` (an error of the request
    /// itself, such as a path that is not normalized) or `denied: no rule allows this request`.
    pub fn denial(&self) -> Option<String> {
        if self.allowed {
            return None;
        }
        Some(match (self.reasons.first(), self.errors.first()) {
            (Some(rule), _) => format!("denied by rule `{rule}`"),
            (None, Some(e)) if e.rule.is_empty() => {
                "denied: the request could not be evaluated".to_string()
            }
            (None, Some(e)) => format!("denied: rule `{}` could not be evaluated", e.rule),
            (None, None) => "denied: no rule allows this request".to_string(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while a decision is covariant in its lifetime (a `SmallVec` is not).
    fn shorten<'s>(d: Decision<'static>) -> Decision<'s> {
        d
    }

    #[test]
    fn lists_read_as_slices_at_every_size() {
        let mut d = shorten(Decision::default());
        assert!(d.reasons.is_empty());
        for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
            d.reasons.push(id);
            assert_eq!(d.reasons.len(), i + 1);
            assert_eq!(d.reasons.last(), Some(&id));
        }
        assert_eq!(d.reasons.as_slice(), ["a", "b", "c", "d"]);
        assert_eq!(
            d.to_json(),
            r#"{"allowed":false,"reasons":["a","b","c","d"],"audits":[],"dry_run":[],"errors":[]}"#
        );
        d.reasons.clear();
        assert_eq!(d, Decision::default());
    }
}
