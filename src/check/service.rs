//! Rules about what runs in a mesh and how traffic reaches it: services (namespaces,
//! ports, placement, routes, failover, export), external services, ingress, telemetry.

use super::mesh::first_declarations;
use crate::ast::{self, Balancer, Spanned};
use crate::diag::{Code, Diagnostic};
use crate::lower::schema::PORT_PROTOCOLS;
use crate::model::{
    ConnectionPool, Deploy, External, Ingress, IngressRoute, LoadBalancer, Mesh, OutlierDetection,
    Port, Retries, Role, Route, RouteMatch, Service, Target, Telemetry, Tracing,
};

/// Checks and resolves the services, externals, ingresses and telemetry of mesh `m`
/// (whose clusters are already resolved in `mesh`). `ast` gives the other meshes, for
/// export targets and misplaced deploys.
pub fn check(ast: &ast::Ast, m: &ast::Mesh, mesh: &mut Mesh, diags: &mut Vec<Diagnostic>) {
    let namespaces: Vec<&str> = m.namespaces.iter().map(|n| n.name.value.as_str()).collect();
    // (name, namespace) → first declaration: a map, so thousands of services check in
    // linear time.
    let mut seen: std::collections::HashMap<(&str, &str), &Spanned<String>> =
        std::collections::HashMap::new();
    for s in &m.services {
        let ns = s.namespace.as_ref().map_or("", |n| n.value.as_str());
        if let Some(first) = seen.get(&(s.name.value.as_str(), ns)) {
            diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!(
                        "service `{}` is declared twice in namespace `{ns}`",
                        s.name.value
                    ),
                )
                .primary(s.name.span, "declared again here")
                .secondary(first.span, "first declared here")
                .help("merge the two declarations, or rename one"),
            );
            continue;
        }
        seen.insert((&s.name.value, ns), &s.name);
        // A Kubernetes Service name is a DNS-1035 label, stricter than DNS-1123: it starts
        // with a letter (`ValidateServiceName` is `NameIsDNS1035Label`, kubernetes
        // `pkg/apis/core/validation/validation.go`).
        if s.name.value.starts_with(|c: char| c.is_ascii_digit()) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidName,
                    format!(
                        "service `{}` cannot name a Kubernetes Service: Service names start with a letter",
                        s.name.value
                    ),
                )
                .primary(s.name.span, "starts with a digit")
                .help(format!(
                    "rename it, for example `svc-{}`; the API server rejects the Service otherwise",
                    s.name.value
                )),
            );
            continue;
        }
        if let Some(svc) = service(ast, m, mesh, s, &namespaces, diags) {
            mesh.services.push(svc);
        }
    }
    externals(m, mesh, diags);
    ingresses(m, mesh, diags);
    mesh.telemetry = telemetry(m, diags);
}

