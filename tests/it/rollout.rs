//! The rollout as the output states it: every file reaches its cluster through exactly one
//! GitOps unit, under both engines; the derived order holds under each engine's
//! semantics; remotes on a primary's network run no east-west gateway; `meshc plan`
//! reads well (snapshots of `full` and `external-control-plane`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{examples, output_for_engine, root, run_meshc};
use meshc::emit::Output;

fn example_names() -> Vec<String> {
    examples()
        .iter()
        .filter_map(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
        .collect()
}

fn doc(out: &Output, path: &str) -> Value {
    let f = out.get(path).unwrap_or_else(|| panic!("no file {path}"));
    serde_saphyr::from_str(&f.contents).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every GitOps unit of an output: (the cluster it targets, the output directory it
/// applies, or `None` for a Helm chart source).
fn units(out: &Output) -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    for f in &out.files {
        let Some(rest) = f
            .path
            .strip_prefix("argocd/")
            .or(f.path.strip_prefix("flux/"))
        else {
            continue;
        };
        if rest == "kustomization.yaml" || rest.ends_with("/kustomization.yaml") {
            continue;
        }
        let entry_cluster = rest.split('/').next().unwrap_or("").to_string();
        let d = doc(out, &f.path);
        let path = match d["kind"].as_str() {
            Some("Application") => {
                assert_eq!(
                    d["spec"]["destination"]["name"], entry_cluster,
                    "{}: an Application targets the cluster of its directory",
                    f.path
                );
                d["spec"]["source"]["path"].as_str().map(str::to_string)
            }
            Some("Kustomization") => d["spec"]["path"]
                .as_str()
                .map(|p| p.trim_start_matches("./").to_string()),
            other => panic!("{}: unexpected {other:?} in a GitOps entry", f.path),
        };
        // `rendered/clusters/c1/mesh` → `clusters/c1/mesh`: the repository path of the output.
        let path = path.map(|p| {
            let at = p
                .find("clusters/")
                .unwrap_or_else(|| panic!("{}: path {p}", f.path));
            p[at..].to_string()
        });
        v.push((entry_cluster, path));
    }
    v
}

#[test]
fn every_file_is_applied_by_exactly_one_unit_of_its_cluster_under_both_engines() {
    for name in example_names() {
        for engine in ["argocd", "flux"] {
            let out = output_for_engine(&name, engine);
            let units = units(&out);
            assert!(units.len() >= 3, "{name} ({engine}): {units:?}");
            let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (cluster, path) in &units {
                let Some(path) = path else { continue };
                assert!(
                    path.starts_with(&format!("clusters/{cluster}/")),
                    "{name} ({engine}): a unit of {cluster} applies {path}"
                );
                let files: Vec<&str> = out
                    .files
                    .iter()
                    .filter_map(|f| f.path.strip_prefix(&format!("{path}/")))
                    .collect();
                assert!(
                    !files.is_empty(),
                    "{name} ({engine}): a unit points at {path}, which holds nothing"
                );
                for file in files {
                    applied
                        .entry(format!("{path}/{file}"))
                        .or_default()
                        .push(cluster.clone());
                }
            }
            for f in &out.files {
                let Some(rest) = f.path.strip_prefix("clusters/") else {
                    continue;
                };
                if rest.ends_with("/kustomization.yaml") && rest.matches('/').count() == 1 {
                    continue; // the review kustomization of the whole cluster
                }
                let cluster = rest.split('/').next().unwrap_or("");
                assert_eq!(
                    applied.get(&f.path).map(Vec::as_slice),
                    Some(&[cluster.to_string()][..]),
                    "{name} ({engine}): {} is applied by {:?}, not by exactly one unit of {cluster}",
                    f.path,
                    applied.get(&f.path)
                );
            }
            // Under Argo CD, the services of a cluster that runs them are among the units.
            if engine == "argocd" {
                for c in out.clusters() {
                    let dir = format!("clusters/{c}/services/");
                    if out.files.iter().any(|f| f.path.starts_with(&dir)) {
                        assert!(
                            out.get(&format!("argocd/{c}/application-{c}-services.argocd.yaml"))
                                .is_some(),
                            "{name}: no services Application for {c}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_derived_order_holds_under_both_engines_semantics() {
    for name in example_names() {
        for engine in ["argocd", "flux"] {
            let text = crate::common::example_for_engine(&name, engine);
            let (_, c) =
                crate::common::compile_text(&format!("examples/{name}/topology.kdl"), &text);
            let (_, schedule) = c.rollout.as_ref().expect("compiles");
            assert_eq!(
                meshc::rollout::prove(schedule),
                Vec::<String>::new(),
                "{name} ({engine})"
            );
            // And the wiring says what the schedule says.
            let out = c.output.as_ref().expect("output");
            for (cl, units) in schedule.clusters.iter().enumerate() {
                let cluster = &schedule.graph.clusters.names[cl];
                for &u in units {
                    let unit = schedule.graph.units[u].id.name();
                    if engine == "argocd" {
                        let app = doc(
                            out,
                            &format!("argocd/{cluster}/application-{cluster}-{unit}.argocd.yaml"),
                        );
                        assert_eq!(
                            app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
                            schedule.levels[u].to_string()
                        );
                    }
                }
            }
        }
    }
}

/// Cluster names of each mesh's remotes that share a network with a primary, from the
/// topology text (the model decides; the test reads the output).
#[test]
fn no_remote_on_a_primarys_network_renders_an_east_west_gateway() {
    let mut checked = 0;
    for name in example_names() {
        let path = root().join(format!("examples/{name}/topology.kdl"));
        let (_, c) = crate::common::compile_path(&path);
        let (model, _) = c.rollout.as_ref().expect("compiles");
        let out = c.output.as_ref().expect("output");
        for mesh in &model.meshes {
            for cl in &mesh.clusters {
                let gateway = out.files.iter().any(|f| {
                    (f.path.starts_with(&format!("argocd/{}/", cl.name))
                        || f.path.starts_with(&format!("clusters/{}/", cl.name)))
                        && f.path.contains("istio-eastwestgateway")
                });
                let on_primary_network = mesh.clusters.iter().any(|p| {
                    p.role == meshc::model::Role::Primary
                        && p.network.is_some()
                        && p.network == cl.network
                });
                let exports = mesh.services.iter().any(|s| {
                    !s.exports.is_empty()
                        && s.deploys
                            .iter()
                            .any(|d| mesh.clusters[d.cluster].name == cl.name)
                });
                if matches!(cl.role, meshc::model::Role::Remote { .. })
                    && on_primary_network
                    && !exports
                {
                    assert!(
                        !gateway,
                        "{name}: remote {} on its primary's network has an east-west gateway",
                        cl.name
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 1,
        "no example has a remote on its primary's network"
    );
    // The two named cases: the full example's remote shares gcp with gcp-west; the
    // multi-network primary-remote's remote is alone on net2 and keeps its gateway.
    let full = output_for_engine("full", "argocd");
    assert!(
        full.get("argocd/gcp-west-b/application-gcp-west-b-istio-eastwestgateway.argocd.yaml")
            .is_none()
    );
    assert!(
        full.get("argocd/gcp-west/application-gcp-west-istio-eastwestgateway.argocd.yaml")
            .is_some()
    );
    let prmn = output_for_engine("primary-remote-multi-network", "argocd");
    assert!(
        prmn.get("argocd/c2/application-c2-istio-eastwestgateway.argocd.yaml")
            .is_some()
    );
}

fn meshc_plan(args: &[&str]) -> (i32, String, String) {
    let o = run_meshc(args, &root(), &[]);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn plan_of_full_and_external_control_plane_reads_well() {
    for name in ["full", "external-control-plane"] {
        let topology = format!("examples/{name}/topology.kdl");
        let (code, text, _) = meshc_plan(&["plan", &topology]);
        assert_eq!(code, 0);
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("plan-{name}"), text);
        });
        assert!(text.contains("Before the first sync:"));
        assert!(text.contains("Why each wait:"));
        assert!(text.contains("Wave 0\n"), "{text}");
    }
    // What matters in the external control plane's sequence, in the order it comes.
    let (_, text, _) = meshc_plan(&["plan", "examples/external-control-plane/topology.kdl"]);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("plan lacks {needle:?}:\n{text}"))
    };
    assert!(at("config-1  credentials") < at("cp        kubeconfig"));
    assert!(at("cp        kubeconfig") < at("cp        istiod-external"));
    assert!(at("cp        istiod-external") < at("edge-1    istio-eastwestgateway"));
    assert!(text.contains("kubeconfig: Secret external-istiod/istio-kubeconfig"));
}

#[test]
fn plan_as_json_and_mermaid_and_on_errors() {
    let (code, out, _) = meshc_plan(&[
        "plan",
        "--message-format",
        "json",
        "examples/primary-remote-multi-network/topology.kdl",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {out}");
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    let plan = &v["plan"];
    assert_eq!(plan["engine"], "flux");
    let units = plan["units"].as_array().expect("units");
    let unit = |c: &str, u: &str| {
        units
            .iter()
            .find(|x| x["cluster"] == c && x["unit"] == u)
            .unwrap_or_else(|| panic!("no unit {u} of {c}"))
    };
    let gw = unit("c2", "istio-eastwestgateway");
    assert_eq!(gw["dependsOn"], serde_json::json!(["istiod"]));
    let across: Vec<&Value> = gw["waits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["cluster"] == "c1")
        .collect();
    assert!(
        across
            .iter()
            .any(|w| w["unit"] == "remote-secrets" && w["rule"] == "remote-webhook"),
        "{gw}"
    );
    assert!(plan["rules"].as_array().is_some_and(|r| {
        r.iter()
            .all(|r| r["source"].as_str().is_some_and(|s| !s.is_empty()))
    }));

    let (code, mermaid, _) = meshc_plan(&[
        "plan",
        "--format",
        "mermaid",
        "examples/primary-remote-multi-network/topology.kdl",
    ]);
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("subgraph cluster1[\"c2\"]"), "{mermaid}");
    assert!(
        mermaid.contains(" -.-> "),
        "waits across clusters are dotted: {mermaid}"
    );

    let (code, out, err) = meshc_plan(&["plan", "tests/ui/E0901-rollout-cycle.kdl"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("E0901"), "{err}");
}

#[test]
fn plan_asks_for_a_namespaced_issuer_where_the_gateway_root_is_issued() {
    // A host-name external control plane gets the mesh root in istio-system
    // (Certificate external-istiod-ca): an `Issuer` (namespaced) must exist there too.
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/external-control-plane-hostname.kdl"))
            .expect("fixture")
            .replace(
                "issuer=prod-mesh-root",
                "issuer=prod-mesh-root issuer-kind=Issuer",
            );
    let dir = std::env::temp_dir().join(format!("meshc-plan-issuer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("topology.kdl");
    std::fs::write(&file, &text).expect("write");
    let (code, out, err) = meshc_plan(&["plan", &file.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.contains("Issuer `prod-mesh-root`"))
        .unwrap_or_else(|| panic!("no issuer prerequisite:\n{out}"));
    assert!(
        line.contains("in namespace external-istiod and istio-system"),
        "{line}"
    );
    // By IP there is no gateway root, and istio-system is not asked for.
    let ip = std::fs::read_to_string(root().join("examples/external-control-plane/topology.kdl"))
        .expect("example")
        .replace(
            "issuer=prod-mesh-root",
            "issuer=prod-mesh-root issuer-kind=Issuer",
        );
    let file =
        std::env::temp_dir().join(format!("meshc-plan-issuer-ip-{}.kdl", std::process::id()));
    std::fs::write(&file, &ip).expect("write");
    let (_, out, _) = meshc_plan(&["plan", &file.display().to_string()]);
    let _ = std::fs::remove_file(&file);
    let line = out
        .lines()
        .find(|l| l.contains("Issuer `prod-mesh-root`"))
        .unwrap_or_default();
    assert!(
        line.contains("in namespace external-istiod,") && !line.contains("istio-system"),
        "{line}"
    );
}
