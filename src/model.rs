//! The checked model: what the topology means once names are resolved and every rule
//! holds. Rendering reads only this. References are indices, defaults are filled in, and
//! each entity keeps the span of its declaration so rendered objects can name their source.

use crate::ast::{Balancer, GitopsTool, HeaderMatch, IssuerKind, Mtls, StoreKind};
use crate::source::Span;

#[derive(Debug)]
pub struct Model {
    pub istio: IstioTarget,
    pub gitops: Gitops,
    pub secrets: Option<SecretStore>,
    pub meshes: Vec<Mesh>,
}

/// An Istio release, `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug)]
pub struct IstioTarget {
    pub version: Version,
    /// Helm repository of the Istio charts.
    pub charts: String,
    /// Registry and path of the Istio images (`global.hub` of every istiod release).
    pub hub: String,
    pub span: Span,
}

#[derive(Debug)]
pub struct Gitops {
    pub tool: GitopsTool,
    pub repo: Option<String>,
    pub revision: String,
    /// Directory of the output in the repository, without leading `./` or trailing `/`;
    /// empty for the repository root.
    pub path: String,
    pub project: String,
    pub namespace: String,
    pub source: String,
    pub span: Span,
}

impl Gitops {
    /// Repository path of a directory of the output, e.g. `rendered/clusters/c1`.
    pub fn repo_path(&self, rel: &str) -> String {
        if self.path.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.path)
        }
    }
}

#[derive(Debug)]
pub struct SecretStore {
    pub store: String,
    pub kind: StoreKind,
    pub prefix: String,
}

impl SecretStore {
    pub fn kind_str(&self) -> &'static str {
        match self.kind {
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
            StoreKind::SecretStore => "SecretStore",
        }
    }

    /// The store key for a path below the prefix, as cluster `reader` reads it: a `{cluster}`
    /// in the prefix is the reading cluster, so each cluster's store reads only its own
    /// area (docs/credentials.md).
    pub fn key(&self, reader: &str, rest: &str) -> String {
        format!("{}{rest}", self.prefix.replace("{cluster}", reader))
    }
}

#[derive(Debug)]
pub enum Ca {
    CertManager {
        issuer: String,
        kind: IssuerKind,
    },
    /// `key` may contain `{cluster}`.
    ExternalSecret {
        key: String,
    },
}

#[derive(Debug)]
pub struct Mesh {
    pub name: String,
    pub span: Span,
    pub trust_domain: String,
    pub mtls: Mtls,
    pub dns_proxy: bool,
    pub ca: Option<(Ca, Span)>,
    pub networks: Vec<String>,
    pub clusters: Vec<Cluster>,
    pub namespaces: Vec<Namespace>,
    /// SPIFFE bundle endpoint of the mesh, for meshes it federates with that do not share
    /// its root.
    pub trust_bundle: Option<String>,
    /// `ca … root=`: meshes naming the same root share it (and trust each other's
    /// certificates without a bundle).
    pub shared_root: Option<String>,
    pub services: Vec<Service>,
    pub externals: Vec<External>,
    pub ingresses: Vec<Ingress>,
    pub telemetry: Option<Telemetry>,
    pub templates: Vec<crate::ast::Template>,
}

#[derive(Debug)]
pub struct Namespace {
    pub name: String,
    pub injection: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs istiod for itself (and possibly for remotes).
    Primary,
    /// Served by the control plane of cluster `control` (an index into the mesh's
    /// clusters), which is a primary or an external control plane. `config` marks the
    /// remote that holds the mesh configuration of an external control plane.
    Remote { control: usize, config: bool },
    /// Hosts istiod for its remotes and runs no mesh workloads.
    External,
}

#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub span: Span,
    pub network: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub role: Role,
    pub api_server: Option<String>,
    /// How peers verify the API server's certificate.
    pub api_server_tls: ApiServerTls,
    pub east_west_address: Option<String>,
}

impl Cluster {
    /// Whether the cluster's east-west gateway is known by IP address (not by host name,
    /// nor missing).
    pub fn gateway_is_ip(&self) -> bool {
        self.east_west_address
            .as_deref()
            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
    }

