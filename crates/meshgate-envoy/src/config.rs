//! The plugin configuration: the JSON that Envoy hands to `proxy_on_configure`.
//!
//! ```json
//! {
//!   "policy": ["allow \"health\" {", "  to path \"/healthz\"", "}"],
//!   "policies": [{"name": "10-roles.mgp", "text": "role reader { permit GET on \"/**\" }"}],
//!   "mode": "enforce",
//!   "deny_status": 403,
//!   "deny_body": "forbidden\n",
//!   "headers": ["x-tenant"],
//!   "decision_log": true,
//!   "reveal_rule": true,
//!   "failure_mode_allow": false,
//!   "reject_invalid": false,
//!   "destination_service": "payments.prod.svc.cluster.local",
//!   "jwt": {"metadata_namespace": "envoy.filters.http.jwt_authn", "payload_key": "jwt_payload"},
//!   "context_metadata_namespace": "meshgate.context"
//! }
//! ```
//!
//! Every field but the policy is optional; unknown fields are errors (a misspelt
//! `failure_mode_allow` must not silently keep its default). `crates/meshgate-envoy/README.md`
//! documents each field.

use serde::Deserialize;

/// Status of a denial unless `deny_status` says otherwise.
pub const DEFAULT_DENY_STATUS: u32 = 403;

/// Name of the source that `policy` is loaded as, in diagnostics and in set order (first).
pub const INLINE_POLICY_NAME: &str = "policy.mgp";

/// Default dynamic-metadata namespace of Envoy's JWT filter.
pub const DEFAULT_JWT_NAMESPACE: &str = "envoy.filters.http.jwt_authn";

/// Default dynamic-metadata namespace read into `context.*`.
pub const DEFAULT_CONTEXT_NAMESPACE: &str = "meshgate.context";

/// Whether a denial blocks the request: the decision log's own mode (`enforce` or `dry-run`),
/// so the configuration and the log name it alike.
pub use meshgate::decision_log::Mode;

/// [`Mode`] as the configuration spells it.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
enum RawMode {
    /// Denied requests get a local response.
    #[default]
    #[serde(rename = "enforce")]
    Enforce,
    /// Every request continues; denials are counted and logged only.
    #[serde(rename = "dry-run")]
    DryRun,
}

impl From<RawMode> for Mode {
    fn from(raw: RawMode) -> Mode {
        match raw {
            RawMode::Enforce => Mode::Enforce,
            RawMode::DryRun => Mode::DryRun,
        }
    }
}

/// Where the claims of a validated JWT are found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwt {
    /// The `filter_metadata` namespace (Envoy's JWT filter writes to
    /// `envoy.filters.http.jwt_authn`).
    pub metadata_namespace: String,
    /// The key the JWT filter's `payload_in_metadata` names. When unset, the namespace must hold
    /// exactly one payload.
    pub payload_key: Option<String>,
}

/// A validated plugin configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Policy sources in set order: `policy` first (as [`INLINE_POLICY_NAME`]), then `policies`.
    pub sources: Vec<(String, String)>,
    /// Enforce or dry-run.
    pub mode: Mode,
    /// Status of a denial.
    pub deny_status: u32,
    /// Body of a denial, replacing the generated one.
    pub deny_body: Option<String>,
    /// Request headers exposed to the policy as `request.headers[…]`, lower-case.
    pub headers: Vec<String>,
    /// One JSON line per request through `proxy_log`.
    pub decision_log: bool,
    /// Whether denials name the deciding rule (header and body).
    pub reveal_rule: bool,
    /// Whether requests continue when the configuration or the policy does not load.
    pub failure_mode_allow: bool,
    /// Whether a configuration or policy that does not load is reported to the proxy as
    /// invalid (`proxy_on_configure` returns false), so that the proxy rejects it.
    pub reject_invalid: bool,
    /// `destination.service` for every request, instead of the one read from `xds.cluster_name`.
    pub destination_service: Option<String>,
    /// Where JWT claims are read from.
    pub jwt: Jwt,
    /// The `filter_metadata` namespace whose fields become `context.*`.
    pub context_metadata_namespace: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sources: Vec::new(),
            mode: Mode::Enforce,
            deny_status: DEFAULT_DENY_STATUS,
            deny_body: None,
            headers: Vec::new(),
            decision_log: false,
            reveal_rule: true,
            failure_mode_allow: false,
            reject_invalid: false,
            destination_service: None,
            jwt: Jwt {
                metadata_namespace: DEFAULT_JWT_NAMESPACE.to_string(),
                payload_key: None,
            },
            context_metadata_namespace: DEFAULT_CONTEXT_NAMESPACE.to_string(),
        }
    }
}

