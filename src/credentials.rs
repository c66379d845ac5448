//! Literal credentials: meshc promises that credentials are only ever referenced (an
//! ExternalSecret names a key of the store, a PushSecret copies a token the cluster made),
//! never written into the output, which is committed to Git and read by everyone who can
//! read the repository. This module finds the ways a credential can still be typed into a
//! topology or come out of a template, and makes each an `E1001`:
//!
//! - a URL (or an image reference) with userinfo: `https://user:token@git.example/…`,
//!   `user:token@registry.example/app:1`;
//! - a string in a known token format: GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`,
//!   `github_pat_`), GitLab (`glpat-`), Slack (`xoxb-`, `xoxp-`, …), AWS access key ids
//!   (`AKIA` and 16 more), Google API keys (`AIza`), Stripe live keys, JSON Web Tokens
//!   (`eyJ…` with three parts), PEM private keys, and `Bearer` / `Basic` authorization
//!   values;
//! - a `Secret` from a template that carries `data` or `stringData`.
//!
//! Scanning the syntax tree (every string of every node) rather than chosen properties
//! means a new property cannot forget the rule.

use serde_json::Value;

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::tree::{Document, Node, Value as KdlValue};

/// Why `s` is (or holds) a credential, if it is.
pub fn credential_in(s: &str) -> Option<&'static str> {
    if has_userinfo(s) {
        return Some("a URL with a user name and password (or token) in it");
    }
    known_token(s)
}

/// `scheme://user[:password]@host…`, or an image reference `user:password@registry/…`.
fn has_userinfo(s: &str) -> bool {
    if let Some((scheme, rest)) = s.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        return authority.contains('@');
    }
    // An image reference has no scheme; `name@sha256:…` is a digest, not userinfo.
    let head = s.split('/').next().unwrap_or("");
    if let Some((user, host)) = head.split_once('@') {
        return user.contains(':')
            && !user.is_empty()
            && s.contains('/')
            && !host.is_empty()
            && !host.starts_with("sha256:");
    }
    false
}

/// A token in a format its issuer documents.
fn known_token(s: &str) -> Option<&'static str> {
    let t = s.trim();
    let word = |p: &str, min: usize| {
        t.strip_prefix(p).is_some_and(|r| {
            r.len() >= min
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
    };
    if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| word(p, 30))
        || word("github_pat_", 30)
    {
        return Some("a GitHub token");
    }
    if word("glpat-", 20) {
        return Some("a GitLab token");
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| word(p, 10))
    {
        return Some("a Slack token");
    }
    if ["AKIA", "ASIA"].iter().any(|p| {
        t.strip_prefix(p).is_some_and(|r| {
            r.len() == 16
                && r.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
    }) {
        return Some("an AWS access key id");
    }
    if word("AIza", 35) {
        return Some("a Google API key");
    }
    if word("sk_live_", 20) || word("rk_live_", 20) {
        return Some("a Stripe secret key");
    }
    if t.starts_with("eyJ") && t.split('.').count() == 3 && t.len() > 30 {
        return Some("a JSON Web Token");
    }
    if t.contains("-----BEGIN") && t.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    for scheme in ["Bearer ", "Basic ", "bearer ", "basic "] {
        if t.strip_prefix(scheme).is_some_and(|r| r.trim().len() >= 8) {
            return Some("an HTTP Authorization value with its credential");
        }
    }
    None
}

fn literal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::LiteralCredential,
        format!("this is {what}: meshc would write it into the output, which is committed to Git"),
    )
    .primary(span, "a credential, written in the topology")
    .help("keep credentials in the secret store and reference them (`secrets` and the GitOps tool's own credentials); rotate this one, it has been committed")
}

/// Every string of every node of `doc` that is a credential.
pub fn scan_document(doc: &Document) -> Vec<Diagnostic> {
    fn walk(n: &Node, out: &mut Vec<Diagnostic>) {
        for e in &n.entries {
            if let KdlValue::String(s) = &e.value
                && let Some(what) = credential_in(s)
            {
                out.push(literal(e.value_span, what));
            }
        }
        for c in &n.children {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    for n in &doc.nodes {
        walk(n, &mut out);
    }
    out
}

/// Why an object a template rendered carries a credential, if it does: a `Secret` with
/// data, or any string in it that is one.
pub fn in_template_object(doc: &Value) -> Option<String> {
    if doc["kind"] == "Secret"
        && ["data", "stringData"]
            .iter()
            .any(|k| doc.get(k).is_some_and(|v| !v.is_null()))
    {
        return Some("a Secret with `data` or `stringData`".to_string());
    }
    fn walk(v: &Value, path: &mut Vec<String>) -> Option<String> {
        match v {
            Value::String(s) => {
                credential_in(s).map(|what| format!("{what} at `{}`", path.join(".")))
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
                path.push(i.to_string());
                let r = walk(x, path);
                path.pop();
                r
            }),
            Value::Object(map) => map.iter().find_map(|(k, x)| {
                path.push(k.clone());
                let r = walk(x, path);
                path.pop();
                r
            }),
            _ => None,
        }
    }
    walk(doc, &mut Vec::new())
}
