//! Rollout simulator: an independent oracle for meshc's output.
//!
//! It reads the rendered files the way Argo CD and Flux do (units from the Applications and
//! Kustomizations, their paths and charts; nothing from meshc's model) and simulates, from
//! empty clusters, what those tools and the controllers they drive (Helm, istiod, External
//! Secrets, cert-manager, Kubernetes) do, step by step. A rollout converges when every unit
//! is applied and ready, every object file is applied by exactly one unit, nothing failed
//! permanently and nothing was abandoned, under every schedule of the clusters' relative
//! speeds.
//!
//! Time is discrete: one step is 10 simulated seconds (`model::STEP_SECONDS`); durations in
//! the GitOps objects (Argo CD backoff, Flux retryInterval, Helm timeout) are converted to
//! steps. Every step reads the previous state and writes the next one, so two actors acting
//! in the same step race, as real controllers do. A schedule says which clusters act at
//! which step: all of them (lockstep), one acting every 7th step (slow), one starting at
//! step 150 (late). A run stops at convergence, after `sim::MAX_STEPS`, or once nothing
//! has changed for longer than any timer of the output (a deadlock); the report names every
//! unit left unready with the chain of causes.
//!
//! - `model`: the output as its consumers see it (`World`: objects, units, releases).
//! - `read`, `paths`: reading it from the files; which files each unit applies.
//! - `state`: what exists at one step (objects applied and ready, secrets, store keys,
//!   releases, units, permanent failures).
//! - `rules`: the controllers' rules (apply preconditions, readiness, sidecar injection),
//!   each citing the consumer source that decides it, and the explanations.
//! - `sim`: schedules, the step function, runs and outcomes; `argo`, `flux`: the engines;
//!   `cluster`: what applying and installing create, and the in-cluster controllers.
//! - `report`: the verdict as a message.
//! - `generate`, `mutate`: generated topologies, broken outputs and a reference layout for
//!   the tests; `tests`: the tests.
//!
//! `ROLLOUT_SIM_REPORT=1 cargo test rollout_sim` prints every report, converging ones too.

mod argo;
mod cluster;
mod flux;
mod generate;
mod model;
mod mutate;
mod paths;
mod read;
mod report;
mod rules;
mod sim;
mod state;
mod tests;

pub use model::Files;
pub use report::Report;
pub use sim::Options;

/// Simulates an output under every schedule.
pub fn simulate(files: &Files, title: &str, opts: Options) -> Report {
    let world = model::World::read(files);
    let outcomes = sim::Schedule::all(&world)
        .iter()
        .map(|s| sim::run(&world, opts, s))
        .collect();
    Report {
        title: title.to_string(),
        problems: world.problems.clone(),
        outcomes,
    }
}

/// The files of a compilation's output, by path.
pub fn files_of(output: &meshc::emit::Output) -> Files {
    output
        .files
        .iter()
        .map(|f| (f.path.clone(), f.contents.clone()))
        .collect()
}