/// A configuration that does not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong, lower-case, with the field in backticks.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid plugin configuration: {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// The JSON as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    policy: Option<Text>,
    #[serde(default)]
    policies: Vec<RawSource>,
    #[serde(default)]
    mode: RawMode,
    #[serde(default)]
    deny_status: Option<u32>,
    #[serde(default)]
    deny_body: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    decision_log: bool,
    #[serde(default)]
    reveal_rule: Option<bool>,
    #[serde(default)]
    failure_mode_allow: bool,
    #[serde(default)]
    reject_invalid: bool,
    #[serde(default)]
    destination_service: Option<String>,
    #[serde(default)]
    jwt: Option<RawJwt>,
    #[serde(default)]
    context_metadata_namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    text: Text,
}

/// Policy text: a string, or a list of lines (joined with `\n`), which reads better inside a
/// JSON string in an Envoy bootstrap and keeps diagnostics' line numbers equal to list positions.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("policy text: a string or a list of lines")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                let mut text = String::new();
                let mut first = true;
                while let Some(line) = seq.next_element::<String>()? {
                    if !first {
                        text.push('\n');
                    }
                    text.push_str(&line);
                    first = false;
                }
                Ok(Text(text))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwt {
    #[serde(default)]
    metadata_namespace: Option<String>,
    #[serde(default)]
    payload_key: Option<String>,
}

/// Reads and checks a plugin configuration.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::new("the configuration is empty").with_help(
            "give a JSON object with at least `policy` (the policy text) or `policies`",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ConfigError::new(inner.to_string())
        } else {
            ConfigError::new(format!("`{path}`: {inner}"))
        }
    })?;
    validate(raw)
}

fn validate(raw: Raw) -> Result<Config, ConfigError> {
    let mut sources = Vec::new();
    if let Some(Text(text)) = raw.policy {
        sources.push((INLINE_POLICY_NAME.to_string(), text));
    }
    for (i, s) in raw.policies.into_iter().enumerate() {
        if s.name.is_empty() {
            return Err(ConfigError::new(format!("`policies[{i}].name` is empty")));
        }
        if sources.iter().any(|(n, _)| *n == s.name) {
            return Err(ConfigError::new(format!(
                "`policies[{i}].name`: the name `{}` is used twice",
                s.name
            ))
            .with_help(format!(
                "every source needs its own name; `policy` is named `{INLINE_POLICY_NAME}`"
            )));
        }
        sources.push((s.name, s.text.0));
    }
    if sources.is_empty() {
        return Err(ConfigError::new("the configuration has no policy").with_help(
            "set `policy` to the policy text, or `policies` to a list of `{\"name\", \"text\"}`",
        ));
    }
    let deny_status = raw.deny_status.unwrap_or(DEFAULT_DENY_STATUS);
    if !(400..=599).contains(&deny_status) {
        return Err(ConfigError::new(format!(
            "`deny_status` is {deny_status}, not an HTTP error status"
        ))
        .with_help("use a status from 400 to 599, such as 403"));
    }
    let mut headers = Vec::with_capacity(raw.headers.len());
    for (i, h) in raw.headers.iter().enumerate() {
        if h.is_empty() {
            return Err(ConfigError::new(format!("`headers[{i}]` is empty")));
        }
        if h.starts_with(':') {
            return Err(ConfigError::new(format!(
                "`headers[{i}]`: `{h}` is a pseudo-header"
            ))
            .with_help(
                "`:method`, `:path` and `:authority` are always read (as `request.method`, `request.path` and `request.host`)",
            ));
        }
        if !h.bytes().all(is_token_byte) {
            return Err(ConfigError::new(format!(
                "`headers[{i}]`: `{h}` is not a valid header name"
            )));
        }
        let lower = h.to_ascii_lowercase();
        if !headers.contains(&lower) {
            headers.push(lower);
        }
    }
    if raw
        .destination_service
        .as_deref()
        .is_some_and(str::is_empty)
    {
        return Err(ConfigError::new("`destination_service` is empty")
            .with_help("leave it out to read the service from `xds.cluster_name`"));
    }
    let defaults = Config::default();
    let jwt = match raw.jwt {
        None => defaults.jwt,
        Some(j) => Jwt {
            metadata_namespace: non_empty(j.metadata_namespace, "jwt.metadata_namespace")?
                .unwrap_or(defaults.jwt.metadata_namespace),
            payload_key: non_empty(j.payload_key, "jwt.payload_key")?,
        },
    };
    let context_metadata_namespace =
        non_empty(raw.context_metadata_namespace, "context_metadata_namespace")?
            .unwrap_or(defaults.context_metadata_namespace);
    if context_metadata_namespace == jwt.metadata_namespace {
        return Err(ConfigError::new(format!(
            "`context_metadata_namespace` and `jwt.metadata_namespace` are both `{context_metadata_namespace}`"
        ))
        .with_help("JWT claims and context values must come from different namespaces"));
    }
    Ok(Config {
        sources,
        mode: raw.mode.into(),
        deny_status,
        deny_body: raw.deny_body,
        headers,
        decision_log: raw.decision_log,
        reveal_rule: raw.reveal_rule.unwrap_or(true),
        failure_mode_allow: raw.failure_mode_allow,
        reject_invalid: raw.reject_invalid,
        destination_service: raw.destination_service,
        jwt,
        context_metadata_namespace,
    })
}

