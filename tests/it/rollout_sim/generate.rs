//! Generated topologies: primaries on several networks with remotes on their own and on
//! other networks, an external control plane with its config cluster and further remotes,
//! and federated meshes. Deterministic: a fixed list of shapes.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Argo,
    Flux,
}

impl Engine {
    pub const BOTH: [Engine; 2] = [Engine::Argo, Engine::Flux];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Argo => "argocd",
            Engine::Flux => "flux",
        }
    }

    /// The topology's `gitops` line for this engine.
    pub fn gitops_line(self) -> &'static str {
        crate::common::gitops_line(self.name())
    }
}

/// One generated topology.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub name: &'static str,
    /// Primaries of mesh `alpha` (0: no such mesh).
    pub primaries: usize,
    /// Networks of mesh `alpha` (primaries are spread over them round-robin).
    pub networks: usize,
    /// Each primary serves a remote on its own network.
    pub remote_same_network: bool,
    /// Each primary serves a remote on the next network (with at least two networks).
    pub remote_other_network: bool,
    /// Mesh `ext`: an external control plane, its config cluster and a remote on another
    /// network.
    pub external: bool,
    /// Mesh `beta`, federated with `alpha` both ways.
    pub federation: bool,
}

pub const SHAPES: [Shape; 7] = [
    Shape {
        name: "one-primary-one-remote",
        primaries: 1,
        networks: 1,
        remote_same_network: true,
        remote_other_network: false,
        external: false,
        federation: false,
    },
    Shape {
        name: "two-primaries-flat-with-remotes",
        primaries: 2,
        networks: 1,
        remote_same_network: true,
        remote_other_network: false,
        external: false,
        federation: false,
    },
    Shape {
        name: "two-primaries-two-networks",
        primaries: 2,
        networks: 2,
        remote_same_network: true,
        remote_other_network: true,
        external: false,
        federation: false,
    },
    Shape {
        name: "three-primaries-three-networks",
        primaries: 3,
        networks: 3,
        remote_same_network: true,
        remote_other_network: true,
        external: false,
        federation: false,
    },
    Shape {
        name: "external-control-plane",
        primaries: 0,
        networks: 0,
        remote_same_network: false,
        remote_other_network: false,
        external: true,
        federation: false,
    },
    Shape {
        name: "federated-meshes",
        primaries: 1,
        networks: 1,
        remote_same_network: false,
        remote_other_network: false,
        external: false,
        federation: true,
    },
    Shape {
        name: "everything",
        primaries: 3,
        networks: 2,
        remote_same_network: true,
        remote_other_network: true,
        external: true,
        federation: true,
    },
];

fn cluster(
    out: &mut String,
    name: &str,
    network: &str,
    region: usize,
    model: &str,
    ew: Option<String>,
) {
    let _ = writeln!(
        out,
        "    cluster {name} network={network} region=r{region} {{"
    );
    let _ = writeln!(out, "        control-plane {model}");
    let _ = writeln!(
        out,
        "        api-server \"https://{name}.k8s.example.org:6443\""
    );
    if let Some(a) = ew {
        let _ = writeln!(out, "        east-west-address \"{a}\"");
    }
    let _ = writeln!(out, "    }}");
}

fn service(out: &mut String, name: &str, ns: &str, clusters: &[String], export: Option<&str>) {
    let _ = writeln!(out, "    service {name} namespace={ns} {{");
    let _ = writeln!(out, "        port http 8080");
    for c in clusters {
        let _ = writeln!(
            out,
            "        deploy {c} version=v1 image=\"ghcr.io/acme/{name}:1.0.0\""
        );
    }
    if let Some(m) = export {
        let _ = writeln!(out, "        export to={m}");
    }
    let _ = writeln!(out, "    }}");
}

