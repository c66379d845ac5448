//! Rules within one mesh: names, networks, control planes, addresses and trust.

use std::net::IpAddr;

use crate::ast::{self, CaSource, ControlPlaneModel, IssuerKind, Mtls};
use crate::diag::{Code, Diagnostic};
use crate::model::{ApiServerTls, Ca, Cluster, Mesh, Namespace, Role};
use crate::source::Span;

pub fn meshes(ast: &ast::Ast, diags: &mut Vec<Diagnostic>) -> Vec<Mesh> {
    if ast.meshes.is_empty() && (ast.istio.is_some() || ast.gitops.is_some()) {
        let span = ast
            .istio
            .as_ref()
            .map(|i| i.node)
            .or(ast.gitops.as_ref().map(|g| g.node));
        let mut d = Diagnostic::new(
            Code::NoMesh,
            "the topology declares no mesh, so there is nothing to render",
        )
        .help("declare one: `mesh prod { cluster c1 { control-plane primary } }`");
        if let Some(s) = span {
            d = d.primary(s, "no `mesh` anywhere in the topology");
        }
        diags.push(d);
    }
    first_declarations(&ast.meshes, |m| &m.name, "mesh", diags);
    ast.meshes
        .iter()
        .map(|m| {
            let mut resolved = mesh(m, diags);
            super::service::check(ast, m, &mut resolved, diags);
            resolved
        })
        .collect()
}

/// Reports every item whose name was declared before among `items`, and returns the
/// first declarations, in order.
pub(super) fn first_declarations<'a, T>(
    items: &'a [T],
    name: impl Fn(&'a T) -> &'a ast::Spanned<String>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'a T> {
    let mut kept: Vec<&'a T> = Vec::new();
    let mut first_of: std::collections::HashMap<&str, &ast::Spanned<String>> =
        std::collections::HashMap::new();
    for item in items {
        let n = name(item);
        if let Some(first) = first_of.get(n.value.as_str()) {
            diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!("{what} `{}` is declared twice", n.value),
                )
                .primary(n.span, "declared again here")
                .secondary(first.span, "first declared here")
                .help(format!("rename or remove one of the two {what}s")),
            );
        } else {
            first_of.insert(&n.value, n);
            kept.push(item);
        }
    }
    kept
}

