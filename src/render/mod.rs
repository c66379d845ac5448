//! Rendering: [`Model`] → Kubernetes objects per cluster. Each object is an ordered JSON
//! value (key order is the order written here, which is the order in the YAML), placed in
//! one of the cluster's layers or in the cluster's GitOps entry directory, with an origin
//! naming the topology node it comes from. No I/O, no file names: that is `emit`.

mod control_plane;
pub use control_plane::{
    EASTWEST_GATEWAY, EXTERNAL_ISTIOD_GATEWAY, INGRESS_GATEWAY, ISTIOD_GATEWAY,
};
pub use credentials::{KUBECONFIG_SECRET, remote_secret_name};
mod credentials;
mod gitops;
mod services;
mod trust;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::model::{Mesh, Model};
use crate::source::Span;

/// What a directory of a cluster's output holds, by purpose. Each layer present in a
/// cluster is one GitOps unit (an Argo CD Application, a Flux Kustomization), and so is
/// each Helm release. The order in which units are applied is not a property of the layer:
/// it is derived from what the objects need (see `crate::rollout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Namespaces, the trust material istiod reads when it starts, the Flux HelmRepository.
    Prereqs,
    /// What this cluster publishes for other clusters' control planes: service-account
    /// token Secrets and the PushSecrets that copy them to the secret store.
    Credentials,
    /// The kubeconfig an external control plane reads its config cluster with.
    Kubeconfig,
    /// The remote secrets this cluster's control plane reads its peers with.
    RemoteSecrets,
    /// Mesh-wide Istio configuration.
    Mesh,
    /// Application workloads and Services, and their traffic policy.
    Services,
}

impl Layer {
    pub const ALL: [Layer; 6] = [
        Layer::Prereqs,
        Layer::Credentials,
        Layer::Kubeconfig,
        Layer::RemoteSecrets,
        Layer::Mesh,
        Layer::Services,
    ];

    /// The directory under `clusters/<cluster>/`, also the unit's name.
    pub fn dir(self) -> &'static str {
        match self {
            Layer::Prereqs => "prereqs",
            Layer::Credentials => "credentials",
            Layer::Kubeconfig => "kubeconfig",
            Layer::RemoteSecrets => "remote-secrets",
            Layer::Mesh => "mesh",
            Layer::Services => "services",
        }
    }
}

/// One GitOps unit of a cluster: a directory of objects or a Helm release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitId {
    Layer(Layer),
    /// A Helm release, by release name (`istiod`, `istio-eastwestgateway`, ...).
    Release(String),
}

impl UnitId {
    /// The unit's name: the layer's directory or the release name.
    pub fn name(&self) -> &str {
        match self {
            UnitId::Layer(l) => l.dir(),
            UnitId::Release(r) => r,
        }
    }
}

/// Where an object goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// `clusters/<cluster>/<layer>/`, applied to the cluster.
    Layer(Layer),
    /// `clusters/<cluster>/<release>/`: the Flux HelmRelease of a release unit.
    Release(String),
    /// The GitOps entry for the cluster: `argocd/<cluster>/` (applied to the Argo CD
    /// cluster) or `flux/<cluster>/` (what the cluster's Flux reconciles first).
    Entry,
}

impl Place {
    /// The unit that applies an object placed here (none for the entry).
    pub fn unit(&self) -> Option<UnitId> {
        match self {
            Place::Layer(l) => Some(UnitId::Layer(*l)),
            Place::Release(r) => Some(UnitId::Release(r.clone())),
            Place::Entry => None,
        }
    }

    /// Does `unit` apply what is placed here? (`unit()`, without building a `UnitId`.)
    pub fn is_in(&self, unit: &UnitId) -> bool {
        match (self, unit) {
            (Place::Layer(l), UnitId::Layer(u)) => l == u,
            (Place::Release(r), UnitId::Release(u)) => r == u,
            _ => false,
        }
    }
}

/// Which topology node an object comes from: a file and a path of nodes that stays the
/// same when lines move, so provenance comments do not churn in diffs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub span: Span,
    pub path: String,
}

/// A rendered object. Its value is never changed once built, so its identity (what the
/// rollout, the sort and the file names read many times) is read from it once.
#[derive(Clone, Debug)]
pub struct Object {
    pub place: Place,
    /// Shared: an object every configuration cluster of a mesh holds is built once.
    pub value: Arc<Value>,
    pub origin: Origin,
    id: Arc<Identity>,
}

/// `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` ("" when absent).
#[derive(Debug)]
struct Identity {
    api_version: String,
    kind: String,
    name: String,
    namespace: String,
}

impl Object {
    pub fn new(place: Place, value: Arc<Value>, origin: Origin) -> Object {
        let at = |path: &[&str]| {
            let mut v: &Value = &value;
            for p in path {
                v = &v[*p];
            }
            v.as_str().unwrap_or("").to_string()
        };
        let id = Arc::new(Identity {
            api_version: at(&["apiVersion"]),
            kind: at(&["kind"]),
            name: at(&["metadata", "name"]),
            namespace: at(&["metadata", "namespace"]),
        });
        Object {
            place,
            value,
            origin,
            id,
        }
    }

    pub fn api_version(&self) -> &str {
        &self.id.api_version
    }

    pub fn kind(&self) -> &str {
        &self.id.kind
    }

    pub fn name(&self) -> &str {
        &self.id.name
    }

    pub fn namespace(&self) -> Option<&str> {
        Some(self.id.namespace.as_str()).filter(|s| !s.is_empty())
    }
}

