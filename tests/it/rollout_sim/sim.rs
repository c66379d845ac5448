//! The run: schedules of the clusters' relative speeds, the step function advancing every
//! actor once, convergence, and the outcome with the cause of everything left unready.

use super::model::{Content, Driver, World};
use super::rules;
use super::state::State;
use super::{argo, cluster, flux};

/// Bound of every run, in steps (one step is `STEP_SECONDS` of simulated time).
pub const MAX_STEPS: u64 = 400;
/// A slow cluster acts every this many steps.
pub const SLOW_EVERY: u64 = 7;
/// A late cluster starts acting at this step (25 simulated minutes).
pub const LATE_FROM: u64 = 150;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Run as if argocd-cm enabled the Application health check out of band.
    pub assume_app_health: bool,
}

#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every cluster acts at every step.
    Lockstep,
    /// One cluster acts only every `SLOW_EVERY`-th step.
    Slow(String),
    /// One cluster acts only from step `LATE_FROM` on (bootstrapped late).
    Late(String),
}

impl Schedule {
    pub fn all(w: &World) -> Vec<Schedule> {
        let mut v = vec![Schedule::Lockstep];
        v.extend(w.clusters.iter().map(|c| Schedule::Slow(c.clone())));
        v.extend(w.clusters.iter().map(|c| Schedule::Late(c.clone())));
        v
    }

    pub fn acts(&self, cluster: &str, t: u64) -> bool {
        match self {
            Schedule::Lockstep => true,
            Schedule::Slow(c) => c != cluster || t.is_multiple_of(SLOW_EVERY),
            Schedule::Late(c) => c != cluster || t >= LATE_FROM,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Schedule::Lockstep => "lockstep".into(),
            Schedule::Slow(c) => format!("{c} slow (every {SLOW_EVERY}th step)"),
            Schedule::Late(c) => format!("{c} late (from step {LATE_FROM})"),
        }
    }

