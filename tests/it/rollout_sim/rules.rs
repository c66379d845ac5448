//! The rules of the controllers the GitOps tools drive: when the API server accepts an
//! object, when an object or a Helm release is ready, and when sidecar injection works.
//! Every rule cites the consumer source that decides it.
//!
//! The `depth` argument only shapes messages: 0 (inside the step loop) builds none, larger
//! values explain the cause chain that far, for the report.

use std::collections::BTreeSet;

use super::model::{Chart, Class, Content, Driver, ES, Manager, Obj, StoreKey, World};
use super::state::State;

/// A message, built only when `depth > 0`.
fn why(depth: u8, f: impl FnOnce() -> String) -> String {
    if depth == 0 { String::new() } else { f() }
}

/// API groups whose CRDs the Istio `base` chart installs.
/// Source: istio manifests/charts/base/files/crd-all.gen.yaml.
pub const ISTIO_GROUPS: [&str; 4] = [
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
];

/// Source: Kubernetes API (k8s.io/api): the core group, unqualified groups (apps, batch,
/// policy, autoscaling) and `*.k8s.io` are served by every API server.
fn builtin_group(g: &str) -> bool {
    g.is_empty() || !g.contains('.') || g.ends_with(".k8s.io")
}

/// External Secrets, cert-manager, Flux and Argo CD are installed before the rollout.
fn prerequisite_group(g: &str) -> bool {
    g == ES
        || g.ends_with(".external-secrets.io")
        || g == "cert-manager.io"
        || g.ends_with(".cert-manager.io")
        || g.ends_with(".toolkit.fluxcd.io")
        || g == "argoproj.io"
}

/// Whether the API server accepts object `i` now. `batch_ns` and `batch_groups` are the
/// Namespaces and CRDs created by the same apply.
///
/// Source: Kubernetes apiserver (a namespaced object in a missing namespace is NotFound; a
/// kind without its CRD is "no matches for kind"); gitops-engine pkg/sync/sync_context.go
/// (dry run of every task before the first wave; a CRD in the same sync skips it);
/// fluxcd/pkg/ssa manager_apply.go ApplyAllStaged (Namespaces and CRDs first).
pub fn accepts(
    w: &World,
    st: &State,
    i: usize,
    batch_ns: &BTreeSet<String>,
    batch_groups: &BTreeSet<String>,
) -> Result<(), String> {
    let o = &w.objs[i];
    if let Some(ns) = &o.namespace
        && !st.has_namespace(&o.cluster, ns)
        && !batch_ns.contains(ns)
    {
        return Err(format!("namespace {ns} does not exist in {}", o.cluster));
    }
    let g = &o.group;
    if builtin_group(g) || prerequisite_group(g) || batch_groups.contains(g) {
        return Ok(());
    }
    if st.crds.contains(&(o.cluster.clone(), g.clone())) {
        return Ok(());
    }
    if ISTIO_GROUPS.contains(&g.as_str()) {
        Err(format!(
            "no CRD for {}.{g} in {} yet (the Istio base chart installs it)",
            o.kind, o.cluster
        ))
    } else {
        Err(format!(
            "no CRD for {}.{g} in {}: neither an Istio group nor a prerequisite",
            o.kind, o.cluster
        ))
    }
}

/// Whether object `i` is ready (it must be applied).
pub fn obj_ready(w: &World, st: &State, i: usize, depth: u8) -> Result<(), String> {
    let o = &w.objs[i];
    match &o.class {
        Class::SaToken(sa) => token_ready(w, st, o, sa.as_deref(), depth),
        Class::PushSecret { selects, keys, .. } => {
            push_ready(w, st, o, selects.as_deref(), keys, depth)
        }
        Class::ExternalSecret { reads } => es_ready(w, st, reads, depth),
        Class::PodController => pods_ready(w, st, i, depth),
        Class::HelmRelease => match w.release_of_obj.get(&i) {
            Some(&r) if st.releases[r].ready => Ok(()),
            Some(&r) => Err(why(depth, || release_brief(w, st, r, depth - 1))),
            None => Err(why(depth, || "an unreadable HelmRelease".into())),
        },
        // Everything else (Namespace, Service, ConfigMap, Istio resources, Certificate, ...)
        // is ready once applied. Source: cert-manager pkg/controller/certificates/issuing/
        // issuing_controller.go (the issuer is a prerequisite; the Secret is written at once).
        _ => Ok(()),
    }
}

