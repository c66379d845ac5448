//! Services in the clusters that need them: workloads (ServiceAccount, Deployment) where
//! a service is deployed with an image; its Service where it runs, or in every workload
//! cluster when DNS proxying is off (so the name resolves there); and, in every cluster
//! holding mesh configuration, its traffic policy (DestinationRule, VirtualService),
//! external services, services imported from federated meshes, ingress routing and
//! telemetry. Ingress gateways are Helm releases of the cluster that runs them.

use serde_json::{Map, Value, json};

use super::{Cx, HelmRelease, Layer, Origin, Place, metadata, set};
use crate::ast::{Balancer, HeaderMatch};
use crate::model::{INGRESS_NS, Route, Service, Target};

/// What depends on the cluster: its workloads, its ingress gateways and, where it holds
/// configuration, the routing of the ingresses its istiod configures.
pub fn render(cx: &mut Cx) {
    let i = cx.i;
    if cx.mesh.runs_workloads(i) {
        for s in &cx.mesh.services {
            workloads(cx, s);
        }
    }
    ingress_gateways(cx);
    if cx.mesh.holds_config(i) {
        ingress_routing(cx);
    }
}

/// Mesh-wide configuration: the same in every configuration cluster of the mesh with
/// the same root namespace (the caller renders it once and shares it).
pub fn mesh_config(cx: &mut Cx) {
    for s in &cx.mesh.services {
        traffic_policy(cx, s);
    }
    externals(cx);
    imports(cx);
    federation_boundary(cx);
    telemetry(cx);
}

fn service_origin(cx: &Cx, s: &Service, what: &str) -> Origin {
    let mut path = format!("mesh {} > service {}", cx.mesh.name, s.name);
    if !what.is_empty() {
        path.push_str(&format!(" ({what})"));
    }
    Origin { span: s.span, path }
}

fn labels(s: &Service, version: Option<&str>) -> Value {
    let mut l = json!({ "app": s.name });
    if let Some(v) = version {
        l["version"] = json!(v);
    }
    l
}

fn workloads(cx: &mut Cx, s: &Service) {
    let i = cx.i;
    let runs = s.runs_in(i);
    // DNS: without DNS proxying, a name only resolves where a Service object exists.
    if runs || !cx.mesh.dns_proxy {
        let ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| json!({ "name": p.name, "port": p.number, "targetPort": p.target, "protocol": "TCP" }))
            .collect();
        let mut meta = metadata(&s.name, Some(&s.namespace));
        meta["labels"]["app"] = json!(s.name);
        let svc = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": { "selector": { "app": s.name }, "ports": ports }
        });
        let what = if runs {
            "deploy"
        } else {
            "name resolution without DNS proxying"
        };
        let origin = service_origin(cx, s, what);
        cx.push(Place::Layer(Layer::Services), svc, origin);
    }
    let here: Vec<_> = s
        .deploys
        .iter()
        .filter(|d| d.cluster == i && d.image.is_some())
        .collect();
    if here.is_empty() {
        return;
    }
    let mut meta = metadata(&s.name, Some(&s.namespace));
    meta["labels"]["app"] = json!(s.name);
    let sa = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta });
    let origin = service_origin(cx, s, "deploy");
    cx.push(Place::Layer(Layer::Services), sa, origin);
    for d in here {
        let name = match &d.version {
            Some(v) => format!("{}-{v}", s.name),
            None => s.name.clone(),
        };
        let l = labels(s, d.version.as_deref());
        let mut meta = metadata(&name, Some(&s.namespace));
        for (k, v) in l.as_object().into_iter().flatten() {
            meta["labels"][k] = v.clone();
        }
        let container_ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| json!({ "name": p.name, "containerPort": p.target }))
            .collect();
        let dep = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": d.replicas,
                "selector": { "matchLabels": l },
                "template": {
                    "metadata": { "labels": l },
                    "spec": {
                        "serviceAccountName": s.name,
                        "containers": [{ "name": s.name, "image": d.image, "ports": container_ports }]
                    }
                }
            }
        });
        let origin = Origin {
            span: d.span,
            path: format!(
                "mesh {} > service {} > deploy {}",
                cx.mesh.name, s.name, cx.mesh.clusters[i].name
            ),
        };
        cx.push(Place::Layer(Layer::Services), dep, origin);
    }
}

