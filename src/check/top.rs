//! Rules about the top-level nodes (`istio`, `gitops`, `secrets`) and across meshes.

use crate::ast::{Ast, GitopsTool, StoreKind};
use crate::diag::{Code, Diagnostic};
use crate::model::{Ca, IstioTarget, Mesh, SecretStore, Version};
use crate::source::Span;

/// The oldest Istio release meshc renders for: the `remote` Helm profile and the v1 APIs
/// it relies on exist from 1.24 on.
pub const MIN_ISTIO: Version = Version {
    major: 1,
    minor: 24,
    patch: 0,
};
/// The newest Istio minor release meshc's rules were written against (its source read for
/// 1.24 to 1.31, docs/models.md); `meshc --version` prints the range.
pub const MAX_ISTIO_MINOR: u32 = 31;
/// Istio's charts moved here for 1.31 and later releases; earlier ones are mirrored.
pub const DEFAULT_CHARTS: &str = "https://blob.istio.io/istio-release/charts";

/// Where a "missing top-level node" diagnostic points: the first mesh, if any.
fn anchor(ast: &Ast) -> Option<Span> {
    ast.meshes.first().map(|m| m.name.span)
}

fn missing_top(ast: &Ast, code: Code, message: &str, help: &str) -> Diagnostic {
    let mut d = Diagnostic::new(code, message).help(help);
    if let Some(span) = anchor(ast) {
        d = d.primary(span, "this mesh is rendered without it");
    }
    d
}

pub fn istio(ast: &Ast, diags: &mut Vec<Diagnostic>) -> Option<IstioTarget> {
    let Some(istio) = &ast.istio else {
        diags.push(missing_top(
            ast,
            Code::MissingIstio,
            "the topology does not say which Istio release to target",
            "add `istio version=\"1.28.2\"` at the top level; chart versions follow it",
        ));
        return None;
    };
    let version = istio.version.as_ref()?;
    let Some(parsed) = parse_version(&version.value) else {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not an Istio release", version.value),
            )
            .primary(version.span, "expected MAJOR.MINOR.PATCH")
            .help("write the release as published, e.g. `istio version=\"1.28.2\"`"),
        );
        return None;
    };
    if parsed < MIN_ISTIO {
        diags.push(
            Diagnostic::new(Code::UnsupportedIstioVersion, format!("Istio {parsed} is older than meshc supports"))
                .primary(version.span, format!("meshc targets Istio {}.{} or newer", MIN_ISTIO.major, MIN_ISTIO.minor))
                .help("remote clusters are installed with the `remote` Helm profile, which Istio added in 1.24; upgrade the target release"),
        );
        return None;
    }
    if let Some(charts) = &istio.charts
        && !(charts.value.starts_with("https://") || charts.value.starts_with("oci://"))
    {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                "the chart repository must be an https:// or oci:// URL",
            )
            .primary(charts.span, "not a Helm repository URL")
            .help(format!("the official repository is {DEFAULT_CHARTS}")),
        );
    }
    if let Some(hub) = &istio.hub
        && let Err(why) = image_hub(&hub.value)
    {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not an image registry path", hub.value),
            )
            .primary(hub.span, why)
            .help(format!("write the registry and repository path the images are pulled from, without a tag, e.g. \"registry.acme.io/istio\" (default {DEFAULT_HUB})")),
        );
    }
    Some(IstioTarget {
        version: parsed,
        hub: istio
            .hub
            .as_ref()
            .map_or(DEFAULT_HUB.to_string(), |h| h.value.clone()),
        charts: istio
            .charts
            .as_ref()
            .map_or(DEFAULT_CHARTS.to_string(), |c| {
                c.value.trim_end_matches('/').to_string()
            }),
        span: istio.node,
    })
}

/// Where Istio images come from unless the topology names a mirror. The charts' own default
/// changes between releases (1.30: `registry.istio.io/testing` for dev builds, published
/// charts stamped with `registry.istio.io/release`, a registry Istio retired in late 2026),
/// so meshc always sets it. "Releases are published to docker hub under 'istio' project"
/// (manifests/charts/istio-control/istio-discovery/values.yaml, 1.24 to 1.30).
pub const DEFAULT_HUB: &str = "docker.io/istio";

