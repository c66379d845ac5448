//! Argo CD: the hub's root app creating Applications in sync waves, and each Application
//! syncing its content (dry run, then its resources wave by wave, retries with backoff).

use super::cluster::{apply_obj, batch_of, content_ready, install_release};
use super::model::{Content, World};
use super::rules::accepts;
use super::sim::Options;
use super::state::State;

/// The root app (app-of-apps) creates the Applications in sync waves.
///
/// Source: gitops-engine pkg/sync/sync_context.go (a wave starts only when every resource
/// of the earlier waves is healthy); argo-cd docs/operator-manual/upgrading/1.7-1.8.md
/// (Application resources have no health assessment since 1.8 unless argocd-cm adds
/// `resource.customizations.health.argoproj.io_Application`: without it every Application
/// counts as healthy at once, so all waves are created together, in wave order).
pub fn hub_step(w: &World, opts: Options, prev: &State, next: &mut State) {
    let apps: Vec<(usize, i64)> = w
        .units
        .iter()
        .enumerate()
        .filter_map(|(u, x)| x.argo().map(|a| (u, a.wave)))
        .collect();
    let Some(&max) = apps.iter().map(|(_, wv)| wv).max() else {
        return;
    };
    let waits = w.app_health_shipped || opts.assume_app_health;
    let target = match prev.hub_wave {
        _ if !waits => {
            if prev.hub_wave.is_some() {
                return;
            }
            max
        }
        None => apps.iter().map(|(_, wv)| *wv).min().unwrap_or(max),
        Some(cur) => {
            let healthy = apps
                .iter()
                .filter(|(_, wv)| *wv <= cur)
                .all(|(u, _)| prev.units[*u].ready);
            match apps.iter().map(|(_, wv)| *wv).filter(|wv| *wv > cur).min() {
                Some(nw) if healthy => nw,
                _ => return,
            }
        }
    };
    for (u, wv) in &apps {
        if *wv <= target && !prev.units[*u].created {
            next.unit_mut(*u).created = true;
        }
    }
    next.hub_wave = Some(target);
}

/// An Application syncs its content: a dry run of everything, then its resources wave by
/// wave, each wave once the earlier ones are healthy.
///
/// Source: gitops-engine pkg/sync/sync_context.go (dry run of every task first; any failure
/// fails the operation; "waiting for healthy state" between waves); argo-cd
/// controller/appcontroller.go processRequestedAppOperation (a failed operation is retried
/// with backoff up to syncPolicy.retry.limit, negative = forever) and autoSync ("Skipping
/// auto-sync: failed previous sync attempt": once the retries are spent this revision is
/// never synced again).
pub fn argo_app_step(w: &World, prev: &State, next: &mut State, u: usize, t: u64) {
    let unit = &w.units[u];
    let Some(a) = unit.argo() else { return };
    let us = &prev.units[u];
    if !us.created || us.abandoned || us.synced || !a.automated {
        return;
    }
    if !us.started {
        if t < us.next_try {
            return;
        }
        match argo_dry_run(w, prev, u) {
            Err(e) => {
                let n = next.unit_mut(u);
                n.failed_syncs += 1;
                n.last_error = Some(e);
                if a.retry_limit >= 0 && i64::from(n.failed_syncs) > a.retry_limit {
                    n.abandoned = true;
                } else {
                    n.next_try = t + a.backoff.delay(n.failed_syncs);
                }
            }
            Ok(()) => {
                next.unit_mut(u).started = true;
                next.unit_mut(u).last_error = None;
                if let Some(ns) = &a.create_namespace {
                    // Source: argo-cd controller/sync.go (CreateNamespace=true).
                    next.namespaces_mut()
                        .insert((unit.cluster.clone(), ns.clone()));
                }
                argo_apply_wave(w, prev, next, u, 0);
            }
        }
        return;
    }
    if content_ready(w, prev, u, us.waves_done) {
        argo_apply_wave(w, prev, next, u, us.waves_done);
    }
}

/// The dry run of a sync: every resource of the Application must be accepted now (the
/// Namespaces, CRDs and `CreateNamespace` of the same sync count).
fn argo_dry_run(w: &World, st: &State, u: usize) -> Result<(), String> {
    let unit = &w.units[u];
    let create_ns: Option<&String> = unit.argo().and_then(|a| a.create_namespace.as_ref());
    match &unit.content {
        Content::Chart { release } => {
            let ns = &w.releases[*release].namespace;
            if st.has_namespace(&unit.cluster, ns) || create_ns == Some(ns) {
                Ok(())
            } else {
                Err(format!("namespace {ns} does not exist in {}", unit.cluster))
            }
        }
        Content::Dir { .. } => {
            let (mut batch_ns, batch_groups) = batch_of(w, unit.objs());
            batch_ns.extend(create_ns.cloned());
            for i in unit.objs() {
                accepts(w, st, i, &batch_ns, &batch_groups)
                    .map_err(|e| format!("{}: {e}", w.objs[i].label()))?;
            }
            Ok(())
        }
    }
}

/// Applies the `k`-th wave of an Application's resources (a chart is one wave).
fn argo_apply_wave(w: &World, prev: &State, next: &mut State, u: usize, k: usize) {
    let n_waves = match &w.units[u].content {
        Content::Chart { release } => {
            install_release(w, prev, next, *release);
            1
        }
        Content::Dir { waves, .. } => {
            for &i in waves.get(k).into_iter().flatten() {
                apply_obj(w, prev, next, i);
            }
            waves.len()
        }
    };
    next.unit_mut(u).waves_done = k + 1;
    if k + 1 >= n_waves {
        next.unit_mut(u).synced = true;
    }
}