/// Everything rendered for one cluster.
#[derive(Debug)]
pub struct ClusterOutput {
    pub name: String,
    pub mesh: String,
    /// Index of the mesh in the model, and of the cluster in the mesh.
    pub at: (usize, usize),
    pub objects: Vec<Object>,
    /// The Istio Helm releases of the cluster, each a unit of its own.
    pub releases: Vec<HelmRelease>,
}

#[derive(Debug)]
pub struct Rendered {
    /// Sorted by name.
    pub clusters: Vec<ClusterOutput>,
    /// Objects for the Argo CD hub's bootstrap (`bootstrap/`), applied once by hand.
    pub hub: Vec<Object>,
}

pub fn render(model: &Model) -> Rendered {
    let mut clusters = Vec::new();
    for (mi, mesh) in model.meshes.iter().enumerate() {
        // Mesh-wide configuration is the same in every configuration cluster with the same
        // root namespace: render it once and share it.
        let mut shared: Vec<(&'static str, Vec<Object>)> = Vec::new();
        for i in 0..mesh.clusters.len() {
            let mut cx = Cx::new(model, mesh, i);
            control_plane::render(&mut cx);
            services::render(&mut cx);
            if mesh.holds_config(i) {
                let root = mesh.istiod_namespace(i);
                if !shared.iter().any(|(r, _)| *r == root) {
                    let mut once = Cx::new(model, mesh, i);
                    services::mesh_config(&mut once);
                    shared.push((root, once.objects));
                }
                if let Some((_, objects)) = shared.iter().find(|(r, _)| *r == root) {
                    cx.objects.extend(objects.iter().cloned());
                }
            }
            trust::render(&mut cx);
            credentials::render(&mut cx);
            gitops::releases(&mut cx);
            clusters.push(ClusterOutput {
                name: mesh.clusters[i].name.clone(),
                mesh: mesh.name.clone(),
                at: (mi, i),
                objects: cx.objects,
                releases: cx.releases,
            });
        }
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Rendered {
        clusters,
        hub: Vec::new(),
    }
}

/// Wires the units of every cluster into the GitOps tool, in the order `schedule`
/// derived: Argo CD Applications (and the hub's bootstrap) or Flux Kustomizations.
pub fn wire(model: &Model, rendered: &mut Rendered, schedule: &crate::rollout::Schedule) {
    gitops::wire(model, rendered, schedule);
}

/// A Helm release of one of Istio's charts, for `gitops` to wrap in an Argo CD
/// Application or a Flux HelmRelease. What it needs before it is installed is not listed
/// here: `crate::rollout` derives it from the chart and the cluster's role.
#[derive(Clone, Debug)]
pub struct HelmRelease {
    /// Release name, also the unit's name.
    pub release: String,
    pub chart: &'static str,
    pub namespace: &'static str,
    pub values: Value,
    /// istiod patches its webhooks' `caBundle` and `failurePolicy` at run time.
    pub patches_webhooks: bool,
    pub origin: Origin,
}

impl HelmRelease {
    /// The Helm release name: the chart's usual name, also for the external istiod (whose
    /// unit needs a distinct name but whose release lives in its own namespace).
    pub fn release_name(&self) -> &str {
        if self.release == "istiod-external" {
            "istiod"
        } else {
            &self.release
        }
    }
}

/// Render context for one cluster.
pub struct Cx<'a> {
    pub model: &'a Model,
    pub mesh: &'a Mesh,
    pub i: usize,
    pub objects: Vec<Object>,
    pub releases: Vec<HelmRelease>,
}

impl<'a> Cx<'a> {
    fn new(model: &'a Model, mesh: &'a Mesh, i: usize) -> Cx<'a> {
        Cx {
            model,
            mesh,
            i,
            objects: Vec::new(),
            releases: Vec::new(),
        }
    }

    pub fn cluster(&self) -> &'a crate::model::Cluster {
        &self.mesh.clusters[self.i]
    }

    /// Origin of something the cluster node itself asks for.
    pub fn cluster_origin(&self, what: &str) -> Origin {
        let c = self.cluster();
        let mut path = format!("mesh {} > cluster {}", self.mesh.name, c.name);
        if !what.is_empty() {
            path.push_str(&format!(" ({what})"));
        }
        Origin { span: c.span, path }
    }

    /// Origin of something the mesh as a whole asks for.
    pub fn mesh_origin(&self, what: &str) -> Origin {
        Origin {
            span: self.mesh.span,
            path: format!("mesh {} ({what})", self.mesh.name),
        }
    }

    pub fn push(&mut self, place: Place, value: Value, origin: Origin) {
        self.objects
            .push(Object::new(place, Arc::new(value), origin));
    }
}

/// `metadata` with the labels every object meshc writes carries.
pub fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert(
        "labels".into(),
        json!({ "app.kubernetes.io/managed-by": "meshc" }),
    );
    Value::Object(m)
}

/// Inserts `key: value` into the object at `path` (creating maps on the way), keeping
/// insertion order. Used to add optional fields without restructuring a `json!` literal.
pub fn set(v: &mut Value, path: &[&str], value: Value) {
    let mut cur = v;
    for p in &path[..path.len() - 1] {
        if !cur[*p].is_object() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = value;
}

/// The ingress gateway of ingress `ingress`: its Helm release, Deployment and Service
/// name (the checker keeps it within Helm's release name limit).
pub fn ingress_gateway_name(ingress: &str) -> String {
    format!("istio-ingress-{ingress}")
}
