//! Lowering: KDL documents → [`Ast`]. One function per node kind, each reading its node
//! through a [`NodeReader`] against the schema table. Lowering checks only the shape of
//! single nodes (types, names, unknown or repeated entries); everything that needs more
//! than one node is the checker's. It never stops at the first problem.

mod consumer_rules;
pub mod reader;
pub mod schema;
pub mod schema_export;
mod service;

use crate::syntax::tree::{Document, Node};

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};
use reader::{Cx, NodeReader};
use schema as s;

/// Lowers every parsed file into one syntax tree.
pub fn lower(docs: &[(FileId, &Document)]) -> (Ast, Vec<Diagnostic>) {
    let mut ast = Ast::default();
    let mut diags = Vec::new();
    for (file, doc) in docs {
        let mut cx = Cx {
            file: *file,
            diags: Vec::new(),
        };
        lower_document(&mut cx, doc, &mut ast);
        diags.append(&mut cx.diags);
    }
    (ast, diags)
}

fn lower_document(cx: &mut Cx, doc: &Document, ast: &mut Ast) {
    for node in &doc.nodes {
        match node.name.value.as_str() {
            "istio" => {
                if !cx.duplicate(&ast.istio, ast.istio.as_ref().map(|i| i.node), node) {
                    ast.istio = Some(lower_istio(cx, node));
                }
            }
            "gitops" => {
                if !cx.duplicate(&ast.gitops, ast.gitops.as_ref().map(|g| g.node), node) {
                    ast.gitops = lower_gitops(cx, node);
                }
            }
            "secrets" => {
                if !cx.duplicate(&ast.secrets, ast.secrets.as_ref().map(|g| g.node), node) {
                    ast.secrets = lower_secrets(cx, node);
                }
            }
            "mesh" => {
                if let Some(m) = lower_mesh(cx, node) {
                    match ast.meshes.iter_mut().find(|e| e.name.value == m.name.value) {
                        Some(existing) => merge_mesh(cx, existing, m),
                        None => ast.meshes.push(m),
                    }
                }
            }
            _ => cx.unknown_node(node, &s::DOCUMENT),
        }
    }
}

/// Blocks of one mesh, in one file or several (a large organisation splits a mesh by team),
/// are one mesh: lists are concatenated in source order, and a setting may be given in one
/// block only.
fn merge_mesh(cx: &mut Cx, into: &mut Mesh, from: Mesh) {
    fn once<T>(
        cx: &mut Cx,
        slot: &mut Option<T>,
        other: Option<T>,
        what: &str,
        span: impl Fn(&T) -> Span,
    ) {
        let Some(v) = other else { return };
        match slot {
            Some(first) => cx.report(
                Diagnostic::new(crate::diag::Code::DuplicateSetting, format!("`{what}` is given in two blocks of the same mesh"))
                    .primary(span(&v), "given again here")
                    .secondary(span(first), "first given here")
                    .help(format!("a mesh may be split over several blocks or files, but each setting belongs in one; keep one `{what}`")),
            ),
            None => *slot = Some(v),
        }
    }
    once(
        cx,
        &mut into.trust_domain,
        from.trust_domain,
        "trust-domain",
        |t| t.span,
    );
    once(cx, &mut into.mtls, from.mtls, "mtls", |t| t.span);
    once(cx, &mut into.dns_proxy, from.dns_proxy, "dns-proxy", |t| {
        t.span
    });
    once(cx, &mut into.ca, from.ca, "ca", |c| c.node);
    once(
        cx,
        &mut into.trust_bundle,
        from.trust_bundle,
        "trust-bundle",
        |t| t.span,
    );
    once(cx, &mut into.telemetry, from.telemetry, "telemetry", |t| {
        t.node
    });
    into.networks.extend(from.networks);
    into.clusters.extend(from.clusters);
    into.namespaces.extend(from.namespaces);
    into.services.extend(from.services);
    into.externals.extend(from.externals);
    into.ingresses.extend(from.ingresses);
    into.templates.extend(from.templates);
}

