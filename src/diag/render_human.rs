//! Human rendering of diagnostics through miette's graphical report handler. The
//! diagnostic stays plain data; this module adapts it to `miette::Diagnostic` only for
//! the time it takes to print it.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceSpan};

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources, escape_for_terminal};

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
        source: file.map(|f| Snippet { file: f }),
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

/// A source file as miette reads it: only the lines around a span, found through the
/// file's line index, so a report costs the size of its snippet, not of the file (40,000
/// diagnostics in a 10 MB topology used to take minutes). The text is the file's
/// [`SourceFile::display_text`]: nothing in it can rewrite the terminal.
struct Snippet<'a> {
    file: &'a SourceFile,
}

impl miette::SourceCode for Snippet<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let f = self.file;
        let text = f.display_text();
        // Two lines of slack on each side: miette's own reading (on the window) then picks
        // exactly the lines it would pick on the whole text.
        let first = f
            .line_of(span.offset())
            .saturating_sub(context_lines_before + 2);
        let last = f.line_of(span.offset() + span.len().saturating_sub(1));
        let start = f.line_start(first);
        let end = f.line_start(last + context_lines_after + 3).min(text.len());
        let window = text.get(start..end).unwrap_or("");
        let inner = SourceSpan::new(span.offset().saturating_sub(start).into(), span.len());
        let c = window.read_span(&inner, context_lines_before, context_lines_after)?;
        let data: &'b [u8] = c.data();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            f.name.clone(),
            data,
            SourceSpan::new((start + c.span().offset()).into(), c.span().len()),
            first + c.line(),
            c.column(),
            // miette counts the lines from the start of the text to the end of what it
            // read (and merges two labels' snippets by it): count those before the window.
            first + c.line_count(),
        )))
    }
}

struct Adapter<'a> {
    diag: &'a Diagnostic,
    source: Option<Snippet<'a>>,
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
        f.write_str(&escape_for_terminal(&self.diag.message))
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
        let mut parts: Vec<String> = self
            .diag
            .help
            .iter()
            .map(|h| escape_for_terminal(h).into_owned())
            .collect();
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
                let text =
                    (!l.message.is_empty()).then(|| escape_for_terminal(&l.message).into_owned());
                if l.primary {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            });
        Some(Box::new(labels))
    }
}
