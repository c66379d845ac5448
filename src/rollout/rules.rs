//! What must be ready before what, as data: the facts objects and Helm releases provide,
//! the facts they need, and the rule (with the consumer source that makes it a rule) behind
//! each need. Everything here reads one object or one release and the checked model; the
//! graph (`graph.rs`) joins needs to providers.
//!
//! The rules hold for meshc's own objects and for user templates' alike: they look at
//! kinds, namespaces, labels and the fields the consumers read, not at who wrote an object.

use serde_json::Value;

use crate::model::{Mesh, Role};
use crate::render::{HelmRelease, KUBECONFIG_SECRET, Object, remote_secret_name};

/// A rule of the rollout, with the source that decides it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short name, used in `meshc plan --message-format json`.
    pub id: &'static str,
    /// What the rule says, as a person reads it.
    pub says: &'static str,
    /// The consumer's source file (repository and path) that decides it.
    pub source: &'static str,
}

pub const NAMESPACE: Rule = Rule {
    id: "namespace",
    says: "a namespaced object is created only in an existing namespace (the engines apply Namespaces first within one unit)",
    source: "kubernetes/kubernetes plugin/pkg/admission/namespace/lifecycle/admission.go; fluxcd/pkg ssa/manager_apply.go (ApplyAllStaged); argoproj/gitops-engine pkg/sync/sync_tasks.go",
};
pub const RELEASE_NAMESPACE: Rule = Rule {
    id: "release-namespace",
    says: "a Helm release installs into an existing namespace (meshc sets no CreateNamespace)",
    source: "helm/helm pkg/action/install.go (CreateNamespace off); fluxcd/helm-controller (spec.install.createNamespace false)",
};
pub const CRDS: Rule = Rule {
    id: "crds",
    says: "Istio custom resources are applied only once the base chart has installed their CRDs (a dry run of the whole unit fails otherwise)",
    source: "istio/istio manifests/charts/base/templates/crds.yaml; argoproj/gitops-engine pkg/sync/sync_context.go (dry run); fluxcd/kustomize-controller internal/controller (server-side dry run)",
};
pub const BASE_FIRST: Rule = Rule {
    id: "base-first",
    says: "the istiod chart is installed after the base chart (its CRDs and the reader service account)",
    source: "istio/istio manifests/charts/istio-control/istio-discovery/README.md; istio.io setup/install/helm",
};
pub const HELM_REPOSITORY: Rule = Rule {
    id: "helm-repository",
    says: "a Flux HelmRelease is installed only once its HelmRepository is ready",
    source: "fluxcd/helm-controller internal/controller/helmrelease_controller.go (source not ready)",
};
pub const CACERTS: Rule = Rule {
    id: "cacerts",
    says: "istiod reads `cacerts` once, when it starts; started without it, it signs with a self-signed root and never switches",
    source: "istio/istio security/pkg/server/ca/istio_ca.go; pilot/pkg/bootstrap/istio_ca.go (createIstioCA); manifests/charts/istio-control/istio-discovery/templates/deployment.yaml (cacerts volume optional)",
};
pub const KUBECONFIG: Rule = Rule {
    id: "kubeconfig",
    says: "an external istiod builds its client from `istio-kubeconfig` once, when it starts; started without it, it reads its own cluster",
    source: "istio/istio pilot/pkg/bootstrap/server.go (initKubeClient); manifests/charts/istio-control/istio-discovery/templates/deployment.yaml (KUBECONFIG, optional volume)",
};
pub const READER_ACCOUNT: Rule = Rule {
    id: "reader-account",
    says: "the base chart creates `istio-reader-service-account` in the Istio namespace",
    source: "istio/istio manifests/charts/base/templates/reader-serviceaccount.yaml",
};
pub const ISTIOD_ACCOUNT: Rule = Rule {
    id: "istiod-account",
    says: "the istiod chart creates the `istiod` service account (with the remote profile only on a config cluster)",
    source: "istio/istio manifests/charts/istio-control/istio-discovery/templates/serviceaccount.yaml",
};
pub const TOKEN: Rule = Rule {
    id: "token",
    says: "a service-account token Secret is filled in only once its service account exists",
    source: "kubernetes/kubernetes pkg/controller/serviceaccount/tokens_controller.go (syncSecret)",
};
pub const PUSH: Rule = Rule {
    id: "push",
    says: "a PushSecret writes its store key only once the Secret it selects has data",
    source: "external-secrets/external-secrets pkg/controllers/pushsecret/pushsecret_controller.go",
};
pub const PULL: Rule = Rule {
    id: "pull",
    says: "an ExternalSecret creates its Secret only once every store key it reads exists",
    source: "external-secrets/external-secrets pkg/controllers/externalsecret/externalsecret_controller.go",
};
pub const INJECTION: Rule = Rule {
    id: "injection",
    says: "pods with a sidecar (injected namespaces, gateway pods) are created only through the injection webhook, whose failure policy is Fail",
    source: "istio/istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml (failurePolicy: Fail); manifests/charts/gateway/templates/deployment.yaml (sidecar.istio.io/inject)",
};
pub const LOCAL_INJECTION: Rule = Rule {
    id: "local-injection",
    says: "a cluster's own istiod serves its injection webhook and patches its caBundle",
    source: "istio/istio pkg/webhooks/webhookpatch.go; pilot/pkg/bootstrap/webhook.go",
};
pub const REMOTE_WEBHOOK: Rule = Rule {
    id: "remote-webhook",
    says: "a remote's injection webhook (installed by its istiod chart, empty caBundle) works once its control plane reads the remote and patches the caBundle",
    source: "istio/istio pilot/pkg/serviceregistry/kube/controller/multicluster.go; pkg/kube/multicluster/secretcontroller.go",
};
pub const EXPOSED: Rule = Rule {
    id: "exposed",
    says: "a remote reaches its control plane (xDS and CA on 15012, webhook on 15017) through the gateway in front of it",
    source: "istio/istio manifests/charts/istio-control/istio-discovery/templates/remote-istiod-service.yaml, remote-istiod-endpointslices.yaml; samples/multicluster/expose-istiod.yaml",
};

