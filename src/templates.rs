//! User extension templates (after render, before emit): each `template` of a mesh is
//! rendered with minijinja for every cluster of the mesh (or every service in every
//! cluster), with the checked model as context, in strict mode. The output is parsed back
//! as YAML, each document checked to be a Kubernetes object, and added to the cluster's
//! objects, so it is written, named, quoted and listed like meshc's own. Errors become
//! diagnostics on the template's line and on the `template` node.
//!
//! Template texts are source files ([`Sources`]); reading them is the caller's (the CLI
//! passes a loader to [`crate::compile_with`]).

use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Value, json};

use crate::ast::{Template, TemplateFor, TemplateLayer};
use crate::diag::{Code, Diagnostic};
use crate::model::{Mesh, Model, Role};
use crate::render::{Layer, Object, Origin, Place, Rendered};
use crate::source::{FileId, Sources, Span};

/// A template of mesh `mesh`, with its text in `file`.
pub struct Loaded<'a> {
    pub mesh: usize,
    pub template: &'a Template,
    pub file: FileId,
}

fn cluster_context(mesh: &Mesh, i: usize) -> Value {
    let c = &mesh.clusters[i];
    let role = match c.role {
        Role::Primary => "primary",
        Role::Remote { .. } => "remote",
        Role::External => "external",
    };
    json!({
        "name": c.name,
        "network": c.network,
        "region": c.region,
        "zone": c.zone,
        "role": role,
        "holds_config": mesh.holds_config(i),
        "istio_namespace": mesh.istiod_namespace(i),
    })
}

fn mesh_context(mesh: &Mesh) -> Value {
    json!({
        "name": mesh.name,
        "trust_domain": mesh.trust_domain,
        "networks": mesh.networks,
        "clusters": mesh.clusters.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "namespaces": mesh.namespaces.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
    })
}

fn service_context(mesh: &Mesh, s: &crate::model::Service, i: usize) -> Value {
    json!({
        "name": s.name,
        "namespace": s.namespace,
        "host": s.fqdn(),
        "ports": s.ports.iter().map(|p| json!({ "name": p.name, "number": p.number, "protocol": p.protocol })).collect::<Vec<_>>(),
        "versions": s.versions(),
        "clusters": s.deploys.iter().map(|d| mesh.clusters[d.cluster].name.clone()).collect::<Vec<_>>(),
        "runs_here": s.runs_in(i),
    })
}

/// The span of the failing part of a template: minijinja's byte range, or its line.
fn error_span(sources: &Sources, file: FileId, err: &minijinja::Error) -> Span {
    let text: &str = &sources.get(file).text;
    if let Some(r) = err.range()
        && r.end <= text.len()
        && r.start < r.end
    {
        return Span::new(file, r.start, r.end);
    }
    let line = err.line().unwrap_or(1).max(1);
    let start = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum::<usize>()
        .min(text.len());
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    Span::new(file, start, end.max(start))
}

