//! Every custom resource meshc writes, and every one the charts render for it, validates
//! against the CustomResourceDefinition of the version meshc targets, as kube-apiserver
//! validates a create with `fieldValidation=Strict` (tests/oracle/go/crdcheck): unknown
//! fields rejected, schema, CEL rules. Istio's CRDs come from the base chart of each
//! case's Istio release; the others from the Go modules pins.sh names.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::fleet::{Fleet, par_map};
use crate::tools::{self, bin};

/// Is `apiVersion` served by a CRD (not built into the API server, not a kustomize file)?
pub fn is_custom(api_version: &str) -> bool {
    let Some((group, _)) = api_version.rsplit_once('/') else {
        return false;
    };
    group.contains('.')
        && group != "kustomize.config.k8s.io"
        && (!group.ends_with(".k8s.io")
            || group == "gateway.networking.k8s.io"
            || group.ends_with(".x-k8s.io"))
}

/// Failures over the fleet, and how many custom resources were checked.
pub fn check(fleet: &Fleet) -> (usize, Vec<String>) {
    // Per Istio release: the files with every custom resource of its cases.
    let mut by_version: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
    let mut count = 0;
    for case in &fleet.cases {
        let version = case.model.istio.version.to_string();
        let mut text = String::new();
        let mut add = |o: &Value, from: &str| {
            if o["apiVersion"].as_str().is_some_and(is_custom) {
                count += 1;
                text.push_str(&format!("---\n# {from}\n{}\n", o));
            }
        };
        for (path, docs) in &case.files {
            for d in docs {
                add(d, path);
            }
        }
        for r in &case.releases {
            for o in fleet.objects(case, r) {
                add(
                    &o,
                    &format!("release {} of cluster {}", r.release, r.cluster),
                );
            }
        }
        let file = case.dir.with_extension("crs.yaml");
        tools::write(&file, &text);
        by_version.entry(version).or_default().push(file);
    }
    let jobs: Vec<(String, Vec<std::path::PathBuf>)> = by_version.into_iter().collect();
    let results = par_map(&jobs, |(version, files)| {
        let mut crds = tools::crd_files();
        crds.push(tools::chart_dir(version, "base").join("files/crd-all.gen.yaml"));
        let mut cmd = Command::new(bin("crdcheck"));
        cmd.args(&crds).arg("--").args(files);
        match tools::run(&mut cmd) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("Istio {version}: {l}"))
                .collect(),
        }
    });
    (count, results.into_iter().flatten().collect())
}
