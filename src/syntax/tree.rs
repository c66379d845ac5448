//! The KDL document meshc lowers: nodes, their entries and children, each with its exact
//! span. Built by the reader (`read.rs`) or, when the reader gives up, converted from the
//! `kdl` crate's document (`from_kdl.rs`); both give the same tree for the same text (a
//! test holds them to it). Type annotations are parsed and dropped: meshc reads none.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub nodes: Vec<Node>,
}

/// A node name or a property key.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: Ident,
    /// From the node's type annotation or name to the end of what the node holds (its
    /// children, and the whitespace before its terminator).
    pub span: Span,
    pub entries: Vec<Entry>,
    /// Empty when the node has no children block.
    pub children: Vec<Node>,
}

/// An argument (`name` is `None`) or a property.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: Option<Ident>,
    pub value: Value,
    /// The whole entry: `key=value`, or the argument with its type annotation.
    pub span: Span,
    /// The value's literal alone.
    pub value_span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    Null,
}
