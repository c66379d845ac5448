//! The GitOps loop on disk, through the `meshc` binary: `build --check` and `diff`,
//! ownership and pruning, no-op rebuilds, interrupted builds, multi-file topologies.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{root, run_meshc, tree};

fn meshc(args: &[&str], cwd: &Path) -> Output {
    run_meshc(args, cwd, &[])
}

fn meshc_env(args: &[&str], cwd: &Path, key: &str, value: &str) -> Output {
    run_meshc(args, cwd, &[(key, value)])
}

/// A scratch directory with a copy of an example's topology as `topology.kdl`.
fn workspace(name: &str, example: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshc-gitops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(
        root().join(format!("examples/{example}/topology.kdl")),
        dir.join("topology.kdl"),
    )
    .expect("copy");
    dir
}

fn edit(dir: &Path, from: &str, to: &str) {
    let p = dir.join("topology.kdl");
    let text = std::fs::read_to_string(&p).expect("read");
    assert!(text.contains(from), "{from} not in topology");
    std::fs::write(&p, text.replace(from, to)).expect("write");
}

/// Every file under `dir` with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn build_check_exits_0_when_current_1_with_a_diff_when_stale_2_on_error() {
    let dir = workspace("check", "primary-remote");
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(0)
    );
    let current = meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(current.status.code(), Some(0), "{}", text(&current.stderr));
    assert!(current.stdout.is_empty());
    assert!(text(&current.stderr).contains("is up to date"));

    edit(&dir, "34.1.2.3", "34.1.2.9");
    let before = snapshot(&dir.join("out"));
    let stale = meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(stale.status.code(), Some(1));
    let diff = text(&stale.stdout);
    assert!(diff.contains("--- a/argocd/edge-1/application-edge-1-istiod.argocd.yaml\n+++ b/argocd/edge-1/application-edge-1-istiod.argocd.yaml\n"), "{diff}");
    assert!(diff.contains("\n-          remotePilotAddress: \"34.1.2.3\"\n+          remotePilotAddress: \"34.1.2.9\"\n"), "{diff}");
    assert!(
        diff.contains("--- a/meshc-provenance.json"),
        "the sources' digest changed too"
    );
    assert!(
        text(&stale.stderr).contains("is not up to date: 0 added, 2 changed, 0 removed"),
        "{}",
        text(&stale.stderr)
    );
    assert_eq!(snapshot(&dir.join("out")), before, "--check writes nothing");

    // `diff` shows the same and does not fail.
    let d = meshc(&["diff", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(d.status.code(), Some(0));
    assert_eq!(text(&d.stdout), diff);

    // Errors are 2: a broken topology, a missing file.
    edit(
        &dir,
        "control-plane remote primary=main-1",
        "control-plane remote primary=main-2",
    );
    assert_eq!(
        meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        meshc(&["build", "--check", "nope.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(2)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_deleted_cluster_is_pruned_and_a_users_file_beside_it_survives() {
    let dir = workspace("prune", "primary-remote");
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(0)
    );
    std::fs::write(
        dir.join("out/clusters/edge-1/NOTES.md"),
        "ours, not meshc's\n",
    )
    .expect("user file");
    std::fs::write(dir.join("out/README.md"), "the rendered output\n").expect("user file");
    // Remove the remote cluster (and what points at it).
    let p = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&p).expect("read");
    let start = t.find("    cluster edge-1").expect("edge-1");
    let end = t[start..]
        .find("\n    }\n")
        .map(|i| start + i + 7)
        .expect("end of block");
    std::fs::write(&p, format!("{}{}", &t[..start], &t[end..])).expect("write");
    let out = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(" removed"),
        "{}",
        text(&out.stderr)
    );
    let files: Vec<String> = snapshot(&dir.join("out"))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(
        files
            .iter()
            .all(|f| !f.contains("edge-1") || f == "clusters/edge-1/NOTES.md"),
        "{files:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out/clusters/edge-1/NOTES.md")).expect("survives"),
        "ours, not meshc's\n"
    );
    assert!(dir.join("out/README.md").exists());
    assert!(
        !dir.join("out/argocd/edge-1").exists(),
        "emptied directories go too"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_no_op_rebuild_rewrites_no_file() {
    let dir = workspace("noop", "canary-failover");
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(0)
    );
    let mtimes = |d: &Path| -> Vec<(String, std::time::SystemTime)> {
        let mut v: Vec<_> = walkdir::WalkDir::new(d)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                (
                    e.path().display().to_string(),
                    e.metadata().expect("metadata").modified().expect("mtime"),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = mtimes(&dir.join("out"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stderr).contains("0 added, 0 changed, 0 removed"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(mtimes(&dir.join("out")), before, "a file was rewritten");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_build_killed_partway_leaves_no_truncated_file_and_the_next_build_converges() {
    let dir = workspace("killed", "canary-failover");
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(0)
    );
    let old = snapshot(&dir.join("out"));
    // Change every file at once (each names its mesh), and abort after five writes.
    edit(&dir, "mesh prod {", "mesh production {");
    let killed = meshc_env(
        &["build", "topology.kdl", "-o", "out"],
        &dir,
        "MESHC_TEST_ABORT_AFTER_WRITES",
        "5",
    );
    assert!(!killed.status.success(), "the build was meant to die");
    // What a complete build writes.
    let fresh = dir.join("fresh");
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "fresh"], &dir)
            .status
            .code(),
        Some(0)
    );
    let new = snapshot(&fresh);
    let mut mixed = 0;
    for (path, bytes) in snapshot(&dir.join("out")) {
        if path.ends_with(".meshc-tmp") || path == "meshc-provenance.json" {
            continue;
        }
        let was = old.iter().find(|(p, _)| *p == path).map(|(_, b)| b);
        let will = new.iter().find(|(p, _)| *p == path).map(|(_, b)| b);
        assert!(
            Some(&bytes) == was || Some(&bytes) == will,
            "{path} is neither the old nor the new file"
        );
        if Some(&bytes) == will && was != will {
            mixed += 1;
        }
    }
    assert!(mixed > 0 && mixed <= 5, "{mixed} files were already new");
    // The next build converges to exactly what a fresh build writes.
    let next = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(next.status.code(), Some(0), "{}", text(&next.stderr));
    assert_eq!(snapshot(&dir.join("out")), new);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_meshc_does_not_own_is_refused_unless_forced() {
    let dir = workspace("force", "single-cluster");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    std::fs::write(dir.join("out/deployment.yaml"), "kind: Deployment\n").expect("foreign file");
    let refused = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("refusing to write into out"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(snapshot(&dir.join("out")).len(), 1, "nothing written");
    let forced = meshc(&["build", "--force", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(forced.status.code(), Some(0));
    assert!(
        dir.join("out/deployment.yaml").exists(),
        "a file meshc does not own is never touched"
    );
    assert!(dir.join("out/meshc-provenance.json").exists());
    // From now on the directory is meshc's.
    assert_eq!(
        meshc(&["build", "topology.kdl", "-o", "out"], &dir)
            .status
            .code(),
        Some(0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_two_file_topology_builds_and_reports_errors_in_the_right_file() {
    let dir = std::env::temp_dir().join(format!("meshc-gitops-twofile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("topology/teams")).expect("mkdir");
    std::fs::write(
        dir.join("topology/platform.kdl"),
        "istio version=\"1.30.4\"\ngitops flux\nmesh prod {\n    namespace shop\n    cluster c1 region=r1 {\n        control-plane primary\n    }\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("topology/teams/shop.kdl"),
        "mesh prod {\n    service cart namespace=shop {\n        port http 8080\n        deploy c1 image=\"cart:1\"\n    }\n}\n",
    )
    .expect("write");
    let ok = meshc(&["build", "topology", "-o", "out"], &dir);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        dir.join("out/clusters/c1/services/deployment-cart.shop.yaml")
            .exists(),
        "the team's service joins the platform's mesh"
    );
    let header =
        std::fs::read_to_string(dir.join("out/clusters/c1/services/deployment-cart.shop.yaml"))
            .expect("read");
    assert!(
        header.starts_with("# Generated by meshc from topology/teams/shop.kdl"),
        "{header}"
    );

    // An error in the team's file is reported in the team's file.
    std::fs::write(
        dir.join("topology/teams/shop.kdl"),
        "mesh prod {\n    service cart namespace=shp {\n        port http 8080\n        deploy c1\n    }\n}\n",
    )
    .expect("write");
    let bad = meshc(&["--message-format", "json", "check", "topology"], &dir);
    assert_eq!(bad.status.code(), Some(1));
    let diags: Vec<serde_json::Value> = text(&bad.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "E0103");
    assert_eq!(diags[0]["file"], "topology/teams/shop.kdl");
    let line2 = "    service cart namespace=shp {";
    let column = line2.find("shp").expect("shp") + 1;
    assert_eq!(
        (diags[0]["line"].as_u64(), diags[0]["column"].as_u64()),
        (Some(2), Some(column as u64))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The directory is compared through digests of what is on disk, read while the topology
/// compiles: a hand edit, a deleted file and a file put back by hand must each be seen.
#[test]
fn hand_edits_to_owned_files_are_found_and_undone() {
    let dir = workspace("hand-edits", "primary-remote");
    let build = |args: &[&str]| meshc(args, &dir);
    assert_eq!(
        build(&["build", "topology.kdl", "-o", "out"]).status.code(),
        Some(0)
    );
    let pristine = snapshot(&dir.join("out"));
    let edited = dir.join("out/clusters/main-1/kustomization.yaml");
    let deleted = dir.join("out/argocd/edge-1/application-edge-1-istiod.argocd.yaml");
    let mut text_of = std::fs::read_to_string(&edited).expect("read");
    text_of.push_str("# a hand edit\n");
    std::fs::write(&edited, &text_of).expect("edit");
    std::fs::remove_file(&deleted).expect("delete");

    let stale = build(&["build", "--check", "topology.kdl", "-o", "out"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale.stderr));
    let diff = text(&stale.stdout);
    assert!(diff.contains("\n-# a hand edit\n"), "{diff}");
    assert!(
        diff.contains("--- /dev/null\n+++ b/argocd/edge-1/application-edge-1-istiod.argocd.yaml\n"),
        "{diff}"
    );
    assert!(
        text(&stale.stderr).contains("1 added, 1 changed, 0 removed"),
        "{}",
        text(&stale.stderr)
    );

    let fixed = build(&["build", "topology.kdl", "-o", "out"]);
    assert_eq!(fixed.status.code(), Some(0));
    assert!(
        text(&fixed.stderr).contains("1 added, 1 changed, 0 removed"),
        "{}",
        text(&fixed.stderr)
    );
    assert_eq!(
        snapshot(&dir.join("out")),
        pristine,
        "the build undoes both"
    );
    let current = build(&["build", "--check", "topology.kdl", "-o", "out"]);
    assert_eq!(current.status.code(), Some(0), "{}", text(&current.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The primary-remote example built into `out`, and the path of one file meshc owns there.
fn built_primary_remote(name: &str) -> (PathBuf, PathBuf) {
    let dir = workspace(name, "primary-remote");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    let owned = dir.join("out/clusters/main-1/kustomization.yaml");
    (dir, owned)
}

/// A named pipe where meshc's file should be (a local accident; git cannot commit one) is
/// not read, which would wait for a writer forever: the build replaces it with the file.
#[cfg(unix)]
#[test]
fn an_owned_file_replaced_by_a_fifo_does_not_hang_the_build() {
    let (dir, owned) = built_primary_remote("fifo");
    let bytes = std::fs::read(&owned).expect("read");
    std::fs::remove_file(&owned).expect("rm");
    let made = std::process::Command::new("mkfifo")
        .arg(&owned)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let build = crate::common::run_meshc_within(&["build", "topology.kdl", "-o", "out"], &dir, 30)
        .expect("the build ends");
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr).contains("0 added, 1 changed, 0 removed"),
        "{}",
        text(&build.stderr)
    );
    let meta = std::fs::symlink_metadata(&owned).expect("stat");
    assert!(meta.file_type().is_file(), "a regular file again");
    assert_eq!(std::fs::read(&owned).expect("read"), bytes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An owned file replaced by a symbolic link (to a copy of the very same bytes, elsewhere)
/// is not meshc's file: the comparison does not follow the link, so the directory is not
/// current, and the build puts a regular file in its place without touching the target.
#[cfg(unix)]
#[test]
fn an_owned_file_replaced_by_a_symlink_is_not_current_and_is_replaced() {
    let (dir, owned) = built_primary_remote("symlink");
    let elsewhere = dir.join("elsewhere.yaml");
    std::fs::copy(&owned, &elsewhere).expect("copy");
    let target = std::fs::read(&elsewhere).expect("read");
    std::fs::remove_file(&owned).expect("rm");
    std::os::unix::fs::symlink(&elsewhere, &owned).expect("symlink");

    let check = meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("0 added, 1 changed, 0 removed"),
        "{}",
        text(&check.stderr)
    );
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    let meta = std::fs::symlink_metadata(&owned).expect("stat");
    assert!(meta.file_type().is_file(), "a regular file again");
    assert_eq!(std::fs::read(&owned).expect("read"), target);
    assert_eq!(
        std::fs::read(&elsewhere).expect("read"),
        target,
        "the target is untouched"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