fn non_empty(value: Option<String>, field: &str) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.is_empty() => Err(ConfigError::new(format!("`{field}` is empty"))),
        other => Ok(other),
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What to do when the configuration does not load: the settings that are read leniently, from
/// any JSON object, so that an explicit `failure_mode_allow: true`, `mode: "dry-run"` or
/// `reject_invalid: true` is honoured even when another field is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureSettings {
    /// `failure_mode_allow` was `true`.
    pub allow: bool,
    /// `mode` was `"dry-run"`.
    pub dry_run: bool,
    /// `reject_invalid` was `true`: the proxy is told, and rejects the configuration (this wins
    /// over the other two, which only apply to a configuration the proxy keeps).
    pub reject: bool,
}

impl FailureSettings {
    /// Reads the two settings from whatever JSON object `bytes` holds; anything unreadable
    /// leaves them off (fail closed).
    pub fn read(bytes: &[u8]) -> FailureSettings {
        let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        let field = |name: &str| value.as_ref().and_then(|v| v.get(name));
        FailureSettings {
            allow: field("failure_mode_allow").and_then(serde_json::Value::as_bool) == Some(true),
            dry_run: field("mode").and_then(serde_json::Value::as_str) == Some("dry-run"),
            reject: field("reject_invalid").and_then(serde_json::Value::as_bool) == Some(true),
        }
    }

