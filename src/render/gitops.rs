//! GitOps wiring: how a cluster's layers and Helm releases reach it, in order.
//!
//! Argo CD (hub): `argocd/<cluster>/` holds one Application per layer directory and one
//! per Helm release, all with `destination.name: <cluster>`, ordered by sync waves
//! (prereqs, then the charts in dependency order, then the mesh layer).
//!
//! Flux (per cluster): `flux/<cluster>/` holds one Flux Kustomization per layer, chained
//! with `dependsOn`; the control-plane layer holds a HelmRepository and the HelmReleases,
//! chained with `dependsOn` too.

use serde_json::{Value, json};

use super::{Cx, HelmRelease, Layer, Place, metadata};
use crate::ast::GitopsTool;

pub fn render(cx: &mut Cx) {
    match cx.model.gitops.tool {
        GitopsTool::Argocd => argocd(cx),
        GitopsTool::Flux => flux(cx),
    }
}

fn has_layer(cx: &Cx, layer: Layer) -> bool {
    cx.objects.iter().any(|o| o.place == Place::Layer(layer))
}

fn sync_policy() -> Value {
    json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["ServerSideApply=true", "RespectIgnoreDifferences=true"],
        "retry": { "limit": 10, "backoff": { "duration": "10s", "factor": 2, "maxDuration": "5m" } }
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

fn application(cx: &Cx, name: &str, wave: i32, namespace: &str, source: Value) -> Value {
    let g = &cx.model.gitops;
    let c = cx.cluster();
    let mut meta = metadata(name, Some(&g.namespace));
    meta["labels"]["meshc.dev/cluster"] = json!(c.name);
    meta["labels"]["meshc.dev/mesh"] = json!(cx.mesh.name);
    meta["annotations"] = json!({ "argocd.argoproj.io/sync-wave": wave.to_string() });
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": g.project,
            "destination": { "name": c.name, "namespace": namespace },
            "source": source,
            "syncPolicy": sync_policy()
        }
    })
}

fn argocd(cx: &mut Cx) {
    let g = &cx.model.gitops;
    let repo = g.repo.clone().unwrap_or_default();
    let c = cx.cluster();
    let system = cx.mesh.istiod_namespace(cx.i);
    let mut wave = 0;
    let mut apps = Vec::new();
    let layer_app = |cx: &Cx, layer: Layer, wave: i32| {
        let path = g.repo_path(&format!("clusters/{}/{}", c.name, layer.dir()));
        let source = json!({ "repoURL": repo, "targetRevision": g.revision, "path": path });
        let app = application(
            cx,
            &format!("{}-{}", c.name, layer.short()),
            wave,
            system,
            source,
        );
        (app, cx.cluster_origin(""))
    };
    if has_layer(cx, Layer::Prereqs) {
        apps.push(layer_app(cx, Layer::Prereqs, wave));
        wave += 1;
    }
    for r in &cx.releases {
        let mut source = json!({
            "repoURL": cx.model.istio.charts,
            "chart": r.chart,
            "targetRevision": cx.model.istio.version.to_string(),
            "helm": { "releaseName": release_name(r) }
        });
        if r.values.as_object().is_some_and(|m| !m.is_empty()) {
            source["helm"]["valuesObject"] = r.values.clone();
        }
        let mut app = application(
            cx,
            &format!("{}-{}", c.name, r.release),
            wave,
            r.namespace,
            source,
        );
        if r.patches_webhooks {
            app["spec"]["ignoreDifferences"] = webhook_ignore_differences();
        }
        apps.push((app, r.origin.clone()));
        wave += 1;
    }
    if has_layer(cx, Layer::Mesh) {
        apps.push(layer_app(cx, Layer::Mesh, wave));
    }
    for (n, (app, origin)) in apps.into_iter().enumerate() {
        cx.push(Place::Entry, n as i32, app, origin);
    }
}

/// The Helm release name: the chart's usual name, also for the external istiod (whose
/// GitOps object needs a distinct name but whose release lives in its own namespace).
fn release_name(r: &HelmRelease) -> &str {
    if r.release == "istiod-external" {
        "istiod"
    } else {
        &r.release
    }
}

fn flux(cx: &mut Cx) {
    let g = &cx.model.gitops;
    let c = cx.cluster();
    // Flux objects of the cluster live in its Istio system namespace, created by the
    // prereqs layer, so no cross-namespace references are needed.
    let home = if c.role == crate::model::Role::External {
        crate::model::ISTIO_SYSTEM
    } else {
        cx.mesh.istiod_namespace(cx.i)
    };
    if !cx.releases.is_empty() {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": metadata("istio", Some(home)),
            "spec": { "interval": "1h", "url": cx.model.istio.charts }
        });
        let origin = super::Origin {
            span: cx.model.istio.span,
            path: "istio".to_string(),
        };
        cx.push(Place::Layer(Layer::ControlPlane), 0, repo, origin);
    }
    let releases = cx.releases.clone();
    for r in &releases {
        let mut spec = json!({
            "interval": "10m",
            "releaseName": release_name(r),
            "chart": { "spec": {
                "chart": r.chart,
                "version": cx.model.istio.version.to_string(),
                "sourceRef": { "kind": "HelmRepository", "name": "istio" }
            } },
            "install": { "remediation": { "retries": 3 } },
            "upgrade": { "remediation": { "retries": 3 } }
        });
        if r.namespace != home {
            spec["targetNamespace"] = json!(r.namespace);
            spec["storageNamespace"] = json!(r.namespace);
        }
        if !r.depends_on.is_empty() {
            spec["dependsOn"] = json!(
                r.depends_on
                    .iter()
                    .map(|d| json!({ "name": d }))
                    .collect::<Vec<_>>()
            );
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
        cx.push(Place::Layer(Layer::ControlPlane), 1, hr, r.origin.clone());
    }
    let mut previous: Option<String> = None;
    let mut entries = Vec::new();
    for layer in Layer::ALL {
        if !has_layer(cx, layer) {
            continue;
        }
        let name = format!("istio-{}", layer.short());
        let mut spec = json!({
            "interval": "10m",
            "retryInterval": "1m",
            "timeout": "10m",
            "path": format!("./{}", g.repo_path(&format!("clusters/{}/{}", c.name, layer.dir()))),
            "prune": true,
            "wait": true,
            "sourceRef": { "kind": "GitRepository", "name": g.source }
        });
        if let Some(p) = &previous {
            spec["dependsOn"] = json!([{ "name": p }]);
        }
        entries.push(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": metadata(&name, Some(&g.namespace)),
            "spec": spec
        }));
        previous = Some(name);
    }
    for (n, e) in entries.into_iter().enumerate() {
        let origin = cx.cluster_origin("");
        cx.push(Place::Entry, n as i32, e, origin);
    }
}
