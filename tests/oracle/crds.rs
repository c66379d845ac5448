//! Every custom resource meshc writes, and every one the charts render for it, validates
//! against the CustomResourceDefinition of the version meshc targets, as kube-apiserver
//! validates a create with `fieldValidation=Strict` (tests/oracle/go/crdcheck): unknown
//! fields rejected, schema, CEL rules. crdcheck reads the written files itself, as kubectl
//! does (YAML 1.1). Istio's CRDs come from the base chart of each case's Istio release; the
//! others from the Go modules pins.sh names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::fleet::{Fleet, par_map};
use crate::tools::{self, bin};

/// Failures over the fleet, and how many custom resources were checked.
pub fn check(fleet: &Fleet) -> (usize, Vec<String>) {
    // Per Istio release: the files of its cases, meshc's and the charts' renders.
    let mut by_version: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for case in &fleet.cases {
        let files = by_version
            .entry(case.model.istio.version.to_string())
            .or_default();
        files.extend(
            case.files
                .keys()
                .filter(|p| p.ends_with(".yaml"))
                .map(|p| case.dir.join(p)),
        );
        for r in &case.releases {
            let text = fleet
                .render(r, &r.values)
                .unwrap_or_else(|e| panic!("{}: {e}", r.label(case)));
            let file = case
                .dir
                .with_extension("rendered")
                .join(format!("{}-{}-{}.yaml", r.cluster, r.namespace, r.release));
            tools::write(&file, &text);
            files.push(file);
        }
    }
    let jobs: Vec<(String, Vec<PathBuf>)> = by_version.into_iter().collect();
    let results = par_map(&jobs, |(version, files)| {
        let mut crds = tools::crd_files();
        crds.push(tools::chart_dir(version, "base").join("files/crd-all.gen.yaml"));
        let out = Command::new(bin("crdcheck"))
            .args(&crds)
            .arg("--")
            .args(files)
            .output()
            .expect("run crdcheck");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // "crdcheck: N custom resources checked against M CRD versions, K problems"
        let checked = stderr.lines().find_map(|l| {
            l.strip_prefix("crdcheck: ")?
                .split_once(" custom resources checked")?
                .0
                .parse::<usize>()
                .ok()
        });
        let mut failures: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| format!("Istio {version}: {l}"))
            .collect();
        if (!out.status.success() && failures.is_empty()) || checked.is_none() {
            failures.push(format!(
                "Istio {version}: crdcheck exited {}: {stderr}",
                out.status
            ));
        }
        (checked.unwrap_or(0), failures)
    });
    let count = results.iter().map(|(n, _)| n).sum();
    (count, results.into_iter().flat_map(|(_, f)| f).collect())
}
