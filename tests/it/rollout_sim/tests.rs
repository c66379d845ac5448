//! The rollout tests: every example and generated topology under both engines, mutations
//! that must be caught, and sanity checks that the simulator is not vacuous.

use std::path::Path;

use super::generate::{Engine, SHAPES, topology};
use super::{Files, Options, Report, files_of, mutate, simulate};
use crate::common;

/// The topology text with its one `gitops` line replaced for `engine`.
fn with_engine(name: &str, text: &str, engine: Engine) -> String {
    common::with_engine(name, text, engine.name())
}

fn compile(name: &str, text: &str) -> Files {
    let (sources, c) = common::compile_text(name, text);
    match c.output {
        Some(out) if !c.has_errors() => files_of(&out),
        _ => panic!(
            "{name} does not compile:\n{}\n{text}",
            common::rendered_diagnostics(&sources, &c)
        ),
    }
}

/// An example compiled for `engine`, under its repository-relative name (templates load
/// relative to it).
fn example(path: &Path, engine: Engine) -> (String, Files) {
    let name = path
        .strip_prefix(common::root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
    let files = compile(&name, &with_engine(&name, &text, engine));
    (name, files)
}

fn example_named(dir: &str, engine: Engine) -> (String, Files) {
    example(
        &common::root()
            .join("examples")
            .join(dir)
            .join("topology.kdl"),
        engine,
    )
}

/// Asserts that every rollout converges. With `ROLLOUT_SIM_REPORT=1` in the environment,
/// every report is printed, converging ones included (and the mutated outputs' reports).
fn assert_all_converge(reports: Vec<Report>) {
    if std::env::var_os("ROLLOUT_SIM_REPORT").is_some() {
        for r in &reports {
            eprint!("{r}");
        }
    }
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| !r.converges())
        .map(|r| r.to_string())
        .collect();
    assert!(
        failing.is_empty(),
        "{} of {} rollouts do not converge:\n\n{}",
        failing.len(),
        reports.len(),
        failing.join("\n")
    );
}

fn examples_under(engine: Engine, opts: Options, label: &str) -> Vec<Report> {
    common::examples()
        .iter()
        .map(|p| {
            let (name, files) = example(p, engine);
            simulate(&files, &format!("{name} ({label})"), opts)
        })
        .collect()
}

#[test]
fn examples_converge_under_argocd() {
    assert_all_converge(examples_under(
        Engine::Argo,
        Options::default(),
        "argocd, as shipped",
    ));
}

/// The same with the Application health check installed out of band, so the root app's
/// waves wait for health.
#[test]
fn examples_converge_under_argocd_with_application_health() {
    let opts = Options {
        assume_app_health: true,
    };
    assert_all_converge(examples_under(
        Engine::Argo,
        opts,
        "argocd, Application health check installed",
    ));
}

#[test]
fn examples_converge_under_flux() {
    assert_all_converge(examples_under(Engine::Flux, Options::default(), "flux"));
}

fn generated(engine: Engine, opts: Options, label: &str) -> Vec<Report> {
    SHAPES
        .iter()
        .map(|s| {
            let name = format!("generated/{}.kdl", s.name);
            let files = compile(&name, &topology(s, engine));
            simulate(&files, &format!("{name} ({label})"), opts)
        })
        .collect()
}

#[test]
fn generated_topologies_converge_under_argocd() {
    let mut reports = generated(Engine::Argo, Options::default(), "argocd, as shipped");
    let opts = Options {
        assume_app_health: true,
    };
    reports.extend(generated(
        Engine::Argo,
        opts,
        "argocd, Application health check installed",
    ));
    assert_all_converge(reports);
}

#[test]
fn generated_topologies_converge_under_flux() {
    assert_all_converge(generated(Engine::Flux, Options::default(), "flux"));
}

/// Argo CD mutations run with the Application health check, so the waves order the units.
fn strict() -> Options {
    Options {
        assume_app_health: true,
    }
}

/// Asserts that the simulator rejects a mutated output, for `reason`. The reason is required
/// when the unmutated output converges; when it does not, its own defects can stop the
/// rollout before the mutation matters (then the mutated output must still fail).
fn assert_caught(baseline: &Report, mutated: &Report, reason: &str, log: &[String]) {
    if std::env::var_os("ROLLOUT_SIM_REPORT").is_some() {
        eprint!("mutation: {log:?}\n{mutated}");
    }
    assert!(
        !mutated.converges(),
        "{mutated}\nmutation: {log:#?}\nthe simulator did not catch it"
    );
    if baseline.converges() {
        assert!(
            mutated.mentions(reason),
            "{mutated}\nmutation: {log:#?}\nthe failure does not name {reason:?}"
        );
    } else if !mutated.mentions(reason) {
        eprintln!(
            "{}: the unmutated output already fails, and the mutated one fails without naming {reason:?}",
            mutated.title
        );
    }
}

