//! The Istio control plane of one cluster, per multicluster model: the system namespace
//! with its network label and control-plane annotation, the Helm releases of `base`,
//! `istiod` and the gateway chart with their values, and the mesh-wide Istio resources
//! (PeerAuthentication, cross-network and istiod gateways) in clusters that hold mesh
//! configuration. Values follow Istio's install guides; see
//! docs/models.md for the mapping, model by model.

use serde_json::{Value, json};

use super::{Cx, HelmRelease, Layer, Place, metadata, set};
use crate::ast::Mtls;
use crate::model::{EXTERNAL_ISTIOD_NS, INGRESS_NS, ISTIO_SYSTEM, Role, Version};

pub const EASTWEST_GATEWAY: &str = "istio-eastwestgateway";
pub const EASTWEST_SELECTOR: &str = "eastwestgateway";
pub const INGRESS_GATEWAY: &str = "istio-ingressgateway";
/// The Istio Gateway through which remotes reach a primary's istiod (15012, 15017).
pub const ISTIOD_GATEWAY: &str = "istiod-gateway";
/// The Istio Gateway through which remotes reach an external istiod.
pub const EXTERNAL_ISTIOD_GATEWAY: &str = "external-istiod-gw";

pub fn render(cx: &mut Cx) {
    namespaces(cx);
    match cx.cluster().role {
        Role::Primary => primary(cx),
        Role::Remote { control, config } => remote(cx, control, config),
        Role::External => external(cx),
    }
    if cx.mesh.holds_config(cx.i) {
        mesh_config(cx);
    }
}

/// The address remotes use to reach cluster `j`'s control plane, and whether it is an IP.
fn control_address(cx: &Cx, j: usize) -> (String, bool) {
    let addr = cx.mesh.clusters[j]
        .east_west_address
        .clone()
        .unwrap_or_default();
    (addr, cx.mesh.clusters[j].gateway_is_ip())
}

fn namespaces(cx: &mut Cx) {
    let c = cx.cluster();
    let mut system = vec![cx.mesh.istiod_namespace(cx.i)];
    if c.role == Role::External {
        // The external cluster also runs a local control plane and the ingress gateway
        // that exposes the external istiod, in istio-system.
        system = vec![ISTIO_SYSTEM, EXTERNAL_ISTIOD_NS];
    }
    let control_plane_clusters = match c.role {
        Role::Remote {
            control,
            config: false,
        } => match cx.mesh.clusters[control].role {
            Role::External => cx
                .mesh
                .config_cluster_of(control)
                .map(|k| cx.mesh.clusters[k].name.clone()),
            _ => Some(cx.mesh.clusters[control].name.clone()),
        },
        _ => None,
    };
    for ns in system {
        let mut v =
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": metadata(ns, None) });
        if c.role != Role::External
            && cx.mesh.multi_network()
            && let Some(net) = &c.network
        {
            set(
                &mut v,
                &["metadata", "labels", "topology.istio.io/network"],
                json!(net),
            );
        }
        if let Some(cp) = &control_plane_clusters {
            set(
                &mut v,
                &[
                    "metadata",
                    "annotations",
                    "topology.istio.io/controlPlaneClusters",
                ],
                json!(cp),
            );
        }
        let origin = cx.cluster_origin("control-plane");
        cx.push(Place::Layer(Layer::Prereqs), v, origin);
    }
    if c.role == Role::External {
        return;
    }
    let ingress = cx
        .mesh
        .ingresses
        .iter()
        .find(|g| g.cluster == cx.i || cx.mesh.config_cluster_for(g.cluster) == cx.i);
    if let Some(g) = ingress {
        let v = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": metadata(INGRESS_NS, None) });
        let origin = super::Origin {
            span: g.span,
            path: format!("mesh {} > ingress {}", cx.mesh.name, g.name),
        };
        cx.push(Place::Layer(Layer::Prereqs), v, origin);
    }
    for ns in &cx.mesh.namespaces {
        let injection = if ns.injection { "enabled" } else { "disabled" };
        let mut v = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": metadata(&ns.name, None) });
        set(
            &mut v,
            &["metadata", "labels", "istio-injection"],
            json!(injection),
        );
        let origin = super::Origin {
            span: ns.span,
            path: format!("mesh {} > namespace {}", cx.mesh.name, ns.name),
        };
        cx.push(Place::Layer(Layer::Prereqs), v, origin);
    }
}

