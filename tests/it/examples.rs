//! Every example compiles, and its complete output (file list and every file) is pinned
//! by a snapshot. A change in rendering shows up as a reviewed snapshot diff.

use crate::common::{examples, output_of};

#[test]
fn every_example_has_a_snapshot_of_its_whole_output() {
    let examples = examples();
    assert!(
        examples.len() >= 7,
        "expected the seven shipped examples, found {}",
        examples.len()
    );
    for path in examples {
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = output_of(&path);
        assert!(!out.files.is_empty(), "{name}: no output");
        let mut snap = String::from("# files\n");
        for f in &out.files {
            snap.push_str(&f.path);
            snap.push('\n');
        }
        for f in &out.files {
            snap.push_str(&format!("\n=== {}\n{}", f.path, f.contents));
        }
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("example-{name}"), snap);
        });
    }
}

/// The `resources` of a kustomization file.
fn listed(out: &meshc::emit::Output, path: &str) -> Vec<String> {
    let text = out
        .get(path)
        .map(|f| f.contents.clone())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_cluster_directory_lists_every_unit_and_every_unit_every_file() {
    for path in examples() {
        let out = output_of(&path);
        let clusters = out.clusters();
        assert!(
            !clusters.is_empty(),
            "{}: no cluster directory",
            path.display()
        );
        for c in clusters {
            let prefix = format!("clusters/{c}/");
            let units = listed(&out, &format!("{prefix}kustomization.yaml"));
            // Every file of the cluster is in a unit directory, and each unit directory
            // is listed once; the prereqs come first (the order of the rest is the
            // rollout's; `rollout` tests it).
            let mut held: Vec<&str> = out
                .files
                .iter()
                .filter_map(|f| f.path.strip_prefix(&prefix))
                .filter(|p| *p != "kustomization.yaml")
                .collect();
            let mut dirs: Vec<&str> = held
                .iter()
                .filter_map(|p| p.split_once('/').map(|(d, _)| d))
                .collect();
            dirs.dedup();
            let mut sorted_units = units.clone();
            sorted_units.sort();
            sorted_units.dedup();
            let mut sorted_dirs: Vec<String> = dirs.iter().map(|d| d.to_string()).collect();
            sorted_dirs.sort();
            sorted_dirs.dedup();
            assert_eq!(
                units.len(),
                sorted_units.len(),
                "{}: a unit listed twice: {units:?}",
                path.display()
            );
            assert_eq!(
                sorted_units,
                sorted_dirs,
                "{}: {prefix}kustomization.yaml",
                path.display()
            );
            assert_eq!(
                units.first().map(String::as_str),
                Some("prereqs"),
                "{}: {prefix}",
                path.display()
            );
            assert!(
                held.iter().all(|p| p.contains('/')),
                "{}: a file outside every unit: {held:?}",
                path.display()
            );
            for unit in &units {
                let unit_prefix = format!("{unit}/");
                let mut files: Vec<&str> = held
                    .iter()
                    .filter_map(|p| p.strip_prefix(&unit_prefix))
                    .filter(|p| *p != "kustomization.yaml")
                    .collect();
                files.sort_unstable();
                let mut in_kust = listed(&out, &format!("{prefix}{unit}/kustomization.yaml"));
                in_kust.sort();
                assert_eq!(
                    in_kust,
                    files,
                    "{}: {prefix}{unit}/kustomization.yaml",
                    path.display()
                );
            }
            held.clear();
        }
    }
}

#[test]
fn no_output_file_carries_key_material_or_a_token() {
    for path in examples() {
        for f in output_of(&path).files {
            for needle in [
                "BEGIN RSA PRIVATE KEY",
                "BEGIN PRIVATE KEY",
                "BEGIN CERTIFICATE",
                "token: ey",
                "ca-key.pem: ",
            ] {
                assert!(
                    !f.contents.contains(needle),
                    "{}: {} contains {needle:?}",
                    path.display(),
                    f.path
                );
            }
            // Secrets meshc writes are only service-account token requests that
            // Kubernetes fills in; they carry no data.
            if f.contents.contains("\nkind: Secret\n") {
                assert!(
                    f.contents
                        .contains("type: kubernetes.io/service-account-token"),
                    "{}",
                    f.path
                );
                assert!(
                    !f.contents.contains("\ndata:") && !f.contents.contains("stringData"),
                    "{}",
                    f.path
                );
            }
        }
    }
}