fn service(
    ast: &ast::Ast,
    m: &ast::Mesh,
    mesh: &Mesh,
    s: &ast::Service,
    namespaces: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<Service> {
    let name = &s.name.value;
    let namespace = s.namespace.as_ref()?;
    if !namespaces.contains(&namespace.value.as_str()) {
        diags.push(
            Diagnostic::new(
                Code::UnknownReference,
                format!(
                    "service `{name}` is in namespace `{}`, which mesh `{}` does not declare",
                    namespace.value, m.name.value
                ),
            )
            .primary(namespace.span, "unknown namespace")
            .suggest_or(
                &namespace.value,
                namespaces.iter().copied(),
                format!("declare it in the mesh: `namespace {}`", namespace.value),
            ),
        );
    }
    let ports = ports(s, diags);
    let deploys = deploys(ast, m, mesh, s, diags);
    let versions: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for d in &deploys {
            if let Some(ver) = d.version.as_deref()
                && !v.contains(&ver)
            {
                v.push(ver);
            }
        }
        v
    };
    let cluster_local = s.cluster_local.as_ref().is_some_and(|c| c.value);
    let route = s
        .route
        .as_ref()
        .map(|r| route(m, mesh, s, r, &versions, &deploys, diags));
    let regions: Vec<&str> = deploys
        .iter()
        .filter_map(|d| mesh.clusters[d.cluster].region.as_deref())
        .collect();
    let mut failover = Vec::new();
    for f in &s.failovers {
        if f.from.value == f.to.value {
            diags.push(
                Diagnostic::new(Code::FailoverSameRegion, format!("service `{name}` fails over from `{}` to itself", f.to.value))
                    .primary(f.to.span, "same region as `from`")
                    .secondary(f.from.span, "from here")
                    .help("`to` names the region traffic goes to when `from` is unhealthy; Istio rejects a failover to the same region"),
            );
        }
        for (what, r) in [("from", &f.from), ("to", &f.to)] {
            if r.value.contains('/') || r.value.contains('*') {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("failover `{what}` must be a region, not `{}`", r.value),
                    )
                    .primary(r.span, "regions have no `/` or `*`")
                    .help("failover works between regions; zones follow from the region"),
                );
            } else if !regions.contains(&r.value.as_str()) {
                let mut known: Vec<&str> = regions.clone();
                known.sort_unstable();
                known.dedup();
                let listing = if known.is_empty() {
                    "it runs in no cluster with a region".to_string()
                } else {
                    format!("it runs in {}", known.join(", "))
                };
                diags.push(
                    Diagnostic::new(
                        Code::FailoverRegion,
                        format!("service `{name}` does not run in region `{}`", r.value),
                    )
                    .primary(
                        r.span,
                        format!("no cluster running `{name}` is in this region"),
                    )
                    .suggest_or(
                        &r.value,
                        known.iter().copied(),
                        format!(
                            "{listing}; give its clusters `region=` or name one of those regions"
                        ),
                    ),
                );
            }
        }
        failover.push((f.from.value.clone(), f.to.value.clone()));
    }
    if let Some(f) = s.failovers.first()
        && s.outlier_detection.is_none()
    {
        diags.push(
            Diagnostic::new(Code::FailoverWithoutOutlierDetection, format!("service `{name}` fails over without outlier detection"))
                .primary(f.node, "failover needs outlier detection")
                .help("Istio ignores locality failover unless outlier detection can tell endpoints are unhealthy; add `outlier-detection consecutive-5xx=5 interval=\"10s\" base-ejection=\"30s\"`"),
        );
    }
    if cluster_local {
        let flag = s.cluster_local.as_ref().map_or(s.name.span, |c| c.span);
        let offending = s
            .failovers
            .first()
            .map(|f| (f.node, "fails over"))
            .into_iter()
            .chain(s.exports.first().map(|e| (e.span, "is exported")));
        for (span, what) in offending {
            diags.push(
                Diagnostic::new(Code::ClusterLocalPolicy, format!("service `{name}` is cluster-local but {what}"))
                    .primary(span, "traffic would have to leave the cluster")
                    .secondary(flag, "cluster-local here")
                    .help("a cluster-local service is only reached from its own cluster; remove `cluster-local=#true` or this setting"),
            );
        }
    }
    let mut exports = Vec::new();
    for e in &s.exports {
        if e.value == m.name.value {
            diags.push(
                Diagnostic::new(Code::ExportToOwnMesh, format!("service `{name}` is exported to its own mesh `{}`", e.value))
                    .primary(e.span, "its own mesh")
                    .help("every cluster of a mesh already reaches its services; `export to=` names another mesh"),
            );
        } else if let Some(idx) = ast.meshes.iter().position(|o| o.name.value == e.value) {
            exports.push(idx);
            // The imported host has no Kubernetes Service in the importing mesh; only its
            // sidecars' DNS proxy answers for it (from the ServiceEntry meshc renders there).
            let blocks: Vec<&ast::Mesh> = ast
                .meshes
                .iter()
                .filter(|o| o.name.value == e.value)
                .collect();
            if !blocks
                .iter()
                .any(|o| o.dns_proxy.as_ref().is_some_and(|d| d.value))
            {
                let mut d = Diagnostic::new(
                    Code::ImportWithoutDnsProxy,
                    format!("mesh `{}` imports `{name}` but does not proxy DNS, so `{}` does not resolve there", e.value, svc_fqdn(s)),
                )
                .primary(e.span, "imported here");
                d = match blocks.iter().find_map(|o| o.dns_proxy.as_ref()) {
                    Some(off) => d.secondary(off.span, "DNS proxying off"),
                    None => d.secondary(blocks[0].name.span, "no `dns-proxy #true`"),
                };
                diags.push(d.help(format!("add `dns-proxy #true` to mesh `{}`: its sidecars then answer for the imported name from the ServiceEntry", e.value)));
            }
        } else {
            diags.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!(
                        "service `{name}` is exported to `{}`, which is not a mesh",
                        e.value
                    ),
                )
                .primary(e.span, "unknown mesh")
                .suggest_or(
                    &e.value,
                    ast.meshes
                        .iter()
                        .map(|o| o.name.value.as_str())
                        .filter(|n| *n != m.name.value),
                    "declare the importing mesh with `mesh NAME { ... }`",
                ),
            );
        }
    }
    if !exports.is_empty() {
        for d in &deploys {
            let c = &mesh.clusters[d.cluster];
            if c.east_west_address.is_none() {
                diags.push(
                    Diagnostic::new(Code::ExportWithoutGateway, format!("exported service `{name}` runs in `{}`, which has no east-west address", c.name))
                        .primary(d.span, "other meshes reach this workload through its cluster's east-west gateway")
                        .secondary(c.span, "cluster declared here")
                        .help("add `east-west-address \"IP or host name\"` to the cluster: importing meshes send traffic to that gateway on port 15443"),
                );
            }
        }
    }
    if s.deploys.is_empty() {
        diags.push(
            Diagnostic::new(
                Code::ServiceWithoutDeploy,
                format!("service `{name}` runs in no cluster"),
            )
            .primary(s.name.span, "no `deploy`")
            .help("add `deploy CLUSTER` (with `image=` for meshc to render the workload)"),
        );
    }
    let outlier_detection = s.outlier_detection.as_ref().map(|o| OutlierDetection {
        consecutive_5xx: o.consecutive_5xx.as_ref().map_or(5, |v| v.value as u32),
        interval: o
            .interval
            .as_ref()
            .map_or("10s".to_string(), |v| v.value.clone()),
        base_ejection: o
            .base_ejection
            .as_ref()
            .map_or("30s".to_string(), |v| v.value.clone()),
        max_ejection_percent: o.max_ejection_percent.as_ref().map(|v| v.value as u32),
    });
    let connection_pool = s.connection_pool.as_ref().map(|p| ConnectionPool {
        max_connections: p.max_connections.as_ref().map(|v| v.value),
        max_pending_requests: p.max_pending_requests.as_ref().map(|v| v.value),
        max_requests: p.max_requests.as_ref().map(|v| v.value),
        max_retries: p.max_retries.as_ref().map(|v| v.value),
    });
    let load_balancer = s.load_balancer.as_ref().map(|l| {
        if l.algorithm.value == Balancer::ConsistentHash && l.header.is_none() {
            diags.push(
                Diagnostic::new(Code::MissingValue, "`load-balancer consistent-hash` needs `header=`")
                    .primary(l.algorithm.span, "hash on what?")
                    .help("name the request header whose value picks the endpoint: `load-balancer consistent-hash header=x-user`"),
            );
        } else if l.algorithm.value != Balancer::ConsistentHash
            && let Some(h) = &l.header
        {
            diags.push(
                Diagnostic::new(Code::UnknownProperty, "`header=` only goes with `load-balancer consistent-hash`")
                    .primary(h.span, "not used by this algorithm")
                    .help("remove `header=`, or use `consistent-hash`"),
            );
        }
        LoadBalancer { algorithm: l.algorithm.value, header: l.header.as_ref().map(|h| h.value.clone()) }
    });
    Some(Service {
        name: name.clone(),
        namespace: namespace.value.clone(),
        span: s.name.span,
        cluster_local,
        ports,
        deploys,
        route,
        failover,
        outlier_detection,
        connection_pool,
        load_balancer,
        exports,
    })
}

