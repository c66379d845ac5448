//! Machine-readable diagnostics: JSON (one object per line) and GitHub Actions workflow
//! commands. The JSON shape is documented in docs/diagnostics.md and stable: fields are
//! only ever added.

use serde_json::{Value, json};

use super::{Diagnostic, Label};
use crate::source::{Sources, Span};

/// Where a span is, in 1-based lines and columns (columns count characters); the end is
/// exclusive: the position just after the last character.
fn position(sources: &Sources, span: Span) -> (String, usize, usize, usize, usize) {
    let f = sources.get(span.file);
    let start = f.line_col(span.start);
    let end = f.line_col(span.end);
    (
        f.name.clone(),
        start.line,
        start.column,
        end.line,
        end.column,
    )
}

fn label_json(sources: &Sources, l: &Label) -> Value {
    let (file, line, column, end_line, end_column) = position(sources, l.span);
    json!({
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "message": l.message,
        "primary": l.primary,
    })
}

/// One diagnostic as a JSON object (no trailing newline).
pub fn json(d: &Diagnostic, sources: &Sources) -> String {
    let primary = d.labels.iter().find(|l| l.primary).or(d.labels.first());
    let mut v = json!({
        "code": d.code.as_str(),
        "name": d.code.slug(),
        "severity": d.severity.as_str(),
        "message": d.message,
    });
    let (file, line, column, end_line, end_column) = match primary {
        Some(l) => {
            let (f, a, b, c, e) = position(sources, l.span);
            (json!(f), json!(a), json!(b), json!(c), json!(e))
        }
        None => (
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ),
    };
    v["file"] = file;
    v["line"] = line;
    v["column"] = column;
    v["end_line"] = end_line;
    v["end_column"] = end_column;
    v["labels"] = Value::Array(d.labels.iter().map(|l| label_json(sources, l)).collect());
    v["help"] = d.help.as_ref().map_or(Value::Null, |h| json!(h));
    v.to_string()
}

/// Escaping of workflow-command data (the message).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of workflow-command property values (file, title).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One diagnostic as a GitHub Actions annotation (`::error file=…,line=…::message`).
pub fn github(d: &Diagnostic, sources: &Sources) -> String {
    let kind = match d.severity {
        super::Severity::Error => "error",
        super::Severity::Warning => "warning",
    };
    let mut props = Vec::new();
    if let Some(l) = d.labels.iter().find(|l| l.primary).or(d.labels.first()) {
        let (file, line, column, end_line, end_column) = position(sources, l.span);
        props.push(format!("file={}", escape_property(&file)));
        props.push(format!("line={line}"));
        props.push(format!("col={column}"));
        props.push(format!("endLine={end_line}"));
        // GitHub's end column is inclusive.
        props.push(format!(
            "endColumn={}",
            end_column.saturating_sub(1).max(column)
        ));
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", d.code.as_str(), d.code.slug()))
    ));
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    format!(
        "::{kind} {}::{}",
        props.join(","),
        escape_data(&crate::source::escape_for_terminal(&message))
    )
}