/// `global` values every cluster of the mesh shares: mesh ID, cluster name, network.
fn global_identity(cx: &Cx, cluster: usize) -> Value {
    let c = &cx.mesh.clusters[cluster];
    let mut g = json!({ "meshID": cx.mesh.name, "multiCluster": { "clusterName": c.name } });
    if let Some(net) = &c.network {
        g["network"] = json!(net);
    }
    g
}

/// `host:port`, with an IPv6 address in brackets (`[2001:db8::a]:15012`), as Envoy and Go
/// parse an address with a port.
fn host_port(host: &str, port: u16) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `meshConfig` of a control plane: trust domain, DNS proxying.
fn mesh_config_values(cx: &Cx) -> Value {
    let mut m = json!({ "trustDomain": cx.mesh.trust_domain });
    if cx.mesh.dns_proxy {
        // A string: proxy metadata values are strings.
        set(
            &mut m,
            &["defaultConfig", "proxyMetadata", "ISTIO_META_DNS_CAPTURE"],
            json!("true"),
        );
        // The DNS proxy answers only for hosts with an address. From 1.25 istiod gives
        // every ServiceEntry one (PILOT_ENABLE_IP_AUTOALLOCATE, default true); in 1.24 it
        // is off (pilot/pkg/features/pilot.go), so an imported ServiceEntry, which has
        // none, would not resolve unless the proxies allocate addresses themselves.
        if cx.model.istio.version
            < (Version {
                major: 1,
                minor: 25,
                patch: 0,
            })
        {
            set(
                &mut m,
                &[
                    "defaultConfig",
                    "proxyMetadata",
                    "ISTIO_META_DNS_AUTO_ALLOCATE",
                ],
                json!("true"),
            );
        }
    }
    let local: Vec<String> = cx
        .mesh
        .services
        .iter()
        .filter(|s| s.cluster_local)
        .map(|s| s.fqdn())
        .collect();
    if !local.is_empty() {
        // Calls to these hosts stay in the caller's cluster.
        m["serviceSettings"] = json!([{ "settings": { "clusterLocal": true }, "hosts": local }]);
    }
    if let Some(t) = &cx.mesh.telemetry
        && let Some(tr) = &t.tracing
    {
        // Declaring providers replaces the defaults, so the access-log provider is listed too.
        // The service is the registry host name the checker resolved (istiod matches it exactly).
        m["extensionProviders"] = json!([
            { "name": "envoy", "envoyFileAccessLog": { "path": "/dev/stdout" } },
            { "name": super::services::TRACING_PROVIDER, "opentelemetry": { "service": tr.host, "port": tr.port } }
        ]);
    }
    let Some(me) = cx.model.mesh_index(&cx.mesh.name) else {
        return m;
    };
    let trusted = trusted_peers(cx.model, me);
    if !trusted.is_empty() {
        // The trust domains (and, for peers with their own root, the roots) of the meshes
        // this one federates with. istiod accepts client certificates of every trust
        // domain listed here on inbound mTLS (`TrustDomainsForValidation`,
        // pilot/pkg/networking/plugin/authn/util.go); unlike `trustDomainAliases`, these
        // do not make a peer's principals equal to local ones in authorization policies
        // (pilot/pkg/security/trustdomain/bundle.go reads only the aliases).
        m["caCertificates"] = json!(trusted);
    }
    if trusted.iter().any(|t| t.get("spiffeBundleUrl").is_some()) {
        // istiod hands the merged roots to sidecars only over PCDS (pilot/pkg/xds/pcds.go),
        // which pilot-agent requests only with PROXY_CONFIG_XDS_AGENT (default false,
        // pilot/cmd/pilot-agent/options/options.go); without it the foreign root never
        // reaches a proxy and cross-mesh mTLS fails. Istio's multi-root integration tests
        // set it beside ISTIO_MULTIROOT_MESH (tests/integration/security/ca_custom_root).
        set(
            &mut m,
            &["defaultConfig", "proxyMetadata", "PROXY_CONFIG_XDS_AGENT"],
            json!("true"),
        );
    }
    m
}

