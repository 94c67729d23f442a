//! Diagnostics rendered for a terminal, in colour, with miette (the `fancy` feature).
//!
//! The runtime renders diagnostics as plain text ([`Diagnostic::render`]), without miette; this
//! module gives the same layout with ANSI colours, for the CLI when it writes to a terminal.
//! Without colours the two are the same text (a test checks it).

use std::fmt;

use meshgate::{Diagnostic, Severity, SourceFile};

/// `d` rendered by miette's graphical handler: with ANSI colours when `colour` is true, else
/// exactly [`Diagnostic::render`]. Lines are never wrapped, so the output does not depend on the
/// terminal's width.
pub fn render_styled(d: &Diagnostic, colour: bool) -> String {
    let theme = if colour {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_wrap_lines(false)
        .with_links(false);
    let mut out = String::new();
    let report = Report {
        diagnostic: d,
        source: Source(d.source_file()),
    };
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{d}\n");
    }
    out
}

/// A diagnostic as miette sees it.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: Source<'a>,
}

/// A policy source as miette reads it: the text, named.
struct Source<'a>(&'a SourceFile);

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diagnostic, f)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("meshgate::{}", self.diagnostic.code())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.diagnostic.span();
        let span = miette::SourceSpan::new((span.start as usize).into(), span.len());
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(self.diagnostic.label().map(String::from), span),
        )))
    }
}

impl miette::SourceCode for Source<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .0
            .text()
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.0.name().to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}