/// Source: kubernetes pkg/controller/serviceaccount/tokens_controller.go: a Secret of type
/// kubernetes.io/service-account-token is filled once the ServiceAccount named by its
/// `kubernetes.io/service-account.name` annotation exists.
fn token_ready(w: &World, st: &State, o: &Obj, sa: Option<&str>, depth: u8) -> Result<(), String> {
    let Some(sa) = sa else {
        return Err(why(depth, || {
            "no kubernetes.io/service-account.name annotation: never filled in".into()
        }));
    };
    if st.has_sa(&o.cluster, o.ns(), sa) {
        return Ok(());
    }
    Err(why(depth, || {
        format!(
            "ServiceAccount {}/{sa} does not exist in {} ({})",
            o.ns(),
            o.cluster,
            sa_sources(w, st, &o.cluster, o.ns(), sa, depth - 1)
        )
    }))
}

/// What in the output creates a service account, and its state.
fn sa_sources(w: &World, st: &State, c: &str, ns: &str, name: &str, depth: u8) -> String {
    let mut out = Vec::new();
    for (i, o) in w.objs_in(c) {
        if o.is("", "ServiceAccount") && o.ns() == ns && o.name == name {
            out.push(obj_brief(w, st, i, depth));
        }
    }
    for (r, rel) in w.releases_in(c) {
        let creates = match &rel.chart {
            Chart::Base { istio_ns } => istio_ns == ns && name == "istio-reader-service-account",
            Chart::Istiod {
                sa: Some((sns, sname)),
                ..
            } => sns == ns && sname == name,
            _ => false,
        };
        if creates {
            out.push(format!(
                "created by {}: {}",
                rel.id,
                release_brief(w, st, r, depth)
            ));
        }
    }
    if out.is_empty() {
        "nothing in the output creates it".into()
    } else {
        out.join("; ")
    }
}

/// Source: external-secrets pkg/controllers/pushsecret/pushsecret_controller.go: reads the
/// selected Secret and writes each `match.secretKey` to `remoteRef.remoteKey` (+property).
fn push_ready(
    w: &World,
    st: &State,
    o: &Obj,
    selects: Option<&str>,
    keys: &[String],
    depth: u8,
) -> Result<(), String> {
    let Some(name) = selects else {
        return Err(why(depth, || "selects no Secret by name".into()));
    };
    let Some(s) = st.secret(&o.cluster, o.ns(), name).filter(|s| s.populated) else {
        return Err(why(depth, || {
            format!(
                "the Secret {}/{name} it pushes is not filled in: {}",
                o.ns(),
                explain_secret(w, st, &o.cluster, o.ns(), name, depth - 1)
            )
        }));
    };
    let has = w.secret_of[s.source].as_ref().map(|m| &m.keys);
    if let Some(key) = keys.iter().find(|k| !has.is_some_and(|h| h.contains(*k))) {
        return Err(why(depth, || {
            format!("the Secret {}/{name} has no key {key:?}", o.ns())
        }));
    }
    Ok(())
}

/// The (key, property) pairs a PushSecret writes.
pub fn push_writes(o: &Obj) -> &[StoreKey] {
    match &o.class {
        Class::PushSecret { writes, .. } => writes,
        _ => &[],
    }
}

/// The (key, property) pairs an ExternalSecret reads.
pub fn es_reads(o: &Obj) -> &[StoreKey] {
    match &o.class {
        Class::ExternalSecret { reads } => reads,
        _ => &[],
    }
}

/// Whether the store holds a (key, property): written by a PushSecret, or provisioned out
/// of band when no PushSecret of the output writes the key.
fn store_has(w: &World, st: &State, key: &str, prop: &Option<String>) -> bool {
    !w.written_keys.contains(key) || st.store.contains_key(&(key.to_string(), prop.clone()))
}

/// Source: external-secrets pkg/controllers/externalsecret/externalsecret_controller.go:
/// ready (and its target Secret written) once every remoteRef resolves in the store.
fn es_ready(w: &World, st: &State, reads: &[StoreKey], depth: u8) -> Result<(), String> {
    for (key, prop) in reads {
        if !store_has(w, st, key, prop) {
            return Err(why(depth, || {
                let p = prop
                    .as_ref()
                    .map(|p| format!(" (property {p})"))
                    .unwrap_or_default();
                format!(
                    "store key {key}{p} is not written yet: {}",
                    store_writers(w, st, key, prop, depth - 1)
                )
            }));
        }
    }
    Ok(())
}