fn traffic_policy(cx: &mut Cx, s: &Service) {
    let host = s.fqdn();
    let mut policy = Map::new();
    let mut lb = Map::new();
    if let Some(l) = &s.load_balancer {
        match l.algorithm {
            Balancer::ConsistentHash => {
                lb.insert(
                    "consistentHash".into(),
                    json!({ "httpHeaderName": l.header }),
                );
            }
            other => {
                let simple = match other {
                    Balancer::LeastRequest => "LEAST_REQUEST",
                    Balancer::Random => "RANDOM",
                    _ => "ROUND_ROBIN",
                };
                lb.insert("simple".into(), json!(simple));
            }
        }
    }
    if !s.failover.is_empty() {
        let failover: Vec<Value> = s
            .failover
            .iter()
            .map(|(from, to)| json!({ "from": from, "to": to }))
            .collect();
        lb.insert(
            "localityLbSetting".into(),
            json!({ "enabled": true, "failover": failover }),
        );
    }
    if !lb.is_empty() {
        policy.insert("loadBalancer".into(), Value::Object(lb));
    }
    if let Some(p) = &s.connection_pool {
        let mut pool = json!({});
        if let Some(v) = p.max_connections {
            set(&mut pool, &["tcp", "maxConnections"], json!(v));
        }
        for (key, v) in [
            ("http1MaxPendingRequests", p.max_pending_requests),
            ("http2MaxRequests", p.max_requests),
            ("maxRetries", p.max_retries),
        ] {
            if let Some(v) = v {
                set(&mut pool, &["http", key], json!(v));
            }
        }
        policy.insert("connectionPool".into(), pool);
    }
    if let Some(o) = &s.outlier_detection {
        let mut od = json!({ "consecutive5xxErrors": o.consecutive_5xx, "interval": o.interval, "baseEjectionTime": o.base_ejection });
        if let Some(p) = o.max_ejection_percent {
            od["maxEjectionPercent"] = json!(p);
        }
        policy.insert("outlierDetection".into(), od);
    }
    let mut subsets: Vec<Value> = s
        .versions()
        .iter()
        .map(|v| json!({ "name": v, "labels": { "version": v } }))
        .collect();
    for c in s.cluster_subsets() {
        subsets.push(json!({ "name": c, "labels": { "topology.istio.io/cluster": c } }));
    }
    if !policy.is_empty() || !subsets.is_empty() {
        let mut spec = json!({ "host": host });
        if !policy.is_empty() {
            spec["trafficPolicy"] = Value::Object(policy);
        }
        if !subsets.is_empty() {
            spec["subsets"] = json!(subsets);
        }
        let dr = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": metadata(&s.name, Some(&s.namespace)),
            "spec": spec
        });
        let origin = service_origin(cx, s, "traffic policy");
        cx.push(Place::Layer(Layer::Services), dr, origin);
    }
    if let Some(route) = &s.route {
        let vs = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": metadata(&s.name, Some(&s.namespace)),
            "spec": { "hosts": [host], "http": http_routes(s, Some(route), None) }
        });
        let origin = service_origin(cx, s, "route");
        cx.push(Place::Layer(Layer::Services), vs, origin);
    }
}

