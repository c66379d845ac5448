//! The syntax tree after lowering: what the topology says, typed, with the source span of
//! every value. Nothing here is resolved or checked beyond the shape of single nodes;
//! references are still names. The checker turns this into `model`.

use crate::source::Span;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

#[derive(Debug, Default)]
pub struct Ast {
    pub istio: Option<Istio>,
    pub gitops: Option<Gitops>,
    pub secrets: Option<Secrets>,
    pub meshes: Vec<Mesh>,
}

#[derive(Debug)]
pub struct Istio {
    pub node: Span,
    pub version: Option<Spanned<String>>,
    pub charts: Option<Spanned<String>>,
    pub hub: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitopsTool {
    Argocd,
    Flux,
}

#[derive(Debug)]
pub struct Gitops {
    pub node: Span,
    /// `None` when the tool was missing or invalid (already reported).
    pub tool: Option<Spanned<GitopsTool>>,
    pub repo: Option<Spanned<String>>,
    pub revision: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub project: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    ClusterSecretStore,
    SecretStore,
}

#[derive(Debug)]
pub struct Secrets {
    pub node: Span,
    pub store: Option<Spanned<String>>,
    pub store_kind: Option<Spanned<StoreKind>>,
    pub prefix: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mtls {
    Strict,
    Permissive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerKind {
    ClusterIssuer,
    Issuer,
}

#[derive(Debug)]
pub enum CaSource {
    CertManager {
        issuer: Option<Spanned<String>>,
        issuer_kind: Option<Spanned<IssuerKind>>,
    },
    ExternalSecret {
        key: Option<Spanned<String>>,
    },
}

#[derive(Debug)]
pub struct Ca {
    pub node: Span,
    pub source: CaSource,
    /// `root=`: the name of the root the mesh's CA chains to.
    pub root: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Mesh {
    pub node: Span,
    pub name: Spanned<String>,
    pub trust_domain: Option<Spanned<String>>,
    pub mtls: Option<Spanned<Mtls>>,
    pub dns_proxy: Option<Spanned<bool>>,
    pub ca: Option<Ca>,
    pub networks: Vec<Spanned<String>>,
    pub clusters: Vec<Cluster>,
    pub namespaces: Vec<Namespace>,
    pub trust_bundle: Option<Spanned<String>>,
    pub services: Vec<Service>,
    pub externals: Vec<External>,
    pub ingresses: Vec<Ingress>,
    pub telemetry: Option<Telemetry>,
    pub templates: Vec<Template>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlPlaneModel {
    Primary,
    Remote,
    External,
}

#[derive(Debug)]
pub struct ControlPlane {
    pub node: Span,
    /// `None` when the model was invalid (already reported).
    pub model: Option<Spanned<ControlPlaneModel>>,
    pub primary: Option<Spanned<String>>,
    pub config: Option<Spanned<bool>>,
}

#[derive(Debug)]
pub struct Cluster {
    pub node: Span,
    pub name: Spanned<String>,
    pub network: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub zone: Option<Spanned<String>>,
    pub control_plane: Option<ControlPlane>,
    pub api_server: Option<Spanned<String>>,
    /// `api-server tls-server-name=`.
    pub api_server_tls_name: Option<Spanned<String>>,
    /// `api-server ca=`: `cluster` or `system`.
    pub api_server_ca: Option<Spanned<String>>,
    pub east_west_address: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Namespace {
    pub node: Span,
    pub name: Spanned<String>,
    pub injection: Option<Spanned<bool>>,
}

#[derive(Debug)]
pub struct Port {
    pub node: Span,
    pub name: Spanned<String>,
    pub number: Spanned<i64>,
    pub target_port: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub struct Deploy {
    pub node: Span,
    pub cluster: Spanned<String>,
    pub version: Option<Spanned<String>>,
    pub replicas: Option<Spanned<i64>>,
    pub image: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderMatch {
    Exact,
    Prefix,
    Regex,
}

#[derive(Debug)]
pub struct Match {
    pub node: Span,
    pub header: Option<Spanned<String>>,
    pub value: Option<(HeaderMatch, Spanned<String>)>,
    pub source_cluster: Option<Spanned<String>>,
    pub version: Option<Spanned<String>>,
    pub cluster: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Retries {
    pub node: Span,
    pub attempts: Spanned<i64>,
    pub per_try_timeout: Option<Spanned<String>>,
    pub on: Option<Spanned<String>>,
}

/// `weight v1=90 v2=10`: each version with its weight.
#[derive(Debug)]
pub struct Weights {
    pub node: Span,
    pub split: Vec<(Spanned<String>, Spanned<i64>)>,
}

#[derive(Debug)]
pub struct Route {
    pub node: Span,
    pub matches: Vec<Match>,
    pub weights: Option<Weights>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Retries>,
}

#[derive(Debug)]
pub struct Failover {
    pub node: Span,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
}

#[derive(Debug)]
pub struct OutlierDetection {
    pub node: Span,
    pub consecutive_5xx: Option<Spanned<i64>>,
    pub interval: Option<Spanned<String>>,
    pub base_ejection: Option<Spanned<String>>,
    pub max_ejection_percent: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub struct ConnectionPool {
    pub node: Span,
    pub max_connections: Option<Spanned<i64>>,
    pub max_pending_requests: Option<Spanned<i64>>,
    pub max_requests: Option<Spanned<i64>>,
    pub max_retries: Option<Spanned<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balancer {
    RoundRobin,
    LeastRequest,
    Random,
    ConsistentHash,
}

#[derive(Debug)]
pub struct LoadBalancer {
    pub node: Span,
    pub algorithm: Spanned<Balancer>,
    pub header: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Service {
    pub node: Span,
    pub name: Spanned<String>,
    pub namespace: Option<Spanned<String>>,
    pub cluster_local: Option<Spanned<bool>>,
    pub ports: Vec<Port>,
    pub deploys: Vec<Deploy>,
    pub route: Option<Route>,
    pub failovers: Vec<Failover>,
    pub outlier_detection: Option<OutlierDetection>,
    pub connection_pool: Option<ConnectionPool>,
    pub load_balancer: Option<LoadBalancer>,
    pub exports: Vec<Spanned<String>>,
}

#[derive(Debug)]
pub struct External {
    pub node: Span,
    pub name: Spanned<String>,
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub protocol: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct IngressHost {
    pub host: Spanned<String>,
    pub tls_secret: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct IngressRoute {
    pub node: Span,
    pub prefix: Spanned<String>,
    pub service: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
}

#[derive(Debug)]
pub struct Ingress {
    pub node: Span,
    pub name: Spanned<String>,
    pub cluster: Option<Spanned<String>>,
    pub hosts: Vec<IngressHost>,
    pub routes: Vec<IngressRoute>,
}

#[derive(Debug)]
pub struct Telemetry {
    pub node: Span,
    pub access_log: Option<Spanned<bool>>,
    pub tracing_sampling: Option<Spanned<f64>>,
    pub tracing_endpoint: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateFor {
    Cluster,
    Service,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateLayer {
    Mesh,
    Services,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub node: Span,
    pub path: Spanned<String>,
    pub for_each: TemplateFor,
    pub layer: TemplateLayer,
    /// `privileged=#true`: cluster-scoped and RBAC objects are allowed.
    pub privileged: Option<Spanned<bool>>,
}