/// (a) A PushSecret applied only after the gateway that needs the credentials it publishes.
/// Only where a remote runs a gateway (a remote alone on its network): `full`'s remote
/// shares its primary's network and has none, so there the late PushSecret blocks nothing
/// (the simulator agrees: it converges).
#[test]
fn mutation_pushsecret_in_mesh_layer_is_caught() {
    for dir in ["primary-remote-multi-network", "external-control-plane"] {
        for engine in Engine::BOTH {
            let (name, files) = example_named(dir, engine);
            let (mutated, log) = mutate::pushsecrets_into_mesh_layer(&files)
                .unwrap_or_else(|e| panic!("{name} ({}): {e}", engine.name()));
            let label = format!("{name} ({})", engine.name());
            let baseline = simulate(&files, &label, strict());
            let r = simulate(
                &mutated,
                &format!("{label}, PushSecret in the mesh layer"),
                strict(),
            );
            assert_caught(&baseline, &r, "PushSecret", &log);
        }
    }
}

/// (b) No unit applies a cluster's workloads.
#[test]
fn mutation_dropped_services_unit_is_caught() {
    for engine in Engine::BOTH {
        let (name, files) = example_named("full", engine);
        let (mutated, dropped, deployment) = mutate::drop_services_unit(&files)
            .unwrap_or_else(|e| panic!("{name} ({}): {e}", engine.name()));
        let r = simulate(
            &mutated,
            &format!("{name} ({}, services unit dropped)", engine.name()),
            strict(),
        );
        // Whatever else fails, a file no unit applies is found without running anything.
        let reason = format!("{deployment} is applied by no unit");
        assert!(
            !r.converges(),
            "{r}\ndropped: {dropped:#?}\nthe simulator did not catch it"
        );
        assert!(
            r.mentions(&reason),
            "{r}\ndropped: {dropped:#?}\nthe failure does not say {reason}"
        );
    }
}

/// (c) The external istiod starts before the kubeconfig of its config cluster exists.
#[test]
fn mutation_kubeconfig_after_external_istiod_is_caught() {
    for engine in Engine::BOTH {
        let (name, files) = example_named("external-control-plane", engine);
        let (mutated, log) = mutate::kubeconfig_after_external_istiod(&files)
            .unwrap_or_else(|e| panic!("{name} ({}): {e}", engine.name()));
        let label = format!("{name} ({})", engine.name());
        let baseline = simulate(&files, &label, strict());
        let r = simulate(
            &mutated,
            &format!("{label}, istio-kubeconfig after istiod"),
            strict(),
        );
        assert_caught(&baseline, &r, "istio-kubeconfig", &log);
    }
}

// ---------------------------------------------------------------------------------------
// Sanity: the simulator is not vacuous.

fn files(entries: &[(&str, &str)]) -> Files {
    entries
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n";
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\ndata:\n  a: b\n";

fn flux_ks(name: &str, path: &str, deps: &[&str]) -> String {
    let mut s = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  retryInterval: 1m\n  path: {path}\n  wait: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    );
    if !deps.is_empty() {
        s += "  dependsOn:\n";
        for d in deps {
            s += &format!("  - name: {d}\n");
        }
    }
    s
}

fn argo_app(name: &str, wave: i64, path: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  project: default\n  destination:\n    name: c1\n    namespace: app\n  source:\n    repoURL: https://example.org/repo.git\n    targetRevision: main\n    path: {path}\n  syncPolicy:\n    automated: {{}}\n    retry:\n      limit: -1\n"
    )
}

#[test]
fn output_without_units_does_not_converge() {
    let out = files(&[
        ("clusters/c1/base/namespace-app.yaml", NS),
        ("clusters/c1/base/configmap-settings.app.yaml", CM),
    ]);
    let r = simulate(&out, "two objects, no unit", Options::default());
    assert!(!r.converges(), "{r}");
    assert!(r.mentions("no units"), "{r}");
    assert!(
        r.mentions("clusters/c1/base/namespace-app.yaml is applied by no unit"),
        "{r}"
    );
    let empty = simulate(&Files::new(), "empty output", Options::default());
    assert!(!empty.converges(), "{empty}");
}