/// A control plane that remotes reach by the host name of cluster `i`'s east-west address
/// gets that name in its own serving certificate: istiod signs for the names in
/// ISTIOD_CUSTOM_HOST besides its Service names (pilot/pkg/bootstrap/server.go,
/// `getDNSNames`). Nothing for an address that is an IP.
fn sign_for_host(cx: &Cx, i: usize, values: &mut Value) {
    let c = &cx.mesh.clusters[i];
    if let Some(host) = c
        .east_west_address
        .as_deref()
        .filter(|_| !c.gateway_is_ip())
    {
        values["env"]["ISTIOD_CUSTOM_HOST"] = json!(host);
    }
}

/// `meshConfig.caCertificates` of mesh `me`, one entry per federated mesh whose workloads
/// it must verify. A peer with its own root: that root, from its SPIFFE bundle endpoint,
/// for identities of its trust domain (both directions of an export verify the other
/// side). A peer that shares the root (`ca … root=`): the chain already verifies, so only
/// the trust domain, and only where `me` accepts that peer's clients (it exports to it);
/// an importer verifies the exporter's server certificate by its SAN, not its trust domain.
fn trusted_peers(model: &crate::model::Model, me: usize) -> Vec<Value> {
    model
        .federated_with(me)
        .into_iter()
        .filter_map(|j| {
            let other = &model.meshes[j];
            if !model.share_root(me, j) {
                Some(json!({ "spiffeBundleUrl": other.trust_bundle, "trustDomains": [other.trust_domain] }))
            } else if !model.exported_to(me, j).is_empty() {
                Some(json!({ "trustDomains": [other.trust_domain] }))
            } else {
                None
            }
        })
        .collect()
}

/// What an istiod of the mesh needs beyond identity and meshConfig: several roots for
/// federation, and the gateways of networks it reaches only through imported services.
fn federation_values(cx: &Cx, values: &mut Value) {
    let Some(me) = cx.model.mesh_index(&cx.mesh.name) else {
        return;
    };
    if trusted_peers(cx.model, me)
        .iter()
        .any(|t| t.get("spiffeBundleUrl").is_some())
    {
        // More than one root: istiod distributes the peers' roots with its own.
        values["env"]["ISTIO_MULTIROOT_MESH"] = json!("true");
    }
    let mut networks = serde_json::Map::new();
    for (mi, si) in cx.model.imports_of(me) {
        let exporter = &cx.model.meshes[mi];
        let s = &exporter.services[si];
        // Only imports whose endpoints carry the exporter's network (all its gateways
        // known by IP; otherwise they are dialled directly, see `services::imports`).
        if !s
            .deploys
            .iter()
            .all(|d| exporter.clusters[d.cluster].gateway_is_ip())
        {
            continue;
        }
        for d in &s.deploys {
            let c = &exporter.clusters[d.cluster];
            networks.insert(
                super::services::foreign_network(exporter, d.cluster),
                json!({
                    "endpoints": [{ "fromRegistry": c.name }],
                    "gateways": [{ "address": c.east_west_address, "port": 15443 }]
                }),
            );
        }
    }
    if !networks.is_empty() {
        // Endpoints of imported services carry the exporter's network; this is where
        // istiod finds that network's gateway.
        values["global"]["meshNetworks"] = Value::Object(networks);
    }
}

/// Every istiod release that renders images names the image hub: istiod's own image and
/// the injector's (proxies, and gateways with `image: auto`) take `global.hub`; the gateway
/// and base charts name no image of their own. A remote's istiod release (`profile:
/// remote`) renders no Deployment, and its pods are injected by the control plane's
/// istiod with that istiod's values, so the hub is not written there (the oracle's values
/// check finds it unread).
fn pin_hub(cx: &Cx, chart: &str, values: &mut Value) {
    if chart == "istiod" && values["profile"] != "remote" {
        values["global"]["hub"] = json!(cx.model.istio.hub);
    }
}

