//! The checked model: what the topology means once names are resolved and every rule
//! holds. Rendering reads only this. References are indices, defaults are filled in, and
//! each entity keeps the span of its declaration so rendered objects can name their source.

use crate::ast::{GitopsTool, IssuerKind, Mtls, StoreKind};
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

    /// The store key for a path below the prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
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
    pub east_west_address: Option<String>,
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

    /// Does cluster `i` need an east-west gateway? In a multi-network mesh every workload
    /// cluster does (cross-network traffic enters through it); a primary serving remotes
    /// does (remotes reach istiod through it).
    pub fn needs_east_west_gateway(&self, i: usize) -> bool {
        let c = &self.clusters[i];
        match c.role {
            Role::External => false,
            Role::Primary => self.multi_network() || self.remotes_of(i).next().is_some(),
            Role::Remote { .. } => self.multi_network(),
        }
    }

    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.name == name)
    }
}
