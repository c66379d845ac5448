//! The static side of the simulator: the output as its consumers see it. Objects, units
//! (Argo CD Applications, Flux Kustomizations) and Helm releases, with static indexes.
//! `read` fills it from the files; nothing here knows meshc's directory or unit names.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Simulated seconds per step. Durations in the GitOps objects are converted with it.
pub const STEP_SECONDS: u64 = 10;

/// Namespaces every cluster has before the rollout (Kubernetes itself, and the GitOps tools).
pub const BUILTIN_NAMESPACES: [&str; 4] = ["default", "kube-system", "flux-system", "argocd"];

/// Output files by path.
pub type Files = BTreeMap<String, String>;

/// Labels or a label selector.
pub type Labels = BTreeMap<String, String>;

/// A store entry: (key, property).
pub type StoreKey = (String, Option<String>);

/// What the simulator needs to know about an object, decided once when it is read.
#[derive(Debug)]
pub enum Class {
    Namespace,
    ServiceAccount,
    /// A CustomResourceDefinition: the API group it serves.
    Crd(Option<String>),
    Secret,
    /// A Secret of type kubernetes.io/service-account-token: the ServiceAccount it is for.
    SaToken(Option<String>),
    PushSecret {
        /// The Secret it selects (same namespace).
        selects: Option<String>,
        /// The keys of that Secret it pushes.
        keys: Vec<String>,
        writes: Vec<StoreKey>,
    },
    ExternalSecret {
        reads: Vec<StoreKey>,
    },
    Certificate,
    /// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job: pods.
    PodController,
    HelmRelease,
    Other,
}

/// One applied object: a file under `clusters/<cluster>/`.
#[derive(Debug)]
pub struct Obj {
    pub file: String,
    pub cluster: String,
    pub group: String,
    pub kind: String,
    pub name: String,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// `argocd.argoproj.io/sync-wave` (Argo CD orders the objects of one Application by it).
    pub wave: i64,
    pub class: Class,
    pub v: Value,
}

impl Obj {
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    /// `Kind ns/name` (or `Kind name`) for messages.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.group == group && self.kind == kind
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first_steps: u64,
    pub factor: u64,
    pub max_steps: u64,
}

impl Backoff {
    /// Delay before retry number `n` (1-based), in steps.
    pub fn delay(&self, n: u32) -> u64 {
        let mut d = self.first_steps;
        for _ in 1..n {
            d = d.saturating_mul(self.factor.max(1));
            if d >= self.max_steps {
                break;
            }
        }
        d.min(self.max_steps).max(1)
    }
}

#[derive(Debug)]
pub struct ArgoSpec {
    pub wave: i64,
    pub automated: bool,
    /// `syncPolicy.retry.limit`: failed syncs retried this many times; negative: forever.
    pub retry_limit: i64,
    pub backoff: Backoff,
    /// The destination namespace when `CreateNamespace=true`.
    pub create_namespace: Option<String>,
}

#[derive(Debug)]
pub struct FluxSpec {
    pub namespace: String,
    pub name: String,
    pub depends_on: Vec<(String, String)>,
    pub retry_steps: u64,
    pub wait: bool,
    /// `spec.healthChecks`: (kind, namespace, name).
    pub health_checks: Vec<(String, String, String)>,
    pub suspended: bool,
}

#[derive(Debug)]
pub enum Driver {
    Argo(ArgoSpec),
    Flux(FluxSpec),
}

#[derive(Debug)]
pub enum Content {
    /// A directory of the output: its objects grouped by sync wave (Flux ignores the waves).
    Dir {
        path: String,
        /// Files below subdirectories too (Flux; Argo CD with `directory.recurse`).
        recurse: bool,
        waves: Vec<Vec<usize>>,
    },
    /// One Helm release (an Argo CD Application with a chart source).
    Chart { release: usize },
}

/// An Argo CD Application or a Flux Kustomization.
#[derive(Debug)]
pub struct Unit {
    pub id: String,
    pub file: String,
    pub cluster: String,
    pub driver: Driver,
    pub content: Content,
}

impl Unit {
    pub fn objs(&self) -> impl Iterator<Item = usize> + '_ {
        let waves: &[Vec<usize>] = match &self.content {
            Content::Dir { waves, .. } => waves,
            Content::Chart { .. } => &[],
        };
        waves.iter().flatten().copied()
    }

    pub fn argo(&self) -> Option<&ArgoSpec> {
        match &self.driver {
            Driver::Argo(a) => Some(a),
            Driver::Flux(_) => None,
        }
    }

    pub fn flux(&self) -> Option<&FluxSpec> {
        match &self.driver {
            Driver::Flux(f) => Some(f),
            Driver::Argo(_) => None,
        }
    }
}

/// What a chart installs, decided by the chart and its values.
#[derive(Debug)]
pub enum Chart {
    /// Istio CRDs and `istio-reader-service-account` in `istio_ns`.
    Base {
        istio_ns: String,
    },
    Istiod {
        remote: bool,
        /// The `istiod` service account the chart creates, if any: (namespace, name).
        sa: Option<(String, String)>,
        /// Whether the chart installs a sidecar injection webhook.
        webhook: bool,
    },
    Gateway {
        /// The gateway pods' selector labels.
        pod_labels: Labels,
        /// The Service exposes istiod's ports (15012, 15017).
        exposes_control_plane: bool,
    },
    Other,
}

