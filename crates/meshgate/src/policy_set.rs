//! Policy sets: one or more sources, parsed and validated together.

use std::collections::HashMap;
use std::sync::Arc;

use crate::decision::Decision;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::limits::PolicyLimits;
use crate::model::{DefaultAllow, Role, Rule};
use crate::request::Request;
use crate::span::{FileId, SourceFile, Span};
use crate::{eval, syntax, validate};

/// A validated set of rules and roles from one or more sources.
///
/// Rule ids are unique across the set, and "set order" (which matters for which deny rule is
/// reported) is the order of sources as added, then of rules within each source.
#[derive(Clone, Debug)]
pub struct PolicySet {
    files: Vec<Arc<SourceFile>>,
    rules: Arc<[Rule]>,
    defaults: Arc<[DefaultAllow]>,
    roles: HashMap<String, Role>,
    warnings: Vec<Diagnostic>,
}

/// Collects sources for a [`PolicySet`].
#[derive(Debug, Default)]
pub struct PolicySetBuilder {
    files: Vec<Arc<SourceFile>>,
    limits: PolicyLimits,
}

impl PolicySetBuilder {
    /// Adds a source named `name` (shown in diagnostics).
    pub fn add_source(&mut self, name: impl Into<String>, text: impl Into<String>) -> &mut Self {
        self.files.push(SourceFile::new(name, text));
        self
    }

    /// Sets the limits the sources are held to (default: [`PolicyLimits::default`]).
    pub fn limits(&mut self, limits: PolicyLimits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Parses and validates every source. On failure, returns every error (and warning) found.
    pub fn build(&self) -> Result<PolicySet, Diagnostics> {
        let mut diagnostics = Vec::new();
        let mut trees = Vec::with_capacity(self.files.len());
        let max = self.limits.max_source_bytes;
        for (i, file) in self.files.iter().enumerate() {
            let id = FileId(u32::try_from(i).unwrap_or(u32::MAX));
            // Spans are 32-bit offsets: a larger source cannot be pointed into.
            if file.text().len() > max || u32::try_from(file.text().len()).is_err() {
                let d = Diagnostic::error(
                    "limit",
                    format!("source is {} bytes: the limit is {max}", file.text().len()),
                    file,
                    Span::new(id, 0, 0),
                )
                .with_help(
                    "`PolicyLimits::max_source_bytes` bounds this so that no policy can exhaust a \
                     proxy; split the policy into several files, or raise the limit",
                );
                diagnostics.push(d);
                trees.push(syntax::ast::File::default());
                continue;
            }
            let (tree, errors) = syntax::parse(file, id);
            diagnostics.extend(errors);
            trees.push(tree);
        }
        let validated = validate::validate(&self.files, &trees, &self.limits);
        diagnostics.extend(validated.diagnostics);
        diagnostics.sort_by_key(|d| (d.span().file, d.span().start));
        if diagnostics.iter().any(|d| d.severity() == Severity::Error) {
            return Err(Diagnostics(diagnostics));
        }
        Ok(PolicySet {
            files: self.files.clone(),
            rules: validated.rules.into(),
            defaults: validated.defaults.into(),
            roles: validated.roles,
            warnings: diagnostics,
        })
    }
}

impl PolicySet {
    /// Parses and validates one source.
    ///
    /// ```
    /// let set = meshgate::PolicySet::parse(r#"allow "health" { to path "/healthz" }"#, "health.mgp")?;
    /// assert_eq!(set.rules().len(), 1);
    /// # Ok::<(), meshgate::Diagnostics>(())
    /// ```
    pub fn parse(text: &str, name: &str) -> Result<PolicySet, Diagnostics> {
        let mut b = PolicySetBuilder::default();
        b.add_source(name, text);
        b.build()
    }

    /// A builder for a set of several sources.
    pub fn builder() -> PolicySetBuilder {
        PolicySetBuilder::default()
    }

    /// Reads, parses and validates files, in the order given, with the default limits.
    ///
    /// An unreadable file is reported as a diagnostic on that file.
    #[cfg(feature = "fs")]
    pub fn from_files<P: AsRef<std::path::Path>>(paths: &[P]) -> Result<PolicySet, Diagnostics> {
        Self::from_files_with(paths, PolicyLimits::default())
    }

    /// [`from_files`](Self::from_files) with explicit limits. A file is read only up to
    /// `limits.max_source_bytes` (plus one byte, to tell that it is larger), so a huge file
    /// never fills memory; a file that is not UTF-8 is reported at its first invalid byte.
    #[cfg(feature = "fs")]
    pub fn from_files_with<P: AsRef<std::path::Path>>(
        paths: &[P],
        limits: PolicyLimits,
    ) -> Result<PolicySet, Diagnostics> {
        use std::io::Read;

        let mut b = PolicySetBuilder::default();
        let cap = u64::try_from(limits.max_source_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        b.limits(limits);
        let mut errors = Vec::new();
        for p in paths {
            let name = p.as_ref().display().to_string();
            let mut bytes = Vec::new();
            let read = std::fs::File::open(p).and_then(|f| f.take(cap).read_to_end(&mut bytes));
            if let Err(e) = read {
                let file = SourceFile::new(name.clone(), "");
                errors.push(Diagnostic::error(
                    "io",
                    format!("cannot read `{name}`: {}", crate::diagnostic::io_reason(&e)),
                    &file,
                    Span::default(),
                ));
                continue;
            }
            match String::from_utf8(bytes) {
                Ok(text) => {
                    b.add_source(name, text);
                }
                Err(e) => {
                    let valid = e.utf8_error().valid_up_to();
                    let prefix = e.as_bytes().get(..valid).unwrap_or_default();
                    let file = SourceFile::new(name, String::from_utf8_lossy(prefix));
                    errors.push(
                        Diagnostic::error(
                            "encoding",
                            "policy text is not valid UTF-8",
                            &file,
                            Span::new(FileId(0), valid, valid),
                        )
                        .with_help(format!(
                            "the first invalid byte is at offset {valid}; save the file as UTF-8"
                        )),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        b.build()
    }

    /// The rules, in set order.
    #[doc(hidden)]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules, shared (the engine keeps this instead of a copy).
    #[doc(hidden)]
    pub fn shared_rules(&self) -> Arc<[Rule]> {
        Arc::clone(&self.rules)
    }

    /// The `default allow` items, in set order (spec §4.4).
    #[doc(hidden)]
    pub fn defaults(&self) -> &[DefaultAllow] {
        &self.defaults
    }

    /// The defaults, shared (the engine keeps this instead of a copy).
    #[doc(hidden)]
    pub fn shared_defaults(&self) -> Arc<[DefaultAllow]> {
        Arc::clone(&self.defaults)
    }

    /// The rule with this id.
    #[doc(hidden)]
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The roles, by name.
    #[doc(hidden)]
    pub fn roles(&self) -> &HashMap<String, Role> {
        &self.roles
    }

    /// The ids of the rules, in set order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// The sources, in the order added.
    pub fn files(&self) -> &[Arc<SourceFile>] {
        &self.files
    }

    /// Warnings found while loading (the set loaded despite them).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Decides with the reference evaluator: every rule in order. Use [`crate::Engine`] to
    /// decide fast; this exists as the oracle the engine is tested against.
    pub fn decide_reference(&self, request: &Request<'_>) -> Decision<'_> {
        eval::reference::decide(&self.rules, &self.defaults, request)
    }
}
