//! Diagnostics as data: a code from the catalogue, a severity, a message, labelled spans
//! and an optional help line. Phases produce them; renderers (in `render_human` and the
//! CLI) turn them into text. Nothing here formats for a terminal.

mod codes;
pub mod render_human;
pub mod render_machine;

pub use codes::{Code, Severity};

use crate::source::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label is the thing that is wrong; secondary labels point at related
    /// sites (the first definition, the referenced cluster).
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic whose severity is the code's default.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean `x`?" when a candidate is close to `name`, else `fallback`.
    pub fn suggest_or<'a>(
        self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
        fallback: impl Into<String>,
    ) -> Diagnostic {
        match suggest(name, candidates) {
            Some(s) => self.help(format!("did you mean `{s}`?")),
            None => self.help(fallback),
        }
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into the order they are reported in: by file, then position, then
/// code. Stable for equal keys, so the order never depends on how a phase iterated.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| (d.primary_span().map(|s| (s.file, s.start, s.end)), d.code));
}

/// `"2 errors, 1 warning"`, or `None` when there is nothing to report.
pub fn summary(diags: &[Diagnostic]) -> Option<String> {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => None,
        (e, 0) => Some(plural(e, "error")),
        (0, w) => Some(plural(w, "warning")),
        (e, w) => Some(format!("{}, {}", plural(e, "error"), plural(w, "warning"))),
    }
}

/// "did you mean `x`?" for a misspelt name, when one candidate is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, f64, &'a str)> = None;
    for c in candidates {
        // Optimal string alignment counts a swap of two letters (`gpc` → `gcp`) as one edit.
        let edits = strsim::osa_distance(name, c);
        let similarity = strsim::jaro_winkler(name, c);
        let allowed = (name.len().min(c.len()) / 3).max(1);
        if edits > allowed && similarity < 0.85 {
            continue;
        }
        if best.is_none_or(|(e, s, _)| (edits, -similarity) < (e, -s)) {
            best = Some((edits, similarity, c));
        }
    }
    best.map(|(_, _, c)| c)
}

/// Turns every warning into an error (`--deny-warnings`).
pub fn deny_warnings(diags: &mut [Diagnostic]) {
    for d in diags {
        d.severity = Severity::Error;
    }
}

/// `docs/diagnostics.md`: the introduction, a table of every code, then every
/// explanation (headings one level down).
pub fn docs_markdown() -> String {
    let mut out = String::from(include_str!("docs_intro.md"));
    out.push_str("| code | name | severity | summary |\n|---|---|---|---|\n");
    for c in Code::ALL {
        out.push_str(&format!(
            "| [{}](#{}-{}) | {} | {} | {} |\n",
            c.as_str(),
            c.as_str().to_ascii_lowercase(),
            c.slug(),
            c.slug(),
            c.severity().as_str(),
            c.summary()
        ));
    }
    for c in Code::ALL {
        out.push('\n');
        let mut in_code = false;
        for line in c.explanation().trim_end().lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            }
            if line.starts_with('#') && !in_code {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
