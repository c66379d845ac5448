//! GitOps wiring: how each unit of a cluster (a layer directory or a Helm release) reaches
//! the cluster, in the order `crate::rollout` derived. One seam for both engines: the
//! units are the same, only their wrapping differs.
//!
//! Argo CD (hub): `argocd/<cluster>/` holds one Application per unit, all with
//! `destination.name: <cluster>`, in hub-wide sync waves (the unit's level in the rollout
//! graph). `bootstrap/` holds what the hub needs once before the first sync: the
//! Application health check that makes the waves wait (Argo CD assesses no Application
//! health by default: argo-cd `gitops-engine/pkg/health/health.go`, `docs/operator-manual/
//! health.md`).
//!
//! Flux (per cluster): `flux/<cluster>/` holds one Kustomization per unit, with
//! `dependsOn` on the units of the same cluster it needs and `wait: true`; a release
//! unit's directory holds its HelmRelease, the prereqs hold the HelmRepository.
//!
//! Retries never give up on a converging rollout: Argo CD's `retry.limit: -1` (argo-cd
//! `controller/appcontroller.go`, processRequestedAppOperation: a negative limit retries
//! forever; a finite one stops auto-syncing the revision for good) and helm-controller's
//! `install.remediation.retries: -1` (helm-controller `api/v2/helmrelease_types.go`,
//! RetriesExhausted; exhausted retries stall the release until its spec changes).

use serde_json::{Value, json};

use super::{Cx, HelmRelease, Layer, Object, Origin, Place, Rendered, UnitId, metadata};
use crate::ast::GitopsTool;
use crate::model::{Model, Role};
use crate::rollout::Schedule;

/// The Argo CD Application health check, as Argo CD's documentation gives it.
const APPLICATION_HEALTH: &str = r#"hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"#;

/// Flux only: the HelmRepository (in the prereqs) and a HelmRelease per release, each in
/// its release unit's directory. Rendered with the cluster, before the rollout is ordered.
pub fn releases(cx: &mut Cx) {
    if cx.model.gitops.tool != GitopsTool::Flux || cx.releases.is_empty() {
        return;
    }
    let home = flux_home(cx);
    let repo = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": metadata("istio", Some(home)),
        "spec": { "interval": "1h", "url": cx.model.istio.charts }
    });
    let origin = Origin {
        span: cx.model.istio.span,
        path: "istio".to_string(),
    };
    cx.push(Place::Layer(Layer::Prereqs), repo, origin);
    let releases = cx.releases.clone();
    for r in &releases {
        let mut spec = json!({
            "interval": "10m",
            "releaseName": r.release_name(),
            "chart": { "spec": {
                "chart": r.chart,
                "version": cx.model.istio.version.to_string(),
                "sourceRef": { "kind": "HelmRepository", "name": "istio" }
            } },
            "install": { "remediation": { "retries": -1 } },
            "upgrade": { "remediation": { "retries": 3 } }
        });
        if r.namespace != home {
            spec["targetNamespace"] = json!(r.namespace);
            spec["storageNamespace"] = json!(r.namespace);
        }
        if r.values.as_object().is_some_and(|m| !m.is_empty()) {
            spec["values"] = r.values.clone();
        }
        let hr = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": metadata(&r.release, Some(home)),
            "spec": spec
        });
        cx.push(Place::Release(r.release.clone()), hr, r.origin.clone());
    }
}

/// Flux objects of a cluster live in its Istio system namespace, created by the prereqs,
/// so no cross-namespace references are needed.
fn flux_home(cx: &Cx) -> &'static str {
    if cx.cluster().role == Role::External {
        crate::model::ISTIO_SYSTEM
    } else {
        cx.mesh.istiod_namespace(cx.i)
    }
}

pub fn wire(model: &Model, rendered: &mut Rendered, schedule: &Schedule) {
    for (c, out) in rendered.clusters.iter_mut().enumerate() {
        let mut entries = Vec::new();
        for &u in &schedule.clusters[c] {
            let (value, origin) = match model.gitops.tool {
                GitopsTool::Argocd => argocd_application(model, out, schedule, u),
                GitopsTool::Flux => flux_kustomization(model, &out.name, schedule, u),
            };
            entries.push(Object::new(
                Place::Entry,
                std::sync::Arc::new(value),
                origin,
            ));
        }
        out.objects.extend(entries);
    }
    if model.gitops.tool == GitopsTool::Argocd {
        let g = &model.gitops;
        let mut meta = metadata("argocd-cm", Some(&g.namespace));
        meta["labels"]["app.kubernetes.io/part-of"] = json!("argocd");
        // Only this key: applied server-side, the rest of argocd-cm stays its owner's.
        meta["annotations"] =
            json!({ "argocd.argoproj.io/sync-options": "ServerSideApply=true,Prune=false" });
        let cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": { "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH }
        });
        rendered.hub.push(Object::new(
            Place::Entry,
            std::sync::Arc::new(cm),
            Origin {
                span: g.span,
                path: "gitops (Application health for sync waves)".to_string(),
            },
        ));
    }
}

