//! The `kdl` crate's document as meshc's tree (`tree.rs`): used when meshc's reader refuses
//! a text the crate accepts, and by the test that holds the two to the same result. The
//! spans are the crate's; a value's own span is the end of its entry, as long as the
//! value's original text.

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use super::tree::{Document, Entry, Ident, Node, Value};
use crate::source::{FileId, Span};

pub fn convert(file: FileId, doc: &KdlDocument) -> Document {
    Document {
        nodes: doc.nodes().iter().map(|n| node(file, n)).collect(),
    }
}

fn span(file: FileId, s: miette::SourceSpan) -> Span {
    Span::new(file, s.offset(), s.offset() + s.len())
}

fn node(file: FileId, n: &KdlNode) -> Node {
    Node {
        name: Ident {
            value: n.name().value().to_string(),
            span: span(file, n.name().span()),
        },
        span: span(file, n.span()),
        entries: n.entries().iter().map(|e| entry(file, e)).collect(),
        children: n
            .children()
            .map(|d| d.nodes().iter().map(|c| node(file, c)).collect())
            .unwrap_or_default(),
    }
}

fn entry(file: FileId, e: &KdlEntry) -> Entry {
    let whole = span(file, e.span());
    let value_span = match e.format() {
        Some(f) if !f.value_repr.is_empty() && f.value_repr.len() <= whole.len() => Span {
            start: whole.end - f.value_repr.len() as u32,
            ..whole
        },
        _ => whole,
    };
    Entry {
        name: e.name().map(|k| Ident {
            value: k.value().to_string(),
            span: span(file, k.span()),
        }),
        value: match e.value() {
            KdlValue::String(s) => Value::String(s.clone()),
            KdlValue::Integer(i) => Value::Integer(*i),
            KdlValue::Float(f) => Value::Float(*f),
            KdlValue::Bool(b) => Value::Bool(*b),
            KdlValue::Null => Value::Null,
        },
        span: whole,
        value_span,
    }
}