/// Children of a node that takes none.
pub(crate) fn no_children(cx: &mut Cx, r: &NodeReader<'_>) {
    for child in r.children() {
        cx.unknown_node(child, r.spec);
    }
}

fn lower_istio(cx: &mut Cx, node: &Node) -> Istio {
    let mut r = NodeReader::new(node, &s::ISTIO);
    let istio = Istio {
        node: r.name_span(),
        version: r.prop_str(cx, "version"),
        charts: r.prop_str(cx, "charts"),
        hub: r.prop_str(cx, "hub"),
    };
    no_children(cx, &r);
    r.finish(cx);
    istio
}

fn lower_gitops(cx: &mut Cx, node: &Node) -> Option<Gitops> {
    let mut r = NodeReader::new(node, &s::GITOPS);
    let tool = r.arg_str(cx, 0).map(|t| {
        let tool = if t.value == "flux" {
            GitopsTool::Flux
        } else {
            GitopsTool::Argocd
        };
        Spanned::new(tool, t.span)
    });
    let g = Some(Gitops {
        node: r.name_span(),
        tool,
        repo: r.prop_str(cx, "repo"),
        revision: r.prop_str(cx, "revision"),
        path: r.prop_str(cx, "path"),
        project: r.prop_str(cx, "project"),
        namespace: r.prop_str(cx, "namespace"),
        source: r.prop_str(cx, "source"),
    });
    no_children(cx, &r);
    r.finish(cx);
    g
}

fn lower_secrets(cx: &mut Cx, node: &Node) -> Option<Secrets> {
    let mut r = NodeReader::new(node, &s::SECRETS);
    r.arg_str(cx, 0);
    let secrets = Secrets {
        node: r.name_span(),
        store: r.prop_str(cx, "store"),
        store_kind: r.prop_str(cx, "store-kind").map(|k| {
            let kind = if k.value == "SecretStore" {
                StoreKind::SecretStore
            } else {
                StoreKind::ClusterSecretStore
            };
            Spanned::new(kind, k.span)
        }),
        prefix: r.prop_str(cx, "prefix"),
    };
    no_children(cx, &r);
    r.finish(cx);
    Some(secrets)
}

