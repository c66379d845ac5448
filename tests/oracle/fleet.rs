//! The fleet the oracles judge: every example and fixture, compiled for Argo CD and for
//! Flux and written to disk as `meshc build` writes it; the Helm releases read back from
//! the written files (Argo CD `valuesObject`, Flux `values`), and each rendered once by
//! the real `helm template` with the real chart of its version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use meshc::model::Model;
use meshc::source::Sources;
use serde_json::Value;

use crate::tools::{self, documents};

/// What Argo CD passes as `--kube-version` is the destination's; the charts' minimum is
/// far below this.
pub const KUBE_VERSION: &str = "v1.34.0";

/// One compiled topology, written to `dir`.
pub struct Case {
    /// `examples/<name>` or `fixtures/<name>`, and the engine: `multi-primary (flux)`.
    pub name: String,
    pub dir: PathBuf,
    pub model: Model,
    /// Every written file by relative path, with its YAML documents (none for JSON).
    pub files: BTreeMap<String, Vec<Value>>,
    pub releases: Vec<Release>,
}

/// A Helm release as a GitOps engine reads it from meshc's output.
#[derive(Clone)]
pub struct Release {
    /// The file that declares it.
    pub file: String,
    pub cluster: String,
    pub release: String,
    pub chart: String,
    pub version: String,
    pub namespace: String,
    pub values: Value,
}

impl Release {
    pub fn label(&self, case: &Case) -> String {
        format!("{}: {} (cluster {})", case.name, self.file, self.cluster)
    }
}

pub struct Fleet {
    pub cases: Vec<Case>,
    renders: Mutex<BTreeMap<String, Result<String, String>>>,
}

static FLEET: OnceLock<Fleet> = OnceLock::new();

pub fn fleet() -> &'static Fleet {
    FLEET.get_or_init(build)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The topologies: examples, then fixtures.
fn topologies() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    for (dir, prefix) in [("examples", "examples"), ("tests/fixtures", "fixtures")] {
        let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(Result::ok)
            .filter_map(|e| {
                let p = e.path();
                let file = if p.is_dir() {
                    p.join("topology.kdl")
                } else {
                    p.clone()
                };
                let stem = if p.is_dir() {
                    p.file_name()?.to_string_lossy().into_owned()
                } else {
                    p.file_stem()?.to_string_lossy().into_owned()
                };
                (file.extension().is_some_and(|x| x == "kdl") && file.is_file())
                    .then(|| (format!("{prefix}/{stem}"), file))
            })
            .collect();
        found.sort();
        v.extend(found);
    }
    v
}

/// The topology text with its one `gitops` line set to `engine`; `None` if it has not
/// exactly one such line.
fn for_engine(text: &str, engine: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with("gitops "))
        .collect();
    let [at] = at[..] else { return None };
    let line = if engine == "argocd" {
        "gitops argocd repo=\"https://github.com/acme/mesh-rendered.git\" revision=main path=rendered"
    } else {
        "gitops flux path=rendered"
    };
    let mut out = lines;
    out[at] = line;
    Some(out.join("\n") + "\n")
}

fn build() -> Fleet {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    let _ = std::fs::remove_dir_all(&base);
    let mut cases = Vec::new();
    for (name, path) in topologies() {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for engine in ["argocd", "flux"] {
            let Some(text) = for_engine(&text, engine) else {
                panic!("{name}: expected exactly one gitops line");
            };
            let label = format!("{name} ({engine})");
            let dir = base.join(format!("{}-{engine}", name.replace('/', "-")));
            cases.push(compile(&label, &path, &text, &dir));
        }
    }
    Fleet {
        cases,
        renders: Mutex::new(BTreeMap::new()),
    }
}

