//! The real tools as oracles. Every example and fixture is compiled for Argo CD and for
//! Flux and written to disk; then Helm renders every release meshc declares with the real
//! Istio chart of its version (`charts`), every value meshc sets must change what Helm
//! renders (`values`), istioctl analyzes each cluster's complete desired state
//! (`analyze`), kustomize builds every directory a GitOps unit points at (`kustomize`),
//! and every custom resource validates against the CRD of the version meshc targets
//! (`crds`). `tests/oracle/run` installs the pinned tools and runs these tests; under a
//! plain `cargo test` they are ignored.

mod analyze;
// The integration tests' helpers (compiling with templates, the gitops-line rewriter); not
// every one is used here.
mod charts;
#[allow(dead_code)]
#[path = "../it/common.rs"]
mod common;
mod crds;
mod fleet;
mod kustomize;
mod tools;
mod values;

/// Fails with every message, one per line.
fn report(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs the tools tests/oracle/run installs"]
fn helm_renders_every_release_as_the_topology_means() {
    let fleet = fleet::fleet();
    let releases: usize = fleet.cases.iter().map(|c| c.releases.len()).sum();
    assert!(
        releases > 50,
        "only {releases} Helm releases found in the fleet"
    );
    report("chart rendering", charts::check(fleet));
}

#[test]
#[ignore = "needs the tools tests/oracle/run installs"]
fn every_value_meshc_sets_is_read_by_its_chart() {
    let (renders, failures) = values::failures(fleet::fleet());
    assert!(renders > 100, "only {renders} variations rendered");
    println!("{renders} variations rendered");
    report("values meshc sets", failures);
}

#[test]
#[ignore = "needs the tools tests/oracle/run installs"]
fn istioctl_analyze_finds_nothing_in_any_cluster() {
    let (clusters, messages) = analyze::messages(fleet::fleet());
    assert!(clusters > 40, "only {clusters} clusters analyzed");
    println!("{clusters} clusters analyzed");
    report("istioctl analyze", messages);
}

#[test]
#[ignore = "needs the tools tests/oracle/run installs"]
fn kustomize_builds_every_unit_into_exactly_its_files() {
    let (dirs, failures) = kustomize::check(&fleet::fleet().cases);
    assert!(dirs > 200, "only {dirs} directories built");
    println!("{dirs} directories built");
    report("kustomize build", failures);
}

#[test]
#[ignore = "needs the tools tests/oracle/run installs"]
fn every_custom_resource_validates_against_its_crd() {
    let (count, failures) = crds::check(fleet::fleet());
    assert!(count > 300, "only {count} custom resources found");
    println!("{count} custom resources checked");
    report("custom resources", failures);
}
