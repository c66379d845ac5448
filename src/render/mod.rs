//! Rendering: [`Model`] → Kubernetes objects per cluster. Each object is an ordered JSON
//! value (key order is the order written here, which is the order in the YAML), placed in
//! one of the cluster's layers or in the cluster's GitOps entry directory, with an origin
//! naming the topology node it comes from. No I/O, no file names: that is `emit`.

mod control_plane;
mod credentials;
mod gitops;
mod services;
mod trust;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::model::{Mesh, Model};
use crate::source::Span;

/// A cluster's output is applied in layers, each a directory of its own, in this order.
/// Each layer is one GitOps unit (an Argo CD Application, a Flux Kustomization), so a
/// layer's custom resources are applied only after the layer that installs their CRDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Namespaces and the trust material istiod needs before it starts.
    Prereqs,
    /// Helm releases of the Istio charts (Flux; Argo CD Applications live in the entry).
    ControlPlane,
    /// Istio configuration and the credentials control planes read.
    Mesh,
    /// Application workloads and Services, and their traffic policy.
    Services,
}

impl Layer {
    pub const ALL: [Layer; 4] = [
        Layer::Prereqs,
        Layer::ControlPlane,
        Layer::Mesh,
        Layer::Services,
    ];

    pub fn dir(self) -> &'static str {
        match self {
            Layer::Prereqs => "00-prereqs",
            Layer::ControlPlane => "10-control-plane",
            Layer::Mesh => "20-mesh",
            Layer::Services => "30-services",
        }
    }

    /// Short name used in GitOps object names (`<cluster>-prereqs`).
    pub fn short(self) -> &'static str {
        match self {
            Layer::Prereqs => "prereqs",
            Layer::ControlPlane => "control-plane",
            Layer::Mesh => "mesh",
            Layer::Services => "services",
        }
    }
}

/// Where an object goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// `clusters/<cluster>/<layer>/`, applied to the cluster.
    Layer(Layer),
    /// The GitOps entry for the cluster: `argocd/<cluster>/` (applied to the Argo CD
    /// cluster) or `flux/<cluster>/` (what the cluster's Flux reconciles first).
    Entry,
}

/// Which topology node an object comes from: a file and a path of nodes that stays the
/// same when lines move, so provenance comments do not churn in diffs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub span: Span,
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct Object {
    pub place: Place,
    /// Apply order inside its place (Argo CD sync wave); lower first.
    pub wave: i32,
    /// Shared: an object every configuration cluster of a mesh holds is built once.
    pub value: Arc<Value>,
    pub origin: Origin,
}

impl Object {
    fn str_at(&self, path: &[&str]) -> &str {
        let mut v: &Value = &self.value;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }

    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> Option<&str> {
        Some(self.str_at(&["metadata", "namespace"])).filter(|s| !s.is_empty())
    }
}

/// Everything rendered for one cluster.
#[derive(Debug)]
pub struct ClusterOutput {
    pub name: String,
    pub mesh: String,
    pub objects: Vec<Object>,
}

#[derive(Debug)]
pub struct Rendered {
    pub clusters: Vec<ClusterOutput>,
}

pub fn render(model: &Model) -> Rendered {
    let mut clusters = Vec::new();
    for mesh in &model.meshes {
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
            gitops::render(&mut cx);
            clusters.push(ClusterOutput {
                name: mesh.clusters[i].name.clone(),
                mesh: mesh.name.clone(),
                objects: cx.objects,
            });
        }
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Rendered { clusters }
}

/// A Helm release of one of Istio's charts, for `gitops` to wrap in an Argo CD
/// Application or a Flux HelmRelease.
#[derive(Clone, Debug)]
pub struct HelmRelease {
    /// Release name, also the base of the GitOps object's name.
    pub release: String,
    pub chart: &'static str,
    pub namespace: &'static str,
    pub values: Value,
    /// Releases that must be ready first (Flux `dependsOn`; Argo CD waves follow order).
    pub depends_on: Vec<String>,
    /// istiod patches its webhooks' `caBundle` and `failurePolicy` at run time.
    pub patches_webhooks: bool,
    pub origin: Origin,
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

    pub fn push(&mut self, place: Place, wave: i32, mut value: Value, origin: Origin) {
        if let Place::Layer(_) = place
            && self.model.gitops.tool == crate::ast::GitopsTool::Argocd
        {
            // Argo CD applies a layer's objects in waves; Flux orders by layer alone.
            value["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] =
                json!(wave.to_string());
        }
        self.objects.push(Object {
            place,
            wave,
            value: Arc::new(value),
            origin,
        });
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