fn release(
    cx: &mut Cx,
    release: &str,
    chart: &'static str,
    namespace: &'static str,
    mut values: Value,
    what: &str,
) {
    pin_hub(cx, chart, &mut values);
    let origin = cx.cluster_origin(what);
    cx.releases.push(HelmRelease {
        release: release.to_string(),
        chart,
        namespace,
        values,
        patches_webhooks: chart == "istiod" || chart == "base",
        origin,
    });
}

fn primary(cx: &mut Cx) {
    let i = cx.i;
    release(
        cx,
        "istio-base",
        "base",
        ISTIO_SYSTEM,
        json!({}),
        "control-plane primary",
    );
    let mut values =
        json!({ "global": global_identity(cx, i), "meshConfig": mesh_config_values(cx) });
    if cx.mesh.remotes_of(i).next().is_some() {
        // istiod serves remote clusters: EXTERNAL_ISTIOD=true makes it patch their
        // webhooks and write their namespaces' root certificates.
        values["global"]["externalIstiod"] = json!(true);
        // TLS passes through the east-west gateway: a remote's API server calls the
        // injection URL at the host name and checks istiod's own certificate against it.
        sign_for_host(cx, i, &mut values);
    }
    federation_values(cx, &mut values);
    release(
        cx,
        "istiod",
        "istiod",
        ISTIO_SYSTEM,
        values,
        "control-plane primary",
    );
    if cx.mesh.needs_east_west_gateway(i) {
        eastwest_gateway(cx, ISTIO_SYSTEM);
    }
}

fn remote(cx: &mut Cx, control: usize, config: bool) {
    let i = cx.i;
    let me = &cx.mesh.clusters[i];
    let (addr, is_ip) = control_address(cx, control);
    let external = cx.mesh.clusters[control].role == Role::External;
    let ns = cx.mesh.istiod_namespace(i);
    let inject = match &me.network {
        Some(net) => format!("/inject/cluster/{}/net/{net}", me.name),
        None => format!("/inject/cluster/{}", me.name),
    };
    let mut base = json!({ "profile": "remote" });
    let mut istiod = json!({ "profile": "remote", "global": global_identity(cx, i) });
    if external {
        base["global"] = json!({ "istioNamespace": EXTERNAL_ISTIOD_NS });
        istiod["global"]["istioNamespace"] = json!(EXTERNAL_ISTIOD_NS);
    }
    if is_ip {
        // The remote's `istiod` Service gets an EndpointSlice with this IP, and the
        // injection webhook calls it by path.
        istiod["global"]["remotePilotAddress"] = json!(addr);
        istiod["istiodRemote"] = json!({ "injectionPath": inject });
    } else {
        // A hostname would become an ExternalName Service, which the API server cannot
        // call webhooks through: use URLs instead. Proxies of a primary's remote still
        // reach istiod through the `istiod` Service (ExternalName to the gateway); an
        // external control plane sets its discovery address itself.
        if !external {
            istiod["global"]["remotePilotAddress"] = json!(addr);
        }
        istiod["istiodRemote"] = json!({ "injectionURL": format!("https://{addr}:15017{inject}") });
        let validation = json!(format!("https://{addr}:15017/validate"));
        set(&mut base, &["base", "validationURL"], validation.clone());
        set(&mut istiod, &["base", "validationURL"], validation);
    }
    if !external || config {
        // The cluster holds mesh configuration (the Helm guides set this for a primary's
        // remote too): istiod's service account, roles and validation webhook are installed.
        istiod["global"]["configCluster"] = json!(true);
    }
    if external && config {
        istiod["pilot"] = json!({ "configMap": true });
    }
    release(cx, "istio-base", "base", ns, base, "control-plane remote");
    release(cx, "istiod", "istiod", ns, istiod, "control-plane remote");
    if cx.mesh.needs_east_west_gateway(i) {
        eastwest_gateway(cx, ns);
    }
}

