//! The rollout graph: every GitOps unit of every cluster (a layer directory or a Helm
//! release), and an edge from unit A to unit B when something in B needs a fact that
//! something in A provides (`rules.rs`). Edges cross clusters where the consumers do (a
//! primary's remote secret needs the remote's PushSecret). The graph is acyclic exactly
//! when a first sync on empty clusters can converge; [`Graph::levels`] orders it or
//! returns a cycle.

use std::collections::{HashMap, HashSet};

use super::rules::{self, Clusters, Fact, How, Need, Rule};
use crate::model::Model;
use crate::render::{Layer, Origin, Rendered, UnitId};
use crate::source::Span;

/// One GitOps unit.
#[derive(Debug)]
pub struct Unit {
    /// Index in `Rendered::clusters`.
    pub cluster: usize,
    pub id: UnitId,
    /// What the unit applies, as a person reads it (`Namespace istio-system, …`).
    pub applies: Vec<String>,
    pub origin: Origin,
}

/// Something an edge joins: an object or a release, named and located.
#[derive(Clone, Debug)]
pub struct Party {
    pub what: String,
    pub span: Span,
}

/// Why unit `to` waits for unit `from`.
#[derive(Clone, Debug)]
pub struct Why {
    pub consumer: Party,
    pub need: Fact,
    pub how: How,
    pub rule: &'static Rule,
    /// For a need made of others (injection in a remote): the part `from` provides.
    pub part: Option<(Fact, &'static Rule)>,
    pub provider: Party,
}

#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub why: Why,
}

#[derive(Debug)]
pub struct Graph {
    pub clusters: Clusters,
    pub units: Vec<Unit>,
    /// At most one edge per (from, to, rule), in the order found.
    pub edges: Vec<Edge>,
    /// Needs a unit's own objects provide although they must be ready before it applies.
    pub self_loops: Vec<Edge>,
}

/// An object or a release while the graph is built; named only when an edge needs it.
#[derive(Clone, Copy)]
enum Who<'a> {
    Object(&'a crate::render::Object),
    Release(&'a crate::render::HelmRelease),
}

impl Who<'_> {
    fn party(self) -> Party {
        match self {
            Who::Object(o) => Party {
                what: match o.namespace() {
                    Some(ns) => format!("{} {ns}/{}", o.kind(), o.name()),
                    None => format!("{} {}", o.kind(), o.name()),
                },
                span: o.origin.span,
            },
            Who::Release(r) => Party {
                what: format!("Helm release {}", r.release),
                span: r.origin.span,
            },
        }
    }
}

