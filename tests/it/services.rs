//! Services, placement and traffic (issue 3's acceptance, and the reference's 9.7
//! traffic checklist), asserted on the parsed output of the examples.

use serde_json::Value;

use crate::common::{compile_text, examples, output_of, root};
use crate::models::Out;

/// A file without its two-line provenance header.
fn body(o: &Out, path: &str) -> String {
    o.doc_text(path)
        .lines()
        .skip(2)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn full_example_aws_east_has_the_checkout_service_as_the_topology_describes() {
    let o = Out::of("full");
    let dep = o.doc("clusters/aws-east/services/deployment-checkout-v1.shop.yaml");
    assert_eq!(dep["spec"]["replicas"], 3);
    assert_eq!(
        dep["spec"]["template"]["metadata"]["labels"]["app"],
        "checkout"
    );
    assert_eq!(
        dep["spec"]["template"]["metadata"]["labels"]["version"],
        "v1"
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/checkout:1.4.0"
    );
    let svc = o.doc("clusters/aws-east/services/service-checkout.shop.yaml");
    let ports: Vec<(&str, i64)> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or(""),
                p["port"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [("http", 8080), ("grpc", 9090)],
        "port names follow Istio's protocol prefixes"
    );

    let dr = o.doc("clusters/aws-east/services/destinationrule-checkout.shop.yaml");
    assert_eq!(dr["spec"]["host"], "checkout.shop.svc.cluster.local");
    let subsets: Vec<&str> = dr["spec"]["subsets"]
        .as_array()
        .expect("subsets")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(subsets, ["v1", "v2"]);
    let tp = &dr["spec"]["trafficPolicy"];
    assert_eq!(
        tp["loadBalancer"]["localityLbSetting"]["failover"][0]["from"],
        "us-east-1"
    );
    assert_eq!(
        tp["loadBalancer"]["localityLbSetting"]["failover"][0]["to"],
        "us-west1"
    );
    assert_eq!(tp["outlierDetection"]["consecutive5xxErrors"], 5);
    assert_eq!(tp["connectionPool"]["tcp"]["maxConnections"], 100);
    assert_eq!(tp["connectionPool"]["http"]["http1MaxPendingRequests"], 50);
    assert_eq!(tp["loadBalancer"]["simple"], "LEAST_REQUEST");

    let vs = o.doc("clusters/aws-east/services/virtualservice-checkout.shop.yaml");
    let http = vs["spec"]["http"].as_array().expect("http routes");
    assert_eq!(http[0]["match"][0]["headers"]["x-canary"]["exact"], "true");
    assert_eq!(http[0]["route"][0]["destination"]["subset"], "v2");
    let split: Vec<(&str, i64)> = http[1]["route"]
        .as_array()
        .expect("split")
        .iter()
        .map(|r| {
            (
                r["destination"]["subset"].as_str().unwrap_or(""),
                r["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(split, [("v1", 90), ("v2", 10)]);
    for r in http {
        assert_eq!(r["timeout"], "10s");
        assert_eq!(r["retries"]["attempts"], 3);
        assert_eq!(r["retries"]["perTryTimeout"], "2s");
        assert_eq!(r["retries"]["retryOn"], "5xx,reset");
    }

    // The same mesh configuration on the other primary; none on the remote.
    for f in [
        "destinationrule-checkout.shop.yaml",
        "virtualservice-checkout.shop.yaml",
    ] {
        assert_eq!(
            body(&o, &format!("clusters/aws-east/services/{f}")),
            body(&o, &format!("clusters/gcp-west/services/{f}")),
            "{f}"
        );
        assert!(
            !o.has(&format!("clusters/gcp-west-b/services/{f}")),
            "the remote reads its primary's configuration"
        );
    }
    // gcp-west runs v2 only.
    assert!(o.has("clusters/gcp-west/services/deployment-checkout-v2.shop.yaml"));
    assert!(!o.has("clusters/gcp-west/services/deployment-checkout-v1.shop.yaml"));
}

#[test]
fn full_example_ingress_external_and_telemetry() {
    let o = Out::of("full");
    let app = o.doc("argocd/aws-east/application-aws-east-istio-ingress-public.argocd.yaml");
    assert_eq!(app["spec"]["destination"]["namespace"], "istio-ingress");
    assert_eq!(app["spec"]["source"]["chart"], "gateway");
    assert_eq!(
        app["spec"]["source"]["helm"]["valuesObject"]["name"],
        "istio-ingress-public"
    );
    let gw = o.doc("clusters/aws-east/services/gateway-public.istio-ingress.yaml");
    assert_eq!(
        gw["spec"]["selector"]["istio"], "ingress-public",
        "the gateway chart's `istio` label is the name without `istio-`"
    );
    let https = gw["spec"]["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["port"]["number"] == 443)
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(https["tls"]["mode"], "SIMPLE");
    assert_eq!(https["tls"]["credentialName"], "shop-cert");
    assert_eq!(https["hosts"][0], "shop.acme.io");
    let vs = o.doc("clusters/aws-east/services/virtualservice-public.istio-ingress.yaml");
    assert_eq!(vs["spec"]["gateways"][0], "istio-ingress/public");
    assert_eq!(
        vs["spec"]["http"][0]["route"][0]["destination"]["host"],
        "checkout.shop.svc.cluster.local"
    );
    assert_eq!(
        vs["spec"]["http"][0]["route"][0]["destination"]["port"]["number"],
        8080
    );
    assert!(
        !o.has("clusters/gcp-west/services/gateway-public.istio-ingress.yaml"),
        "only the istiod that configures the ingress cluster gets its Gateway"
    );

    for c in ["aws-east", "gcp-west"] {
        let se = o.doc(&format!(
            "clusters/{c}/services/serviceentry-stripe.istio-system.yaml"
        ));
        assert_eq!(se["spec"]["location"], "MESH_EXTERNAL");
        assert_eq!(se["spec"]["resolution"], "DNS");
        assert_eq!(se["spec"]["hosts"][0], "api.stripe.com");
        assert_eq!(se["spec"]["ports"][0]["number"], 443);
        assert_eq!(se["spec"]["ports"][0]["protocol"], "TLS");
        let t = o.doc(&format!(
            "clusters/{c}/mesh/telemetry-mesh-default.istio-system.yaml"
        ));
        assert_eq!(t["apiVersion"], "telemetry.istio.io/v1");
        assert_eq!(
            t["spec"]["accessLogging"][0]["providers"][0]["name"],
            "envoy"
        );
        assert_eq!(t["spec"]["tracing"][0]["randomSamplingPercentage"], 1.0);
        let mc = &o.values(c, "istiod")["meshConfig"];
        let providers: Vec<&str> = mc["extensionProviders"]
            .as_array()
            .expect("providers")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(providers, ["envoy", "otel-tracing"]);
        // istiod finds the collector by its exact registry host name
        // (pilot/pkg/model/telemetry_logging.go LookupCluster); `name.namespace` finds
        // nothing, and tracing is silently off.
        assert_eq!(
            mc["extensionProviders"][1]["opentelemetry"]["service"],
            "otel-collector.observability.svc.cluster.local"
        );
        assert_eq!(mc["extensionProviders"][1]["opentelemetry"]["port"], 4317);
        // Cluster-local `ledger` in every primary.
        assert_eq!(mc["serviceSettings"][0]["settings"]["clusterLocal"], true);
        assert_eq!(
            mc["serviceSettings"][0]["hosts"][0],
            "ledger.shop.svc.cluster.local"
        );
    }
}

/// The tracing provider's service as istiod's registry names it, whatever form names it;
/// a name istiod cannot find is an error, not tracing silently off.
#[test]
fn tracing_endpoints_become_registry_host_names() {
    let topology = |endpoint: &str, external: &str| {
        format!(
            r#"istio version="1.30.4"
gitops flux
mesh prod {{
    cluster c1 {{
        control-plane primary
    }}
    {external}
    telemetry tracing-sampling=1.0 tracing-endpoint="{endpoint}"
}}
"#
        )
    };
    let external = r#"external collector host="otel.example.com" port=4317 protocol=grpc"#;
    for (endpoint, ext, want) in [
        (
            "otel.observability:4317",
            "",
            Some("otel.observability.svc.cluster.local"),
        ),
        (
            "otel.observability.svc:4317",
            "",
            Some("otel.observability.svc.cluster.local"),
        ),
        (
            "otel.observability.svc.cluster.local:4317",
            "",
            Some("otel.observability.svc.cluster.local"),
        ),
        ("otel.example.com:4317", external, Some("otel.example.com")),
        ("otel.example.com:4317", "", None),
        ("otel:4317", "", None),
    ] {
        let (_, c) = compile_text("tracing.kdl", &topology(endpoint, ext));
        let errors: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        match want {
            Some(host) => {
                let out = c.output.unwrap_or_else(|| panic!("{endpoint}: {errors:?}"));
                let file = out
                    .get("clusters/c1/istiod/helmrelease-istiod.istio-system.yaml")
                    .expect("istiod release");
                assert!(
                    file.contents.contains(&format!("service: {host}\n")),
                    "{endpoint}:\n{}",
                    file.contents
                );
            }
            None => assert!(
                errors.len() == 1 && errors[0].starts_with("E0007 tracing endpoint"),
                "{endpoint}: {errors:?}"
            ),
        }
    }
}

/// One endpoint per exporting cluster, however its versions interleave with other
/// clusters' (a duplicate endpoint doubles that cluster's share of the traffic).
/// An ingress route names one service: `web` declared in two namespaces is an error naming
/// both (it used to go silently to the first), and `namespace/name` picks one.
#[test]
fn an_ingress_route_to_a_name_in_two_namespaces_must_say_which() {
    let topology = |target: &str| {
        format!(
            r#"istio version="1.30.4"
gitops flux
mesh prod {{
    cluster c1 {{
        control-plane primary
    }}
    namespace shop
    namespace blog
    service web namespace=shop {{
        port http 8080
        deploy c1 image="shop:1"
    }}
    service web namespace=blog {{
        port http 9090
        deploy c1 image="blog:1"
    }}
    ingress public cluster=c1 {{
        host "acme.io" tls-secret=acme-cert
        route "/" service={target}
    }}
}}
"#
        )
    };
    let (sources, c) = compile_text("ingress.kdl", &topology("web"));
    let text = crate::common::rendered_diagnostics(&sources, &c);
    assert!(
        c.diagnostics.iter().any(|d| d.code.as_str() == "E0104")
            && text.contains("shop/web")
            && text.contains("blog/web"),
        "{text}"
    );
    for (target, host) in [
        ("\"shop/web\"", "web.shop.svc.cluster.local"),
        ("\"blog/web\"", "web.blog.svc.cluster.local"),
    ] {
        let out = crate::common::output_of_text("ingress.kdl", &topology(target));
        let vs = out
            .files
            .iter()
            .find(|f| f.path.contains("virtualservice-public"))
            .unwrap_or_else(|| {
                panic!(
                    "no ingress VirtualService: {:?}",
                    out.files.iter().map(|f| &f.path).collect::<Vec<_>>()
                )
            });
        assert!(
            vs.contents.contains(&format!("host: {host}")),
            "{target}:\n{}",
            vs.contents
        );
    }
}

/// Every form a managed Kubernetes API server endpoint takes is accepted (EKS names are
/// upper-case hex; host names are case-insensitive); a refused URL says what is wrong.
#[test]
fn api_server_urls_of_every_managed_kubernetes_are_accepted_and_refusals_say_why() {
    let topology = |url: &str| {
        format!(
            r#"istio version="1.30.4"
gitops flux
secrets external-secrets store=vault
mesh prod {{
    ca cert-manager issuer=root
    cluster a {{
        control-plane primary
        api-server "https://a.example:6443"
    }}
    cluster b {{
        control-plane primary
        api-server "{url}"
    }}
}}
"#
        )
    };
    for url in [
        "https://0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.us-east-1.eks.amazonaws.com",
        "https://34.118.224.10",
        "https://myaks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443",
        "https://[2001:db8::10]:6443",
        "https://[2001:db8::10]",
        "https://rancher.acme.io/k8s/clusters/c-m-7x2kq",
        "HTTPS://API.Example.COM:6443",
    ] {
        let (sources, c) = compile_text("api.kdl", &topology(url));
        assert!(
            !c.has_errors(),
            "{url}:\n{}",
            crate::common::rendered_diagnostics(&sources, &c)
        );
    }
    for (url, why) in [
        ("http://b.example:6443", "http://, not https://"),
        ("b.example:6443", "no https:// scheme"),
        ("https://", "no host"),
        ("https://b.example:0", "port 0"),
        ("https://b.example:65536", "port 65536"),
        ("https://b_example:6443", "host `b_example`"),
        ("https://admin@b.example", "user name"),
        ("https://b.example:6443?x=1", "query"),
        ("https://[2001:db8::zz]:6443", "IPv6"),
        // The URL is written into the kubeconfig istiod trusts, which ESO renders as a
        // template: nothing in it may add a key or a template action.
        (
            // `\n` is KDL's escape: the value holds a newline.
            "https://b.example/x\\n    insecure-skip-tls-verify: true",
            "path",
        ),
        ("https://b.example/{{ .token }}", "path"),
        ("https://b.example/a b", "path"),
    ] {
        let (sources, c) = compile_text("api.kdl", &topology(url));
        let text = crate::common::rendered_diagnostics(&sources, &c);
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.code.as_str() == "E0007" && d.message.contains(why)),
            "{url}: expected E0007 saying {why:?}:\n{text}"
        );
    }
}

/// An API server behind a load balancer or on a custom domain: the remote kubeconfig names
/// the certificate's server name, or trusts the public roots instead of the cluster's CA.
#[test]
fn a_remote_kubeconfig_verifies_the_api_server_as_the_topology_says() {
    let text = r#"istio version="1.30.4"
gitops flux
secrets external-secrets store=vault
mesh prod {
    ca cert-manager issuer=root
    cluster a {
        control-plane primary
        api-server "https://a.example:6443"
    }
    cluster b {
        control-plane primary
        api-server "https://k8s-b.acme.io" tls-server-name="kubernetes.default.svc"
    }
    cluster c {
        control-plane primary
        api-server "https://c.lb.acme.io" ca=system
    }
}
"#;
    let out = crate::common::output_of_text("tls.kdl", text);
    let kubeconfig = |peer: &str| -> String {
        let f = out
            .get(&format!("clusters/a/remote-secrets/externalsecret-istio-remote-secret-{peer}.istio-system.yaml"))
            .unwrap_or_else(|| panic!("no remote secret for {peer}"));
        let v: Value = serde_saphyr::from_str(&f.contents).expect("yaml");
        v["spec"]["target"]["template"]["data"][peer]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let b = kubeconfig("b");
    assert!(
        b.contains("tls-server-name: kubernetes.default.svc\n"),
        "{b}"
    );
    assert!(b.contains("certificate-authority-data:"), "{b}");
    let c = kubeconfig("c");
    assert!(
        !c.contains("certificate-authority-data") && !c.contains("tls-server-name"),
        "{c}"
    );
    let a = out
        .get("clusters/b/remote-secrets/externalsecret-istio-remote-secret-a.istio-system.yaml")
        .expect("b reads a");
    assert!(!a.contents.contains("tls-server-name"), "{}", a.contents);
    // A server name is a DNS name.
    let (_, bad) = compile_text(
        "tls.kdl",
        &text.replace("kubernetes.default.svc", "not a name"),
    );
    assert!(
        bad.diagnostics
            .iter()
            .any(|d| d.code.as_str() == "E0007" && d.message.contains("tls-server-name")),
        "{:?}",
        bad.diagnostics
    );
}

/// An IPv6 control-plane address: written `[addr]:port` wherever a port follows it, and
/// refused for remotes on charts before 1.30, which make an ExternalName Service of it and
/// no EndpointSlice (istio/istio#58828; the Service is invalid and injection has no target).
#[test]
fn an_ipv6_control_plane_address_is_bracketed_and_needs_the_1_30_charts_for_remotes() {
    let read = |example: &str| {
        std::fs::read_to_string(root().join(format!("examples/{example}/topology.kdl")))
            .expect("example")
    };
    let external = read("external-control-plane").replace("\"35.10.0.1\"", "\"2001:db8::a\"");
    let out =
        crate::common::output_of_text("examples/external-control-plane/topology.kdl", &external);
    let app = out
        .get("argocd/cp/application-cp-istiod-external.argocd.yaml")
        .expect("the external istiod's Application");
    assert!(
        app.contents.contains("[2001:db8::a]:15012") && !app.contents.contains("2001:db8::a:15012"),
        "{}",
        app.contents
    );
    let remote = read("primary-remote").replace("\"34.1.2.3\"", "\"2001:db8::b\"");
    let (_, ok) = compile_text("examples/primary-remote/topology.kdl", &remote);
    assert!(!ok.has_errors(), "{:?}", ok.diagnostics);
    let old = remote.replace("istio version=\"1.30.4\"", "istio version=\"1.29.1\"");
    let (_, refused) = compile_text("examples/primary-remote/topology.kdl", &old);
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.code.as_str() == "E0309"),
        "{:?}",
        refused.diagnostics
    );
}

/// Requests entering through an ingress get the service's own policy: its header matches,
/// weighted split, timeout and retries, under the route's prefix (an ingress
/// VirtualService that sends the prefix to the bare host bypasses the canary).
#[test]
fn an_ingress_route_applies_the_services_canary_and_retries() {
    let path = root().join("examples/canary-failover/topology.kdl");
    let text = std::fs::read_to_string(&path).expect("example").replace(
        "    // Reads of the local replica only",
        "    ingress public cluster=use1 {\n        host \"shop.acme.io\" tls-secret=shop-cert\n        route \"/catalog\" service=catalog\n    }\n\n    // Reads of the local replica only",
    );
    let o = Out::of_text("examples/canary-failover/topology.kdl", &text);
    let path = "clusters/use1/services/virtualservice-public.istio-ingress.yaml";
    let vs = o.doc(path);
    let contents = o.doc_text(path);
    let http = vs["spec"]["http"].as_array().expect("http");
    assert_eq!(http.len(), 2, "{contents}");
    // The header match, under the prefix, to v2.
    assert_eq!(
        http[0]["match"][0]["uri"]["prefix"], "/catalog",
        "{}",
        contents
    );
    assert_eq!(
        http[0]["match"][0]["headers"]["x-canary"]["exact"], "always",
        "{}",
        contents
    );
    assert_eq!(
        http[0]["route"][0]["destination"]["subset"], "v2",
        "{}",
        contents
    );
    // The rest of the prefix: the 95/5 split, with the timeout and retries.
    assert_eq!(
        http[1]["match"][0]["uri"]["prefix"], "/catalog",
        "{}",
        contents
    );
    let split: Vec<(String, i64)> = http[1]["route"]
        .as_array()
        .expect("route")
        .iter()
        .map(|r| {
            (
                r["destination"]["subset"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                r["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        split,
        [("v1".to_string(), 95), ("v2".to_string(), 5)],
        "{}",
        contents
    );
    for r in http {
        assert_eq!(r["timeout"], "5s", "{}", contents);
        assert_eq!(r["retries"]["attempts"], 2, "{}", contents);
        for d in r["route"].as_array().expect("route") {
            assert_eq!(d["destination"]["host"], "catalog.store.svc.cluster.local");
            assert_eq!(d["destination"]["port"]["number"], 8080, "{}", contents);
        }
    }
}

/// Longer prefixes first: Istio takes the first matching rule, so a `/` written before
/// `/blog` would take the blog's requests too.
#[test]
fn ingress_routes_go_longest_prefix_first() {
    let path = root().join("src/diag/explanations/E0104.md");
    let text = std::fs::read_to_string(path).expect("E0104.md");
    let right = text.split("Right:").nth(1).expect("Right example");
    let kdl = right
        .split("```kdl")
        .nth(1)
        .and_then(|t| t.split("```").next())
        .expect("kdl block");
    assert!(
        kdl.find("route \"/\"") < kdl.find("route \"/blog\""),
        "the example lists / first"
    );
    let o = Out::of_text("ingress.kdl", kdl);
    let path = "clusters/c1/services/virtualservice-public.istio-ingress.yaml";
    let vs = o.doc(path);
    let prefixes: Vec<&str> = vs["spec"]["http"]
        .as_array()
        .expect("http")
        .iter()
        .filter_map(|r| r["match"][0]["uri"]["prefix"].as_str())
        .collect();
    assert_eq!(prefixes, ["/blog", "/"], "{}", o.doc_text(path));
}

/// An imported name resolves only through the importer's DNS proxy (no cluster of the
/// importing mesh has a Kubernetes Service for it): without one, refused; on 1.24, whose
/// istiod does not give a ServiceEntry an address (PILOT_ENABLE_IP_AUTOALLOCATE off), the
/// proxies allocate one themselves (ISTIO_META_DNS_AUTO_ALLOCATE).
#[test]
fn imported_names_resolve_on_every_supported_release() {
    let text =
        std::fs::read_to_string(root().join("examples/federation/topology.kdl")).expect("example");
    let (_, c) = compile_text(
        "examples/federation/topology.kdl",
        &text.replace("dns-proxy #true", "dns-proxy #false"),
    );
    assert!(
        c.diagnostics.iter().any(|d| d.code.as_str() == "E0615"),
        "{:?}",
        c.diagnostics
    );
    let (_, c) = compile_text(
        "examples/federation/topology.kdl",
        &text.replace("dns-proxy #true\n", ""),
    );
    assert!(
        c.diagnostics.iter().any(|d| d.code.as_str() == "E0615"),
        "dns-proxy left out: {:?}",
        c.diagnostics
    );
    for (version, allocate) in [("1.24.2", true), ("1.30.4", false)] {
        let out = crate::common::output_of_text(
            "examples/federation/topology.kdl",
            &text.replace(
                "istio version=\"1.30.4\"",
                &format!("istio version=\"{version}\""),
            ),
        );
        let app = out
            .get("argocd/shop-1/application-shop-1-istiod.argocd.yaml")
            .expect("shop istiod");
        assert_eq!(
            app.contents
                .contains("ISTIO_META_DNS_AUTO_ALLOCATE: \"true\""),
            allocate,
            "{version}:\n{}",
            app.contents
        );
    }
}

#[test]
fn dns_proxying_decides_where_services_resolve() {
    let topology = |dns: &str| {
        format!(
            r#"istio version="1.28.2"
gitops flux
secrets external-secrets store=vault
mesh prod {{
    dns-proxy {dns}
    ca cert-manager issuer=root
    cluster a {{
        control-plane primary
        api-server "https://a.example:6443"
    }}
    cluster b {{
        control-plane primary
        api-server "https://b.example:6443"
    }}
    namespace shop
    service api namespace=shop {{
        port http 8080
        deploy a image="api:1"
    }}
}}
"#
        )
    };
    for (dns, in_b) in [("#false", true), ("#true", false)] {
        let (_, c) = compile_text("dns.kdl", &topology(dns));
        let out = c.output.expect("compiles");
        assert!(
            out.get("clusters/a/services/service-api.shop.yaml")
                .is_some()
        );
        assert_eq!(
            out.get("clusters/b/services/service-api.shop.yaml")
                .is_some(),
            in_b,
            "dns-proxy {dns}"
        );
        assert!(
            out.get("clusters/b/services/deployment-api.shop.yaml")
                .is_none(),
            "the workload runs only where deployed"
        );
        assert!(
            out.get("clusters/b/prereqs/namespace-shop.yaml").is_some(),
            "the namespace exists where callers are"
        );
    }
}

#[test]
fn cluster_local_services_are_set_in_every_primary() {
    let o = Out::of("canary-failover");
    for c in ["use1", "usw2"] {
        let settings = &o.values(c, "istiod")["meshConfig"]["serviceSettings"];
        assert_eq!(settings[0]["settings"]["clusterLocal"], true);
        assert_eq!(
            settings[0]["hosts"],
            serde_json::json!(["cache.store.svc.cluster.local"])
        );
    }
}

#[test]
fn federation_imports_through_the_exporters_gateway_with_mutual_trust() {
    let o = Out::of("federation");
    let se = o.doc(
        "clusters/shop-1/services/serviceentry-federated-payments-ledger-ledger.istio-system.yaml",
    );
    assert_eq!(se["spec"]["hosts"][0], "ledger.ledger.svc.cluster.local");
    assert_eq!(se["spec"]["location"], "MESH_INTERNAL");
    let ep = &se["spec"]["endpoints"][0];
    assert_eq!(
        ep["address"], "52.28.10.20",
        "the exporter's east-west gateway"
    );
    assert_eq!(ep["ports"]["grpc"], 15443, "AUTO_PASSTHROUGH port");
    assert_eq!(ep["network"], "payments.pay-net");
    assert_eq!(ep["locality"], "eu-central-1/eu-central-1a");
    let dr = o.doc("clusters/shop-1/services/destinationrule-federated-payments-ledger-ledger.istio-system.yaml");
    assert_eq!(dr["spec"]["trafficPolicy"]["tls"]["mode"], "ISTIO_MUTUAL");
    assert_eq!(
        dr["spec"]["trafficPolicy"]["tls"]["subjectAltNames"][0],
        "spiffe://payments.acme.io/ns/ledger/sa/ledger"
    );

    let shop = o.values("shop-1", "istiod");
    let pay = o.values("pay-1", "istiod");
    assert_ne!(
        shop["global"]["meshID"], pay["global"]["meshID"],
        "distinct mesh IDs"
    );
    assert_ne!(
        shop["meshConfig"]["trustDomain"], pay["meshConfig"]["trustDomain"],
        "distinct trust domains"
    );
    assert_eq!(
        shop["meshConfig"]["caCertificates"][0]["spiffeBundleUrl"],
        "https://spiffe.payments.acme.io/bundle"
    );
    assert_eq!(
        shop["meshConfig"]["caCertificates"][0]["trustDomains"][0],
        "payments.acme.io"
    );
    assert_eq!(
        pay["meshConfig"]["caCertificates"][0]["trustDomains"][0], "shop.acme.io",
        "mTLS is mutual: the exporter trusts the importer too"
    );
    assert_eq!(shop["env"]["ISTIO_MULTIROOT_MESH"], "true");
    // The merged roots reach sidecars only through PCDS (pilot/pkg/xds/pcds.go), which
    // pilot-agent asks for only with PROXY_CONFIG_XDS_AGENT (default false,
    // pilot/cmd/pilot-agent/options/options.go); Istio's multi-root tests set both.
    for v in [&shop, &pay] {
        assert_eq!(
            v["env"]["ISTIO_MULTIROOT_MESH"], "true",
            "both sides verify a foreign root"
        );
        assert_eq!(
            v["meshConfig"]["defaultConfig"]["proxyMetadata"]["PROXY_CONFIG_XDS_AGENT"], "true",
            "{v}"
        );
    }
    assert_eq!(
        shop["global"]["meshNetworks"]["payments.pay-net"]["gateways"][0]["address"],
        "52.28.10.20"
    );
    assert_eq!(
        shop["global"]["meshNetworks"]["payments.pay-net"]["gateways"][0]["port"],
        15443
    );

    // Exposure on the exporting side.
    assert_eq!(
        o.values("pay-1", "istio-eastwestgateway")["networkGateway"],
        "pay-net"
    );
    assert!(o.has("clusters/pay-1/mesh/gateway-cross-network-gateway.istio-system.yaml"));
    // No remote secrets between meshes.
    for p in o.paths() {
        assert!(
            !p.contains("istio-remote-secret"),
            "{p}: meshes never exchange remote secrets"
        );
    }
}

#[test]
fn failover_without_outlier_detection_is_an_error_with_help() {
    let (_, c) = crate::common::compile_path(
        &root().join("tests/ui/E0603-failover-without-outlier-detection.kdl"),
    );
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == meshc::diag::Code::FailoverWithoutOutlierDetection)
        .expect("E0603");
    assert!(c.has_errors() && c.output.is_none());
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("outlier-detection")),
        "{:?}",
        d.help
    );
}

/// Reference 9.7, over every example: failover has outlier detection and distinct
/// regions; weights total 100 and name subsets of a DestinationRule for the same host;
/// per-cluster subsets name real clusters; every Istio resource is v1.
#[test]
fn checklist_9_7_traffic_over_every_example() {
    for path in examples() {
        let out = output_of(&path);
        let docs: Vec<(String, Value)> = out
            .files
            .iter()
            .filter(|f| f.path.starts_with("clusters/"))
            .map(|f| {
                (
                    f.path.clone(),
                    serde_saphyr::from_str::<Value>(&f.contents).unwrap_or(Value::Null),
                )
            })
            .collect();
        let clusters = out.clusters();
        for (p, d) in &docs {
            let cluster_dir = p.split('/').take(2).collect::<Vec<_>>().join("/");
            match d["kind"].as_str() {
                Some("DestinationRule") => {
                    let lb = &d["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"];
                    if let Some(failover) = lb["failover"].as_array() {
                        assert!(
                            d["spec"]["trafficPolicy"]["outlierDetection"].is_object(),
                            "{p}: failover without outlierDetection"
                        );
                        assert!(lb["distribute"].is_null(), "{p}: distribute with failover");
                        for f in failover {
                            assert_ne!(f["from"], f["to"], "{p}");
                        }
                    }
                    for s in d["spec"]["subsets"].as_array().into_iter().flatten() {
                        if let Some(c) = s["labels"]["topology.istio.io/cluster"].as_str() {
                            assert!(clusters.contains(&c), "{p}: subset for unknown cluster {c}");
                        }
                    }
                }
                Some("VirtualService") if d["spec"]["gateways"].is_null() => {
                    let host = d["spec"]["hosts"][0].as_str().unwrap_or("");
                    for r in d["spec"]["http"].as_array().into_iter().flatten() {
                        let routes = r["route"].as_array().expect("route");
                        if routes.len() > 1 {
                            let total: i64 = routes
                                .iter()
                                .map(|x| x["weight"].as_i64().unwrap_or(0))
                                .sum();
                            assert_eq!(total, 100, "{p}");
                        }
                        for x in routes {
                            let Some(subset) = x["destination"]["subset"].as_str() else {
                                continue;
                            };
                            let defined = docs.iter().any(|(q, e)| {
                                q.starts_with(&cluster_dir)
                                    && e["kind"] == "DestinationRule"
                                    && e["spec"]["host"] == host
                                    && e["spec"]["subsets"]
                                        .as_array()
                                        .into_iter()
                                        .flatten()
                                        .any(|s| s["name"] == subset)
                            });
                            assert!(
                                defined,
                                "{p}: subset {subset} of {host} has no DestinationRule in {cluster_dir}"
                            );
                        }
                    }
                }
                _ => {}
            }
            if let Some(api) = d["apiVersion"].as_str()
                && api.contains("istio.io")
            {
                assert!(api.ends_with("/v1"), "{p}: {api}");
            }
        }
    }
}
