//! The per-model checklists of the Istio multicluster reference (section 9), as
//! assertions over the parsed output of the example for each model. Each test names the
//! checklist it implements; each assertion one item of it.

use serde_json::Value;

use crate::common::{output_of, root};
use meshc::emit::Output;

pub struct Out {
    out: Output,
}

impl Out {
    /// The output of an example; `<example>-argocd` / `<example>-flux` renders it for that
    /// engine instead of the one it names.
    pub fn of(example: &str) -> Out {
        if let Some((name, engine)) = example.rsplit_once('-')
            && (engine == "argocd" || engine == "flux")
            && root().join(format!("examples/{name}")).is_dir()
        {
            return Out {
                out: crate::common::output_for_engine(name, engine),
            };
        }
        Out {
            out: output_of(&root().join(format!("examples/{example}/topology.kdl"))),
        }
    }

    /// The output of topology `text` (named `name` in diagnostics).
    pub fn of_text(name: &str, text: &str) -> Out {
        Out {
            out: crate::common::output_of_text(name, text),
        }
    }

    pub fn has(&self, path: &str) -> bool {
        self.out.get(path).is_some()
    }

    pub fn doc_text(&self, path: &str) -> String {
        self.out
            .get(path)
            .map(|f| f.contents.clone())
            .unwrap_or_else(|| panic!("no file {path}"))
    }

    pub fn doc(&self, path: &str) -> Value {
        let f = self
            .out
            .get(path)
            .unwrap_or_else(|| panic!("no file {path}; files: {:#?}", self.paths()));
        serde_saphyr::from_str(&f.contents).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub fn paths(&self) -> Vec<&str> {
        self.out.files.iter().map(|f| f.path.as_str()).collect()
    }

    pub fn under(&self, prefix: &str) -> Vec<&str> {
        self.paths()
            .into_iter()
            .filter(|p| p.starts_with(prefix))
            .collect()
    }

    /// Helm values of a release of `cluster`, from its Argo CD Application or Flux HelmRelease.
    pub fn values(&self, cluster: &str, release: &str) -> Value {
        let argo = format!("argocd/{cluster}/application-{cluster}-{release}.argocd.yaml");
        if self.has(&argo) {
            return self.doc(&argo)["spec"]["source"]["helm"]["valuesObject"].clone();
        }
        let ns = self
            .under(&format!(
                "clusters/{cluster}/{release}/helmrelease-{release}."
            ))
            .first()
            .map(|p| p.to_string())
            .unwrap_or_else(|| panic!("{cluster}: no release {release}"));
        self.doc(&ns)["spec"]["values"].clone()
    }

    pub fn has_release(&self, cluster: &str, release: &str) -> bool {
        self.has(&format!(
            "argocd/{cluster}/application-{cluster}-{release}.argocd.yaml"
        )) || !self
            .under(&format!(
                "clusters/{cluster}/{release}/helmrelease-{release}."
            ))
            .is_empty()
    }

    /// The file `name` of `cluster`, in whichever unit holds it (the unit is the rollout's
    /// choice; the checklists are about content).
    fn mesh_file(&self, cluster: &str, name: &str) -> String {
        let prefix = format!("clusters/{cluster}/");
        self.paths()
            .into_iter()
            .find(|p| {
                p.strip_prefix(&prefix)
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(_, file)| file == name)
            })
            .map_or_else(|| format!("{prefix}?/{name}"), str::to_string)
    }
}

