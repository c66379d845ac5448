//! The `meshc` binary: exit codes, what it writes and what it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{root, run_meshc, tree};

fn meshc(args: &[&str], cwd: &Path) -> Output {
    run_meshc(args, cwd, &[])
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn files_under(dir: &Path) -> Vec<String> {
    tree(dir).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn build_writes_the_output_and_exits_0() {
    let dir = temp_dir("build");
    let topo = root().join("examples/primary-remote/topology.kdl");
    let out = meshc(
        &["build", topo.to_str().unwrap_or_default(), "-o", "out"],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = files_under(&dir.join("out"));
    assert!(
        files.contains(&"clusters/main-1/kustomization.yaml".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"argocd/kustomization.yaml".to_string()),
        "{files:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "2 clusters in out: {} added, 0 changed, 0 removed, 0 unchanged",
            files.len()
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_topology_with_errors_exits_1_and_writes_nothing() {
    let dir = temp_dir("errors");
    let topo = root().join("tests/ui/multiple-five-mistakes.kdl");
    let out = meshc(
        &["build", topo.to_str().unwrap_or_default(), "-o", "out"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join("out").exists(), "an output directory was created");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("E0103") && stderr.contains("did you mean `gcp`?"),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with("error: 4 errors, 1 warning"),
        "{stderr}"
    );
    assert!(!stderr.contains("\u{1b}["), "colour despite NO_COLOR");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn warnings_alone_exit_0() {
    let dir = temp_dir("warn");
    let topo = root().join("tests/ui/W0502-permissive-mtls.kdl");
    let out = meshc(&["check", topo.to_str().unwrap_or_default()], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: 1 warning"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_writes_nothing() {
    let dir = temp_dir("check");
    let topo = root().join("examples/canary-failover/topology.kdl");
    let out = meshc(&["check", topo.to_str().unwrap_or_default()], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(files_under(&dir).is_empty());
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "a clean check is silent"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = temp_dir("usage");
    assert_eq!(meshc(&["build"], &dir).status.code(), Some(2));
    assert_eq!(meshc(&["frobnicate"], &dir).status.code(), Some(2));
    let missing = meshc(&["check", "no-such-file.kdl"], &dir);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read no-such-file.kdl"));
    // An output path that is a file cannot be written.
    std::fs::write(dir.join("blocker"), "x").expect("write");
    let topo = root().join("examples/single-cluster/topology.kdl");
    let blocked = meshc(
        &["build", topo.to_str().unwrap_or_default(), "-o", "blocker"],
        &dir,
    );
    assert_eq!(blocked.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_is_only_forced_on_request() {
    let dir = temp_dir("colour");
    let topo = root().join("tests/ui/W0502-permissive-mtls.kdl");
    let out = Command::new(env!("CARGO_BIN_EXE_meshc"))
        .args([
            "--color",
            "always",
            "check",
            topo.to_str().unwrap_or_default(),
        ])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\u{1b}["),
        "--color always gives colour"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deny_warnings_fails_and_writes_nothing() {
    let dir = temp_dir("deny");
    let topo = root().join("tests/ui/W0502-permissive-mtls.kdl");
    let out = meshc(
        &[
            "--deny-warnings",
            "build",
            topo.to_str().unwrap_or_default(),
            "-o",
            "out",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join("out").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: 1 error"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn machine_formats_go_to_stdout() {
    let dir = temp_dir("formats");
    let topo = root().join("tests/ui/multiple-five-mistakes.kdl");
    let json = meshc(
        &[
            "--message-format",
            "json",
            "check",
            topo.to_str().unwrap_or_default(),
        ],
        &dir,
    );
    assert_eq!(json.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(
        !String::from_utf8_lossy(&json.stderr).contains("×"),
        "no human report alongside JSON"
    );
    let gh = meshc(
        &[
            "--message-format",
            "github",
            "check",
            topo.to_str().unwrap_or_default(),
        ],
        &dir,
    );
    let text = String::from_utf8_lossy(&gh.stdout);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("::error ")).count(),
        4
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("::warning ")).count(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_names_the_supported_istio_range() {
    let out = crate::common::run_meshc(&["--version"], &crate::common::root(), &[]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let min = meshc::check::MIN_ISTIO;
    let range = format!(
        "(Istio {}.{} to {}.{})",
        min.major,
        min.minor,
        min.major,
        meshc::check::MAX_ISTIO_MINOR
    );
    assert_eq!(
        stdout.trim(),
        format!("meshc {} {range}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_reports_exactly_what_a_build_reports_without_rendering_files() {
    // `meshc check` and `meshc plan` stop before wiring and serializing, which report
    // nothing: the diagnostics must be the same as a build's, for every fixture (template
    // errors and the rollout cycle included) and every example.
    let mut topologies: Vec<std::path::PathBuf> = crate::common::examples();
    for e in std::fs::read_dir(crate::common::root().join("tests/ui")).expect("tests/ui") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "kdl") {
            topologies.push(p);
        }
    }
    topologies.sort();
    assert!(topologies.len() > 60, "{}", topologies.len());
    for path in topologies {
        let name = path
            .strip_prefix(crate::common::root())
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&path).expect("read");
        let run = |full: bool| {
            let mut sources = meshc::source::Sources::new();
            sources.add(&name, text.clone());
            let c = if full {
                meshc::compile_with(&mut sources, &crate::common::fs_loader)
            } else {
                meshc::check_with(&mut sources, &crate::common::fs_loader)
            };
            (crate::common::rendered_diagnostics(&sources, &c), c)
        };
        let (built, b) = run(true);
        let (checked, c) = run(false);
        assert_eq!(checked, built, "{name}");
        assert!(c.output.is_none(), "{name}: check renders no files");
        assert_eq!(
            c.rollout.is_some(),
            b.rollout.is_some(),
            "{name}: the plan is there"
        );
    }
}