fn mesh(m: &ast::Mesh, diags: &mut Vec<Diagnostic>) -> Mesh {
    first_declarations(&m.networks, |n| n, "network", diags);
    first_declarations(&m.clusters, |c| &c.name, "cluster", diags);
    first_declarations(&m.namespaces, |n| &n.name, "namespace", diags);

    let trust_domain = match &m.trust_domain {
        Some(td) => {
            if !is_dns_name(&td.value) {
                diags.push(
                    Diagnostic::new(Code::InvalidValue, format!("`{}` is not a valid trust domain", td.value))
                        .primary(td.span, "expected a DNS name such as prod.acme.io")
                        .help("a trust domain is the host part of SPIFFE IDs: lowercase letters, digits, `-` and `.`"),
                );
            }
            td.value.clone()
        }
        None => "cluster.local".to_string(),
    };
    let mtls = m.mtls.as_ref().map_or(Mtls::Strict, |s| s.value);
    if let Some(s) = &m.mtls
        && s.value == Mtls::Permissive
    {
        diags.push(
            Diagnostic::new(Code::PermissiveMtls, format!("mesh `{}` accepts plaintext traffic", m.name.value))
                .primary(s.span, "permissive mode")
                .help("permissive mTLS is a migration aid; once every workload has a sidecar, write `mtls strict` (the default)"),
        );
    }

    let networks: Vec<String> = m.networks.iter().map(|n| n.value.clone()).collect();
    let clusters: Vec<Cluster> = m
        .clusters
        .iter()
        .map(|c| cluster(m, c, &networks, diags))
        .collect();
    let mut mesh = Mesh {
        name: m.name.value.clone(),
        span: m.name.span,
        trust_domain,
        mtls,
        dns_proxy: m.dns_proxy.as_ref().is_some_and(|d| d.value),
        ca: ca(m, diags),
        networks,
        clusters,
        trust_bundle: m.trust_bundle.as_ref().map(|t| t.value.clone()),
        shared_root: m
            .ca
            .as_ref()
            .and_then(|c| c.root.as_ref())
            .map(|r| r.value.clone()),
        services: Vec::new(),
        externals: Vec::new(),
        ingresses: Vec::new(),
        telemetry: None,
        templates: m.templates.clone(),
        namespaces: m
            .namespaces
            .iter()
            .map(|n| Namespace {
                name: n.name.value.clone(),
                injection: n.injection.as_ref().is_none_or(|i| i.value),
                span: n.name.span,
            })
            .collect(),
    };
    control_planes(m, &mut mesh, diags);
    unused_networks(m, &mesh, diags);
    if mesh.clusters.len() > 1 && mesh.ca.is_none() {
        diags.push(
            Diagnostic::new(Code::MissingCa, format!("mesh `{}` has {} clusters but no shared root of trust", mesh.name, mesh.clusters.len()))
                .primary(m.name.span, "no `ca` in this mesh")
                .help("without a shared root each istiod signs with its own self-signed CA and cross-cluster mTLS fails (CERTIFICATE_VERIFY_FAILED); add `ca cert-manager issuer=NAME` or `ca external-secret key=\"pki/{cluster}\"`"),
        );
    }
    api_servers(m, &mesh, diags);
    mesh
}

fn cluster(
    m: &ast::Mesh,
    c: &ast::Cluster,
    networks: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Cluster {
    let network = match &c.network {
        Some(n) => {
            if !networks.contains(&n.value) {
                diags.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        format!(
                            "cluster `{}` is on network `{}`, which mesh `{}` does not declare",
                            c.name.value, n.value, m.name.value
                        ),
                    )
                    .primary(n.span, "unknown network")
                    .suggest_or(
                        &n.value,
                        networks.iter().map(String::as_str),
                        format!("declare it in the mesh: `network {}`", n.value),
                    ),
                );
            }
            Some(n.value.clone())
        }
        None if networks.len() == 1 => Some(networks[0].clone()),
        None if networks.len() > 1 => {
            diags.push(
                Diagnostic::new(Code::MissingNetwork, format!("cluster `{}` does not say which network it is on", c.name.value))
                    .primary(c.name.span, "no `network=`")
                    .help(format!("mesh `{}` has several networks ({}); add `network=NAME` so istiod knows which clusters reach each other's pods directly", m.name.value, networks.join(", "))),
            );
            None
        }
        None => None,
    };
    if c.control_plane.is_none() {
        diags.push(
            Diagnostic::new(Code::MissingControlPlane, format!("cluster `{}` has no `control-plane`", c.name.value))
                .primary(c.name.span, "control-plane model missing")
                .help("add `control-plane primary` (own istiod), `control-plane remote primary=NAME` or `control-plane external` inside the cluster block"),
        );
    }
    if let Some(addr) = &c.east_west_address
        && addr.value.parse::<IpAddr>().is_err()
        && !is_dns_name(&addr.value)
    {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("`{}` is neither an IP address nor a DNS name", addr.value))
                .primary(addr.span, "invalid address")
                .help("give the load-balancer address of the east-west gateway, e.g. \"34.1.2.3\", without scheme or port"),
        );
    }
    if let Some(name) = &c.api_server_tls_name
        && !is_dns_name(&name.value.to_ascii_lowercase())
    {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("tls-server-name `{}` is not a DNS name", name.value),
            )
            .primary(name.span, "the name in the API server's certificate")
            .help("e.g. \"kubernetes.default.svc\", a name every API server certificate holds"),
        );
    }
    if let Some(url) = &c.api_server
        && let Some(why) = api_server_problem(&url.value)
    {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("api-server `{}` {why}", url.value))
                .primary(url.span, "expected https://HOST[:PORT]")
                .help("istiod reads the cluster's API server over TLS, e.g. \"https://aws-east.k8s.acme.io:6443\""),
        );
    }
    let role = match c
        .control_plane
        .as_ref()
        .and_then(|cp| cp.model.as_ref())
        .map(|m| m.value)
    {
        Some(ControlPlaneModel::External) => Role::External,
        // Resolved in `control_planes`; placeholder until then.
        Some(ControlPlaneModel::Remote) => Role::Remote {
            control: usize::MAX,
            config: false,
        },
        _ => Role::Primary,
    };
    Cluster {
        name: c.name.value.clone(),
        span: c.name.span,
        network,
        region: c.region.as_ref().map(|r| r.value.clone()),
        zone: c.zone.as_ref().map(|r| r.value.clone()),
        role,
        api_server: c
            .api_server
            .as_ref()
            .map(|a| a.value.trim_end_matches('/').to_string()),
        api_server_tls: ApiServerTls {
            server_name: c.api_server_tls_name.as_ref().map(|n| n.value.clone()),
            system_roots: c
                .api_server_ca
                .as_ref()
                .is_some_and(|ca| ca.value == "system"),
        },
        east_west_address: c.east_west_address.as_ref().map(|a| a.value.clone()),
    }
}

