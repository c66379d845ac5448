//! The common multicluster mistakes of the reference (istio-multicluster.md, section 8),
//! one test each, named after the mistake. A mistake a topology can express is caught by
//! a coded rule; one meshc makes impossible by construction is asserted on the output of
//! every example. docs/diagnostics.md lists which is which.

use serde_json::Value;

use crate::common::{compile_text, examples, output_of};
use meshc::diag::Code;

/// Every example's output, parsed once: (example, path, document).
fn all_docs() -> Vec<(String, String, Value)> {
    static DOCS: std::sync::OnceLock<Vec<(String, String, Value)>> = std::sync::OnceLock::new();
    DOCS.get_or_init(parse_all).clone()
}

fn parse_all() -> Vec<(String, String, Value)> {
    let mut v = Vec::new();
    for path in examples() {
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for f in output_of(&path).files {
            let doc: Value = serde_saphyr::from_str(&f.contents).unwrap_or(Value::Null);
            v.push((name.clone(), f.path, doc));
        }
    }
    v
}

/// Helm values of every istiod-like release: (example, cluster, release name, values).
fn istiod_values(docs: &[(String, String, Value)]) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for (ex, p, d) in docs {
        let (values, chart, release) = match d["kind"].as_str() {
            Some("Application") => (
                &d["spec"]["source"]["helm"]["valuesObject"],
                &d["spec"]["source"]["chart"],
                &d["metadata"]["name"],
            ),
            Some("HelmRelease") => (
                &d["spec"]["values"],
                &d["spec"]["chart"]["spec"]["chart"],
                &d["metadata"]["name"],
            ),
            _ => continue,
        };
        if chart == "istiod" {
            let cluster = p.split('/').nth(1).unwrap_or("").to_string();
            out.push((
                ex.clone(),
                cluster,
                release.as_str().unwrap_or("").to_string(),
                values.clone(),
            ));
        }
    }
    out
}

fn codes(topology: &str) -> Vec<Code> {
    let (_, c) = compile_text("t.kdl", topology);
    c.diagnostics.iter().map(|d| d.code).collect()
}

const HEAD: &str = "istio version=\"1.30.4\"\ngitops flux\nsecrets external-secrets store=vault\n";

#[test]
fn mistake_01_remote_secret_data_key_differs_from_the_peer_cluster_name() {
    let docs = all_docs();
    let mut seen = 0;
    for (ex, p, d) in &docs {
        let Some(name) = d["metadata"]["name"]
            .as_str()
            .and_then(|n| n.strip_prefix("istio-remote-secret-"))
        else {
            continue;
        };
        let t = &d["spec"]["target"]["template"];
        let keys: Vec<&String> = t["data"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, [name], "{ex} {p}: data key");
        assert_eq!(
            t["metadata"]["annotations"]["networking.istio.io/cluster"], name,
            "{ex} {p}"
        );
        assert_eq!(
            t["metadata"]["labels"]["istio/multiCluster"], "true",
            "{ex} {p}"
        );
        let peer_dir = format!("clusters/{name}/kustomization.yaml");
        assert!(
            docs.iter().any(|(e, q, _)| e == ex && *q == peer_dir),
            "{ex} {p}: {name} is a real cluster"
        );
        assert!(
            !p.starts_with(&format!("clusters/{name}/")),
            "{ex} {p}: no secret for itself"
        );
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} remote secrets checked");
}