    /// An external control plane that remotes reach by host name: its gateway terminates
    /// TLS and re-encrypts to istiod, with the mesh's root in istio-system.
    pub fn external_by_name(&self) -> bool {
        self.role == Role::External && self.east_west_address.is_some() && !self.gateway_is_ip()
    }
}

/// How a remote kubeconfig verifies a cluster's API server (client-go's cluster
/// `tls-server-name` and `certificate-authority-data`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiServerTls {
    /// The name the certificate is checked against, when not the URL's host.
    pub server_name: Option<String>,
    /// Verify against the public roots, not the cluster's own CA.
    pub system_roots: bool,
}

/// Namespace of istiod (and of remote secrets) for the clusters of an external control plane.
pub const EXTERNAL_ISTIOD_NS: &str = "external-istiod";
pub const ISTIO_SYSTEM: &str = "istio-system";

impl Mesh {
    pub fn multi_network(&self) -> bool {
        let mut nets: Vec<&str> = self
            .clusters
            .iter()
            .filter_map(|c| c.network.as_deref())
            .collect();
        nets.sort_unstable();
        nets.dedup();
        nets.len() > 1
    }

    /// The clusters whose control plane serves cluster `i` as a remote.
    pub fn remotes_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.clusters
            .iter()
            .enumerate()
            .filter(move |(_, c)| matches!(c.role, Role::Remote { control, .. } if control == i))
            .map(|(j, _)| j)
    }

    /// Does cluster `i` hold mesh configuration (Istio custom resources that istiod reads)?
    /// Every primary does; a remote of an external control plane does if it is the config
    /// cluster; other remotes read their primary's.
    pub fn holds_config(&self, i: usize) -> bool {
        match self.clusters[i].role {
            Role::Primary => true,
            Role::Remote { config, .. } => config,
            Role::External => false,
        }
    }

    /// Is cluster `i` served by an external control plane (or is it that control plane)?
    pub fn is_external_model(&self, i: usize) -> bool {
        match self.clusters[i].role {
            Role::External => true,
            Role::Remote { control, .. } => self.clusters[control].role == Role::External,
            Role::Primary => false,
        }
    }

    /// Namespace where istiod runs for cluster `i` (or, for a remote, where it would).
    pub fn istiod_namespace(&self, i: usize) -> &'static str {
        if self.is_external_model(i) {
            EXTERNAL_ISTIOD_NS
        } else {
            ISTIO_SYSTEM
        }
    }

    /// Clusters whose API server the control plane of cluster `i` reads through a remote
    /// secret: for a primary, every other workload cluster of the mesh; for an external
    /// control plane, its remotes other than the config cluster (that one is read through
    /// `istio-kubeconfig`).
    pub fn peers_read_by(&self, i: usize) -> Vec<usize> {
        match self.clusters[i].role {
            Role::Primary => (0..self.clusters.len())
                .filter(|&j| j != i && self.clusters[j].role != Role::External)
                .collect(),
            Role::External => self
                .remotes_of(i)
                .filter(|&j| !matches!(self.clusters[j].role, Role::Remote { config: true, .. }))
                .collect(),
            Role::Remote { .. } => Vec::new(),
        }
    }

    /// The config cluster of external control plane `i`.
    pub fn config_cluster_of(&self, i: usize) -> Option<usize> {
        self.remotes_of(i)
            .find(|&j| matches!(self.clusters[j].role, Role::Remote { config: true, .. }))
    }

    /// Is cluster `j` read by some other cluster's control plane (so it needs an API
    /// server address and a reader token)?
    pub fn is_read_by_peer(&self, j: usize) -> bool {
        (0..self.clusters.len()).any(|i| {
            i != j && (self.peers_read_by(i).contains(&j) || self.config_cluster_of(i) == Some(j))
        })
    }

    /// Does cluster `i` need an east-west gateway? A primary does in a multi-network mesh
    /// (cross-network traffic enters its network through it) and when it serves remotes
    /// (they reach istiod through it). A remote does only when no primary shares its
    /// network: on a primary's network, pod IPs are reachable from that primary's
    /// gateway, which istiod routes the network's traffic through (any gateway labelled
    /// with the network serves all of it), so a gateway of its own would only cost a load
    /// balancer and, on first sync, wait for injection. Any cluster running an exported
    /// service does (other meshes enter through it).
    pub fn needs_east_west_gateway(&self, i: usize) -> bool {
        let c = &self.clusters[i];
        match c.role {
            Role::External => false,
            Role::Primary => {
                self.multi_network() || self.remotes_of(i).next().is_some() || self.exports_from(i)
            }
            Role::Remote { .. } => {
                let primary_on_network = self.clusters.iter().any(|p| {
                    p.role == Role::Primary && p.network.is_some() && p.network == c.network
                });
                (self.multi_network() && !primary_on_network) || self.exports_from(i)
            }
        }
    }

    /// Does cluster `i` run a service other meshes import (so their traffic enters through
    /// its east-west gateway on 15443)?
    pub fn exports_from(&self, i: usize) -> bool {
        self.services
            .iter()
            .any(|s| !s.exports.is_empty() && s.runs_in(i))
    }

    /// Does any service of the mesh go to another mesh?
    pub fn exports_any(&self) -> bool {
        self.services.iter().any(|s| !s.exports.is_empty())
    }

    /// Is cluster `i` one that runs workloads (not an external control plane)?
    pub fn runs_workloads(&self, i: usize) -> bool {
        self.clusters[i].role != Role::External
    }

    /// The cluster whose API server holds the configuration istiod applies to cluster
    /// `i`'s proxies: itself when it holds configuration, else its control plane's config
    /// cluster.
    pub fn config_cluster_for(&self, i: usize) -> usize {
        match self.clusters[i].role {
            Role::Remote { control, .. } if !self.holds_config(i) => {
                match self.clusters[control].role {
                    Role::External => self.config_cluster_of(control).unwrap_or(i),
                    _ => control,
                }
            }
            _ => i,
        }
    }

    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.name == name)
    }
}

