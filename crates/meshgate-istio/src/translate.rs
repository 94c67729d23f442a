//! Istio rules → meshgate rules (a small intermediate form that [`crate::render`] prints).
//!
//! Each field becomes an [`Atom`]: a condition that always exists, and a native `from`/`to`
//! matcher when one says exactly the same. A `source` or `operation` whose atoms are all native
//! becomes a `from`/`to` clause (indexed by the engine); otherwise the rule's sources (or
//! operations) become one `when` expression, an OR of ANDs.
//!
//! Negated fields (`not*`, `notValues`) are always conditions `(not has ATTR or not …)`: in
//! Envoy a negated matcher holds when the value is absent (`notPrincipals` matches plaintext),
//! while meshgate's negated matchers never hold on absent attributes (spec §9).
//!
//! TCP: a request without `request.method` is a TCP connection. Istio drops an ALLOW rule that
//! uses an HTTP-only field from the TCP filter (it never matches), and ignores the HTTP-only
//! fields of DENY and AUDIT rules there (the rule matches more). So an ALLOW rule with such a
//! field gets `when has request.method`, and a DENY or AUDIT rule with one becomes two rules:
//! the full rule with `when has request.method`, and `ID:tcp` without the HTTP-only fields with
//! `unless has request.method`.

use meshgate::Diagnostic;

use crate::error::codes;
use crate::matchers::{self, Pat};
use crate::resource::{Action, Field, Key, Policy, Rule};
use crate::trust::Bundle;

/// One constraint of a field, in both forms.
#[derive(Clone, Debug)]
pub struct Atom {
    /// The native matcher (`from` or `to` side and text), when there is an exact one.
    pub native: Option<(Side, String)>,
    /// The condition.
    pub expr: String,
    /// Whether Istio treats the field as HTTP-only.
    pub http_only: bool,
}

/// Which clause a native matcher belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `from`.
    From,
    /// `to`.
    To,
}

/// A translated rule.
#[derive(Clone, Debug)]
pub struct OutRule {
    /// `allow`, `deny` or `audit`.
    pub effect: Action,
    /// Dry-run.
    pub dry_run: bool,
    /// The id.
    pub id: String,
    /// The comment above it.
    pub comment: String,
    /// `select` clause (without the keyword), if any.
    pub select: Option<String>,
    /// Sources: OR of ANDs. Empty: any.
    pub from: Vec<Vec<Atom>>,
    /// Operations: OR of ANDs. Empty: any.
    pub to: Vec<Vec<Atom>>,
    /// `when` conditions.
    pub when: Vec<String>,
    /// `unless` conditions.
    pub unless: Vec<String>,
}

/// The native matcher of a positive field, before its name is put in front.
enum Native {
    /// `NAME VALUES`.
    Values(String),
    /// `not NAME ""`: present and not empty.
    NotEmpty,
}

/// How Istio reads `*` for a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Regex `.+`: present and not empty.
    NonEmpty,
    /// Envoy's `present_match`: present (headers, `:authority`, `:method`).
    Has,
}

struct AttrSpec {
    attr: String,
    native: Option<(Side, &'static str)>,
    fixed: &'static str,
    presence: Presence,
    /// Multi-valued (claims, audiences).
    list: bool,
}

fn spec(key: &Key) -> AttrSpec {
    let s = |attr: &str, native: Option<(Side, &'static str)>, presence| AttrSpec {
        attr: attr.to_string(),
        native,
        fixed: "",
        presence,
        list: false,
    };
    match key {
        Key::Principals | Key::ServiceAccounts => AttrSpec {
            fixed: "spiffe://",
            ..s(
                "source.principal",
                Some((Side::From, "principal")),
                Presence::NonEmpty,
            )
        },
        Key::RequestPrincipals => s(
            "request.auth.principal",
            Some((Side::From, "request_principal")),
            Presence::NonEmpty,
        ),
        Key::Namespaces => s(
            "source.namespace",
            Some((Side::From, "namespace")),
            Presence::NonEmpty,
        ),
        Key::TrustDomains => s(
            "source.trust_domain",
            Some((Side::From, "trust_domain")),
            Presence::NonEmpty,
        ),
        Key::IpBlocks => s("source.ip", Some((Side::From, "ip")), Presence::NonEmpty),
        Key::RemoteIpBlocks => s(
            "source.remote_ip",
            Some((Side::From, "remote_ip")),
            Presence::NonEmpty,
        ),
        Key::DestIp => s("destination.ip", Some((Side::To, "ip")), Presence::NonEmpty),
        Key::Hosts => s("request.host", Some((Side::To, "host")), Presence::Has),
        Key::Ports => s(
            "destination.port",
            Some((Side::To, "port")),
            Presence::NonEmpty,
        ),
        Key::Methods => s("request.method", Some((Side::To, "method")), Presence::Has),
        Key::Paths => s("request.path", Some((Side::To, "path")), Presence::NonEmpty),
        Key::Header(h) => s(
            &format!("request.headers[{}]", quote(h)),
            None,
            Presence::Has,
        ),
        Key::Audiences => AttrSpec {
            list: true,
            ..s("request.auth.audiences", None, Presence::NonEmpty)
        },
        Key::Presenter => s("request.auth.presenter", None, Presence::NonEmpty),
        Key::Claims(path) => AttrSpec {
            list: true,
            ..s(
                &format!(
                    "request.auth.claims{}",
                    path.iter()
                        .map(|p| format!("[{}]", quote(p)))
                        .collect::<String>()
                ),
                None,
                Presence::NonEmpty,
            )
        },
        Key::Sni => s("connection.sni", None, Presence::NonEmpty),
    }
}

/// A meshgate string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("[{}]", items.join(", ")),
    }
}

