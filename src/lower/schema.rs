//! The topology language as data: every node, its arguments, properties and children.
//! Lowering reads nodes through this table (unknown properties and children are found
//! by it), and `schema/` is generated from it, so the documentation of the language and
//! the compiler cannot drift apart.

/// The type of one argument or property value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// Any string.
    String,
    /// A DNS-1123 label (lowercase letters, digits, `-`; at most 63 characters).
    Name,
    /// `#true` or `#false`.
    Bool,
    /// One of a fixed set of bare words.
    Enum(&'static [&'static str]),
}

#[derive(Debug)]
pub struct ValueSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct NodeSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// Positional arguments, in order.
    pub args: &'static [ValueSpec],
    pub props: &'static [ValueSpec],
    pub children: &'static [&'static NodeSpec],
    /// Whether the node may appear more than once in its parent.
    pub repeatable: bool,
}

impl NodeSpec {
    pub fn child(&self, name: &str) -> Option<&'static NodeSpec> {
        self.children.iter().copied().find(|c| c.name == name)
    }

    pub fn prop(&self, name: &str) -> Option<&'static ValueSpec> {
        self.props.iter().find(|p| p.name == name)
    }
}

const fn arg(name: &'static str, ty: ValueType, doc: &'static str) -> ValueSpec {
    ValueSpec {
        name,
        ty,
        required: true,
        doc,
    }
}
const fn req(name: &'static str, ty: ValueType, doc: &'static str) -> ValueSpec {
    ValueSpec {
        name,
        ty,
        required: true,
        doc,
    }
}
const fn opt(name: &'static str, ty: ValueType, doc: &'static str) -> ValueSpec {
    ValueSpec {
        name,
        ty,
        required: false,
        doc,
    }
}

use ValueType::*;

pub const GITOPS_TOOLS: &[&str] = &["argocd", "flux"];
pub const SECRET_PROVIDERS: &[&str] = &["external-secrets"];
pub const STORE_KINDS: &[&str] = &["ClusterSecretStore", "SecretStore"];
pub const MTLS_MODES: &[&str] = &["strict", "permissive"];
pub const CA_KINDS: &[&str] = &["cert-manager", "external-secret"];
pub const ISSUER_KINDS: &[&str] = &["ClusterIssuer", "Issuer"];
pub const CONTROL_PLANES: &[&str] = &["primary", "remote", "external"];

pub static ISTIO: NodeSpec = NodeSpec {
    name: "istio",
    doc: "The Istio release to target; chart versions and API features follow it.",
    args: &[],
    props: &[
        req(
            "version",
            String,
            "Istio release, e.g. \"1.28.2\" (1.24 or newer).",
        ),
        opt(
            "charts",
            String,
            "Helm repository of the Istio charts (default: the official repository).",
        ),
    ],
    children: &[],
    repeatable: false,
};

pub static GITOPS: NodeSpec = NodeSpec {
    name: "gitops",
    doc: "How clusters consume the rendered output: Argo CD Applications or Flux objects.",
    args: &[arg("tool", Enum(GITOPS_TOOLS), "`argocd` or `flux`.")],
    props: &[
        opt(
            "repo",
            String,
            "argocd: URL of the Git repository the output is committed to (required).",
        ),
        opt(
            "revision",
            String,
            "argocd: branch, tag or commit to follow (default `HEAD`).",
        ),
        opt(
            "path",
            String,
            "Directory of the output inside the repository (default: the repository root).",
        ),
        opt(
            "project",
            String,
            "argocd: AppProject of the Applications (default `default`).",
        ),
        opt(
            "namespace",
            Name,
            "Namespace of the Argo CD Applications or Flux Kustomizations (default `argocd` / `flux-system`).",
        ),
        opt(
            "source",
            Name,
            "flux: name of the GitRepository holding the output (default `flux-system`).",
        ),
    ],
    children: &[],
    repeatable: false,
};