fn lower_mesh(cx: &mut Cx, node: &Node) -> Option<Mesh> {
    let mut r = NodeReader::new(node, &s::MESH);
    let name = r.arg_str(cx, 0);
    let mut mesh = Mesh {
        node: r.node_span(),
        name: name
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        trust_domain: None,
        mtls: None,
        dns_proxy: None,
        ca: None,
        networks: Vec::new(),
        clusters: Vec::new(),
        namespaces: Vec::new(),
        trust_bundle: None,
        services: Vec::new(),
        externals: Vec::new(),
        ingresses: Vec::new(),
        telemetry: None,
        templates: Vec::new(),
    };
    let children = r.children();
    r.finish(cx);
    for child in children {
        match child.name.value.as_str() {
            "trust-domain" => {
                let first = mesh.trust_domain.as_ref().map(|t| t.span);
                if !cx.duplicate(&mesh.trust_domain, first, child) {
                    mesh.trust_domain = single_arg(cx, child, &s::TRUST_DOMAIN);
                }
            }
            "mtls" => {
                let first = mesh.mtls.as_ref().map(|t| t.span);
                if !cx.duplicate(&mesh.mtls, first, child) {
                    mesh.mtls = single_arg(cx, child, &s::MTLS).map(|m| {
                        let mode = if m.value == "permissive" {
                            Mtls::Permissive
                        } else {
                            Mtls::Strict
                        };
                        Spanned::new(mode, m.span)
                    });
                }
            }
            "dns-proxy" => {
                let first = mesh.dns_proxy.as_ref().map(|t| t.span);
                if !cx.duplicate(&mesh.dns_proxy, first, child) {
                    let mut cr = NodeReader::new(child, &s::DNS_PROXY);
                    mesh.dns_proxy = cr.arg_bool(cx, 0);
                    no_children(cx, &cr);
                    cr.finish(cx);
                }
            }
            "ca" => {
                let first = mesh.ca.as_ref().map(|c| c.node);
                if !cx.duplicate(&mesh.ca, first, child) {
                    mesh.ca = lower_ca(cx, child);
                }
            }
            "network" => {
                if let Some(n) = single_arg(cx, child, &s::NETWORK) {
                    mesh.networks.push(n);
                }
            }
            "cluster" => {
                if let Some(c) = lower_cluster(cx, child) {
                    mesh.clusters.push(c);
                }
            }
            "namespace" => {
                let mut cr = NodeReader::new(child, &s::NAMESPACE);
                let ns = cr.arg_str(cx, 0).map(|name| Namespace {
                    node: cr.name_span(),
                    name,
                    injection: None,
                });
                let injection = cr.prop_bool(cx, "injection");
                no_children(cx, &cr);
                cr.finish(cx);
                if let Some(mut ns) = ns {
                    ns.injection = injection;
                    mesh.namespaces.push(ns);
                }
            }
            "trust-bundle" => {
                let first = mesh.trust_bundle.as_ref().map(|t| t.span);
                if !cx.duplicate(&mesh.trust_bundle, first, child) {
                    mesh.trust_bundle = single_arg(cx, child, &s::TRUST_BUNDLE);
                }
            }
            "service" => mesh.services.extend(service::service(cx, child)),
            "template" => {
                let mut cr = NodeReader::new(child, &s::TEMPLATE);
                let path = cr.arg_str(cx, 0);
                let for_each = match cr.prop_str(cx, "for").as_ref().map(|f| f.value.as_str()) {
                    Some("service") => TemplateFor::Service,
                    _ => TemplateFor::Cluster,
                };
                let layer = match cr.prop_str(cx, "layer").as_ref().map(|l| l.value.as_str()) {
                    Some("mesh") => TemplateLayer::Mesh,
                    _ => TemplateLayer::Services,
                };
                let privileged = cr.prop_bool(cx, "privileged");
                no_children(cx, &cr);
                let node = cr.name_span();
                cr.finish(cx);
                mesh.templates.extend(path.map(|path| Template {
                    node,
                    path,
                    for_each,
                    layer,
                    privileged,
                }));
            }
            "external" => mesh.externals.extend(service::external(cx, child)),
            "ingress" => mesh.ingresses.extend(service::ingress(cx, child)),
            "telemetry" => {
                let first = mesh.telemetry.as_ref().map(|t| t.node);
                if !cx.duplicate(&mesh.telemetry, first, child) {
                    mesh.telemetry = service::telemetry(cx, child);
                }
            }
            _ => cx.unknown_node(child, &s::MESH),
        }
    }
    name.map(|_| mesh)
}

/// A node whose only content is one string argument (`network aws`, `mtls strict`).
pub(crate) fn single_arg(
    cx: &mut Cx,
    node: &Node,
    spec: &'static s::NodeSpec,
) -> Option<Spanned<String>> {
    let mut r = NodeReader::new(node, spec);
    let v = r.arg_str(cx, 0);
    no_children(cx, &r);
    r.finish(cx);
    v
}