fn ca(m: &ast::Mesh, diags: &mut Vec<Diagnostic>) -> Option<(Ca, Span)> {
    let ca = m.ca.as_ref()?;
    let source = match &ca.source {
        CaSource::CertManager {
            issuer,
            issuer_kind,
        } => match issuer {
            Some(i) => Ca::CertManager {
                issuer: i.value.clone(),
                kind: issuer_kind
                    .as_ref()
                    .map_or(IssuerKind::ClusterIssuer, |k| k.value),
            },
            None => {
                diags.push(
                    Diagnostic::new(Code::MissingValue, "`ca cert-manager` needs `issuer=`")
                        .primary(ca.node, "issuer missing")
                        .help("name the cert-manager issuer that chains to the mesh's root: `ca cert-manager issuer=prod-mesh-root`"),
                );
                return None;
            }
        },
        CaSource::ExternalSecret { key } => match key {
            Some(k) => Ca::ExternalSecret {
                key: k.value.clone(),
            },
            None => {
                diags.push(
                    Diagnostic::new(Code::MissingValue, "`ca external-secret` needs `key=`")
                        .primary(ca.node, "key missing")
                        .help("give the store key of each cluster's CA material, with `{cluster}` for the cluster name: `ca external-secret key=\"pki/prod/{cluster}\"`"),
                );
                return None;
            }
        },
    };
    Some((source, ca.node))
}