pub static SECRETS: NodeSpec = NodeSpec {
    name: "secrets",
    doc: "Where credentials live. meshc only ever references them (ExternalSecret objects), never writes them.",
    args: &[arg(
        "provider",
        Enum(SECRET_PROVIDERS),
        "`external-secrets` (External Secrets Operator).",
    )],
    props: &[
        req(
            "store",
            Name,
            "Name of the SecretStore or ClusterSecretStore.",
        ),
        opt(
            "store-kind",
            Enum(STORE_KINDS),
            "`ClusterSecretStore` (default) or `SecretStore`.",
        ),
        opt(
            "prefix",
            String,
            "Prefix of every key meshc reads from or writes to the store, e.g. \"mesh/\".",
        ),
    ],
    children: &[],
    repeatable: false,
};

pub static TRUST_DOMAIN: NodeSpec = NodeSpec {
    name: "trust-domain",
    doc: "SPIFFE trust domain of the mesh (default `cluster.local`, Istio's own default).",
    args: &[arg("domain", String, "e.g. \"prod.acme.io\".")],
    props: &[],
    children: &[],
    repeatable: false,
};

pub static MTLS: NodeSpec = NodeSpec {
    name: "mtls",
    doc: "Mesh-wide mutual TLS mode (default `strict`).",
    args: &[arg(
        "mode",
        Enum(MTLS_MODES),
        "`strict` or `permissive` (warns).",
    )],
    props: &[],
    children: &[],
    repeatable: false,
};

pub static DNS_PROXY: NodeSpec = NodeSpec {
    name: "dns-proxy",
    doc: "Istio DNS proxying for every proxy of the mesh (default `#false`).",
    args: &[arg("enabled", Bool, "`#true` or `#false`.")],
    props: &[],
    children: &[],
    repeatable: false,
};

pub static CA: NodeSpec = NodeSpec {
    name: "ca",
    doc: "The shared root of trust: one intermediate CA per cluster, all under one root.",
    args: &[arg(
        "kind",
        Enum(CA_KINDS),
        "`cert-manager` or `external-secret`.",
    )],
    props: &[
        opt(
            "issuer",
            Name,
            "cert-manager: the issuer that signs each cluster's intermediate (required).",
        ),
        opt(
            "issuer-kind",
            Enum(ISSUER_KINDS),
            "cert-manager: `ClusterIssuer` (default) or `Issuer`.",
        ),
        opt(
            "key",
            String,
            "external-secret: store key of each cluster's CA material; `{cluster}` is replaced by the cluster name (required).",
        ),
    ],
    children: &[],
    repeatable: false,
};

pub static NETWORK: NodeSpec = NodeSpec {
    name: "network",
    doc: "A flat pod network: clusters on one network reach each other's pods directly.",
    args: &[arg(
        "name",
        Name,
        "Network name, used as `topology.istio.io/network`.",
    )],
    props: &[],
    children: &[],
    repeatable: true,
};

pub static CONTROL_PLANE: NodeSpec = NodeSpec {
    name: "control-plane",
    doc: "The Istio control-plane model of the cluster.",
    args: &[arg(
        "model",
        Enum(CONTROL_PLANES),
        "`primary`, `remote` or `external`.",
    )],
    props: &[
        opt(
            "primary",
            Name,
            "remote: the cluster whose control plane serves this one (a `primary` or an `external`).",
        ),
        opt(
            "config",
            Bool,
            "remote of an external control plane: this cluster holds the mesh configuration.",
        ),
    ],
    children: &[],
    repeatable: false,
};

pub static API_SERVER: NodeSpec = NodeSpec {
    name: "api-server",
    doc: "URL of the cluster's Kubernetes API server, as other clusters' control planes reach it.",
    args: &[arg(
        "url",
        String,
        "e.g. \"https://aws-east.k8s.acme.io:6443\".",
    )],
    props: &[],
    children: &[],
    repeatable: false,
};

pub static EAST_WEST_ADDRESS: NodeSpec = NodeSpec {
    name: "east-west-address",
    doc: "Address of the cluster's east-west gateway (or of the gateway exposing an external control plane); remote clusters reach the control plane there.",
    args: &[arg(
        "address",
        String,
        "An IP address (preferred) or a DNS name.",
    )],
    props: &[],
    children: &[],
    repeatable: false,
};