fn store_writers(w: &World, st: &State, key: &str, prop: &Option<String>, depth: u8) -> String {
    let mut out = Vec::new();
    for (i, o) in w.objs.iter().enumerate() {
        if push_writes(o).iter().any(|(k, p)| k == key && p == prop) {
            out.push(format!(
                "written by {} in {}: {}",
                o.label(),
                o.cluster,
                obj_brief(w, st, i, depth)
            ));
        }
    }
    if out.is_empty() {
        "no PushSecret of the output writes this property of the key (others of it are), so it never appears".into()
    } else {
        out.join("; ")
    }
}

/// A pod controller is ready when its pods run: at once without a sidecar; with one, once
/// injection works in its cluster. Source: kubernetes pkg/controller/replicaset/
/// replica_set.go (pod creation retried with backoff while the webhook, failurePolicy Fail,
/// rejects it).
fn pods_ready(w: &World, st: &State, i: usize, depth: u8) -> Result<(), String> {
    let o = &w.objs[i];
    if !w.sidecar[i] {
        return Ok(());
    }
    if st.no_sidecar[i] {
        return Err(why(depth, || {
            format!(
                "its pods were created while no injection webhook existed in {}",
                o.cluster
            )
        }));
    }
    injection(w, st, &o.cluster, depth).map_err(|e| {
        why(depth, || {
            format!(
                "its pods need sidecar injection in {}, which does not work: {e}",
                o.cluster
            )
        })
    })
}

/// Whether an installed istiod chart in the cluster installed an injection webhook.
pub fn webhook_installed(w: &World, st: &State, c: &str) -> bool {
    w.releases_in(c).any(|(r, rel)| {
        st.releases[r].installed && matches!(rel.chart, Chart::Istiod { webhook: true, .. })
    })
}

/// Whether a Helm release is ready (it must be installed).
pub fn chart_ready(w: &World, st: &State, r: usize, depth: u8) -> Result<(), String> {
    let rel = &w.releases[r];
    let rs = &st.releases[r];
    if !rs.installed {
        return Err(why(depth, || "not installed".into()));
    }
    match &rel.chart {
        // Source: istio manifests/charts/gateway/templates/deployment.yaml: the pods carry
        // `sidecar.istio.io/inject: "true"` and image `auto`, which only injection replaces.
        Chart::Gateway { .. } => {
            if rs.no_sidecar {
                return Err(why(depth, || {
                    format!(
                        "its pods were created while no injection webhook existed in {}: image \"auto\" is never replaced, they never start",
                        rel.cluster
                    )
                }));
            }
            injection(w, st, &rel.cluster, depth).map_err(|e| {
                why(depth, || {
                    format!(
                        "its pods need sidecar injection in {}, which does not work: {e}",
                        rel.cluster
                    )
                })
            })
        }
        // base: CRDs and a service account; istiod: running once installed (its start-up
        // reads are checked at install); remote istiod: no pods.
        _ => Ok(()),
    }
}

/// The non-remote istiod releases (control planes), running or not.
fn control_planes(w: &World) -> impl Iterator<Item = usize> + '_ {
    w.releases
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.chart, Chart::Istiod { remote: false, .. }))
        .map(|(i, _)| i)
}

/// Objects of cluster `d`, namespace `ns`, that create a remote secret for cluster `c`
/// (label `istio/multiCluster: "true"`, data key `c`) or an `istio-kubeconfig` for it.
fn credential_sources<'a>(w: &'a World, d: &str, ns: &str, c: &str) -> &'a [usize] {
    w.credentials
        .get(&(d.to_string(), ns.to_string(), c.to_string()))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Whether sidecar injection works in cluster `c`.