fn ports(s: &ast::Service, diags: &mut Vec<Diagnostic>) -> Vec<Port> {
    let mut out: Vec<Port> = Vec::new();
    for p in &s.ports {
        let name = &p.name.value;
        let protocol = PORT_PROTOCOLS
            .iter()
            .copied()
            .filter(|proto| name == proto || name.starts_with(&format!("{proto}-")))
            .max_by_key(|proto| proto.len());
        let Some(protocol) = protocol else {
            let prefix = name.split('-').next().unwrap_or(name);
            diags.push(
                Diagnostic::new(
                    Code::UnknownProtocol,
                    format!(
                        "port `{name}` of service `{}` does not name a protocol",
                        s.name.value
                    ),
                )
                .primary(
                    p.name.span,
                    "Istio selects the protocol by this name's prefix",
                )
                .suggest_or(
                    prefix,
                    PORT_PROTOCOLS.iter().copied(),
                    format!(
                        "start the name with one of {}, e.g. `http-{name}`",
                        PORT_PROTOCOLS.join(", ")
                    ),
                ),
            );
            continue;
        };
        if name.len() > 15 {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("port name `{name}` is longer than 15 characters"),
                )
                .primary(
                    p.name.span,
                    "Kubernetes container port names have at most 15 characters",
                )
                .help(format!("shorten it, e.g. `{protocol}`")),
            );
        }
        if let Some(first) = out
            .iter()
            .position(|q| q.name == *name || q.number as i64 == p.number.value)
        {
            let same_name = out[first].name == *name;
            let what = if same_name {
                format!("name `{name}`")
            } else {
                format!("number {}", p.number.value)
            };
            let earlier = s.ports.iter().find(|q| {
                if same_name {
                    q.name.value == *name
                } else {
                    q.number.value == p.number.value
                }
            });
            let (here, there) = match (same_name, earlier) {
                (true, Some(q)) => (p.name.span, q.name.span),
                (false, Some(q)) => (p.number.span, q.number.span),
                _ => (p.node, p.node),
            };
            diags.push(
                Diagnostic::new(
                    Code::DuplicatePort,
                    format!("service `{}` has two ports with {what}", s.name.value),
                )
                .primary(here, "used again here")
                .secondary(there, "first used here")
                .help("each port of a service needs its own name and number"),
            );
            continue;
        }
        let number = p.number.value as u16;
        out.push(Port {
            name: name.clone(),
            number,
            target: p.target_port.as_ref().map_or(number, |t| t.value as u16),
            protocol,
        });
    }
    out
}