fn sync_policy() -> Value {
    json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["ServerSideApply=true", "RespectIgnoreDifferences=true"],
        "retry": { "limit": -1, "backoff": { "duration": "10s", "factor": 2, "maxDuration": "5m" } }
    })
}

/// Fields istiod rewrites in its webhooks at run time; without this, Argo CD shows the
/// control plane out of sync forever and self-heal fights istiod.
fn webhook_ignore_differences() -> Value {
    json!([
        {
            "group": "admissionregistration.k8s.io",
            "kind": "MutatingWebhookConfiguration",
            "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle"]
        },
        {
            "group": "admissionregistration.k8s.io",
            "kind": "ValidatingWebhookConfiguration",
            "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"]
        }
    ])
}

fn release_of<'a>(out: &'a super::ClusterOutput, id: &UnitId) -> Option<&'a HelmRelease> {
    match id {
        UnitId::Release(r) => out.releases.iter().find(|x| x.release == *r),
        UnitId::Layer(_) => None,
    }
}

fn argocd_application(
    model: &Model,
    out: &super::ClusterOutput,
    schedule: &Schedule,
    u: usize,
) -> (Value, Origin) {
    let g = &model.gitops;
    let unit = &schedule.graph.units[u];
    let wave = schedule.levels[u];
    let name = format!("{}-{}", out.name, unit.id.name());
    let mut meta = metadata(&name, Some(&g.namespace));
    meta["labels"]["meshc.dev/cluster"] = json!(out.name);
    meta["labels"]["meshc.dev/mesh"] = json!(out.mesh);
    meta["annotations"] = json!({ "argocd.argoproj.io/sync-wave": wave.to_string() });
    let (source, namespace, release) = match release_of(out, &unit.id) {
        Some(r) => {
            let mut source = json!({
                "repoURL": model.istio.charts,
                "chart": r.chart,
                "targetRevision": model.istio.version.to_string(),
                "helm": { "releaseName": r.release_name() }
            });
            if r.values.as_object().is_some_and(|m| !m.is_empty()) {
                source["helm"]["valuesObject"] = r.values.clone();
            }
            (source, r.namespace, Some(r))
        }
        None => {
            let path = g.repo_path(&format!("clusters/{}/{}", out.name, unit.id.name()));
            let source = json!({
                "repoURL": g.repo.clone().unwrap_or_default(),
                "targetRevision": g.revision,
                "path": path
            });
            let (mi, i) = out.at;
            (source, model.meshes[mi].istiod_namespace(i), None)
        }
    };
    let mut app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": g.project,
            "destination": { "name": out.name, "namespace": namespace },
            "source": source,
            "syncPolicy": sync_policy()
        }
    });
    if release.is_some_and(|r| r.patches_webhooks) {
        app["spec"]["ignoreDifferences"] = webhook_ignore_differences();
    }
    (app, unit.origin.clone())
}

fn flux_kustomization(
    model: &Model,
    cluster: &str,
    schedule: &Schedule,
    u: usize,
) -> (Value, Origin) {
    let g = &model.gitops;
    let units = &schedule.graph.units;
    let unit = &units[u];
    // Layers are `istio-<layer>`; a release unit is named after its release.
    let name = |id: &UnitId| match id {
        UnitId::Layer(l) => format!("istio-{}", l.dir()),
        UnitId::Release(r) => r.clone(),
    };
    let mut spec = json!({
        "interval": "10m",
        "retryInterval": "1m",
        "timeout": "10m",
        "path": format!("./{}", g.repo_path(&format!("clusters/{cluster}/{}", unit.id.name()))),
        "prune": true,
        "wait": true,
        "sourceRef": { "kind": "GitRepository", "name": g.source }
    });
    let depends: Vec<Value> = schedule.depends_on[u]
        .iter()
        .map(|&d| json!({ "name": name(&units[d].id) }))
        .collect();
    if !depends.is_empty() {
        spec["dependsOn"] = json!(depends);
    }
    let k = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": metadata(&name(&unit.id), Some(&g.namespace)),
        "spec": spec
    });
    (k, unit.origin.clone())
}