#[test]
fn tiny_outputs_converge() {
    let flux = files(&[
        ("clusters/c1/a/namespace-app.yaml", NS),
        ("clusters/c1/b/configmap-settings.app.yaml", CM),
        (
            "flux/c1/kustomization-a.flux-system.yaml",
            &flux_ks("a", "./out/clusters/c1/a", &[]),
        ),
        (
            "flux/c1/kustomization-b.flux-system.yaml",
            &flux_ks("b", "./out/clusters/c1/b", &["a"]),
        ),
    ]);
    let r = simulate(&flux, "tiny flux output", Options::default());
    assert!(r.converges(), "{r}");
    let argo = files(&[
        ("clusters/c1/a/namespace-app.yaml", NS),
        ("clusters/c1/b/configmap-settings.app.yaml", CM),
        (
            "argocd/c1/application-a.yaml",
            &argo_app("a", 0, "clusters/c1/a"),
        ),
        (
            "argocd/c1/application-b.yaml",
            &argo_app("b", 1, "clusters/c1/b"),
        ),
    ]);
    for opts in [Options::default(), strict()] {
        let r = simulate(&argo, "tiny argocd output", opts);
        assert!(r.converges(), "{r}");
    }
}

/// A Flux Kustomization whose objects need a namespace that only a unit depending on it
/// creates retries forever: a deadlock.
#[test]
fn tiny_flux_missing_namespace_deadlocks() {
    let out = files(&[
        ("clusters/c1/a/namespace-app.yaml", NS),
        ("clusters/c1/b/configmap-settings.app.yaml", CM),
        (
            "flux/c1/kustomization-a.flux-system.yaml",
            &flux_ks("a", "./clusters/c1/a", &["b"]),
        ),
        (
            "flux/c1/kustomization-b.flux-system.yaml",
            &flux_ks("b", "./clusters/c1/b", &[]),
        ),
    ]);
    let r = simulate(&out, "namespace after its objects", Options::default());
    assert!(!r.converges(), "{r}");
    assert!(r.mentions("namespace app does not exist in c1"), "{r}");
}

/// A service-account token whose account nothing creates is never filled in, so the
/// PushSecret publishing it never becomes ready.
#[test]
fn tiny_token_without_service_account_deadlocks() {
    let token = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  namespace: app\n  annotations:\n    kubernetes.io/service-account.name: nobody\ntype: kubernetes.io/service-account-token\n";
    let push = "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata:\n  name: p\n  namespace: app\nspec:\n  selector:\n    secret:\n      name: t\n  data:\n  - match:\n      secretKey: token\n      remoteRef:\n        remoteKey: k\n        property: token\n";
    let out = files(&[
        ("clusters/c1/a/namespace-app.yaml", NS),
        ("clusters/c1/a/secret-t.app.yaml", token),
        ("clusters/c1/a/pushsecret-p.app.yaml", push),
        (
            "flux/c1/kustomization-a.flux-system.yaml",
            &flux_ks("a", "./clusters/c1/a", &[]),
        ),
    ]);
    let r = simulate(
        &out,
        "token without its service account",
        Options::default(),
    );
    assert!(!r.converges(), "{r}");
    assert!(
        r.mentions("ServiceAccount app/nobody does not exist in c1"),
        "{r}"
    );
}

/// The same objects, wired from scratch in dependency order (see
/// `mutate::reference_layout`), converge: the simulator accepts a correct rollout of every
/// example and generated topology, under both engines.
#[test]
fn reference_layouts_converge() {
    let mut reports = Vec::new();
    for engine in Engine::BOTH {
        for p in common::examples() {
            let (name, files) = example(&p, engine);
            let fixed = mutate::reference_layout(&files).unwrap_or_else(|e| panic!("{name}: {e}"));
            reports.push(simulate(
                &fixed,
                &format!("{name} ({}, reference layout)", engine.name()),
                Options::default(),
            ));
        }
        for s in &SHAPES {
            let name = format!("generated/{}.kdl", s.name);
            let files = compile(&name, &topology(s, engine));
            let fixed = mutate::reference_layout(&files).unwrap_or_else(|e| panic!("{name}: {e}"));
            reports.push(simulate(
                &fixed,
                &format!("{name} ({}, reference layout)", engine.name()),
                Options::default(),
            ));
        }
    }
    assert_all_converge(reports);
}

