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

#[test]
fn every_cluster_directory_lists_every_file_it_holds() {
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
            let kust = out
                .get(&format!("{prefix}kustomization.yaml"))
                .map(|f| f.contents.clone())
                .unwrap_or_default();
            let listed: Vec<&str> = kust.lines().filter_map(|l| l.strip_prefix("- ")).collect();
            let mut held: Vec<&str> = out
                .files
                .iter()
                .filter_map(|f| f.path.strip_prefix(&prefix))
                .filter(|p| *p != "kustomization.yaml")
                .collect();
            let mut sorted_listed = listed.clone();
            sorted_listed.sort();
            held.sort();
            assert_eq!(
                sorted_listed,
                held,
                "{}: {prefix}kustomization.yaml",
                path.display()
            );
            // Apply order: each unit's files together, the prereqs first (the order of
            // the rest is the rollout's; `rollout` tests it).
            let mut units: Vec<&str> = listed
                .iter()
                .map(|p| p.split('/').next().unwrap_or(""))
                .collect();
            units.dedup();
            let mut distinct = units.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                units.len(),
                distinct.len(),
                "{}: a unit's files are split in {prefix}kustomization.yaml: {units:?}",
                path.display()
            );
            assert_eq!(
                units.first(),
                Some(&"prereqs"),
                "{}: {prefix}",
                path.display()
            );
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
