//! Reading the output the way Argo CD and Flux read it: the units from the Applications and
//! Kustomizations (their paths, charts, waves, dependencies, retry policies), the objects
//! each unit applies, the Helm releases, and what every object is.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::model::*;
use super::paths::{is_kustomization, is_manifest, repo_path_to_output, resolve_dir};

fn group_of(api_version: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((g, _)) => g.to_string(),
        None => String::new(),
    }
}

/// Kinds without a namespace (the ones an output could plausibly hold).
fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "CustomResourceDefinition"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ClusterSecretStore"
            | "ClusterIssuer"
            | "ClusterExternalSecret"
            | "ClusterPushSecret"
            | "PriorityClass"
            | "StorageClass"
            | "PersistentVolume"
            | "IngressClass"
    )
}

// ---------------------------------------------------------------------------------------
// Reading the output

impl World {
    pub fn read(files: &Files) -> World {
        let mut w = World {
            clusters: BTreeSet::new(),
            objs: Vec::new(),
            units: Vec::new(),
            releases: Vec::new(),
            app_health_shipped: false,
            problems: Vec::new(),
            appliers: Vec::new(),
            release_of_obj: BTreeMap::new(),
            written_keys: BTreeSet::new(),
            by_cluster: BTreeMap::new(),
            releases_by_cluster: BTreeMap::new(),
            apps_by_cluster: BTreeMap::new(),
            sidecar: Vec::new(),
            istiod_gateways: BTreeMap::new(),
            repo_obj: Vec::new(),
            secret_of: Vec::new(),
            credentials: BTreeMap::new(),
        };
        let mut obj_of_file: BTreeMap<String, usize> = BTreeMap::new();
        for (path, contents) in files {
            let Some(rest) = path.strip_prefix("clusters/") else {
                continue;
            };
            let Some((cluster, _)) = rest.split_once('/') else {
                continue;
            };
            w.clusters.insert(cluster.to_string());
            if is_kustomization(path) || !is_manifest(path) {
                continue;
            }
            match read_obj(path, cluster, contents) {
                Ok(o) => {
                    obj_of_file.insert(path.clone(), w.objs.len());
                    w.objs.push(o);
                }
                Err(e) => w.problems.push(e),
            }
        }
        let flux_clusters: BTreeSet<&str> = files
            .keys()
            .filter_map(|p| Some(p.strip_prefix("flux/")?.split_once('/')?.0))
            .collect();
        for c in flux_clusters {
            if !w.clusters.contains(c) {
                w.problems.push(format!(
                    "flux/{c}/ has no clusters/{c}/ beside it: unknown cluster"
                ));
            }
        }
        for (i, o) in w.objs.iter().enumerate() {
            w.by_cluster.entry(o.cluster.clone()).or_default().push(i);
        }
        w.read_argo(files);
        w.read_flux(files);
        w.read_helm_releases();
        w.fill_dirs(files, &obj_of_file);
        w.check_coverage();
        for o in &w.objs {
            if let Class::PushSecret { writes, .. } = &o.class {
                w.written_keys.extend(writes.iter().map(|(k, _)| k.clone()));
            }
        }
        w.index();
        if w.units.is_empty() {
            w.problems.push(
                "no units: no Argo CD Application under argocd/ and no Flux Kustomization under flux/<cluster>/, so nothing is ever applied"
                    .to_string(),
            );
        }
        w
    }