fn deploys(
    ast: &ast::Ast,
    m: &ast::Mesh,
    mesh: &Mesh,
    s: &ast::Service,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Deploy> {
    let mut out: Vec<Deploy> = Vec::new();
    for d in &s.deploys {
        let cname = &d.cluster.value;
        let Some(i) = mesh.cluster_index(cname) else {
            if let Some(other) = ast
                .meshes
                .iter()
                .find(|o| o.clusters.iter().any(|c| c.name.value == *cname))
            {
                let decl = other
                    .clusters
                    .iter()
                    .find(|c| c.name.value == *cname)
                    .map(|c| c.name.span);
                let mut diag = Diagnostic::new(Code::DeployOutsideMesh, format!("service `{}` of mesh `{}` is placed in `{cname}`, a cluster of mesh `{}`", s.name.value, m.name.value, other.name.value))
                    .primary(d.cluster.span, "cluster of another mesh")
                    .help(format!("a service runs in clusters of its own mesh: declare it inside mesh `{}`, or run it in a cluster of `{}` and reach it from `{}` with `export to={}`", other.name.value, m.name.value, other.name.value, other.name.value));
                if let Some(span) = decl {
                    diag = diag.secondary(span, format!("declared in mesh `{}`", other.name.value));
                }
                diags.push(diag);
            } else {
                diags.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        format!(
                            "service `{}` is placed in `{cname}`, which is not a cluster",
                            s.name.value
                        ),
                    )
                    .primary(d.cluster.span, "unknown cluster")
                    .suggest_or(
                        cname,
                        mesh.clusters.iter().map(|c| c.name.as_str()),
                        format!(
                            "the clusters of mesh `{}` are {}",
                            m.name.value,
                            mesh.clusters
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                );
            }
            continue;
        };
        if mesh.clusters[i].role == Role::External {
            diags.push(
                Diagnostic::new(Code::WorkloadOnExternal, format!("service `{}` is placed in `{cname}`, an external control plane", s.name.value))
                    .primary(d.cluster.span, "runs no mesh workloads")
                    .secondary(mesh.clusters[i].span, "declared here")
                    .help("an external control-plane cluster only hosts istiod; place the service in one of its remote clusters"),
            );
            continue;
        }
        let version = d.version.as_ref().map(|v| v.value.clone());
        if let Some(first) = out.iter().find(|o| o.cluster == i && o.version == version) {
            let what = version
                .as_deref()
                .map_or(String::new(), |v| format!(" version `{v}`"));
            diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!(
                        "service `{}`{what} is placed in `{cname}` twice",
                        s.name.value
                    ),
                )
                .primary(d.node, "placed again here")
                .secondary(first.span, "first placed here")
                .help("one `deploy` per cluster and version; raise `replicas=` instead"),
            );
            continue;
        }
        out.push(Deploy {
            cluster: i,
            version,
            replicas: d.replicas.as_ref().map_or(1, |r| r.value as u32),
            image: d.image.as_ref().map(|i| i.value.clone()),
            span: d.node,
        });
    }
    out
}