/// Resolves `primary=` of every remote and applies the control-plane rules.
fn control_planes(m: &ast::Mesh, mesh: &mut Mesh, diags: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = m.clusters.iter().map(|c| c.name.value.as_str()).collect();
    for (i, c) in m.clusters.iter().enumerate() {
        let Some(cp) = &c.control_plane else { continue };
        let Some(model) = cp.model.as_ref().map(|m| m.value) else {
            continue;
        };
        if model != ControlPlaneModel::Remote {
            for (prop, v) in [
                ("primary", cp.primary.as_ref().map(|p| p.span)),
                ("config", cp.config.as_ref().map(|p| p.span)),
            ] {
                if let Some(span) = v {
                    diags.push(
                        Diagnostic::new(
                            Code::UnknownProperty,
                            format!("`control-plane {}` takes no `{prop}=`", model_name(model)),
                        )
                        .primary(span, "only remote clusters take this")
                        .help(format!(
                            "remove `{prop}=`, or make the cluster `control-plane remote`"
                        )),
                    );
                }
            }
            continue;
        }
        let config = cp.config.as_ref().is_some_and(|c| c.value);
        let Some(primary) = &cp.primary else {
            diags.push(
                Diagnostic::new(
                    Code::RemoteWithoutPrimary,
                    format!(
                        "remote cluster `{}` does not say which control plane serves it",
                        c.name.value
                    ),
                )
                .primary(cp.node, "no `primary=`")
                .help(primary_help(m, i)),
            );
            continue;
        };
        let Some(j) = names.iter().position(|n| *n == primary.value) else {
            diags.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!(
                        "remote cluster `{}` names `{}`, which is not a cluster of mesh `{}`",
                        c.name.value, primary.value, m.name.value
                    ),
                )
                .primary(primary.span, "unknown cluster")
                .suggest_or(
                    &primary.value,
                    names.iter().copied(),
                    primary_help(m, i),
                ),
            );
            continue;
        };
        let target = &m.clusters[j];
        let target_model = target
            .control_plane
            .as_ref()
            .and_then(|t| t.model.as_ref())
            .map(|m| m.value);
        if j == i || target_model == Some(ControlPlaneModel::Remote) {
            let what = if j == i {
                "itself".to_string()
            } else {
                format!("`{}`, another remote", target.name.value)
            };
            diags.push(
                Diagnostic::new(
                    Code::PrimaryNotPrimary,
                    format!("remote cluster `{}` is served by {what}", c.name.value),
                )
                .primary(primary.span, "not a control-plane cluster")
                .secondary(target.name.span, "declared here")
                .help(primary_help(m, i)),
            );
            continue;
        }
        if config && target_model != Some(ControlPlaneModel::External) {
            let span = cp.config.as_ref().map_or(cp.node, |c| c.span);
            diags.push(
                Diagnostic::new(
                    Code::ConfigCluster,
                    format!(
                        "`config=#true` on `{}`, whose control plane `{}` is a primary",
                        c.name.value, target.name.value
                    ),
                )
                .primary(span, "only for remotes of an external control plane")
                .help("a primary holds its own mesh configuration; remove `config=#true`"),
            );
        }
        mesh.clusters[i].role = Role::Remote { control: j, config };
    }
    // Clusters left unresolved above are dropped from further rules by marking them primary.
    for c in &mut mesh.clusters {
        if let Role::Remote {
            control: usize::MAX,
            ..
        } = c.role
        {
            c.role = Role::Primary;
        }
    }
    let has_control_plane = m.clusters.iter().any(|c| {
        matches!(
            c.control_plane
                .as_ref()
                .and_then(|cp| cp.model.as_ref())
                .map(|m| m.value),
            Some(ControlPlaneModel::Primary | ControlPlaneModel::External)
        )
    });
    if !m.clusters.is_empty()
        && !has_control_plane
        && m.clusters.iter().all(|c| c.control_plane.is_some())
    {
        diags.push(
            Diagnostic::new(Code::MeshWithoutPrimary, format!("mesh `{}` has no control plane", m.name.value))
                .primary(m.name.span, "every cluster is a remote")
                .help("make at least one cluster `control-plane primary` (or `external`); remote clusters run no istiod of their own"),
        );
    }
    for (i, c) in m.clusters.iter().enumerate() {
        let remotes: Vec<usize> = mesh.remotes_of(i).collect();
        let role = mesh.clusters[i].role;
        if role == Role::External {
            let configs: Vec<usize> = remotes
                .iter()
                .copied()
                .filter(|&r| matches!(mesh.clusters[r].role, Role::Remote { config: true, .. }))
                .collect();
            if configs.len() != 1 {
                let span = c.control_plane.as_ref().map_or(c.name.span, |cp| cp.node);
                let mut d = Diagnostic::new(Code::ConfigCluster, format!("external control plane `{}` has {} config clusters; it needs exactly one", c.name.value, configs.len()))
                    .primary(span, "external control plane")
                    .help("mark the one remote that holds the mesh configuration with `control-plane remote primary=NAME config=#true`");
                for &r in configs.iter().skip(1) {
                    d = d.secondary(m.clusters[r].name.span, "another config cluster");
                }
                diags.push(d);
            }
        }
        if remotes.is_empty() && role != Role::External {
            continue;
        }
        let served: Vec<&str> = remotes
            .iter()
            .map(|&r| m.clusters[r].name.value.as_str())
            .collect();
        match &c.east_west_address {
            None => {
                let span = c.control_plane.as_ref().map_or(c.name.span, |cp| cp.node);
                let mut d = Diagnostic::new(Code::MissingEastWestAddress, format!("cluster `{}` serves remote clusters but has no `east-west-address`", c.name.value))
                    .primary(span, "remotes reach this control plane through its gateway")
                    .help(format!("add `east-west-address \"IP\"` with the load-balancer IP of the gateway that exposes istiod (ports 15012 and 15017){}",
                        if served.is_empty() { String::new() } else { format!("; it serves {}", served.join(", ")) }));
                for &r in &remotes {
                    if let Some(p) = m.clusters[r]
                        .control_plane
                        .as_ref()
                        .and_then(|cp| cp.primary.as_ref())
                    {
                        d = d.secondary(
                            p.span,
                            format!("`{}` is served here", m.clusters[r].name.value),
                        );
                    }
                }
                diags.push(d);
            }
            Some(addr) if addr.value.parse::<IpAddr>().is_err() && is_dns_name(&addr.value) => {
                diags.push(
                    Diagnostic::new(Code::HostnameEastWestAddress, format!("`{}` reaches its remotes through the hostname `{}`", c.name.value, addr.value))
                        .primary(addr.span, "a hostname, not an IP")
                        .help(if role == Role::External {
                            format!("meshc switches the remotes to `istiodRemote.injectionURL` and `base.validationURL`, since a hostname breaks `injectionPath` (it becomes an ExternalName service); the gateway terminates TLS with Secret `{}-istiod-tls` in istio-system, which must hold a certificate valid for this name", c.name.value)
                        } else {
                            "meshc switches the remotes to `istiodRemote.injectionURL` and `base.validationURL`, since a hostname breaks `injectionPath` (it becomes an ExternalName service); TLS passes through to istiod, which meshc has sign its certificate for this name too (`ISTIOD_CUSTOM_HOST`)".to_string()
                        }),
                );
            }
            Some(_) => {}
        }
    }
}

