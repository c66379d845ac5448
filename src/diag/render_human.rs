//! Human rendering of diagnostics through miette's graphical report handler. The
//! diagnostic stays plain data; this module adapts it to `miette::Diagnostic` only for
//! the time it takes to print it.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources};

/// Options for human output. Tests use [`HumanStyle::plain`] so snapshots do not depend
/// on the terminal.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    pub color: bool,
    pub unicode: bool,
    pub width: usize,
}

impl HumanStyle {
    pub fn plain() -> HumanStyle {
        HumanStyle {
            color: false,
            unicode: true,
            width: 100,
        }
    }
}

/// Renders one diagnostic as a multi-line report.
pub fn render(diag: &Diagnostic, sources: &Sources, style: HumanStyle) -> String {
    let file = diag.primary_span().map(|s| sources.get(s.file));
    let adapter = Adapter {
        diag,
        source: file.map(|f| NamedSource::new(f.name.clone(), f.text.to_string())),
        file,
        extra_help: elsewhere(diag, sources, file),
    };
    let theme = match (style.color, style.unicode) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::ascii(),
        (false, true) => GraphicalTheme::unicode_nocolor(),
        (false, false) => GraphicalTheme::none(),
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1)
        // Never break `control-plane` or `east-west-address` at their hyphens.
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    if handler.render_report(&mut out, &adapter).is_err() {
        // Rendering into a String cannot fail for I/O reasons; fall back to one line.
        out = format!(
            "{}[{}]: {}\n",
            diag.severity.as_str(),
            diag.code.as_str(),
            diag.message
        );
    }
    out
}

/// Labels that sit in another file than the primary one cannot share its snippet; they
/// are named in the help text instead.
fn elsewhere(diag: &Diagnostic, sources: &Sources, file: Option<&SourceFile>) -> Vec<String> {
    diag.labels
        .iter()
        .filter(|l| Some(l.span.file) != file.map(|f| f.id))
        .map(|l| format!("{}: {}", sources.location(l.span), l.message))
        .collect()
}

struct Adapter<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
    file: Option<&'a SourceFile>,
    extra_help: Vec<String>,
}

impl fmt::Debug for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter").field("diag", self.diag).finish()
    }
}

impl fmt::Display for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Adapter<'_> {}

impl miette::Diagnostic for Adapter<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut parts: Vec<String> = self.diag.help.iter().cloned().collect();
        parts.extend(self.extra_help.iter().map(|s| format!("see {s}")));
        if parts.is_empty() {
            None
        } else {
            Some(Box::new(parts.join("\n")))
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let file = self.file?;
        let labels = self
            .diag
            .labels
            .iter()
            .filter(move |l| l.span.file == file.id)
            .map(|l| {
                let span = SourceSpan::new((l.span.start as usize).into(), l.span.len());
                let text = (!l.message.is_empty()).then(|| l.message.clone());
                if l.primary {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            });
        Some(Box::new(labels))
    }
}
