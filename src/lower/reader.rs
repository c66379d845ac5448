//! `NodeReader`: reads one KDL node against its [`NodeSpec`], remembering which entries
//! were consumed so that what is left over becomes an "unknown property" or "unexpected
//! argument" diagnostic. Value types, DNS-1123 names and enumerations are checked here,
//! once, from the schema table.

use crate::syntax::tree::{Entry, Node, Value};

use super::schema::{NodeSpec, ValueSpec, ValueType};
use crate::ast::Spanned;
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::{FileId, Span};

/// Lowering context: the file being read and the diagnostics found so far.
pub struct Cx {
    pub file: FileId,
    pub diags: Vec<Diagnostic>,
}

impl Cx {
    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A child node that `parent` does not take.
    pub fn unknown_node(&mut self, node: &Node, parent: &NodeSpec) {
        let name = node.name.value.as_str();
        let span = node.name.span;
        let place = if parent.name == "(document)" {
            "at the top level".to_string()
        } else {
            format!("inside `{}`", parent.name)
        };
        let mut d = Diagnostic::new(Code::UnknownNode, format!("unknown node `{name}` {place}"))
            .primary(span, "not a node meshc knows here");
        let names = parent.children.iter().map(|c| c.name);
        if let Some(s) = suggest(name, names) {
            d = d.help(format!("did you mean `{s}`?"));
        } else if let Some(home) = super::schema::home_of(name) {
            let home = if home == "(document)" {
                "the top level".to_string()
            } else {
                format!("a `{home}` block")
            };
            d = d.help(format!("`{name}` belongs in {home}"));
        } else {
            let list: Vec<_> = parent
                .children
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect();
            d = d.help(format!("the nodes allowed {place} are {}", list.join(", ")));
        }
        self.report(d);
    }

    /// A node that may appear once, written again.
    pub fn duplicate<T>(
        &mut self,
        first: &Option<T>,
        first_span: Option<Span>,
        node: &Node,
    ) -> bool {
        if first.is_none() {
            return false;
        }
        let name = node.name.value.as_str();
        let mut d = Diagnostic::new(
            Code::DuplicateSetting,
            format!("`{name}` is given more than once"),
        )
        .primary(node.name.span, "given again here")
        .help(format!("keep one `{name}`"));
        if let Some(s) = first_span {
            d = d.secondary(s, "first given here");
        }
        self.report(d);
        true
    }
}

/// A value read from a node, before it is mapped to an AST type.
enum Raw<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Num(f64),
}

pub struct NodeReader<'a> {
    pub node: &'a Node,
    pub spec: &'static NodeSpec,
    used: Vec<bool>,
}

