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
    pub east_west_address: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Namespace {
    pub node: Span,
    pub name: Spanned<String>,
    pub injection: Option<Spanned<bool>>,
}