pub fn expand(
    model: &Model,
    templates: &[Loaded<'_>],
    sources: &Sources,
    rendered: &mut Rendered,
) -> Vec<Diagnostic> {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let report = |d: Diagnostic, diags: &mut Vec<Diagnostic>| {
        if !diags
            .iter()
            .any(|e| e.code == d.code && e.labels == d.labels && e.message == d.message)
        {
            diags.push(d);
        }
    };
    for t in templates {
        let mesh = &model.meshes[t.mesh];
        let file = sources.get(t.file);
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Errors say which name is undefined in every build, not only in debug builds
        // (minijinja's default follows `cfg!(debug_assertions)`).
        env.set_debug(true);
        // A template that loops without end stops with a diagnostic.
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        if let Err(e) = env.add_template(&file.name, &file.text) {
            report(template_error(sources, t, &e), &mut diags);
            continue;
        }
        let Ok(tmpl) = env.get_template(&file.name) else {
            continue;
        };
        for i in 0..mesh.clusters.len() {
            let mut contexts = Vec::new();
            let base = json!({
                "istio": { "version": model.istio.version.to_string() },
                "mesh": mesh_context(mesh),
                "cluster": cluster_context(mesh, i),
            });
            match t.template.for_each {
                TemplateFor::Cluster => contexts.push((base, String::new())),
                TemplateFor::Service => {
                    for s in &mesh.services {
                        let mut ctx = base.clone();
                        ctx["service"] = service_context(mesh, s, i);
                        contexts.push((ctx, format!(", service {}", s.name)));
                    }
                }
            }
            for (ctx, what) in contexts {
                let text = match tmpl.render(minijinja::Value::from(minijinja::value::Serde(&ctx)))
                {
                    Ok(text) => text,
                    Err(e) => {
                        report(template_error(sources, t, &e), &mut diags);
                        continue;
                    }
                };
                let cluster = &mesh.clusters[i].name;
                let origin = Origin {
                    span: t.template.node,
                    path: format!(
                        "mesh {} > template {} (cluster {cluster}{what})",
                        mesh.name, t.template.path.value
                    ),
                };
                match objects(&text) {
                    Ok(docs) => {
                        let Some(out) = rendered.clusters.iter_mut().find(|c| c.name == *cluster)
                        else {
                            continue;
                        };
                        for doc in docs {
                            let privileged =
                                t.template.privileged.as_ref().is_some_and(|p| p.value);
                            if !privileged && let Some(why) = privileged_kind(&doc) {
                                let kind = doc["kind"].as_str().unwrap_or("");
                                let name = doc["metadata"]["name"].as_str().unwrap_or("");
                                report(
                                    on_template(
                                        t,
                                        Code::TemplatePrivileged,
                                        format!(
                                            "template `{}` writes {kind} `{name}`, {why} (cluster `{cluster}`{what})",
                                            t.template.path.value
                                        ),
                                        "not `privileged=#true`",
                                        "such an object can change what everything in the cluster may do; if the template is meant to write it, say so with `privileged=#true` on the `template` node, so review sees it",
                                    ),
                                    &mut diags,
                                );
                                continue;
                            }
                            if let Some(why) = crate::credentials::in_template_object(&doc) {
                                report(
                                    on_template(
                                        t,
                                        Code::LiteralCredential,
                                        format!(
                                            "template `{}` renders {why} (cluster `{cluster}`{what}): meshc would write it into the output, which is committed to Git",
                                            t.template.path.value
                                        ),
                                        "renders a credential",
                                        "templates reference credentials, they never hold them: render an ExternalSecret that names a key of the secret store",
                                    ),
                                    &mut diags,
                                );
                                continue;
                            }
                            let place = Place::Layer(match t.template.layer {
                                TemplateLayer::Mesh => Layer::Mesh,
                                TemplateLayer::Services => Layer::Services,
                            });
                            let object = Object::new(place, Arc::new(doc), origin.clone());
                            // One identity per object, and one file per object: dotted names
                            // could otherwise meet in a file name.
                            let file = crate::emit::file_name(&object);
                            let same = |o: &Object| {
                                (o.kind() == object.kind()
                                    && o.namespace() == object.namespace()
                                    && o.name() == object.name())
                                    || (o.place == object.place
                                        && crate::emit::file_name(o) == file)
                            };
                            if let Some(other) = out.objects.iter().find(|o| same(o)) {
                                let msg = format!(
                                    "template `{}` writes {} `{}` in cluster `{cluster}`, which {} already writes",
                                    t.template.path.value,
                                    object.kind(),
                                    object.name(),
                                    other.origin.path
                                );
                                report(
                                    output_error(
                                        t,
                                        msg,
                                        "two objects with one kind, namespace and name",
                                    ),
                                    &mut diags,
                                );
                                continue;
                            }
                            out.objects.push(object);
                        }
                    }
                    Err(why) => report(
                        output_error(
                            t,
                            format!(
                                "template `{}` renders {why} (cluster `{cluster}`{what})",
                                t.template.path.value
                            ),
                            "output is not Kubernetes objects",
                        ),
                        &mut diags,
                    ),
                }
            }
        }
    }
    diags
}

/// The instructions one rendering of a template may run (minijinja's fuel): about a
/// second of work, a thousand times what the shipped templates use.
const FUEL: u64 = 10_000_000;

fn template_error(sources: &Sources, t: &Loaded<'_>, e: &minijinja::Error) -> Diagnostic {
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        return Diagnostic::new(
            Code::TemplateError,
            format!(
                "template `{}` does not finish: it ran {FUEL} steps in one rendering",
                t.template.path.value
            ),
        )
        .primary(t.template.path.span, "runs without end, or nearly")
        .help("look for loops nested in loops; a template renders once per cluster (or per service in each cluster) and should take a few thousand steps");
    }
    let detail = e
        .detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    Diagnostic::new(
        Code::TemplateError,
        format!(
            "template `{}` does not render: {detail}",
            t.template.path.value
        ),
    )
    .primary(error_span(sources, t.file, e), detail)
    .secondary(t.template.path.span, "template named here")
    .help(
        "templates render in strict mode; see `meshc explain E0801` for the names the context has",
    )
}