fn route(
    m: &ast::Mesh,
    mesh: &Mesh,
    s: &ast::Service,
    r: &ast::Route,
    versions: &[&str],
    deploys: &[Deploy],
    diags: &mut Vec<Diagnostic>,
) -> Route {
    let name = &s.name.value;
    let undeployed = |v: &Spanned<String>, diags: &mut Vec<Diagnostic>| {
        if !versions.contains(&v.value.as_str()) {
            let listing = if versions.is_empty() {
                "no `deploy` of it has `version=`".to_string()
            } else {
                format!("its versions are {}", versions.join(", "))
            };
            diags.push(
                Diagnostic::new(
                    Code::UndeployedVersion,
                    format!("service `{name}` has no version `{}`", v.value),
                )
                .primary(v.span, "no cluster runs this version")
                .suggest_or(
                    &v.value,
                    versions.iter().copied(),
                    format!("{listing}; add `deploy CLUSTER version={}`", v.value),
                ),
            );
            false
        } else {
            true
        }
    };
    let mut matches = Vec::new();
    for mt in &r.matches {
        let target = match (&mt.version, &mt.cluster) {
            (Some(v), None) => undeployed(v, diags).then(|| Target::Version(v.value.clone())),
            (None, Some(c)) => {
                let runs = mesh
                    .cluster_index(&c.value)
                    .is_some_and(|i| deploys.iter().any(|d| d.cluster == i));
                if runs {
                    Some(Target::Cluster(c.value.clone()))
                } else {
                    let placed: Vec<&str> = deploys
                        .iter()
                        .map(|d| mesh.clusters[d.cluster].name.as_str())
                        .collect();
                    diags.push(
                        Diagnostic::new(
                            Code::RouteToUnplacedCluster,
                            format!(
                                "route of `{name}` sends traffic to `{}`, which does not run it",
                                c.value
                            ),
                        )
                        .primary(c.span, "no `deploy` of the service here")
                        .suggest_or(
                            &c.value,
                            placed.iter().copied(),
                            format!(
                                "it runs in {}",
                                if placed.is_empty() {
                                    "no cluster".to_string()
                                } else {
                                    placed.join(", ")
                                }
                            ),
                        ),
                    );
                    None
                }
            }
            (Some(_), Some(c)) => {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        "a `match` sends traffic to a version or to a cluster, not both",
                    )
                    .primary(c.span, "second destination")
                    .help("split it into two `match` nodes"),
                );
                None
            }
            (None, None) => {
                diags.push(
                    Diagnostic::new(
                        Code::MissingValue,
                        "`match` needs a destination: `version=` or `cluster=`",
                    )
                    .primary(mt.node, "where do matching requests go?")
                    .help("e.g. `match header=\"x-canary\" exact=\"true\" version=v2`"),
                );
                None
            }
        };
        let header = match (&mt.header, &mt.value) {
            (Some(h), Some((kind, v))) => {
                Some((h.value.to_ascii_lowercase(), *kind, v.value.clone()))
            }
            (None, None) => None,
            (Some(h), None) => {
                diags.push(
                    Diagnostic::new(
                        Code::MissingValue,
                        format!("header `{}` is matched against nothing", h.value),
                    )
                    .primary(h.span, "no `exact=`, `prefix=` or `regex=`")
                    .help("add the value to match, e.g. `exact=\"true\"`"),
                );
                None
            }
            (None, Some((_, v))) => {
                diags.push(
                    Diagnostic::new(Code::MissingValue, "a header value without `header=`")
                        .primary(v.span, "which header?")
                        .help("name the header: `header=\"x-canary\"`"),
                );
                None
            }
        };
        if let Some(sc) = &mt.source_cluster
            && mesh.cluster_index(&sc.value).is_none()
        {
            diags.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!(
                        "`source-cluster={}` is not a cluster of mesh `{}`",
                        sc.value, m.name.value
                    ),
                )
                .primary(sc.span, "unknown cluster")
                .suggest_or(
                    &sc.value,
                    mesh.clusters.iter().map(|c| c.name.as_str()),
                    "name a cluster of the mesh",
                ),
            );
        }
        if let Some(target) = target {
            matches.push(RouteMatch {
                header,
                source_cluster: mt.source_cluster.as_ref().map(|s| s.value.clone()),
                target,
            });
        }
    }
    let mut weights = Vec::new();
    if let Some(w) = &r.weights {
        let (span, ws) = (&w.node, &w.split);
        let total: i64 = ws.iter().map(|(_, w)| w.value).sum();
        if total != 100 && !ws.is_empty() {
            let parts: Vec<String> = ws
                .iter()
                .map(|(v, w)| format!("{}={}", v.value, w.value))
                .collect();
            diags.push(
                Diagnostic::new(
                    Code::WeightsNot100,
                    format!("the weights of `{name}` sum to {total}, not 100"),
                )
                .primary(*span, format!("{} = {total}", parts.join(" + ")))
                .help("weights are percentages of the traffic: make them sum to 100"),
            );
        }
        if ws.is_empty() {
            diags.push(
                Diagnostic::new(Code::MissingValue, "`weight` names no version")
                    .primary(*span, "empty split")
                    .help("e.g. `weight v1=90 v2=10`"),
            );
        }
        for (v, w) in ws {
            if undeployed(v, diags) {
                weights.push((v.value.clone(), w.value as u32));
            }
        }
    }
    let retries = r.retries.as_ref().map(|rt| Retries {
        attempts: rt.attempts.value as u32,
        per_try_timeout: rt.per_try_timeout.as_ref().map(|t| t.value.clone()),
        on: rt.on.as_ref().map(|o| o.value.clone()),
    });
    Route {
        matches,
        weights,
        timeout: r.timeout.as_ref().map(|t| t.value.clone()),
        retries,
    }
}

