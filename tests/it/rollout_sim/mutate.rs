//! Mutations of an output, each re-creating a known rollout defect, so the tests can check
//! that the simulator catches it. They find their targets from the GitOps objects, like the
//! simulator, never from directory or unit names.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::model::{
    Chart, Class, Content, Driver, ES, Files, ISTIO_NET, Manager, World, list, parse_yaml, text,
};

fn to_yaml(path: &str, v: &Value) -> Result<String, String> {
    serde_saphyr::to_string(v).map_err(|e| format!("{path}: cannot write YAML: {e}"))
}

fn edit(files: &mut Files, path: &str, f: impl FnOnce(&mut Value)) -> Result<(), String> {
    let contents = files.get(path).ok_or(format!("{path}: no such file"))?;
    let mut v = parse_yaml(path, contents)?;
    f(&mut v);
    let yaml = to_yaml(path, &v)?;
    files.insert(path.to_string(), yaml);
    Ok(())
}

/// The nearest kustomization that lists `file` (argocd/kustomization.yaml, flux/<c>/…,
/// clusters/<c>/<unit>/kustomization.yaml), if any: (its path, the entry as written).
fn listing_of(files: &Files, file: &str) -> Option<(String, String)> {
    let mut dir = file;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        let k = format!("{parent}/kustomization.yaml");
        if let Some(contents) = files.get(&k) {
            let v = parse_yaml(&k, contents).ok()?;
            let rel = &file[parent.len() + 1..];
            let listed = v
                .get("resources")?
                .as_array()?
                .iter()
                .any(|r| r.as_str() == Some(rel));
            if listed {
                return Some((k, rel.to_string()));
            }
        }
        dir = parent;
    }
    None
}

/// Replaces (or with `new: None`, removes) a file's entry in the kustomization listing it.
fn relist(files: &mut Files, old: &str, new: Option<&str>) -> Result<(), String> {
    let Some((k, rel)) = listing_of(files, old) else {
        return Ok(());
    };
    let parent = k.trim_end_matches("/kustomization.yaml").to_string();
    let new_rel = new.map(|n| {
        n.strip_prefix(&format!("{parent}/"))
            .unwrap_or(n)
            .to_string()
    });
    edit(files, &k, |v| {
        if let Some(res) = v.get_mut("resources").and_then(Value::as_array_mut) {
            let at = res.iter().position(|r| r.as_str() == Some(&rel));
            if let Some(at) = at {
                match &new_rel {
                    Some(n) => res[at] = json!(n),
                    None => {
                        res.remove(at);
                    }
                }
            }
        }
    })
}

fn add_to_listing(files: &mut Files, listing: &str, file: &str) -> Result<(), String> {
    if !files.contains_key(listing) {
        return Ok(());
    }
    let parent = listing.trim_end_matches("/kustomization.yaml").to_string();
    let rel = file
        .strip_prefix(&format!("{parent}/"))
        .unwrap_or(file)
        .to_string();
    edit(files, listing, |v| {
        if let Some(res) = v.get_mut("resources").and_then(Value::as_array_mut) {
            res.push(json!(rel));
        }
    })
}

fn move_file(files: &mut Files, from: &str, to: &str) -> Result<(), String> {
    let contents = files.remove(from).ok_or(format!("{from}: no such file"))?;
    files.insert(to.to_string(), contents);
    relist(files, from, Some(to))
}

/// The directory of a Dir unit relative to its cluster tree (`20-mesh`, `mesh`, ...).
fn rel_dir(w: &World, u: usize) -> Option<String> {
    let Content::Dir { path, .. } = &w.units[u].content else {
        return None;
    };
    let prefix = format!("clusters/{}/", w.units[u].cluster);
    path.strip_prefix(&prefix).map(str::to_string)
}

