//! # meshgate-istio
//!
//! Imports Istio `AuthorizationPolicy` resources (YAML, several documents per file, or the
//! `kind: List` that `kubectl get authorizationpolicies -A -o yaml` prints) into meshgate policy
//! text that decides as Istio does. `spec/istio.md` documents the mapping, its exactness, and
//! every known difference.
//!
//! ```
//! let yaml = r#"
//! apiVersion: security.istio.io/v1
//! kind: AuthorizationPolicy
//! metadata: {name: viewer, namespace: foo}
//! spec:
//!   selector: {matchLabels: {app: httpbin}}
//!   rules:
//!   - to: [{operation: {methods: ["GET"]}}]
//! "#;
//! let import = meshgate_istio::import(&[("viewer.yaml", yaml)], &Default::default()).unwrap();
//! assert!(import.policy.contains(r#"allow "foo/viewer[0]""#));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod matchers;
pub mod render;
pub mod resource;
pub mod translate;
pub mod trust;
pub mod yaml;

use std::collections::HashMap;

use meshgate::{Diagnostic, SourceFile};

pub use error::codes;

/// Options of an import: the parts of Istio's mesh config that change what policies mean.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Istio's root namespace (`meshConfig.rootNamespace`): its policies apply to every
    /// namespace. Default `istio-system`.
    pub root_namespace: String,
    /// The mesh's trust domain (`meshConfig.trustDomain`). Default `cluster.local`; empty means
    /// the default, as in Istio.
    pub trust_domain: String,
    /// Its aliases (`meshConfig.trustDomainAliases`): principals and trust domains in policies
    /// match every trust domain of the bundle, as Istio expands them ([`trust`]).
    pub trust_domain_aliases: Vec<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            root_namespace: "istio-system".to_string(),
            trust_domain: trust::CLUSTER_LOCAL.to_string(),
            trust_domain_aliases: Vec::new(),
        }
    }
}

impl ImportOptions {
    /// Checks the trust domains: none may be empty (except `trust_domain`, which then means
    /// `cluster.local`) or hold a `/`, which would make every principal written with it
    /// malformed. Front ends call this before [`import`] to report bad usage.
    pub fn validate(&self) -> Result<(), String> {
        let given = std::iter::once(("trust domain", &self.trust_domain)).chain(
            self.trust_domain_aliases
                .iter()
                .map(|a| ("trust domain alias", a)),
        );
        for (what, td) in given {
            if td.contains('/') {
                return Err(format!(
                    "{what} `{td}` has a `/`: give the trust domain alone, as in `cluster.local`"
                ));
            }
        }
        if self.trust_domain_aliases.iter().any(String::is_empty) {
            return Err("a trust domain alias is empty".to_string());
        }
        Ok(())
    }

    /// The trust-domain bundle of these options.
    pub fn bundle(&self) -> trust::Bundle {
        trust::Bundle::new(&self.trust_domain, &self.trust_domain_aliases)
    }
}

/// A successful import.
#[derive(Clone, Debug)]
pub struct Import {
    /// The meshgate policy text.
    pub policy: String,
    /// Warnings (skipped documents, host ports).
    pub warnings: Vec<Diagnostic>,
}

/// Imports every AuthorizationPolicy in `sources` (`(name, text)` pairs; the name is used in
/// diagnostics and comments). Any error refuses the whole import; every error found is returned
/// (warnings first is not guaranteed: only errors are returned on failure).
pub fn import<N: AsRef<str>, T: AsRef<str>>(
    sources: &[(N, T)],
    options: &ImportOptions,
) -> Result<Import, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut policies = Vec::new();
    for (name, text) in sources {
        let file = SourceFile::new(name.as_ref(), text.as_ref());
        let ctx = error::Ctx { file };
        match yaml::load(&ctx.file) {
            Ok(docs) => {
                let loaded = resource::read(&ctx, &docs);
                policies.extend(loaded.policies);
                errors.extend(loaded.errors);
                warnings.extend(loaded.warnings);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut seen: HashMap<String, &resource::Policy> = HashMap::new();
    for p in &policies {
        if let Some(first) = seen.get(&p.id()) {
            let at = first.ctx.file.line_col(first.span.start);
            errors.push(
                p.ctx
                    .error(
                        codes::DUPLICATE,
                        p.span,
                        format!("AuthorizationPolicy `{}` is given twice", p.id()),
                    )
                    .with_help(format!(
                        "first given at {}:{}:{}",
                        first.ctx.file.name(),
                        at.line,
                        at.column
                    )),
            );
        } else {
            seen.insert(p.id(), p);
        }
    }
    let bundle = options.bundle();
    let mut rules = Vec::new();
    for p in &policies {
        host_warnings(p, &mut warnings);
        rules.extend(translate::policy_rules(
            p,
            &options.root_namespace,
            &bundle,
            &mut errors,
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let files: Vec<&str> = sources.iter().map(|(n, _)| n.as_ref()).collect();
    let mut header = vec![
        format!(
            "Generated by `meshgate import istio` from {} AuthorizationPolicy resource(s) in: {}",
            policies.len(),
            files.join(", ")
        ),
        format!(
            "Root namespace (mesh-wide policies): {}",
            options.root_namespace
        ),
    ];
    if !bundle.is_default() {
        // Said only when it changes something, so default imports read as before.
        header.push(format!(
            "Trust domains (principals match each): {}",
            bundle.domains().join(", ")
        ));
    }
    header.push(
        "See spec/istio.md for the mapping and its known differences from Istio.".to_string(),
    );
    let text = render::policy_text(&header, &rules);
    // In `meshgate fmt`'s layout, so that formatting an import changes nothing. The text always
    // parses (the fuzz target `istio_import` checks it); if it ever did not, it is kept as
    // written, and loading it reports the error.
    let policy = meshgate_tools::fmt::format_source(&text, "imported.mgp").unwrap_or(text);
    Ok(Import { policy, warnings })
}

/// One warning per `hosts`/`notHosts` field: Istio compares it with the whole `:authority`,
/// port included; meshgate's `request.host` has no port.
fn host_warnings(p: &resource::Policy, warnings: &mut Vec<Diagnostic>) {
    for rule in &p.rules {
        for clause in &rule.to {
            for f in &clause.fields {
                if f.key == resource::Key::Hosts {
                    warnings.push(
                        p.ctx
                            .warning(
                                codes::HOST_PORT,
                                f.span,
                                format!(
                                    "{}: `{}` is compared without the port",
                                    p.id(),
                                    f.path
                                ),
                            )
                            .with_help(
                                "Istio matches `hosts` against the whole `:authority`, so `example.com` there does not match `example.com:8080`; meshgate's `request.host` drops the port and does",
                            ),
                    );
                }
            }
        }
    }
}
