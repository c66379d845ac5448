//! Federation between meshes (docs/federation.md): the two trust designs, what an export
//! lets through, and exporters behind hostname gateways. The authorization policies are
//! judged by a small evaluator of Istio's semantics for the fields meshc writes, so the
//! tests ask "can this caller reach that service", not "is this YAML present".

use serde_json::Value;

use crate::common::{compile_text, root};
use crate::models::Out;

fn example() -> String {
    std::fs::read_to_string(root().join("examples/federation/topology.kdl")).expect("example")
}

/// The federation example with both meshes' CAs under one root named `acme-root`, and
/// without trust bundles.
fn shared_root_example() -> String {
    let text = example()
        .replace(
            "ca cert-manager issuer=shop-root",
            "ca cert-manager issuer=shop-root root=acme-root",
        )
        .replace(
            "ca cert-manager issuer=payments-root",
            "ca cert-manager issuer=payments-root root=acme-root",
        );
    text.lines()
        .filter(|l| !l.trim_start().starts_with("trust-bundle"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn meshes_under_one_root_federate_by_trust_domain_without_bundles() {
    let o = Out::of_text("shared-root.kdl", &shared_root_example());
    let shop = o.values("shop-1", "istiod");
    let pay = o.values("pay-1", "istiod");
    // The exporter accepts the importer's clients: their chain verifies against the
    // shared root, and their trust domain is one istiod validates on inbound mTLS
    // (TrustDomainsForValidation, pilot/pkg/networking/plugin/authn/util.go).
    assert_eq!(
        pay["meshConfig"]["caCertificates"],
        serde_json::json!([{ "trustDomains": ["shop.acme.io"] }])
    );
    // The importer verifies the exporter's server certificate by its SAN (outbound
    // validation matches SANs, not trust domains): nothing to add.
    assert!(shop["meshConfig"]["caCertificates"].is_null(), "{shop}");
    for (name, v) in [("shop", &shop), ("payments", &pay)] {
        assert!(
            v["env"]["ISTIO_MULTIROOT_MESH"].is_null(),
            "{name}: one root"
        );
        assert!(
            v["meshConfig"]["defaultConfig"]["proxyMetadata"]["PROXY_CONFIG_XDS_AGENT"].is_null(),
            "{name}: no foreign root to hand out over PCDS"
        );
        assert!(
            v["meshConfig"]["trustDomainAliases"].is_null(),
            "{name}: aliases would make the peer's principals local ones in authorization"
        );
    }
    // The import itself is the same as with bundles.
    assert!(o.has(
        "clusters/shop-1/services/serviceentry-federated-payments-ledger-ledger.istio-system.yaml"
    ));
}

#[test]
fn meshes_with_different_roots_still_need_trust_bundles() {
    // One mesh names the root, the other names another: no shared root, so E0504 for both.
    let text = shared_root_example().replacen("root=acme-root", "root=other-root", 1);
    let (_, c) = compile_text("two-roots.kdl", &text);
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0504", "E0504"], "{:?}", c.diagnostics);
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("root=")),
        "the help names both designs: {:?}",
        c.diagnostics[0].help
    );
}

/// Istio's authorization decision for a connection to a workload of a mesh, for the
/// policies in that mesh's root namespace (which apply to every workload): CUSTOM and
/// DENY first, then ALLOW if any applies (istio.io "Authorization Policy", "Implicit
/// enablement"). Only the fields meshc writes are understood; any other field fails the
/// test instead of being ignored.
fn allowed(policies: &[Value], principal: Option<&str>, sni: &str) -> bool {
    let mut allows = Vec::new();
    for p in policies {
        let spec = &p["spec"];
        for key in spec.as_object().expect("spec").keys() {
            assert!(
                matches!(key.as_str(), "action" | "rules"),
                "unexpected field {key}"
            );
        }
        let matched = spec["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| rule_matches(r, principal, sni));
        match spec["action"].as_str().unwrap_or("ALLOW") {
            "DENY" if matched => return false,
            "DENY" => {}
            "ALLOW" => allows.push(matched),
            other => panic!("unexpected action {other}"),
        }
    }
    allows.is_empty() || allows.contains(&true)
}

fn rule_matches(rule: &Value, principal: Option<&str>, sni: &str) -> bool {
    for key in rule.as_object().expect("rule").keys() {
        assert!(
            matches!(key.as_str(), "from" | "when"),
            "unexpected field {key}"
        );
    }
    let from = rule["from"].as_array().is_none_or(|froms| {
        froms.iter().any(|f| {
            let source = &f["source"];
            for key in source.as_object().expect("source").keys() {
                assert_eq!(key, "principals", "unexpected field {key}");
            }
            // A connection without a client certificate has no principal: it never
            // matches `principals`.
            principal.is_some_and(|p| {
                source["principals"]
                    .as_array()
                    .expect("principals")
                    .iter()
                    .any(|v| string_match(v.as_str().expect("principal"), p))
            })
        })
    });
    let when = rule["when"].as_array().is_none_or(|conds| {
        conds.iter().all(|c| {
            assert_eq!(c["key"], "connection.sni", "unexpected condition {c}");
            let listed = |k: &str| {
                c[k].as_array()
                    .is_some_and(|vs| vs.iter().any(|v| string_match(v.as_str().unwrap(), sni)))
            };
            (c["values"].is_null() || listed("values")) && !listed("notValues")
        })
    });
    from && when
}

/// Istio's string match in authorization policies: exact, `prefix*`, `*suffix`, or `*`.
fn string_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

#[test]
fn an_importer_reaches_the_exported_service_and_nothing_else() {
    // Meshes with their own roots (the federation example): the importer's workloads are
    // trusted for mTLS by the exporter, but reach only the exported service and port.
    let o = Out::of("federation");
    let pay = policies_of_out(&o, "pay-1");
    let ledger = "outbound_.9090_._.ledger.ledger.svc.cluster.local";
    assert!(allowed(
        &pay,
        Some("shop.acme.io/ns/web/sa/frontend"),
        ledger
    ));
    for other in [
        "outbound_.9090_._.payroll.ledger.svc.cluster.local",
        "outbound_.8080_._.ledger.ledger.svc.cluster.local",
        "outbound_.9090_v1_.ledger.ledger.svc.cluster.local",
    ] {
        assert!(
            !allowed(&pay, Some("shop.acme.io/ns/web/sa/frontend"), other),
            "{other}"
        );
    }
}

const THREE_MESHES: &str = r#"
istio version="1.30.4"
gitops flux
secrets external-secrets store=vault prefix="mesh/"

mesh shop {
    trust-domain "shop.acme.io"
    ca cert-manager issuer=shop-ca root=acme-root
    dns-proxy #true
    cluster shop-1 {
        control-plane primary
    }
}
mesh partner {
    trust-domain "partner.example"
    trust-bundle "https://spiffe.partner.example/bundle"
    dns-proxy #true
    cluster partner-1 {
        control-plane primary
    }
}
mesh payments {
    trust-domain "payments.acme.io"
    trust-bundle "https://spiffe.payments.acme.io/bundle"
    ca cert-manager issuer=payments-ca root=acme-root
    cluster pay-1 {
        control-plane primary
        east-west-address "52.28.10.20"
    }
    namespace money
    service ledger namespace=money {
        port grpc 9090
        port http 8080
        deploy pay-1
        export to=shop
    }
    service invoices namespace=money {
        port http 8080
        deploy pay-1
        export to=partner
    }
    service payroll namespace=money {
        port http 8080
        deploy pay-1
    }
}
"#;

#[test]
fn an_export_lets_each_importer_reach_exactly_what_it_was_given() {
    let o = Out::of_text("three-meshes.kdl", THREE_MESHES);
    let policies_of = |cluster: &str| policies_of_out(&o, cluster);
    let pay = policies_of("pay-1");
    assert!(!pay.is_empty(), "the exporter renders its boundary");
    for p in &pay {
        assert_eq!(
            p["metadata"]["namespace"], "istio-system",
            "root namespace: every workload"
        );
        assert!(p["spec"]["selector"].is_null());
    }
    // Every service and port of the exporter, as the connection's TLS server name.
    let services = [
        ("ledger", vec![9090, 8080]),
        ("invoices", vec![8080]),
        ("payroll", vec![8080]),
    ];
    let exported_to =
        |svc: &str, mesh: &str| matches!((svc, mesh), ("ledger", "shop") | ("invoices", "partner"));
    for (caller, td) in [
        ("shop", "shop.acme.io"),
        ("partner", "partner.example"),
        ("payments", "payments.acme.io"),
    ] {
        let principal = format!("{td}/ns/web/sa/frontend");
        for (svc, ports) in &services {
            for port in ports {
                let sni = format!("outbound_.{port}_._.{svc}.money.svc.cluster.local");
                let expected = caller == "payments" || exported_to(svc, caller);
                assert_eq!(
                    allowed(&pay, Some(&principal), &sni),
                    expected,
                    "{caller} -> {svc}:{port}"
                );
            }
        }
    }
    // Plain-text and the mesh's own workloads are not this policy's business.
    assert!(allowed(
        &pay,
        None,
        "outbound_.8080_._.payroll.money.svc.cluster.local"
    ));

    // The importers export nothing back: the exporter's workloads reach none of theirs.
    for (cluster, _) in [("shop-1", "shop"), ("partner-1", "partner")] {
        let own = policies_of(cluster);
        assert!(!own.is_empty(), "{cluster}");
        assert!(!allowed(
            &own,
            Some("payments.acme.io/ns/money/sa/ledger"),
            "outbound_.80_._.anything.web.svc.cluster.local"
        ));
    }
    // Meshes that do not federate with each other are not named.
    let shop = serde_json::to_string(&policies_of_out(&o, "shop-1")).unwrap();
    assert!(!shop.contains("partner.example"), "{shop}");
}

/// The AuthorizationPolicies rendered for `cluster`.
fn policies_of_out(o: &Out, cluster: &str) -> Vec<Value> {
    o.under(&format!("clusters/{cluster}/"))
        .into_iter()
        .filter(|p| p.contains("/authorizationpolicy-"))
        .map(|p| o.doc(p))
        .collect()
}

#[test]
fn an_exporter_behind_a_load_balancer_host_name_is_reached_by_dns() {
    // AWS load balancers have names, not IPs. istiod resolves host-name gateways itself
    // (RESOLVE_HOSTNAME_GATEWAYS, default true in 1.24 to 1.31: pilot/pkg/model/network.go),
    // but a STATIC ServiceEntry endpoint must be an IP, so the import resolves by DNS.
    let host = "a1b2c3-east-west.elb.eu-central-1.amazonaws.com";
    let text = example().replace(
        "east-west-address \"52.28.10.20\"",
        &format!("east-west-address \"{host}\""),
    );
    let o = Out::of_text("hostname-export.kdl", &text);
    let se = o.doc(
        "clusters/shop-1/services/serviceentry-federated-payments-ledger-ledger.istio-system.yaml",
    );
    assert_eq!(se["spec"]["resolution"], "DNS");
    let ep = &se["spec"]["endpoints"][0];
    assert_eq!(ep["address"], host);
    assert_eq!(ep["ports"]["grpc"], 15443);
    assert!(
        ep["network"].is_null(),
        "dialled directly: no network for istiod to swap for a gateway"
    );
    assert_eq!(ep["locality"], "eu-central-1/eu-central-1a");
    assert!(
        o.values("shop-1", "istiod")["global"]["meshNetworks"].is_null(),
        "no endpoint names the exporter's network"
    );
}

/// The federation example with a second exporting cluster `pay-2` (gateway at
/// `address`) running `ledger` too, and with `extra` deploys added to the service.
fn two_exporting_clusters(address: &str, extra: &str) -> String {
    let text = example()
        .replace(
            "        east-west-address \"52.28.10.20\"\n    }",
            &format!("        east-west-address \"52.28.10.20\"\n    }}\n    cluster pay-2 network=pay-net region=eu-central-1 zone=eu-central-1b {{\n        control-plane primary\n        api-server \"https://pay-2.k8s.acme.io:6443\"\n        east-west-address \"{address}\"\n    }}"),
        )
        .replace(
            "deploy pay-1 version=v1 replicas=3 image=\"ghcr.io/acme/ledger:7.2.0\"",
            &format!("deploy pay-1 version=v1 replicas=3 image=\"ghcr.io/acme/ledger:7.2.0\"\n        deploy pay-2 version=v1 replicas=3 image=\"ghcr.io/acme/ledger:7.2.0\"{extra}"),
        );
    assert!(text.contains(address), "the example changed: {text}");
    text
}

/// The imported ServiceEntry of `ledger` in the importer.
const IMPORTED: &str =
    "clusters/shop-1/services/serviceentry-federated-payments-ledger-ledger.istio-system.yaml";

#[test]
fn an_imported_service_lists_each_exporting_cluster_once() {
    // pay-1 runs two versions: still one gateway (twice listed, it would get twice the
    // traffic), in order of first deploy.
    let text = two_exporting_clusters(
        "52.28.10.21",
        "\n        deploy pay-1 version=v2 replicas=1 image=\"ghcr.io/acme/ledger:7.3.0\"",
    );
    assert!(text.contains("deploy pay-1 version=v2"), "{text}");
    let o = Out::of_text("examples/federation/topology.kdl", &text);
    let v = o.doc(IMPORTED);
    let addresses: Vec<&str> = v["spec"]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["address"].as_str())
        .collect();
    assert_eq!(
        addresses,
        ["52.28.10.20", "52.28.10.21"],
        "{}",
        o.doc_text(IMPORTED)
    );
}

#[test]
fn an_export_from_an_ip_gateway_and_a_host_name_gateway_resolves_by_dns_for_both() {
    // One ServiceEntry has one resolution: with any exporting gateway known only by name,
    // every endpoint is a gateway dialled directly (an IP is a valid DNS endpoint too).
    let text = two_exporting_clusters("pay-2-ew.elb.eu-central-1.amazonaws.com", "");
    let o = Out::of_text("mixed-export.kdl", &text);
    let se = o.doc(IMPORTED);
    assert_eq!(se["spec"]["resolution"], "DNS");
    let eps = se["spec"]["endpoints"].as_array().expect("endpoints");
    let addresses: Vec<&str> = eps
        .iter()
        .map(|e| e["address"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        addresses,
        ["52.28.10.20", "pay-2-ew.elb.eu-central-1.amazonaws.com"]
    );
    assert!(eps.iter().all(|e| e["network"].is_null()), "{eps:?}");
    assert!(o.values("shop-1", "istiod")["global"]["meshNetworks"].is_null());
}