#[test]
fn mistake_02_remote_secret_outside_the_istiod_namespace() {
    let docs = all_docs();
    let vals = istiod_values(&docs);
    for (ex, p, d) in docs.iter().cloned() {
        if d["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("istio-remote-secret-") || n == "istio-kubeconfig")
        {
            let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
            assert!(
                ns == "istio-system" || ns == "external-istiod",
                "{ex} {p}: {ns}"
            );
            // The istiod that reads it runs in that namespace on that cluster.
            let cluster = p.split('/').nth(1).unwrap_or("");
            let istiod_here = vals.iter().any(|(e, c, _, v)| {
                *e == ex
                    && c == cluster
                    && v["global"]["istioNamespace"]
                        .as_str()
                        .unwrap_or("istio-system")
                        == ns
            }) || docs.iter().any(|(e, q, x)| {
                e == &ex
                    && q.contains(&format!("/{cluster}/"))
                    && x["spec"]["destination"]["namespace"] == ns
                    && x["spec"]["source"]["chart"] == "istiod"
            });
            assert!(istiod_here, "{ex} {p}: no istiod in {ns} reads it");
        }
    }
}

#[test]
fn mistake_03_no_shared_root_of_trust() {
    let t = format!(
        "{HEAD}mesh m {{\n cluster a {{\n control-plane primary\n api-server \"https://a.x:6443\"\n }}\n cluster b {{\n control-plane primary\n api-server \"https://b.x:6443\"\n }}\n}}\n"
    );
    assert!(codes(&t).contains(&Code::MissingCa));
    // In a mesh of several clusters, every cluster running istiod has a cacerts source.
    let docs = all_docs();
    let vals = istiod_values(&docs);
    for (ex, c, _, v) in &vals {
        if v["profile"] == "remote" || v["global"]["multiCluster"]["clusterName"] != c.as_str() {
            continue;
        }
        let mesh = &v["global"]["meshID"];
        let clusters = vals
            .iter()
            .filter(|(e, _, _, w)| e == ex && w["global"]["meshID"] == *mesh)
            .count();
        let has_ca = docs.iter().any(|(e, p, _)| {
            e == ex && p.starts_with(&format!("clusters/{c}/prereqs/")) && p.contains("-cacerts.")
        });
        if clusters > 1 {
            assert!(
                has_ca,
                "{ex} {c}: no cacerts source in a mesh of {clusters} clusters"
            );
        }
    }
}

#[test]
fn mistake_04_trust_domain_differs_between_clusters_of_a_mesh() {
    let vals = istiod_values(&all_docs());
    for (ex, c, _, v) in &vals {
        let Some(mesh) = v["global"]["meshID"].as_str() else {
            continue;
        };
        for (ex2, c2, _, v2) in &vals {
            if ex == ex2
                && v2["global"]["meshID"] == mesh
                && v2["meshConfig"]["trustDomain"].is_string()
                && v["meshConfig"]["trustDomain"].is_string()
            {
                assert_eq!(
                    v["meshConfig"]["trustDomain"], v2["meshConfig"]["trustDomain"],
                    "{ex}: {c} and {c2}"
                );
            }
        }
    }
}

#[test]
fn mistake_05_network_label_missing_wrong_or_duplicated() {
    let t = format!(
        "{HEAD}mesh m {{\n ca cert-manager issuer=r\n network n1\n network n2\n cluster a network=n1 {{\n control-plane primary\n api-server \"https://a.x:6443\"\n }}\n cluster b {{\n control-plane primary\n api-server \"https://b.x:6443\"\n }}\n}}\n"
    );
    assert!(codes(&t).contains(&Code::MissingNetwork));
    let docs = all_docs();
    for (ex, p, d) in &docs {
        if d["kind"] != "Namespace" {
            continue;
        }
        let Some(label) = d["metadata"]["labels"]["topology.istio.io/network"].as_str() else {
            continue;
        };
        let cluster = p.split('/').nth(1).unwrap_or("");
        for (e, c, _, v) in istiod_values(&docs) {
            if e == *ex && c == cluster {
                assert_eq!(
                    v["global"]["network"], label,
                    "{ex} {p}: label = global.network"
                );
            }
        }
        for (e, q, x) in &docs {
            let gw = &x["spec"]["source"]["helm"]["valuesObject"]["networkGateway"];
            let gw = if gw.is_null() {
                &x["spec"]["values"]["networkGateway"]
            } else {
                gw
            };
            if e == ex && q.contains(&format!("/{cluster}/")) && gw.is_string() {
                assert_eq!(gw, label, "{ex} {q}: networkGateway = label");
            }
        }
    }
}

#[test]
fn mistake_06_gateway_address_is_a_hostname() {
    let t = format!(
        "{HEAD}mesh m {{\n ca cert-manager issuer=r\n cluster a {{\n control-plane primary\n api-server \"https://a.x:6443\"\n east-west-address \"gw.a.example.com\"\n }}\n cluster b {{\n control-plane remote primary=a\n api-server \"https://b.x:6443\"\n }}\n}}\n"
    );
    let (_, c) = compile_text("t.kdl", &t);
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.code == Code::HostnameEastWestAddress)
    );
    let out = c.output.expect("a warning still builds");
    let hr = out
        .get("clusters/b/istiod/helmrelease-istiod.istio-system.yaml")
        .expect("remote istiod");
    assert!(
        hr.contents
            .contains("injectionURL: https://gw.a.example.com:15017/inject/cluster/b"),
        "{}",
        hr.contents
    );
    assert!(
        !hr.contents.contains("injectionPath"),
        "no injectionPath with a hostname"
    );
    assert!(
        hr.contents
            .contains("validationURL: https://gw.a.example.com:15017/validate")
    );
}

