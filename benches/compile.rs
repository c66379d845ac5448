//! `cargo bench`: compiles generated topologies of many clusters and reports the time of
//! each phase (best of several runs). A benchmark, not a test: it asserts nothing about
//! time, so it cannot flake; read its numbers.
//!
//! Shapes: many meshes of ten multi-network primaries each (hundreds of clusters, the
//! common large estate), with and without thousands of services (each in two clusters,
//! with a canary route and locality failover), and one mesh of many primaries (remote
//! secrets grow as n²).

use std::time::{Duration, Instant};

use meshc::source::Sources;

/// `meshes` meshes of `per_mesh` clusters, on `per_mesh / 2` networks, each mesh with a
/// remote cluster served by its first primary.
fn topology(meshes: usize, per_mesh: usize, services: usize) -> String {
    let mut s = String::from(
        "istio version=\"1.28.2\"\ngitops argocd repo=\"https://github.com/acme/mesh-rendered.git\" revision=main path=rendered\nsecrets external-secrets store=vault prefix=\"mesh/\"\n",
    );
    for m in 0..meshes {
        s.push_str(&format!("mesh m{m} {{\n    trust-domain \"m{m}.acme.io\"\n    dns-proxy #true\n    ca cert-manager issuer=root\n"));
        let nets = (per_mesh / 2).max(1);
        for n in 0..nets {
            s.push_str(&format!("    network n{n}\n"));
        }
        for c in 0..per_mesh {
            let cp = if c == per_mesh - 1 && c > 0 {
                format!("remote primary=m{m}-c0")
            } else {
                "primary".to_string()
            };
            s.push_str(&format!(
                "    cluster m{m}-c{c} network=n{} region=r{} {{\n        control-plane {cp}\n        api-server \"https://m{m}-c{c}.k8s.acme.io:6443\"\n        east-west-address \"10.{}.{}.1\"\n    }}\n",
                c % nets,
                c % 4,
                m % 250,
                c % 250
            ));
        }
        s.push_str("    namespace shop\n    namespace billing\n");
        for k in 0..services {
            let (a, b) = (k % per_mesh, (k + 1) % per_mesh);
            // Regions are `r<cluster % 4>`; fail over only between distinct ones.
            let failover = if a % 4 != b % 4 {
                format!("        failover from=r{} to=r{}\n", a % 4, b % 4)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "    service svc{k} namespace=shop {{\n        port http 8080\n        port grpc 9090\n        deploy m{m}-c{a} version=v1 replicas=2 image=\"ghcr.io/acme/svc{k}:1\"\n        deploy m{m}-c{b} version=v2 image=\"ghcr.io/acme/svc{k}:2\"\n        route {{\n            match header=\"x-canary\" exact=\"true\" version=v2\n            weight v1=90 v2=10\n            timeout \"5s\"\n        }}\n{failover}        outlier-detection\n    }}\n"
            ));
        }
        s.push_str("}\n");
    }
    s
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        last = Some(v);
    }
    (best, last.expect("runs > 0"))
}

fn bench(label: &str, meshes: usize, per_mesh: usize, services: usize) {
    let text = topology(meshes, per_mesh, services);
    let mut sources = Sources::new();
    let id = sources.add("bench.kdl", text.clone());
    let file = sources.get(id);
    let (parse, (doc, _)) = best(5, || meshc::syntax::parse(file));
    let doc = doc.expect("generated topology parses");
    let docs = [(id, &doc)];
    let (lower, (ast, _)) = best(5, || meshc::lower::lower(&docs));
    let (check, (model, diags)) = best(5, || meshc::check::check(&ast));
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let model = model.expect("model");
    let (render, mut rendered) = best(5, || meshc::render::render(&model));
    let (rollout, (schedule, _)) = best(5, || meshc::rollout::schedule(&model, &rendered));
    let schedule = schedule.expect("the generated rollout converges");
    meshc::render::wire(&model, &mut rendered, &schedule);
    let (emit, out) = best(5, || {
        meshc::emit::emit(&model, &rendered, &schedule, &sources)
    });
    let (emit1, _) = best(3, || {
        meshc::emit::emit_with_threads(&model, &rendered, &schedule, &sources, 1)
    });
    let bytes: usize = out.files.iter().map(|f| f.contents.len()).sum();
    let beyond = lower + check + render + rollout + emit;
    println!(
        "{label:<34} {:>4} clusters {:>5} services {:>6} files {:>6.1} MB | parse {:>8.1?} | lower {:>7.1?} check {:>7.1?} render {:>7.1?} rollout {:>7.1?} emit {:>8.1?} (1 thread {:>8.1?}) | beyond parsing {:>8.1?}",
        meshes * per_mesh,
        meshes * services,
        out.files.len(),
        bytes as f64 / 1e6,
        parse,
        lower,
        check,
        render,
        rollout,
        emit,
        emit1,
        beyond
    );
}

fn main() {
    bench("30 meshes x 10 clusters", 30, 10, 0);
    bench("30 meshes x 10 clusters, 100 svc", 30, 10, 100);
    bench("100 meshes x 5 clusters, 30 svc", 100, 5, 30);
    bench("1 mesh x 100 primaries", 1, 100, 0);
}
