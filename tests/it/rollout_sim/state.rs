//! The dynamic side: what exists in the clusters and the secret store at one step.
//! Every step reads the previous state and writes the next one, so two controllers acting
//! in the same step never see each other's effects (they race, as real controllers do).
//! The collections are shared copy-on-write (`Rc`): a step copies only what it changes, and
//! comparing two states skips the collections they share.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// (cluster, namespace, name).
pub type Key3 = (String, String, String);

/// A Secret that exists; its name, labels and keys are those of `World::secret_of[source]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretState {
    /// The object that creates it.
    pub source: usize,
    /// Has its data (a service-account token Secret is empty until Kubernetes fills it).
    pub populated: bool,
    /// Clusters whose PushSecrets wrote the store entries this Secret was filled from.
    pub pushed_from: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelState {
    pub installed: bool,
    pub ready: bool,
    /// Flux: install retries exhausted; never retried again.
    pub stalled: bool,
    /// Flux: the running install attempt times out at this step.
    pub deadline: Option<u64>,
    pub failed_attempts: u32,
    pub last_failure: Option<String>,
    /// Why helm-controller has not started an attempt yet.
    pub waiting: Option<String>,
    /// Gateway pods created while no injection webhook existed.
    pub no_sidecar: bool,
    /// istiod: the cluster it reads through `istio-kubeconfig`, when started with one.
    pub kube_cluster: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    /// Argo CD: the root app created the Application.
    pub created: bool,
    /// Argo CD: a sync operation passed its dry run and is applying waves.
    pub started: bool,
    /// Argo CD: waves applied so far.
    pub waves_done: usize,
    /// Everything applied (Argo CD: sync succeeded; Flux: apply succeeded).
    pub synced: bool,
    pub failed_syncs: u32,
    pub next_try: u64,
    pub abandoned: bool,
    pub last_error: Option<String>,
    /// Argo CD: Healthy; Flux: Ready. Once ready, stays ready.
    pub ready: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub applied: Vec<bool>,
    pub ready: Vec<bool>,
    /// Pod controllers whose pods were created without a sidecar.
    pub no_sidecar: Vec<bool>,
    pub namespaces: Rc<BTreeSet<(String, String)>>,
    /// (cluster, API group) with installed CRDs.
    pub crds: Rc<BTreeSet<(String, String)>>,
    pub service_accounts: Rc<BTreeSet<Key3>>,
    pub secrets: Rc<BTreeMap<Key3, SecretState>>,
    /// (key, property) → the cluster whose PushSecret wrote it.
    pub store: Rc<BTreeMap<(String, Option<String>), String>>,
    pub releases: Rc<Vec<RelState>>,
    pub units: Rc<Vec<UnitState>>,
    /// Argo CD root app: the highest wave created so far.
    pub hub_wave: Option<i64>,
    /// Permanent failures: subject → reason.
    pub failures: Rc<BTreeMap<String, String>>,
}

impl State {
    pub fn new(objs: usize, releases: usize, units: usize) -> State {
        State {
            applied: vec![false; objs],
            ready: vec![false; objs],
            no_sidecar: vec![false; objs],
            releases: Rc::new(vec![RelState::default(); releases]),
            units: Rc::new(vec![UnitState::default(); units]),
            ..State::default()
        }
    }

    pub fn unit_mut(&mut self, u: usize) -> &mut UnitState {
        &mut Rc::make_mut(&mut self.units)[u]
    }

    pub fn release_mut(&mut self, r: usize) -> &mut RelState {
        &mut Rc::make_mut(&mut self.releases)[r]
    }

    pub fn namespaces_mut(&mut self) -> &mut BTreeSet<(String, String)> {
        Rc::make_mut(&mut self.namespaces)
    }

    pub fn crds_mut(&mut self) -> &mut BTreeSet<(String, String)> {
        Rc::make_mut(&mut self.crds)
    }

    pub fn service_accounts_mut(&mut self) -> &mut BTreeSet<Key3> {
        Rc::make_mut(&mut self.service_accounts)
    }

    pub fn secrets_mut(&mut self) -> &mut BTreeMap<Key3, SecretState> {
        Rc::make_mut(&mut self.secrets)
    }

    pub fn store_mut(&mut self) -> &mut BTreeMap<(String, Option<String>), String> {
        Rc::make_mut(&mut self.store)
    }

    pub fn failures_mut(&mut self) -> &mut BTreeMap<String, String> {
        Rc::make_mut(&mut self.failures)
    }

    pub fn secret(&self, cluster: &str, ns: &str, name: &str) -> Option<&SecretState> {
        self.secrets
            .get(&(cluster.to_string(), ns.to_string(), name.to_string()))
    }

    pub fn populated(&self, cluster: &str, ns: &str, name: &str) -> bool {
        self.secret(cluster, ns, name).is_some_and(|s| s.populated)
    }

    pub fn has_namespace(&self, cluster: &str, ns: &str) -> bool {
        super::model::BUILTIN_NAMESPACES.contains(&ns)
            || self
                .namespaces
                .contains(&(cluster.to_string(), ns.to_string()))
    }

    pub fn has_sa(&self, cluster: &str, ns: &str, name: &str) -> bool {
        self.service_accounts
            .contains(&(cluster.to_string(), ns.to_string(), name.to_string()))
    }
}