fn eastwest_gateway(cx: &mut Cx, ns: &'static str) {
    let mut values = json!({ "name": EASTWEST_GATEWAY });
    match &cx.cluster().network {
        // With networkGateway set, the chart exposes 15021, 15443, 15012 and 15017 and
        // labels the Service and pods with the network.
        Some(net) => values["networkGateway"] = json!(net),
        // One unnamed network: the gateway only exposes istiod to remotes.
        None => {
            let mut ports = vec![
                json!({ "name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP" }),
            ];
            if cx.mesh.exports_from(cx.i) {
                // Other meshes reach exported services here.
                ports.push(
                    json!({ "name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP" }),
                );
            }
            if cx.mesh.remotes_of(cx.i).next().is_some() {
                ports.push(json!({ "name": "tls-istiod", "port": 15012, "targetPort": 15012, "protocol": "TCP" }));
                ports.push(json!({ "name": "tls-webhook", "port": 15017, "targetPort": 15017, "protocol": "TCP" }));
            }
            values["service"] = json!({ "ports": ports })
        }
    }
    release(
        cx,
        EASTWEST_GATEWAY,
        "gateway",
        ns,
        values,
        "east-west gateway",
    );
}

/// External control plane cluster: a local control plane for its own ingress gateway,
/// that gateway (exposing 15012/15017), and istiod for the mesh in `external-istiod`.
fn external(cx: &mut Cx) {
    let i = cx.i;
    let (addr, is_ip) = control_address(cx, i);
    let config = cx.mesh.config_cluster_of(i).unwrap_or(i);
    release(
        cx,
        "istio-base",
        "base",
        ISTIO_SYSTEM,
        json!({}),
        "control-plane external",
    );
    let local = json!({ "global": { "multiCluster": { "clusterName": cx.cluster().name } } });
    release(
        cx,
        "istiod",
        "istiod",
        ISTIO_SYSTEM,
        local,
        "control-plane external",
    );
    let gateway = json!({
        "name": INGRESS_GATEWAY,
        "service": { "ports": [
            { "name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP" },
            { "name": "tls-xds", "port": 15012, "targetPort": 15012, "protocol": "TCP" },
            { "name": "tls-webhook", "port": 15017, "targetPort": 15017, "protocol": "TCP" }
        ] }
    });
    release(
        cx,
        INGRESS_GATEWAY,
        "gateway",
        ISTIO_SYSTEM,
        gateway,
        "control-plane external",
    );

    let mut global = global_identity(cx, config);
    for (k, v) in [
        ("istioNamespace", json!(EXTERNAL_ISTIOD_NS)),
        ("externalIstiod", json!(true)),
        ("caAddress", json!(host_port(&addr, 15012))),
        ("operatorManageWebhooks", json!(true)),
        ("configValidation", json!(false)),
    ] {
        global[k] = v;
    }
    let mut mesh_config = mesh_config_values(cx);
    mesh_config["rootNamespace"] = json!(EXTERNAL_ISTIOD_NS);
    set(
        &mut mesh_config,
        &["defaultConfig", "discoveryAddress"],
        json!(host_port(&addr, 15012)),
    );
    if !is_ip {
        // Proxies verify istiod's DNS certificate against the public roots.
        for k in ["XDS_ROOT_CA", "CA_ROOT_CA"] {
            set(
                &mut mesh_config,
                &["defaultConfig", "proxyMetadata", k],
                json!("/etc/ssl/certs/ca-certificates.crt"),
            );
        }
    }
    let (injector, validator) = if is_ip {
        (
            "istio-sidecar-injector-external-istiod",
            "istio-validator-external-istiod",
        )
    } else {
        ("", "")
    };
    let mut values = json!({
        "global": global,
        "meshConfig": mesh_config,
        "env": {
            "INJECTION_WEBHOOK_CONFIG_NAME": injector,
            "VALIDATION_WEBHOOK_CONFIG_NAME": validator,
            "LOCAL_CLUSTER_SECRET_WATCHER": "true",
            "SHARED_MESH_CONFIG": "istio"
        },
        "volumes": [
            { "name": "config-volume", "configMap": { "name": "istio" } },
            { "name": "inject-volume", "configMap": { "name": "istio-sidecar-injector" } }
        ],
        "volumeMounts": [
            { "name": "config-volume", "mountPath": "/etc/istio/config" },
            { "name": "inject-volume", "mountPath": "/var/lib/istio/inject" }
        ]
    });
    // The gateway re-encrypts to istiod with the remote's host name as SNI and checks it
    // against istiod's certificate (auto SNI and SAN validation when the DestinationRule
    // names neither, cluster_tls.go `setAutoSniAndAutoSanValidation`).
    sign_for_host(cx, i, &mut values);
    federation_values(cx, &mut values);
    pin_hub(cx, "istiod", &mut values);
    let origin = cx.cluster_origin("control-plane external");
    cx.releases.push(HelmRelease {
        release: "istiod-external".to_string(),
        chart: "istiod",
        namespace: EXTERNAL_ISTIOD_NS,
        values,
        patches_webhooks: false,
        origin,
    });
    expose_external_istiod(cx, &addr, is_ip);
}