#[derive(Debug)]
pub struct FluxRelease {
    /// The HelmRelease object.
    pub obj: usize,
    pub depends_on: Vec<(String, String)>,
    /// The HelmRepository: (namespace, name).
    pub repo: (String, String),
    /// `spec.install.remediation.retries`; negative: forever.
    pub retries: i64,
    pub timeout_steps: u64,
    pub create_namespace: bool,
}

#[derive(Debug)]
pub enum Manager {
    Argo { unit: usize },
    Flux(FluxRelease),
}

#[derive(Debug)]
pub struct Release {
    pub id: String,
    pub cluster: String,
    pub name: String,
    pub namespace: String,
    pub chart: Chart,
    pub manager: Manager,
}

impl Release {
    pub fn flux(&self) -> Option<&FluxRelease> {
        match &self.manager {
            Manager::Flux(f) => Some(f),
            Manager::Argo { .. } => None,
        }
    }
}

/// A Secret an object creates: a Secret file, an ExternalSecret's target, a Certificate's
/// `secretName`.
#[derive(Debug)]
pub struct SecretMeta {
    pub name: String,
    pub labels: Labels,
    pub annotations: Labels,
    /// Its data keys once filled in.
    pub keys: BTreeSet<String>,
}

/// The output as the consumers see it.
pub struct World {
    pub clusters: BTreeSet<String>,
    pub objs: Vec<Obj>,
    pub units: Vec<Unit>,
    pub releases: Vec<Release>,
    /// argocd-cm under `argocd/` enables the Application health check.
    pub app_health_shipped: bool,
    /// Problems found without running anything (structure, coverage, unreadable files).
    pub problems: Vec<String>,
    /// Per object: the units that apply it.
    pub appliers: Vec<Vec<usize>>,
    /// HelmRelease object → its release.
    pub release_of_obj: BTreeMap<usize, usize>,
    /// Store keys some PushSecret of the output writes; any other key read by an
    /// ExternalSecret is provisioned out of band.
    pub written_keys: BTreeSet<String>,
    /// Objects by cluster.
    pub by_cluster: BTreeMap<String, Vec<usize>>,
    /// Releases by cluster.
    pub releases_by_cluster: BTreeMap<String, Vec<usize>>,
    /// Argo CD Applications by destination cluster.
    pub apps_by_cluster: BTreeMap<String, Vec<usize>>,
    /// Per object: a pod controller whose pods get a sidecar.
    pub sidecar: Vec<bool>,
    /// Per cluster: Istio Gateways with servers on 15012 and 15017, with their selectors.
    pub istiod_gateways: BTreeMap<String, Vec<(usize, Labels)>>,
    /// Per release: its HelmRepository object (Flux).
    pub repo_obj: Vec<Option<usize>>,
    /// Per object: the Secret it creates, if any.
    pub secret_of: Vec<Option<SecretMeta>>,
    /// (cluster, namespace, peer) → the ExternalSecrets there that give istiod credentials
    /// for the peer: a remote secret (label `istio/multiCluster: "true"`, data key = the
    /// peer) or an `istio-kubeconfig` naming it.
    pub credentials: BTreeMap<(String, String, String), Vec<usize>>,
}

// ---------------------------------------------------------------------------------------
// JSON helpers

pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// A scalar as a string (YAML readers may have typed `"true"`-like scalars).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn text(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(scalar)
}

pub fn list<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn truthy(v: &Value, path: &[&str]) -> bool {
    matches!(at(v, path), Some(Value::Bool(true))) || text(v, path).is_some_and(|s| s == "true")
}

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn parse_yaml(path: &str, contents: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(contents).map_err(|e| format!("{path}: unreadable YAML: {e}"))
}

/// A Go duration ("10s", "5m", "1h30m", "500ms") in whole seconds, rounded up.
pub fn duration_secs(s: &str) -> Option<u64> {
    let mut total_ms: u64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    if s.is_empty() {
        return None;
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let ms = match unit.as_str() {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        total_ms += (n * ms) as u64;
    }
    if !num.is_empty() {
        return None;
    }
    Some(total_ms.div_ceil(1000))
}

pub fn steps_of(secs: u64) -> u64 {
    secs.div_ceil(STEP_SECONDS).max(1)
}

impl World {
    pub fn objs_in<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = (usize, &'a Obj)> + 'a {
        self.by_cluster
            .get(cluster)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| (i, &self.objs[i]))
    }

    pub fn releases_in<'a>(
        &'a self,
        cluster: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Release)> + 'a {
        self.releases_by_cluster
            .get(cluster)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&r| (r, &self.releases[r]))
    }
}

/// API group of External Secrets.
pub const ES: &str = "external-secrets.io";
/// API group of Istio's networking resources (Gateway, VirtualService, ...).
pub const ISTIO_NET: &str = "networking.istio.io";
