//! Flux: kustomize-controller (Kustomizations with dependsOn, staged server-side apply,
//! retryInterval, wait) and helm-controller (HelmReleases with dependsOn, install attempts,
//! remediation retries, Stalled).

use super::cluster::{apply_obj, batch_of, install_release};
use super::model::{Class, World};
use super::rules::{accepts, chart_ready};
use super::sim::flux_unit;
use super::state::State;

/// A Kustomization: waits for its dependencies, applies its objects in one server-side
/// apply, retries a failed apply every retryInterval, and is Ready once applied (with
/// `wait`: once every applied object is ready).
///
/// Source: fluxcd/kustomize-controller internal/controller/kustomization_controller.go
/// (checkDependencies: every dependsOn Kustomization Ready; a failed reconciliation is
/// requeued after retryInterval, forever; `wait` / healthChecks: kstatus readiness of the
/// applied objects, fluxcd/pkg/ssa); fluxcd/pkg/ssa manager_apply.go ApplyAllStaged
/// (Namespaces and CRDs applied first, then a dry run of the rest: one failure fails it).
pub fn flux_step(w: &World, prev: &State, next: &mut State, u: usize, t: u64) {
    let unit = &w.units[u];
    let Some(f) = unit.flux() else { return };
    let us = &prev.units[u];
    if us.ready || f.suspended {
        return;
    }
    if us.synced {
        if flux_ready(w, prev, u) {
            next.unit_mut(u).ready = true;
        }
        return;
    }
    if t < us.next_try {
        return;
    }
    for dep in &f.depends_on {
        let blocked = match flux_unit(w, &unit.cluster, dep) {
            None => Some(format!("dependency {}/{} not found", dep.0, dep.1)),
            Some(d) if !prev.units[d].ready => Some(format!(
                "waits for dependency {}/{} (not Ready)",
                dep.0, dep.1
            )),
            Some(_) => None,
        };
        if let Some(e) = blocked {
            if us.last_error.as_ref() != Some(&e) {
                next.unit_mut(u).last_error = Some(e);
            }
            return;
        }
    }
    let (batch_ns, batch_groups) = batch_of(w, unit.objs());
    for i in unit.objs() {
        if matches!(w.objs[i].class, Class::Namespace | Class::Crd(_)) {
            apply_obj(w, prev, next, i);
        }
    }
    let check: Result<(), String> = unit.objs().try_for_each(|i| {
        accepts(w, prev, i, &batch_ns, &batch_groups)
            .map_err(|e| format!("{}: {e}", w.objs[i].label()))
    });
    match check {
        Err(e) => {
            next.unit_mut(u).last_error = Some(format!("apply fails: {e}"));
            next.unit_mut(u).next_try = t + f.retry_steps;
        }
        Ok(()) => {
            for i in unit.objs() {
                apply_obj(w, prev, next, i);
            }
            next.unit_mut(u).synced = true;
            next.unit_mut(u).last_error = None;
        }
    }
}

fn flux_ready(w: &World, st: &State, u: usize) -> bool {
    let unit = &w.units[u];
    let Some(f) = unit.flux() else { return false };
    if !f.health_checks.is_empty() {
        return f.health_checks.iter().all(|(kind, ns, name)| {
            w.objs_in(&unit.cluster)
                .find(|(_, o)| &o.kind == kind && o.ns() == ns && &o.name == name)
                .is_some_and(|(i, _)| st.ready[i])
        });
    }
    !f.wait || unit.objs().all(|i| st.ready[i])
}

/// helm-controller: installs an applied HelmRelease once its dependencies are Ready and its
/// HelmRepository exists; an attempt succeeds only if the release's resources are ready
/// before the timeout; a failed attempt is remediated (uninstalled) and retried up to
/// install.remediation.retries times (negative: forever), then the release is Stalled.
///
/// Source: fluxcd/helm-controller internal/controller/helmrelease_controller.go
/// (checkDependencies; the chart source must exist), internal/reconcile/atomic_release.go
/// (install with wait; remediation; RetriesExhausted → Stalled), api/v2/helmrelease_types.go
/// (InstallRemediation.Retries: "a negative integer equals to unlimited retries").
pub fn helm_step(w: &World, prev: &State, next: &mut State, r: usize, t: u64) {
    let rel = &w.releases[r];
    let Some(f) = rel.flux() else { return };
    let rs = &prev.releases[r];
    if !prev.applied[f.obj] || rs.ready || rs.stalled {
        return;
    }
    if let Some(deadline) = rs.deadline {
        if chart_ready(w, prev, r, 0).is_ok() {
            let n = next.release_mut(r);
            n.ready = true;
            n.deadline = None;
        } else if t >= deadline {
            let reason = chart_ready(w, prev, r, 3).err().unwrap_or_default();
            fail_attempt(w, next, r, format!("timed out: {reason}"));
        }
        return;
    }
    for (ns, name) in &f.depends_on {
        let dep = w.releases.iter().position(|x| {
            x.cluster == rel.cluster
                && x.flux().is_some_and(|xf| {
                    let o = &w.objs[xf.obj];
                    o.ns() == ns && &o.name == name
                })
        });
        let blocked = match dep {
            None => Some(format!("dependency HelmRelease {ns}/{name} not found")),
            Some(d) if !prev.releases[d].ready => Some(format!(
                "waits for dependency HelmRelease {ns}/{name} (not Ready)"
            )),
            Some(_) => None,
        };
        if let Some(e) = blocked {
            if rs.waiting.as_ref() != Some(&e) {
                next.release_mut(r).waiting = Some(e);
            }
            return;
        }
    }
    let (repo_ns, repo_name) = &f.repo;
    if !w.repo_obj[r].is_some_and(|i| prev.applied[i]) {
        let e = format!("HelmRepository {repo_ns}/{repo_name} does not exist");
        if rs.waiting.as_ref() != Some(&e) {
            next.release_mut(r).waiting = Some(e);
        }
        return;
    }
    if rs.waiting.is_some() {
        next.release_mut(r).waiting = None;
    }
    if !prev.has_namespace(&rel.cluster, &rel.namespace) && !f.create_namespace {
        fail_attempt(
            w,
            next,
            r,
            format!(
                "namespace {} does not exist in {}",
                rel.namespace, rel.cluster
            ),
        );
        return;
    }
    if f.create_namespace {
        next.namespaces_mut()
            .insert((rel.cluster.clone(), rel.namespace.clone()));
    }
    install_release(w, prev, next, r);
    next.release_mut(r).deadline = Some(t + f.timeout_steps);
}

fn fail_attempt(w: &World, next: &mut State, r: usize, reason: String) {
    let retries = w.releases[r].flux().map(|f| f.retries).unwrap_or(0);
    let n = next.release_mut(r);
    n.failed_attempts += 1;
    n.last_failure = Some(reason);
    n.deadline = None;
    n.installed = false;
    if retries >= 0 && i64::from(n.failed_attempts) > retries {
        n.stalled = true;
    }
}
