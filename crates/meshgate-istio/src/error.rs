//! Diagnostics of the importer: codes and constructors.
//!
//! They are ordinary [`meshgate::Diagnostic`]s pointing into the YAML, so they render like every
//! other meshgate error. Messages name the resource (`namespace/name`) and the field path
//! (`spec.rules[0].to[0].operation.paths[1]`) and say why.

use std::sync::Arc;

use meshgate::{Diagnostic, SourceFile, Span};

/// Stable diagnostic codes.
pub mod codes {
    /// The text is not YAML.
    pub const YAML: &str = "istio-yaml";
    /// A field that AuthorizationPolicy does not have.
    pub const UNKNOWN_FIELD: &str = "istio-unknown-field";
    /// A value of the wrong YAML type, or a required field missing.
    pub const SHAPE: &str = "istio-shape";
    /// A value Istio itself rejects (validation).
    pub const INVALID: &str = "istio-invalid";
    /// A feature meshgate cannot express exactly: the resource is refused.
    pub const UNSUPPORTED: &str = "istio-unsupported";
    /// Two resources with the same `namespace/name`.
    pub const DUPLICATE: &str = "istio-duplicate";
    /// Warning: a document that is not an AuthorizationPolicy was skipped.
    pub const SKIPPED: &str = "istio-skipped";
    /// Warning: `hosts` are compared without the port (meshgate's `request.host`).
    pub const HOST_PORT: &str = "istio-host-port";
}

/// Where diagnostics of one YAML source point.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The source.
    pub file: Arc<SourceFile>,
}

impl Ctx {
    /// An error.
    pub fn error(&self, code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, message, &self.file, span)
    }

    /// A warning.
    pub fn warning(
        &self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::warning(code, message, &self.file, span)
    }
}