#[test]
fn mistake_07_remote_webhook_without_ca_bundle() {
    let docs = all_docs();
    let vals = istiod_values(&docs);
    for (ex, c, _, v) in &vals {
        if v["profile"] != "remote"
            || v["global"]["configCluster"] == true && v["pilot"]["configMap"] == true
        {
            continue;
        }
        // A remote: its namespace names the cluster whose istiod patches its webhooks.
        let ns = docs.iter().find(|(e, p, d)| {
            e == ex
                && p.starts_with(&format!("clusters/{c}/prereqs/namespace-"))
                && d["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"]
                    .is_string()
        });
        let (_, _, nsdoc) =
            ns.unwrap_or_else(|| panic!("{ex} {c}: remote without controlPlaneClusters"));
        let controller = nsdoc["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"]
            .as_str()
            .unwrap_or("");
        let external = vals.iter().any(|(e, k, _, w)| {
            e == ex
                && w["global"]["multiCluster"]["clusterName"] == controller
                && w["global"]["externalIstiod"] == true
                && k != controller
        });
        let primary = vals.iter().any(|(e, k, _, w)| {
            e == ex && k == controller && w["global"]["externalIstiod"] == true
        });
        assert!(
            external || primary,
            "{ex} {c}: the istiod of {controller} has no externalIstiod"
        );
    }
}

