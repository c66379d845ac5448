//! The topology language as data: every node, its arguments, properties and children.
//! Lowering reads nodes through this table (unknown properties and children are found
//! by it), and `schema/` is generated from it, so the documentation of the language and
//! the compiler cannot drift apart.

/// The type of one argument or property value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueType {
    /// Any string.
    String,
    /// A DNS-1123 label (lowercase letters, digits, `-`; at most 63 characters).
    Name,
    /// A name, or `namespace/name` where the name alone would fit several namespaces.
    QualifiedName,
    /// `#true` or `#false`.
    Bool,
    /// One of a fixed set of bare words.
    Enum(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Int(i64, i64),
    /// A number (whole or decimal) in `min..=max`.
    Number(f64, f64),
    /// A duration: a whole number followed by `ms`, `s`, `m` or `h`, e.g. "10s".
    Duration,
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
    /// Properties with names of the user's choosing (`weight v1=90 v2=10`), and their type.
    pub free_props: Option<(&'static str, ValueType)>,
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
pub const TEMPLATE_FOR: &[&str] = &["cluster", "service"];
pub const TEMPLATE_LAYERS: &[&str] = &["mesh", "services"];
pub const LOAD_BALANCERS: &[&str] = &["round-robin", "least-request", "random", "consistent-hash"];
pub const EXTERNAL_PROTOCOLS: &[&str] = &["http", "https", "tls", "tcp", "grpc"];
/// Istio's protocol prefixes for port names (`http`, `http-web`, …), in
/// Istio's protocol selection by port name.
pub const PORT_PROTOCOLS: &[&str] = &[
    "http", "http2", "https", "grpc", "grpc-web", "tcp", "tls", "mongo", "mysql", "redis",
];
const PORT: ValueType = Int(1, 65535);

pub static ISTIO: NodeSpec = NodeSpec {
    name: "istio",
    doc: "The Istio release to target; chart versions and API features follow it.",
    args: &[],
    props: &[
        req(
            "version",
            String,
            "Istio release, e.g. \"1.30.4\" (1.24 to 1.31).",
        ),
        opt(
            "charts",
            String,
            "Helm repository of the Istio charts (default: the official repository).",
        ),
        opt(
            "hub",
            String,
            "Registry and path of the Istio images, e.g. a pull-through mirror \"registry.acme.io/istio\" (default: \"docker.io/istio\", where every Istio release is published).",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
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
    free_props: None,
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
            "Prefix of every key meshc reads from or writes to the store, e.g. \"mesh/\". `{cluster}` in it stands for the cluster that reads the key, giving each cluster its own area (docs/credentials.md).",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static TRUST_DOMAIN: NodeSpec = NodeSpec {
    name: "trust-domain",
    doc: "SPIFFE trust domain of the mesh (default `cluster.local`, Istio's own default).",
    args: &[arg("domain", String, "e.g. \"prod.acme.io\".")],
    props: &[],
    children: &[],
    repeatable: false,
    free_props: None,
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
    free_props: None,
};

pub static DNS_PROXY: NodeSpec = NodeSpec {
    name: "dns-proxy",
    doc: "Istio DNS proxying for every proxy of the mesh (default `#false`).",
    args: &[arg("enabled", Bool, "`#true` or `#false`.")],
    props: &[],
    children: &[],
    repeatable: false,
    free_props: None,
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
        opt(
            "root",
            Name,
            "A name for the root CA this mesh's CA chains to. Meshes that name the same root share it, so they federate without trust bundles (docs/federation.md).",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
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
    free_props: None,
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
    free_props: None,
};

pub static API_SERVER: NodeSpec = NodeSpec {
    name: "api-server",
    doc: "URL of the cluster's Kubernetes API server, as other clusters' control planes reach it.",
    args: &[arg(
        "url",
        String,
        "e.g. \"https://aws-east.k8s.acme.io:6443\".",
    )],
    props: &[
        opt(
            "tls-server-name",
            String,
            "Name to check the API server's certificate against when the URL's host is not in it (a load balancer or custom domain passing TLS through), e.g. \"kubernetes.default.svc\"; written as the remote kubeconfig's `tls-server-name`.",
        ),
        opt(
            "ca",
            Enum(&["cluster", "system"]),
            "Roots that verify the API server: `cluster` (default), the cluster's own CA, published with its reader token; `system`, the public roots, for an endpoint whose certificate a public CA issued (a load balancer terminating TLS).",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
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
    free_props: None,
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
    free_props: None,
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
    free_props: None,
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
        &TRUST_BUNDLE,
        &NETWORK,
        &CLUSTER,
        &NAMESPACE,
        &SERVICE,
        &EXTERNAL,
        &INGRESS,
        &TELEMETRY,
        &TEMPLATE,
    ],
    repeatable: true,
    free_props: None,
};

pub static TRUST_BUNDLE: NodeSpec = NodeSpec {
    name: "trust-bundle",
    doc: "Where the mesh publishes its SPIFFE trust bundle (its root certificates); a mesh it federates with, and does not share a root with (`ca … root=`), trusts this root through `meshConfig.caCertificates`. Served over HTTPS with a publicly trusted certificate (istiod verifies it with the OS roots), as JWKS (docs/federation.md).",
    args: &[arg(
        "url",
        String,
        "An https:// URL of the mesh's SPIFFE bundle endpoint.",
    )],
    props: &[],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static PORT_NODE: NodeSpec = NodeSpec {
    name: "port",
    doc: "A port of the service. Its name starts with the protocol, as Istio's protocol selection expects (`http`, `http-web`, `grpc`, `tcp`, ...).",
    args: &[
        arg(
            "name",
            Name,
            "Port name: a protocol, optionally followed by `-` and a suffix; at most 15 characters.",
        ),
        arg("number", PORT, "Port number (1-65535)."),
    ],
    props: &[opt(
        "target-port",
        PORT,
        "Container port, when it differs from the service port.",
    )],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static DEPLOY: NodeSpec = NodeSpec {
    name: "deploy",
    doc: "Places one version of the service in a cluster. With `image=` meshc renders the Deployment; without, only the Service (the workload is deployed by other means).",
    args: &[arg("cluster", Name, "A cluster of the same mesh.")],
    props: &[
        opt(
            "version",
            Name,
            "Version label of the workload (`version=v1`); subsets and routes refer to it.",
        ),
        opt("replicas", Int(0, 10000), "Replica count (default 1)."),
        opt(
            "image",
            String,
            "Container image; renders a Deployment and a ServiceAccount.",
        ),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static MATCH: NodeSpec = NodeSpec {
    name: "match",
    doc: "A routing rule: requests that match go to one version (or one cluster's endpoints).",
    args: &[],
    props: &[
        opt(
            "header",
            String,
            "Header to match (with `exact=`, `prefix=` or `regex=`).",
        ),
        opt("exact", String, "Exact header value."),
        opt("prefix", String, "Header value prefix."),
        opt("regex", String, "Header value regular expression (RE2)."),
        opt(
            "source-cluster",
            Name,
            "Match requests from workloads in this cluster.",
        ),
        opt("version", Name, "Send matching requests to this version."),
        opt(
            "cluster",
            Name,
            "Send matching requests to this cluster's endpoints (a per-cluster subset).",
        ),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static WEIGHT: NodeSpec = NodeSpec {
    name: "weight",
    doc: "Weighted split of the remaining traffic between versions, e.g. `weight v1=90 v2=10`; the weights are whole numbers that sum to 100.",
    args: &[],
    props: &[],
    children: &[],
    repeatable: false,
    free_props: Some(("version", Int(0, 100))),
};

pub static TIMEOUT: NodeSpec = NodeSpec {
    name: "timeout",
    doc: "Request timeout of the route.",
    args: &[arg("duration", Duration, "e.g. \"10s\".")],
    props: &[],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static RETRIES: NodeSpec = NodeSpec {
    name: "retries",
    doc: "Retry policy of the route.",
    args: &[arg("attempts", Int(0, 100), "Number of retries.")],
    props: &[
        opt(
            "per-try-timeout",
            Duration,
            "Timeout of each try, e.g. \"2s\".",
        ),
        opt(
            "on",
            String,
            "Retry conditions, Envoy's `retryOn` list, e.g. \"5xx,reset\".",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static ROUTE: NodeSpec = NodeSpec {
    name: "route",
    doc: "How requests to the service are routed: matches first, then the weighted split.",
    args: &[],
    props: &[],
    children: &[&MATCH, &WEIGHT, &TIMEOUT, &RETRIES],
    repeatable: false,
    free_props: None,
};

pub static FAILOVER: NodeSpec = NodeSpec {
    name: "failover",
    doc: "Locality failover: when endpoints in region `from` are unhealthy, traffic goes to region `to`. Needs `outlier-detection`.",
    args: &[],
    props: &[
        req("from", String, "Region traffic fails over from."),
        req("to", String, "Region traffic fails over to."),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static OUTLIER_DETECTION: NodeSpec = NodeSpec {
    name: "outlier-detection",
    doc: "Ejects endpoints that keep failing (circuit breaking); also what lets locality failover detect unhealthy endpoints.",
    args: &[],
    props: &[
        opt(
            "consecutive-5xx",
            Int(1, 1000),
            "Consecutive 5xx errors before ejection (default 5).",
        ),
        opt(
            "interval",
            Duration,
            "Time between analyses (default \"10s\").",
        ),
        opt(
            "base-ejection",
            Duration,
            "Minimum ejection time (default \"30s\").",
        ),
        opt(
            "max-ejection-percent",
            Int(1, 100),
            "Upper bound of ejected endpoints, in percent.",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static CONNECTION_POOL: NodeSpec = NodeSpec {
    name: "connection-pool",
    doc: "Connection limits to the service (circuit breaking).",
    args: &[],
    props: &[
        opt(
            "max-connections",
            Int(1, 1_000_000),
            "Maximum TCP connections per destination host.",
        ),
        opt(
            "max-pending-requests",
            Int(1, 1_000_000),
            "Maximum queued HTTP requests.",
        ),
        opt(
            "max-requests",
            Int(1, 1_000_000),
            "Maximum concurrent HTTP/2 requests.",
        ),
        opt(
            "max-retries",
            Int(1, 1_000_000),
            "Maximum concurrent retries.",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static LOAD_BALANCER: NodeSpec = NodeSpec {
    name: "load-balancer",
    doc: "Load-balancing algorithm.",
    args: &[arg(
        "algorithm",
        Enum(LOAD_BALANCERS),
        "`round-robin`, `least-request`, `random` or `consistent-hash`.",
    )],
    props: &[opt(
        "header",
        String,
        "consistent-hash: the header to hash on (required).",
    )],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static EXPORT: NodeSpec = NodeSpec {
    name: "export",
    doc: "Makes the service reachable from another mesh (multi-mesh federation).",
    args: &[],
    props: &[req("to", Name, "The importing mesh.")],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static SERVICE: NodeSpec = NodeSpec {
    name: "service",
    doc: "A mesh service: its ports, where it runs, and its traffic policy.",
    args: &[arg(
        "name",
        Name,
        "Service name (the Kubernetes Service and the `app` label).",
    )],
    props: &[
        req("namespace", Name, "A namespace declared in the mesh."),
        opt(
            "cluster-local",
            Bool,
            "Keep calls inside the caller's cluster (`meshConfig.serviceSettings`).",
        ),
    ],
    children: &[
        &PORT_NODE,
        &DEPLOY,
        &ROUTE,
        &FAILOVER,
        &OUTLIER_DETECTION,
        &CONNECTION_POOL,
        &LOAD_BALANCER,
        &EXPORT,
    ],
    repeatable: true,
    free_props: None,
};

pub static EXTERNAL: NodeSpec = NodeSpec {
    name: "external",
    doc: "A service outside every mesh, made known to the mesh (ServiceEntry `MESH_EXTERNAL`, DNS resolution).",
    args: &[arg("name", Name, "Name of the ServiceEntry.")],
    props: &[
        req(
            "host",
            String,
            "DNS name of the service, e.g. \"api.stripe.com\".",
        ),
        req("port", PORT, "Port number."),
        req(
            "protocol",
            Enum(EXTERNAL_PROTOCOLS),
            "`http`, `https`, `tls`, `tcp` or `grpc`.",
        ),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static INGRESS_HOST: NodeSpec = NodeSpec {
    name: "host",
    doc: "A host name the ingress serves, over HTTPS with the certificate in `tls-secret` (HTTP redirects to HTTPS).",
    args: &[arg("host", String, "e.g. \"shop.acme.io\".")],
    props: &[req(
        "tls-secret",
        Name,
        "Secret holding the certificate, in the ingress gateway's namespace `istio-ingress`.",
    )],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static INGRESS_ROUTE: NodeSpec = NodeSpec {
    name: "route",
    doc: "Requests whose path starts with the prefix go to the service.",
    args: &[arg("prefix", String, "Path prefix, e.g. \"/\".")],
    props: &[
        req(
            "service",
            QualifiedName,
            "A service of the mesh: its name, or `namespace/name` when services of that name are in several namespaces.",
        ),
        opt("port", PORT, "Service port (default: its first port)."),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

pub static INGRESS: NodeSpec = NodeSpec {
    name: "ingress",
    doc: "North-south entry: an ingress gateway in one cluster, with its hosts and routes.",
    args: &[arg(
        "name",
        Name,
        "Ingress name; the gateway is `istio-ingress-NAME` in namespace `istio-ingress`.",
    )],
    props: &[req("cluster", Name, "The cluster that runs the gateway.")],
    children: &[&INGRESS_HOST, &INGRESS_ROUTE],
    repeatable: true,
    free_props: None,
};

pub static TELEMETRY: NodeSpec = NodeSpec {
    name: "telemetry",
    doc: "Mesh-wide observability defaults (a Telemetry resource in the root namespace).",
    args: &[],
    props: &[
        opt("access-log", Bool, "Envoy access logs for every proxy."),
        opt(
            "tracing-sampling",
            Number(0.0, 100.0),
            "Percentage of requests traced (0-100).",
        ),
        opt(
            "tracing-endpoint",
            String,
            "OpenTelemetry collector as \"host:port\" (required with `tracing-sampling`): a Service as `name.namespace`, or the host of an `external`.",
        ),
    ],
    children: &[],
    repeatable: false,
    free_props: None,
};

pub static TEMPLATE: NodeSpec = NodeSpec {
    name: "template",
    doc: "A user extension: a minijinja template rendered for every cluster (or every service in every cluster) of the mesh, with the checked model as context. Its output must be Kubernetes objects; they join the cluster's output like meshc's own.",
    args: &[arg(
        "path",
        String,
        "Template file, relative to the topology file that names it, e.g. \"templates/ratelimit.yaml.j2\".",
    )],
    props: &[
        opt(
            "for",
            Enum(TEMPLATE_FOR),
            "`cluster` (default): once per cluster, or `service`: once per service and cluster.",
        ),
        opt(
            "layer",
            Enum(TEMPLATE_LAYERS),
            "Layer (unit) the objects go to: `services` (default) or `mesh`; the rollout orders it by what its objects need (`E0901` if that is a cycle).",
        ),
        opt(
            "privileged",
            Bool,
            "`#true` lets the template write cluster-scoped objects and RBAC (Roles, bindings, webhooks, CRDs); without it they are `E0804`.",
        ),
    ],
    children: &[],
    repeatable: true,
    free_props: None,
};

/// The document itself: the top level of a topology file.
pub static DOCUMENT: NodeSpec = NodeSpec {
    name: "(document)",
    doc: "A meshc topology.",
    args: &[],
    props: &[],
    children: &[&ISTIO, &GITOPS, &SECRETS, &MESH],
    repeatable: false,
    free_props: None,
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
            ValueType::QualifiedName => "name, or `namespace/name`".to_string(),
            ValueType::Bool => "`#true` / `#false`".to_string(),
            ValueType::Enum(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" \\| "),
            ValueType::Int(min, max) => format!("whole number {min}-{max}"),
            ValueType::Number(min, max) => format!("number {min}-{max}"),
            ValueType::Duration => "duration (\"10s\", \"500ms\")".to_string(),
        }
    }
    fn walk(
        spec: &'static NodeSpec,
        parent: &str,
        out: &mut std::string::String,
        seen: &mut Vec<&'static NodeSpec>,
    ) {
        for c in spec.children {
            // A node spec shared by several parents is documented once; two different
            // nodes of one name (a service's `route`, an ingress's `route`) both are.
            if seen.iter().any(|s| std::ptr::eq(*s, *c)) {
                continue;
            }
            let homonym = seen.iter().any(|s| s.name == c.name);
            seen.push(c);
            if homonym {
                out.push_str(&format!(
                    "### `{}` (in `{parent}`)\n\n{}\n\n",
                    c.name, c.doc
                ));
            } else {
                out.push_str(&format!("### `{}`\n\n{}\n\n", c.name, c.doc));
            }
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
            if !c.args.is_empty() || !c.props.is_empty() || c.free_props.is_some() {
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
                if let Some((what, t)) = c.free_props {
                    out.push_str(&format!(
                        "| `<{what}>=` | {} | yes | one per {what} |\n",
                        ty(t)
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