///
/// Source: istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml
/// (failurePolicy Fail: a pod needing a sidecar is not created until the webhook answers).
pub fn injection(w: &World, st: &State, c: &str, depth: u8) -> Result<(), String> {
    let installed: Vec<usize> = w
        .releases_in(c)
        .filter(|(r, rel)| st.releases[*r].installed && matches!(rel.chart, Chart::Istiod { .. }))
        .map(|(r, _)| r)
        .collect();
    if installed.is_empty() {
        return Err(why(depth, || {
            let status: Vec<String> = w
                .releases_in(c)
                .filter(|(_, rel)| matches!(rel.chart, Chart::Istiod { .. }))
                .map(|(r, rel)| format!("{}: {}", rel.id, release_brief(w, st, r, depth - 1)))
                .collect();
            format!(
                "no istiod chart is installed in {c}, so there is no injection webhook ({})",
                if status.is_empty() {
                    "the output installs none".to_string()
                } else {
                    status.join("; ")
                }
            )
        }));
    }
    // A local control plane: a non-remote istiod that talks to its own cluster serves its
    // webhook. Source: istio pilot/pkg/bootstrap/server.go initKubeClient (without a
    // kubeconfig, the in-cluster config) and pkg/webhooks/webhookpatch.go (it patches the
    // caBundle of the webhook in the cluster its client reads).
    for &r in &installed {
        let local = matches!(
            w.releases[r].chart,
            Chart::Istiod {
                remote: false,
                webhook: true,
                ..
            }
        );
        if local && st.releases[r].kube_cluster.is_none() {
            return Ok(());
        }
    }
    if !installed
        .iter()
        .any(|&r| matches!(w.releases[r].chart, Chart::Istiod { remote: true, .. }))
    {
        return Err(why(depth, || {
            format!(
                "the istiod installed in {c} serves another cluster and installs no webhook here"
            )
        }));
    }
    // A remote profile: the webhook has no CA bundle until an istiod in another cluster
    // reads this one and patches it, and that istiod must be reachable through its gateway.
    // Source: istio pilot/pkg/serviceregistry/kube/controller/multicluster.go (a control plane
    // starts a controller, and its webhook patcher, per remote cluster it reads) and
    // pkg/kube/multicluster/secretcontroller.go (remote secrets: label istio/multiCluster,
    // one data key per cluster ID).
    //
    // The explanation names the control planes meant to serve `c`: those with credentials
    // for it, preferring the ones behind a gateway that exposes istiod.
    let exposed = |d: &str| {
        w.releases_in(d).any(|(_, r)| {
            matches!(
                r.chart,
                Chart::Gateway {
                    exposes_control_plane: true,
                    ..
                }
            )
        })
    };
    let readers: Vec<usize> = if depth == 0 {
        Vec::new()
    } else {
        control_planes(w)
            .filter(|&r2| {
                let rel2 = &w.releases[r2];
                rel2.cluster != c
                    && !credential_sources(w, &rel2.cluster, &rel2.namespace, c).is_empty()
            })
            .collect()
    };
    let servers: Vec<usize> = readers
        .iter()
        .copied()
        .filter(|&r2| exposed(&w.releases[r2].cluster))
        .collect();
    let named = if servers.is_empty() { readers } else { servers };
    let mut whys = Vec::new();
    for r2 in control_planes(w) {
        let rel2 = &w.releases[r2];
        if rel2.cluster == c {
            continue;
        }
        let candidate = named.contains(&r2);
        if !st.releases[r2].installed {
            if candidate && depth > 0 {
                whys.push(format!(
                    "{} (which reads {c}) is not running: {}",
                    rel2.id,
                    release_brief(w, st, r2, depth - 1)
                ));
            }
            continue;
        }
        let verdict = reads_cluster(w, st, r2, c, depth)
            .and_then(|()| reachable(w, st, &rel2.cluster, depth));
        match verdict {
            Ok(()) => return Ok(()),
            Err(e) if candidate && depth > 0 => whys.push(format!("{}: {e}", rel2.id)),
            Err(_) => {}
        }
    }
    Err(why(depth, || {
        if whys.is_empty() {
            format!(
                "the remote webhook in {c} never gets a CA bundle: no control plane in another cluster has a remote secret or istio-kubeconfig for {c} in the output"
            )
        } else {
            format!(
                "the remote webhook in {c} has no CA bundle yet: {}",
                whys.join("; ")
            )
        }
    }))
}

