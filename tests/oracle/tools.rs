//! The installed tools (`tests/oracle/run` points the environment at them), running them,
//! and reading what they print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn env_dir(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) => PathBuf::from(v),
        None => panic!("{var} is not set: run the oracle step with tests/oracle/run"),
    }
}

/// A tool installed by `tests/oracle/run`.
pub fn bin(name: &str) -> PathBuf {
    env_dir("MESHC_ORACLE_BIN").join(name)
}

/// The stamped Istio charts of `release` (`<charts>/<release>/<chart dir>`). Only the
/// releases `tests/oracle/run` pinned count: the cache may hold an older pin's charts.
pub fn chart_dir(release: &str, chart: &str) -> PathBuf {
    let sub = match chart {
        "base" => "base",
        "istiod" => "istio-control/istio-discovery",
        "gateway" => "gateway",
        "cni" => "istio-cni",
        "ztunnel" => "ztunnel",
        other => panic!("meshc names chart {other:?}, which the oracle does not know"),
    };
    let pinned = std::env::var("MESHC_ORACLE_RELEASES").unwrap_or_default();
    assert!(
        pinned.split_whitespace().any(|r| r == release),
        "no charts for Istio {release} (pinned: {pinned}): add the release to tests/oracle/pins.sh"
    );
    env_dir("MESHC_ORACLE_CHARTS").join(release).join(sub)
}

/// Every CRD file of the pinned CRD directories (`MESHC_ORACLE_CRDS`, `:`-separated).
pub fn crd_files() -> Vec<PathBuf> {
    let dirs = std::env::var("MESHC_ORACLE_CRDS").unwrap_or_else(|_| {
        panic!("MESHC_ORACLE_CRDS is not set: run the oracle step with tests/oracle/run")
    });
    let mut v: Vec<PathBuf> = dirs
        .split(':')
        .filter(|d| !d.is_empty())
        .flat_map(|d| walkdir::WalkDir::new(d).into_iter().filter_map(Result::ok))
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| e.into_path())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no CRD files in {dirs}");
    v
}

/// The documents of each file as kubectl reads them (`crdcheck json`: sigs.k8s.io/yaml,
/// whose YAML 1.1 reading makes an unquoted `on` a boolean), by the path given.
pub fn read_as_kubectl(files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<Value>> {
    let mut out = BTreeMap::new();
    for chunk in files.chunks(500) {
        let text = run(Command::new(bin("crdcheck")).arg("json").args(chunk))
            .unwrap_or_else(|e| panic!("reading the output as kubectl does: {e}"));
        for line in text.lines() {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("crdcheck json: {e}: {line}"));
            let file = PathBuf::from(v["file"].as_str().unwrap_or_default());
            let docs = v["docs"].as_array().cloned().unwrap_or_default();
            out.insert(file, docs.into_iter().filter(|d| !d.is_null()).collect());
        }
    }
    out
}

/// Runs a command; `Ok(stdout)` on exit 0, else `Err` with its stderr and stdout.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{:?} exited {}:\n{}{}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        ))
    }
}

/// The documents of a YAML stream, without empty ones.
pub fn documents(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|e| panic!("unparsable YAML ({e}):\n{}", head(text)));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn head(text: &str) -> String {
    text.lines().take(40).collect::<Vec<_>>().join("\n")
}

/// `group/kind namespace/name` of an object, the key two objects collide on.
pub fn identity(o: &Value) -> String {
    let api = o["apiVersion"].as_str().unwrap_or("");
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    format!(
        "{group}/{} {}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Writes `text` to `path`, creating its directory.
pub fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
