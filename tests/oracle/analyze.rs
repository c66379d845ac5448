//! `istioctl analyze --use-kube=false` over each cluster's complete desired state: meshc's
//! objects plus what Helm renders for the cluster's releases (the base chart brings the
//! CRDs). Every warning or error fails, and so does a file istioctl cannot read (it says so
//! on stderr and exits 0, istioctl/pkg/analyze/analyze.go), but for the justified `SUPPRESS`
//! list; an entry that suppresses nothing fails too.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::fleet::{Case, Fleet, par_map};
use crate::tools::{self, bin};

/// Messages that do not apply to meshc's output: (code, origin as istioctl prints it, `*`
/// matching any run of characters; why). Applied here rather than with `istioctl -S`, so
/// that an entry nothing matches any more is reported.
pub const SUPPRESS: &[(&str, &str, &str)] = &[(
    "IST0133",
    "Sidecar istio-system/default",
    "the templates example's mesh-wide default Sidecar lists `./*` and `istio-system/*`. \
     Validation reads `.` as the Sidecar's own namespace (pkg/config/validation/validation.go) \
     and calls the two a duplicate; istiod applies a root-namespace Sidecar to each proxy with \
     `.` as the proxy's namespace (pilot/pkg/model/push_context.go, convertToSidecarScope \
     with proxy.ConfigNamespace), where they are different hosts and both needed",
)];

/// Does `text` match `pattern`, where `*` matches any run of characters?
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| {
                    text.is_char_boundary(head.len() + i) && glob(rest, &text[head.len() + i..])
                })
        }
    }
}

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
        let out = Command::new(bin("istioctl"))
            .args([
                "analyze",
                "--use-kube=false",
                "--all-namespaces",
                "--output",
                "json",
            ])
            .args(["--output-threshold", "Warning"])
            .arg(&input.dir)
            .env("HOME", &input.dir)
            .output()
            .expect("run istioctl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut found = Vec::new();
        let mut used = vec![false; SUPPRESS.len()];
        // Files it skips are logged before the report, and listed on stderr.
        let at = stdout.find("\n[").map_or(0, |i| i + 1);
        let (log, report) = stdout.split_at(if stdout.starts_with('[') { 0 } else { at });
        for line in log
            .lines()
            .chain(stderr.lines())
            .filter(|l| l.contains("rror") || l.contains("skipping"))
        {
            found.push(format!(
                "{}: istioctl cannot read the input: {line}",
                input.label
            ));
        }
        match serde_json::from_str::<Value>(report) {
            Ok(Value::Array(msgs)) => {
                for m in msgs {
                    let (code, origin) = (
                        m["code"].as_str().unwrap_or("?"),
                        m["origin"].as_str().unwrap_or("?"),
                    );
                    if let Some(i) = SUPPRESS
                        .iter()
                        .position(|(c, o, _)| *c == code && glob(o, origin))
                    {
                        used[i] = true;
                        continue;
                    }
                    found.push(format!(
                        "{}: {} {code} [{origin}] {}",
                        input.label,
                        m["level"].as_str().unwrap_or("?"),
                        m["message"].as_str().unwrap_or("?")
                    ));
                }
            }
            _ => found.push(format!(
                "{}: istioctl analyze exited {} without a JSON report:\n{stderr}{stdout}",
                input.label, out.status
            )),
        }
        (found, used)
    });
    let mut failures = Vec::new();
    let mut used = vec![false; SUPPRESS.len()];
    for (found, u) in results {
        failures.extend(found);
        for (i, hit) in u.into_iter().enumerate() {
            used[i] |= hit;
        }
    }
    for ((code, origin, _), hit) in SUPPRESS.iter().zip(used) {
        if !hit {
            failures.push(format!(
                "SUPPRESS lists {code} on {origin}, which no cluster reports any more: remove it"
            ));
        }
    }
    (all.len(), failures)
}