/// Whether running istiod `r` reads cluster `c`: through the kubeconfig it started with, or
/// a ready remote secret in its namespace whose credentials came from `c`.
fn reads_cluster(w: &World, st: &State, r: usize, c: &str, depth: u8) -> Result<(), String> {
    let rel = &w.releases[r];
    if st.releases[r].kube_cluster.as_deref() == Some(c) {
        return Ok(());
    }
    let mut wrong = None;
    let from = (rel.cluster.clone(), rel.namespace.clone(), String::new());
    for ((sc, sns, sname), s) in st.secrets.range(from..) {
        if sc != &rel.cluster || sns != &rel.namespace {
            break;
        }
        if !s.populated {
            continue;
        }
        let Some(meta) = &w.secret_of[s.source] else {
            continue;
        };
        if meta.labels.get("istio/multiCluster").map(String::as_str) != Some("true")
            || !meta.keys.contains(c)
        {
            continue;
        }
        match s.pushed_from.iter().find(|p| p.as_str() != c) {
            Some(p) => {
                wrong = Some(format!(
                    "remote secret {sns}/{sname} holds credentials pushed from {p}, not {c}"
                ))
            }
            None => return Ok(()),
        }
    }
    Err(why(depth, || {
        if let Some(e) = wrong {
            return e;
        }
        let sources = credential_sources(w, &rel.cluster, &rel.namespace, c);
        if sources.is_empty() {
            return format!("it has no remote secret for {c}");
        }
        sources
            .iter()
            .map(|&i| {
                let target = w.secret_of[i]
                    .as_ref()
                    .map(|m| m.name.as_str())
                    .unwrap_or("?");
                if target == "istio-kubeconfig"
                    && st.populated(&rel.cluster, &rel.namespace, target)
                {
                    format!(
                        "it started before Secret {}/{target} was ready, so it never reads {c}",
                        rel.namespace
                    )
                } else {
                    format!(
                        "Secret {}/{target} in {} is not ready: {}",
                        rel.namespace,
                        rel.cluster,
                        obj_brief(w, st, i, depth - 1)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }))
}

/// Whether the control plane in cluster `d` is reachable from other clusters: a ready
/// gateway release exposing istiod's ports and an Istio Gateway passing 15012 and 15017 to
/// it. Source: istio manifests/charts/istio-control/istio-discovery (remote profile:
/// `global.remotePilotAddress` is the gateway's address; the webhook URL and XDS go through
/// it), samples/multicluster/expose-istiod.yaml (the Gateway on 15012/15017).
fn reachable(w: &World, st: &State, d: &str, depth: u8) -> Result<(), String> {
    let gateways: Vec<usize> = w
        .releases_in(d)
        .filter(|(_, r)| {
            matches!(
                r.chart,
                Chart::Gateway {
                    exposes_control_plane: true,
                    ..
                }
            )
        })
        .map(|(r, _)| r)
        .collect();
    if gateways.is_empty() {
        return Err(why(depth, || {
            format!("no gateway release in {d} exposes istiod (15012/15017)")
        }));
    }
    let mut errs = Vec::new();
    for g in gateways {
        let rel = &w.releases[g];
        if !st.releases[g].ready {
            errs.push(why(depth, || {
                format!(
                    "gateway {} is not ready: {}",
                    rel.id,
                    release_brief(w, st, g, depth - 1)
                )
            }));
            continue;
        }
        let Chart::Gateway { pod_labels, .. } = &rel.chart else {
            continue;
        };
        let mut candidates = Vec::new();
        for (i, selector) in w.istiod_gateways.get(d).map(Vec::as_slice).unwrap_or(&[]) {
            if !selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)) {
                continue;
            }
            if st.applied[*i] {
                return Ok(());
            }
            candidates.push(*i);
        }
        errs.push(why(depth, || {
            let tail = if candidates.is_empty() {
                "the output has none".to_string()
            } else {
                candidates.iter().map(|&i| obj_brief(w, st, i, depth - 1)).collect::<Vec<_>>().join("; ")
            };
            format!(
                "no Istio Gateway with servers on 15012 and 15017 selecting {} is applied in {d}: {tail}",
                rel.name
            )
        }));
    }
    Err(errs.join("; "))
}

// ---------------------------------------------------------------------------------------
// Explanations for the report

/// Why a Secret is not filled in: what in the output creates it and its state.
fn explain_secret(w: &World, st: &State, c: &str, ns: &str, name: &str, depth: u8) -> String {
    let sources: Vec<usize> = w
        .objs_in(c)
        .filter(|(i, o)| o.ns() == ns && w.secret_of[*i].as_ref().is_some_and(|m| m.name == name))
        .map(|(i, _)| i)
        .collect();
    if sources.is_empty() {
        return "nothing in the output creates it".into();
    }
    sources
        .iter()
        .map(|&i| obj_brief(w, st, i, depth))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One object's state: not applied (and why its units did not), not ready (and why), ready.
pub fn obj_brief(w: &World, st: &State, i: usize, depth: u8) -> String {
    let o = &w.objs[i];
    if !st.applied[i] {
        let units: Vec<String> = w.appliers[i]
            .iter()
            .map(|&u| format!("{}: {}", w.units[u].id, unit_brief(w, st, u)))
            .collect();
        return format!(
            "{} is not applied ({})",
            o.label(),
            if units.is_empty() {
                "no unit applies it".to_string()
            } else {
                units.join("; ")
            }
        );
    }
    if st.ready[i] {
        return format!("{} is ready", o.label());
    }
    match obj_ready(w, st, i, depth.max(1)) {
        Ok(()) => format!("{} is about to be ready", o.label()),
        Err(e) => format!("{} is not ready: {e}", o.label()),
    }
}

/// One release's state.
pub fn release_brief(w: &World, st: &State, r: usize, depth: u8) -> String {
    let rel = &w.releases[r];
    let rs = &st.releases[r];
    if rs.ready {
        return "ready".into();
    }
    match &rel.manager {
        Manager::Argo { unit } => {
            if !rs.installed {
                return format!(
                    "not installed ({}: {})",
                    w.units[*unit].id,
                    unit_brief(w, st, *unit)
                );
            }
        }
        Manager::Flux(f) => {
            if !st.applied[f.obj] {
                return format!("HelmRelease not applied: {}", obj_brief(w, st, f.obj, 0));
            }
            if rs.stalled {
                return format!(
                    "Stalled: install retries exhausted after {} failed attempts (last: {})",
                    rs.failed_attempts,
                    rs.last_failure.as_deref().unwrap_or("?")
                );
            }
            if rs.deadline.is_none() {
                let mut s = rs
                    .waiting
                    .clone()
                    .unwrap_or_else(|| "no install attempt yet".into());
                if rs.failed_attempts > 0 {
                    s += &format!(
                        " ({} failed attempts so far; last: {})",
                        rs.failed_attempts,
                        rs.last_failure.as_deref().unwrap_or("?")
                    );
                }
                return s;
            }
        }
    }
    match chart_ready(w, st, r, depth.max(1)) {
        Ok(()) => "about to be ready".into(),
        Err(e) => {
            let attempt = match rel.manager {
                Manager::Flux(_) => format!("install attempt {} running; ", rs.failed_attempts + 1),
                Manager::Argo { .. } => String::new(),
            };
            format!("{attempt}{e}")
        }
    }
}

/// One unit's state, without causes.
pub fn unit_brief(w: &World, st: &State, u: usize) -> String {
    let us = &st.units[u];
    match &w.units[u].driver {
        Driver::Argo(a) => {
            if us.ready {
                "Healthy".into()
            } else if !us.created {
                "not created by the root app yet".into()
            } else if us.abandoned {
                format!(
                    "abandoned after {} failed syncs (last: {})",
                    us.failed_syncs,
                    us.last_error.as_deref().unwrap_or("?")
                )
            } else if !a.automated {
                "no automated sync policy".into()
            } else if !us.started {
                match &us.last_error {
                    Some(e) => format!("sync failing ({} attempts): {e}", us.failed_syncs),
                    None => "not synced yet".into(),
                }
            } else if !us.synced {
                format!(
                    "syncing, in wave {} of its resources",
                    wave_number(w, u, us.waves_done)
                )
            } else {
                "synced, not Healthy".into()
            }
        }
        Driver::Flux(f) => {
            if us.ready {
                "Ready".into()
            } else if f.suspended {
                "suspended".into()
            } else if us.synced {
                "applied, not Ready".into()
            } else {
                us.last_error
                    .clone()
                    .unwrap_or_else(|| "not reconciled yet".into())
            }
        }
    }
}

/// The sync wave of the `k`-th wave group of an Argo CD unit (1-based `done` count).
pub fn wave_number(w: &World, u: usize, done: usize) -> i64 {
    match &w.units[u].content {
        Content::Dir { waves, .. } => waves
            .get(done.saturating_sub(1))
            .and_then(|g| g.first())
            .map(|&i| w.objs[i].wave)
            .unwrap_or(0),
        Content::Chart { .. } => 0,
    }
}