#[derive(Debug)]
pub struct Port {
    pub name: String,
    pub number: u16,
    pub target: u16,
    /// The protocol prefix of the name (`http`, `grpc`, `tcp`, …).
    pub protocol: &'static str,
}

impl Port {
    /// Istio's protocol name for ServiceEntry ports.
    pub fn istio_protocol(&self) -> &'static str {
        match self.protocol {
            "http" => "HTTP",
            "http2" => "HTTP2",
            "https" => "HTTPS",
            "grpc" | "grpc-web" => "GRPC",
            "tls" => "TLS",
            "mongo" => "MONGO",
            "mysql" => "MYSQL",
            "redis" => "REDIS",
            _ => "TCP",
        }
    }
}

#[derive(Debug)]
pub struct Deploy {
    pub cluster: usize,
    pub version: Option<String>,
    pub replicas: u32,
    pub image: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Version(String),
    Cluster(String),
}

#[derive(Debug)]
pub struct RouteMatch {
    pub header: Option<(String, HeaderMatch, String)>,
    pub source_cluster: Option<String>,
    pub target: Target,
}

#[derive(Debug)]
pub struct Retries {
    pub attempts: u32,
    pub per_try_timeout: Option<String>,
    pub on: Option<String>,
}

#[derive(Debug, Default)]
pub struct Route {
    pub matches: Vec<RouteMatch>,
    pub weights: Vec<(String, u32)>,
    pub timeout: Option<String>,
    pub retries: Option<Retries>,
}

#[derive(Debug)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
    pub interval: String,
    pub base_ejection: String,
    pub max_ejection_percent: Option<u32>,
}

#[derive(Debug, Default)]
pub struct ConnectionPool {
    pub max_connections: Option<i64>,
    pub max_pending_requests: Option<i64>,
    pub max_requests: Option<i64>,
    pub max_retries: Option<i64>,
}