#[test]
fn mistake_08_duplicate_15443_servers() {
    let docs = all_docs();
    let clusters: std::collections::BTreeSet<(String, String)> = docs
        .iter()
        .map(|(e, p, _)| {
            (
                e.clone(),
                p.split('/').take(2).collect::<Vec<_>>().join("/"),
            )
        })
        .collect();
    for (ex, dir) in clusters {
        let count: usize = docs
            .iter()
            .filter(|(e, p, d)| {
                *e == ex && p.starts_with(&format!("{dir}/")) && d["kind"] == "Gateway"
            })
            .flat_map(|(_, _, d)| d["spec"]["servers"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["port"]["number"] == 15443)
            .count();
        assert!(count <= 1, "{ex} {dir}: {count} servers on 15443");
    }
}

#[test]
fn mistake_09_failover_without_outlier_detection_or_between_bad_regions() {
    let base = |failover: &str, outlier: &str| {
        format!(
            "{HEAD}mesh m {{\n ca cert-manager issuer=r\n cluster a region=r1 {{\n control-plane primary\n api-server \"https://a.x:6443\"\n }}\n cluster b region=r2 {{\n control-plane primary\n api-server \"https://b.x:6443\"\n }}\n namespace s\n service x namespace=s {{\n port http 80\n deploy a\n deploy b\n {failover}\n {outlier}\n }}\n}}\n"
        )
    };
    assert!(
        codes(&base("failover from=r1 to=r2", "")).contains(&Code::FailoverWithoutOutlierDetection)
    );
    assert!(
        codes(&base("failover from=r1 to=r1", "outlier-detection"))
            .contains(&Code::FailoverSameRegion)
    );
    assert!(
        codes(&base("failover from=\"r1/z\" to=r2", "outlier-detection"))
            .contains(&Code::InvalidValue)
    );
    assert!(
        codes(&base("failover from=r1 to=r2", "outlier-detection"))
            .iter()
            .all(|c| *c != Code::FailoverWithoutOutlierDetection)
    );
}

#[test]
fn mistake_10_service_only_in_a_remote_cluster_does_not_resolve() {
    // Without DNS proxying the Service is rendered in every workload cluster, so its name
    // resolves where callers run (tests/it/services.rs covers both settings).
    let t = format!(
        "{HEAD}mesh m {{\n ca cert-manager issuer=r\n cluster a {{\n control-plane primary\n api-server \"https://a.x:6443\"\n east-west-address \"10.0.0.1\"\n }}\n cluster b {{\n control-plane remote primary=a\n api-server \"https://b.x:6443\"\n }}\n namespace s\n service x namespace=s {{\n port http 80\n deploy b image=\"x:1\"\n }}\n}}\n"
    );
    let (_, c) = compile_text("t.kdl", &t);
    let out = c.output.expect("builds");
    assert!(
        out.get("clusters/a/services/service-x.s.yaml").is_some(),
        "the caller's cluster has the Service"
    );
}

#[test]
fn mistake_11_no_service_account_token_secret_on_kubernetes_1_24_and_later() {
    let docs = all_docs();
    for (ex, p, d) in &docs {
        let Some(peer) = d["metadata"]["name"]
            .as_str()
            .and_then(|n| n.strip_prefix("istio-remote-secret-"))
        else {
            continue;
        };
        let token = docs.iter().any(|(e, q, t)| {
            e == ex
                && q.starts_with(&format!("clusters/{peer}/"))
                && t["type"] == "kubernetes.io/service-account-token"
                && t["metadata"]["annotations"]["kubernetes.io/service-account.name"]
                    == "istio-reader-service-account"
        });
        assert!(token, "{ex} {p}: {peer} has no reader token Secret");
    }
}

#[test]
fn mistake_12_revision_mismatch_is_impossible_without_revisions() {
    // The language has no revisions: no release, gateway or webhook names one.
    for (ex, p, d) in all_docs() {
        let text = d.to_string();
        assert!(
            !text.contains("\"revision\"") && !text.contains("istio.io/rev"),
            "{ex} {p}"
        );
    }
}

#[test]
fn mistake_13_east_west_gateway_terminates_mtls() {
    for (ex, p, d) in all_docs() {
        if d["kind"] == "Gateway" && d["metadata"]["name"] == "cross-network-gateway" {
            for s in d["spec"]["servers"].as_array().into_iter().flatten() {
                assert_eq!(s["tls"]["mode"], "AUTO_PASSTHROUGH", "{ex} {p}");
            }
        }
        if d["kind"] == "DestinationRule" {
            assert_ne!(
                d["spec"]["trafficPolicy"]["tls"]["mode"], "DISABLE",
                "{ex} {p}"
            );
        }
    }
}

#[test]
fn mistake_14_argo_cd_drift_on_webhooks_istiod_patches() {
    let mut seen = 0;
    for (ex, p, d) in all_docs() {
        if d["kind"] == "Application"
            && d["spec"]["source"]["chart"] == "istiod"
            && d["spec"]["source"]["helm"]["valuesObject"]["global"]["operatorManageWebhooks"]
                != true
        {
            let ignored = d["spec"]["ignoreDifferences"].to_string();
            assert!(
                ignored.contains("caBundle") && ignored.contains("failurePolicy"),
                "{ex} {p}"
            );
            assert!(
                d["spec"]["syncPolicy"]["syncOptions"]
                    .to_string()
                    .contains("RespectIgnoreDifferences=true"),
                "{ex} {p}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 5);
}

#[test]
fn mistake_15_stale_remote_credentials_after_rotation() {
    let t = "istio version=\"1.28.2\"\ngitops flux\nsecrets external-secrets store=vault\nmesh m {\n ca cert-manager issuer=r\n cluster a {\n control-plane primary\n api-server \"https://a.x:6443\"\n }\n cluster b {\n control-plane primary\n api-server \"https://b.x:6443\"\n }\n}\n";
    assert!(codes(t).contains(&Code::StaleRemoteCredentials));
    // The last fix (#61044, for #61043) reached release-1.30 after 1.30.3 was tagged.
    assert!(
        codes(&t.replace("1.28.2", "1.30.3")).contains(&Code::StaleRemoteCredentials),
        "1.30.3 still has the bug"
    );
    assert!(!codes(&t.replace("1.28.2", "1.30.4")).contains(&Code::StaleRemoteCredentials));
}

#[test]
fn mistake_16_l7_authorization_blocked_at_the_gateway_is_not_expressible() {
    // The language has no authorization policies; if one is added, this mistake (fixed in
    // Istio 1.31) needs a rule.
    let mut names = Vec::new();
    fn walk(s: &'static meshc::lower::schema::NodeSpec, out: &mut Vec<&'static str>) {
        for c in s.children {
            out.push(c.name);
            walk(c, out);
        }
    }
    walk(&meshc::lower::schema::DOCUMENT, &mut names);
    assert!(
        names
            .iter()
            .all(|n| !n.contains("authorization") && !n.contains("policy")),
        "{names:?}"
    );
}