/// A registry host (with an optional port) and repository path, as the charts join it with
/// `/<image>:<tag>`: Docker's reference grammar (distribution/reference), without a tag.
fn image_hub(hub: &str) -> Result<(), &'static str> {
    if hub.contains("://") {
        return Err("a registry path has no scheme");
    }
    let mut parts = hub.split('/');
    let host = parts.next().unwrap_or_default();
    let path: Vec<&str> = parts.collect();
    let (name, port) = host.split_once(':').unwrap_or((host, ""));
    let host_ok = !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && (port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())))
        && !(host.contains(':') && port.is_empty());
    if !host_ok {
        return Err("expected a registry host name, optionally with :PORT");
    }
    let component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
            && !c.contains("..")
            && !c.contains("._")
            && !c.contains("_.")
    };
    if path.iter().any(|c| c.contains(':')) {
        return Err("a hub has no tag: meshc adds the release's tag");
    }
    if !path.iter().all(|c| component(c)) {
        return Err("path components are lower-case letters, digits and . _ - between them");
    }
    Ok(())
}

pub fn parse_version(s: &str) -> Option<Version> {
    let mut parts = s.split('.');
    let mut next = || {
        parts.next().and_then(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        })
    };
    let v = Version {
        major: next()?,
        minor: next()?,
        patch: next()?,
    };
    parts.next().is_none().then_some(v)
}

pub fn gitops(ast: &Ast, diags: &mut Vec<Diagnostic>) -> Option<crate::model::Gitops> {
    let Some(g) = &ast.gitops else {
        diags.push(missing_top(
            ast,
            Code::MissingGitops,
            "the topology does not say how clusters consume the output",
            "add `gitops argocd repo=\"https://...\"` or `gitops flux` at the top level",
        ));
        return None;
    };
    let tool = g.tool.as_ref()?.value;
    let mut ok = true;
    if tool == GitopsTool::Argocd && g.repo.is_none() {
        diags.push(
            Diagnostic::new(Code::MissingValue, "`gitops argocd` needs `repo=`")
                .primary(g.node, "repo missing")
                .help("Argo CD Applications point at the Git repository the output is committed to: `gitops argocd repo=\"https://github.com/acme/mesh-rendered.git\"`"),
        );
        ok = false;
    }
    let argo_only = [
        ("repo", &g.repo),
        ("revision", &g.revision),
        ("project", &g.project),
    ];
    let flux_only = [("source", &g.source)];
    let foreign: &[(&str, &Option<crate::ast::Spanned<String>>)] = if tool == GitopsTool::Argocd {
        &flux_only
    } else {
        &argo_only
    };
    for (name, value) in foreign {
        if let Some(v) = value {
            let other = if tool == GitopsTool::Argocd {
                "flux"
            } else {
                "argocd"
            };
            diags.push(
                Diagnostic::new(
                    Code::UnknownProperty,
                    format!("`{name}=` is a `gitops {other}` setting"),
                )
                .primary(
                    v.span,
                    format!(
                        "not used by `gitops {}`",
                        if tool == GitopsTool::Argocd {
                            "argocd"
                        } else {
                            "flux"
                        }
                    ),
                )
                .help(format!("remove `{name}=`")),
            );
        }
    }
    if let Some(repo) = &g.repo
        && !(repo.value.starts_with("https://")
            || repo.value.starts_with("ssh://")
            || repo.value.starts_with("git@"))
    {
        diags.push(
            Diagnostic::new(Code::InvalidValue, "`repo=` must be a Git URL")
                .primary(repo.span, "expected https://, ssh:// or git@")
                .help("e.g. `repo=\"https://github.com/acme/mesh-rendered.git\"`"),
        );
        ok = false;
    }
    let path = g.path.as_ref().map_or(String::new(), |p| {
        p.value
            .trim_start_matches("./")
            .trim_matches('/')
            .to_string()
    });
    if let Some(p) = &g.path
        && (p.value.split('/').any(|seg| seg == "..") || p.value.starts_with('/'))
    {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                "`path=` must be a relative path inside the repository",
            )
            .primary(p.span, "leaves the repository")
            .help("e.g. `path=rendered`"),
        );
        ok = false;
    }
    let default_ns = if tool == GitopsTool::Argocd {
        "argocd"
    } else {
        "flux-system"
    };
    ok.then(|| crate::model::Gitops {
        tool,
        repo: g.repo.as_ref().map(|r| r.value.clone()),
        revision: g
            .revision
            .as_ref()
            .map_or("HEAD".to_string(), |r| r.value.clone()),
        path,
        project: g
            .project
            .as_ref()
            .map_or("default".to_string(), |r| r.value.clone()),
        namespace: g
            .namespace
            .as_ref()
            .map_or(default_ns.to_string(), |r| r.value.clone()),
        source: g
            .source
            .as_ref()
            .map_or("flux-system".to_string(), |r| r.value.clone()),
        span: g.node,
    })
}