/// The mutations, applied to reference layouts (which converge), are caught for the
/// right reason: this exercises the reason checks even while the compiler's own output
/// does not converge.
#[test]
fn mutations_of_reference_layouts_are_caught() {
    for engine in Engine::BOTH {
        for dir in [
            "primary-remote-multi-network",
            "full",
            "external-control-plane",
        ] {
            let (name, files) = example_named(dir, engine);
            let fixed = mutate::reference_layout(&files).unwrap_or_else(|e| panic!("{name}: {e}"));
            let label = format!("{name} ({}, reference layout)", engine.name());
            let baseline = simulate(&fixed, &label, strict());
            assert!(baseline.converges(), "{baseline}");
            let (mutated, log) = mutate::pushsecrets_into_mesh_layer(&fixed)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let r = simulate(
                &mutated,
                &format!("{label}, PushSecret in the mesh layer"),
                strict(),
            );
            assert_caught(&baseline, &r, "PushSecret", &log);
            if dir == "full" {
                let (mutated, log, deployment) =
                    mutate::drop_services_unit(&fixed).unwrap_or_else(|e| panic!("{label}: {e}"));
                let r = simulate(
                    &mutated,
                    &format!("{label}, services unit dropped"),
                    strict(),
                );
                assert_caught(
                    &baseline,
                    &r,
                    &format!("{deployment} is applied by no unit"),
                    &log,
                );
            }
            if dir == "external-control-plane" {
                let (mutated, log) = mutate::kubeconfig_after_external_istiod(&fixed)
                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                let r = simulate(
                    &mutated,
                    &format!("{label}, istio-kubeconfig after istiod"),
                    strict(),
                );
                assert_caught(&baseline, &r, "istio-kubeconfig", &log);
            }
        }
    }
}

#[test]
fn examples_converge_with_a_store_area_per_reading_cluster() {
    // `prefix="mesh/{cluster}/"`: each cluster's store reads only its own area, and a token
    // is pushed into the area of every cluster that reads it (docs/credentials.md). The
    // simulator's store matches ExternalSecret keys with what PushSecrets wrote, so a key
    // pushed to one place and read from another never converges.
    let mut reports = Vec::new();
    for engine in [Engine::Argo, Engine::Flux] {
        for p in common::examples() {
            let text = std::fs::read_to_string(&p).expect("example");
            let name = p.display().to_string();
            let per_reader = text.replacen("prefix=\"mesh/\"", "prefix=\"mesh/{cluster}/\"", 1);
            if per_reader == text {
                continue;
            }
            let files = compile(&name, &with_engine(&name, &per_reader, engine));
            reports.push(simulate(
                &files,
                &format!("{name} (per-reader store, {})", engine.name()),
                Options::default(),
            ));
        }
    }
    assert!(
        reports.len() >= 10,
        "{} examples use a store prefix",
        reports.len()
    );
    assert_all_converge(reports);

    // The keys themselves, on primary-remote: the remote's token goes to the primary's area.
    let text = std::fs::read_to_string(common::root().join("examples/primary-remote/topology.kdl"))
        .expect("example");
    let out = common::output_of_text(
        "examples/primary-remote/topology.kdl",
        &text.replacen("prefix=\"mesh/\"", "prefix=\"mesh/{cluster}/\"", 1),
    );
    let all: String = out.files.iter().map(|f| f.contents.as_str()).collect();
    let mut pairs = std::collections::BTreeSet::new();
    for line in all
        .lines()
        .filter(|l| l.contains("remoteKey:") || l.contains("key: mesh/"))
    {
        let key = line.split(':').nth(1).unwrap_or_default().trim();
        let (area, rest) = key
            .strip_prefix("mesh/")
            .and_then(|k| k.split_once('/'))
            .unwrap_or_else(|| panic!("{key}"));
        let owner = rest.split('/').nth(1).unwrap_or_default();
        pairs.insert((area.to_string(), owner.to_string()));
    }
    // main-1 reads edge-1's reader token, in main-1's area; nothing else is in the store.
    assert_eq!(
        pairs,
        std::collections::BTreeSet::from([("main-1".to_string(), "edge-1".to_string())]),
        "(reading cluster's area, owner) of every key"
    );
    assert!(
        all.contains("remoteKey: mesh/"),
        "PushSecrets write under the prefix"
    );
}