#[derive(Debug)]
pub struct LoadBalancer {
    pub algorithm: Balancer,
    pub header: Option<String>,
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub span: Span,
    pub cluster_local: bool,
    pub ports: Vec<Port>,
    pub deploys: Vec<Deploy>,
    pub route: Option<Route>,
    pub failover: Vec<(String, String)>,
    pub outlier_detection: Option<OutlierDetection>,
    pub connection_pool: Option<ConnectionPool>,
    pub load_balancer: Option<LoadBalancer>,
    /// Indices of the meshes the service is exported to.
    pub exports: Vec<usize>,
}

impl Service {
    pub fn fqdn(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.name, self.namespace)
    }

    /// Does cluster `i` run the service?
    pub fn runs_in(&self, i: usize) -> bool {
        self.deploys.iter().any(|d| d.cluster == i)
    }

    /// The versions deployed, in order of first appearance.
    pub fn versions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for d in &self.deploys {
            if let Some(ver) = d.version.as_deref()
                && !v.contains(&ver)
            {
                v.push(ver);
            }
        }
        v
    }

    /// Clusters a route sends traffic to by name (per-cluster subsets), in order.
    pub fn cluster_subsets(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for m in self.route.iter().flat_map(|r| &r.matches) {
            if let Target::Cluster(c) = &m.target
                && !v.contains(&c.as_str())
            {
                v.push(c);
            }
        }
        v
    }
}

#[derive(Debug)]
pub struct External {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub protocol: String,
    pub span: Span,
}

#[derive(Debug)]
pub struct IngressRoute {
    pub prefix: String,
    pub service: usize,
    pub port: u16,
}

#[derive(Debug)]
pub struct Ingress {
    pub name: String,
    pub cluster: usize,
    /// Host and the secret holding its certificate.
    pub hosts: Vec<(String, String)>,
    pub routes: Vec<IngressRoute>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Telemetry {
    pub access_log: bool,
    pub tracing: Option<Tracing>,
    pub span: Span,
}

/// Where traces go: the collector as istiod's service registry names it.
#[derive(Debug)]
pub struct Tracing {
    /// Percentage of requests traced.
    pub sampling: f64,
    /// `name.namespace.svc.cluster.local`, or the host of one of the mesh's externals:
    /// istiod looks the provider's service up by this exact name
    /// (pilot/pkg/model/telemetry_logging.go, LookupCluster) and traces nothing if it is
    /// not in the registry.
    pub host: String,
    pub port: u16,
}

/// Namespace of the ingress gateways meshc installs.
pub const INGRESS_NS: &str = "istio-ingress";

impl Model {
    /// Meshes that mesh `m` federates with: those it exports to and those exporting to it.
    pub fn federated_with(&self, m: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for (j, other) in self.meshes.iter().enumerate() {
            if j == m {
                continue;
            }
            let to = self.meshes[m]
                .services
                .iter()
                .any(|s| s.exports.contains(&j));
            let from = other.services.iter().any(|s| s.exports.contains(&m));
            if to || from {
                out.push(j);
            }
        }
        out
    }

    /// Whether meshes `a` and `b` name the same root (`ca … root=`): each then verifies the
    /// other's certificates with the root it already has, and no trust bundle is needed.
    pub fn share_root(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.meshes[a].shared_root, &self.meshes[b].shared_root);
        a.is_some() && a == b
    }

    /// Services of mesh `m` exported to mesh `to`, as service indices.
    pub fn exported_to(&self, m: usize, to: usize) -> Vec<usize> {
        (0..self.meshes[m].services.len())
            .filter(|&k| self.meshes[m].services[k].exports.contains(&to))
            .collect()
    }

    /// Services of other meshes exported to mesh `m`, as (exporting mesh, service) indices.
    pub fn imports_of(&self, m: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (j, other) in self.meshes.iter().enumerate() {
            for (k, s) in other.services.iter().enumerate() {
                if j != m && s.exports.contains(&m) {
                    out.push((j, k));
                }
            }
        }
        out
    }

    pub fn mesh_index(&self, name: &str) -> Option<usize> {
        self.meshes.iter().position(|m| m.name == name)
    }
}