fn or(parts: Vec<String>) -> String {
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" or ")),
    }
}

/// Translates one field into an atom, or an error naming the value and why. Principals and
/// trust domains are first rewritten for the trust-domain bundle, as Istio does
/// ([`crate::trust`]).
pub fn atom(policy: &Policy, field: &Field, bundle: &Bundle) -> Result<Atom, Diagnostic> {
    let spec = spec(&field.key);
    let fail = |value: &crate::resource::Value, why: String, code: &'static str| {
        policy.ctx.error(
            code,
            value.span,
            format!("{}: `{}`: {why}", policy.id(), value.path),
        )
    };
    let (positive, native) = match &field.key {
        Key::IpBlocks | Key::RemoteIpBlocks | Key::DestIp => {
            let mut nets = Vec::new();
            for v in &field.values {
                nets.push(matchers::ip_block(&v.text).map_err(|e| fail(v, e, codes::INVALID))?);
            }
            let l = list(&nets);
            (format!("{} in {l}", spec.attr), Some(Native::Values(l)))
        }
        Key::Ports => {
            let mut ports = Vec::new();
            for v in &field.values {
                ports.push(
                    matchers::port(&v.text)
                        .map_err(|e| fail(v, e, codes::INVALID))?
                        .to_string(),
                );
            }
            let l = list(&ports);
            (format!("{} in {l}", spec.attr), Some(Native::Values(l)))
        }
        _ => {
            let mut pats: Vec<Pat> = Vec::new();
            for v in &field.values {
                let texts = match &field.key {
                    Key::Principals => bundle.principals(&v.text),
                    Key::TrustDomains => bundle.trust_domains(&v.text),
                    _ => vec![v.text.clone()],
                };
                for text in texts {
                    for p in value_patterns(policy, &field.key, &spec, v, &text)? {
                        // Two values can expand to the same one (`td1/ns/a/sa/b` and
                        // `cluster.local/ns/a/sa/b` with `trustDomain: td1`): once is enough.
                        if !pats.contains(&p) {
                            pats.push(p);
                        }
                    }
                }
            }
            string_atom(&spec, &field.key, pats)
        }
    };
    let native = native.and_then(|n| {
        spec.native.map(|(side, name)| match n {
            Native::Values(v) => (side, format!("{name} {v}")),
            Native::NotEmpty => (side, format!("not {name} \"\"")),
        })
    });
    let http_only = field.key.http_only();
    if field.negated {
        let expr = if positive == format!("has {}", spec.attr) {
            format!("not has {}", spec.attr)
        } else {
            format!("(not has {} or not {})", spec.attr, parenthesize(&positive))
        };
        Ok(Atom {
            native: None,
            expr,
            http_only,
        })
    } else {
        Ok(Atom {
            native,
            expr: positive,
            http_only,
        })
    }
}