fn compile(label: &str, path: &Path, text: &str, dir: &Path) -> Case {
    let rel = path
        .strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let mut sources = Sources::new();
    sources.add(&rel, text);
    let loader = |from: &str, file: &str| {
        let p = Path::new(from).parent().unwrap_or(Path::new("")).join(file);
        let name = p.to_string_lossy().replace('\\', "/");
        std::fs::read_to_string(root().join(&p))
            .map(|t| (name.clone(), t))
            .map_err(|e| format!("{name}: {e}"))
    };
    let c = meshc::compile_with(&mut sources, &loader);
    let (Some(output), Some((model, _))) = (c.output, c.rollout) else {
        panic!("{label} does not compile: {:?}", c.diagnostics);
    };
    let mut files = BTreeMap::new();
    for f in &output.files {
        tools::write(&dir.join(&f.path), &f.contents);
        let docs = if f.path.ends_with(".yaml") {
            documents(&f.contents)
        } else {
            Vec::new()
        };
        files.insert(f.path.clone(), docs);
    }
    let releases = releases(&files);
    Case {
        name: label.to_string(),
        dir: dir.to_path_buf(),
        model,
        files,
        releases,
    }
}

/// The Helm releases the output declares, read as Argo CD and Flux read them.
fn releases(files: &BTreeMap<String, Vec<Value>>) -> Vec<Release> {
    let mut out = Vec::new();
    for (path, docs) in files {
        for d in docs {
            let s = &d["spec"];
            let text = |v: &Value| v.as_str().map(str::to_string);
            let release = match d["kind"].as_str() {
                Some("Application") if s["source"]["chart"].is_string() => Release {
                    file: path.clone(),
                    cluster: text(&d["metadata"]["labels"]["meshc.dev/cluster"])
                        .unwrap_or_default(),
                    release: text(&s["source"]["helm"]["releaseName"]).unwrap_or_default(),
                    chart: text(&s["source"]["chart"]).unwrap_or_default(),
                    version: text(&s["source"]["targetRevision"]).unwrap_or_default(),
                    namespace: text(&s["destination"]["namespace"]).unwrap_or_default(),
                    values: s["source"]["helm"]["valuesObject"].clone(),
                },
                Some("HelmRelease") => Release {
                    file: path.clone(),
                    cluster: path.split('/').nth(1).unwrap_or_default().to_string(),
                    release: text(&s["releaseName"])
                        .or_else(|| text(&d["metadata"]["name"]))
                        .unwrap_or_default(),
                    chart: text(&s["chart"]["spec"]["chart"]).unwrap_or_default(),
                    version: text(&s["chart"]["spec"]["version"]).unwrap_or_default(),
                    namespace: text(&s["targetNamespace"])
                        .or_else(|| text(&d["metadata"]["namespace"]))
                        .unwrap_or_default(),
                    values: s["values"].clone(),
                },
                _ => continue,
            };
            out.push(release);
        }
    }
    out
}

impl Fleet {
    /// `helm template` of a release with `values` (its own, or a variant): the manifest
    /// text, or Helm's error. Each distinct input is rendered once.
    pub fn render(&self, r: &Release, values: &Value) -> Result<String, String> {
        let key = format!(
            "{}|{}|{}|{}|{values}",
            r.version, r.chart, r.release, r.namespace
        );
        if let Some(done) = self.renders.lock().expect("renders").get(&key) {
            return done.clone();
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle-values");
        let file = dir.join(format!("{:016x}.json", fnv(&key)));
        tools::write(&file, &values.to_string());
        let result = tools::run(
            Command::new(tools::bin("helm"))
                .arg("template")
                .arg(&r.release)
                .arg(tools::chart_dir(&r.version, &r.chart))
                .args([
                    "--namespace",
                    &r.namespace,
                    "--kube-version",
                    KUBE_VERSION,
                    "--values",
                ])
                .arg(&file),
        );
        self.renders
            .lock()
            .expect("renders")
            .insert(key, result.clone());
        result
    }

    /// A release rendered with its own values, as objects; panics if Helm fails.
    pub fn objects(&self, case: &Case, r: &Release) -> Vec<Value> {
        match self.render(r, &r.values) {
            Ok(text) => documents(&text),
            Err(e) => panic!("{}: helm template failed: {e}", r.label(case)),
        }
    }
}

/// FNV-1a: names a values file by its render key.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Runs `f` over `items` on every core; results in order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}