/// A fact of the world: something that exists or is ready. Cluster-bound facts carry the
/// cluster's index in `Rendered::clusters`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    Namespace(usize, String),
    /// Istio's CRDs are installed.
    Crds(usize),
    /// A service account exists: namespace, name.
    Account(usize, String, String),
    /// A Secret exists with its data: namespace, name.
    Secret(usize, String, String),
    /// A key of the secret store holds data (the store is shared by every cluster).
    StoreKey(String),
    /// istiod runs in the namespace.
    Istiod(usize, String),
    /// A remote's injection webhook and `istiod` Service are installed.
    RemoteWebhook(usize),
    /// Pods with sidecars can be created and reach their istiod.
    Injection(usize),
    /// A Helm release's resources are ready.
    Release(usize, String),
    /// An Istio Gateway exists: kind, namespace, name.
    Object(usize, String, String, String),
    /// The Flux HelmRepository of the cluster is ready.
    Repository(usize),
}

/// How a need constrains the rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum How {
    /// Must exist when the unit is applied; the engines order it first within one unit.
    Exists,
    /// Must be ready when the unit is applied (else the apply fails): an earlier unit.
    Apply,
    /// Must be ready when the object starts, or it starts wrong for good: an earlier unit.
    Start,
    /// The object becomes ready only after it; may be in the same unit.
    Ready,
}

impl How {
    /// May the provider be in the consumer's own unit?
    pub fn same_unit_ok(self) -> bool {
        matches!(self, How::Exists | How::Ready)
    }
}

/// One need of an object or a release.
#[derive(Clone, Debug)]
pub struct Need {
    pub fact: Fact,
    pub how: How,
    pub rule: &'static Rule,
}