/// The KDL text of a shape, for an engine.
pub fn topology(s: &Shape, engine: Engine) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "istio version=\"1.30.4\"");
    let _ = writeln!(out, "{}", engine.gitops_line());
    let _ = writeln!(
        out,
        "secrets external-secrets store=vault-backend prefix=\"mesh/\""
    );
    let mut ip = 0;
    let mut next_ip = || {
        ip += 1;
        format!("34.0.0.{ip}")
    };
    if s.primaries > 0 {
        let _ = writeln!(out, "\nmesh alpha {{");
        let _ = writeln!(out, "    trust-domain \"alpha.example.org\"");
        if s.federation {
            let _ = writeln!(
                out,
                "    trust-bundle \"https://spiffe.alpha.example.org/bundle\""
            );
            // It imports from beta: only the DNS proxy resolves the imported name (E0615).
            let _ = writeln!(out, "    dns-proxy #true");
        }
        let _ = writeln!(out, "    ca cert-manager issuer=alpha-root");
        for n in 1..=s.networks {
            let _ = writeln!(out, "    network net{n}");
        }
        let mut workloads = Vec::new();
        for p in 1..=s.primaries {
            let net = (p - 1) % s.networks + 1;
            let serves = s.remote_same_network || (s.remote_other_network && s.networks > 1);
            let ew = (serves || s.networks > 1 || s.federation).then(&mut next_ip);
            cluster(
                &mut out,
                &format!("p{p}"),
                &format!("net{net}"),
                p,
                "primary",
                ew,
            );
            workloads.push(format!("p{p}"));
            if s.remote_same_network {
                let name = format!("p{p}-near");
                cluster(
                    &mut out,
                    &name,
                    &format!("net{net}"),
                    p,
                    &format!("remote primary=p{p}"),
                    None,
                );
                workloads.push(name);
            }
            if s.remote_other_network && s.networks > 1 {
                let name = format!("p{p}-far");
                let other = net % s.networks + 1;
                cluster(
                    &mut out,
                    &name,
                    &format!("net{other}"),
                    p + 10,
                    &format!("remote primary=p{p}"),
                    None,
                );
                workloads.push(name);
            }
        }
        let _ = writeln!(out, "    namespace shop");
        service(&mut out, "web", "shop", &workloads, None);
        if s.federation {
            // Exported services run only where another mesh can reach them: on clusters
            // with an east-west address (E0613).
            let primaries: Vec<String> = (1..=s.primaries).map(|p| format!("p{p}")).collect();
            service(&mut out, "pay", "shop", &primaries, Some("beta"));
        }
        let _ = writeln!(out, "}}");
    }
    if s.external {
        let _ = writeln!(out, "\nmesh ext {{");
        let _ = writeln!(out, "    trust-domain \"ext.example.org\"");
        let _ = writeln!(out, "    ca cert-manager issuer=ext-root");
        let _ = writeln!(out, "    network enet1");
        let _ = writeln!(out, "    network enet2");
        let ew = next_ip();
        let _ = writeln!(out, "    cluster xcp network=enet1 region=r30 {{");
        let _ = writeln!(out, "        control-plane external");
        let _ = writeln!(out, "        east-west-address \"{ew}\"");
        let _ = writeln!(out, "    }}");
        cluster(
            &mut out,
            "xcfg",
            "enet1",
            30,
            "remote primary=xcp config=#true",
            None,
        );
        cluster(&mut out, "xedge", "enet2", 31, "remote primary=xcp", None);
        let _ = writeln!(out, "    namespace apps");
        service(
            &mut out,
            "api",
            "apps",
            &["xcfg".into(), "xedge".into()],
            None,
        );
        let _ = writeln!(out, "}}");
    }
    if s.federation {
        let _ = writeln!(out, "\nmesh beta {{");
        let _ = writeln!(out, "    trust-domain \"beta.example.org\"");
        let _ = writeln!(
            out,
            "    trust-bundle \"https://spiffe.beta.example.org/bundle\""
        );
        let _ = writeln!(out, "    dns-proxy #true");
        let _ = writeln!(out, "    ca cert-manager issuer=beta-root");
        let _ = writeln!(out, "    network bnet");
        let ew = next_ip();
        cluster(&mut out, "b1", "bnet", 40, "primary", Some(ew));
        let _ = writeln!(out, "    namespace ledger");
        service(&mut out, "ledger", "ledger", &["b1".into()], Some("alpha"));
        let _ = writeln!(out, "}}");
    }
    out
}
