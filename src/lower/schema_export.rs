//! The language's schema as files for tools: a JSON Schema (draft 2020-12) of the
//! topology's JSON form, and a KDL Schema Language document. Both are generated from the
//! schema table (`schema.rs`) that lowering reads nodes with; `schema/` holds them and a
//! test keeps them current.
//!
//! The JSON form of a topology: each node is an object whose fields are its arguments
//! (named as in the schema), its properties and its children; children that may repeat
//! are arrays. For example `cluster c1 network=aws { control-plane primary }` is
//! `{"name": "c1", "network": "aws", "control-plane": {"model": "primary"}}`.

use serde_json::{Map, Value, json};

use super::schema::{DOCUMENT, NodeSpec, ValueSpec, ValueType};

/// A DNS-1123 label, optionally after another and a `/` (`namespace/name`).
const QUALIFIED_NAME: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

fn value_schema(v: &ValueSpec) -> Value {
    let mut s = match v.ty {
        ValueType::String => json!({ "type": "string" }),
        ValueType::Name => {
            json!({ "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63 })
        }
        ValueType::QualifiedName => json!({ "type": "string", "pattern": QUALIFIED_NAME }),
        ValueType::Bool => json!({ "type": "boolean" }),
        ValueType::Enum(words) => json!({ "type": "string", "enum": words }),
        ValueType::Int(min, max) => json!({ "type": "integer", "minimum": min, "maximum": max }),
        ValueType::Number(min, max) => json!({ "type": "number", "minimum": min, "maximum": max }),
        ValueType::Duration => json!({ "type": "string", "pattern": "^[0-9]+(ms|s|m|h)$" }),
    };
    s["description"] = json!(v.doc);
    s
}

fn node_schema(spec: &'static NodeSpec) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for v in spec.args.iter().chain(spec.props.iter()) {
        props.insert(v.name.to_string(), value_schema(v));
        if v.required {
            required.push(v.name);
        }
    }
    for c in spec.children {
        let child = node_schema(c);
        let child = if c.repeatable {
            json!({ "type": "array", "items": child })
        } else {
            child
        };
        props.insert(c.name.to_string(), child);
    }
    let mut s = json!({ "type": "object", "description": spec.doc, "properties": props });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    match spec.free_props {
        Some((what, ty)) => {
            let v = ValueSpec {
                name: what,
                ty,
                required: false,
                doc: "",
            };
            let mut item = value_schema(&v);
            item["description"] = json!(format!("one property per {what}"));
            s["additionalProperties"] = item;
        }
        None => s["additionalProperties"] = json!(false),
    }
    s
}

/// JSON Schema of a topology's JSON form.
pub fn json_schema() -> String {
    let mut root = node_schema(&DOCUMENT);
    let mut out = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://meshc.dev/schema/topology.schema.json",
        "title": "meshc topology",
    });
    if let (Some(o), Some(r)) = (out.as_object_mut(), root.as_object_mut()) {
        for (k, v) in std::mem::take(r) {
            o.insert(k, v);
        }
    }
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}

fn kdl_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn kdl_value(v: &ValueSpec, indent: &str, out: &mut String) {
    let ty = match v.ty {
        ValueType::Bool => "boolean",
        ValueType::Int(..) => "integer",
        ValueType::Number(..) => "number",
        _ => "string",
    };
    out.push_str(&format!("{indent}    type {}\n", kdl_string(ty)));
    if v.required {
        out.push_str(&format!("{indent}    required #true\n"));
    }
    match v.ty {
        ValueType::Enum(words) => {
            let list: Vec<String> = words.iter().map(|w| kdl_string(w)).collect();
            out.push_str(&format!("{indent}    enum {}\n", list.join(" ")));
        }
        ValueType::Name => out.push_str(&format!(
            "{indent}    pattern {}\n",
            kdl_string("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        )),
        ValueType::QualifiedName => out.push_str(&format!(
            "{indent}    pattern {}\n",
            kdl_string(QUALIFIED_NAME)
        )),
        ValueType::Duration => out.push_str(&format!(
            "{indent}    pattern {}\n",
            kdl_string("^[0-9]+(ms|s|m|h)$")
        )),
        // In the KDL Schema Language `min`/`max` count occurrences; ranges are `>=`/`<=`.
        ValueType::Int(min, max) => out.push_str(&format!(
            "{indent}    \">=\" {min}\n{indent}    \"<=\" {max}\n"
        )),
        ValueType::Number(min, max) => out.push_str(&format!(
            "{indent}    \">=\" {min:?}\n{indent}    \"<=\" {max:?}\n"
        )),
        _ => {}
    }
}

fn kdl_node(spec: &'static NodeSpec, indent: &str, out: &mut String) {
    out.push_str(&format!("{indent}node {} {{\n", kdl_string(spec.name)));
    out.push_str(&format!(
        "{indent}    description {}\n",
        kdl_string(spec.doc)
    ));
    if !spec.repeatable {
        out.push_str(&format!("{indent}    max 1\n"));
    }
    for a in spec.args {
        out.push_str(&format!(
            "{indent}    value {{\n{indent}        description {}\n",
            kdl_string(&format!("{}: {}", a.name, a.doc))
        ));
        kdl_value(a, &format!("{indent}    "), out);
        out.push_str(&format!("{indent}    }}\n"));
    }
    for p in spec.props {
        out.push_str(&format!(
            "{indent}    prop {} {{\n{indent}        description {}\n",
            kdl_string(p.name),
            kdl_string(p.doc)
        ));
        kdl_value(p, &format!("{indent}    "), out);
        out.push_str(&format!("{indent}    }}\n"));
    }
    if let Some((what, _)) = spec.free_props {
        // Property names are the user's (one per version); meshc checks their values.
        out.push_str(&format!("{indent}    // one property per {what}, a whole number\n{indent}    other-props-allowed #true\n"));
    }
    if !spec.children.is_empty() {
        out.push_str(&format!("{indent}    children {{\n"));
        for c in spec.children {
            kdl_node(c, &format!("{indent}        "), out);
        }
        out.push_str(&format!("{indent}    }}\n"));
    }
    out.push_str(&format!("{indent}}}\n"));
}

/// A KDL Schema Language document of the topology language.
pub fn kdl_schema() -> String {
    let mut out = String::from(
        "// The meshc topology language, in the KDL Schema Language. Generated by meshc from\n// src/lower/schema.rs; do not edit.\ndocument {\n    info {\n        title \"meshc topology\"\n        description \"A KDL v2 description of Istio meshes, networks, clusters, services and traffic policy.\"\n    }\n",
    );
    for c in DOCUMENT.children {
        kdl_node(c, "    ", &mut out);
    }
    out.push_str("}\n");
    out
}
