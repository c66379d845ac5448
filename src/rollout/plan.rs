//! `meshc plan`: the bootstrap sequence as data ([`Plan`]) and its renderings: text for
//! people, JSON for machines, Mermaid for a README or a pull request.

use serde_json::{Value, json};

use super::Schedule;
use super::graph::Edge;
use super::rules::{self, Rule};
use crate::ast::{GitopsTool, IssuerKind};
use crate::model::{Ca, Model};
use crate::render::{Layer, UnitId};

/// One thing to have in place before the first sync.
#[derive(Debug)]
pub struct Prerequisite {
    pub what: String,
    /// Clusters it concerns (empty: the hub or everywhere).
    pub clusters: Vec<String>,
}

/// The bootstrap sequence of a compiled topology.
pub struct Plan<'a> {
    pub model: &'a Model,
    pub schedule: &'a Schedule,
    pub prerequisites: Vec<Prerequisite>,
}

impl<'a> Plan<'a> {
    pub fn new(model: &'a Model, schedule: &'a Schedule) -> Plan<'a> {
        Plan {
            model,
            schedule,
            prerequisites: prerequisites(model, schedule),
        }
    }

    fn engine_name(&self) -> &'static str {
        match self.schedule.engine {
            GitopsTool::Argocd => "Argo CD",
            GitopsTool::Flux => "Flux",
        }
    }

    fn cluster(&self, u: usize) -> &str {
        &self.schedule.graph.clusters.names[self.schedule.graph.units[u].cluster]
    }

    /// Units by level, each level in cluster order.
    fn steps(&self) -> Vec<(u32, Vec<usize>)> {
        let s = self.schedule;
        let max = s.levels.iter().copied().max().unwrap_or(0);
        (0..=max)
            .map(|lvl| {
                let units: Vec<usize> = s
                    .clusters
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&u| s.levels[u] == lvl)
                    .collect();
                (lvl, units)
            })
            .filter(|(_, u)| !u.is_empty())
            .collect()
    }

    /// The waits of unit `u`, grouped by the unit waited for, in schedule order.
    fn waits(&self, u: usize) -> Vec<(usize, Vec<&'a Edge>)> {
        let mut out: Vec<(usize, Vec<&Edge>)> = Vec::new();
        for e in self.schedule.waits(u) {
            match out.iter_mut().find(|(from, _)| *from == e.from) {
                Some((_, v)) => v.push(e),
                None => out.push((e.from, vec![e])),
            }
        }
        out.sort_by_key(|(from, _)| (self.schedule.levels[*from], *from));
        out
    }

    /// What edge `e` waits for, leaving out the cluster of the unit that provides it.
    fn need_text(&self, e: &Edge) -> (String, &'static Rule) {
        let g = &self.schedule.graph;
        let here = Some(g.units[e.from].cluster);
        match &e.why.part {
            Some((part, rule)) => (rules::describe_at(part, &g.clusters, here), rule),
            None => (
                rules::describe_at(&e.why.need, &g.clusters, here),
                e.why.rule,
            ),
        }
    }

    /// The rules the plan relies on, in order of first use.
    fn rules_used(&self) -> Vec<&'static Rule> {
        let mut out: Vec<&'static Rule> = Vec::new();
        for (_, units) in self.steps() {
            for u in units {
                for (_, edges) in self.waits(u) {
                    for e in edges {
                        let (_, r) = self.need_text(e);
                        if !out.iter().any(|x| x.id == r.id) {
                            out.push(r);
                        }
                    }
                }
            }
        }
        out
    }

    /// The plan as a person reads it.
    pub fn text(&self, topology: &str) -> String {
        let s = self.schedule;
        let g = &s.graph;
        let steps = self.steps();
        let clusters = s.clusters.iter().filter(|u| !u.is_empty()).count();
        let mut out = String::new();
        let (step, how) = match s.engine {
            GitopsTool::Argocd => (
                "Wave",
                "One root Application syncs argocd/ on the hub, in sync waves: a wave starts when\nevery Application of the waves before it is healthy.",
            ),
            GitopsTool::Flux => (
                "Step",
                "Each cluster's Flux applies its units in `dependsOn` order; clusters do not wait for\neach other, so a wait across clusters (marked ~) holds a unit back only until what it\nwaits for is ready. Steps show the earliest order in which everything comes up.",
            ),
        };
        out.push_str(&format!(
            "Rollout of {topology} with {}: {} clusters, {} units, {} {}s.\n{how}\n",
            self.engine_name(),
            clusters,
            g.units.len(),
            steps.len(),
            step.to_lowercase()
        ));
        out.push_str("\nBefore the first sync:\n");
        for p in &self.prerequisites {
            out.push_str(&format!("  - {}", p.what));
            if !p.clusters.is_empty() {
                out.push_str(&format!(" ({})", p.clusters.join(", ")));
            }
            out.push('\n');
        }
        let width = |v: &mut dyn Iterator<Item = usize>| v.max().unwrap_or(0);
        let cw = width(&mut g.clusters.names.iter().map(String::len));
        let uw = width(&mut g.units.iter().map(|u| u.id.name().len()));
        let rules = self.rules_used();
        for (lvl, units) in steps {
            out.push_str(&format!("\n{step} {lvl}\n"));
            for u in units {
                let unit = &g.units[u];
                out.push_str(&format!(
                    "  {:cw$}  {:uw$}  {}\n",
                    self.cluster(u),
                    unit.id.name(),
                    unit.applies.join(", ")
                ));
                for (k, (from, edges)) in self.waits(u).into_iter().enumerate() {
                    let across = g.units[from].cluster != unit.cluster;
                    let mark = if across && s.engine == GitopsTool::Flux {
                        "~"
                    } else {
                        ""
                    };
                    let lead = if k == 0 { "waits for" } else { "" };
                    let target = if across {
                        format!("{} of {}", g.units[from].id.name(), self.cluster(from))
                    } else {
                        g.units[from].id.name().to_string()
                    };
                    // Each need once, with every rule that asks for it.
                    let mut needs: Vec<(String, Vec<usize>)> = Vec::new();
                    for e in edges {
                        let (need, rule) = self.need_text(e);
                        let n = rules.iter().position(|r| r.id == rule.id).unwrap_or(0) + 1;
                        match needs.iter_mut().find(|(t, _)| *t == need) {
                            Some((_, ns)) if !ns.contains(&n) => ns.push(n),
                            Some(_) => {}
                            None => needs.push((need, vec![n])),
                        }
                    }
                    let needs: Vec<String> = needs
                        .into_iter()
                        .map(|(t, ns)| {
                            let refs: Vec<String> = ns.iter().map(usize::to_string).collect();
                            format!("{t} [{}]", refs.join(", "))
                        })
                        .collect();
                    out.push_str(&format!(
                        "  {:cw$}  {:>uw$}  {mark}{target}: {}\n",
                        "",
                        lead,
                        needs.join("; ")
                    ));
                }
            }
        }
        if !rules.is_empty() {
            out.push_str("\nWhy each wait:\n");
            for (n, r) in rules.iter().enumerate() {
                out.push_str(&format!("  [{}] {}.\n      {}\n", n + 1, r.says, r.source));
            }
        }
        out
    }

    /// The plan as one JSON object.
    pub fn json(&self) -> Value {
        let s = self.schedule;
        let g = &s.graph;
        let units: Vec<Value> = s
            .clusters
            .iter()
            .flatten()
            .map(|&u| {
                let unit = &g.units[u];
                let waits: Vec<Value> = self
                    .waits(u)
                    .into_iter()
                    .flat_map(|(_, edges)| edges)
                    .map(|e| {
                        let (need, rule) = self.need_text(e);
                        json!({
                            "cluster": self.cluster(e.from),
                            "unit": g.units[e.from].id.name(),
                            "for": need,
                            "by": e.why.consumer.what,
                            "provided_by": e.why.provider.what,
                            "rule": rule.id,
                        })
                    })
                    .collect();
                let (kind, path) = match &unit.id {
                    UnitId::Layer(l) => {
                        ("layer", format!("clusters/{}/{}", self.cluster(u), l.dir()))
                    }
                    UnitId::Release(r) => ("release", format!("clusters/{}/{r}", self.cluster(u))),
                };
                let mut v = json!({
                    "cluster": self.cluster(u),
                    "unit": unit.id.name(),
                    "kind": kind,
                    "step": s.levels[u],
                    "applies": unit.applies,
                    "waits": waits,
                });
                match s.engine {
                    GitopsTool::Argocd => {
                        if kind == "layer" {
                            v["path"] = json!(path);
                        }
                        v["wave"] = json!(s.levels[u]);
                    }
                    GitopsTool::Flux => {
                        v["path"] = json!(path);
                        v["dependsOn"] = json!(
                            s.depends_on[u]
                                .iter()
                                .map(|&d| g.units[d].id.name())
                                .collect::<Vec<_>>()
                        );
                    }
                }
                v
            })
            .collect();
        json!({
            "engine": match s.engine { GitopsTool::Argocd => "argocd", GitopsTool::Flux => "flux" },
            "prerequisites": self.prerequisites.iter().map(|p| json!({ "what": p.what, "clusters": p.clusters })).collect::<Vec<_>>(),
            "units": units,
            "rules": self.rules_used().iter().map(|r| json!({ "id": r.id, "says": r.says, "source": r.source })).collect::<Vec<_>>(),
        })
    }

    /// The plan as a Mermaid flowchart: a box per cluster, a node per unit, an arrow per
    /// wait (dotted across clusters).
    pub fn mermaid(&self) -> String {
        let s = self.schedule;
        let g = &s.graph;
        let id = |u: usize| format!("u{u}");
        let mut out = String::from("flowchart LR\n");
        for (c, units) in s.clusters.iter().enumerate() {
            if units.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "  subgraph cluster{c}[\"{}\"]\n",
                g.clusters.names[c]
            ));
            for &u in units {
                let label = match s.engine {
                    GitopsTool::Argocd => {
                        format!("{}<br/>wave {}", g.units[u].id.name(), s.levels[u])
                    }
                    GitopsTool::Flux => g.units[u].id.name().to_string(),
                };
                out.push_str(&format!("    {}[\"{label}\"]\n", id(u)));
            }
            out.push_str("  end\n");
        }
        // Within a cluster the direct waits only (what Flux's `dependsOn` lists); across
        // clusters every wait, dotted.
        for &u in s.clusters.iter().flatten() {
            for &d in &s.depends_on[u] {
                out.push_str(&format!("  {} --> {}\n", id(d), id(u)));
            }
            let mut across: Vec<usize> = s
                .waits(u)
                .filter(|e| g.units[e.from].cluster != g.units[u].cluster)
                .map(|e| e.from)
                .collect();
            across.sort_unstable();
            across.dedup();
            for d in across {
                out.push_str(&format!("  {} -.-> {}\n", id(d), id(u)));
            }
        }
        out
    }
}

