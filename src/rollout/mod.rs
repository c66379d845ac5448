//! The rollout model: what must be ready before what, within a cluster and across
//! clusters, and the order the GitOps engines apply the units in, derived from it.
//!
//! `rules.rs` says what each object and Helm release provides and needs, each rule citing
//! the consumer source that makes it one; `graph.rs` joins needs to providers into a graph
//! of units; [`schedule`] orders it (Argo CD sync waves, hub-wide; Flux `dependsOn`, per
//! cluster) or reports the cycle that would deadlock a first sync (`E0901`); [`prove`]
//! checks the order against each engine's semantics; `plan.rs` prints it for people
//! (`meshc plan`). Nothing here assigns an order by hand: layers only group objects.

pub mod graph;
pub mod plan;
pub mod rules;

use crate::ast::GitopsTool;
use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::render::{Layer, Rendered, UnitId};
use graph::{Edge, Graph};

/// The derived order of every unit.
#[derive(Debug)]
pub struct Schedule {
    pub engine: GitopsTool,
    pub graph: Graph,
    /// Per unit: its level, the Argo CD sync wave (hub-wide).
    pub levels: Vec<u32>,
    /// Per cluster (as in `Rendered::clusters`): its units in apply order.
    pub clusters: Vec<Vec<usize>>,
    /// Per unit: the units of its own cluster it waits for directly (Flux `dependsOn`),
    /// without those another of them already waits for.
    pub depends_on: Vec<Vec<usize>>,
}

impl Schedule {
    /// The unit of `cluster` with this id.
    pub fn unit(&self, cluster: usize, id: &UnitId) -> Option<usize> {
        self.clusters[cluster]
            .iter()
            .copied()
            .find(|&u| self.graph.units[u].id == *id)
    }

    /// Why unit `u` waits: every edge into it.
    pub fn waits(&self, u: usize) -> impl Iterator<Item = &Edge> {
        self.graph.edges.iter().filter(move |e| e.to == u)
    }
}

/// Orders the units of `rendered`, or reports why no order converges.
pub fn schedule(model: &Model, rendered: &Rendered) -> (Option<Schedule>, Vec<Diagnostic>) {
    let graph = Graph::build(model, rendered);
    let levels = match graph.levels() {
        Ok(levels) => levels,
        Err(cycle) => return (None, vec![cycle_diagnostic(&graph, &cycle)]),
    };
    let rank = |u: usize| match &graph.units[u].id {
        UnitId::Layer(l) => Layer::ALL.iter().position(|x| x == l).unwrap_or(0),
        UnitId::Release(_) => Layer::ALL.len(),
    };
    let mut clusters: Vec<Vec<usize>> = vec![Vec::new(); rendered.clusters.len()];
    for (u, unit) in graph.units.iter().enumerate() {
        clusters[unit.cluster].push(u);
    }
    for units in &mut clusters {
        // Stable: releases keep the order they were rendered in.
        units.sort_by_key(|&u| (levels[u], rank(u)));
    }
    let depends_on = reduce_same_cluster(&graph);
    let schedule = Schedule {
        engine: model.gitops.tool,
        graph,
        levels,
        clusters,
        depends_on,
    };
    let problems = prove(&schedule);
    let diags = problems
        .into_iter()
        .map(|p| {
            Diagnostic::new(
                Code::RolloutCycle,
                format!("meshc bug: the derived rollout order {p}"),
            )
            .primary(model.gitops.span, "the GitOps wiring this order is for")
            .help("please report this with the topology")
        })
        .collect::<Vec<_>>();
    (Some(schedule), diags)
}

/// Per unit, the units of its own cluster it needs, less those implied by another need
/// (if A needs B and C, and C needs B, A depends on C alone).
fn reduce_same_cluster(g: &Graph) -> Vec<Vec<usize>> {
    let n = g.units.len();
    let mut direct: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &g.edges {
        if g.units[e.from].cluster == g.units[e.to].cluster && !direct[e.to].contains(&e.from) {
            direct[e.to].push(e.from);
        }
    }
    // Same-cluster ancestors of each unit (small: a cluster has a dozen units).
    let ancestors = |u: usize| {
        let mut seen = vec![u];
        let mut stack = direct[u].clone();
        while let Some(v) = stack.pop() {
            if !seen.contains(&v) {
                seen.push(v);
                stack.extend(direct[v].iter().copied());
            }
        }
        seen
    };
    (0..n)
        .map(|u| {
            let preds = &direct[u];
            let mut keep: Vec<usize> = preds
                .iter()
                .copied()
                .filter(|&v| !preds.iter().any(|&w| w != v && ancestors(w).contains(&v)))
                .collect();
            keep.sort_unstable();
            keep
        })
        .collect()
}