    fn start(&self) -> u64 {
        match self {
            Schedule::Late(_) => LATE_FROM,
            _ => 0,
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub schedule: String,
    pub converged_at: Option<u64>,
    pub failures: Vec<String>,
    pub abandoned: Vec<String>,
    pub stuck: Vec<String>,
}

/// Runs one schedule until convergence, or until nothing has changed for longer than any
/// timer of the output, or `MAX_STEPS`.
pub fn run(w: &World, opts: Options, sched: &Schedule) -> Outcome {
    let mut st = State::new(w.objs.len(), w.releases.len(), w.units.len());
    let horizon = quiet_horizon(w);
    let mut quiet = 0;
    for t in 1..=MAX_STEPS {
        let next = step(w, opts, sched, &st, t);
        let changed = next != st;
        st = next;
        if converged(w, &st) {
            return Outcome {
                schedule: sched.name(),
                converged_at: Some(t),
                failures: Vec::new(),
                abandoned: Vec::new(),
                stuck: Vec::new(),
            };
        }
        if changed || t < sched.start() {
            quiet = 0;
        } else {
            quiet += 1;
            if quiet > horizon {
                break;
            }
        }
    }
    outcome(w, &st, sched)
}

/// Longer than any wait in the output: retry backoffs, retry intervals, Helm timeouts.
fn quiet_horizon(w: &World) -> u64 {
    let units = w.units.iter().map(|u| match &u.driver {
        Driver::Argo(a) => a.backoff.max_steps,
        Driver::Flux(f) => f.retry_steps,
    });
    let releases = w
        .releases
        .iter()
        .filter_map(|r| r.flux().map(|f| f.timeout_steps));
    units.chain(releases).max().unwrap_or(0) + 2 * SLOW_EVERY + 2
}

fn converged(w: &World, st: &State) -> bool {
    st.failures.is_empty()
        && st.units.iter().all(|u| u.ready)
        && st.releases.iter().all(|r| r.ready)
        && (0..w.objs.len()).all(|i| st.ready[i] || w.appliers[i].is_empty())
}

fn outcome(w: &World, st: &State, sched: &Schedule) -> Outcome {
    let failures = st
        .failures
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let mut abandoned = Vec::new();
    let mut stuck = Vec::new();
    for (u, unit) in w.units.iter().enumerate() {
        let us = &st.units[u];
        if us.abandoned {
            let limit = unit.argo().map(|a| a.retry_limit).unwrap_or(0);
            abandoned.push(format!(
                "{}: abandoned after {} failed syncs (retry.limit {limit}); last error: {}",
                unit.id,
                us.failed_syncs,
                us.last_error.as_deref().unwrap_or("?")
            ));
        } else if !us.ready {
            stuck.push(format!("{}: {}", unit.id, explain_unit(w, st, u)));
        }
    }
    for (r, rel) in w.releases.iter().enumerate() {
        if let (true, Some(f)) = (st.releases[r].stalled, rel.flux()) {
            abandoned.push(format!(
                "{}: install retries exhausted after {} failed attempts (install.remediation.retries {}); last failure: {}",
                rel.id,
                st.releases[r].failed_attempts,
                f.retries,
                st.releases[r].last_failure.as_deref().unwrap_or("?")
            ));
        }
    }
    Outcome {
        schedule: sched.name(),
        converged_at: None,
        failures,
        abandoned,
        stuck,
    }
}

/// Depth of cause chains in the report.
const REPORT_DEPTH: u8 = 5;

/// Why a unit is not ready, with the cause chain.
fn explain_unit(w: &World, st: &State, u: usize) -> String {
    let unit = &w.units[u];
    let us = &st.units[u];
    match &unit.driver {
        Driver::Argo(a) => {
            if !us.created {
                let cur = st.hub_wave.unwrap_or(i64::MIN);
                let blocker = w.units.iter().enumerate().find(|(v, x)| {
                    x.argo().is_some_and(|xa| xa.wave <= cur) && !st.units[*v].ready
                });
                return match blocker {
                    Some((_, x)) => format!(
                        "not created: the root app waits for every Application up to wave {cur} to be Healthy, and {} is not",
                        x.id
                    ),
                    None => "not created by the root app".into(),
                };
            }
            if !a.automated {
                return "no automated sync policy: never synced".into();
            }
            if !us.started {
                return match &us.last_error {
                    Some(e) => format!("sync fails ({} attempts): {e}", us.failed_syncs),
                    None => "not synced yet".into(),
                };
            }
            let upto = if us.synced { usize::MAX } else { us.waves_done };
            match first_unready(w, st, u, upto) {
                Some(what) if !us.synced => format!(
                    "sync waits in wave {} of its resources for {what}",
                    rules::wave_number(w, u, us.waves_done)
                ),
                Some(what) => format!("synced, not Healthy: {what}"),
                None => "about to be Healthy".into(),
            }
        }
        Driver::Flux(f) => {
            if f.suspended {
                return "suspended".into();
            }
            if !us.synced {
                let mut s = us
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "not reconciled yet".into());
                for dep in &f.depends_on {
                    if let Some(d) = flux_unit(w, &unit.cluster, dep)
                        && !st.units[d].ready
                    {
                        s += &format!("; {}: {}", w.units[d].id, rules::unit_brief(w, st, d));
                    }
                }
                return s;
            }
            match first_unready(w, st, u, usize::MAX) {
                Some(what) => format!("applied, not Ready: {what}"),
                None => "about to be Ready".into(),
            }
        }
    }
}

/// The first not-ready thing a unit applied (in its first `upto` waves).
fn first_unready(w: &World, st: &State, u: usize, upto: usize) -> Option<String> {
    match &w.units[u].content {
        Content::Chart { release } => (!st.releases[*release].ready).then(|| {
            format!(
                "{}: {}",
                w.releases[*release].id,
                rules::release_brief(w, st, *release, REPORT_DEPTH)
            )
        }),
        Content::Dir { waves, .. } => waves
            .iter()
            .take(upto)
            .flatten()
            .find(|&&i| !st.ready[i])
            .map(|&i| rules::obj_brief(w, st, i, REPORT_DEPTH)),
    }
}

/// The Flux Kustomization (namespace, name) of a cluster.
pub fn flux_unit(w: &World, cluster: &str, (ns, name): &(String, String)) -> Option<usize> {
    w.units.iter().position(|x| {
        x.cluster == cluster
            && x.flux()
                .is_some_and(|f| &f.namespace == ns && &f.name == name)
    })
}

/// One step of every actor. Reads `prev` only; writes the returned state. The Argo CD hub
/// runs outside the clusters and acts at every step; everything that happens in or to a
/// cluster (an Application syncing into it, its Flux, its controllers) acts when the
/// schedule lets that cluster act.
fn step(w: &World, opts: Options, sched: &Schedule, prev: &State, t: u64) -> State {
    let mut next = prev.clone();
    argo::hub_step(w, opts, prev, &mut next);
    for (u, unit) in w.units.iter().enumerate() {
        if !sched.acts(&unit.cluster, t) {
            continue;
        }
        match &unit.driver {
            Driver::Argo(_) => argo::argo_app_step(w, prev, &mut next, u, t),
            Driver::Flux(_) => flux::flux_step(w, prev, &mut next, u, t),
        }
    }
    for (r, rel) in w.releases.iter().enumerate() {
        if rel.flux().is_some() && sched.acts(&rel.cluster, t) {
            flux::helm_step(w, prev, &mut next, r, t);
        }
    }
    for c in &w.clusters {
        if sched.acts(c, t) {
            cluster::controllers_step(w, prev, &mut next, c);
        }
    }
    next
}