/// (a) Every PushSecret back in the mesh layer as meshc once laid it out: the directory of
/// the unit applying the PeerAuthentication (or, if the PushSecret is already there, the
/// one applying the Istio Gateways), applied after the cluster's control plane, gateways
/// included (`20-mesh` came after `10-control-plane`). In a cluster without such a unit,
/// the mesh unit of a peer is cloned for it; then that unit is ordered after every
/// gateway release of its cluster (Argo CD: a later wave; Flux: `dependsOn`).
pub fn pushsecrets_into_mesh_layer(files: &Files) -> Result<(Files, Vec<String>), String> {
    let (mut out, mut log) = move_pushsecrets_into_mesh_layer(files)?;
    let w = World::read(&out);
    let mut done: BTreeSet<usize> = BTreeSet::new();
    for (i, o) in w.objs.iter().enumerate() {
        if !o.is(ES, "PushSecret") {
            continue;
        }
        let Some(&unit) = w.appliers[i].first() else {
            continue;
        };
        if !done.insert(unit) {
            continue;
        }
        // The units installing the gateway releases of this cluster.
        let gateways: Vec<usize> = w
            .releases
            .iter()
            .filter(|r| r.cluster == o.cluster && matches!(r.chart, Chart::Gateway { .. }))
            .filter_map(|r| match &r.manager {
                Manager::Argo { unit } => Some(*unit),
                Manager::Flux(f) => w.appliers[f.obj].first().copied(),
            })
            .filter(|&g| g != unit)
            .collect();
        if gateways.is_empty() {
            continue;
        }
        match &w.units[unit].driver {
            Driver::Argo(_) => {
                let after = gateways
                    .iter()
                    .filter_map(|&g| w.units[g].argo().map(|a| a.wave))
                    .max()
                    .unwrap_or(0)
                    + 1;
                let now = w.units[unit].argo().map_or(0, |a| a.wave);
                if now < after {
                    edit(&mut out, &w.units[unit].file, |v| {
                        v["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] =
                            json!(after.to_string());
                    })?;
                    log.push(format!(
                        "{} moved to wave {after}, after the gateways",
                        w.units[unit].id
                    ));
                }
            }
            Driver::Flux(_) => {
                let deps: Vec<Value> = gateways
                    .iter()
                    .filter_map(|&g| w.units[g].flux())
                    .map(|f| json!({"name": f.name, "namespace": f.namespace}))
                    .collect();
                edit(&mut out, &w.units[unit].file, |v| {
                    let d = &mut v["spec"]["dependsOn"];
                    if !d.is_array() {
                        *d = json!([]);
                    }
                    if let Some(a) = d.as_array_mut() {
                        a.extend(deps);
                    }
                })?;
                log.push(format!("{} now depends on the gateways", w.units[unit].id));
            }
        }
    }
    Ok((out, log))
}

fn move_pushsecrets_into_mesh_layer(files: &Files) -> Result<(Files, Vec<String>), String> {
    let w = World::read(files);
    let mut out = files.clone();
    let mut log = Vec::new();
    let layer = |pred: &dyn Fn(&super::model::Obj) -> bool| -> Option<String> {
        w.objs
            .iter()
            .enumerate()
            .filter(|(_, o)| pred(o))
            .find_map(|(i, _)| w.appliers[i].first().and_then(|&u| rel_dir(&w, u)))
    };
    let pa_layer = layer(&|o| o.is("security.istio.io", "PeerAuthentication"));
    let gw_layer = layer(&|o| o.is(ISTIO_NET, "Gateway"));
    let mut cloned: BTreeSet<String> = BTreeSet::new();
    for (i, o) in w.objs.iter().enumerate() {
        if !o.is(ES, "PushSecret") {
            continue;
        }
        let here = w.appliers[i].first().and_then(|&u| rel_dir(&w, u));
        let target = match (&pa_layer, &gw_layer) {
            (Some(pa), _) if here.as_ref() != Some(pa) => pa.clone(),
            (_, Some(gw)) if here.as_ref() != Some(gw) => gw.clone(),
            _ => {
                log.push(format!("{}: already in the mesh layer", o.file));
                continue;
            }
        };
        let dir = format!("clusters/{}/{target}", o.cluster);
        let to = format!("{dir}/{}", o.file.rsplit('/').next().unwrap_or(&o.file));
        let has_unit = w
            .units
            .iter()
            .enumerate()
            .any(|(u, x)| x.cluster == o.cluster && rel_dir(&w, u).as_deref() == Some(&target));
        if !has_unit && cloned.insert(o.cluster.clone()) {
            clone_unit_for(&w, &mut out, &target, &o.cluster)?;
            log.push(format!("cloned a unit for {dir}"));
        }
        move_file(&mut out, &o.file, &to)?;
        log.push(format!("moved {} to {to}", o.file));
    }
    Ok((out, log))
}

/// Clones the unit applying `clusters/<peer>/<layer>` of some peer for `cluster`.
fn clone_unit_for(w: &World, files: &mut Files, layer: &str, cluster: &str) -> Result<(), String> {
    let (u, peer) = w
        .units
        .iter()
        .enumerate()
        .find_map(|(u, x)| {
            (rel_dir(w, u).as_deref() == Some(layer)).then(|| (u, x.cluster.clone()))
        })
        .ok_or(format!("no unit applies a {layer} directory"))?;
    let src = &w.units[u].file;
    let mut v = parse_yaml(src, &files[src])?;
    let swap = |s: &str| {
        s.replace(
            &format!("clusters/{peer}/"),
            &format!("clusters/{cluster}/"),
        )
    };
    let name = text(&v, &["metadata", "name"]).unwrap_or_default();
    let (new_name, file) = match &w.units[u].driver {
        Driver::Argo(_) => {
            let n = match name.strip_prefix(&format!("{peer}-")) {
                Some(rest) => format!("{cluster}-{rest}"),
                None => format!("{name}-{cluster}"),
            };
            (
                n.clone(),
                format!("argocd/{cluster}/application-{n}.argocd.yaml"),
            )
        }
        Driver::Flux(_) => {
            let base = src.rsplit('/').next().unwrap_or(src);
            (name.clone(), format!("flux/{cluster}/{base}"))
        }
    };
    v["metadata"]["name"] = json!(new_name);
    if let Some(p) = v["spec"]["source"]["path"].as_str().map(swap) {
        v["spec"]["source"]["path"] = json!(p);
        v["spec"]["destination"]["name"] = json!(cluster);
    }
    if let Some(p) = v["spec"]["path"].as_str().map(swap) {
        v["spec"]["path"] = json!(p);
    }
    files.insert(file.clone(), to_yaml(&file, &v)?);
    let listing = match &w.units[u].driver {
        Driver::Argo(_) => "argocd/kustomization.yaml".to_string(),
        Driver::Flux(_) => format!("flux/{cluster}/kustomization.yaml"),
    };
    add_to_listing(files, &listing, &file)
}

/// (b) Drops the unit that applies the Deployments and Services of the first cluster that
/// has any. Returns the mutated output and what was dropped (nothing when no unit applies
/// them: then the output is already missing it).
pub fn drop_services_unit(files: &Files) -> Result<(Files, Vec<String>, String), String> {
    let w = World::read(files);
    let mut out = files.clone();
    let o = w
        .objs
        .iter()
        .find(|o| o.is("apps", "Deployment"))
        .ok_or("the output has no Deployment")?;
    let mut dropped = Vec::new();
    let units: BTreeSet<usize> = w
        .objs_in(&o.cluster)
        .filter(|(_, x)| x.is("apps", "Deployment") || x.is("", "Service"))
        .flat_map(|(j, _)| w.appliers[j].clone())
        .collect();
    for u in units {
        let f = &w.units[u].file;
        relist(&mut out, f, None)?;
        out.remove(f);
        dropped.push(format!("dropped {} ({f})", w.units[u].id));
    }
    Ok((out, dropped, o.file.clone()))
}

/// (c) Orders the unit applying ExternalSecret `istio-kubeconfig` after the unit installing
/// the external istiod reading it: Argo CD, a wave after every other; Flux, a dependsOn on
/// the istiod unit (and no path back).
pub fn kubeconfig_after_external_istiod(files: &Files) -> Result<(Files, Vec<String>), String> {
    let w = World::read(files);
    let mut out = files.clone();
    let (es, eso) = w
        .objs
        .iter()
        .enumerate()
        .find(|(i, _)| es_target_name(&w, *i) == Some("istio-kubeconfig"))
        .ok_or("the output has no ExternalSecret istio-kubeconfig")?;
    let es_unit = *w.appliers[es]
        .first()
        .ok_or_else(|| format!("no unit applies {}", eso.file))?;
    let rel = w
        .releases
        .iter()
        .position(|r| {
            r.cluster == eso.cluster
                && r.namespace == eso.ns()
                && matches!(r.chart, Chart::Istiod { remote: false, .. })
        })
        .ok_or("no istiod release reads istio-kubeconfig")?;
    let ist_unit = match &w.releases[rel].manager {
        Manager::Argo { unit } => *unit,
        Manager::Flux(f) => *w.appliers[f.obj]
            .first()
            .ok_or("no unit applies the external istiod's HelmRelease")?,
    };
    let mut log = Vec::new();
    if es_unit == ist_unit {
        log.push(format!(
            "{} applies both: nothing to reorder",
            w.units[es_unit].id
        ));
        return Ok((out, log));
    }
    match &w.units[es_unit].driver {
        Driver::Argo(_) => {
            let max = w
                .units
                .iter()
                .filter_map(|u| u.argo().map(|a| a.wave))
                .max()
                .unwrap_or(0);
            edit(&mut out, &w.units[es_unit].file, |v| {
                v["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] =
                    json!((max + 1).to_string());
            })?;
            log.push(format!("{} moved to wave {}", w.units[es_unit].id, max + 1));
        }
        Driver::Flux(ef) => {
            let Some(istf) = w.units[ist_unit].flux() else {
                return Err("mixed engines".into());
            };
            // Every unit the istiod unit (transitively) waits for must stop waiting for the
            // ExternalSecret's unit, or the new edge closes a cycle.
            let cluster = &w.units[ist_unit].cluster;
            let find = |dep: &(String, String)| {
                w.units.iter().position(|x| {
                    &x.cluster == cluster
                        && x.flux()
                            .is_some_and(|f| f.namespace == dep.0 && f.name == dep.1)
                })
            };
            let mut ancestors = BTreeSet::from([ist_unit]);
            let mut todo = vec![ist_unit];
            while let Some(x) = todo.pop() {
                for dep in w.units[x]
                    .flux()
                    .map(|f| f.depends_on.as_slice())
                    .unwrap_or(&[])
                {
                    if let Some(d) = find(dep)
                        && d != es_unit
                        && ancestors.insert(d)
                    {
                        todo.push(d);
                    }
                }
            }
            for &a in &ancestors {
                let waits_for_es = w.units[a]
                    .flux()
                    .is_some_and(|f| f.depends_on.iter().any(|d| find(d) == Some(es_unit)));
                if waits_for_es {
                    let (ens, ename) = (ef.namespace.clone(), ef.name.clone());
                    edit(&mut out, &w.units[a].file, |v| {
                        if let Some(deps) = v["spec"]["dependsOn"].as_array_mut() {
                            deps.retain(|d| {
                                !(d["name"].as_str() == Some(&ename)
                                    && d["namespace"].as_str().is_none_or(|n| n == ens))
                            });
                        }
                    })?;
                    log.push(format!(
                        "{} no longer depends on {}",
                        w.units[a].id, w.units[es_unit].id
                    ));
                }
            }
            let (ins, iname) = (istf.namespace.clone(), istf.name.clone());
            edit(&mut out, &w.units[es_unit].file, |v| {
                let deps = &mut v["spec"]["dependsOn"];
                if !deps.is_array() {
                    *deps = json!([]);
                }
                if let Some(a) = deps.as_array_mut() {
                    a.push(json!({"name": iname, "namespace": ins}));
                }
            })?;
            log.push(format!(
                "{} now depends on {}",
                w.units[es_unit].id, w.units[ist_unit].id
            ));
        }
    }
    Ok((out, log))
}

/// The name of the Secret an ExternalSecret writes.
fn es_target_name(w: &World, i: usize) -> Option<&str> {
    let o = &w.objs[i];
    if !o.is(ES, "ExternalSecret") {
        return None;
    }
    w.secret_of[i].as_ref().map(|m| m.name.as_str())
}

/// The layers of the reference layout, in rollout order.
const LAYERS: [&str; 7] = [
    "prereqs",
    "base",
    "istiod",
    "credentials",
    "istiod-external",
    "gateways",
    "rest",
];

/// The layer of a release in the reference layout.
fn release_layer(w: &World, r: usize) -> usize {
    let rel = &w.releases[r];
    match &rel.chart {
        Chart::Base { .. } => 1,
        Chart::Istiod { remote: false, .. }
            if w.objs_in(&rel.cluster).any(|(i, o)| {
                o.ns() == rel.namespace && es_target_name(w, i) == Some("istio-kubeconfig")
            }) =>
        {
            4
        }
        Chart::Istiod { .. } => 2,
        _ => 5,
    }
}

/// The layer of an object in the reference layout.
fn obj_layer(w: &World, i: usize) -> usize {
    let o = &w.objs[i];
    if let Some(&r) = w.release_of_obj.get(&i) {
        return release_layer(w, r);
    }
    let exposing: Vec<&str> = w
        .istiod_gateways
        .get(&o.cluster)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|(g, _)| w.objs[*g].name.as_str())
        .collect();
    let routes_exposing = o.is(ISTIO_NET, "VirtualService")
        && list(&o.v, &["spec", "gateways"])
            .iter()
            .any(|g| g.as_str().is_some_and(|g| exposing.contains(&g)));
    if o.is("", "Namespace")
        || o.kind == "HelmRepository"
        || o.is("cert-manager.io", "Certificate")
        || es_target_name(w, i) == Some("cacerts")
    {
        0
    } else if matches!(o.class, Class::SaToken(_))
        || o.is(ES, "PushSecret")
        || o.is(ES, "ExternalSecret")
        || exposing.contains(&o.name.as_str()) && o.is(ISTIO_NET, "Gateway")
        || routes_exposing
    {
        3
    } else {
        6
    }
}

/// A reference rollout of the same objects, wired from scratch in an order that respects
/// every dependency the rules know: namespaces and CA material; the base chart; istiod;
/// the credentials (tokens, PushSecrets, remote secrets, the kubeconfig, the Gateway that
/// exposes istiod); an external istiod; the gateways; everything else. Unlimited retries,
/// and for Argo CD the Application health check. Used to check that the simulator accepts
/// a correct rollout (no false positives), whatever the compiler's own layout.
pub fn reference_layout(files: &Files) -> Result<Files, String> {
    let w = World::read(files);
    let argo = w.units.iter().any(|u| u.argo().is_some());
    let mut out: Files = files
        .iter()
        .filter(|(k, _)| {
            !["clusters/", "argocd/", "flux/"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut used: BTreeSet<(String, usize)> = BTreeSet::new();
    for (i, o) in w.objs.iter().enumerate() {
        let layer = obj_layer(&w, i);
        used.insert((o.cluster.clone(), layer));
        let base = o.file.rsplit('/').next().unwrap_or(&o.file);
        let path = format!("clusters/{}/{}/{base}", o.cluster, LAYERS[layer]);
        let mut v = o.v.clone();
        if o.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            v["spec"]["install"]["remediation"]["retries"] = json!(-1);
        }
        out.insert(path.clone(), to_yaml(&path, &v)?);
    }
    for c in &w.clusters {
        let layers: Vec<usize> = (0..LAYERS.len())
            .filter(|l| used.contains(&(c.clone(), *l)))
            .collect();
        for (k, &l) in layers.iter().enumerate() {
            let path = format!("clusters/{c}/{}", LAYERS[l]);
            if argo {
                let name = format!("{c}-{}", LAYERS[l]);
                let app = json!({
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                    "metadata": {"name": name, "namespace": "argocd",
                        "annotations": {"argocd.argoproj.io/sync-wave": l.to_string()}},
                    "spec": {"project": "default",
                        "destination": {"name": c, "namespace": "default"},
                        "source": {"repoURL": "https://example.org/r.git", "targetRevision": "main", "path": path},
                        "syncPolicy": {"automated": {"prune": true}, "retry": {"limit": -1}}}
                });
                let f = format!("argocd/{c}/application-{name}.yaml");
                out.insert(f.clone(), to_yaml(&f, &app)?);
            } else {
                let mut spec = json!({"interval": "10m", "retryInterval": "1m", "path": format!("./rendered/{path}"),
                    "prune": true, "wait": true, "sourceRef": {"kind": "GitRepository", "name": "flux-system"}});
                if k > 0 {
                    spec["dependsOn"] = json!([{"name": LAYERS[layers[k - 1]]}]);
                }
                let ks = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                    "metadata": {"name": LAYERS[l], "namespace": "flux-system"}, "spec": spec});
                let f = format!("flux/{c}/kustomization-{}.yaml", LAYERS[l]);
                out.insert(f.clone(), to_yaml(&f, &ks)?);
            }
        }
    }
    if argo {
        for (r, rel) in w.releases.iter().enumerate() {
            let Manager::Argo { unit } = rel.manager else {
                continue;
            };
            let src = &w.units[unit].file;
            let mut v = parse_yaml(src, &files[src])?;
            v["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] =
                json!(release_layer(&w, r).to_string());
            v["spec"]["syncPolicy"]["retry"] = json!({"limit": -1});
            out.insert(src.clone(), to_yaml(src, &v)?);
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {"resource.customizations.health.argoproj.io_Application": "hs = {}\nreturn hs\n"}});
        out.insert(
            "argocd/bootstrap/configmap-argocd-cm.argocd.yaml".into(),
            to_yaml("argocd-cm", &cm)?,
        );
    }
    Ok(out)
}