/// Checks the schedule against each engine's semantics; returns what does not hold.
///
/// - Argo CD (one root Application syncs every unit's Application in hub-wide sync
///   waves, each wave waiting for the Applications before it to be healthy): every need
///   is provided by a unit of an earlier wave, or by the unit itself where the engine
///   orders it (namespaces first) or the object only becomes ready later.
/// - Flux (each cluster's Kustomizations, each waiting for its `dependsOn` to be Ready;
///   no order across clusters): every need within a cluster is provided by a unit the
///   consumer depends on, directly or through others; needs across clusters are only
///   for readiness (nothing is started or applied wrong while waiting), and the graph of
///   all waits has no cycle, so every unit becomes ready in topological order.
pub fn prove(s: &Schedule) -> Vec<String> {
    let g = &s.graph;
    let mut problems = Vec::new();
    for e in &g.edges {
        let (from, to) = (&g.units[e.from], &g.units[e.to]);
        match s.engine {
            GitopsTool::Argocd => {
                if s.levels[e.from] >= s.levels[e.to] {
                    problems.push(format!(
                        "puts {} in wave {}, not after {} (wave {})",
                        g.unit_name(e.to),
                        s.levels[e.to],
                        g.unit_name(e.from),
                        s.levels[e.from]
                    ));
                }
            }
            GitopsTool::Flux => {
                if from.cluster != to.cluster {
                    if matches!(e.why.how, rules::How::Apply | rules::How::Start) {
                        problems.push(format!(
                            "needs {} ready across clusters before {} applies, which Flux cannot order",
                            g.unit_name(e.from),
                            g.unit_name(e.to)
                        ));
                    }
                    continue;
                }
                let mut seen = vec![e.to];
                let mut stack = s.depends_on[e.to].clone();
                let mut found = false;
                while let Some(v) = stack.pop() {
                    if v == e.from {
                        found = true;
                        break;
                    }
                    if !seen.contains(&v) {
                        seen.push(v);
                        stack.extend(s.depends_on[v].iter().copied());
                    }
                }
                if !found {
                    problems.push(format!(
                        "lets {} apply before {} is ready",
                        g.unit_name(e.to),
                        g.unit_name(e.from)
                    ));
                }
            }
        }
    }
    problems
}

/// `E0901`: the units of a cycle, each waiting for the next.
fn cycle_diagnostic(g: &Graph, cycle: &[Edge]) -> Diagnostic {
    let describe = |f: &rules::Fact| rules::describe(f, &g.clusters);
    // In the order of the waits: each edge's unit waits for the next edge's unit.
    let mut ordered: Vec<&Edge> = Vec::new();
    if let Some(first) = cycle.first() {
        ordered.push(first);
        while ordered.len() < cycle.len() {
            let last = ordered[ordered.len() - 1];
            match cycle.iter().find(|e| e.to == last.from) {
                Some(next) => ordered.push(next),
                None => break,
            }
        }
    }
    let cycle: Vec<Edge> = ordered.into_iter().cloned().collect();
    let message = match cycle.first() {
        Some(e) if e.from == e.to => format!(
            "the rollout cannot converge: {} needs something it applies itself to be ready first",
            g.unit_name(e.to)
        ),
        Some(e) => {
            let mut m = format!(
                "the rollout cannot converge: {} waits for {}",
                g.unit_name(e.to),
                g.unit_name(e.from)
            );
            for e in &cycle[1..] {
                m.push_str(&format!(", which waits for {}", g.unit_name(e.from)));
            }
            m
        }
        None => "the rollout cannot converge".to_string(),
    };
    // The primary label goes where the cycle is most likely to be broken: an object
    // that must be ready before something starts or applies, placed in a unit that
    // waits for that very thing.
    let primary = cycle
        .iter()
        .position(|e| matches!(e.why.how, rules::How::Start | rules::How::Apply))
        .unwrap_or(0);
    let mut d = Diagnostic::new(Code::RolloutCycle, message);
    for (k, e) in cycle.iter().enumerate() {
        let need = match &e.why.part {
            Some((part, _)) => format!("{} (part of {})", describe(part), describe(&e.why.need)),
            None => describe(&e.why.need),
        };
        let text = format!(
            "{} in unit {} needs {}: {}",
            e.why.consumer.what,
            g.unit_name(e.to),
            need,
            e.why.part.as_ref().map_or(e.why.rule.says, |(_, r)| r.says)
        );
        if k == primary {
            let provided = e.why.part.as_ref().map_or(&e.why.need, |(p, _)| p);
            d = d.primary(
                e.why.provider.span,
                format!(
                    "{} provides {} in unit {}",
                    e.why.provider.what,
                    rules::describe_at(provided, &g.clusters, Some(g.units[e.from].cluster)),
                    g.unit_name(e.from)
                ),
            );
            d = d.secondary(e.why.consumer.span, text);
        } else {
            d = d.secondary(e.why.consumer.span, text);
        }
    }
    d.help(
        "put the object in a unit that does not wait for what needs it (a template's `layer=`), or drop the need; `meshc explain E0901` shows the rules",
    )
}
