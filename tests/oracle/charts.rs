//! Real chart rendering: what Helm makes of the values meshc writes, checked per model
//! against the topology (the checked model), not against meshc's values. Rules come from
//! the charts and istiod: `manifests/charts/istio-control/istio-discovery/templates/`
//! (`deployment.yaml` env, `configmap.yaml` mesh config, `mutatingwebhook.yaml`,
//! `remote-istiod-service.yaml`/`remote-istiod-endpointslices.yaml`), and
//! `manifests/charts/gateway/templates/` (`service.yaml`, `deployment.yaml`).

use std::collections::BTreeMap;

use meshc::model::{Mesh, Role};
use serde_json::Value;

use crate::fleet::{Case, Fleet};
use crate::tools::{self, identity};

/// Objects of every release of one cluster, by `namespace/release` (the external control
/// plane runs two releases named `istiod`).
type Releases = BTreeMap<String, Vec<Value>>;

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn all(rels: &Releases) -> impl Iterator<Item = &Value> {
    rels.values().flatten()
}

/// `name=value` of a container's env (values only).
fn env(deploy: &Value, container: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if c["name"] == container {
            for e in c["env"].as_array().into_iter().flatten() {
                if let (Some(n), Some(v)) = (e["name"].as_str(), e["value"].as_str()) {
                    out.insert(n.to_string(), v.to_string());
                }
            }
        }
    }
    out
}

/// A YAML or JSON document held in a ConfigMap key.
fn config_data(cm: &Value, key: &str) -> Value {
    cm["data"][key]
        .as_str()
        .map(|t| {
            tools::documents(t)
                .into_iter()
                .next()
                .unwrap_or(Value::Null)
        })
        .unwrap_or(Value::Null)
}

fn ports(svc: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    v.sort_unstable();
    v
}

/// Errors of one case, as `cluster: what`.
struct Errors<'a> {
    case: &'a Case,
    list: Vec<String>,
}

impl Errors<'_> {
    fn expect(&mut self, cluster: &str, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.list
                .push(format!("{}: cluster {cluster}: {}", self.case.name, what()));
        }
    }
}

/// The address a remote's control plane is reached at, and whether it is an IP.
fn control_address(mesh: &Mesh, control: usize) -> (String, bool) {
    let addr = mesh.clusters[control]
        .east_west_address
        .clone()
        .unwrap_or_default();
    let ip = addr.parse::<std::net::IpAddr>().is_ok();
    (addr, ip)
}

/// Every per-model check over every case; returns the failures.
pub fn check(fleet: &Fleet) -> Vec<String> {
    let mut failures = Vec::new();
    for case in &fleet.cases {
        let mut e = Errors {
            case,
            list: Vec::new(),
        };
        for (mi, mesh) in case.model.meshes.iter().enumerate() {
            let per_cluster: Vec<Releases> = mesh
                .clusters
                .iter()
                .map(|c| {
                    case.releases
                        .iter()
                        .filter(|r| r.cluster == c.name)
                        .map(|r| {
                            (
                                format!("{}/{}", r.namespace, r.release),
                                fleet.objects(case, r),
                            )
                        })
                        .collect()
                })
                .collect();
            for (i, c) in mesh.clusters.iter().enumerate() {
                let rels = &per_cluster[i];
                cluster(&mut e, case, mi, i, rels);
                images(&mut e, case, &c.name, rels);
                duplicates(&mut e, case, &c.name, rels);
                selectors(&mut e, case, &c.name, rels, &per_cluster);
            }
        }
        failures.append(&mut e.list);
    }
    failures
}