fn output_error(t: &Loaded<'_>, message: String, label: &str) -> Diagnostic {
    on_template(
        t,
        Code::TemplateOutput,
        message,
        label,
        "every document must be a Kubernetes object with `apiVersion`, `kind` and `metadata.name`, unique in its cluster",
    )
}

/// A diagnostic about what a template rendered, on its `template` node.
fn on_template(t: &Loaded<'_>, code: Code, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(code, message)
        .primary(t.template.path.span, label)
        .help(help)
}

/// Parses a template's output into objects, or says what is wrong with it.
fn objects(text: &str) -> Result<Vec<Value>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| {
        format!(
            "invalid YAML ({})",
            e.to_string().lines().next().unwrap_or("")
        )
    })?;
    let mut out = Vec::new();
    for (n, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let n = n + 1;
        if !doc.is_object() {
            return Err(format!("document {n} that is not a mapping"));
        }
        for field in ["apiVersion", "kind"] {
            if doc[field].as_str().is_none_or(|s| s.is_empty()) {
                return Err(format!("document {n} without `{field}`"));
            }
        }
        let kind = doc["kind"].as_str().unwrap_or("");
        if !is_kind(kind) {
            return Err(format!(
                "document {n} whose `kind` `{}` is not a Kubernetes kind (letters, digits and `-`, starting with a letter, at most 63)",
                kind.escape_debug()
            ));
        }
        let name = doc["metadata"]["name"].as_str().unwrap_or("");
        if name.is_empty() {
            return Err(format!(
                "document {n} ({}) without `metadata.name`",
                doc["kind"].as_str().unwrap_or("")
            ));
        }
        if !is_dns_subdomain(name) {
            return Err(format!(
                "document {n} ({}) whose `metadata.name` `{name}` is not a valid Kubernetes name",
                doc["kind"].as_str().unwrap_or("")
            ));
        }
        if let Some(ns) = doc["metadata"].get("namespace")
            && !ns.as_str().is_some_and(crate::lower::reader::is_dns_label)
        {
            return Err(format!(
                "document {n} ({name}) whose `metadata.namespace` is not a DNS label"
            ));
        }
        // The object's file is `<kind>-<name>[.<namespace>].yaml` (`emit::file_name`).
        let namespace = doc["metadata"]["namespace"]
            .as_str()
            .map_or(0, |ns| ns.len() + 1);
        let file_name = kind.len() + 1 + name.len() + namespace + ".yaml".len();
        if file_name > MAX_FILE_NAME {
            return Err(format!(
                "document {n} ({kind} `{name}`), whose file name would be {file_name} bytes long, over the {MAX_FILE_NAME} that file systems allow; use a shorter name"
            ));
        }
        out.push(doc);
    }
    Ok(out)
}

/// Why an object needs `privileged=#true` on its template, if it does: RBAC, and the
/// cluster-scoped kinds a template might write (the API server's built-in ones and those
/// of the operators meshc works with). An object whose kind is cluster-scoped is not in
/// any namespace whatever its `metadata.namespace` says, and applies to the whole cluster.
fn privileged_kind(doc: &Value) -> Option<&'static str> {
    let kind = doc["kind"].as_str().unwrap_or("");
    let group = doc["apiVersion"]
        .as_str()
        .unwrap_or("")
        .rsplit_once('/')
        .map_or("", |(g, _)| g);
    if group == "rbac.authorization.k8s.io" {
        return Some("an RBAC object");
    }
    const CLUSTER_SCOPED: &[&str] = &[
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "APIService",
        "PriorityClass",
        "PersistentVolume",
        "StorageClass",
        "RuntimeClass",
        "IngressClass",
        "CSIDriver",
        "Node",
        "CertificateSigningRequest",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "ClusterIssuer",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "ClusterPushSecret",
        "GatewayClass",
    ];
    CLUSTER_SCOPED
        .contains(&kind)
        .then_some("which is cluster-scoped")
}

/// The longest file name Linux file systems (ext4, xfs, btrfs: `NAME_MAX`), macOS and
/// Windows accept, in bytes.
const MAX_FILE_NAME: usize = 255;

/// A kind the API server accepts for a custom resource: lowercased, a DNS-1035 label
/// (`ValidateCustomResourceDefinitionNames` in kubernetes
/// `staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go`:
/// "may have mixed case, but should otherwise match" `IsDNS1035Label`). Every built-in kind
/// is one too. Besides being what Kubernetes accepts, this keeps a kind usable in a file
/// name: no `/`, `.` or `..` can reach a path.
fn is_kind(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// Kubernetes object names: DNS-1123 subdomains, each dot-separated part a label.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(crate::lower::reader::is_dns_label)
}