/// Gateway, VirtualService (and DestinationRule for TLS) on the external cluster that
/// route 15012/15017 on its ingress gateway to the external istiod.
fn expose_external_istiod(cx: &mut Cx, addr: &str, is_ip: bool) {
    let host = format!("istiod.{EXTERNAL_ISTIOD_NS}.svc.cluster.local");
    let origin = cx.cluster_origin("east-west-address");
    let (gw_spec, vs_spec) = if is_ip {
        passthrough(
            "ingressgateway",
            EXTERNAL_ISTIOD_GATEWAY,
            &host,
            ["tls-xds", "tls-webhook"],
        )
    } else {
        let credential = external_tls_secret(cx);
        let server = |name: &str, port: u16| {
            json!({
                "port": { "number": port, "name": name, "protocol": "HTTPS" },
                "tls": { "mode": "SIMPLE", "credentialName": credential },
                "hosts": [addr]
            })
        };
        let route = |port: u16, target: u16| {
            json!({
                "match": [{ "port": port }],
                "route": [{ "destination": { "host": host, "port": { "number": target } } }]
            })
        };
        (
            json!({ "selector": { "istio": "ingressgateway" }, "servers": [server("https-xds", 15012), server("https-webhook", 15017)] }),
            json!({ "hosts": [addr], "gateways": [EXTERNAL_ISTIOD_GATEWAY], "http": [route(15012, 15012), route(15017, 443)] }),
        )
    };
    let gw = json!({ "apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": metadata(EXTERNAL_ISTIOD_GATEWAY, Some(EXTERNAL_ISTIOD_NS)), "spec": gw_spec });
    let vs = json!({ "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": metadata("external-istiod-vs", Some(EXTERNAL_ISTIOD_NS)), "spec": vs_spec });
    cx.push(Place::Layer(Layer::Mesh), gw, origin.clone());
    cx.push(Place::Layer(Layer::Mesh), vs, origin.clone());
    if !is_ip {
        // istiod's certificate is the mesh CA's: verified with the mesh's root (see
        // `trust::gateway_root`), not the OS roots a SIMPLE DestinationRule defaults to.
        // A credential is read only by the workloads a DestinationRule selects
        // (pilot/pkg/networking/core/cluster_tls.go ignores it for sidecars otherwise, and
        // istioctl's IST0129 asks for the selector), and a selector applies in the rule's
        // own namespace: so the rule lives beside the gateway, in istio-system.
        let tls = json!({ "mode": "SIMPLE", "credentialName": super::trust::EXTERNAL_ISTIOD_CA });
        let dr = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": metadata("external-istiod-dr", Some(ISTIO_SYSTEM)),
            "spec": {
                "workloadSelector": { "matchLabels": { "istio": "ingressgateway" } },
                "host": host,
                "trafficPolicy": { "portLevelSettings": [
                    { "port": { "number": 15012 }, "tls": tls.clone(), "connectionPool": { "http": { "h2UpgradePolicy": "UPGRADE" } } },
                    { "port": { "number": 443 }, "tls": tls }
                ] }
            }
        });
        cx.push(Place::Layer(Layer::Mesh), dr, origin);
    }
}

