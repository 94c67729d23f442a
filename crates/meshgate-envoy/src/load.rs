//! Loading a plugin configuration: the JSON, then the policy, compiled once into an indexed
//! [`Engine`].

use meshgate::{Engine, PolicySet};

use crate::config::{self, Config, FailureSettings};
use crate::mapping::Needs;

/// A configuration whose policy compiled.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration, its `sources` emptied: the text lives on only in the engine.
    pub config: Config,
    /// The compiled policy.
    pub engine: Engine,
    /// Rendered warnings of the policy (it loaded all the same).
    pub warnings: Vec<String>,
    /// The attributes the policy (and the decision log) can read.
    pub needs: Needs,
}

/// A configuration or a policy that did not load.
#[derive(Debug)]
pub struct Failed {
    /// What to do with requests until a configuration loads.
    pub settings: FailureSettings,
    /// Whether to log a line per request (read leniently, like `settings`).
    pub decision_log: bool,
    /// One line saying what failed.
    pub summary: String,
    /// Every error (and warning), rendered with its source snippet.
    pub diagnostics: Vec<String>,
}

/// Reads the configuration and compiles its policy.
pub fn load(bytes: &[u8]) -> Result<Loaded, Failed> {
    let failed = |summary: String, diagnostics: Vec<String>| Failed {
        settings: FailureSettings::read(bytes),
        decision_log: serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("decision_log").and_then(serde_json::Value::as_bool))
            .unwrap_or(false),
        summary,
        diagnostics,
    };
    let mut config = config::parse(bytes).map_err(|e| failed(e.to_string(), Vec::new()))?;
    // The text moves into the policy set rather than being copied, and is not kept once the
    // engine is compiled: a VM's memory never shrinks, so every copy alive at the peak of loading
    // stays resident (Envoy compiles the policy in several VMs).
    let sources = std::mem::take(&mut config.sources);
    let needs = Needs::of(&sources, config.decision_log);
    let mut builder = PolicySet::builder();
    for (name, text) in sources {
        builder.add_source(name, text);
    }
    match builder.build() {
        Ok(set) => Ok(Loaded {
            engine: Engine::new(&set),
            needs,
            warnings: set.warnings().iter().map(|d| d.render()).collect(),
            config,
        }),
        Err(diagnostics) => {
            let errors = diagnostics.errors().count();
            let summary = format!(
                "the policy does not load: {errors} error{}",
                if errors == 1 { "" } else { "s" }
            );
            Err(failed(
                summary,
                diagnostics.iter().map(|d| d.render()).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_configuration_compiles() {
        let l = load(br#"{"policy": "allow \"a\" { to path \"/\" }"}"#).unwrap();
        assert_eq!(l.engine.rules().len(), 1);
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn a_bad_policy_reports_every_error_with_its_location() {
        let f = load(
            br#"{"policy": "allow \"a\" { when sorce.ip in 10.0.0.0/8 }\nallow \"b\" { to port 70000 }", "failure_mode_allow": true, "decision_log": true}"#,
        )
        .unwrap_err();
        assert_eq!(f.summary, "the policy does not load: 2 errors");
        assert_eq!(f.diagnostics.len(), 2);
        assert!(
            f.diagnostics[0].contains("policy.mgp:1:"),
            "{}",
            f.diagnostics[0]
        );
        assert!(f.diagnostics[0].contains("did you mean `source.ip`?"));
        assert!(f.settings.allow && f.decision_log);
    }

    #[test]
    fn a_bad_configuration_fails_closed_unless_allowed() {
        let f = load(b"{\"policy\": 1}").unwrap_err();
        assert!(
            f.summary
                .starts_with("invalid plugin configuration: `policy`"),
            "{}",
            f.summary
        );
        assert!(!f.settings.lets_through());
        let f = load(b"not json").unwrap_err();
        assert!(!f.settings.lets_through() && !f.decision_log);
    }
}