/// The HTTP routes of a VirtualService: one per `match`, then the default route (the
/// weighted split, or the host itself). Timeout and retries apply to every route.
///
/// `entry` is an ingress route's prefix and port: every rule then also matches the prefix
/// and names the port. The ingress VirtualService repeats the service's policy this way,
/// since one bound to a gateway applies only there and the service's own (bound to the
/// mesh: `gateways` omitted means `mesh`, istio.io/api
/// networking/v1alpha3/virtual_service.proto) does not apply to what the gateway routed.
fn http_routes(s: &Service, route: Option<&Route>, entry: Option<(&str, u16)>) -> Vec<Value> {
    let host = s.fqdn();
    let destination = |subset: Option<&str>| {
        let mut d = json!({ "host": host });
        if let Some(sub) = subset {
            d["subset"] = json!(sub);
        }
        if let Some((_, port)) = entry {
            d["port"] = json!({ "number": port });
        }
        d
    };
    let finish = |mut r: Value| {
        let Some(route) = route else { return r };
        if let Some(t) = &route.timeout {
            r["timeout"] = json!(t);
        }
        if let Some(rt) = &route.retries {
            let mut retries = json!({ "attempts": rt.attempts });
            if let Some(p) = &rt.per_try_timeout {
                retries["perTryTimeout"] = json!(p);
            }
            if let Some(on) = &rt.on {
                retries["retryOn"] = json!(on);
            }
            r["retries"] = retries;
        }
        r
    };
    // A rule's match, with the entry's prefix; none if it matches everything.
    let matching = |mut cond: Value, route: Value| {
        if let Some((prefix, _)) = entry {
            cond["uri"] = json!({ "prefix": prefix });
        }
        if cond_is_empty(&cond) {
            json!({ "route": route })
        } else {
            json!({ "match": [cond], "route": route })
        }
    };
    let mut out = Vec::new();
    for m in route.map_or(&[][..], |r| &r.matches[..]) {
        let mut cond = json!({});
        if let Some((header, kind, value)) = &m.header {
            let k = match kind {
                HeaderMatch::Exact => "exact",
                HeaderMatch::Prefix => "prefix",
                HeaderMatch::Regex => "regex",
            };
            cond["headers"] = json!({ header.as_str(): { k: value } });
        }
        if let Some(src) = &m.source_cluster {
            cond["sourceLabels"] = json!({ "topology.istio.io/cluster": src });
        }
        let subset = match &m.target {
            Target::Version(v) | Target::Cluster(v) => v.as_str(),
        };
        out.push(finish(matching(
            cond,
            json!([{ "destination": destination(Some(subset)) }]),
        )));
    }
    let default = match route {
        Some(r) if !r.weights.is_empty() => Value::Array(
            r.weights
                .iter()
                .map(|(v, w)| json!({ "destination": destination(Some(v)), "weight": w }))
                .collect(),
        ),
        _ => json!([{ "destination": destination(None) }]),
    };
    out.push(finish(matching(json!({}), default)));
    out
}

fn cond_is_empty(v: &Value) -> bool {
    v.as_object().is_none_or(|m| m.is_empty())
}

fn externals(cx: &mut Cx) {
    let root = cx.mesh.istiod_namespace(cx.i);
    for e in &cx.mesh.externals {
        let protocol = e.protocol.to_ascii_uppercase();
        let se = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": metadata(&e.name, Some(root)),
            "spec": {
                "hosts": [e.host],
                "location": "MESH_EXTERNAL",
                "resolution": "DNS",
                "ports": [{ "number": e.port, "name": format!("{}-{}", e.protocol, e.port), "protocol": protocol }]
            }
        });
        let origin = Origin {
            span: e.span,
            path: format!("mesh {} > external {}", cx.mesh.name, e.name),
        };
        cx.push(Place::Layer(Layer::Services), se, origin);
    }
}

/// Network ID under which an importing mesh knows a cluster of another mesh: the
/// exporting mesh's name and the cluster's network (or name). The `.` cannot occur in a
/// meshc network name, so it never collides with the importer's own networks.
pub fn foreign_network(mesh: &crate::model::Mesh, cluster: usize) -> String {
    let c = &mesh.clusters[cluster];
    format!("{}.{}", mesh.name, c.network.as_deref().unwrap_or(&c.name))
}

