//! Diagnostics: errors and warnings that point at policy text.
//!
//! Messages follow one discipline: lowercase, no final period, operator input quoted in
//! backticks, details and suggestions in `help`. Every diagnostic has a span, so every front end
//! (CLI, Python, WASM, editors) can show file, line, column and a snippet.

use std::fmt;
use std::sync::Arc;

use crate::span::{LineCol, SourceFile, Span};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; does not stop a policy from loading.
    Warning,
    /// The policy set is rejected.
    Error,
}

/// One error or warning, with the source it points into.
#[derive(Clone)]
pub struct Diagnostic {
    severity: Severity,
    code: &'static str,
    message: String,
    span: Span,
    label: Option<String>,
    help: Option<String>,
    file: Arc<SourceFile>,
}

impl Diagnostic {
    /// An error with a stable `code`, pointing at `span` in `file`.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        file: &Arc<SourceFile>,
        span: Span,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
            file: Arc::clone(file),
        }
    }

    /// A warning with a stable `code`, pointing at `span` in `file`.
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        file: &Arc<SourceFile>,
        span: Span,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message, file, span)
        }
    }

    /// Adds a short label shown under the snippet's caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The stable code, e.g. `syntax` or `unknown-attribute`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message (lowercase, no trailing period).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The help line, if any.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The span the diagnostic points at.
    pub fn span(&self) -> Span {
        self.span
    }

    /// The name of the file the diagnostic points into.
    pub fn file_name(&self) -> &str {
        self.file.name()
    }

    /// Line and column of the start of the span.
    pub fn start(&self) -> LineCol {
        self.file.line_col(self.span.start)
    }

    /// Line and column of the end of the span.
    pub fn end(&self) -> LineCol {
        self.file.line_col(self.span.end)
    }

    /// The short label shown under the snippet's underline, if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The source the diagnostic points into.
    pub fn source_file(&self) -> &SourceFile {
        &self.file
    }

    /// The diagnostic rendered as text: the code, the message with its location, the source
    /// line(s) with the span underlined and a line of context either side, and the help line. No
    /// colours and no wrapping (the output depends neither on a terminal nor on the length of the
    /// file's path), so it can be stored, sent, compared in tests and grepped in logs.
    pub fn render(&self) -> String {
        crate::snippet::render(self)
    }

    /// A serializable view: the stable JSON shape every binding uses for diagnostics.
    pub fn to_json(&self) -> DiagnosticJson {
        let start = self.start();
        let end = self.end();
        DiagnosticJson {
            severity: self.severity,
            code: self.code.to_string(),
            message: self.message.clone(),
            file: self.file.name().to_string(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            help: self.help.clone(),
            snippet: self.render(),
        }
    }
}

/// The JSON shape of a diagnostic: `{severity, code, message, file, line, column, end_line,
/// end_column, help, snippet}`.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiagnosticJson {
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable code.
    pub code: String,
    /// Message.
    pub message: String,
    /// File name.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column (characters) of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end.
    pub end_column: usize,
    /// Help line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The rendered snippet, as [`Diagnostic::render`] gives it.
    pub snippet: String,
}

impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.start();
        f.debug_struct("Diagnostic")
            .field("severity", &self.severity)
            .field("code", &self.code)
            .field("message", &self.message)
            .field(
                "at",
                &format_args!("{}:{}:{}", self.file.name(), at.line, at.column),
            )
            .field("help", &self.help)
            .finish()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.start();
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.name(),
            at.line,
            at.column,
            self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// A list of diagnostics: the error type of everything that loads policy text.
///
/// It holds every error found (not only the first), and any warnings found alongside them.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// The errors alone.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// Every diagnostic rendered, separated by blank lines.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(Diagnostic::render)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        match self.errors().next() {
            Some(first) if errors == 1 => write!(f, "{first}"),
            Some(first) => write!(f, "{first} (and {} more errors)", errors.saturating_sub(1)),
            None => write!(f, "no errors"),
        }
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// An I/O error as diagnostics word it: lowercase, without the operating system's error number
/// (`no such file or directory`, not `No such file or directory (os error 2)`). Every front end
/// that reads files (the CLI, the tools, the authorization server) words them this way.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
