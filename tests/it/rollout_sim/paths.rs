//! Which files a unit applies: a unit's path in the Git repository mapped to a directory of
//! the output, and the files Argo CD or Flux take from that directory.

use std::collections::BTreeSet;

use super::model::{Files, list, parse_yaml, scalar};

pub fn is_manifest(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json")
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub fn is_kustomization(path: &str) -> bool {
    matches!(base_name(path), "kustomization.yaml" | "kustomization.yml")
}

/// `a/./b/../c/` → `a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

/// A unit's path in the Git repository → a path of the output: everything before its
/// `clusters/` segment (or, for the entry points, `argocd/` or `flux/`) is the output's
/// location in the repository (`gitops ... path=`).
pub fn repo_path_to_output(path: &str) -> String {
    let p = normalize(path);
    let segs: Vec<&str> = p.split('/').collect();
    let at = segs
        .iter()
        .position(|s| *s == "clusters")
        .or_else(|| segs.iter().position(|s| *s == "argocd" || *s == "flux"));
    match at {
        Some(i) => segs[i..].join("/"),
        None => p,
    }
}

fn dir_exists(files: &Files, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    files
        .range(prefix.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&prefix))
}

/// The files a GitOps tool applies from directory `dir` of the output.
///
/// Source: kustomize api/krusty (a `kustomization.yaml` lists the resources, directories
/// among them need their own kustomization); fluxcd/pkg kustomize/kustomize_generator.go
/// (Flux: without a kustomization.yaml, every manifest below the directory, recursively);
/// argo-cd reposerver/repository/repository.go findManifests (Argo CD directory source:
/// the directory's own files unless `directory.recurse`).
pub fn resolve_dir(
    files: &Files,
    dir: &str,
    recurse: bool,
    depth: u32,
) -> Result<Vec<String>, String> {
    if depth > 16 {
        return Err(format!("{dir}: kustomizations nested too deep"));
    }
    for k in ["kustomization.yaml", "kustomization.yml"] {
        let kpath = join(dir, k);
        let Some(contents) = files.get(&kpath) else {
            continue;
        };
        let v = parse_yaml(&kpath, contents)?;
        let mut out = Vec::new();
        for r in list(&v, &["resources"]) {
            let r = scalar(r).ok_or_else(|| format!("{kpath}: a resource is not a string"))?;
            let p = join(dir, &r);
            if files.contains_key(&p) {
                out.push(p);
            } else if dir_exists(files, &p) {
                let has_kustomization = ["kustomization.yaml", "kustomization.yml"]
                    .iter()
                    .any(|k| files.contains_key(&join(&p, k)));
                if !has_kustomization {
                    return Err(format!(
                        "{kpath}: resource {r} is a directory without a kustomization.yaml"
                    ));
                }
                out.extend(resolve_dir(files, &p, true, depth + 1)?);
            } else {
                return Err(format!("{kpath}: resource {r} does not exist"));
            }
        }
        return Ok(out);
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut out = Vec::new();
    let mut nested: BTreeSet<String> = BTreeSet::new();
    for (k, _) in files.range(prefix.clone()..) {
        if !k.starts_with(&prefix) {
            break;
        }
        let rest = &k[prefix.len()..];
        if !is_manifest(rest) {
            continue;
        }
        if !rest.contains('/') {
            out.push(k.clone());
            continue;
        }
        if !recurse {
            continue;
        }
        // A subdirectory with its own kustomization.yaml is one kustomize resource.
        let segs: Vec<&str> = rest.split('/').collect();
        let mut owner = None;
        for i in 1..segs.len() {
            let sub = join(dir, &segs[..i].join("/"));
            if ["kustomization.yaml", "kustomization.yml"]
                .iter()
                .any(|kf| files.contains_key(&join(&sub, kf)))
            {
                owner = Some(sub);
                break;
            }
        }
        match owner {
            Some(sub) => {
                nested.insert(sub);
            }
            None => out.push(k.clone()),
        }
    }
    for sub in nested {
        out.extend(resolve_dir(files, &sub, true, depth + 1)?);
    }
    Ok(out)
}
