//! `istioctl analyze --use-kube=false` over each cluster's complete desired state: meshc's
//! objects plus what Helm renders for the cluster's releases (the base chart brings the
//! CRDs). Every warning or error fails, but for the justified `SUPPRESS` list.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::fleet::{Case, Fleet, par_map};
use crate::tools::{self, bin};

/// `istioctl analyze -S` suppressions (`code=Kind namespace/name`, as this istioctl matches
/// them; `*` wildcards), each
/// with why the message does not apply to meshc's output.
pub const SUPPRESS: &[(&str, &str)] = &[(
    "IST0133=Sidecar istio-system/default",
    "the examples' mesh-wide default Sidecar lists `./*` and `istio-system/*`. Validation \
     reads `.` as the Sidecar's own namespace (pkg/config/validation/validation.go) and \
     calls the two a duplicate; istiod applies a root-namespace Sidecar to each proxy with \
     `.` as the proxy's namespace (pilot/pkg/model/push_context.go, convertToSidecarScope \
     with proxy.ConfigNamespace), where they are different hosts and both needed",
)];

/// One cluster's desired state, written for istioctl.
struct Input {
    label: String,
    dir: PathBuf,
}

fn inputs(fleet: &Fleet, case: &Case) -> Vec<Input> {
    let mut out = Vec::new();
    for cluster in case.model.meshes.iter().flat_map(|m| m.clusters.iter()) {
        let dir = case.dir.with_extension("analyze").join(&cluster.name);
        let _ = std::fs::remove_dir_all(&dir);
        let prefix = format!("clusters/{}/", cluster.name);
        let mut own = String::new();
        for (path, docs) in case.files.iter().filter(|(p, _)| p.starts_with(&prefix)) {
            let text = std::fs::read_to_string(case.dir.join(path)).unwrap_or_default();
            if docs
                .iter()
                .any(|d| d["apiVersion"] == "kustomize.config.k8s.io/v1beta1")
            {
                continue;
            }
            own.push_str("---\n");
            own.push_str(&text);
        }
        tools::write(&dir.join("meshc.yaml"), &own);
        for r in case.releases.iter().filter(|r| r.cluster == cluster.name) {
            let text = fleet
                .render(r, &r.values)
                .unwrap_or_else(|e| panic!("{}: {e}", r.label(case)));
            tools::write(
                &dir.join(format!("release-{}-{}.yaml", r.namespace, r.release)),
                &text,
            );
        }
        out.push(Input {
            label: format!("{}: cluster {}", case.name, cluster.name),
            dir,
        });
    }
    out
}

/// Every message istioctl reports at warning or above, over the fleet.
pub fn messages(fleet: &Fleet) -> (usize, Vec<String>) {
    let all: Vec<Input> = fleet.cases.iter().flat_map(|c| inputs(fleet, c)).collect();
    let results = par_map(&all, |input| {
        let mut cmd = Command::new(bin("istioctl"));
        cmd.args([
            "analyze",
            "--use-kube=false",
            "--all-namespaces",
            "--output",
            "json",
        ])
        .args([
            "--output-threshold",
            "Warning",
            "--failure-threshold",
            "Error",
        ]);
        for (s, _) in SUPPRESS {
            cmd.args(["--suppress", s]);
        }
        cmd.arg(&input.dir).env("HOME", &input.dir);
        let out = cmd.output().expect("run istioctl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let parsed: Result<Value, _> = serde_json::from_str(&stdout);
        match parsed {
            Ok(Value::Array(msgs)) => msgs
                .iter()
                .map(|m| {
                    format!(
                        "{}: {} {} [{}] {}",
                        input.label,
                        m["level"].as_str().unwrap_or("?"),
                        m["code"].as_str().unwrap_or("?"),
                        m["origin"].as_str().unwrap_or("?"),
                        m["message"].as_str().unwrap_or("?")
                    )
                })
                .collect(),
            _ => vec![format!(
                "{}: istioctl analyze exited {} without a JSON report:\n{}{}",
                input.label,
                out.status,
                String::from_utf8_lossy(&out.stderr),
                stdout
            )],
        }
    });
    (all.len(), results.into_iter().flatten().collect())
}