pub fn secrets(ast: &Ast, diags: &mut Vec<Diagnostic>) -> Option<SecretStore> {
    let s = ast.secrets.as_ref()?;
    if let Some(p) = &s.prefix
        && p.value.replace("{cluster}", "").contains(['{', '}'])
    {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("store prefix `{}` has an unknown placeholder", p.value),
            )
            .primary(p.span, "only `{cluster}` is replaced")
            .help("`{cluster}` stands for the cluster that reads the key, e.g. `prefix=\"mesh/{cluster}/\"` gives each cluster its own area of the store (docs/credentials.md)"),
        );
    }
    Some(SecretStore {
        store: s.store.as_ref()?.value.clone(),
        kind: s
            .store_kind
            .as_ref()
            .map_or(StoreKind::ClusterSecretStore, |k| k.value),
        prefix: s.prefix.as_ref().map_or(String::new(), |p| p.value.clone()),
    })
}

/// Remote secrets and CA material come from the secret store; without one, meshc would
/// have to write credentials, which it never does.
pub fn needs_secrets(ast: &Ast, meshes: &[Mesh], have_store: bool, diags: &mut Vec<Diagnostic>) {
    if have_store || ast.secrets.is_some() {
        return;
    }
    for m in meshes {
        let why = if m
            .clusters
            .iter()
            .enumerate()
            .any(|(i, _)| !m.peers_read_by(i).is_empty() || m.config_cluster_of(i).is_some())
        {
            Some("its control planes read other clusters through remote secrets")
        } else if matches!(m.ca, Some((Ca::ExternalSecret { .. }, _))) {
            Some("its CA material comes from the secret store")
        } else {
            None
        };
        if let Some(why) = why {
            diags.push(
                Diagnostic::new(Code::MissingSecrets, format!("mesh `{}` needs credentials but no secret store is declared", m.name))
                    .primary(m.span, why)
                    .help("add `secrets external-secrets store=NAME prefix=\"mesh/\"` at the top level; meshc references credentials there and never writes them"),
            );
        }
    }
}

/// Rules across meshes: cluster names are unique over the whole topology (each is an
/// output directory), and federated meshes have distinct trust domains.
pub fn cross_mesh(ast: &Ast, meshes: &[Mesh], diags: &mut Vec<Diagnostic>) {
    // Cluster name → where it was declared (span, mesh), in order.
    let mut seen: std::collections::HashMap<&str, Vec<(Span, &str)>> =
        std::collections::HashMap::new();
    for m in &ast.meshes {
        for c in &m.clusters {
            if let Some((first, first_mesh)) = seen
                .get(c.name.value.as_str())
                .and_then(|d| d.iter().find(|(_, mesh)| *mesh != m.name.value))
            {
                diags.push(
                    Diagnostic::new(Code::DuplicateName, format!("cluster `{}` is declared in mesh `{}` and in mesh `{}`", c.name.value, first_mesh, m.name.value))
                        .primary(c.name.span, "declared again here")
                        .secondary(*first, "first declared here")
                        .help("a cluster belongs to one mesh and gets one output directory; rename one of them"),
                );
            }
            seen.entry(&c.name.value)
                .or_default()
                .push((c.name.span, &m.name.value));
        }
    }
    federation(ast, meshes, diags);
    let td_span = |name: &str| {
        ast.meshes
            .iter()
            .find(|a| a.name.value == name)
            .and_then(|a| a.trust_domain.as_ref())
            .map(|t| t.span)
    };
    for (i, m) in meshes.iter().enumerate() {
        if let Some(first) = meshes[..i]
            .iter()
            .find(|o| o.trust_domain == m.trust_domain)
        {
            let how = if td_span(&m.name).is_none() {
                " (the default)"
            } else {
                ""
            };
            diags.push(
                Diagnostic::new(Code::DuplicateTrustDomain, format!("meshes `{}` and `{}` share the trust domain `{}`{how}", first.name, m.name, m.trust_domain))
                    .primary(td_span(&m.name).unwrap_or(m.span), "same trust domain as another mesh")
                    .secondary(td_span(&first.name).unwrap_or(first.span), format!("trust domain of mesh `{}`", first.name))
                    .help("each mesh needs its own identity namespace so federation can tell them apart; give each mesh its own `trust-domain`"),
            );
        }
    }
}

