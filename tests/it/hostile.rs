//! meshc run on what an attacker controls: a pull request can commit links and files
//! anywhere in the output directory and write the topology and its templates. Whatever
//! they hold, meshc reads, writes and deletes nothing outside the output directory, and
//! never prints what a link points at.

use std::path::{Path, PathBuf};

use crate::common::run_meshc;

fn meshc(args: &[&str], cwd: &Path) -> std::process::Output {
    run_meshc(args, cwd, &[])
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// Human diagnostics with their line wrapping undone.
fn flat(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scratch directory with `example`'s topology as `topology.kdl`, built into `out`, and
/// a directory `victim` beside it holding `secret.txt`.
fn built(name: &str, example: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshc-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("victim")).expect("mkdir");
    std::fs::write(dir.join("victim/secret.txt"), "SECRET-TOKEN-0xC0FFEE\n").expect("victim");
    std::fs::copy(
        crate::common::root().join(format!("examples/{example}/topology.kdl")),
        dir.join("topology.kdl"),
    )
    .expect("copy");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    dir
}

fn victim_intact(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("victim/secret.txt")).expect("the victim survives"),
        "SECRET-TOKEN-0xC0FFEE\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.join("victim"))
        .expect("victim")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "nothing written into the victim: {names:?}");
}

/// Adds `path` to the files the provenance file says meshc owns.
fn claim(dir: &Path, path: &str) {
    let p = dir.join("out/meshc-provenance.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("provenance")).expect("json");
    let files = v["files"].as_array_mut().expect("files");
    files.push(serde_json::json!({ "path": path, "sha256": "0".repeat(64) }));
    std::fs::write(&p, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

/// The issue's attack: a directory of the output replaced by a link, and a provenance
/// entry under it. The old build pruned `victim/secret.txt` through the link.
#[cfg(unix)]
#[test]
fn a_link_in_the_output_with_an_owned_path_under_it_deletes_nothing_outside() {
    let dir = built("prune-link", "primary-remote");
    std::os::unix::fs::symlink("../../victim", dir.join("out/clusters/evil")).expect("link");
    claim(&dir, "clusters/evil/secret.txt");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(2), "{}", text(&build.stderr));
    let err = text(&build.stderr);
    assert!(
        err.contains("refusing to write into out: clusters/evil (a symbolic link"),
        "{err}"
    );
    victim_intact(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An owned cluster directory replaced by a link to a copy of it elsewhere: the build
/// neither writes into nor prunes the link's target.
#[cfg(unix)]
#[test]
fn an_owned_cluster_directory_replaced_by_a_link_is_not_written_through() {
    let dir = built("cluster-link", "primary-remote");
    let cluster = dir.join("out/clusters/main-1");
    // The copy the link points at is stale: a build through the link would rewrite it.
    let copy = dir.join("victim/main-1");
    copy_tree(&cluster, &copy);
    let stale = copy.join("kustomization.yaml");
    std::fs::write(&stale, "# stale\n").expect("stale");
    std::fs::remove_dir_all(&cluster).expect("rm");
    std::os::unix::fs::symlink(&copy, &cluster).expect("link");
    let before = crate::common::tree(&dir.join("victim"));

    let check = meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("in the way: clusters/main-1"),
        "{}",
        text(&check.stderr)
    );
    assert!(!text(&check.stdout).contains("# stale"), "not read");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(2), "{}", text(&build.stderr));
    assert_eq!(
        crate::common::tree(&dir.join("victim")),
        before,
        "untouched"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("under");
        if e.file_type().is_dir() {
            std::fs::create_dir_all(to.join(rel)).expect("mkdir");
        } else {
            std::fs::copy(e.path(), to.join(rel)).expect("copy");
        }
    }
}

/// A committed link where meshc's file should be, to a file of the CI machine: `build
/// --check` and `diff` report the difference and never print the target.
#[cfg(unix)]
#[test]
fn build_check_and_diff_never_print_what_a_link_points_at() {
    let dir = built("print-link", "primary-remote");
    let owned = dir.join("out/clusters/main-1/kustomization.yaml");
    std::fs::remove_file(&owned).expect("rm");
    std::os::unix::fs::symlink(dir.join("victim/secret.txt"), &owned).expect("link");
    for args in [
        &["build", "--check", "topology.kdl", "-o", "out"][..],
        &["diff", "topology.kdl", "-o", "out"][..],
    ] {
        let run = meshc(args, &dir);
        let (out, err) = (text(&run.stdout), text(&run.stderr));
        assert!(
            !out.contains("SECRET") && !err.contains("SECRET"),
            "{out}{err}"
        );
        assert!(
            out.contains("a/clusters/main-1/kustomization.yaml (not a regular file, not read)"),
            "{args:?}: {out}"
        );
        assert!(err.contains("1 changed"), "{err}");
    }
    victim_intact(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Links and user files at the names temporaries used to have: the build neither writes
/// through the link nor deletes the user's file.
#[cfg(unix)]
#[test]
fn files_at_temporary_names_are_neither_followed_nor_deleted() {
    let dir = built("tmp-link", "primary-remote");
    let unit = dir.join("out/clusters/main-1");
    std::os::unix::fs::symlink(
        dir.join("victim/secret.txt"),
        unit.join("kustomization.yaml.meshc-tmp"),
    )
    .expect("link");
    std::fs::write(unit.join("notes.meshc-tmp"), "mine\n").expect("user file");
    // Every file changes, so every file is written through a temporary.
    let topology = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&topology).expect("read");
    std::fs::write(&topology, t.replace("mesh prod {", "mesh production {")).expect("edit");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    victim_intact(&dir);
    assert_eq!(
        std::fs::read_to_string(unit.join("notes.meshc-tmp")).expect("kept"),
        "mine\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A first build killed before its claim was renamed into place leaves only the claim's
/// temporary: the next build takes the directory as meshc's and removes it.
#[test]
fn a_first_build_interrupted_before_its_claim_does_not_wedge_the_next() {
    let dir = built("first-claim", "single-cluster");
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let stray = dir.join("out/meshc-provenance.json.0123456789abcdef.meshc-tmp");
    std::fs::write(&stray, "{").expect("stray");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    assert!(!stray.exists(), "the stray claim is removed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// While one meshc holds the directory, another does not build into it, and says who
/// holds it (here, this test process).
#[cfg(target_os = "linux")]
#[test]
fn a_second_build_into_a_locked_directory_says_who_holds_it() {
    let dir = built("lock", "single-cluster");
    let out = dir.join("out");
    let held = meshc::emit::lock::lock(&out, meshc::emit::lock::Mode::Exclusive)
        .expect("lock")
        .expect("free");
    let before = crate::common::tree(&out);
    let topology = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&topology).expect("read");
    std::fs::write(&topology, format!("{t}\n// changed\n")).expect("edit");
    for args in [
        &["build", "topology.kdl", "-o", "out"][..],
        &["build", "--check", "topology.kdl", "-o", "out"][..],
    ] {
        let run = meshc(args, &dir);
        assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
        let err = text(&run.stderr);
        assert!(
            err.contains(&format!(
                "out is locked: meshc (pid {}) is using it",
                std::process::id()
            )),
            "{err}"
        );
    }
    assert_eq!(crate::common::tree(&out), before, "nothing written");
    drop(held);
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A template whose `kind` is a path (`../../../../../escaped/x`) is a coded diagnostic,
/// and nothing is written anywhere.
#[test]
fn a_template_kind_never_becomes_a_path() {
    let dir = built("kind-path", "single-cluster");
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::copy(
        crate::common::root().join("tests/ui/templates/kind-is-a-path.yaml.j2"),
        dir.join("templates/evil.yaml.j2"),
    )
    .expect("copy");
    let topology = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&topology).expect("read");
    let at = t.rfind('}').expect("a mesh block");
    let t = format!(
        "{}    template \"templates/evil.yaml.j2\"\n{}",
        &t[..at],
        &t[at..]
    );
    std::fs::write(&topology, t).expect("edit");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(1), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr).contains("E0802"),
        "{}",
        text(&build.stderr)
    );
    assert!(!dir.join("out").exists(), "nothing written");
    // Where the old build wrote it: five levels up from `out/clusters/<c>/<unit>/`.
    for root in [dir.clone(), std::env::temp_dir()] {
        assert!(!root.join("escaped").exists(), "{}", root.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A topology in `dir` whose mesh names `template` (as written).
fn with_template(name: &str, template: &str) -> PathBuf {
    with_template_node(name, &format!("template \"{template}\""))
}

/// A topology in `dir` whose mesh holds `node`.
fn with_template_node(name: &str, node: &str) -> PathBuf {
    let dir = built(name, "single-cluster");
    let _ = std::fs::remove_dir_all(dir.join("out"));
    let topology = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&topology).expect("read");
    let at = t.rfind('}').expect("a mesh block");
    let t = format!("{}    {node}\n{}", &t[..at], &t[at..]);
    std::fs::write(&topology, t).expect("edit");
    dir
}

/// Templates are read from inside the topology's directory only: not by absolute path,
/// not up with `..`, not through a link that leads out, and never a device.
#[cfg(unix)]
#[test]
fn templates_outside_the_topology_directory_are_not_read() {
    let cases = [
        ("absolute", "/etc/passwd".to_string()),
        ("device", "/dev/zero".to_string()),
        ("climb", "../victim/secret.txt".to_string()),
        ("link", "templates/inside.yaml.j2".to_string()),
    ];
    for (name, template) in cases {
        let dir = with_template(&format!("template-{name}"), &template);
        // `victim` is beside the topology: move the topology one level down so `..`
        // climbs out of its directory.
        let sub = dir.join("topo");
        std::fs::create_dir_all(sub.join("templates")).expect("mkdir");
        std::fs::rename(dir.join("topology.kdl"), sub.join("topology.kdl")).expect("mv");
        std::os::unix::fs::symlink(
            dir.join("victim/secret.txt"),
            sub.join("templates/inside.yaml.j2"),
        )
        .expect("link");
        let build = meshc(&["build", "topology.kdl", "-o", "out"], &sub);
        let (out, err) = (text(&build.stdout), text(&build.stderr));
        assert_eq!(build.status.code(), Some(1), "{template}: {err}");
        assert!(err.contains("E0803"), "{template}: {err}");
        assert!(
            flat(&err).contains("is outside the topology's directory"),
            "{template}: {err}"
        );
        assert!(!err.contains("SECRET") && !out.contains("SECRET"), "{err}");
        assert!(!sub.join("out").exists(), "nothing written");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A template inside the directory that is not a regular file or is too large is refused.
#[cfg(unix)]
#[test]
fn a_template_that_is_not_a_small_regular_file_is_not_read() {
    let dir = with_template("template-big", "templates/big.yaml.j2");
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(dir.join("templates/big.yaml.j2"), "#".repeat(2 << 20)).expect("big");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(1), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr).contains("larger than 1 MiB"),
        "{}",
        text(&build.stderr)
    );
    std::fs::remove_file(dir.join("templates/big.yaml.j2")).expect("rm");
    std::fs::create_dir_all(dir.join("templates/big.yaml.j2")).expect("a directory");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(1), "{}", text(&build.stderr));
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `*.kdl` link in a topology directory is the file it names when that is inside the
/// directory (it used to be skipped, and its clusters pruned); a link to outside is an
/// error, never a silent partial read.
#[cfg(unix)]
#[test]
fn kdl_links_in_a_topology_directory_are_followed_inside_and_refused_outside() {
    let dir = built("kdl-link", "single-cluster");
    let topo = dir.join("topo");
    std::fs::create_dir_all(topo.join("real")).expect("mkdir");
    std::fs::rename(dir.join("topology.kdl"), topo.join("real/topology.kdl")).expect("mv");
    std::os::unix::fs::symlink("real/topology.kdl", topo.join("main.kdl")).expect("link");
    // Only the link is at the top; `real` is hidden from the walk by a leading dot.
    std::fs::rename(topo.join("real"), topo.join(".real")).expect("hide");
    std::fs::remove_file(topo.join("main.kdl")).expect("rm");
    std::os::unix::fs::symlink(".real/topology.kdl", topo.join("main.kdl")).expect("link");
    let build = meshc(&["build", "topo", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr).contains("1 cluster in out"),
        "{}",
        text(&build.stderr)
    );

    std::os::unix::fs::symlink(dir.join("victim/secret.txt"), topo.join("stolen.kdl"))
        .expect("link");
    let before = crate::common::tree(&dir.join("out"));
    let build = meshc(&["build", "topo", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(2), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr).contains("is a symbolic link to outside topo"),
        "{}",
        text(&build.stderr)
    );
    assert_eq!(
        crate::common::tree(&dir.join("out")),
        before,
        "nothing pruned"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file meshc no longer produces but someone edited since meshc wrote it is kept, with a
/// word, and no longer owned; an unedited one is removed as before.
#[test]
fn pruning_keeps_a_file_edited_since_meshc_wrote_it() {
    let dir = built("prune-edited", "primary-remote");
    let edited = dir.join("out/clusters/edge-1/kustomization.yaml");
    let mut note = std::fs::read_to_string(&edited).expect("read");
    note.push_str("# my note\n");
    std::fs::write(&edited, &note).expect("edit");
    let topology = dir.join("topology.kdl");
    let t = std::fs::read_to_string(&topology).expect("read");
    std::fs::write(&topology, t.replace("edge-1", "edge-2")).expect("rename cluster");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    assert!(
        text(&build.stderr)
            .contains("kept (edited since meshc wrote them, no longer produced): clusters/edge-1/kustomization.yaml"),
        "{}",
        text(&build.stderr)
    );
    assert_eq!(std::fs::read_to_string(&edited).expect("kept"), note);
    let others: Vec<_> = walkdir::WalkDir::new(dir.join("out/clusters/edge-1"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .collect();
    assert_eq!(others.len(), 1, "only the edited file is left: {others:?}");
    let again = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert!(
        text(&again.stderr).contains("0 added, 0 changed, 0 removed"),
        "no longer owned: {}",
        text(&again.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A provenance entry that names a directory (hand-edited, or a directory made where a
/// file was) used to fail every build with EISDIR; now the directory is left alone.
#[test]
fn a_provenance_entry_naming_a_directory_does_not_wedge_the_build() {
    let dir = built("prov-dir", "primary-remote");
    claim(&dir, "clusters/main-1");
    let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    assert!(dir.join("out/clusters/main-1/kustomization.yaml").is_file());
    let again = meshc(&["build", "--check", "topology.kdl", "-o", "out"], &dir);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A full stderr (`2>/dev/full`) is not a crash: meshc ends with its own exit status.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_does_not_crash_meshc() {
    let dir = built("full-stderr", "single-cluster");
    for (args, code) in [
        (&["check", "missing.kdl"][..], 2),
        (&["explain", "E9999"][..], 2),
        (&["check", "topology.kdl"][..], 0),
        (&["build", "topology.kdl", "-o", "out"][..], 0),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_meshc"))
            .args(args)
            .current_dir(&dir)
            .stderr(full)
            .status()
            .expect("run");
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes `bytes` as `name` in a fresh scratch directory and runs `meshc check` on it.
fn check_bytes(name: &str, bytes: &[u8], json: bool) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("meshc-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("topology.kdl"), bytes).expect("write");
    let args: &[&str] = if json {
        &["--message-format", "json", "check", "topology.kdl"]
    } else {
        &["check", "topology.kdl"]
    };
    let out = meshc(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A binary file is a coded diagnostic at its first bad byte (it used to be an I/O error
/// without a position, exit 2).
#[test]
fn a_binary_topology_is_a_diagnostic_at_its_first_bad_byte() {
    let out = check_bytes(
        "binary",
        b"istio version=\"1.30.4\"\nmesh p {\n  cluster \xff\xfe {\n",
        true,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let first = text(&out.stdout);
    let d: serde_json::Value =
        serde_json::from_str(first.lines().next().expect("a diagnostic")).expect("json");
    assert_eq!(d["code"], "E0001");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(11))
    );
}

/// KDL v2 ends a line at a lone CR too: positions count such lines (every error used to be
/// on line 1), and the snippet shows them as lines.
#[test]
fn cr_line_endings_give_the_right_positions() {
    let src = b"istio version=\"1.30.4\"\rgitops flux\rmesh p {\r    cluster c1 {\r        control-plane sideways\r    }\r}\r";
    let out = check_bytes("cr-json", src, true);
    let lines = text(&out.stdout);
    let d: serde_json::Value = serde_json::from_str(
        lines
            .lines()
            .find(|l| l.contains("sideways"))
            .expect("the diagnostic on `sideways`"),
    )
    .expect("json");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(23)),
        "{d}"
    );
    let human = text(&check_bytes("cr-human", src, false).stderr);
    assert!(
        human.contains(" 5 │         control-plane sideways"),
        "{human}"
    );
}

/// What reaches the terminal cannot rewrite it: control characters and bidirectional
/// overrides in the source snippet and in messages are replaced or escaped.
#[test]
fn diagnostics_never_print_control_or_bidi_characters() {
    let snippet = check_bytes(
        "bidi-snippet",
        "istio version=\"1.30.4\"\ngitops flux\nmesh p {\n    cluster \"a\u{202e}b\u{1}\" {\n    }\n}\n"
            .as_bytes(),
        false,
    );
    let message = check_bytes(
        "bidi-message",
        b"istio version=\"1.30.4\"\ngitops flux\nmesh p {\n    cluster c1 {\n        control-plane primary\n    }\n    template \"evil\\u{202E}\\u{0}.j2\"\n}\n",
        false,
    );
    for out in [snippet, message] {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("E0"), "a diagnostic: {err}");
        assert!(
            !err.chars()
                .any(|c| matches!(c, '\u{202e}' | '\u{0}' | '\u{1}')),
            "{err:?}"
        );
    }
}

/// The credential formats meshc refuses, and ordinary values it must not mistake for one.
#[test]
fn credentials_are_found_and_ordinary_values_are_not() {
    for s in [
        "https://deploy:s3cr3t@git.example.net/fleet.git",
        "https://x-access-token@github.com/acme/fleet.git",
        "oci://robot:abc@registry.example/charts",
        "robot:abc123@registry.example/app:1",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        "glpat-0123456789abcdefghij",
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
        "Bearer abcdefghijkl",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    ] {
        assert!(meshc::credentials::credential_in(s).is_some(), "{s}");
    }
    for s in [
        "https://git.example.net/fleet.git",
        "https://c1.k8s.acme.io:6443",
        "ghcr.io/acme/app@sha256:0123456789abcdef",
        "docker.io/istio",
        "acme/app:1.2.3",
        "mesh/",
        "user@example.com",
        "Bearer",
        "10.0.0.1",
        "spiffe://prod.acme.io/ns/shop/sa/cart",
    ] {
        assert_eq!(meshc::credentials::credential_in(s), None, "{s}");
    }
}

/// RBAC and cluster-scoped objects from a template need `privileged=#true` on its node
/// (an unmarked template made every authenticated user cluster-admin); with it they are
/// written like any other object.
#[test]
fn privileged_template_objects_need_the_opt_in() {
    for (privileged, code) in [("", 1), (" privileged=#true", 0)] {
        let dir = with_template_node(
            &format!("privileged-{code}"),
            &format!("template \"templates/admin.yaml.j2\"{privileged}"),
        );
        std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
        std::fs::copy(
            crate::common::root().join("tests/ui/templates/cluster-admin.yaml.j2"),
            dir.join("templates/admin.yaml.j2"),
        )
        .expect("copy");
        let build = meshc(&["build", "topology.kdl", "-o", "out"], &dir);
        let err = text(&build.stderr);
        assert_eq!(build.status.code(), Some(code), "{privileged}: {err}");
        let written = walkdir::WalkDir::new(dir.join("out"))
            .into_iter()
            .filter_map(Result::ok)
            .any(|e| e.file_name() == "clusterrolebinding-everyone-admin.yaml");
        assert_eq!(written, code == 0, "{privileged}: {err}");
        if code == 1 {
            assert!(err.contains("E0804"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