/// Services other meshes export to this one: a ServiceEntry whose endpoints are the
/// exporter's east-west gateways (port 15443, where AUTO_PASSTHROUGH routes by SNI), with
/// the exporter's network and locality, and a DestinationRule with Istio mutual TLS.
fn imports(cx: &mut Cx) {
    let Some(me) = cx.model.mesh_index(&cx.mesh.name) else {
        return;
    };
    let root = cx.mesh.istiod_namespace(cx.i);
    for (mi, si) in cx.model.imports_of(me) {
        let exporter = &cx.model.meshes[mi];
        let s = &exporter.services[si];
        let name = format!("federated-{}-{}-{}", exporter.name, s.namespace, s.name);
        let ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| json!({ "number": p.number, "name": p.name, "protocol": p.istio_protocol() }))
            .collect();
        // One endpoint per cluster, in order of first deploy: a cluster running two
        // versions is still one gateway (twice listed, it would get twice the traffic).
        let mut clusters: Vec<usize> = Vec::new();
        for d in &s.deploys {
            if !clusters.contains(&d.cluster) {
                clusters.push(d.cluster);
            }
        }
        // A gateway known by IP is an endpoint on the exporter's network, which istiod
        // reaches through that network's gateway (`global.meshNetworks`). A gateway known
        // only by host name (AWS load balancers) cannot be a STATIC endpoint (IP only,
        // pkg/config/validation/validation.go `validateWorkloadEntry`): then the entry
        // resolves by DNS, and its endpoints, without a network, are the gateways
        // themselves, dialled directly with the service's SNI (as the ServiceEntries of
        // Istio's "replicated control planes" guide did, up to 1.7).
        let by_ip = clusters
            .iter()
            .all(|&c| exporter.clusters[c].gateway_is_ip());
        let endpoints: Vec<Value> = clusters
            .iter()
            .map(|&c| {
                let cl = &exporter.clusters[c];
                let mut ep = json!({ "address": cl.east_west_address });
                let mut port_map = Map::new();
                for p in &s.ports {
                    port_map.insert(p.name.clone(), json!(15443));
                }
                ep["ports"] = Value::Object(port_map);
                if by_ip {
                    ep["network"] = json!(foreign_network(exporter, c));
                }
                if let Some(region) = &cl.region {
                    let locality = match &cl.zone {
                        Some(z) => format!("{region}/{z}"),
                        None => region.clone(),
                    };
                    ep["locality"] = json!(locality);
                }
                ep
            })
            .collect();
        let se = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": metadata(&name, Some(root)),
            "spec": {
                "hosts": [s.fqdn()],
                "location": "MESH_INTERNAL",
                "resolution": if by_ip { "STATIC" } else { "DNS" },
                "ports": ports,
                "endpoints": endpoints
            }
        });
        let mut tls = json!({ "mode": "ISTIO_MUTUAL" });
        if s.deploys.iter().any(|d| d.image.is_some()) {
            // The workload's identity in the exporting mesh (meshc renders its ServiceAccount).
            tls["subjectAltNames"] = json!([format!(
                "spiffe://{}/ns/{}/sa/{}",
                exporter.trust_domain, s.namespace, s.name
            )]);
        }
        let dr = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": metadata(&name, Some(root)),
            "spec": { "host": s.fqdn(), "trafficPolicy": { "tls": tls } }
        });
        let origin = Origin {
            span: s.span,
            path: format!(
                "mesh {} > service {} (export to {})",
                exporter.name, s.name, cx.mesh.name
            ),
        };
        cx.push(Place::Layer(Layer::Services), se, origin.clone());
        cx.push(Place::Layer(Layer::Services), dr, origin);
    }
}

/// Name of the policy that keeps federated meshes to what is exported.
pub const FEDERATION_POLICY: &str = "deny-foreign-trust-domains";

/// TLS server name of a connection from another mesh to `port` of `s`: the SNI the
/// importer's sidecar sends (its DestinationRule has no subsets, so the subset part is
/// empty; pilot/pkg/model/service.go `BuildDNSSrvSubsetKey`), which the exporter's
/// AUTO_PASSTHROUGH gateway routes by.
pub fn federated_sni(s: &Service, port: u16) -> String {
    format!("outbound_.{port}_._.{}", s.fqdn())
}

/// Only what is exported. A federated mesh's workloads are trusted for mTLS mesh-wide (their
/// trust domain is in `caCertificates`), so without a policy they could call every
/// service of this mesh. One DENY policy in the root namespace (it applies to every
/// workload of the mesh, and DENY cannot be overridden by an ALLOW elsewhere) refuses each
/// federated mesh's trust domain, except on connections whose TLS server name is that of
/// a service this mesh exports to that mesh. DENY rather than a mesh-wide ALLOW, because
/// an ALLOW in the root namespace would also let through what a namespace's own ALLOW
/// policies refuse (istio.io "Authorization Policy": ALLOW policies are ORed).
fn federation_boundary(cx: &mut Cx) {
    let Some(me) = cx.model.mesh_index(&cx.mesh.name) else {
        return;
    };
    let root = cx.mesh.istiod_namespace(cx.i);
    let rules: Vec<Value> = cx
        .model
        .federated_with(me)
        .into_iter()
        .map(|j| {
            let peer = &cx.model.meshes[j];
            let mut rule = json!({
                "from": [{ "source": { "principals": [format!("{}/*", peer.trust_domain)] } }]
            });
            let exported: Vec<String> = cx
                .model
                .exported_to(me, j)
                .into_iter()
                .flat_map(|k| {
                    let s = &cx.mesh.services[k];
                    s.ports.iter().map(move |p| federated_sni(s, p.number))
                })
                .collect();
            if !exported.is_empty() {
                rule["when"] = json!([{ "key": "connection.sni", "notValues": exported }]);
            }
            rule
        })
        .collect();
    if rules.is_empty() {
        return;
    }
    let policy = json!({
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": metadata(FEDERATION_POLICY, Some(root)),
        "spec": { "action": "DENY", "rules": rules }
    });
    let origin = Origin {
        span: cx.mesh.span,
        path: format!("mesh {} (federation)", cx.mesh.name),
    };
    // With the mesh-wide PeerAuthentication, not with the services: the boundary must be
    // in place no later than istiod starts trusting the peer's trust domain.
    cx.push(Place::Layer(Layer::Mesh), policy, origin);
}

