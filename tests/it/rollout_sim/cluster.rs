//! Inside one cluster: what applying an object or installing a chart creates at once, and
//! the controllers (Kubernetes, External Secrets, cert-manager, istiod, Argo CD health)
//! that mark things ready and write their effects.

use std::collections::BTreeSet;

use super::model::{Chart, Class, Content, Manager, World};
use super::rules::{
    ISTIO_GROUPS, chart_ready, es_reads, obj_ready, push_writes, webhook_installed,
};
use super::state::{SecretState, State};

/// Whether everything a unit applied in its first `upto` waves is ready.
pub fn content_ready(w: &World, st: &State, u: usize, upto: usize) -> bool {
    match &w.units[u].content {
        Content::Chart { release } => st.releases[*release].ready,
        Content::Dir { waves, .. } => waves.iter().take(upto).flatten().all(|&i| st.ready[i]),
    }
}

/// Namespaces and CRD groups created by a set of objects applied together.
pub fn batch_of(
    w: &World,
    objs: impl Iterator<Item = usize>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut ns = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for i in objs {
        let o = &w.objs[i];
        match &o.class {
            Class::Namespace => {
                ns.insert(o.name.clone());
            }
            Class::Crd(Some(g)) => {
                groups.insert(g.clone());
            }
            _ => {}
        }
    }
    (ns, groups)
}

/// The API server stores object `i`; what that creates at once.
pub fn apply_obj(w: &World, prev: &State, next: &mut State, i: usize) {
    let o = &w.objs[i];
    let c = &o.cluster;
    let first = !prev.applied[i];
    next.applied[i] = true;
    match &o.class {
        Class::Namespace => {
            next.namespaces_mut().insert((c.clone(), o.name.clone()));
        }
        Class::ServiceAccount => {
            next.service_accounts_mut()
                .insert((c.clone(), o.ns().into(), o.name.clone()));
        }
        Class::Crd(Some(g)) => {
            next.crds_mut().insert((c.clone(), g.clone()));
        }
        Class::Secret | Class::SaToken(_) => {
            let key = (c.clone(), o.ns().to_string(), o.name.clone());
            next.secrets_mut()
                .entry(key)
                .or_insert_with(|| SecretState {
                    source: i,
                    populated: matches!(o.class, Class::Secret),
                    pushed_from: BTreeSet::new(),
                });
        }
        _ => {}
    }
    // Source: k8s.io/apiserver pkg/admission/plugin/webhook/mutating/dispatcher.go (mutating
    // webhooks act on pod CREATE only): pods created while no injection webhook exists run
    // without a sidecar, and nothing recreates them.
    if first
        && matches!(o.class, Class::PodController)
        && w.sidecar[i]
        && !webhook_installed(w, prev, c)
    {
        next.no_sidecar[i] = true;
        next.failures_mut().insert(
            format!("{} in {c}", o.label()),
            format!("its pods were created while no injection webhook existed in {c}: they run without a sidecar and nothing recreates them"),
        );
    }
}

/// A chart's resources are created (Argo CD sync, or a helm-controller install attempt).
pub fn install_release(w: &World, prev: &State, next: &mut State, r: usize) {
    let rel = &w.releases[r];
    let c = &rel.cluster;
    next.release_mut(r).installed = true;
    match &rel.chart {
        Chart::Base { istio_ns } => {
            for g in ISTIO_GROUPS {
                next.crds_mut().insert((c.clone(), g.to_string()));
            }
            next.service_accounts_mut().insert((
                c.clone(),
                istio_ns.clone(),
                "istio-reader-service-account".into(),
            ));
        }
        Chart::Istiod { remote, sa, .. } => {
            if let Some((ns, name)) = sa {
                next.service_accounts_mut()
                    .insert((c.clone(), ns.clone(), name.clone()));
            }
            if !remote {
                istiod_start(w, prev, next, r);
            }
        }
        Chart::Gateway { .. } => {
            let no_sidecar = !webhook_installed(w, prev, c);
            next.release_mut(r).no_sidecar = no_sidecar;
            if no_sidecar && matches!(rel.manager, Manager::Argo { .. }) {
                next.failures_mut().insert(
                    rel.id.clone(),
                    format!("its pods were created while no injection webhook existed in {c}: image \"auto\" is never replaced, and nothing recreates them"),
                );
            }
        }
        Chart::Other => {}
    }
}