/// Federated meshes trust each other's roots: mutual TLS between them needs each side to
/// verify the other's certificates, so both share one root (`ca … root=`) or both publish
/// a trust bundle.
fn federation(ast: &Ast, meshes: &[Mesh], diags: &mut Vec<Diagnostic>) {
    for a in &ast.meshes {
        if let Some(t) = &a.trust_bundle
            && !t.value.starts_with("https://")
        {
            diags.push(
                Diagnostic::new(Code::InvalidValue, format!("trust bundle `{}` is not an https:// URL", t.value))
                    .primary(t.span, "expected the https:// URL of a SPIFFE bundle endpoint")
                    .help("istiod fetches the bundle over HTTPS, e.g. \"https://spiffe.prod.acme.io/bundle\""),
            );
        }
    }
    let mut reported: Vec<&str> = Vec::new();
    for (ei, exporter) in meshes.iter().enumerate() {
        for svc in &exporter.services {
            for &ii in &svc.exports {
                let importer = &meshes[ii];
                let export_span = ast.meshes[ei]
                    .services
                    .iter()
                    .find(|s| s.name.value == svc.name)
                    .and_then(|s| s.exports.iter().find(|e| e.value == importer.name))
                    .map_or(svc.span, |e| e.span);
                let shared =
                    exporter.shared_root.is_some() && exporter.shared_root == importer.shared_root;
                for m in [exporter, importer] {
                    if shared || m.trust_bundle.is_some() || reported.contains(&m.name.as_str()) {
                        continue;
                    }
                    reported.push(&m.name);
                    diags.push(
                        Diagnostic::new(Code::MissingTrustBundle, format!("mesh `{}` federates with another mesh but publishes no trust bundle", m.name))
                            .primary(m.span, "no `trust-bundle`")
                            .secondary(export_span, format!("`{}` is exported from `{}` to `{}` here", svc.name, exporter.name, importer.name))
                            .help("mTLS between meshes needs each side to trust the other's root: if both meshes' CAs chain to one root, say so with `ca … root=NAME` on both; otherwise add `trust-bundle \"https://…\"` with the mesh's SPIFFE bundle endpoint"),
                    );
                }
            }
        }
    }
}

/// Istio releases before 1.30.4 mishandle rotated remote-secret credentials (istio/istio
/// #60612, #60920, #61043); meshc's remote secrets are refreshed from the store, which is
/// exactly that path. The last fixes reached release-1.30 after 1.30.3 was tagged
/// (2026-07-13): "don't wipe endpoint shards when a superseded registry closes" (#61044)
/// as #61159 on 2026-08-06, so 1.30.4 is the first patch release with all of them.
pub const ROTATION_FIXED: Version = Version {
    major: 1,
    minor: 30,
    patch: 4,
};

/// Where the topology writes the Istio release (`istio version="…"`), for labels of rules
/// that depend on it.
fn version_span(ast: &Ast, istio: &IstioTarget) -> Span {
    ast.istio
        .as_ref()
        .and_then(|i| i.version.as_ref())
        .map_or(istio.span, |v| v.span)
}