    /// Argo CD: one root Application syncs `argocd/` on the hub (its kustomization.yaml if
    /// there is one, else every file below it).
    fn read_argo(&mut self, files: &Files) {
        let under: Vec<&String> = files.keys().filter(|k| k.starts_with("argocd/")).collect();
        if under.is_empty() {
            return;
        }
        // `bootstrap/` is applied to the hub by hand before the root Application (the
        // output's docs and `meshc plan` say so): an argocd-cm there is in place for the
        // first sync.
        for path in files.keys().filter(|k| k.starts_with("bootstrap/")) {
            if !is_manifest(path) || is_kustomization(path) {
                continue;
            }
            if let Ok(v) = parse_yaml(path, &files[path])
                && text(&v, &["kind"]).as_deref() == Some("ConfigMap")
                && text(&v, &["metadata", "name"]).as_deref() == Some("argocd-cm")
            {
                self.app_health_shipped |= app_health_in_argocd_cm(&v);
            }
        }
        let applied: BTreeSet<String> = match resolve_dir(files, "argocd", true, 0) {
            Ok(v) => v.into_iter().collect(),
            Err(e) => {
                self.problems.push(format!("argocd/: {e}"));
                BTreeSet::new()
            }
        };
        for path in under {
            if !is_manifest(path) || is_kustomization(path) {
                continue;
            }
            let v = match parse_yaml(path, &files[path]) {
                Ok(v) => v,
                Err(e) => {
                    self.problems.push(e);
                    continue;
                }
            };
            let (Some(kind), Some(api)) = (text(&v, &["kind"]), text(&v, &["apiVersion"])) else {
                self.problems.push(format!(
                    "{path}: not a Kubernetes object (no kind or apiVersion)"
                ));
                continue;
            };
            let group = group_of(&api);
            if kind == "ConfigMap"
                && text(&v, &["metadata", "name"]).as_deref() == Some("argocd-cm")
            {
                self.app_health_shipped |= app_health_in_argocd_cm(&v);
            }
            if !(kind == "Application" && group == "argoproj.io") {
                continue;
            }
            if !applied.contains(path) {
                self.problems.push(format!(
                    "{path}: Application not reached from argocd/ (not in argocd/kustomization.yaml): the root app never creates it"
                ));
                continue;
            }
            if let Err(e) = self.read_application(path, &v) {
                self.problems.push(format!("{path}: {e}"));
            }
        }
    }

