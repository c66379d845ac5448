//! Lowering of what runs in a mesh and how traffic reaches it: `service` (ports,
//! placement, routes, resilience, export), `external`, `ingress`, `telemetry`.

use crate::syntax::tree::Node;

use super::reader::{Cx, NodeReader};
use super::schema as s;
use super::{no_children, single_arg};
use crate::ast::*;
use crate::source::Span;

/// Fills `slot` from `node` unless it was filled before (then reports the repetition).
fn once<T>(
    cx: &mut Cx,
    slot: &mut Option<T>,
    span: impl Fn(&T) -> Span,
    node: &Node,
    lower: impl FnOnce(&mut Cx) -> Option<T>,
) {
    let first = slot.as_ref().map(&span);
    if !cx.duplicate(slot, first, node) {
        *slot = lower(cx);
    }
}

pub fn service(cx: &mut Cx, node: &Node) -> Option<Service> {
    let mut r = NodeReader::new(node, &s::SERVICE);
    let name = r.arg_str(cx, 0);
    let mut svc = Service {
        node: r.name_span(),
        name: name
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        namespace: r.prop_str(cx, "namespace"),
        cluster_local: r.prop_bool(cx, "cluster-local"),
        ports: Vec::new(),
        deploys: Vec::new(),
        route: None,
        failovers: Vec::new(),
        outlier_detection: None,
        connection_pool: None,
        load_balancer: None,
        exports: Vec::new(),
    };
    let children = r.children();
    r.finish(cx);
    for child in children {
        match child.name.value.as_str() {
            "port" => svc.ports.extend(port(cx, child)),
            "deploy" => svc.deploys.extend(deploy(cx, child)),
            "route" => once(cx, &mut svc.route, |r| r.node, child, |cx| route(cx, child)),
            "failover" => svc.failovers.extend(failover(cx, child)),
            "outlier-detection" => once(
                cx,
                &mut svc.outlier_detection,
                |o| o.node,
                child,
                |cx| Some(outlier(cx, child)),
            ),
            "connection-pool" => once(
                cx,
                &mut svc.connection_pool,
                |p| p.node,
                child,
                |cx| Some(pool(cx, child)),
            ),
            "load-balancer" => once(
                cx,
                &mut svc.load_balancer,
                |l| l.node,
                child,
                |cx| load_balancer(cx, child),
            ),
            "export" => {
                let mut cr = NodeReader::new(child, &s::EXPORT);
                let to = cr.prop_str(cx, "to");
                no_children(cx, &cr);
                cr.finish(cx);
                svc.exports.extend(to);
            }
            _ => cx.unknown_node(child, &s::SERVICE),
        }
    }
    name.map(|_| svc)
}

fn port(cx: &mut Cx, node: &Node) -> Option<Port> {
    let mut r = NodeReader::new(node, &s::PORT_NODE);
    let name = r.arg_str(cx, 0);
    let number = r.arg_int(cx, 1);
    let target_port = r.prop_int(cx, "target-port");
    no_children(cx, &r);
    let span = r.name_span();
    r.finish(cx);
    Some(Port {
        node: span,
        name: name?,
        number: number?,
        target_port,
    })
}

fn deploy(cx: &mut Cx, node: &Node) -> Option<Deploy> {
    let mut r = NodeReader::new(node, &s::DEPLOY);
    let cluster = r.arg_str(cx, 0);
    let d = Deploy {
        node: r.name_span(),
        cluster: cluster
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        version: r.prop_str(cx, "version"),
        replicas: r.prop_int(cx, "replicas"),
        image: r.prop_str(cx, "image"),
    };
    no_children(cx, &r);
    r.finish(cx);
    cluster.map(|_| d)
}

fn route(cx: &mut Cx, node: &Node) -> Option<Route> {
    let r = NodeReader::new(node, &s::ROUTE);
    let mut route = Route {
        node: r.name_span(),
        matches: Vec::new(),
        weights: None,
        timeout: None,
        retries: None,
    };
    let children = r.children();
    r.finish(cx);
    for child in children {
        match child.name.value.as_str() {
            "match" => route.matches.push(route_match(cx, child)),
            "weight" => once(
                cx,
                &mut route.weights,
                |w| w.node,
                child,
                |cx| {
                    let mut wr = NodeReader::new(child, &s::WEIGHT);
                    let weights = wr.free_ints(cx);
                    no_children(cx, &wr);
                    let span = wr.name_span();
                    wr.finish(cx);
                    Some(Weights {
                        node: span,
                        split: weights,
                    })
                },
            ),
            "timeout" => once(
                cx,
                &mut route.timeout,
                |t| t.span,
                child,
                |cx| single_arg(cx, child, &s::TIMEOUT),
            ),
            "retries" => once(
                cx,
                &mut route.retries,
                |r| r.node,
                child,
                |cx| {
                    let mut rr = NodeReader::new(child, &s::RETRIES);
                    let attempts = rr.arg_int(cx, 0);
                    let retries = attempts.map(|attempts| Retries {
                        node: rr.name_span(),
                        attempts,
                        per_try_timeout: None,
                        on: None,
                    });
                    let per_try_timeout = rr.prop_str(cx, "per-try-timeout");
                    let on = rr.prop_str(cx, "on");
                    no_children(cx, &rr);
                    rr.finish(cx);
                    retries.map(|r| Retries {
                        per_try_timeout,
                        on,
                        ..r
                    })
                },
            ),
            _ => cx.unknown_node(child, &s::ROUTE),
        }
    }
    Some(route)
}