impl Graph {
    pub fn build(model: &Model, rendered: &Rendered) -> Graph {
        let flux = model.gitops.tool == crate::ast::GitopsTool::Flux;
        let at: Vec<(usize, usize)> = rendered.clusters.iter().map(|c| c.at).collect();
        let clusters = Clusters {
            index: at.iter().enumerate().map(|(n, a)| (*a, n)).collect(),
            names: rendered.clusters.iter().map(|c| c.name.clone()).collect(),
            at,
        };

        // Units, in a stable order: each cluster's layers, then its releases.
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_of: HashMap<(usize, UnitId), usize> = HashMap::new();
        let mut layer_units: Vec<[Option<usize>; Layer::ALL.len()]> = Vec::new();
        for (c, out) in rendered.clusters.iter().enumerate() {
            layer_units.push([None; Layer::ALL.len()]);
            // The cluster's objects by layer, in one pass.
            let mut by_layer: [Vec<&crate::render::Object>; Layer::ALL.len()] = Default::default();
            for o in &out.objects {
                if let crate::render::Place::Layer(l) = o.place {
                    by_layer[l as usize].push(o);
                }
            }
            for layer in Layer::ALL {
                let objects = &by_layer[layer as usize];
                let Some(first) = objects.first() else {
                    continue;
                };
                let id = UnitId::Layer(layer);
                layer_units[c][layer as usize] = Some(units.len());
                unit_of.insert((c, id.clone()), units.len());
                units.push(Unit {
                    cluster: c,
                    id,
                    applies: summarize(objects.iter().map(|o| (o.kind(), o.namespace(), o.name()))),
                    origin: first.origin.clone(),
                });
            }
            for r in &out.releases {
                let id = UnitId::Release(r.release.clone());
                unit_of.insert((c, id.clone()), units.len());
                units.push(Unit {
                    cluster: c,
                    id,
                    applies: vec![format!(
                        "Helm chart {} {} into {}",
                        r.chart, model.istio.version, r.namespace
                    )],
                    origin: r.origin.clone(),
                });
            }
        }

        // The unit applying an object placed at `place` in cluster `c`.
        let unit_at = |c: usize, place: &crate::render::Place| match place {
            crate::render::Place::Layer(l) => layer_units[c][*l as usize],
            crate::render::Place::Release(r) => {
                unit_of.get(&(c, UnitId::Release(r.clone()))).copied()
            }
            crate::render::Place::Entry => None,
        };

        // Who provides what: the first provider in unit order.
        let mut providers: HashMap<Fact, (usize, Who)> = HashMap::new();
        for (c, out) in rendered.clusters.iter().enumerate() {
            for o in &out.objects {
                let Some(u) = unit_at(c, &o.place) else {
                    continue;
                };
                for f in rules::object_provides(c, o) {
                    providers.entry(f).or_insert((u, Who::Object(o)));
                }
            }
            let (mi, i) = out.at;
            for r in &out.releases {
                let Some(&u) = unit_of.get(&(c, UnitId::Release(r.release.clone()))) else {
                    continue;
                };
                for f in rules::release_provides(c, r, &model.meshes[mi], i) {
                    providers.entry(f).or_insert((u, Who::Release(r)));
                }
            }
        }

        let mut g = Graph {
            clusters,
            units,
            edges: Vec::new(),
            self_loops: Vec::new(),
        };
        let mut seen: HashSet<(usize, usize, &'static str)> = HashSet::new();
        for (c, out) in rendered.clusters.iter().enumerate() {
            let injected: HashSet<&str> = out
                .objects
                .iter()
                .filter(|o| {
                    o.kind() == "Namespace"
                        && o.value["metadata"]["labels"]["istio-injection"] == "enabled"
                })
                .map(|o| o.name())
                .collect();
            let is_injected = |ns: &str| injected.contains(ns);
            for o in &out.objects {
                let Some(u) = unit_at(c, &o.place) else {
                    continue;
                };
                for n in rules::object_needs(c, o, &is_injected) {
                    g.join(model, &providers, &mut seen, u, Who::Object(o), n);
                }
            }
            for r in &out.releases {
                let Some(&u) = unit_of.get(&(c, UnitId::Release(r.release.clone()))) else {
                    continue;
                };
                let provided = |f: &Fact| providers.contains_key(f);
                for n in rules::release_needs(c, r, flux, &provided) {
                    g.join(model, &providers, &mut seen, u, Who::Release(r), n);
                }
            }
        }
        g
    }

    /// Adds the edges for one need of unit `u`: to the unit providing it, or, for a fact
    /// made of others, to each part's provider. A fact nothing in the output provides is
    /// the environment's (a namespace meshc does not declare, a key provisioned by hand).
    fn join(
        &mut self,
        model: &Model,
        providers: &HashMap<Fact, (usize, Who)>,
        seen: &mut HashSet<(usize, usize, &'static str)>,
        u: usize,
        consumer: Who,
        n: Need,
    ) {
        // The facts to look up, each with the part of a derived need it stands for.
        let parts: Vec<(Fact, Option<(Fact, &'static Rule)>)> =
            match rules::derived(model, &self.clusters, &n.fact) {
                Some(parts) => parts
                    .into_iter()
                    .map(|p| (p.fact.clone(), Some((p.fact, p.rule))))
                    .collect(),
                None => vec![(n.fact.clone(), None)],
            };
        let rule = n.rule;
        for (fact, part) in parts {
            let Some(&(from, provider)) = providers.get(&fact) else {
                continue;
            };
            let key = part.as_ref().map_or(rule.id, |(_, r)| r.id);
            let self_loop = from == u;
            if self_loop && n.how.same_unit_ok() || !self_loop && !seen.insert((from, u, key)) {
                continue;
            }
            let edge = Edge {
                from,
                to: u,
                why: Why {
                    consumer: consumer.party(),
                    need: n.fact.clone(),
                    how: n.how,
                    rule,
                    part,
                    provider: provider.party(),
                },
            };
            if self_loop {
                self.self_loops.push(edge);
            } else {
                self.edges.push(edge);
            }
        }
    }

    /// The level of every unit (the length of the longest chain of waits before it), or
    /// the edges of a cycle (in `edges`, or one of `self_loops`) when units wait for each
    /// other.
    pub fn levels(&self) -> Result<Vec<u32>, Vec<Edge>> {
        if let Some(e) = self.self_loops.first() {
            return Err(vec![e.clone()]);
        }
        let n = self.units.len();
        let mut indegree = vec![0usize; n];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (k, e) in self.edges.iter().enumerate() {
            indegree[e.to] += 1;
            out[e.from].push(k);
        }
        let mut level = vec![0u32; n];
        let mut ready: Vec<usize> = (0..n).filter(|&u| indegree[u] == 0).collect();
        let mut done = 0;
        while let Some(u) = ready.pop() {
            done += 1;
            for &k in &out[u] {
                let v = self.edges[k].to;
                level[v] = level[v].max(level[u] + 1);
                indegree[v] -= 1;
                if indegree[v] == 0 {
                    ready.push(v);
                }
            }
        }
        if done == n {
            return Ok(level);
        }
        Err(self
            .find_cycle(&indegree, &out)
            .into_iter()
            .map(|k| self.edges[k].clone())
            .collect())
    }

    /// A cycle among the units left with waits after the topological sort.
    fn find_cycle(&self, indegree: &[usize], out: &[Vec<usize>]) -> Vec<usize> {
        let stuck: Vec<bool> = indegree.iter().map(|&d| d > 0).collect();
        let Some(start) = stuck.iter().position(|&s| s) else {
            return Vec::new();
        };
        // Every stuck unit has a stuck predecessor: walk backwards until a unit repeats.
        let mut pred_edge: Vec<Option<usize>> = vec![None; self.units.len()];
        for (u, edges) in out.iter().enumerate() {
            for &k in edges {
                let v = self.edges[k].to;
                if stuck[u] && stuck[v] && pred_edge[v].is_none() {
                    pred_edge[v] = Some(k);
                }
            }
        }
        let mut order: Vec<usize> = Vec::new();
        let mut at_step: HashMap<usize, usize> = HashMap::new();
        let mut u = start;
        loop {
            if let Some(&s) = at_step.get(&u) {
                let mut cycle: Vec<usize> = order[s..].to_vec();
                cycle.reverse();
                return cycle;
            }
            at_step.insert(u, order.len());
            let Some(k) = pred_edge[u] else {
                return order;
            };
            order.push(k);
            u = self.edges[k].from;
        }
    }

    /// `unit of cluster` as a person reads it.
    pub fn unit_name(&self, u: usize) -> String {
        let unit = &self.units[u];
        format!(
            "{} of {}",
            unit.id.name(),
            self.clusters.names[unit.cluster]
        )
    }
}

/// `Namespace istio-system`, `Certificate istio-system/cacerts`, … with repeats of one
/// kind counted (`Deployment ×3`) once a unit holds many objects.
fn summarize<'a>(
    objects: impl Iterator<Item = (&'a str, Option<&'a str>, &'a str)>,
) -> Vec<String> {
    let objects: Vec<_> = objects.collect();
    if objects.len() <= 6 {
        return objects
            .iter()
            .map(|(k, ns, n)| match ns {
                Some(ns) => format!("{k} {ns}/{n}"),
                None => format!("{k} {n}"),
            })
            .collect();
    }
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for (k, _, _) in &objects {
        match kinds.iter_mut().find(|(kk, _)| kk == k) {
            Some((_, n)) => *n += 1,
            None => kinds.push((k, 1)),
        }
    }
    kinds
        .iter()
        .map(|(k, n)| {
            if *n == 1 {
                k.to_string()
            } else {
                format!("{k} ×{n}")
            }
        })
        .collect()
}