fn lower_ca(cx: &mut Cx, node: &Node) -> Option<Ca> {
    let mut r = NodeReader::new(node, &s::CA);
    let kind = r.arg_str(cx, 0);
    let issuer = r.prop_str(cx, "issuer");
    let issuer_kind = r.prop_str(cx, "issuer-kind").map(|k| {
        let kind = if k.value == "Issuer" {
            IssuerKind::Issuer
        } else {
            IssuerKind::ClusterIssuer
        };
        Spanned::new(kind, k.span)
    });
    let key = r.prop_str(cx, "key");
    let root = r.prop_str(cx, "root");
    no_children(cx, &r);
    let node_span = r.name_span();
    r.finish(cx);
    let kind = kind?;
    // Properties of the other source are reported as unknown for this one.
    let foreign: Vec<(&str, Span)> = if kind.value == "cert-manager" {
        key.iter().map(|k| ("key", k.span)).collect()
    } else {
        issuer
            .iter()
            .map(|i| ("issuer", i.span))
            .chain(issuer_kind.iter().map(|i| ("issuer-kind", i.span)))
            .collect()
    };
    for (prop, span) in foreign {
        let d = Diagnostic::new(
            crate::diag::Code::UnknownProperty,
            format!("`ca {}` has no property `{prop}`", kind.value),
        )
        .primary(span, "belongs to the other kind of `ca`")
        .help(if kind.value == "cert-manager" {
            "`ca cert-manager` takes `issuer=` and `issuer-kind=`".to_string()
        } else {
            "`ca external-secret` takes `key=`".to_string()
        });
        cx.report(d);
    }
    let source = if kind.value == "cert-manager" {
        CaSource::CertManager {
            issuer,
            issuer_kind,
        }
    } else {
        CaSource::ExternalSecret { key }
    };
    Some(Ca {
        node: node_span,
        source,
        root,
    })
}

fn lower_cluster(cx: &mut Cx, node: &Node) -> Option<Cluster> {
    let mut r = NodeReader::new(node, &s::CLUSTER);
    let name = r.arg_str(cx, 0);
    let mut cluster = Cluster {
        node: r.name_span(),
        name: name
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        network: r.prop_str(cx, "network"),
        region: r.prop_str(cx, "region"),
        zone: r.prop_str(cx, "zone"),
        control_plane: None,
        api_server: None,
        api_server_tls_name: None,
        api_server_ca: None,
        east_west_address: None,
    };
    let children = r.children();
    r.finish(cx);
    for child in children {
        match child.name.value.as_str() {
            "control-plane" => {
                let first = cluster.control_plane.as_ref().map(|c| c.node);
                if !cx.duplicate(&cluster.control_plane, first, child) {
                    cluster.control_plane = lower_control_plane(cx, child);
                }
            }
            "api-server" => {
                let first = cluster.api_server.as_ref().map(|c| c.span);
                if !cx.duplicate(&cluster.api_server, first, child) {
                    let mut r = NodeReader::new(child, &s::API_SERVER);
                    cluster.api_server = r.arg_str(cx, 0);
                    cluster.api_server_tls_name = r.prop_str(cx, "tls-server-name");
                    cluster.api_server_ca = r.prop_str(cx, "ca");
                    no_children(cx, &r);
                    r.finish(cx);
                }
            }
            "east-west-address" => {
                let first = cluster.east_west_address.as_ref().map(|c| c.span);
                if !cx.duplicate(&cluster.east_west_address, first, child) {
                    cluster.east_west_address = single_arg(cx, child, &s::EAST_WEST_ADDRESS);
                }
            }
            _ => cx.unknown_node(child, &s::CLUSTER),
        }
    }
    name.map(|_| cluster)
}

fn lower_control_plane(cx: &mut Cx, node: &Node) -> Option<ControlPlane> {
    let mut r = NodeReader::new(node, &s::CONTROL_PLANE);
    let model = r.arg_str(cx, 0).map(|m| {
        let model = match m.value.as_str() {
            "remote" => ControlPlaneModel::Remote,
            "external" => ControlPlaneModel::External,
            _ => ControlPlaneModel::Primary,
        };
        Spanned::new(model, m.span)
    });
    let cp = ControlPlane {
        node: r.name_span(),
        model,
        primary: r.prop_str(cx, "primary"),
        config: r.prop_bool(cx, "config"),
    };
    no_children(cx, &r);
    r.finish(cx);
    Some(cp)
}