    fn read_application(&mut self, path: &str, v: &Value) -> Result<(), String> {
        let name = text(v, &["metadata", "name"]).ok_or("Application without metadata.name")?;
        let wave = match text(
            v,
            &["metadata", "annotations", "argocd.argoproj.io/sync-wave"],
        ) {
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("sync-wave {s:?} is not an integer"))?,
            None => 0,
        };
        let spec = v.get("spec").ok_or("Application without spec")?;
        if spec.get("sources").is_some() {
            return Err("multi-source Applications are not simulated".into());
        }
        // An Application of the Applications (app-of-apps) is the root app, which the
        // simulation already runs: not a unit.
        if text(spec, &["source", "path"])
            .is_some_and(|p| repo_path_to_output(&p).starts_with("argocd"))
        {
            return Ok(());
        }
        let cluster = match text(spec, &["destination", "name"]) {
            Some(c) => c,
            None => {
                return Err(
                    "spec.destination.name is missing (destination.server is not simulated)".into(),
                );
            }
        };
        if !self.clusters.contains(&cluster) {
            return Err(format!(
                "destination {cluster} is not a cluster of the output (no clusters/{cluster}/)"
            ));
        }
        let dest_ns = text(spec, &["destination", "namespace"]);
        let policy = spec.get("syncPolicy");
        let automated = policy
            .and_then(|p| p.get("automated"))
            .is_some_and(Value::is_object);
        let retry = policy.and_then(|p| p.get("retry"));
        let retry_limit = match retry.and_then(|r| r.get("limit")) {
            Some(l) => l.as_i64().ok_or("retry.limit is not an integer")?,
            None => 0,
        };
        let backoff_secs = |key: &str, default: &str| -> Result<u64, String> {
            let s = retry
                .and_then(|r| text(r, &["backoff", key]))
                .unwrap_or_else(|| default.to_string());
            duration_secs(&s).ok_or(format!("retry.backoff.{key} {s:?} is not a duration"))
        };
        // Source: argo-cd pkg/apis/application/v1alpha1/types.go (Backoff defaults 5s, x2, 3m).
        let backoff = Backoff {
            first_steps: steps_of(backoff_secs("duration", "5s")?),
            factor: retry
                .and_then(|r| at(r, &["backoff", "factor"]))
                .and_then(Value::as_u64)
                .unwrap_or(2),
            max_steps: steps_of(backoff_secs("maxDuration", "3m")?),
        };
        let create_namespace = policy
            .map(|p| list(p, &["syncOptions"]))
            .unwrap_or(&[])
            .iter()
            .any(|o| o.as_str() == Some("CreateNamespace=true"))
            .then(|| dest_ns.clone())
            .flatten();
        let driver = Driver::Argo(ArgoSpec {
            wave,
            automated,
            retry_limit,
            backoff,
            create_namespace,
        });
        let source = spec
            .get("source")
            .ok_or("Application without spec.source")?;
        let unit = self.units.len();
        let content = if let Some(chart) = text(source, &["chart"]) {
            let namespace = dest_ns.ok_or("chart source without destination.namespace")?;
            let rname = text(source, &["helm", "releaseName"]).unwrap_or_else(|| name.clone());
            let values = match at(source, &["helm", "valuesObject"]) {
                Some(v) => v.clone(),
                None => match text(source, &["helm", "values"]) {
                    Some(s) => parse_yaml(&format!("{path} helm.values"), &s)?,
                    None => Value::Null,
                },
            };
            let release = self.releases.len();
            self.releases.push(Release {
                id: format!("release {namespace}/{rname} (chart {chart}) in {cluster}"),
                chart: classify_chart(&chart, &rname, &values),
                cluster: cluster.clone(),
                name: rname,
                namespace,
                manager: Manager::Argo { unit },
            });
            Content::Chart { release }
        } else if let Some(p) = text(source, &["path"]) {
            let recurse = truthy(source, &["directory", "recurse"]);
            // The waves are filled in once every object is known.
            Content::Dir {
                path: repo_path_to_output(&p),
                recurse,
                waves: Vec::new(),
            }
        } else {
            return Err("source has neither chart nor path".into());
        };
        self.units.push(Unit {
            id: format!("Application {name}"),
            file: path.to_string(),
            cluster,
            driver,
            content,
        });
        Ok(())
    }

    /// Flux: each cluster's flux-system Kustomization applies `flux/<cluster>/`.
    fn read_flux(&mut self, files: &Files) {
        let clusters: BTreeSet<String> = files
            .keys()
            .filter_map(|k| {
                k.strip_prefix("flux/")?
                    .split_once('/')
                    .map(|c| c.0.to_string())
            })
            .collect();
        for cluster in clusters {
            let dir = format!("flux/{cluster}");
            let applied: BTreeSet<String> = match resolve_dir(files, &dir, true, 0) {
                Ok(v) => v.into_iter().collect(),
                Err(e) => {
                    self.problems.push(e);
                    continue;
                }
            };
            let prefix = format!("{dir}/");
            for (path, contents) in files.range(prefix.clone()..) {
                if !path.starts_with(&prefix) {
                    break;
                }
                if !is_manifest(path) || is_kustomization(path) {
                    continue;
                }
                let v = match parse_yaml(path, contents) {
                    Ok(v) => v,
                    Err(e) => {
                        self.problems.push(e);
                        continue;
                    }
                };
                let (Some(kind), Some(api)) = (text(&v, &["kind"]), text(&v, &["apiVersion"]))
                else {
                    self.problems.push(format!(
                        "{path}: not a Kubernetes object (no kind or apiVersion)"
                    ));
                    continue;
                };
                let group = group_of(&api);
                if !(kind == "Kustomization" && group == "kustomize.toolkit.fluxcd.io") {
                    continue;
                }
                if !applied.contains(path) {
                    self.problems.push(format!(
                        "{path}: Kustomization not reached from {dir}/ (the cluster's Flux entry point): never created"
                    ));
                    continue;
                }
                if let Err(e) = self.read_kustomization(path, &cluster, &v) {
                    self.problems.push(format!("{path}: {e}"));
                }
            }
        }
    }

    fn read_kustomization(&mut self, path: &str, cluster: &str, v: &Value) -> Result<(), String> {
        let name = text(v, &["metadata", "name"]).ok_or("Kustomization without metadata.name")?;
        let namespace = text(v, &["metadata", "namespace"]).unwrap_or_else(|| "flux-system".into());
        let spec = v.get("spec").ok_or("Kustomization without spec")?;
        for unsupported in ["targetNamespace", "kubeConfig"] {
            if spec.get(unsupported).is_some() {
                return Err(format!("spec.{unsupported} is not simulated"));
            }
        }
        let p = text(spec, &["path"]).ok_or("Kustomization without spec.path")?;
        // The Kustomization of the entry point itself (flux-system) is not a unit.
        if repo_path_to_output(&p).starts_with("flux") {
            return Ok(());
        }
        let interval = text(spec, &["interval"]).ok_or("Kustomization without spec.interval")?;
        let retry = text(spec, &["retryInterval"]).unwrap_or(interval);
        let retry_secs =
            duration_secs(&retry).ok_or(format!("retryInterval {retry:?} is not a duration"))?;
        let depends_on = list(spec, &["dependsOn"])
            .iter()
            .map(|d| {
                let n = text(d, &["name"]).ok_or("dependsOn entry without name")?;
                Ok((
                    text(d, &["namespace"]).unwrap_or_else(|| namespace.clone()),
                    n,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let health_checks = list(spec, &["healthChecks"])
            .iter()
            .map(|h| {
                Ok((
                    text(h, &["kind"]).ok_or("healthChecks entry without kind")?,
                    text(h, &["namespace"]).unwrap_or_default(),
                    text(h, &["name"]).ok_or("healthChecks entry without name")?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        self.units.push(Unit {
            id: format!("Kustomization {cluster}/{name}"),
            file: path.to_string(),
            cluster: cluster.to_string(),
            driver: Driver::Flux(FluxSpec {
                namespace,
                name,
                depends_on,
                retry_steps: steps_of(retry_secs),
                wait: truthy(spec, &["wait"]),
                health_checks,
                suspended: truthy(spec, &["suspend"]),
            }),
            content: Content::Dir {
                path: repo_path_to_output(&p),
                // Source: fluxcd/pkg kustomize/kustomize_generator.go: recursive.
                recurse: true,
                waves: Vec::new(),
            },
        });
        Ok(())
    }

    /// HelmRelease objects anywhere in the cluster trees: helm-controller installs them once
    /// applied.
    fn read_helm_releases(&mut self) {
        for i in 0..self.objs.len() {
            let o = &self.objs[i];
            if !o.is("helm.toolkit.fluxcd.io", "HelmRelease") {
                continue;
            }
            match read_helm_release(i, o) {
                Ok(r) => {
                    self.release_of_obj.insert(i, self.releases.len());
                    self.releases.push(r);
                }
                Err(e) => self.problems.push(format!("{}: {e}", o.file)),
            }
        }
    }

    fn fill_dirs(&mut self, files: &Files, obj_of_file: &BTreeMap<String, usize>) {
        let mut appliers = vec![Vec::new(); self.objs.len()];
        for (u, unit) in self.units.iter_mut().enumerate() {
            let Content::Dir {
                path,
                recurse,
                waves,
            } = &mut unit.content
            else {
                continue;
            };
            let dir = path.clone();
            let resolved = match resolve_dir(files, &dir, *recurse, 0) {
                Ok(r) => r,
                Err(e) => {
                    self.problems
                        .push(format!("{} ({}): {e}", unit.id, unit.file));
                    continue;
                }
            };
            if resolved.is_empty() {
                self.problems.push(format!(
                    "{} ({}) points at {dir}, which holds no files",
                    unit.id, unit.file
                ));
            }
            let mut by_wave: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
            for f in resolved {
                let Some(&i) = obj_of_file.get(&f) else {
                    self.problems.push(format!(
                        "{} applies {f}, which is not an object under clusters/",
                        unit.id
                    ));
                    continue;
                };
                if self.objs[i].cluster != unit.cluster {
                    self.problems.push(format!(
                        "{} targets cluster {} but applies {f} of cluster {}",
                        unit.id, unit.cluster, self.objs[i].cluster
                    ));
                    continue;
                }
                appliers[i].push(u);
                by_wave.entry(self.objs[i].wave).or_default().push(i);
            }
            *waves = by_wave.into_values().collect();
        }
        self.appliers = appliers;
    }

    fn check_coverage(&mut self) {
        for (i, o) in self.objs.iter().enumerate() {
            match self.appliers[i].as_slice() {
                [] => self
                    .problems
                    .push(format!("{} is applied by no unit", o.file)),
                [_] => {}
                us => self.problems.push(format!(
                    "{} is applied by {} units: {}",
                    o.file,
                    us.len(),
                    us.iter()
                        .map(|&u| self.units[u].id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }

    /// Static indexes the step loop reads instead of scanning every object.
    fn index(&mut self) {
        for (r, rel) in self.releases.iter().enumerate() {
            self.releases_by_cluster
                .entry(rel.cluster.clone())
                .or_default()
                .push(r);
        }
        for (u, unit) in self.units.iter().enumerate() {
            if unit.argo().is_some() {
                self.apps_by_cluster
                    .entry(unit.cluster.clone())
                    .or_default()
                    .push(u);
            }
        }
        self.sidecar = self.objs.iter().map(|o| expects_sidecar(self, o)).collect();
        for (i, o) in self.objs.iter().enumerate() {
            if !o.is(ISTIO_NET, "Gateway") {
                continue;
            }
            let ports: BTreeSet<u64> = list(&o.v, &["spec", "servers"])
                .iter()
                .filter_map(|s| at(s, &["port", "number"]).and_then(Value::as_u64))
                .collect();
            if ports.contains(&15012) && ports.contains(&15017) {
                let selector = string_map(at(&o.v, &["spec", "selector"]));
                self.istiod_gateways
                    .entry(o.cluster.clone())
                    .or_default()
                    .push((i, selector));
            }
        }
        self.secret_of = self.objs.iter().map(secret_meta).collect();
        // Source: istio pkg/kube/multicluster/secretcontroller.go (remote secrets) and
        // pilot/pkg/bootstrap/server.go (istio-kubeconfig).
        for (i, o) in self.objs.iter().enumerate() {
            let (Class::ExternalSecret { .. }, Some(m)) = (&o.class, &self.secret_of[i]) else {
                continue;
            };
            let mut peers: Vec<String> = Vec::new();
            if m.labels.get("istio/multiCluster").map(String::as_str) == Some("true") {
                peers.extend(m.keys.iter().cloned());
            }
            if m.name == "istio-kubeconfig" {
                peers.extend(m.annotations.get("networking.istio.io/cluster").cloned());
            }
            for peer in peers {
                self.credentials
                    .entry((o.cluster.clone(), o.ns().to_string(), peer))
                    .or_default()
                    .push(i);
            }
        }
        self.repo_obj = self
            .releases
            .iter()
            .map(|r| {
                let f = r.flux()?;
                self.objs_in(&r.cluster)
                    .find(|(_, o)| {
                        o.kind == "HelmRepository" && o.ns() == f.repo.0 && o.name == f.repo.1
                    })
                    .map(|(i, _)| i)
            })
            .collect();
    }
}

fn read_obj(path: &str, cluster: &str, contents: &str) -> Result<Obj, String> {
    let v = parse_yaml(path, contents)?;
    if !v.is_object() {
        return Err(format!("{path}: not one object"));
    }
    let api = text(&v, &["apiVersion"]).ok_or(format!("{path}: no apiVersion"))?;
    let kind = text(&v, &["kind"]).ok_or(format!("{path}: no kind"))?;
    let name = text(&v, &["metadata", "name"]).ok_or(format!("{path}: no metadata.name"))?;
    let namespace = if cluster_scoped(&kind) {
        None
    } else {
        Some(text(&v, &["metadata", "namespace"]).ok_or(format!(
            "{path}: namespaced {kind} without metadata.namespace"
        ))?)
    };
    let wave = match text(
        &v,
        &["metadata", "annotations", "argocd.argoproj.io/sync-wave"],
    ) {
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{path}: sync-wave {s:?} is not an integer"))?,
        None => 0,
    };
    let group = group_of(&api);
    let class = classify(&group, &kind, &v);
    Ok(Obj {
        file: path.to_string(),
        cluster: cluster.to_string(),
        group,
        kind,
        name,
        namespace,
        wave,
        class,
        v,
    })
}

fn classify(group: &str, kind: &str, v: &Value) -> Class {
    match (group, kind) {
        ("", "Namespace") => Class::Namespace,
        ("", "ServiceAccount") => Class::ServiceAccount,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            Class::Crd(text(v, &["spec", "group"]))
        }
        ("", "Secret") => {
            if text(v, &["type"]).as_deref() == Some("kubernetes.io/service-account-token") {
                Class::SaToken(text(
                    v,
                    &[
                        "metadata",
                        "annotations",
                        "kubernetes.io/service-account.name",
                    ],
                ))
            } else {
                Class::Secret
            }
        }
        (ES, "PushSecret") => {
            let data = list(v, &["spec", "data"]);
            Class::PushSecret {
                selects: text(v, &["spec", "selector", "secret", "name"]),
                keys: data
                    .iter()
                    .filter_map(|d| text(d, &["match", "secretKey"]))
                    .collect(),
                writes: data
                    .iter()
                    .filter_map(|d| {
                        let r = at(d, &["match", "remoteRef"])?;
                        Some((text(r, &["remoteKey"])?, text(r, &["property"])))
                    })
                    .collect(),
            }
        }
        (ES, "ExternalSecret") => {
            let mut reads: Vec<StoreKey> = list(v, &["spec", "data"])
                .iter()
                .filter_map(|d| {
                    Some((
                        text(d, &["remoteRef", "key"])?,
                        text(d, &["remoteRef", "property"]),
                    ))
                })
                .collect();
            for d in list(v, &["spec", "dataFrom"]) {
                if let Some(k) = text(d, &["extract", "key"]) {
                    reads.push((k, None));
                }
            }
            Class::ExternalSecret { reads }
        }
        ("cert-manager.io", "Certificate") => Class::Certificate,
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            Class::PodController
        }
        ("helm.toolkit.fluxcd.io", "HelmRelease") => Class::HelmRelease,
        _ => Class::Other,
    }
}

fn read_helm_release(i: usize, o: &Obj) -> Result<Release, String> {
    let spec = o.v.get("spec").ok_or("HelmRelease without spec")?;
    if spec.get("chartRef").is_some() {
        return Err("spec.chartRef is not simulated".into());
    }
    let chart = text(spec, &["chart", "spec", "chart"]).ok_or("no spec.chart.spec.chart")?;
    let kind = text(spec, &["chart", "spec", "sourceRef", "kind"]).unwrap_or_default();
    if kind != "HelmRepository" {
        return Err(format!("chart source kind {kind:?} is not simulated"));
    }
    let repo = (
        text(spec, &["chart", "spec", "sourceRef", "namespace"]).unwrap_or_else(|| o.ns().into()),
        text(spec, &["chart", "spec", "sourceRef", "name"]).ok_or("sourceRef without name")?,
    );
    let target = text(spec, &["targetNamespace"]);
    let namespace = target.clone().unwrap_or_else(|| o.ns().to_string());
    // Source: fluxcd/helm-controller api/v2/helmrelease_types.go GetReleaseName.
    let name = text(spec, &["releaseName"]).unwrap_or_else(|| match &target {
        Some(t) => format!("{t}-{}", o.name),
        None => o.name.clone(),
    });
    let depends_on = list(spec, &["dependsOn"])
        .iter()
        .map(|d| {
            Ok((
                text(d, &["namespace"]).unwrap_or_else(|| o.ns().to_string()),
                text(d, &["name"]).ok_or("dependsOn entry without name")?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let retries = match at(spec, &["install", "remediation", "retries"]) {
        Some(r) => r
            .as_i64()
            .ok_or("install.remediation.retries is not an integer")?,
        None => 0,
    };
    // Source: fluxcd/helm-controller api/v2/helmrelease_types.go GetTimeout (default 5m).
    let timeout = text(spec, &["install", "timeout"])
        .or_else(|| text(spec, &["timeout"]))
        .unwrap_or_else(|| "5m".into());
    let timeout_secs = duration_secs(&timeout).ok_or(format!("timeout {timeout:?}"))?;
    let values = spec.get("values").cloned().unwrap_or(Value::Null);
    Ok(Release {
        id: format!(
            "HelmRelease {}/{} (release {namespace}/{name}, chart {chart}) in {}",
            o.ns(),
            o.name,
            o.cluster
        ),
        cluster: o.cluster.clone(),
        chart: classify_chart(&chart, &name, &values),
        name,
        namespace,
        manager: Manager::Flux(FluxRelease {
            obj: i,
            depends_on,
            repo,
            retries,
            timeout_steps: steps_of(timeout_secs),
            create_namespace: truthy(spec, &["install", "createNamespace"]),
        }),
    })
}

/// What a chart installs, from its name and values.
fn classify_chart(chart: &str, release: &str, values: &Value) -> Chart {
    let istio_ns =
        text(values, &["global", "istioNamespace"]).unwrap_or_else(|| "istio-system".into());
    match chart {
        // Source: istio manifests/charts/base/templates/reader-serviceaccount.yaml (namespace
        // {{ .Values.global.istioNamespace }}) and the chart's crds.
        "base" => Chart::Base { istio_ns },
        "istiod" => {
            let remote = text(values, &["profile"]).as_deref() == Some("remote")
                || truthy(values, &["istiodRemote", "enabled"]);
            // Source: istio manifests/charts/istio-control/istio-discovery/templates/
            // serviceaccount.yaml: created unless remote, or remote and a config cluster.
            let has_sa = !remote
                || truthy(values, &["global", "configCluster"])
                || truthy(values, &["istiodRemote", "enabledLocalInjectorIstiod"]);
            let rev = text(values, &["revision"]).unwrap_or_default();
            let sa_name = if rev.is_empty() {
                "istiod".to_string()
            } else {
                format!("istiod-{rev}")
            };
            // Source: istio-discovery templates/mutatingwebhook.yaml (skipped when
            // global.operatorManageWebhooks; the remote profile installs the injector webhook).
            let webhook = remote || !truthy(values, &["global", "operatorManageWebhooks"]);
            Chart::Istiod {
                remote,
                sa: has_sa.then_some((istio_ns, sa_name)),
                webhook,
            }
        }
        "gateway" => {
            // Source: istio manifests/charts/gateway/templates/_helpers.tpl gateway.selectorLabels.
            let gname = text(values, &["name"]).unwrap_or_else(|| release.to_string());
            let mut pod_labels = string_map(values.get("labels"));
            pod_labels
                .entry("app".into())
                .or_insert_with(|| gname.clone());
            pod_labels
                .entry("istio".into())
                .or_insert_with(|| gname.trim_start_matches("istio-").to_string());
            let network_gateway = text(values, &["networkGateway"]).is_some_and(|s| !s.is_empty());
            let port_15012 = list(values, &["service", "ports"])
                .iter()
                .any(|p| at(p, &["port"]).and_then(Value::as_u64) == Some(15012));
            Chart::Gateway {
                pod_labels,
                exposes_control_plane: network_gateway || port_15012,
            }
        }
        _ => Chart::Other,
    }
}

/// Source: argo-cd docs/operator-manual/health.md ("Argo CD App"): the Application health
/// check is the argocd-cm key `resource.customizations.health.argoproj.io_Application`
/// (or the legacy `resource.customizations` block for `argoproj.io/Application`).
fn app_health_in_argocd_cm(v: &Value) -> bool {
    let data = v.get("data");
    data.and_then(|d| d.get("resource.customizations.health.argoproj.io_Application"))
        .is_some()
        || data
            .and_then(|d| text(d, &["resource.customizations"]))
            .is_some_and(|s| s.contains("argoproj.io/Application") && s.contains("health.lua"))
}

/// The Secret an object creates.
/// Source: kubernetes pkg/controller/serviceaccount/tokens_controller.go (a token Secret gets
/// `token`, `ca.crt`, `namespace`); external-secrets apis/externalsecrets/v1
/// externalsecret_types.go (target name defaults to the ExternalSecret's; template metadata
/// and data); cert-manager pkg/controller/certificates/issuing (tls.crt, tls.key, ca.crt).
fn secret_meta(o: &Obj) -> Option<SecretMeta> {
    let keys_of = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    if o.is("", "Secret") {
        let mut keys = keys_of(o.v.get("data"));
        keys.extend(keys_of(o.v.get("stringData")));
        if matches!(o.class, Class::SaToken(_)) {
            keys.extend(["token", "ca.crt", "namespace"].map(String::from));
        }
        return Some(SecretMeta {
            name: o.name.clone(),
            labels: string_map(at(&o.v, &["metadata", "labels"])),
            annotations: string_map(at(&o.v, &["metadata", "annotations"])),
            keys,
        });
    }
    if o.is(ES, "ExternalSecret") {
        let (name, template) = es_target(o);
        let mut keys = keys_of(template.get("data"));
        if keys.is_empty() {
            keys = list(&o.v, &["spec", "data"])
                .iter()
                .filter_map(|d| text(d, &["secretKey"]))
                .collect();
        }
        return Some(SecretMeta {
            name,
            labels: string_map(at(&template, &["metadata", "labels"])),
            annotations: string_map(at(&template, &["metadata", "annotations"])),
            keys,
        });
    }
    if o.is("cert-manager.io", "Certificate") {
        return Some(SecretMeta {
            name: text(&o.v, &["spec", "secretName"])?,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            keys: ["tls.crt", "tls.key", "ca.crt"].map(String::from).into(),
        });
    }
    None
}

/// The Secret an ExternalSecret writes: its name and its template.
fn es_target(o: &Obj) -> (String, serde_json::Value) {
    let name = text(&o.v, &["spec", "target", "name"]).unwrap_or_else(|| o.name.clone());
    (
        name,
        at(&o.v, &["spec", "target", "template"])
            .cloned()
            .unwrap_or_default(),
    )
}

/// Whether the pods of a pod controller get an Istio sidecar.
/// Source: istio manifests/charts/istio-control/istio-discovery/templates/
/// mutatingwebhook.yaml (namespace label `istio-injection: enabled` or `istio.io/rev`; pod
/// label `sidecar.istio.io/inject` overrides).
fn expects_sidecar(w: &World, o: &Obj) -> bool {
    let meta = at(&o.v, &["spec", "template", "metadata"]);
    let pod_labels = string_map(meta.and_then(|m| m.get("labels")));
    let pod_annotations = string_map(meta.and_then(|m| m.get("annotations")));
    let inject = pod_labels
        .get("sidecar.istio.io/inject")
        .or(pod_annotations.get("sidecar.istio.io/inject"));
    match inject.map(String::as_str) {
        Some("false") => return false,
        Some("true") => return true,
        _ => {}
    }
    w.objs_in(&o.cluster)
        .find(|(_, n)| n.is("", "Namespace") && Some(&n.name) == o.namespace.as_ref())
        .map(|(_, n)| {
            let labels = string_map(at(&n.v, &["metadata", "labels"]));
            labels.get("istio-injection").map(String::as_str) == Some("enabled")
                || labels.contains_key("istio.io/rev")
        })
        .unwrap_or(false)
}