/// Name of the TLS secret (in istio-system on the external cluster) whose certificate
/// is valid for the external istiod's hostname. meshc references it; it is produced by
/// whatever issues the cluster's public certificates.
pub fn external_tls_secret(cx: &Cx) -> String {
    format!("{}-istiod-tls", cx.cluster().name)
}

/// Mesh-wide Istio configuration, in every cluster whose API server istiod reads.
fn mesh_config(cx: &mut Cx) {
    let i = cx.i;
    let root = cx.mesh.istiod_namespace(i);
    let mode = match cx.mesh.mtls {
        Mtls::Strict => "STRICT",
        Mtls::Permissive => "PERMISSIVE",
    };
    let pa = json!({
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": metadata("default", Some(root)),
        "spec": { "mtls": { "mode": mode } }
    });
    let origin = cx.mesh_origin("mtls");
    cx.push(Place::Layer(Layer::Mesh), pa, origin);
    if cx.mesh.multi_network() || cx.mesh.exports_any() {
        // Cross-network (and cross-mesh) traffic enters through an east-west gateway as mTLS
        // passed through by SNI; one server on 15443 per cluster.
        let gw = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": metadata("cross-network-gateway", Some(root)),
            "spec": {
                "selector": { "istio": EASTWEST_SELECTOR },
                "servers": [{
                    "port": { "number": 15443, "name": "tls", "protocol": "TLS" },
                    "tls": { "mode": "AUTO_PASSTHROUGH" },
                    "hosts": ["*.local"]
                }]
            }
        });
        let origin = cx.mesh_origin("networks");
        cx.push(Place::Layer(Layer::Mesh), gw, origin);
    }
    if cx.cluster().role == Role::Primary && cx.mesh.remotes_of(i).next().is_some() {
        expose_istiod(cx);
    }
}

/// `istiod-gateway` and `istiod-vs`: remotes reach this primary's istiod (xDS on 15012,
/// webhooks on 15017) through its east-west gateway.
fn expose_istiod(cx: &mut Cx) {
    let (gw_spec, vs_spec) = passthrough(
        EASTWEST_SELECTOR,
        ISTIOD_GATEWAY,
        "istiod.istio-system.svc.cluster.local",
        ["tls-istiod", "tls-istiodwebhook"],
    );
    let gw = json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": metadata(ISTIOD_GATEWAY, Some(ISTIO_SYSTEM)),
        "spec": gw_spec
    });
    let vs = json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": metadata("istiod-vs", Some(ISTIO_SYSTEM)),
        "spec": vs_spec
    });
    let origin = cx.cluster_origin("east-west-address");
    cx.push(Place::Layer(Layer::Mesh), gw, origin.clone());
    cx.push(Place::Layer(Layer::Mesh), vs, origin);
}

/// Gateway and VirtualService specs that pass TLS on 15012 (xDS, CA) and 15017 (webhooks)
/// through a gateway to istiod at `host` (ports 15012 and 443), routed by port.
fn passthrough(selector: &str, gateway: &str, host: &str, names: [&str; 2]) -> (Value, Value) {
    let server = |name: &str, port: u16| {
        json!({
            "port": { "number": port, "name": name, "protocol": "TLS" },
            "tls": { "mode": "PASSTHROUGH" },
            "hosts": ["*"]
        })
    };
    let route = |port: u16, target: u16| {
        json!({
            "match": [{ "port": port, "sniHosts": ["*"] }],
            "route": [{ "destination": { "host": host, "port": { "number": target } } }]
        })
    };
    (
        json!({ "selector": { "istio": selector }, "servers": [server(names[0], 15012), server(names[1], 15017)] }),
        json!({ "hosts": ["*"], "gateways": [gateway], "tls": [route(15012, 15012), route(15017, 443)] }),
    )
}