impl<'a> NodeReader<'a> {
    pub fn new(node: &'a Node, spec: &'static NodeSpec) -> NodeReader<'a> {
        NodeReader {
            node,
            spec,
            used: vec![false; node.entries.len()],
        }
    }

    /// The span of the node's name: where "missing" diagnostics point.
    pub fn name_span(&self) -> Span {
        self.node.name.span
    }

    /// The whole node, children included.
    pub fn node_span(&self) -> Span {
        self.node.span
    }

    pub fn children(&self) -> &'a [Node] {
        &self.node.children
    }

    /// Positional argument `idx` as a string (string, name and enumeration types).
    pub fn arg_str(&mut self, cx: &mut Cx, idx: usize) -> Option<Spanned<String>> {
        self.arg(cx, idx).and_then(as_string)
    }

    /// Positional argument `idx` as a boolean.
    pub fn arg_bool(&mut self, cx: &mut Cx, idx: usize) -> Option<Spanned<bool>> {
        self.arg(cx, idx).and_then(as_bool)
    }

    fn arg(&mut self, cx: &mut Cx, idx: usize) -> Option<Spanned<Raw<'a>>> {
        let spec = &self.spec.args[idx];
        let found = self
            .node
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.name.is_none())
            .nth(idx);
        match found {
            Some((i, entry)) => {
                self.used[i] = true;
                self.typed(cx, entry, spec)
            }
            None => {
                self.missing(cx, spec, true);
                None
            }
        }
    }

    /// Positional argument `idx` as a whole number.
    pub fn arg_int(&mut self, cx: &mut Cx, idx: usize) -> Option<Spanned<i64>> {
        self.arg(cx, idx).and_then(as_int)
    }

    pub fn prop_int(&mut self, cx: &mut Cx, key: &str) -> Option<Spanned<i64>> {
        self.prop(cx, key).and_then(as_int)
    }

    pub fn prop_num(&mut self, cx: &mut Cx, key: &str) -> Option<Spanned<f64>> {
        self.prop(cx, key).and_then(|v| match v.value {
            Raw::Num(n) => Some(Spanned::new(n, v.span)),
            Raw::Int(i) => Some(Spanned::new(i as f64, v.span)),
            _ => None,
        })
    }

    /// The properties whose names the user chooses (`weight v1=90`), with whole-number
    /// values: every property the schema does not name.
    pub fn free_ints(&mut self, cx: &mut Cx) -> Vec<(Spanned<String>, Spanned<i64>)> {
        let Some((what, ty)) = self.spec.free_props else {
            return Vec::new();
        };
        let spec = ValueSpec {
            name: what,
            ty,
            required: false,
            doc: "",
        };
        let mut out: Vec<(Spanned<String>, Spanned<i64>)> = Vec::new();
        for (i, entry) in self.node.entries.iter().enumerate() {
            let Some(key) = &entry.name else { continue };
            if self.spec.prop(&key.value).is_some() {
                continue;
            }
            self.used[i] = true;
            let name = Spanned::new(key.value.clone(), key.span);
            if let Some((first, _)) = out.iter().find(|(k, _)| k.value == name.value) {
                let d = Diagnostic::new(
                    Code::DuplicateSetting,
                    format!("`{}` is given more than once", name.value),
                )
                .primary(name.span, "given again here")
                .secondary(first.span, "first given here");
                cx.report(d);
                continue;
            }
            if let Some(v) = self.typed(cx, entry, &spec).and_then(as_int) {
                out.push((name, v));
            }
        }
        out
    }

    pub fn prop_str(&mut self, cx: &mut Cx, key: &str) -> Option<Spanned<String>> {
        self.prop(cx, key).and_then(as_string)
    }

    pub fn prop_bool(&mut self, cx: &mut Cx, key: &str) -> Option<Spanned<bool>> {
        self.prop(cx, key).and_then(as_bool)
    }

    fn prop(&mut self, cx: &mut Cx, key: &str) -> Option<Spanned<Raw<'a>>> {
        let Some(spec) = self.spec.prop(key) else {
            debug_assert!(
                false,
                "property `{key}` of `{}` is not in the schema",
                self.spec.name
            );
            return None;
        };
        let mut found: Option<(usize, &'a Entry)> = None;
        for (i, entry) in self.node.entries.iter().enumerate() {
            if entry.name.as_ref().map(|n| n.value.as_str()) != Some(key) {
                continue;
            }
            self.used[i] = true;
            if let Some((_, first)) = found {
                let d = Diagnostic::new(
                    Code::DuplicateSetting,
                    format!("property `{key}` is given more than once"),
                )
                .primary(entry.span, "given again here")
                .secondary(first.span, "first given here")
                .help(format!("keep one `{key}=`"));
                cx.report(d);
            } else {
                found = Some((i, entry));
            }
        }
        match found {
            Some((_, entry)) => self.typed(cx, entry, spec),
            None => {
                if spec.required {
                    self.missing(cx, spec, false);
                }
                None
            }
        }
    }

    fn missing(&self, cx: &mut Cx, spec: &ValueSpec, positional: bool) {
        if !spec.required {
            return;
        }
        let node = self.spec.name;
        let (what, example) = if positional {
            (
                format!("its {}", spec.name),
                format!("{node} <{}>", spec.name),
            )
        } else {
            (
                format!("`{}=`", spec.name),
                format!("{node} {}=...", spec.name),
            )
        };
        let d = Diagnostic::new(Code::MissingValue, format!("`{node}` needs {what}"))
            .primary(self.name_span(), format!("{} missing", spec.name))
            .help(format!(
                "{}; write `{example}`",
                spec.doc.trim_end_matches('.')
            ));
        cx.report(d);
    }

    /// Checks an entry's value against its declared type.
    fn typed(&self, cx: &mut Cx, entry: &'a Entry, spec: &ValueSpec) -> Option<Spanned<Raw<'a>>> {
        let span = entry.value_span;
        let what = match &entry.name {
            Some(n) => format!("`{}`", n.value),
            None => format!("`{}` {}", self.spec.name, spec.name),
        };
        match (spec.ty, &entry.value) {
            (ValueType::Bool, Value::Bool(b)) => Some(Spanned::new(Raw::Bool(*b), span)),
            (ValueType::Bool, other) => {
                let mut d = Diagnostic::new(
                    Code::WrongType,
                    format!("{what} must be `#true` or `#false`"),
                )
                .primary(span, format!("this is {}", describe(other)));
                if let Value::String(s) = other
                    && (s == "true" || s == "false")
                {
                    d = d.help(format!("KDL v2 writes booleans with a `#`: `#{s}`"));
                }
                cx.report(d);
                None
            }
            (ValueType::Int(min, max), Value::Integer(i)) => {
                let in_range = i64::try_from(*i).ok().filter(|v| (min..=max).contains(v));
                match in_range {
                    Some(v) => Some(Spanned::new(Raw::Int(v), span)),
                    None => {
                        cx.report(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("{what} must be between {min} and {max}"),
                            )
                            .primary(span, format!("{i} is out of range")),
                        );
                        None
                    }
                }
            }
            (ValueType::Number(min, max), Value::Integer(_) | Value::Float(_)) => {
                let n = match &entry.value {
                    Value::Integer(i) => *i as f64,
                    Value::Float(f) => *f,
                    _ => f64::NAN,
                };
                if (min..=max).contains(&n) {
                    Some(Spanned::new(Raw::Num(n), span))
                } else {
                    cx.report(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("{what} must be between {min} and {max}"),
                        )
                        .primary(span, format!("{n} is out of range")),
                    );
                    None
                }
            }
            (ValueType::Int(..) | ValueType::Number(..), other) => {
                let mut d = Diagnostic::new(Code::WrongType, format!("{what} must be a number"))
                    .primary(span, format!("this is {}", describe(other)));
                d = match other {
                    Value::Float(_) => d.help("write a whole number"),
                    Value::String(s) if s.parse::<f64>().is_ok() => {
                        d.help(format!("write it without quotes: {s}"))
                    }
                    _ => d,
                };
                cx.report(d);
                None
            }
            (ValueType::Duration, Value::String(s)) => {
                if is_duration(s) && !super::consumer_rules::duration_fits(s) {
                    cx.report(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("{what} `{s}` is too long a duration"),
                        )
                        .primary(span, "longer than 10,000 years")
                        .help(format!(
                            "Istio's durations are protobuf Durations, at most {} seconds; istiod cannot decode a longer one",
                            super::consumer_rules::MAX_DURATION_SECONDS
                        )),
                    );
                    // Reported; the value stands in, so nothing else is.
                    Some(Spanned::new(Raw::Str(s.as_str()), span))
                } else if is_duration(s) {
                    Some(Spanned::new(Raw::Str(s.as_str()), span))
                } else {
                    cx.report(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("{what} `{s}` is not a duration"),
                        )
                        .primary(span, "expected a whole number and a unit")
                        .help("write durations like \"500ms\", \"10s\", \"5m\" or \"1h\""),
                    );
                    None
                }
            }
            (_, Value::String(s)) => {
                if let Some((message, label)) =
                    super::consumer_rules::violation(self.spec.name, spec.name, s)
                {
                    cx.report(
                        Diagnostic::new(Code::InvalidValue, format!("{what}: {message}"))
                            .primary(span, label)
                            .help("meshc writes this value into an object as it is; its consumer would refuse it (`meshc explain E0007`)"),
                    );
                    // The value is still there: what refers to it reports nothing more
                    // (the error keeps anything from being written).
                    return Some(Spanned::new(Raw::Str(s.as_str()), span));
                }
                if let ValueType::Name = spec.ty {
                    check_name(cx, s, span, &what);
                }
                if let ValueType::QualifiedName = spec.ty {
                    // `namespace/name`: each part a label.
                    for part in s.splitn(2, '/') {
                        check_name(cx, part, span, &what);
                    }
                }
                if let ValueType::Enum(allowed) = spec.ty
                    && !allowed.contains(&s.as_str())
                {
                    let list: Vec<_> = allowed.iter().map(|a| format!("`{a}`")).collect();
                    let mut d =
                        Diagnostic::new(Code::InvalidValue, format!("{what} cannot be `{s}`"))
                            .primary(span, format!("expected one of {}", list.join(", ")));
                    if let Some(m) = suggest(s, allowed.iter().copied()) {
                        d = d.help(format!("did you mean `{m}`?"));
                    }
                    cx.report(d);
                    return None;
                }
                Some(Spanned::new(Raw::Str(s.as_str()), span))
            }
            (_, other) => {
                let d = Diagnostic::new(Code::WrongType, format!("{what} must be a string"))
                    .primary(span, format!("this is {}", describe(other)))
                    .help("write it in quotes, e.g. \"1.28.2\"");
                cx.report(d);
                None
            }
        }
    }

    /// Reports every entry nothing asked for.
    pub fn finish(self, cx: &mut Cx) {
        for (i, entry) in self.node.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let span = entry.span;
            let node = self.spec.name;
            let d = match &entry.name {
                Some(key) => {
                    let key_span = key.span;
                    let key = key.value.as_str();
                    let mut d = Diagnostic::new(
                        Code::UnknownProperty,
                        format!("`{node}` has no property `{key}`"),
                    )
                    .primary(key_span, "unknown property");
                    if let Some(s) = suggest(key, self.spec.props.iter().map(|p| p.name)) {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else if self.spec.props.is_empty() {
                        d = d.help(format!("`{node}` takes no properties"));
                    } else {
                        let list: Vec<_> = self
                            .spec
                            .props
                            .iter()
                            .map(|p| format!("`{}`", p.name))
                            .collect();
                        d = d.help(format!("`{node}` takes {}", list.join(", ")));
                    }
                    d
                }
                None => {
                    let n = self.spec.args.len();
                    let takes = match n {
                        0 => "no arguments".to_string(),
                        1 => "one argument".to_string(),
                        n => format!("{n} arguments"),
                    };
                    let mut d = Diagnostic::new(
                        Code::UnexpectedArgument,
                        format!("`{node}` takes {takes}"),
                    )
                    .primary(span, "unexpected argument");
                    if let (Value::String(s), Some(p)) = (&entry.value, self.spec.props.first())
                        && n == 0
                    {
                        d = d.help(format!("did you mean a property, like `{}={s}`?", p.name));
                    }
                    d
                }
            };
            cx.report(d);
        }
    }
}