/// The patterns of one value `text` of `field` (`text` is `v.text`, or what the trust-domain
/// bundle made of it); errors point at `v`.
fn value_patterns(
    policy: &Policy,
    key: &Key,
    spec: &AttrSpec,
    v: &crate::resource::Value,
    text: &str,
) -> Result<Vec<Pat>, Diagnostic> {
    let fail = |why: String, code: &'static str| {
        policy.ctx.error(
            code,
            v.span,
            format!("{}: `{}`: {why}", policy.id(), v.path),
        )
    };
    let pats = match key {
        Key::ServiceAccounts => matchers::service_account(text, &policy.namespace)
            .map_err(|e| fail(e, codes::INVALID))?,
        Key::Paths if matchers::is_path_template(text) => {
            vec![matchers::path_template(text).map_err(|e| fail(e, codes::UNSUPPORTED))?]
        }
        Key::Hosts if host_has_port(text) => {
            return Err(fail(
                "a host with a port is not supported: meshgate's `request.host` drops the port, so it could never match".to_string(),
                codes::UNSUPPORTED,
            ).with_help("Istio compares `hosts` with the whole `:authority`; write the host without its port (meshgate then matches it with any port)"));
        }
        _ => {
            let m = matchers::istio_string(text).map_err(|e| fail(e, codes::UNSUPPORTED))?;
            matchers::patterns(&m, spec.fixed)
        }
    };
    // A glob the language would refuse must be refused here, at the YAML value, rather than
    // written into a policy that does not load (found by the `istio_import` fuzz target: a
    // principal suffix just under the limit became a 1,028-byte glob once `spiffe://**/*` was
    // added).
    let limits = meshgate::PolicyLimits::default();
    for p in &pats {
        if let Pat::Glob(g) = p {
            let wildcards = g.split(|c| c != '*').filter(|run| !run.is_empty()).count();
            if g.len() > limits.max_pattern_bytes || wildcards > limits.max_pattern_wildcards {
                return Err(fail(
                    format!(
                        "the glob it becomes (`{}` bytes, `{wildcards}` wildcards) exceeds the policy limits ({} bytes, {} wildcards)",
                        g.len(),
                        limits.max_pattern_bytes,
                        limits.max_pattern_wildcards
                    ),
                    codes::UNSUPPORTED,
                ));
            }
        }
    }
    Ok(pats)
}

fn parenthesize(e: &str) -> String {
    if e.starts_with('(') && e.ends_with(')') {
        e.to_string()
    } else {
        format!("({e})")
    }
}

/// `Host:port`, but not a bare IPv6 address.
fn host_has_port(h: &str) -> bool {
    match h.strip_prefix('[') {
        Some(rest) => rest.contains("]:"),
        None => h.matches(':').count() == 1,
    }
}

/// The condition for a string field, and the native matcher's values when it has an exact one.
fn string_atom(spec: &AttrSpec, key: &Key, pats: Vec<Pat>) -> (String, Option<Native>) {
    let a = &spec.attr;
    if pats.contains(&Pat::Present) {
        // Every other value implies presence (values are never empty), so `*` absorbs them.
        return match (spec.presence, spec.list) {
            (Presence::Has, _) => (format!("has {a}"), None),
            (Presence::NonEmpty, true) => (format!("({a} matches \"**\" and {a} != \"\")"), None),
            (Presence::NonEmpty, false) => {
                // `not principal ""`: present and not empty, like Istio's `.+`.
                let native = matches!(
                    key,
                    Key::Principals | Key::RequestPrincipals | Key::Namespaces | Key::TrustDomains
                )
                .then(|| Native::NotEmpty);
                (format!("{a} != \"\""), native)
            }
        };
    }
    let mut exact = Vec::new();
    let mut globs = Vec::new();
    let mut excluding = Vec::new();
    for p in pats {
        match p {
            Pat::Exact(s) => exact.push(quote(&s)),
            Pat::Glob(g) => globs.push(quote(&g)),
            Pat::Excluding { glob, exclude } => excluding.push(format!(
                "({a} matches {} and not {a} matches {})",
                quote(&glob),
                list(&exclude.iter().map(|e| quote(e)).collect::<Vec<_>>())
            )),
            Pat::Present => {}
        }
    }
    let mut parts = Vec::new();
    if !exact.is_empty() {
        parts.push(format!("{a} in {}", list(&exact)));
    }
    if !globs.is_empty() {
        parts.push(format!("{a} matches {}", list(&globs)));
    }
    let native_ok = excluding.is_empty()
        && match key {
            // meshgate's `method` takes upper-case names, compared exactly.
            Key::Methods => {
                globs.is_empty()
                    && exact
                        .iter()
                        .all(|q| matchers::plain_method(q.trim_matches('"')))
            }
            // meshgate's `path` patterns start with `/` or `*`.
            Key::Paths => exact
                .iter()
                .chain(globs.iter())
                .all(|q| q.starts_with("\"/") || q.starts_with("\"*")),
            _ => true,
        };
    parts.extend(excluding);
    let mut values = exact;
    values.extend(globs);
    (or(parts), native_ok.then(|| Native::Values(list(&values))))
}