pub static CLUSTER: NodeSpec = NodeSpec {
    name: "cluster",
    doc: "A Kubernetes cluster in the mesh; it gets its own output directory `clusters/NAME/`.",
    args: &[arg(
        "name",
        Name,
        "Cluster name: Istio's cluster ID and the output directory name.",
    )],
    props: &[
        opt(
            "network",
            Name,
            "The network the cluster is on (required when the mesh has several).",
        ),
        opt("region", String, "Locality region, e.g. `us-east-1`."),
        opt("zone", String, "Locality zone, e.g. `us-east-1a`."),
    ],
    children: &[&CONTROL_PLANE, &API_SERVER, &EAST_WEST_ADDRESS],
    repeatable: true,
};

pub static NAMESPACE: NodeSpec = NodeSpec {
    name: "namespace",
    doc: "An application namespace of the mesh, with sidecar injection.",
    args: &[arg("name", Name, "Namespace name.")],
    props: &[opt(
        "injection",
        Bool,
        "Sidecar injection (default `#true`).",
    )],
    children: &[],
    repeatable: true,
};

pub static MESH: NodeSpec = NodeSpec {
    name: "mesh",
    doc: "One Istio mesh: one mesh ID, one trust domain, its networks and clusters.",
    args: &[arg("name", Name, "Mesh name, used as the mesh ID.")],
    props: &[],
    children: &[
        &TRUST_DOMAIN,
        &MTLS,
        &DNS_PROXY,
        &CA,
        &NETWORK,
        &CLUSTER,
        &NAMESPACE,
    ],
    repeatable: true,
};

/// The document itself: the top level of a topology file.
pub static DOCUMENT: NodeSpec = NodeSpec {
    name: "(document)",
    doc: "A meshc topology.",
    args: &[],
    props: &[],
    children: &[&ISTIO, &GITOPS, &SECRETS, &MESH],
    repeatable: false,
};

/// Where a node of this name may appear, e.g. "inside `mesh`": used when a node is
/// written in the wrong place.
pub fn home_of(name: &str) -> Option<&'static str> {
    fn walk(spec: &'static NodeSpec, name: &str) -> Option<&'static str> {
        for c in spec.children {
            if c.name == name {
                return Some(spec.name);
            }
            if let Some(found) = walk(c, name) {
                return Some(found);
            }
        }
        None
    }
    walk(&DOCUMENT, name)
}

/// The node reference of `docs/language.md`, generated from this table.
pub fn reference_markdown() -> std::string::String {
    fn ty(t: ValueType) -> std::string::String {
        match t {
            ValueType::String => "string".to_string(),
            ValueType::Name => "name (DNS-1123 label)".to_string(),
            ValueType::Bool => "`#true` / `#false`".to_string(),
            ValueType::Enum(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" \\| "),
        }
    }
    fn walk(
        spec: &'static NodeSpec,
        parent: &str,
        out: &mut std::string::String,
        seen: &mut Vec<&'static str>,
    ) {
        for c in spec.children {
            if seen.contains(&c.name) {
                continue;
            }
            seen.push(c.name);
            out.push_str(&format!("### `{}`\n\n{}\n\n", c.name, c.doc));
            let place = if parent.is_empty() {
                "at the top level".to_string()
            } else {
                format!("inside `{parent}`")
            };
            let times = if c.repeatable {
                "any number of times"
            } else {
                "at most once"
            };
            out.push_str(&format!("Appears {place}, {times}.\n\n"));
            if !c.args.is_empty() || !c.props.is_empty() {
                out.push_str("| entry | type | required | meaning |\n|---|---|---|---|\n");
                for (i, a) in c.args.iter().enumerate() {
                    out.push_str(&format!(
                        "| argument {} `{}` | {} | {} | {} |\n",
                        i + 1,
                        a.name,
                        ty(a.ty),
                        if a.required { "yes" } else { "no" },
                        a.doc
                    ));
                }
                for p in c.props {
                    out.push_str(&format!(
                        "| `{}=` | {} | {} | {} |\n",
                        p.name,
                        ty(p.ty),
                        if p.required { "yes" } else { "no" },
                        p.doc
                    ));
                }
                out.push('\n');
            }
            if !c.children.is_empty() {
                let names: Vec<std::string::String> =
                    c.children.iter().map(|k| format!("`{}`", k.name)).collect();
                out.push_str(&format!("Children: {}.\n\n", names.join(", ")));
            }
            walk(c, c.name, out, seen);
        }
    }
    let mut out = std::string::String::new();
    walk(&DOCUMENT, "", &mut out, &mut Vec::new());
    out
}