pub fn version_advisories(
    ast: &Ast,
    istio: Option<&IstioTarget>,
    meshes: &[Mesh],
    diags: &mut Vec<Diagnostic>,
) {
    let Some(istio) = istio else { return };
    if (istio.version.major, istio.version.minor) > (MIN_ISTIO.major, MAX_ISTIO_MINOR) {
        diags.push(
            Diagnostic::new(Code::NewerIstioVersion, format!("Istio {} is newer than meshc knows", istio.version))
                .primary(version_span(ast, istio), format!("meshc's rules were checked against Istio {}.{} to {}.{MAX_ISTIO_MINOR}", MIN_ISTIO.major, MIN_ISTIO.minor, MIN_ISTIO.major))
                .help("meshc renders as for the newest release it knows; read the release's upgrade notes for changed chart values and defaults, or target a release meshc supports (`meshc --version` prints the range)"),
        );
    }
    if istio.version >= ROTATION_FIXED {
        return;
    }
    let reading: Vec<&Mesh> = meshes
        .iter()
        .filter(|m| {
            (0..m.clusters.len())
                .any(|i| !m.peers_read_by(i).is_empty() || m.config_cluster_of(i).is_some())
        })
        .collect();
    let Some(first) = reading.first() else { return };
    let span = version_span(ast, istio);
    diags.push(
        Diagnostic::new(Code::StaleRemoteCredentials, format!("Istio {} can keep using stale credentials after a remote secret rotates", istio.version))
            .primary(span, format!("rotation bugs fixed in {ROTATION_FIXED}"))
            .secondary(first.span, format!("mesh `{}` reads clusters through remote secrets", first.name))
            .help(format!("target Istio {ROTATION_FIXED} or newer (`istio version=\"1.31.1\"`), or restart istiod after rotating reader tokens")),
    );
}

/// The first release whose istiod chart gives an IPv6 `remotePilotAddress` an EndpointSlice
/// (`remote-istiod-endpointslices.yaml`); before it, the address matches only the IPv4
/// pattern and becomes an ExternalName Service (istio/istio#58828).
const IPV6_REMOTE_PILOT: Version = Version {
    major: 1,
    minor: 30,
    patch: 0,
};

/// Remotes reaching their control plane at an IPv6 address need the 1.30 charts: before
/// them, the remote's `istiod` Service is an ExternalName of an IP literal (which the API
/// server refuses) and the injection webhook, called through that Service, has no target.
pub fn ipv6_control_addresses(
    ast: &Ast,
    istio: Option<&IstioTarget>,
    meshes: &[Mesh],
    diags: &mut Vec<Diagnostic>,
) {
    let Some(istio) = istio else { return };
    if istio.version >= IPV6_REMOTE_PILOT {
        return;
    }
    let version_span = version_span(ast, istio);
    for m in meshes {
        for (i, c) in m.clusters.iter().enumerate() {
            let Some(addr) = &c.east_west_address else {
                continue;
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                continue;
            }
            let remotes: Vec<&str> = m
                .remotes_of(i)
                .map(|r| m.clusters[r].name.as_str())
                .collect();
            if remotes.is_empty() {
                continue;
            }
            // Cluster names are unique across meshes (`cross_mesh`); mesh blocks may merge.
            let span = ast
                .meshes
                .iter()
                .flat_map(|am| &am.clusters)
                .find(|x| x.name.value == c.name)
                .and_then(|x| x.east_west_address.as_ref())
                .map_or(c.span, |a| a.span);
            diags.push(
                Diagnostic::new(
                    Code::Ipv6ControlAddress,
                    format!("remotes of `{}` reach it at the IPv6 address `{addr}`, which the Istio {} charts cannot use", c.name, istio.version),
                )
                .primary(span, format!("{} would get an ExternalName `istiod` Service of an IP literal", remotes.join(", ")))
                .secondary(version_span, format!("IPv6 remote addresses work from the {IPV6_REMOTE_PILOT} charts on"))
                .help("target Istio 1.30 or newer (the charts then give the address an EndpointSlice, istio/istio#58828), or expose the control plane at an IPv4 address"),
            );
        }
    }
}