/// The output holds something that creates Secret `name` in (cluster, namespace).
fn secret_source(w: &World, c: &str, ns: &str, name: &str) -> bool {
    w.objs_in(c)
        .any(|(i, o)| o.ns() == ns && w.secret_of[i].as_ref().is_some_and(|m| m.name == name))
}

/// istiod reads its CA and its Kubernetes client configuration once, at start.
fn istiod_start(w: &World, prev: &State, next: &mut State, r: usize) {
    let rel = &w.releases[r];
    let (c, ns) = (&rel.cluster, &rel.namespace);
    // Source: istio pilot/pkg/bootstrap/istio_ca.go createIstioCA (and security/pkg/server/
    // ca/istio_ca.go): without the optional `cacerts` volume at start, istiod generates a
    // self-signed root and keeps it.
    if secret_source(w, c, ns, "cacerts") && !prev.populated(c, ns, "cacerts") {
        next.failures_mut().insert(
            format!("{} (cacerts)", rel.id),
            format!("istiod started before Secret {ns}/cacerts existed: it signs with a self-signed root of its own, not the mesh's"),
        );
    }
    // Source: istio pilot/pkg/bootstrap/server.go initKubeClient (KUBECONFIG from the optional
    // istio-kubeconfig volume, read once; the chart's deployment.yaml mounts it).
    if secret_source(w, c, ns, "istio-kubeconfig") {
        match prev
            .secret(c, ns, "istio-kubeconfig")
            .filter(|s| s.populated)
        {
            Some(s) => {
                let named = w.secret_of[s.source]
                    .as_ref()
                    .and_then(|m| m.annotations.get("networking.istio.io/cluster"));
                next.release_mut(r).kube_cluster =
                    Some(named.cloned().unwrap_or_else(|| "(unnamed)".into()));
            }
            None => {
                next.failures_mut().insert(
                    format!("{} (istio-kubeconfig)", rel.id),
                    format!("istiod started before Secret {ns}/istio-kubeconfig existed: it built its client against its own cluster and never switches to the config cluster"),
                );
            }
        }
    }
}

/// The in-cluster controllers of one cluster observe `prev` and mark what became ready.
pub fn controllers_step(w: &World, prev: &State, next: &mut State, c: &str) {
    for (i, _) in w.objs_in(c) {
        if prev.applied[i] && !prev.ready[i] && obj_ready(w, prev, i, 0).is_ok() {
            next.ready[i] = true;
            on_ready(w, prev, next, i);
        }
    }
    for (r, rel) in w.releases_in(c) {
        let rs = &prev.releases[r];
        if matches!(rel.manager, Manager::Argo { .. })
            && rs.installed
            && !rs.ready
            && chart_ready(w, prev, r, 0).is_ok()
        {
            next.release_mut(r).ready = true;
        }
    }
    // An Application is Healthy once synced with every resource healthy.
    // Source: argo-cd controller/health.go setApplicationHealth.
    for &u in w.apps_by_cluster.get(c).map(Vec::as_slice).unwrap_or(&[]) {
        let us = &prev.units[u];
        if us.synced && !us.ready && content_ready(w, prev, u, usize::MAX) {
            next.unit_mut(u).ready = true;
        }
    }
}

/// What an object's controller does once it is ready.
fn on_ready(w: &World, prev: &State, next: &mut State, i: usize) {
    let o = &w.objs[i];
    let c = &o.cluster;
    let ns = o.ns().to_string();
    if matches!(o.class, Class::SaToken(_)) {
        if let Some(s) = next.secrets_mut().get_mut(&(c.clone(), ns, o.name.clone())) {
            s.populated = true;
        }
    } else if matches!(o.class, Class::PushSecret { .. }) {
        for k in push_writes(o) {
            next.store_mut().insert(k.clone(), c.clone());
        }
    } else if let Some(meta) = &w.secret_of[i] {
        // ExternalSecret (filled from the store) or Certificate (issued).
        let pushed_from = es_reads(o)
            .iter()
            .filter_map(|k| prev.store.get(k).cloned())
            .collect();
        next.secrets_mut().insert(
            (c.clone(), ns, meta.name.clone()),
            SecretState {
                source: i,
                populated: true,
                pushed_from,
            },
        );
    }
}