fn model_name(m: ControlPlaneModel) -> &'static str {
    match m {
        ControlPlaneModel::Primary => "primary",
        ControlPlaneModel::Remote => "remote",
        ControlPlaneModel::External => "external",
    }
}

fn primary_help(m: &ast::Mesh, me: usize) -> String {
    let candidates: Vec<&str> = m
        .clusters
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            *i != me
                && matches!(
                    c.control_plane
                        .as_ref()
                        .and_then(|cp| cp.model.as_ref())
                        .map(|m| m.value),
                    Some(ControlPlaneModel::Primary | ControlPlaneModel::External)
                )
        })
        .map(|(_, c)| c.name.value.as_str())
        .collect();
    match candidates.as_slice() {
        [] => format!(
            "mesh `{}` has no primary cluster for it; declare one with `control-plane primary`",
            m.name.value
        ),
        [one] => format!("write `control-plane remote primary={one}`"),
        many => format!(
            "name one of the mesh's control-plane clusters: {}",
            many.join(", ")
        ),
    }
}

fn unused_networks(m: &ast::Mesh, mesh: &Mesh, diags: &mut Vec<Diagnostic>) {
    // A misspelt or missing `network=` is already an error; the network it meant is
    // not unused.
    let unresolved = m.clusters.iter().zip(&mesh.clusters).any(|(a, c)| {
        c.network.is_none()
            || a.network
                .as_ref()
                .is_some_and(|n| !mesh.networks.contains(&n.value))
    });
    if unresolved && mesh.networks.len() > 1 {
        return;
    }
    for n in &m.networks {
        if !mesh
            .clusters
            .iter()
            .any(|c| c.network.as_deref() == Some(n.value.as_str()))
        {
            diags.push(
                Diagnostic::new(
                    Code::UnusedNetwork,
                    format!("no cluster is on network `{}`", n.value),
                )
                .primary(n.span, "unused network")
                .help("remove the network, or put a cluster on it with `network=`"),
            );
        }
    }
}