/// The `select` clause of a policy.
pub fn select(policy: &Policy, root_namespace: &str) -> Option<String> {
    let mut parts = Vec::new();
    if policy.namespace != root_namespace {
        parts.push(format!("namespace {}", quote(&policy.namespace)));
    }
    for (k, v) in policy.selector.iter().flatten() {
        parts.push(format!("label {} = {}", quote(k), quote(v)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Translates every rule of `policy`.
pub fn policy_rules(
    policy: &Policy,
    root_namespace: &str,
    bundle: &Bundle,
    errors: &mut Vec<Diagnostic>,
) -> Vec<OutRule> {
    let select = select(policy, root_namespace);
    let header = |suffix: &str| {
        let at = policy.ctx.file.line_col(policy.span.start);
        format!(
            "{} ({}{}){suffix} from {}:{}",
            policy.id(),
            policy.action.name(),
            if policy.dry_run { ", dry-run" } else { "" },
            policy.ctx.file.name(),
            at.line
        )
    };
    if policy.rules.is_empty() {
        // Istio's `rbacPolicyMatchNever`: matches nothing, but an ALLOW policy still makes the
        // workload's default deny (it claims the workload).
        return if policy.action == Action::Allow && !policy.dry_run {
            vec![OutRule {
                effect: Action::Allow,
                dry_run: false,
                id: policy.id(),
                comment: header(
                    " has no rules: it allows nothing, and the workloads it selects lose the default allow,",
                ),
                select,
                from: Vec::new(),
                to: Vec::new(),
                when: vec!["false".to_string()],
                unless: Vec::new(),
            }]
        } else {
            Vec::new()
        };
    }
    let mut out = Vec::new();
    for (i, rule) in policy.rules.iter().enumerate() {
        let Some(t) = rule_atoms(policy, rule, bundle, errors) else {
            continue;
        };
        let id = format!("{}[{i}]", policy.id());
        let http = t.has_http_only();
        let base = OutRule {
            effect: policy.action,
            dry_run: policy.dry_run,
            id: id.clone(),
            comment: header(&format!(" rules[{i}]")),
            select: select.clone(),
            from: t.from.clone(),
            to: t.to.clone(),
            when: t.when.iter().map(|a| a.expr.clone()).collect(),
            unless: Vec::new(),
        };
        if !http {
            out.push(base);
            continue;
        }
        let mut http_rule = base.clone();
        http_rule.when.push("has request.method".to_string());
        out.push(http_rule);
        if policy.action != Action::Allow {
            let keep = |entries: &Vec<Vec<Atom>>| -> Vec<Vec<Atom>> {
                let filtered: Vec<Vec<Atom>> = entries
                    .iter()
                    .map(|e| e.iter().filter(|a| !a.http_only).cloned().collect())
                    .collect();
                // A source or operation left without constraints matches everything.
                if filtered.iter().any(Vec::is_empty) {
                    Vec::new()
                } else {
                    filtered
                }
            };
            out.push(OutRule {
                id: format!("{id}:tcp"),
                comment: header(&format!(
                    " rules[{i}] on TCP connections, where Istio ignores its HTTP-only fields,"
                )),
                from: keep(&t.from),
                to: keep(&t.to),
                when: t
                    .when
                    .iter()
                    .filter(|a| !a.http_only)
                    .map(|a| a.expr.clone())
                    .collect(),
                unless: vec!["has request.method".to_string()],
                ..base
            });
        }
    }
    out
}

struct RuleAtoms {
    from: Vec<Vec<Atom>>,
    to: Vec<Vec<Atom>>,
    when: Vec<Atom>,
}

impl RuleAtoms {
    fn has_http_only(&self) -> bool {
        self.from
            .iter()
            .chain(self.to.iter())
            .flatten()
            .chain(self.when.iter())
            .any(|a| a.http_only)
    }
}

fn rule_atoms(
    policy: &Policy,
    rule: &Rule,
    bundle: &Bundle,
    errors: &mut Vec<Diagnostic>,
) -> Option<RuleAtoms> {
    let before = errors.len();
    let mut conv = |fields: &[Field]| -> Vec<Atom> {
        let mut atoms = Vec::new();
        for f in fields {
            match atom(policy, f, bundle) {
                Ok(a) => atoms.push(a),
                Err(e) => errors.push(e),
            }
        }
        atoms
    };
    let from = rule.from.iter().map(|c| conv(&c.fields)).collect();
    let to = rule.to.iter().map(|c| conv(&c.fields)).collect();
    let when = conv(&rule.when);
    (errors.len() == before).then_some(RuleAtoms { from, to, when })
}