fn need(fact: Fact, how: How, rule: &'static Rule) -> Need {
    Need { fact, how, rule }
}

/// Where the clusters of the output are: for each index in `Rendered::clusters`, its
/// (mesh, cluster) in the model, and back.
#[derive(Debug)]
pub struct Clusters {
    pub at: Vec<(usize, usize)>,
    pub index: std::collections::HashMap<(usize, usize), usize>,
    pub names: Vec<String>,
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> &'v str {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or("")
}

/// Is the object's API group one whose CRDs the Istio base chart installs?
fn is_istio_resource(api_version: &str) -> bool {
    api_version
        .split_once('/')
        .is_some_and(|(group, _)| group.ends_with(".istio.io"))
}

/// Kinds whose pods get a sidecar when their namespace is injected.
fn creates_pods(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod"
    )
}

/// Does a pod controller's pod template ask for a sidecar explicitly?
fn asks_for_sidecar(v: &Value) -> bool {
    let template = if v["kind"] == "CronJob" {
        &v["spec"]["jobTemplate"]["spec"]["template"]
    } else if v["kind"] == "Pod" {
        v
    } else {
        &v["spec"]["template"]
    };
    str_at(template, &["metadata", "labels", "sidecar.istio.io/inject"]) == "true"
}

/// Facts an object provides once it is applied (and, where it has a status, ready).
pub fn object_provides(c: usize, o: &Object) -> Vec<Fact> {
    let v = &*o.value;
    let ns = o.namespace().unwrap_or("").to_string();
    let mut out = Vec::new();
    match o.kind() {
        // Istio Gateways are what other clusters reach a control plane through.
        "Gateway" if is_istio_resource(o.api_version()) => out.push(Fact::Object(
            c,
            o.kind().to_string(),
            ns,
            o.name().to_string(),
        )),
        "Namespace" => out.push(Fact::Namespace(c, o.name().to_string())),
        "ServiceAccount" => out.push(Fact::Account(c, ns, o.name().to_string())),
        "Secret" => out.push(Fact::Secret(c, ns, o.name().to_string())),
        "Certificate" => out.push(Fact::Secret(
            c,
            ns,
            str_at(v, &["spec", "secretName"]).to_string(),
        )),
        "ExternalSecret" => {
            let target = str_at(v, &["spec", "target", "name"]);
            let target = if target.is_empty() { o.name() } else { target };
            out.push(Fact::Secret(c, ns, target.to_string()));
        }
        "PushSecret" => {
            for d in v["spec"]["data"].as_array().into_iter().flatten() {
                let key = str_at(d, &["match", "remoteRef", "remoteKey"]);
                if !key.is_empty() {
                    out.push(Fact::StoreKey(key.to_string()));
                }
            }
        }
        "HelmRepository" => out.push(Fact::Repository(c)),
        _ => {}
    }
    out
}

/// What an object needs. `injected` says whether a namespace of the cluster has sidecar
/// injection on.
pub fn object_needs(c: usize, o: &Object, injected: &dyn Fn(&str) -> bool) -> Vec<Need> {
    let v = &*o.value;
    let mut out = Vec::new();
    let ns = o.namespace();
    if let Some(ns) = ns {
        out.push(need(
            Fact::Namespace(c, ns.to_string()),
            How::Exists,
            &NAMESPACE,
        ));
    }
    if is_istio_resource(o.api_version()) {
        out.push(need(Fact::Crds(c), How::Apply, &CRDS));
    }
    let ns = ns.unwrap_or("");
    match o.kind() {
        "Secret" if str_at(v, &["type"]) == "kubernetes.io/service-account-token" => {
            let account = str_at(
                v,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            );
            out.push(need(
                Fact::Account(c, ns.to_string(), account.to_string()),
                How::Ready,
                &TOKEN,
            ));
        }
        "PushSecret" => {
            let secret = str_at(v, &["spec", "selector", "secret", "name"]);
            out.push(need(
                Fact::Secret(c, ns.to_string(), secret.to_string()),
                How::Ready,
                &PUSH,
            ));
        }
        "ExternalSecret" => {
            // Each store key once, in order of first mention (a template may interleave).
            let mut keys: Vec<&str> = Vec::new();
            for d in v["spec"]["data"].as_array().into_iter().flatten() {
                let k = str_at(d, &["remoteRef", "key"]);
                if !k.is_empty() && !keys.contains(&k) {
                    keys.push(k);
                }
            }
            for k in keys {
                out.push(need(Fact::StoreKey(k.to_string()), How::Ready, &PULL));
            }
        }
        kind if creates_pods(kind) && (injected(ns) || asks_for_sidecar(v)) => {
            out.push(need(Fact::Injection(c), How::Ready, &INJECTION));
        }
        _ => {}
    }
    out
}