fn cluster(e: &mut Errors, case: &Case, mi: usize, i: usize, rels: &Releases) {
    let mesh = &case.model.meshes[mi];
    let c = &mesh.clusters[i];
    let name = c.name.as_str();
    let net = c.network.clone().unwrap_or_default();
    let multi_root = multi_root(case, mi);
    let empty = Vec::new();
    let istiod = rels
        .get(&format!("{}/istiod", mesh.istiod_namespace(i)))
        .or_else(|| rels.get("istio-system/istiod"))
        .unwrap_or(&empty);
    match c.role {
        Role::Primary => {
            let d = find(istiod, "Deployment", "istiod");
            e.expect(name, d.is_some(), || {
                "a primary renders no istiod Deployment".into()
            });
            let env = d.map(|d| env(d, "discovery")).unwrap_or_default();
            e.expect(
                name,
                env.get("CLUSTER_ID").map(String::as_str) == Some(name),
                || format!("istiod CLUSTER_ID is {:?}", env.get("CLUSTER_ID")),
            );
            let serves = mesh.remotes_of(i).next().is_some();
            e.expect(
                name,
                (env.get("EXTERNAL_ISTIOD").map(String::as_str) == Some("true")) == serves,
                || {
                    format!(
                        "istiod EXTERNAL_ISTIOD is {:?}, serves remotes: {serves}",
                        env.get("EXTERNAL_ISTIOD")
                    )
                },
            );
            e.expect(
                name,
                (env.get("ISTIO_MULTIROOT_MESH").map(String::as_str) == Some("true"))
                    == multi_root,
                || {
                    format!(
                        "istiod ISTIO_MULTIROOT_MESH is {:?}; a peer with its own root: {multi_root}",
                        env.get("ISTIO_MULTIROOT_MESH")
                    )
                },
            );
            mesh_config(e, case, mi, name, istiod, "istio-system", None);
            injector(e, mesh, name, &net, istiod, None);
        }
        Role::Remote { control, config } => {
            let external = mesh.clusters[control].role == Role::External;
            let ns = mesh.istiod_namespace(i);
            e.expect(
                name,
                !all(rels).any(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "istiod"),
                || "a remote renders an istiod Deployment".into(),
            );
            let (addr, ip) = control_address(mesh, control);
            let inject = if net.is_empty() {
                format!("/inject/cluster/{name}")
            } else {
                format!("/inject/cluster/{name}/net/{net}")
            };
            let hooks: Vec<&Value> = all(rels)
                .filter(|o| o["kind"] == "MutatingWebhookConfiguration")
                .flat_map(|o| o["webhooks"].as_array().into_iter().flatten())
                .collect();
            e.expect(name, !hooks.is_empty(), || {
                "a remote renders no injection webhook".into()
            });
            for h in hooks {
                let cc = &h["clientConfig"];
                let ok = if ip {
                    cc["service"]["name"] == "istiod"
                        && cc["service"]["namespace"] == ns
                        && cc["service"]["path"] == inject.as_str()
                } else {
                    cc["url"] == format!("https://{addr}:15017{inject}").as_str()
                };
                e.expect(name, ok, || {
                    format!(
                        "injection webhook {} calls {cc}, expected {addr} {inject}",
                        h["name"]
                    )
                });
            }
            let validation: Vec<&Value> = all(rels)
                .filter(|o| o["kind"] == "ValidatingWebhookConfiguration")
                .flat_map(|o| o["webhooks"].as_array().into_iter().flatten())
                .collect();
            // A cluster that holds configuration validates it (configCluster).
            if !external || config {
                e.expect(name, !validation.is_empty(), || {
                    "a remote holding configuration renders no validation webhook".into()
                });
            }
            for h in validation {
                let cc = &h["clientConfig"];
                let ok = if ip {
                    cc["service"]["name"] == "istiod" && cc["service"]["path"] == "/validate"
                } else {
                    cc["url"] == format!("https://{addr}:15017/validate").as_str()
                };
                e.expect(name, ok, || {
                    format!("validation webhook {} calls {cc}", h["name"])
                });
            }
            let svc = find(istiod, "Service", "istiod");
            if ip {
                let slice = find(istiod, "EndpointSlice", "istiod");
                let addrs: Vec<&Value> = slice
                    .map(|s| {
                        s["endpoints"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(|p| p["addresses"].as_array().into_iter().flatten())
                            .collect()
                    })
                    .unwrap_or_default();
                e.expect(name, svc.is_some() && addrs == [&Value::from(addr.as_str())], || format!("Service istiod {} and EndpointSlice addresses {addrs:?}, expected {addr}", svc.is_some()));
            } else if !external {
                e.expect(
                    name,
                    svc.is_some_and(|s| {
                        s["spec"]["type"] == "ExternalName"
                            && s["spec"]["externalName"] == addr.as_str()
                    }),
                    || format!("Service istiod is not ExternalName {addr}"),
                );
            }
            if !external || config {
                e.expect(
                    name,
                    find(istiod, "ServiceAccount", "istiod").is_some(),
                    || "a config cluster without istiod's ServiceAccount".into(),
                );
            }
            if external && config {
                e.expect(name, find(istiod, "ConfigMap", "istio").is_some(), || {
                    "the config cluster of an external control plane has no ConfigMap istio".into()
                });
            }
        }
        Role::External => {
            let config = mesh.config_cluster_of(i).unwrap_or(i);
            let cfg_name = mesh.clusters[config].name.as_str();
            let (addr, _) = control_address(mesh, i);
            let local = find(
                rels.get("istio-system/istiod").unwrap_or(&empty),
                "Deployment",
                "istiod",
            )
            .map(|d| env(d, "discovery"))
            .unwrap_or_default();
            e.expect(
                name,
                local.get("CLUSTER_ID").map(String::as_str) == Some(name),
                || format!("local istiod CLUSTER_ID is {:?}", local.get("CLUSTER_ID")),
            );
            let ext = rels.get("external-istiod/istiod").unwrap_or(&empty);
            let d = find(ext, "Deployment", "istiod");
            e.expect(
                name,
                d.is_some_and(|d| d["metadata"]["namespace"] == "external-istiod"),
                || "no istiod Deployment in external-istiod".into(),
            );
            let env = d.map(|d| env(d, "discovery")).unwrap_or_default();
            for (k, v) in [
                ("CLUSTER_ID", cfg_name),
                ("EXTERNAL_ISTIOD", "true"),
                ("SHARED_MESH_CONFIG", "istio"),
                ("LOCAL_CLUSTER_SECRET_WATCHER", "true"),
            ] {
                e.expect(name, env.get(k).map(String::as_str) == Some(v), || {
                    format!("external istiod {k} is {:?}, expected {v}", env.get(k))
                });
            }
            mesh_config(e, case, mi, name, ext, "external-istiod", Some(&addr));
            let cfg_net = mesh.clusters[config].network.clone().unwrap_or_default();
            injector(e, mesh, cfg_name, &cfg_net, ext, Some(&addr));
            let gw = rels
                .get("istio-system/istio-ingressgateway")
                .unwrap_or(&empty);
            let p = find(gw, "Service", "istio-ingressgateway")
                .map(ports)
                .unwrap_or_default();
            e.expect(name, p == [15012, 15017, 15021], || {
                format!("ingress gateway exposing the external istiod has ports {p:?}")
            });
        }
    }
    let eastwest = rels.get(&format!(
        "{}/istio-eastwestgateway",
        mesh.istiod_namespace(i)
    ));
    e.expect(
        name,
        eastwest.is_some() == mesh.needs_east_west_gateway(i),
        || {
            format!(
                "east-west gateway rendered: {}, needed: {}",
                eastwest.is_some(),
                mesh.needs_east_west_gateway(i)
            )
        },
    );
    if let Some(gw) = eastwest {
        let svc = find(gw, "Service", "istio-eastwestgateway");
        let p = svc.map(ports).unwrap_or_default();
        if net.is_empty() {
            let mut want = vec![15021];
            if mesh.exports_from(i) {
                want.push(15443);
            }
            if mesh.remotes_of(i).next().is_some() {
                want.extend([15012, 15017]);
            }
            want.sort_unstable();
            e.expect(name, p == want, || {
                format!("east-west gateway ports {p:?}, expected {want:?}")
            });
        } else {
            e.expect(name, p == [15012, 15017, 15021, 15443], || {
                format!("east-west gateway ports {p:?}")
            });
            let label = |o: Option<&Value>, path: &[&str]| {
                let mut v = o.cloned().unwrap_or(Value::Null);
                for k in path {
                    v = v[*k].clone();
                }
                v["topology.istio.io/network"].as_str().map(str::to_string)
            };
            e.expect(
                name,
                label(svc, &["metadata", "labels"]).as_deref() == Some(net.as_str()),
                || "east-west Service without the network label".into(),
            );
            let d = find(gw, "Deployment", "istio-eastwestgateway");
            e.expect(
                name,
                label(d, &["spec", "template", "metadata", "labels"]).as_deref()
                    == Some(net.as_str()),
                || "east-west pods without the network label".into(),
            );
            let env = d.map(|d| env(d, "istio-proxy")).unwrap_or_default();
            e.expect(
                name,
                env.get("ISTIO_META_REQUESTED_NETWORK_VIEW") == Some(&net),
                || {
                    format!(
                        "east-west ISTIO_META_REQUESTED_NETWORK_VIEW is {:?}",
                        env.get("ISTIO_META_REQUESTED_NETWORK_VIEW")
                    )
                },
            );
        }
    }
}

/// ConfigMap `istio` of a control plane: trust domain, mesh ID, root namespace, proxy
/// metadata as strings, DNS capture, federation roots, imported networks.
fn mesh_config(
    e: &mut Errors,
    case: &Case,
    mi: usize,
    name: &str,
    objs: &[Value],
    root_ns: &str,
    discovery: Option<&str>,
) {
    let mesh = &case.model.meshes[mi];
    let Some(cm) = find(objs, "ConfigMap", "istio") else {
        e.expect(name, false, || "no ConfigMap istio".into());
        return;
    };
    let m = config_data(cm, "mesh");
    e.expect(name, m["trustDomain"] == mesh.trust_domain.as_str(), || {
        format!("mesh trustDomain {}", m["trustDomain"])
    });
    e.expect(
        name,
        m["defaultConfig"]["meshId"] == mesh.name.as_str(),
        || format!("mesh defaultConfig.meshId {}", m["defaultConfig"]["meshId"]),
    );
    e.expect(name, m["rootNamespace"] == root_ns, || {
        format!("mesh rootNamespace {}", m["rootNamespace"])
    });
    let meta = m["defaultConfig"]["proxyMetadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in &meta {
        e.expect(name, v.is_string(), || {
            format!("proxyMetadata {k} is {v}, not a string")
        });
    }
    if mesh.dns_proxy {
        e.expect(
            name,
            meta.get("ISTIO_META_DNS_CAPTURE") == Some(&Value::from("true")),
            || "DNS proxying without ISTIO_META_DNS_CAPTURE".into(),
        );
    }
    if let Some(addr) = discovery {
        e.expect(
            name,
            m["defaultConfig"]["discoveryAddress"] == format!("{addr}:15012").as_str(),
            || {
                format!(
                    "discoveryAddress {}",
                    m["defaultConfig"]["discoveryAddress"]
                )
            },
        );
    }
    // Trust between meshes, from the model: a peer with its own root is trusted through its
    // bundle and needs multi-root (and PCDS for the proxies to get it); a peer under the same
    // root needs only its trust domain, and only where this mesh accepts its clients.
    let multi = multi_root(case, mi);
    e.expect(
        name,
        (meta.get("PROXY_CONFIG_XDS_AGENT") == Some(&Value::from("true"))) == multi,
        || {
            format!(
                "PROXY_CONFIG_XDS_AGENT is {:?}; a peer with its own root: {multi}",
                meta.get("PROXY_CONFIG_XDS_AGENT")
            )
        },
    );
    let roots = m["caCertificates"].as_array().cloned().unwrap_or_default();
    let mut expected = 0;
    for j in case.model.federated_with(mi) {
        let other = &case.model.meshes[j];
        let domain = Value::from(vec![other.trust_domain.as_str()]);
        // The peer's bundle URL, or None for a trust-domain-only entry.
        let bundle: Option<String> = if !case.model.share_root(mi, j) {
            Some(other.trust_bundle.clone().unwrap_or_default())
        } else if !case.model.exported_to(mi, j).is_empty() {
            None
        } else {
            continue;
        };
        let what = if bundle.is_some() {
            "bundle"
        } else {
            "trust domain only"
        };
        let want = |r: &Value| {
            r["trustDomains"] == domain
                && match &bundle {
                    Some(url) => r["spiffeBundleUrl"] == url.as_str(),
                    None => r["spiffeBundleUrl"].is_null() && r["pem"].is_null(),
                }
        };
        expected += 1;
        e.expect(name, roots.iter().any(want), || {
            format!("no caCertificates entry ({what}) for mesh {}", other.name)
        });
    }
    e.expect(name, roots.len() == expected, || {
        format!("{} caCertificates, {expected} expected", roots.len())
    });
    // istiod finds a provider's service by its exact registry host name
    // (pilot/pkg/model/telemetry_logging.go, LookupCluster): a Service's full name or a
    // ServiceEntry host of the mesh.
    for p in m["extensionProviders"].as_array().into_iter().flatten() {
        if let Some(svc) = p["opentelemetry"]["service"].as_str() {
            let registry = (svc.ends_with(".svc.cluster.local") && svc.split('.').count() == 5)
                || mesh.externals.iter().any(|x| x.host == svc);
            e.expect(name, registry, || {
                format!("tracing provider service {svc:?} is not a registry host name")
            });
        }
    }
    // Imports whose exporting gateways are all known by IP put the exporter's network on
    // their endpoints, and istiod must know that network's gateway; an import through a
    // host name resolves by DNS and names no network.
    let nets = config_data(cm, "meshNetworks");
    let by_ip = case
        .model
        .imports_of(mi)
        .into_iter()
        .filter(|&(xm, xs)| {
            let x = &case.model.meshes[xm];
            x.services[xs].deploys.iter().all(|d| {
                x.clusters[d.cluster]
                    .east_west_address
                    .as_deref()
                    .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
            })
        })
        .count();
    let got = nets["networks"].as_object().map_or(0, |n| n.len());
    e.expect(name, (got > 0) == (by_ip > 0), || {
        format!("meshNetworks has {got} networks; imports by IP: {by_ip}")
    });
}

/// Whether mesh `mi` federates with a mesh that has its own root (trusted by bundle).
fn multi_root(case: &Case, mi: usize) -> bool {
    case.model
        .federated_with(mi)
        .into_iter()
        .any(|j| !case.model.share_root(mi, j))
}

/// ConfigMap `istio-sidecar-injector`: the identity injected proxies get.
fn injector(
    e: &mut Errors,
    mesh: &Mesh,
    cluster: &str,
    net: &str,
    objs: &[Value],
    ca: Option<&str>,
) {
    let Some(cm) = find(objs, "ConfigMap", "istio-sidecar-injector") else {
        e.expect(cluster, false, || {
            "no ConfigMap istio-sidecar-injector".into()
        });
        return;
    };
    let v = config_data(cm, "values");
    let g = &v["global"];
    e.expect(cluster, g["network"] == net, || {
        format!("injector global.network {}", g["network"])
    });
    e.expect(cluster, g["meshID"] == mesh.name.as_str(), || {
        format!("injector global.meshID {}", g["meshID"])
    });
    e.expect(cluster, g["multiCluster"]["clusterName"] == cluster, || {
        format!("injector clusterName {}", g["multiCluster"]["clusterName"])
    });
    if let Some(addr) = ca {
        e.expect(
            cluster,
            g["caAddress"] == format!("{addr}:15012").as_str(),
            || format!("injector caAddress {}", g["caAddress"]),
        );
    }
}

/// Every image comes from the topology's hub (`istio hub=`, default docker.io/istio, never
/// the chart's own default) with the release's tag (`auto` is filled in by injection).
fn images(e: &mut Errors, case: &Case, cluster: &str, rels: &Releases) {
    let hub = case.model.istio.hub.clone();
    for r in case.releases.iter().filter(|r| r.cluster == cluster) {
        for o in rels
            .get(&format!("{}/{}", r.namespace, r.release))
            .into_iter()
            .flatten()
        {
            let spec = &o["spec"]["template"]["spec"];
            for c in ["containers", "initContainers"]
                .iter()
                .flat_map(|k| spec[*k].as_array().into_iter().flatten())
            {
                let image = c["image"].as_str().unwrap_or("");
                let ok = image == "auto"
                    || (image.starts_with(&format!("{hub}/"))
                        && (image.ends_with(&format!(":{}", r.version))
                            || image.ends_with(&format!(":{}-distroless", r.version))));
                e.expect(cluster, ok, || {
                    format!(
                        "{}: image {image:?} is not {hub}/…:{}",
                        identity(o),
                        r.version
                    )
                });
            }
            if o["kind"] == "ConfigMap" && o["metadata"]["name"] == "istio-sidecar-injector" {
                let g = config_data(o, "values")["global"].clone();
                e.expect(
                    cluster,
                    g["hub"] == hub.as_str() && g["tag"] == r.version.as_str(),
                    || format!("injected proxies from {}:{}", g["hub"], g["tag"]),
                );
            }
        }
    }
}

/// Every workload selector meshc writes selects a workload the charts render: an Istio
/// Gateway's `selector`, in any cluster of the mesh (a configuration cluster's Gateway
/// configures the gateways of the clusters its istiod serves) and any namespace
/// (PILOT_SCOPE_GATEWAY_TO_NAMESPACE is off by default); a DestinationRule's
/// `workloadSelector`, in its own cluster and namespace. One that selects nothing is
/// accepted by istiod and does nothing.
fn selectors(e: &mut Errors, case: &Case, cluster: &str, rels: &Releases, mesh: &[Releases]) {
    let pods = |of: &mut dyn Iterator<Item = &Releases>| -> Vec<(String, Value)> {
        of.flat_map(|r| r.values().flatten())
            .filter(|o| o["kind"] == "Deployment")
            .map(|o| {
                (
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    o["spec"]["template"]["metadata"]["labels"].clone(),
                )
            })
            .collect()
    };
    let here = pods(&mut std::iter::once(rels));
    let anywhere = pods(&mut mesh.iter());
    let matches = |pods: &[(String, Value)], selector: &Value, ns: Option<&str>| {
        let Some(want) = selector.as_object() else {
            return false;
        };
        pods.iter().any(|(pod_ns, labels)| {
            ns.is_none_or(|n| n == pod_ns) && want.iter().all(|(k, v)| labels[k] == *v)
        })
    };
    let prefix = format!("clusters/{cluster}/");
    for (path, docs) in case.files.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        for o in docs {
            let ns = o["metadata"]["namespace"].as_str();
            let (selector, ok) = match o["kind"].as_str() {
                Some("Gateway") if o["apiVersion"] == "networking.istio.io/v1" => {
                    let sel = &o["spec"]["selector"];
                    (sel, matches(&anywhere, sel, None))
                }
                Some("DestinationRule") if !o["spec"]["workloadSelector"].is_null() => {
                    let sel = &o["spec"]["workloadSelector"]["matchLabels"];
                    (sel, matches(&here, sel, ns))
                }
                _ => continue,
            };
            e.expect(cluster, ok, || {
                format!("{path}: selector {selector} matches no workload the charts render")
            });
        }
    }
}

/// No object is rendered twice in one cluster: by two releases, or by a release and meshc.
fn duplicates(e: &mut Errors, case: &Case, cluster: &str, rels: &Releases) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let prefix = format!("clusters/{cluster}/");
    let own = case
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix))
        .flat_map(|(p, docs)| docs.iter().map(move |d| (p.clone(), d)));
    let from_charts = rels
        .iter()
        .flat_map(|(r, objs)| objs.iter().map(move |o| (format!("release {r}"), o)));
    for (by, o) in own.chain(from_charts) {
        if o["kind"] == "Kustomization" && o["apiVersion"] == "kustomize.config.k8s.io/v1beta1" {
            continue;
        }
        if let Some(first) = seen.insert(identity(o), by.clone()) {
            e.expect(cluster, false, || {
                format!("{} is rendered by {first} and by {by}", identity(o))
            });
        }
    }
}