fn externals(m: &ast::Mesh, mesh: &mut Mesh, diags: &mut Vec<Diagnostic>) {
    for e in first_declarations(&m.externals, |e| &e.name, "external", diags) {
        let (Some(host), Some(port), Some(protocol)) = (&e.host, &e.port, &e.protocol) else {
            continue;
        };
        if !super::mesh::is_dns_name(&host.value) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a DNS name", host.value),
                )
                .primary(host.span, "expected a host such as api.stripe.com")
                .help("give the external service's DNS name, without scheme, port or path"),
            );
            continue;
        }
        mesh.externals.push(External {
            name: e.name.value.clone(),
            host: host.value.clone(),
            port: port.value as u16,
            protocol: protocol.value.clone(),
            span: e.name.span,
        });
    }
}

/// The longest Helm release name: Helm refuses longer ones (`maxReleaseNameLen = 53` in
/// helm `pkg/chartutil/validate_name.go`), because the chart's objects and their labels
/// are named after the release and must fit Kubernetes' 63-character limits.
const MAX_RELEASE_NAME: usize = 53;

fn ingresses(m: &ast::Mesh, mesh: &mut Mesh, diags: &mut Vec<Diagnostic>) {
    for ing in first_declarations(&m.ingresses, |g| &g.name, "ingress", diags) {
        let release = crate::render::ingress_gateway_name(&ing.name.value);
        if release.len() > MAX_RELEASE_NAME {
            diags.push(
                Diagnostic::new(
                    Code::InvalidName,
                    format!(
                        "ingress `{}` is too long: its gateway's Helm release `{release}` would have {} characters",
                        ing.name.value,
                        release.len()
                    ),
                )
                .primary(
                    ing.name.span,
                    format!(
                        "at most {} characters",
                        MAX_RELEASE_NAME - (release.len() - ing.name.value.len())
                    ),
                )
                .help(format!(
                    "Helm release names have at most {MAX_RELEASE_NAME} characters; use a shorter ingress name"
                )),
            );
            continue;
        }
        let Some(cluster) = &ing.cluster else {
            continue;
        };
        let Some(ci) = mesh.cluster_index(&cluster.value) else {
            diags.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!(
                        "ingress `{}` runs in `{}`, which is not a cluster of mesh `{}`",
                        ing.name.value, cluster.value, m.name.value
                    ),
                )
                .primary(cluster.span, "unknown cluster")
                .suggest_or(
                    &cluster.value,
                    mesh.clusters.iter().map(|c| c.name.as_str()),
                    "name a cluster of the mesh",
                ),
            );
            continue;
        };
        if mesh.clusters[ci].role == Role::External {
            diags.push(
                Diagnostic::new(
                    Code::WorkloadOnExternal,
                    format!(
                        "ingress `{}` runs in `{}`, an external control plane",
                        ing.name.value, cluster.value
                    ),
                )
                .primary(cluster.span, "runs no mesh workloads")
                .help("run the ingress gateway in one of the mesh's workload clusters"),
            );
            continue;
        }
        if ing.hosts.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::MissingValue,
                    format!("ingress `{}` serves no host", ing.name.value),
                )
                .primary(ing.name.span, "no `host`")
                .help("add `host \"shop.acme.io\" tls-secret=shop-cert`"),
            );
        }
        let mut routes = Vec::new();
        for r in &ing.routes {
            let Some(service) = &r.service else { continue };
            // `name`, or `namespace/name`.
            let (want_ns, want) = match service.value.split_once('/') {
                Some((ns, name)) => (Some(ns), name),
                None => (None, service.value.as_str()),
            };
            let fits: Vec<usize> = (0..mesh.services.len())
                .filter(|&i| {
                    let s = &mesh.services[i];
                    s.name == want && want_ns.is_none_or(|ns| s.namespace == ns)
                })
                .collect();
            if fits.len() > 1 {
                let names: Vec<String> = fits
                    .iter()
                    .map(|&i| format!("`{}/{}`", mesh.services[i].namespace, want))
                    .collect();
                diags.push(
                    Diagnostic::new(
                        Code::AmbiguousReference,
                        format!(
                            "ingress route `{}` goes to `{want}`, which is a service in {} namespaces",
                            r.prefix.value,
                            fits.len()
                        ),
                    )
                    .primary(service.span, format!("could be {}", names.join(" or ")))
                    .help(format!("say which: `service=\"{}\"`", names[0].trim_matches('`'))),
                );
                continue;
            }
            let Some(&si) = fits.first() else {
                diags.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        format!(
                            "ingress route `{}` goes to `{}`, which is not a service of mesh `{}`",
                            r.prefix.value, service.value, m.name.value
                        ),
                    )
                    .primary(service.span, "unknown service")
                    .suggest_or(
                        &service.value,
                        mesh.services.iter().map(|s| s.name.as_str()),
                        "declare the service in the mesh",
                    ),
                );
                continue;
            };
            let svc = &mesh.services[si];
            let port = match &r.port {
                Some(p) if svc.ports.iter().any(|q| q.number as i64 == p.value) => p.value as u16,
                Some(p) => {
                    diags.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            format!("service `{}` has no port {}", svc.name, p.value),
                        )
                        .primary(p.span, "not a port of the service")
                        .help(format!(
                            "its ports are {}",
                            svc.ports
                                .iter()
                                .map(|q| q.number.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                    continue;
                }
                None => match svc.ports.first() {
                    Some(p) => p.number,
                    None => {
                        diags.push(
                            Diagnostic::new(
                                Code::MissingValue,
                                format!("ingress route to `{}`, which has no port", svc.name),
                            )
                            .primary(service.span, "service without a port")
                            .help("give the service a port: `port http 8080`"),
                        );
                        continue;
                    }
                },
            };
            if !r.prefix.value.starts_with('/') {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("route prefix `{}` is not a path", r.prefix.value),
                    )
                    .primary(r.prefix.span, "expected a path starting with `/`")
                    .help("e.g. `route \"/\" service=checkout`"),
                );
                continue;
            }
            routes.push(IngressRoute {
                prefix: r.prefix.value.clone(),
                service: si,
                port,
            });
        }
        mesh.ingresses.push(Ingress {
            name: ing.name.value.clone(),
            cluster: ci,
            hosts: ing
                .hosts
                .iter()
                .filter_map(|h| Some((h.host.value.clone(), h.tls_secret.as_ref()?.value.clone())))
                .collect(),
            routes,
            span: ing.name.span,
        });
    }
}