/// The value at `path` of a release's Helm values.
fn value<'v>(r: &'v HelmRelease, path: &[&str]) -> &'v Value {
    let mut v = &r.values;
    for p in path {
        v = &v[*p];
    }
    v
}

fn is_remote_profile(r: &HelmRelease) -> bool {
    value(r, &["profile"]) == "remote"
}

/// Facts a release provides once installed and ready.
pub fn release_provides(c: usize, r: &HelmRelease, mesh: &Mesh, i: usize) -> Vec<Fact> {
    let mut out = vec![Fact::Release(c, r.release.clone())];
    let istio_ns = value(r, &["global", "istioNamespace"])
        .as_str()
        .unwrap_or(r.namespace)
        .to_string();
    match r.chart {
        "base" => {
            out.push(Fact::Crds(c));
            out.push(Fact::Account(
                c,
                istio_ns,
                "istio-reader-service-account".to_string(),
            ));
        }
        "istiod" if is_remote_profile(r) => {
            out.push(Fact::RemoteWebhook(c));
            if value(r, &["global", "configCluster"]) == true {
                out.push(Fact::Account(c, istio_ns, "istiod".to_string()));
            }
        }
        "istiod" => {
            out.push(Fact::Istiod(c, r.namespace.to_string()));
            out.push(Fact::Account(
                c,
                r.namespace.to_string(),
                "istiod".to_string(),
            ));
            // The cluster's own control plane serves its injection webhook; an external
            // istiod (in its own namespace on the external cluster) serves its remotes.
            let local = match mesh.clusters[i].role {
                Role::External => r.namespace == crate::model::ISTIO_SYSTEM,
                _ => true,
            };
            if local {
                out.push(Fact::Injection(c));
            }
        }
        _ => {}
    }
    out
}

/// What a release needs. `provided` says whether some object of the output provides a
/// fact (a `cacerts` source, an `istio-kubeconfig`): istiod waits only for what exists.
pub fn release_needs(
    c: usize,
    r: &HelmRelease,
    flux: bool,
    provided: &dyn Fn(&Fact) -> bool,
) -> Vec<Need> {
    let mut out = vec![need(
        Fact::Namespace(c, r.namespace.to_string()),
        How::Apply,
        &RELEASE_NAMESPACE,
    )];
    if flux {
        out.push(need(Fact::Repository(c), How::Apply, &HELM_REPOSITORY));
    }
    match r.chart {
        "base" => {}
        "istiod" => {
            out.push(need(Fact::Crds(c), How::Apply, &BASE_FIRST));
            if !is_remote_profile(r) {
                for (secret, rule) in [("cacerts", &CACERTS), (KUBECONFIG_SECRET, &KUBECONFIG)] {
                    let f = Fact::Secret(c, r.namespace.to_string(), secret.to_string());
                    if provided(&f) {
                        out.push(need(f, How::Start, rule));
                    }
                }
            }
        }
        // Gateway pods carry a sidecar (the chart labels them for injection).
        _ => out.push(need(Fact::Injection(c), How::Ready, &INJECTION)),
    }
    out
}

