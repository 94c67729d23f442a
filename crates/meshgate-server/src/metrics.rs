//! Prometheus metrics of the server, served as text on the admin listener's `/metrics`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `meshgate_decisions_total` | counter | `outcome` (`allowed`, `denied`, `error`), `rule` (the deciding rule: the first allow rule, or the deny rule; empty for the default deny and for errors) |
//! | `meshgate_decision_duration_seconds` | histogram | from a request's arrival at the decision to the decision (mapping, limits and the engine; not the network) |
//! | `meshgate_checks_rejected_total` | counter | `reason` (`overloaded`: over the bound on concurrent checks; `too_large`: over the request-size limit; `unreadable`: attributes that could not be read; `not_loaded`: no policy) |
//! | `meshgate_policy_reloads_total` | counter | versions loaded, the first included |
//! | `meshgate_policy_reload_failures_total` | counter | updates refused (the last good version kept serving) |
//! | `meshgate_policy_loaded` | gauge | 1 when a policy is loaded (and `/readyz` is ready) |
//! | `meshgate_policy_rules` | gauge | rules in the loaded version |
//! | `meshgate_policy_version_info` | gauge | `version`: 1 for the version serving now |

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of `meshgate_decisions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    rule: String,
}

/// Labels of `meshgate_checks_rejected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    reason: &'static str,
}

/// Labels of `meshgate_policy_version_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

/// Why a check was refused before any decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Over the bound on concurrent checks.
    Overloaded,
    /// Over the request-size limit.
    TooLarge,
    /// Attributes that could not be read.
    Unreadable,
    /// No policy loaded.
    NotLoaded,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::Overloaded => "overloaded",
            Rejection::TooLarge => "too_large",
            Rejection::Unreadable => "unreadable",
            Rejection::NotLoaded => "not_loaded",
        }
    }
}

/// Every metric, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    rejected: Family<RejectLabels, Counter>,
    reloads: Counter,
    reload_failures: Counter,
    loaded: Gauge,
    rules: Gauge,
    version: Family<VersionLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        // 1 µs to about 16 ms in powers of two: a decision takes microseconds.
        let latency = Histogram::new(exponential_buckets(1e-6, 2.0, 15));
        let rejected = Family::<RejectLabels, Counter>::default();
        let reloads = Counter::default();
        let reload_failures = Counter::default();
        let loaded = Gauge::default();
        let rules = Gauge::default();
        let version = Family::<VersionLabels, Gauge>::default();
        registry.register(
            "meshgate_decisions",
            "Decisions by outcome and deciding rule",
            decisions.clone(),
        );
        registry.register(
            "meshgate_decision_duration_seconds",
            "Time from a check's arrival to its decision",
            latency.clone(),
        );
        registry.register(
            "meshgate_checks_rejected",
            "Checks denied before any decision, by reason",
            rejected.clone(),
        );
        registry.register(
            "meshgate_policy_reloads",
            "Policy versions loaded",
            reloads.clone(),
        );
        registry.register(
            "meshgate_policy_reload_failures",
            "Policy updates refused (the last good version kept serving)",
            reload_failures.clone(),
        );
        registry.register(
            "meshgate_policy_loaded",
            "1 when a policy is loaded",
            loaded.clone(),
        );
        registry.register(
            "meshgate_policy_rules",
            "Rules in the loaded policy version",
            rules.clone(),
        );
        registry.register(
            "meshgate_policy_version_info",
            "The policy version serving now",
            version.clone(),
        );
        Metrics {
            registry,
            decisions,
            latency,
            rejected,
            reloads,
            reload_failures,
            loaded,
            rules,
            version,
        }
    }

    /// Counts a decision: `outcome` is `allowed`, `denied` or `error`.
    pub fn decision(&self, outcome: &'static str, rule: &str, elapsed: Duration) {
        self.decisions
            .get_or_create(&DecisionLabels {
                outcome,
                rule: rule.to_string(),
            })
            .inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// Counts a check refused before any decision.
    pub fn rejected(&self, why: Rejection) {
        self.rejected
            .get_or_create(&RejectLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// Records a version loaded.
    pub fn loaded(&self, version: &str, rules: usize) {
        self.reloads.inc();
        self.loaded.set(1);
        self.rules.set(i64::try_from(rules).unwrap_or(i64::MAX));
        self.version.clear();
        self.version
            .get_or_create(&VersionLabels {
                version: version.to_string(),
            })
            .set(1);
    }

    /// Records an update refused.
    pub fn reload_failed(&self) {
        self.reload_failures.inc();
    }

    /// The metrics in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_metric() {
        let m = Metrics::new();
        m.decision("allowed", "read", Duration::from_micros(3));
        m.decision("denied", "", Duration::from_micros(5));
        m.rejected(Rejection::Overloaded);
        m.loaded("abc", 12);
        m.loaded("def", 13);
        m.reload_failed();
        let text = m.encode();
        for line in [
            r#"meshgate_decisions_total{outcome="allowed",rule="read"} 1"#,
            r#"meshgate_decisions_total{outcome="denied",rule=""} 1"#,
            r#"meshgate_checks_rejected_total{reason="overloaded"} 1"#,
            "meshgate_policy_reloads_total 2",
            "meshgate_policy_reload_failures_total 1",
            "meshgate_policy_loaded 1",
            "meshgate_policy_rules 13",
            r#"meshgate_policy_version_info{version="def"} 1"#,
            "meshgate_decision_duration_seconds_count 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains(r#"version="abc""#), "{text}");
    }
}