/// What must be in place before the first sync, from the model and what the output uses.
fn prerequisites(model: &Model, s: &Schedule) -> Vec<Prerequisite> {
    let g = &s.graph;
    let names = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..g.clusters.names.len())
            .filter(|&c| pred(c))
            .map(|c| g.clusters.names[c].clone())
            .collect()
    };
    let has_layer = |c: usize, l: Layer| s.unit(c, &UnitId::Layer(l)).is_some();
    let mut out = Vec::new();
    match s.engine {
        GitopsTool::Argocd => {
            out.push(Prerequisite {
                what: "Argo CD assesses Application health: `kubectl apply --server-side -k bootstrap/` on the hub before the root Application, or set the same key in your Argo CD install".to_string(),
                clusters: Vec::new(),
            });
            out.push(Prerequisite {
                what: format!(
                    "every cluster registered in Argo CD under its meshc name, in AppProject `{}`",
                    model.gitops.project
                ),
                clusters: names(&|_| true),
            });
        }
        GitopsTool::Flux => out.push(Prerequisite {
            what: format!(
                "Flux bootstrapped, with GitRepository `{}` in `{}` and a Kustomization applying flux/<cluster>",
                model.gitops.source, model.gitops.namespace
            ),
            clusters: names(&|_| true),
        }),
    }
    // meshc applies its ExternalSecrets, PushSecrets and Certificates in the Istio
    // namespace of each cluster, and the mesh root of an external control plane reached by
    // host name in istio-system (render/trust.rs `gateway_root`): a namespaced store or
    // issuer must exist there. `gateway_root` says whether that last one counts (it is
    // made from the mesh's CA, so only a CA of the store's or issuer's kind needs it).
    let within = |namespaced: bool, gateway_root: &dyn Fn(&Ca) -> bool| {
        if !namespaced {
            return String::new();
        }
        let mut ns: Vec<&str> = g
            .clusters
            .at
            .iter()
            .map(|&(mi, i)| model.meshes[mi].istiod_namespace(i))
            .collect();
        for &(mi, i) in &g.clusters.at {
            let (m, c) = (&model.meshes[mi], &model.meshes[mi].clusters[i]);
            if c.external_by_name() && m.ca.as_ref().is_some_and(|(ca, _)| gateway_root(ca)) {
                ns.push(crate::model::ISTIO_SYSTEM);
            }
        }
        ns.sort_unstable();
        ns.dedup();
        format!(" in namespace {}", ns.join(" and "))
    };
    if let Some(store) = &model.secrets {
        let uses = |c: usize| {
            let (mi, _) = g.clusters.at[c];
            has_layer(c, Layer::Credentials)
                || has_layer(c, Layer::RemoteSecrets)
                || has_layer(c, Layer::Kubeconfig)
                || matches!(model.meshes[mi].ca, Some((Ca::ExternalSecret { .. }, _)))
        };
        let namespaced = store.kind_str() == "SecretStore";
        out.push(Prerequisite {
            what: format!(
                "External Secrets Operator 0.16 or newer (API external-secrets.io/v1) with {} `{}`{}",
                store.kind_str(),
                store.store,
                within(namespaced, &|ca| matches!(ca, Ca::ExternalSecret { .. }))
            ),
            clusters: names(&uses),
        });
        let pushers = names(&|c| has_layer(c, Layer::Credentials));
        if !pushers.is_empty() {
            out.push(Prerequisite {
                what: if store.prefix.contains("{cluster}") {
                    format!(
                        "the store accepts PushSecrets (each cluster writes `{}clusters/<itself>/` for every cluster that reads it, `{{cluster}}` being the reader, and reads only its own area; docs/credentials.md) and merges pushed properties (`token` and `ca` under one key)",
                        store.prefix
                    )
                } else {
                    format!(
                        "the store accepts PushSecrets (write access under `{}`) and merges pushed properties (`token` and `ca` under one key)",
                        store.prefix
                    )
                },
                clusters: pushers,
            });
        }
    }
    for (mi, mesh) in model.meshes.iter().enumerate() {
        let runs_istiod = |c: usize| {
            let (m, i) = g.clusters.at[c];
            m == mi && !matches!(mesh.clusters[i].role, crate::model::Role::Remote { .. })
        };
        match &mesh.ca {
            Some((Ca::CertManager { issuer, kind }, _)) => out.push(Prerequisite {
                what: format!(
                    "cert-manager with {} `{issuer}`{}, every one chained to mesh {}'s one root",
                    match kind {
                        IssuerKind::ClusterIssuer => "ClusterIssuer",
                        IssuerKind::Issuer => "Issuer",
                    },
                    within(*kind == IssuerKind::Issuer, &|ca| matches!(ca, Ca::CertManager { .. })),
                    mesh.name
                ),
                clusters: names(&runs_istiod),
            }),
            Some((Ca::ExternalSecret { key }, _)) => out.push(Prerequisite {
                what: format!(
                    "each cluster's intermediate CA in the store at `{key}` (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem), under mesh {}'s one root",
                    mesh.name
                ),
                clusters: names(&runs_istiod),
            }),
            None => {}
        }
    }
    out
}