fn route_match(cx: &mut Cx, node: &Node) -> Match {
    let mut r = NodeReader::new(node, &s::MATCH);
    let header = r.prop_str(cx, "header");
    let mut value = None;
    for (key, kind) in [
        ("exact", HeaderMatch::Exact),
        ("prefix", HeaderMatch::Prefix),
        ("regex", HeaderMatch::Regex),
    ] {
        if let Some(v) = r.prop_str(cx, key) {
            if value.is_some() {
                cx.report(
                    crate::diag::Diagnostic::new(
                        crate::diag::Code::InvalidValue,
                        "a header match takes one of `exact=`, `prefix=` or `regex=`",
                    )
                    .primary(v.span, "second way of matching")
                    .help("split it into two `match` nodes"),
                );
            } else {
                value = Some((kind, v));
            }
        }
    }
    let m = Match {
        node: r.name_span(),
        header,
        value,
        source_cluster: r.prop_str(cx, "source-cluster"),
        version: r.prop_str(cx, "version"),
        cluster: r.prop_str(cx, "cluster"),
    };
    no_children(cx, &r);
    r.finish(cx);
    m
}

fn failover(cx: &mut Cx, node: &Node) -> Option<Failover> {
    let mut r = NodeReader::new(node, &s::FAILOVER);
    let from = r.prop_str(cx, "from");
    let to = r.prop_str(cx, "to");
    no_children(cx, &r);
    let span = r.name_span();
    r.finish(cx);
    Some(Failover {
        node: span,
        from: from?,
        to: to?,
    })
}

fn outlier(cx: &mut Cx, node: &Node) -> OutlierDetection {
    let mut r = NodeReader::new(node, &s::OUTLIER_DETECTION);
    let o = OutlierDetection {
        node: r.name_span(),
        consecutive_5xx: r.prop_int(cx, "consecutive-5xx"),
        interval: r.prop_str(cx, "interval"),
        base_ejection: r.prop_str(cx, "base-ejection"),
        max_ejection_percent: r.prop_int(cx, "max-ejection-percent"),
    };
    no_children(cx, &r);
    r.finish(cx);
    o
}

fn pool(cx: &mut Cx, node: &Node) -> ConnectionPool {
    let mut r = NodeReader::new(node, &s::CONNECTION_POOL);
    let p = ConnectionPool {
        node: r.name_span(),
        max_connections: r.prop_int(cx, "max-connections"),
        max_pending_requests: r.prop_int(cx, "max-pending-requests"),
        max_requests: r.prop_int(cx, "max-requests"),
        max_retries: r.prop_int(cx, "max-retries"),
    };
    no_children(cx, &r);
    r.finish(cx);
    p
}

fn load_balancer(cx: &mut Cx, node: &Node) -> Option<LoadBalancer> {
    let mut r = NodeReader::new(node, &s::LOAD_BALANCER);
    let algorithm = r.arg_str(cx, 0).map(|a| {
        let b = match a.value.as_str() {
            "least-request" => Balancer::LeastRequest,
            "random" => Balancer::Random,
            "consistent-hash" => Balancer::ConsistentHash,
            _ => Balancer::RoundRobin,
        };
        Spanned::new(b, a.span)
    });
    let header = r.prop_str(cx, "header");
    no_children(cx, &r);
    let span = r.name_span();
    r.finish(cx);
    Some(LoadBalancer {
        node: span,
        algorithm: algorithm?,
        header,
    })
}

pub fn external(cx: &mut Cx, node: &Node) -> Option<External> {
    let mut r = NodeReader::new(node, &s::EXTERNAL);
    let name = r.arg_str(cx, 0);
    let e = External {
        node: r.name_span(),
        name: name
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        host: r.prop_str(cx, "host"),
        port: r.prop_int(cx, "port"),
        protocol: r.prop_str(cx, "protocol"),
    };
    no_children(cx, &r);
    r.finish(cx);
    name.map(|_| e)
}

pub fn ingress(cx: &mut Cx, node: &Node) -> Option<Ingress> {
    let mut r = NodeReader::new(node, &s::INGRESS);
    let name = r.arg_str(cx, 0);
    let mut ing = Ingress {
        node: r.name_span(),
        name: name
            .clone()
            .unwrap_or_else(|| Spanned::new(String::new(), r.name_span())),
        cluster: r.prop_str(cx, "cluster"),
        hosts: Vec::new(),
        routes: Vec::new(),
    };
    let children = r.children();
    r.finish(cx);
    for child in children {
        match child.name.value.as_str() {
            "host" => {
                let mut hr = NodeReader::new(child, &s::INGRESS_HOST);
                let host = hr.arg_str(cx, 0);
                let tls_secret = hr.prop_str(cx, "tls-secret");
                no_children(cx, &hr);
                hr.finish(cx);
                ing.hosts
                    .extend(host.map(|host| IngressHost { host, tls_secret }));
            }
            "route" => {
                let mut rr = NodeReader::new(child, &s::INGRESS_ROUTE);
                let prefix = rr.arg_str(cx, 0);
                let service = rr.prop_str(cx, "service");
                let port = rr.prop_int(cx, "port");
                no_children(cx, &rr);
                let span = rr.name_span();
                rr.finish(cx);
                ing.routes.extend(prefix.map(|prefix| IngressRoute {
                    node: span,
                    prefix,
                    service,
                    port,
                }));
            }
            _ => cx.unknown_node(child, &s::INGRESS),
        }
    }
    name.map(|_| ing)
}

pub fn telemetry(cx: &mut Cx, node: &Node) -> Option<Telemetry> {
    let mut r = NodeReader::new(node, &s::TELEMETRY);
    let t = Telemetry {
        node: r.name_span(),
        access_log: r.prop_bool(cx, "access-log"),
        tracing_sampling: r.prop_num(cx, "tracing-sampling"),
        tracing_endpoint: r.prop_str(cx, "tracing-endpoint"),
    };
    no_children(cx, &r);
    r.finish(cx);
    Some(t)
}