/// 9.1, common to every primary `c` of mesh `mesh` on network `net`.
fn common_primary(o: &Out, mesh: &str, c: &str, net: Option<&str>, trust_domain: &str) {
    let v = o.values(c, "istiod");
    assert_eq!(v["global"]["meshID"], mesh, "{c}: meshID");
    assert_eq!(
        v["global"]["multiCluster"]["clusterName"], c,
        "{c}: clusterName"
    );
    match net {
        Some(n) => assert_eq!(v["global"]["network"], n, "{c}: network"),
        None => assert!(v["global"]["network"].is_null(), "{c}: network"),
    }
    assert_eq!(
        v["meshConfig"]["trustDomain"], trust_domain,
        "{c}: trustDomain identical across the mesh"
    );
    assert!(
        o.has_release(c, "istio-base"),
        "{c}: base chart (CRDs, reader service account)"
    );
    let cacerts: Vec<&str> = o
        .under(&format!("clusters/{c}/prereqs/"))
        .into_iter()
        .filter(|p| p.contains("-cacerts."))
        .collect();
    assert_eq!(cacerts.len(), 1, "{c}: one trust source producing cacerts");
    let doc = o.doc(cacerts[0]);
    let target = doc["spec"]["secretName"]
        .as_str()
        .or(doc["spec"]["target"]["name"].as_str());
    assert_eq!(
        target,
        Some("cacerts"),
        "{c}: the trust source produces the cacerts secret"
    );
    for p in o.under(&format!("clusters/{c}/")) {
        let d = o.doc(p);
        let api = d["apiVersion"].as_str().unwrap_or("");
        if api.contains("istio.io") {
            assert!(
                api == "networking.istio.io/v1" || api == "security.istio.io/v1",
                "{p}: {api} is not a v1 API"
            );
        }
    }
}

/// A remote secret in `c` for `peer`: name, namespace, label, annotation, data key, server.
fn remote_secret(o: &Out, c: &str, ns: &str, peer: &str, server: &str) {
    let d = o.doc(&o.mesh_file(
        c,
        &format!("externalsecret-istio-remote-secret-{peer}.{ns}.yaml"),
    ));
    assert_eq!(d["metadata"]["namespace"], ns);
    let t = &d["spec"]["target"];
    assert_eq!(t["name"], format!("istio-remote-secret-{peer}"));
    assert_eq!(
        t["template"]["engineVersion"], "v2",
        "templating metadata and data keys needs engine v2"
    );
    assert_eq!(
        t["template"]["metadata"]["labels"]["istio/multiCluster"],
        "true"
    );
    assert_eq!(
        t["template"]["metadata"]["annotations"]["networking.istio.io/cluster"],
        peer
    );
    let data = t["template"]["data"].as_object().expect("template data");
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [peer],
        "{c}: the data key is the peer's cluster name"
    );
    let kubeconfig = data[peer].as_str().unwrap_or("");
    assert!(
        kubeconfig.contains(&format!("server: {server}")),
        "{kubeconfig}"
    );
    assert!(
        kubeconfig.contains(&format!("current-context: {peer}")),
        "{kubeconfig}"
    );
    assert!(!kubeconfig.contains("token: ey"), "no literal token");
}

fn no_remote_secrets(o: &Out, c: &str) {
    let found: Vec<&str> = o
        .under(&format!("clusters/{c}/"))
        .into_iter()
        .filter(|p| p.contains("istio-remote-secret-") && p.contains("externalsecret"))
        .collect();
    assert!(
        found.is_empty(),
        "{c} must hold no remote secrets: {found:?}"
    );
}

fn eastwest(o: &Out, c: &str, net: &str) {
    let v = o.values(c, "istio-eastwestgateway");
    assert_eq!(v["name"], "istio-eastwestgateway");
    assert_eq!(
        v["networkGateway"], net,
        "{c}: networkGateway (chart then exposes 15021/15443/15012/15017 and labels the network)"
    );
}