/// The collector's host name as istiod's registry has it: a Kubernetes Service as
/// `name.namespace.svc.cluster.local` (written `name.namespace`, `name.namespace.svc` or in
/// full), or the host of an `external` (a ServiceEntry). istiod looks a provider up by the
/// exact name (pilot/pkg/model/telemetry_logging.go, LookupCluster), so anything else
/// configures no tracing at all.
fn registry_host(host: &str, externals: &[&str]) -> Result<String, &'static str> {
    let labels = host.split('.').count();
    if externals.contains(&host) || host.ends_with(".svc.cluster.local") && labels == 5 {
        Ok(host.to_string())
    } else if host.ends_with(".svc") && labels == 3 {
        Ok(format!("{host}.cluster.local"))
    } else if labels == 2 {
        Ok(format!("{host}.svc.cluster.local"))
    } else if labels == 1 {
        Err("names no namespace")
    } else {
        Err("is neither a Service (`name.namespace`) nor the host of an `external` of the mesh")
    }
}

/// `name.namespace.svc.cluster.local` of a declared service.
fn svc_fqdn(s: &ast::Service) -> String {
    let ns = s.namespace.as_ref().map_or("default", |n| n.value.as_str());
    format!("{}.{ns}.svc.cluster.local", s.name.value)
}

