//! `kustomize build` of every directory a GitOps unit points at (Argo CD Applications'
//! `source.path`, Flux Kustomizations' `spec.path`) and of every other directory with a
//! kustomization (`clusters/<c>`, `flux/<c>`, `argocd`, `bootstrap`): it must succeed and yield exactly
//! the objects meshc wrote below that directory. Both engines run kustomize on a
//! directory with a kustomization.yaml (Argo CD: util/app/discovery/discovery.go picks
//! the Kustomize source type when one is there; Flux: kustomize-controller builds it with
//! fluxcd/pkg/kustomize, which generates one only where there is none).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::fleet::{Case, par_map};
use crate::tools::{self, bin};

/// The output-relative directories the case's GitOps units and entry points name.
/// A path a unit names that is not inside the output (it lacks the `gitops path=` prefix)
/// is kept as written, with a `!` in front, so the build of it fails loudly.
pub fn unit_dirs(case: &Case) -> BTreeSet<String> {
    let prefix = case.model.gitops.path.clone();
    let strip = |p: &str| -> String {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        if prefix.is_empty() {
            return p.to_string();
        }
        match p.strip_prefix(&format!("{prefix}/")) {
            Some(rest) => rest.to_string(),
            None => format!("!{p}"),
        }
    };
    let mut dirs = BTreeSet::new();
    for docs in case.files.values() {
        for d in docs {
            match (d["apiVersion"].as_str(), d["kind"].as_str()) {
                (Some("argoproj.io/v1alpha1"), Some("Application")) => {
                    if let Some(p) = d["spec"]["source"]["path"].as_str() {
                        dirs.insert(strip(p));
                    }
                }
                (Some(api), Some("Kustomization"))
                    if api.starts_with("kustomize.toolkit.fluxcd.io/") =>
                {
                    if let Some(p) = d["spec"]["path"].as_str() {
                        dirs.insert(strip(p));
                    }
                }
                _ => {}
            }
        }
    }
    // And every directory that has a kustomization: the entry points and the units.
    for path in case.files.keys() {
        if let Some(dir) = path.strip_suffix("/kustomization.yaml") {
            dirs.insert(dir.to_string());
        }
    }
    dirs
}

/// An object as JSON with sorted keys and numbers by value: kustomize reorders keys and
/// writes `1.0` as `1` (the same number to every reader), nothing else.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
                _ => Value::Number(n.clone()),
            },
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// The objects meshc wrote below `dir` (kustomizations aside), as canonical JSON.
fn written(case: &Case, dir: &str) -> Vec<String> {
    let prefix = format!("{dir}/");
    let mut v: Vec<String> = case
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix) && !p.ends_with("/kustomization.yaml"))
        .flat_map(|(_, docs)| docs.iter().map(canonical))
        .collect();
    v.sort();
    v
}

/// Every failure over the fleet, and how many directories were built.
pub fn check(cases: &[Case]) -> (usize, Vec<String>) {
    let jobs: Vec<(&Case, String)> = cases
        .iter()
        .flat_map(|c| unit_dirs(c).into_iter().map(move |d| (c, d)))
        .collect();
    let results = par_map(&jobs, |(case, dir)| {
        let label = format!("{}: {dir}", case.name);
        if let Some(p) = dir.strip_prefix('!') {
            return vec![format!(
                "{}: a GitOps unit points at {p:?}, outside the output path {:?}",
                case.name, case.model.gitops.path
            )];
        }
        let path = case.dir.join(dir);
        if !path.join("kustomization.yaml").is_file() {
            return vec![format!(
                "{label}: a GitOps unit points here, but it has no kustomization.yaml"
            )];
        }
        let built = match tools::run(Command::new(bin("kustomize")).arg("build").arg(&path)) {
            Ok(text) => text,
            Err(e) => return vec![format!("{label}: {e}")],
        };
        // Read as kubectl reads it, like the written files it is compared with.
        let file = case
            .dir
            .with_extension("kustomize")
            .join(format!("{}.yaml", dir.replace('/', "_")));
        tools::write(&file, &built);
        let read = tools::read_as_kubectl(std::slice::from_ref(&file));
        let mut got: Vec<String> = read.values().flatten().map(canonical).collect();
        got.sort();
        let want = written(case, dir);
        if got == want {
            return Vec::new();
        }
        let (g, w): (BTreeSet<&String>, BTreeSet<&String>) =
            (got.iter().collect(), want.iter().collect());
        let mut out = vec![format!(
            "{label}: kustomize build yields {} objects, meshc wrote {}",
            got.len(),
            want.len()
        )];
        out.extend(
            g.difference(&w)
                .take(3)
                .map(|o| format!("  only in the build: {o}")),
        );
        out.extend(
            w.difference(&g)
                .take(3)
                .map(|o| format!("  only in the files: {o}")),
        );
        out
    });
    (jobs.len(), results.into_iter().flatten().collect())
}