/// Facts no single object provides, made of others: injection in a remote cluster.
/// Returns what the fact consists of, or `None` if objects provide it directly.
pub fn derived(model: &crate::model::Model, clusters: &Clusters, fact: &Fact) -> Option<Vec<Need>> {
    let Fact::Injection(c) = fact else {
        return None;
    };
    let (mi, i) = clusters.at[*c];
    let mesh = &model.meshes[mi];
    let Role::Remote { control, .. } = mesh.clusters[i].role else {
        return None;
    };
    let p = *clusters.index.get(&(mi, control))?;
    let ns = mesh.istiod_namespace(control).to_string();
    let peer = &mesh.clusters[i].name;
    // The control plane reads the remote through a remote secret, or, for the config
    // cluster of an external control plane, through `istio-kubeconfig`.
    let reads = if mesh.config_cluster_of(control) == Some(i) {
        KUBECONFIG_SECRET.to_string()
    } else {
        remote_secret_name(peer)
    };
    let (gateway, route_ns, route) = match mesh.clusters[control].role {
        Role::External => (
            crate::render::INGRESS_GATEWAY.to_string(),
            crate::model::EXTERNAL_ISTIOD_NS,
            crate::render::EXTERNAL_ISTIOD_GATEWAY,
        ),
        _ => (
            crate::render::EASTWEST_GATEWAY.to_string(),
            crate::model::ISTIO_SYSTEM,
            crate::render::ISTIOD_GATEWAY,
        ),
    };
    Some(vec![
        need(Fact::RemoteWebhook(*c), How::Ready, &REMOTE_WEBHOOK),
        need(Fact::Istiod(p, ns.clone()), How::Ready, &REMOTE_WEBHOOK),
        need(Fact::Secret(p, ns, reads), How::Ready, &REMOTE_WEBHOOK),
        need(Fact::Release(p, gateway), How::Ready, &EXPOSED),
        need(
            Fact::Object(
                p,
                "Gateway".to_string(),
                route_ns.to_string(),
                route.to_string(),
            ),
            How::Ready,
            &EXPOSED,
        ),
    ])
}

/// A fact as a person reads it, with the cluster named.
pub fn describe(fact: &Fact, clusters: &Clusters) -> String {
    describe_at(fact, clusters, None)
}

/// A fact as a person reads it; the cluster is left out when it is `here`.
pub fn describe_at(fact: &Fact, clusters: &Clusters, here: Option<usize>) -> String {
    let cluster = |c: &usize| {
        if Some(*c) == here {
            String::new()
        } else {
            format!(" in {}", clusters.names[*c])
        }
    };
    match fact {
        Fact::Namespace(c, ns) => format!("namespace {ns}{}", cluster(c)),
        Fact::Crds(c) => format!("Istio CRDs{}", cluster(c)),
        Fact::Account(c, ns, n) => format!("ServiceAccount {ns}/{n}{}", cluster(c)),
        Fact::Secret(c, ns, n) => format!("Secret {ns}/{n}{}", cluster(c)),
        Fact::StoreKey(k) => format!("store key {k}"),
        Fact::Istiod(c, ns) => format!("istiod running in {ns}{}", cluster(c)),
        Fact::RemoteWebhook(c) => format!("the remote injection webhook{}", cluster(c)),
        Fact::Injection(c) => format!("sidecar injection{}", cluster(c)),
        Fact::Release(c, r) => format!("Helm release {r} ready{}", cluster(c)),
        Fact::Object(c, k, ns, n) if ns.is_empty() => format!("{k} {n}{}", cluster(c)),
        Fact::Object(c, k, ns, n) => format!("{k} {ns}/{n}{}", cluster(c)),
        Fact::Repository(c) => format!("HelmRepository istio{}", cluster(c)),
    }
}