fn as_string(v: Spanned<Raw<'_>>) -> Option<Spanned<String>> {
    match v.value {
        Raw::Str(s) => Some(Spanned::new(s.to_string(), v.span)),
        _ => None,
    }
}

fn as_bool(v: Spanned<Raw<'_>>) -> Option<Spanned<bool>> {
    match v.value {
        Raw::Bool(b) => Some(Spanned::new(b, v.span)),
        _ => None,
    }
}

fn as_int(v: Spanned<Raw<'_>>) -> Option<Spanned<i64>> {
    match v.value {
        Raw::Int(i) => Some(Spanned::new(i, v.span)),
        _ => None,
    }
}

/// `500ms`, `10s`, `5m`, `1h`: what Istio accepts for route and outlier durations.
pub fn is_duration(s: &str) -> bool {
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    unit_at > 0 && matches!(&s[unit_at..], "ms" | "s" | "m" | "h")
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Bool(b) => format!("the boolean #{b}"),
        Value::Null => "#null".to_string(),
    }
}

/// Is `s` a DNS-1123 label: 1 to 63 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit?
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn check_name(cx: &mut Cx, s: &str, span: Span, what: &str) {
    if is_dns_label(s) {
        return;
    }
    let fixed: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(63)
        .collect();
    let reason = if s.len() > 63 {
        "is longer than 63 characters".to_string()
    } else {
        "only lowercase letters, digits and `-`, starting and ending with a letter or digit"
            .to_string()
    };
    let mut d = Diagnostic::new(
        Code::InvalidName,
        format!("{what} `{s}` is not a DNS-1123 label"),
    )
    .primary(span, reason);
    if !fixed.is_empty() && is_dns_label(&fixed) {
        d = d.help(format!(
            "Kubernetes and Istio use this name as an identifier; try `{fixed}`"
        ));
    }
    cx.report(d);
}