fn cross_network_gateway(o: &Out, c: &str, ns: &str) {
    let d = o.doc(&o.mesh_file(c, &format!("gateway-cross-network-gateway.{ns}.yaml")));
    assert_eq!(d["apiVersion"], "networking.istio.io/v1");
    assert_eq!(d["spec"]["selector"]["istio"], "eastwestgateway");
    let servers = d["spec"]["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "exactly one 15443 server");
    assert_eq!(servers[0]["port"]["number"], 15443);
    assert_eq!(servers[0]["port"]["protocol"], "TLS");
    assert_eq!(servers[0]["tls"]["mode"], "AUTO_PASSTHROUGH");
    assert_eq!(servers[0]["hosts"][0], "*.local");
}

/// The ports of a Gateway's servers, in order.
fn server_ports(gw: &Value) -> Vec<i64> {
    gw["spec"]["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["port"]["number"].as_i64().unwrap_or(0))
        .collect()
}

fn expose_istiod(o: &Out, c: &str) {
    let gw = o.doc(&o.mesh_file(c, "gateway-istiod-gateway.istio-system.yaml"));
    assert_eq!(gw["spec"]["selector"]["istio"], "eastwestgateway");
    assert_eq!(server_ports(&gw), [15012, 15017]);
    assert!(
        gw["spec"]["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .all(|s| s["tls"]["mode"] == "PASSTHROUGH" && s["hosts"][0] == "*")
    );
    let vs = o.doc(&o.mesh_file(c, "virtualservice-istiod-vs.istio-system.yaml"));
    assert_eq!(vs["spec"]["gateways"][0], "istiod-gateway");
    let routes: Vec<(i64, i64)> = vs["spec"]["tls"]
        .as_array()
        .expect("tls routes")
        .iter()
        .map(|r| {
            (
                r["match"][0]["port"].as_i64().unwrap_or(0),
                r["route"][0]["destination"]["port"]["number"]
                    .as_i64()
                    .unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [(15012, 15012), (15017, 443)],
        "15012→istiod:15012, 15017→istiod:443"
    );
}

fn peer_authentication_strict(o: &Out, c: &str, ns: &str) {
    let pa = o.doc(&o.mesh_file(c, &format!("peerauthentication-default.{ns}.yaml")));
    assert_eq!(pa["apiVersion"], "security.istio.io/v1");
    assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");
}

fn system_namespace(o: &Out, c: &str, ns: &str) -> Value {
    o.doc(&format!("clusters/{c}/prereqs/namespace-{ns}.yaml"))["metadata"].clone()
}

fn remote_values(o: &Out, c: &str, net: &str, pilot: &str) {
    let base = o.values(c, "istio-base");
    assert_eq!(base["profile"], "remote", "{c}: base with profile remote");
    let v = o.values(c, "istiod");
    assert_eq!(v["profile"], "remote");
    assert_eq!(v["global"]["multiCluster"]["clusterName"], c);
    assert_eq!(v["global"]["network"], net);
    assert_eq!(
        v["istiodRemote"]["injectionPath"],
        format!("/inject/cluster/{c}/net/{net}")
    );
    assert_eq!(
        v["global"]["remotePilotAddress"], pilot,
        "an IP, since injectionPath is used"
    );
    assert!(pilot.parse::<std::net::IpAddr>().is_ok());
    assert!(
        !o.has(&o.mesh_file(c, "gateway-cross-network-gateway.istio-system.yaml")),
        "{c}: no cross-network-gateway"
    );
    // The reader token the primary's remote secret uses.
    let token = o.doc(&o.mesh_file(
        c,
        "secret-istio-reader-service-account-istio-remote-secret-token.istio-system.yaml",
    ));
    assert_eq!(token["type"], "kubernetes.io/service-account-token");
    assert_eq!(
        token["metadata"]["annotations"]["kubernetes.io/service-account.name"],
        "istio-reader-service-account"
    );
}

#[test]
fn checklist_9_2_multi_primary_same_network() {
    let o = Out::of("multi-primary");
    for (c, peer, server) in [
        ("east-1", "east-2", "https://east-2.k8s.acme.io:6443"),
        ("east-2", "east-1", "https://east-1.k8s.acme.io:6443"),
    ] {
        common_primary(&o, "prod", c, Some("flat"), "prod.acme.io");
        assert!(
            !o.has_release(c, "istio-eastwestgateway"),
            "{c}: no east-west gateway"
        );
        assert!(
            !o.has(&o.mesh_file(c, "gateway-cross-network-gateway.istio-system.yaml")),
            "{c}: no cross-network-gateway"
        );
        assert!(
            system_namespace(&o, c, "istio-system")["labels"]["topology.istio.io/network"]
                .is_null()
        );
        remote_secret(&o, c, "istio-system", peer, server);
        assert!(
            !o.has(&o.mesh_file(
                c,
                &format!("externalsecret-istio-remote-secret-{c}.istio-system.yaml")
            )),
            "no secret for itself"
        );
        peer_authentication_strict(&o, c, "istio-system");
    }
}

#[test]
fn checklist_9_3_primary_remote_same_network() {
    let o = Out::of("primary-remote");
    common_primary(&o, "prod", "main-1", Some("net1"), "prod.acme.io");
    assert_eq!(
        o.values("main-1", "istiod")["global"]["externalIstiod"],
        true
    );
    eastwest(&o, "main-1", "net1");
    expose_istiod(&o, "main-1");
    remote_secret(
        &o,
        "main-1",
        "istio-system",
        "edge-1",
        "https://edge-1.k8s.acme.io:6443",
    );
    peer_authentication_strict(&o, "main-1", "istio-system");

    let ns = system_namespace(&o, "edge-1", "istio-system");
    assert_eq!(
        ns["annotations"]["topology.istio.io/controlPlaneClusters"],
        "main-1"
    );
    remote_values(&o, "edge-1", "net1", "34.1.2.3");
    assert_eq!(
        o.values("edge-1", "istiod")["global"]["configCluster"],
        true,
        "the Helm guide's variant"
    );
    no_remote_secrets(&o, "edge-1");
    assert!(
        !o.has_release("edge-1", "istio-eastwestgateway"),
        "one network: no east-west gateway on the remote"
    );
    assert!(
        o.under("clusters/edge-1/mesh/")
            .iter()
            .all(|p| !p.contains("peerauthentication")),
        "mesh config lives on the primary"
    );
}

#[test]
fn checklist_9_4_multi_primary_multi_network() {
    let o = Out::of("multi-primary-multi-network");
    for (c, net, peer) in [("c1", "east", "c2"), ("c2", "west", "c1")] {
        assert_eq!(
            system_namespace(&o, c, "istio-system")["labels"]["topology.istio.io/network"],
            net
        );
        common_primary(&o, "prod", c, Some(net), "prod.acme.io");
        eastwest(&o, c, net);
        cross_network_gateway(&o, c, "istio-system");
        remote_secret(
            &o,
            c,
            "istio-system",
            peer,
            &format!("https://{peer}.k8s.acme.io:6443"),
        );
    }
}

#[test]
fn checklist_9_5_primary_remote_multi_network() {
    let o = Out::of("primary-remote-multi-network");
    assert_eq!(
        system_namespace(&o, "c1", "istio-system")["labels"]["topology.istio.io/network"],
        "net1"
    );
    common_primary(&o, "prod", "c1", Some("net1"), "prod.acme.io");
    assert_eq!(o.values("c1", "istiod")["global"]["externalIstiod"], true);
    assert_eq!(
        o.values("c1", "istiod")["meshConfig"]["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"],
        "true",
        "a string"
    );
    assert!(o.values("c1", "istiod")["meshConfig"]["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_AUTO_ALLOCATE"].is_null(), "not on >= 1.25");
    eastwest(&o, "c1", "net1");
    expose_istiod(&o, "c1");
    cross_network_gateway(&o, "c1", "istio-system");
    remote_secret(
        &o,
        "c1",
        "istio-system",
        "c2",
        "https://c2.k8s.acme.io:6443",
    );

    let ns = system_namespace(&o, "c2", "istio-system");
    assert_eq!(ns["labels"]["topology.istio.io/network"], "net2");
    assert_eq!(
        ns["annotations"]["topology.istio.io/controlPlaneClusters"],
        "c1"
    );
    remote_values(&o, "c2", "net2", "34.1.2.3");
    eastwest(&o, "c2", "net2");
    no_remote_secrets(&o, "c2");
}

#[test]
fn checklist_9_6_external_control_plane() {
    let o = Out::of("external-control-plane");
    // The external cluster: istiod for the mesh in external-istiod.
    let v = o.values("cp", "istiod-external");
    assert_eq!(v["global"]["istioNamespace"], "external-istiod");
    assert_eq!(
        v["global"]["multiCluster"]["clusterName"], "config-1",
        "CLUSTER_ID is the config cluster"
    );
    assert_eq!(v["global"]["externalIstiod"], true, "EXTERNAL_ISTIOD=true");
    assert_eq!(v["global"]["caAddress"], "35.10.0.1:15012");
    assert_eq!(v["global"]["operatorManageWebhooks"], true);
    assert_eq!(
        v["meshConfig"]["defaultConfig"]["discoveryAddress"],
        "35.10.0.1:15012"
    );
    assert_eq!(v["meshConfig"]["rootNamespace"], "external-istiod");
    assert_eq!(v["env"]["SHARED_MESH_CONFIG"], "istio");
    assert_eq!(v["env"]["LOCAL_CLUSTER_SECRET_WATCHER"], "true");
    assert!(
        v["env"]["CLUSTER_ID"].is_null(),
        "the chart sets CLUSTER_ID from clusterName; a second entry would duplicate it"
    );
    let app = o.doc("argocd/cp/application-cp-istiod-external.argocd.yaml");
    assert_eq!(app["spec"]["destination"]["namespace"], "external-istiod");
    assert_eq!(app["spec"]["source"]["helm"]["releaseName"], "istiod");
    let kubeconfig =
        o.doc(&o.mesh_file("cp", "externalsecret-istio-kubeconfig.external-istiod.yaml"));
    assert_eq!(kubeconfig["spec"]["target"]["name"], "istio-kubeconfig");
    assert!(
        kubeconfig["spec"]["target"]["template"]["data"]["config"].is_string(),
        "key `config`"
    );
    remote_secret(
        &o,
        "cp",
        "external-istiod",
        "edge-1",
        "https://edge-1.k8s.acme.io:6443",
    );
    let gw = o.doc(&o.mesh_file("cp", "gateway-external-istiod-gw.external-istiod.yaml"));
    assert_eq!(server_ports(&gw), [15012, 15017]);
    assert!(o.has(&o.mesh_file(
        "cp",
        "virtualservice-external-istiod-vs.external-istiod.yaml"
    )));
    assert!(
        o.under("clusters/cp/")
            .iter()
            .any(|p| p.ends_with("certificate-cacerts.external-istiod.yaml")),
        "istiod's CA in external-istiod"
    );

    // The config cluster.
    let v = o.values("config-1", "istiod");
    assert_eq!(v["profile"], "remote");
    assert_eq!(v["global"]["configCluster"], true);
    assert_eq!(v["pilot"]["configMap"], true);
    assert_eq!(v["global"]["istioNamespace"], "external-istiod");
    assert_eq!(
        v["istiodRemote"]["injectionPath"], "/inject/cluster/config-1/net/net1",
        "the guide's IP-address variant"
    );
    assert_eq!(
        o.doc("argocd/config-1/application-config-1-istiod.argocd.yaml")["spec"]["destination"]["namespace"],
        "external-istiod"
    );
    cross_network_gateway(&o, "config-1", "external-istiod");

    // A further remote on another network.
    let ns = system_namespace(&o, "edge-1", "external-istiod");
    assert_eq!(
        ns["annotations"]["topology.istio.io/controlPlaneClusters"],
        "config-1"
    );
    assert_eq!(ns["labels"]["topology.istio.io/network"], "net2");
    let v = o.values("edge-1", "istiod");
    assert_eq!(
        v["istiodRemote"]["injectionPath"],
        "/inject/cluster/edge-1/net/net2"
    );
    assert!(v["global"]["configCluster"].is_null());
    eastwest(&o, "edge-1", "net2");
    no_remote_secrets(&o, "edge-1");
}

#[test]
fn an_external_control_plane_reached_by_host_name_verifies_istiod_with_the_mesh_root() {
    let text = std::fs::read_to_string(root().join("examples/external-control-plane/topology.kdl"))
        .expect("example");
    let host = "istiod.prod.acme.io";
    for (ca, kind) in [
        ("ca cert-manager issuer=prod-mesh-root", "Certificate"),
        (
            "ca external-secret key=\"pki/prod/{cluster}\"",
            "ExternalSecret",
        ),
    ] {
        let text = text
            .replace(
                "east-west-address \"35.10.0.1\"",
                &format!("east-west-address \"{host}\""),
            )
            .replace("ca cert-manager issuer=prod-mesh-root", ca);
        let o = Out::of_text("external-hostname.kdl", &text);
        // The gateway terminates the remote's TLS with the public certificate for `host`
        // and re-encrypts to istiod. A SIMPLE DestinationRule without CA verifies against
        // the OS roots (cluster_traffic_policy.go in 1.24 and 1.25, cluster_tls.go
        // NonEmptyOrDefault(caCertificates, "system") from 1.26), which do not sign
        // istiod's mesh-CA certificate.
        let dr = o.doc(&o.mesh_file("cp", "destinationrule-external-istiod-dr.istio-system.yaml"));
        // Only the selected gateway reads the credential, in the rule's own namespace.
        assert_eq!(
            dr["spec"]["workloadSelector"]["matchLabels"]["istio"], "ingressgateway",
            "{dr}"
        );
        let ports = dr["spec"]["trafficPolicy"]["portLevelSettings"]
            .as_array()
            .expect("ports")
            .clone();
        assert_eq!(ports.len(), 2);
        for p in &ports {
            assert_eq!(p["tls"]["mode"], "SIMPLE");
            assert_eq!(p["tls"]["credentialName"], "external-istiod-ca", "{p}");
        }
        // That secret holds the mesh's root, in the gateway's namespace.
        let secret = o
            .under("clusters/cp/")
            .into_iter()
            .find(|p| p.ends_with("-external-istiod-ca.istio-system.yaml"))
            .map(|p| o.doc(p))
            .unwrap_or_else(|| panic!("{ca}: no external-istiod-ca in istio-system"));
        assert_eq!(secret["kind"], kind);
        match kind {
            "Certificate" => {
                assert_eq!(secret["spec"]["secretName"], "external-istiod-ca");
                assert_eq!(secret["spec"]["issuerRef"]["name"], "prod-mesh-root");
            }
            _ => {
                assert_eq!(secret["spec"]["data"][0]["secretKey"], "ca.crt");
                assert_eq!(secret["spec"]["data"][0]["remoteRef"]["key"], "pki/prod/cp");
                assert_eq!(
                    secret["spec"]["data"][0]["remoteRef"]["property"],
                    "root-cert.pem"
                );
            }
        }
        // The gateway checks istiod's certificate against the remote's host name.
        assert_eq!(
            o.values("cp", "istiod-external")["env"]["ISTIOD_CUSTOM_HOST"],
            host
        );
    }
    // By IP, TLS passes through to istiod: none of this.
    let o = Out::of("external-control-plane");
    assert!(o.values("cp", "istiod-external")["env"]["ISTIOD_CUSTOM_HOST"].is_null());
    assert!(!o.paths().iter().any(|p| p.contains("external-istiod-ca")));
}

#[test]
fn a_primary_reached_by_host_name_signs_istiods_certificate_for_it() {
    // TLS passes through the primary's east-west gateway, so a remote's API server calling
    // `injectionURL` at the host name checks istiod's own certificate against that name.
    let text = std::fs::read_to_string(root().join("examples/primary-remote/topology.kdl"))
        .expect("example");
    let addr = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("east-west-address "))
        .expect("the example has an east-west address")
        .to_string();
    let host = "istiod.main-1.acme.io";
    let o = Out::of_text(
        "primary-hostname.kdl",
        &text.replace(
            &format!("east-west-address {addr}"),
            &format!("east-west-address \"{host}\""),
        ),
    );
    assert_eq!(
        o.values("main-1", "istiod")["env"]["ISTIOD_CUSTOM_HOST"],
        host
    );
    // The URL whose certificate that is (the remote's API server calls it).
    assert_eq!(
        o.values("edge-1", "istiod")["istiodRemote"]["injectionURL"],
        format!("https://{host}:15017/inject/cluster/edge-1/net/net1")
    );
    // By IP, istiod's certificate needs no extra name.
    assert!(
        Out::of("primary-remote").values("main-1", "istiod")["env"]["ISTIOD_CUSTOM_HOST"].is_null()
    );
}

#[test]
fn every_istiod_names_its_image_hub_and_a_mirror_replaces_it() {
    // The 1.30 charts default to a registry Istio has retired; meshc always sets the hub.
    for path in crate::common::examples() {
        let text = std::fs::read_to_string(&path).expect("example");
        let name = path.display().to_string();
        for (topology, hub) in [
            (text.clone(), "docker.io/istio"),
            (
                text.replacen(
                    "istio version=\"",
                    "istio hub=\"registry.acme.io:5000/mirror/istio\" version=\"",
                    1,
                ),
                "registry.acme.io:5000/mirror/istio",
            ),
        ] {
            let out = crate::common::output_of_text(&name, &topology);
            let mut istiods = 0;
            for f in &out.files {
                let Ok(doc) = serde_saphyr::from_str::<Value>(&f.contents) else {
                    continue;
                };
                let (chart, values) = if doc["kind"] == "Application" {
                    (
                        doc["spec"]["source"]["chart"].clone(),
                        doc["spec"]["source"]["helm"]["valuesObject"].clone(),
                    )
                } else if doc["kind"] == "HelmRelease" {
                    (
                        doc["spec"]["chart"]["spec"]["chart"].clone(),
                        doc["spec"]["values"].clone(),
                    )
                } else {
                    continue;
                };
                if chart == "istiod" && values["profile"] == "remote" {
                    // No image is rendered from a remote's istiod release.
                    assert!(values["global"]["hub"].is_null(), "{name}: {}", f.path);
                } else if chart == "istiod" {
                    istiods += 1;
                    assert_eq!(values["global"]["hub"], hub, "{name}: {}", f.path);
                }
            }
            assert!(istiods > 0, "{name}: no istiod release found");
        }
    }
    for (hub, why) in [
        ("https://registry.acme.io/istio", "no scheme"),
        ("registry.acme.io/istio:1.30.3", "no tag"),
        ("registry.acme.io/Istio", "lower-case"),
        ("registry.acme.io:http/istio", "host name"),
        ("-registry.acme.io/istio", "host name"),
        ("registry.acme.io/mirror..istio", "lower-case letters"),
        ("", "host name"),
    ] {
        let (sources, c) = crate::common::compile_text(
            "hub.kdl",
            &format!(
                "istio version=\"1.30.4\" hub=\"{hub}\"\ngitops flux\nmesh m {{\n    cluster c {{\n        control-plane primary\n    }}\n}}\n"
            ),
        );
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code.as_str() == "E0007")
            .unwrap_or_else(|| panic!("{hub:?}: {:?}", c.diagnostics));
        let text = crate::common::rendered_diagnostics(&sources, &c);
        assert!(text.contains(why), "{hub:?}: {text}");
        assert!(d.message.contains("image registry path"), "{}", d.message);
    }
}

#[test]
fn checklist_9_8_gitops_packaging() {
    // Argo CD: hub-wide waves in the order namespace and cacerts → base → istiod →
    // gateway; Istio resources after the CRDs; a primary's remote secret after the remote
    // published its token; the remote's gateway after the primary reads it.
    let o = Out::of("primary-remote-multi-network-argocd");
    let wave = |cluster: &str, app: &str| -> i64 {
        o.doc(&format!(
            "argocd/{cluster}/application-{cluster}-{app}.argocd.yaml"
        ))["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(i64::MIN)
    };
    let chain = ["prereqs", "istio-base", "istiod", "istio-eastwestgateway"];
    let waves: Vec<i64> = chain.iter().map(|a| wave("c1", a)).collect();
    assert!(waves.windows(2).all(|w| w[0] < w[1]), "c1 waves {waves:?}");
    assert!(wave("c1", "istio-base") < wave("c1", "mesh"));
    assert!(wave("c2", "credentials") < wave("c1", "remote-secrets"));
    assert!(wave("c1", "remote-secrets") < wave("c2", "istio-eastwestgateway"));
    assert!(wave("c1", "istio-eastwestgateway") < wave("c2", "istio-eastwestgateway"));
    assert!(wave("c1", "mesh") < wave("c2", "istio-eastwestgateway"));
    assert!(
        o.doc("clusters/c1/prereqs/certificate-cacerts.istio-system.yaml")["kind"] == "Certificate"
    );
    let istiod = o.doc("argocd/c1/application-c1-istiod.argocd.yaml");
    assert_eq!(
        istiod["spec"]["source"]["repoURL"], "https://blob.istio.io/istio-release/charts",
        "post-1.31 chart hosting"
    );
    assert_eq!(istiod["spec"]["source"]["targetRevision"], "1.30.4");
    assert_eq!(
        istiod["spec"]["syncPolicy"]["retry"]["limit"], -1,
        "a converging rollout is never abandoned"
    );
    let ignored = serde_json::to_string(&istiod["spec"]["ignoreDifferences"]).unwrap_or_default();
    assert!(
        ignored.contains("MutatingWebhookConfiguration")
            && ignored.contains(".webhooks[]?.clientConfig.caBundle")
    );
    assert!(
        ignored.contains("ValidatingWebhookConfiguration")
            && ignored.contains(".webhooks[]?.failurePolicy")
    );
    // The waves wait only with Application health assessed: the hub's bootstrap has it.
    let cm = o.doc("bootstrap/configmap-argocd-cm.argocd.yaml");
    assert_eq!(cm["metadata"]["namespace"], "argocd");
    assert!(
        cm["data"]["resource.customizations.health.argoproj.io_Application"]
            .as_str()
            .is_some_and(|l| l.contains("obj.status.health.status"))
    );
    assert!(
        !o.doc_text("argocd/kustomization.yaml")
            .contains("bootstrap"),
        "the bootstrap is applied by hand, before the root Application"
    );

    // Flux: per cluster, each unit depends on the units of its cluster it needs.
    let o = Out::of("primary-remote-multi-network");
    let depends = |p: &str| -> Vec<String> {
        o.doc(p)["spec"]["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        depends("flux/c1/kustomization-istio-base.flux-system.yaml"),
        ["istio-prereqs"]
    );
    assert_eq!(
        depends("flux/c1/kustomization-istiod.flux-system.yaml"),
        ["istio-base"],
        "istiod after base, and (through it) after the prereqs holding cacerts"
    );
    assert_eq!(
        depends("flux/c1/kustomization-istio-eastwestgateway.flux-system.yaml"),
        ["istiod"]
    );
    assert_eq!(
        depends("flux/c1/kustomization-istio-mesh.flux-system.yaml"),
        ["istio-base"]
    );
    // The remote publishes its token as soon as the base chart made the service account,
    // before (and independently of) its gateway, which waits for injection.
    assert_eq!(
        depends("flux/c2/kustomization-istio-credentials.flux-system.yaml"),
        ["istio-base"]
    );
    let hr = o.doc("clusters/c1/istiod/helmrelease-istiod.istio-system.yaml");
    assert_eq!(
        hr["spec"]["install"]["remediation"]["retries"], -1,
        "helm-controller stalls a release for good once its retries are exhausted"
    );
    assert!(hr["spec"]["dependsOn"].is_null(), "ordering is the units'");
    let repo = o.doc("clusters/c1/prereqs/helmrepository-istio.istio-system.yaml");
    assert_eq!(
        repo["spec"]["url"],
        "https://blob.istio.io/istio-release/charts"
    );
    assert_eq!(
        o.doc("flux/c1/kustomization-istio-mesh.flux-system.yaml")["spec"]["path"],
        "./rendered/clusters/c1/mesh"
    );
}