    /// Whether requests continue.
    pub fn lets_through(self) -> bool {
        self.allow || self.dry_run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> ConfigError {
        parse(json.as_bytes()).expect_err(json)
    }

    #[test]
    fn minimal_configuration_takes_the_defaults() {
        let c = parse(br#"{"policy": "allow \"a\" {}"}"#).unwrap();
        assert_eq!(
            c.sources,
            [(INLINE_POLICY_NAME.to_string(), "allow \"a\" {}".to_string())]
        );
        assert_eq!(c.mode, Mode::Enforce);
        assert_eq!(c.deny_status, 403);
        assert!(c.reveal_rule);
        assert!(!c.decision_log);
        assert!(!c.failure_mode_allow && !c.reject_invalid);
        assert_eq!(c.jwt.metadata_namespace, DEFAULT_JWT_NAMESPACE);
        assert_eq!(c.context_metadata_namespace, DEFAULT_CONTEXT_NAMESPACE);
    }

    #[test]
    fn every_field_is_read() {
        let c = parse(
            br#"{"policy": "a", "policies": [{"name": "b.mgp", "text": "b"}], "mode": "dry-run",
                 "deny_status": 401, "deny_body": "no", "headers": ["X-Tenant", "x-tenant", "x-b"],
                 "decision_log": true, "reveal_rule": false, "failure_mode_allow": true,
                 "reject_invalid": true, "destination_service": "svc", "jwt": {"payload_key": "p"},
                 "context_metadata_namespace": "ctx"}"#,
        )
        .unwrap();
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[1].0, "b.mgp");
        assert_eq!(c.mode, Mode::DryRun);
        assert_eq!(c.deny_status, 401);
        assert_eq!(c.deny_body.as_deref(), Some("no"));
        assert_eq!(c.headers, ["x-tenant", "x-b"]);
        assert!(c.decision_log && !c.reveal_rule && c.failure_mode_allow && c.reject_invalid);
        assert_eq!(c.destination_service.as_deref(), Some("svc"));
        assert_eq!(c.jwt.payload_key.as_deref(), Some("p"));
        assert_eq!(c.jwt.metadata_namespace, DEFAULT_JWT_NAMESPACE);
        assert_eq!(c.context_metadata_namespace, "ctx");
    }

    #[test]
    fn policy_text_may_be_a_list_of_lines() {
        let c = parse(
            br#"{"policy": ["allow \"a\" {", "}"], "policies": [{"name": "b", "text": ["x", "y"]}]}"#,
        )
        .unwrap();
        assert_eq!(c.sources[0].1, "allow \"a\" {\n}");
        assert_eq!(c.sources[1].1, "x\ny");
        let e = err(r#"{"policy": 3}"#);
        assert!(e.message.contains("a string or a list of lines"), "{e}");
        let e = err(r#"{"policy": ["a", 3]}"#);
        assert!(e.message.starts_with("`policy"), "{e}");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(err("").message.contains("empty"));
        assert!(err("{").message.contains("EOF"), "{}", err("{").message);
        let e = err(r#"{"policy": "a", "failure_mode_alow": true}"#);
        assert!(
            e.message.contains("unknown field `failure_mode_alow`"),
            "{e}"
        );
        let e = err(r#"{"policy": "a", "mode": "audit"}"#);
        assert!(e.message.starts_with("`mode`:"), "{e}");
        assert!(err("{}").message.contains("no policy"));
        let e = err(r#"{"policy": "a", "policies": [{"name": "policy.mgp", "text": "b"}]}"#);
        assert!(e.message.contains("used twice"), "{e}");
        assert!(
            err(r#"{"policy": "a", "deny_status": 200}"#)
                .message
                .contains("200")
        );
        assert!(
            err(r#"{"policy": "a", "headers": [":path"]}"#)
                .message
                .contains("pseudo")
        );
        assert!(
            err(r#"{"policy": "a", "headers": ["a b"]}"#)
                .message
                .contains("not a valid")
        );
        assert!(
            err(r#"{"policy": "a", "jwt": {"payload_key": ""}}"#)
                .message
                .contains("empty")
        );
        let e =
            err(r#"{"policy": "a", "context_metadata_namespace": "envoy.filters.http.jwt_authn"}"#);
        assert!(e.message.contains("both"), "{e}");
    }

    #[test]
    fn failure_settings_are_read_leniently() {
        let s = FailureSettings::read(br#"{"failure_mode_allow": true, "oops": 1}"#);
        assert!(s.allow && !s.dry_run && s.lets_through());
        let s = FailureSettings::read(br#"{"mode": "dry-run", "policy": 3}"#);
        assert!(!s.allow && s.dry_run && s.lets_through());
        assert!(!FailureSettings::read(b"{not json").lets_through());
        assert!(!FailureSettings::read(br#"{"failure_mode_allow": "true"}"#).lets_through());
        assert!(FailureSettings::read(br#"{"reject_invalid": true, "policy": 3}"#).reject);
        assert!(!FailureSettings::read(br#"{"reject_invalid": 1}"#).reject);
    }
}