fn telemetry(m: &ast::Mesh, diags: &mut Vec<Diagnostic>) -> Option<Telemetry> {
    let t = m.telemetry.as_ref()?;
    let tracing = match (&t.tracing_sampling, &t.tracing_endpoint) {
        (Some(s), Some(e)) => Some((s.value, e.value.clone())),
        (None, None) => None,
        (Some(s), None) => {
            diags.push(
                Diagnostic::new(Code::MissingValue, "`tracing-sampling` needs `tracing-endpoint=`")
                    .primary(s.span, "traced requests go where?")
                    .help("name the OpenTelemetry collector: `tracing-endpoint=\"otel-collector.observability:4317\"`"),
            );
            None
        }
        (None, Some(e)) => {
            diags.push(
                Diagnostic::new(
                    Code::MissingValue,
                    "`tracing-endpoint` needs `tracing-sampling=`",
                )
                .primary(e.span, "how many requests are traced?")
                .help("give the percentage: `tracing-sampling=1.0`"),
            );
            None
        }
    };
    let span = t.tracing_endpoint.as_ref().map_or(t.node, |e| e.span);
    let tracing = tracing.and_then(|(sampling, endpoint)| {
        let Some((h, p)) = endpoint.rsplit_once(':').filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) else {
            diags.push(
                Diagnostic::new(Code::InvalidValue, format!("`{endpoint}` is not host:port"))
                    .primary(span, "expected host:port")
                    .help("e.g. \"otel-collector.observability:4317\""),
            );
            return None;
        };
        let externals: Vec<&str> = m.externals.iter().filter_map(|x| Some(x.host.as_ref()?.value.as_str())).collect();
        match registry_host(h, &externals) {
            Ok(host) => Some(Tracing { sampling, host, port: p.parse().unwrap_or(4317) }),
            Err(why) => {
                diags.push(
                    Diagnostic::new(Code::InvalidValue, format!("tracing endpoint `{h}` {why}"))
                        .primary(span, "istiod looks the collector up by this name")
                        .help("name the collector's Service as `name.namespace` (e.g. \"otel-collector.observability:4317\"), or declare a collector outside the cluster with `external` and use its host"),
                );
                None
            }
        }
    });
    Some(Telemetry {
        access_log: t.access_log.as_ref().is_some_and(|a| a.value),
        tracing,
        span: t.node,
    })
}