/// A cluster whose API server another control plane reads needs its address.
fn api_servers(m: &ast::Mesh, mesh: &Mesh, diags: &mut Vec<Diagnostic>) {
    for (j, c) in m.clusters.iter().enumerate() {
        if c.api_server.is_some() || !mesh.is_read_by_peer(j) {
            continue;
        }
        let readers: Vec<&str> = (0..mesh.clusters.len())
            .filter(|&i| {
                i != j
                    && (mesh.peers_read_by(i).contains(&j) || mesh.config_cluster_of(i) == Some(j))
            })
            .map(|i| mesh.clusters[i].name.as_str())
            .collect();
        diags.push(
            Diagnostic::new(Code::MissingApiServer, format!("cluster `{}` has no `api-server`, but {} must read it", c.name.value, readers.join(", ")))
                .primary(c.name.span, "API server address missing")
                .help("add `api-server \"https://HOST:6443\"` inside the cluster block; the remote secret's kubeconfig points there"),
        );
    }
}

/// A DNS name: dot-separated labels of lowercase letters, digits and `-`.
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(crate::lower::reader::is_dns_label)
}

/// What is wrong with an `api-server` URL, if anything. Accepted: `https://HOST[:PORT][/PATH]`
/// with HOST a DNS name in any case (EKS endpoints are upper-case hex; host names are
/// case-insensitive), an IPv4 address or a bracketed IPv6 one, and PORT 1-65535; the scheme
/// in any case (RFC 3986). A path is kept (Rancher proxies clusters under one).
fn api_server_problem(s: &str) -> Option<String> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Some("has no https:// scheme".to_string());
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Some(format!("uses {scheme}://, not https://"));
    }
    if rest.contains(['?', '#']) {
        return Some(
            "has a query or fragment, which a kubeconfig server does not take".to_string(),
        );
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    // RFC 3986 path characters only: the URL goes into the kubeconfig istiod trusts, which
    // ESO renders as a Go template, so a newline, space, quote or brace could add a key
    // (`insecure-skip-tls-verify`) or a template action.
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(*c)) || *c == '\'')
    {
        return Some(format!(
            "has {bad:?} in its path, which a URL path cannot hold"
        ));
    }
    if authority.contains('@') {
        return Some("has a user name; credentials come from the remote secret".to_string());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Some("has an IPv6 address without its closing `]`".to_string());
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Some(format!("has `{addr}`, which is not an IPv6 address"));
        }
        match after.strip_prefix(':') {
            Some(p) => (None, Some(p)),
            None if after.is_empty() => (None, None),
            None => return Some(format!("has `{after}` after the IPv6 address")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(authority), None),
        }
    };
    if let Some(p) = port {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => {}
            _ => return Some(format!("has port {p}; a port is 1-65535")),
        }
    }
    match host {
        Some("") => Some("has no host".to_string()),
        Some(h) if h.parse::<IpAddr>().is_err() && !is_dns_name(&h.to_ascii_lowercase()) => {
            Some(format!(
                "has host `{h}`, which is neither a DNS name (letters, digits and `-` between dots) nor an IP address"
            ))
        }
        _ => None,
    }
}
