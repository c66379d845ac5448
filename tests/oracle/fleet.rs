//! The fleet the oracles judge: every example and fixture, compiled for Argo CD and for
//! Flux and written to disk as `meshc build` writes it, then read back as kubectl reads it;
//! the Helm releases taken from what was read (Argo CD `valuesObject`, Flux `values`), and
//! each rendered once by the real `helm template` with the real chart of its version.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use meshc::model::Model;
use serde_json::Value;

use crate::common::{self, root};
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

fn build() -> Fleet {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    let _ = std::fs::remove_dir_all(&base);
    let mut cases = Vec::new();
    for (name, path) in topologies() {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for engine in ["argocd", "flux"] {
            let text = common::with_engine(&name, &text, engine);
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
    let (_, c) = common::compile_text(&rel, text);
    let (Some(output), Some((model, _))) = (c.output, c.rollout) else {
        panic!("{label} does not compile: {:?}", c.diagnostics);
    };
    let mut files = BTreeMap::new();
    let mut yaml = Vec::new();
    for f in &output.files {
        let path = dir.join(&f.path);
        tools::write(&path, &f.contents);
        files.insert(f.path.clone(), Vec::new());
        if f.path.ends_with(".yaml") {
            yaml.push(path);
        }
    }
    // Read back as the consumers read it, so a value a YAML 1.1 reader takes for
    // something else shows up in every check below.
    for (path, docs) in tools::read_as_kubectl(&yaml) {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        files.insert(rel, docs);
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
        // Values on stdin: no file that two threads rendering the same input could share.
        let mut child = Command::new(tools::bin("helm"))
            .arg("template")
            .arg(&r.release)
            .arg(tools::chart_dir(&r.version, &r.chart))
            .args([
                "--namespace",
                &r.namespace,
                "--kube-version",
                KUBE_VERSION,
                "--values",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run helm");
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(values.to_string().as_bytes())
                .expect("helm stdin");
        }
        let out = child.wait_with_output().expect("helm");
        let result = if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "helm template exited {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        };
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