fn gateway_name(ingress: &str) -> String {
    super::ingress_gateway_name(ingress)
}

/// Ingress gateways this cluster runs: the gateway chart in `istio-ingress`.
fn ingress_gateways(cx: &mut Cx) {
    let i = cx.i;
    let ingresses: Vec<_> = cx
        .mesh
        .ingresses
        .iter()
        .filter(|g| g.cluster == i)
        .collect();
    for g in ingresses {
        let name = gateway_name(&g.name);
        let origin = Origin {
            span: g.span,
            path: format!("mesh {} > ingress {}", cx.mesh.name, g.name),
        };
        cx.releases.push(HelmRelease {
            release: name.clone(),
            chart: "gateway",
            namespace: INGRESS_NS,
            values: json!({ "name": name }),
            patches_webhooks: false,
            origin,
        });
    }
}

/// Gateway and VirtualService of each ingress whose gateway this cluster's istiod
/// configures.
fn ingress_routing(cx: &mut Cx) {
    let i = cx.i;
    let ingresses: Vec<_> = cx
        .mesh
        .ingresses
        .iter()
        .filter(|g| cx.mesh.config_cluster_for(g.cluster) == i)
        .collect();
    for g in ingresses {
        let selector = gateway_name(&g.name)
            .trim_start_matches("istio-")
            .to_string();
        let hosts: Vec<&str> = g.hosts.iter().map(|(h, _)| h.as_str()).collect();
        let mut servers: Vec<Value> = vec![json!({
            "port": { "number": 80, "name": "http", "protocol": "HTTP" },
            "hosts": hosts,
            "tls": { "httpsRedirect": true }
        })];
        for (n, (host, secret)) in g.hosts.iter().enumerate() {
            servers.push(json!({
                "port": { "number": 443, "name": format!("https-{n}"), "protocol": "HTTPS" },
                "hosts": [host],
                "tls": { "mode": "SIMPLE", "credentialName": secret }
            }));
        }
        let gw = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": metadata(&g.name, Some(INGRESS_NS)),
            "spec": { "selector": { "istio": selector }, "servers": servers }
        });
        // Longest prefix first: Istio takes the first rule that matches, so `/` written
        // before `/blog` would otherwise take the blog's requests (Gateway API orders the
        // same way); routes of one length keep the topology's order.
        let mut routes: Vec<_> = g.routes.iter().collect();
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        let http: Vec<Value> = routes
            .iter()
            .flat_map(|r| {
                let s = &cx.mesh.services[r.service];
                http_routes(s, s.route.as_ref(), Some((&r.prefix, r.port)))
            })
            .collect();
        let vs = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": metadata(&g.name, Some(INGRESS_NS)),
            "spec": { "hosts": hosts, "gateways": [format!("{INGRESS_NS}/{}", g.name)], "http": http }
        });
        let origin = Origin {
            span: g.span,
            path: format!("mesh {} > ingress {}", cx.mesh.name, g.name),
        };
        cx.push(Place::Layer(Layer::Services), gw, origin.clone());
        cx.push(Place::Layer(Layer::Services), vs, origin);
    }
}

/// Name of the tracing provider meshc declares in `meshConfig.extensionProviders`.
pub const TRACING_PROVIDER: &str = "otel-tracing";

fn telemetry(cx: &mut Cx) {
    let Some(t) = &cx.mesh.telemetry else { return };
    let root = cx.mesh.istiod_namespace(cx.i);
    let mut spec = json!({});
    if t.access_log {
        spec["accessLogging"] = json!([{ "providers": [{ "name": "envoy" }] }]);
    }
    if let Some(tr) = &t.tracing {
        spec["tracing"] = json!([{ "providers": [{ "name": TRACING_PROVIDER }], "randomSamplingPercentage": tr.sampling }]);
    }
    if cond_is_empty(&spec) {
        return;
    }
    let tel = json!({
        "apiVersion": "telemetry.istio.io/v1",
        "kind": "Telemetry",
        "metadata": metadata("mesh-default", Some(root)),
        "spec": spec
    });
    let origin = Origin {
        span: t.span,
        path: format!("mesh {} > telemetry", cx.mesh.name),
    };
    cx.push(Place::Layer(Layer::Mesh), tel, origin);
}
