//! `cargo bench --bench commands [-- LADDER]`: whole `meshc` commands on generated fleets,
//! as a user runs them, writing included. For each rung of the ladder it reports, as the
//! minimum and median of three runs: `check`, a full build into an empty directory, a no-op
//! rebuild, `build --check` on the current directory, and the write floor measured in the
//! same run (copying the produced tree with `cp -r`, then `sync`), each with its time per
//! output file and the peak RSS (from GNU time, when `/usr/bin/time` exists). A benchmark,
//! not a test: read its numbers.
//!
//! LADDER is a comma-separated list of `CLUSTERSxSERVICES` (default
//! `4x50,16x400,64x2000,128x4000`, about 1k to 350k files). The fleets are deterministic:
//! one mesh on four networks, a primary every fourth cluster (and the first eight), the
//! others remotes of the latest primary on their network; each service runs in three
//! clusters in two versions, with a canary split, a timeout, failover between regions and
//! outlier detection.
//!
//! Nothing is deleted while the run measures: every full build and every copy goes into a
//! directory of its own, and the work directory is removed at the end. Creating many files
//! right after deleting many is slow on ext4, whose inode allocator passes over inodes freed
//! in the last 5 to 35 seconds (`recently_deleted` in linux fs/ext4/ialloc.c); measured
//! here, a full build into a directory deleted just before took 70 s instead of 10 s.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const NETWORKS: usize = 4;

/// The fleet topology for `clusters` clusters and `services` services.
fn fleet(clusters: usize, services: usize) -> String {
    let regions = NETWORKS * 2;
    let mut s = String::new();
    s.push_str("istio version=\"1.30.4\"\n");
    s.push_str("gitops argocd repo=\"https://git.example.net/fleet/rendered.git\" revision=main path=out\n");
    s.push_str("secrets external-secrets store=vault prefix=\"mesh/\"\n\n");
    s.push_str("mesh fleet {\n    trust-domain \"fleet.example.net\"\n    dns-proxy #true\n    ca cert-manager issuer=fleet-root\n");
    for n in 0..NETWORKS {
        let _ = writeln!(s, "    network net-{n}");
    }
    let mut primary_of_network = [0usize; NETWORKS];
    for c in 0..clusters {
        let net = c % NETWORKS;
        let _ = writeln!(
            s,
            "    cluster c-{c} network=net-{net} region=region-{} {{",
            c % regions
        );
        if c < NETWORKS * 2 || c % 4 == 0 {
            primary_of_network[net] = c;
            let _ = writeln!(
                s,
                "        control-plane primary\n        east-west-address \"10.{}.{}.1\"",
                c / 250,
                c % 250
            );
        } else {
            let _ = writeln!(
                s,
                "        control-plane remote primary=c-{}",
                primary_of_network[net]
            );
        }
        let _ = writeln!(
            s,
            "        api-server \"https://c-{c}.example.net:6443\"\n    }}"
        );
    }
    let namespaces = (services / 50).max(1);
    for n in 0..namespaces {
        let _ = writeln!(s, "    namespace ns-{n}");
    }
    for k in 0..services {
        let at = |i: usize| (k * 7 + i) % clusters;
        let _ = writeln!(
            s,
            "    service svc-{k} namespace=ns-{} {{\n        port http 8080",
            k % namespaces
        );
        for (i, (version, replicas)) in [("v1", 2), ("v1", 2), ("v2", 1)].iter().enumerate() {
            let _ = writeln!(
                s,
                "        deploy c-{} version={version} replicas={replicas} image=\"registry.example.net/svc-{k}:{version}\"",
                at(i)
            );
        }
        s.push_str("        route {\n            weight v1=90 v2=10\n            timeout \"5s\"\n        }\n");
        let (ra, rb) = (at(0) % regions, at(1) % regions);
        if ra != rb {
            let _ = writeln!(s, "        failover from=region-{ra} to=region-{rb}");
        }
        s.push_str("        outlier-detection consecutive-5xx=5 interval=\"10s\" base-ejection=\"30s\"\n    }\n");
    }
    s.push_str("}\n");
    s
}

/// One run of `args` (a shell command line run through GNU time when available): wall
/// seconds and peak RSS in MB.
fn run(args: &[&str], cwd: &Path) -> (f64, Option<f64>) {
    let time = Path::new("/usr/bin/time");
    let rss_file = cwd.join(".rss");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    let start = Instant::now();
    let status = cmd
        .current_dir(cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let secs = start.elapsed().as_secs_f64();
    // `build --check` exits 0 on a current directory; anything else is a broken run.
    assert!(status.success(), "{args:?} failed: {status}");
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.trim().lines().last()?.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    (secs, rss)
}

/// Minimum and median of three runs of the same command, with the largest peak RSS seen.
fn three(args: &[&str], cwd: &Path) -> (f64, f64, Option<f64>) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    three_in(&|_| args.clone(), cwd, &String::new)
}

/// Minimum and median of three runs, each of the command `args` makes for a directory
/// name from `next`, with the largest peak RSS seen.
fn three_in(
    args: &dyn Fn(&str) -> Vec<String>,
    cwd: &Path,
    next: &dyn Fn() -> String,
) -> (f64, f64, Option<f64>) {
    let mut times = Vec::new();
    let mut rss: Option<f64> = None;
    for _ in 0..3 {
        let dir = next();
        let args = args(&dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (t, r) = run(&args, cwd);
        times.push(t);
        rss = match (rss, r) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[1], rss)
}

fn files_under(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

fn main() {
    let ladder: Vec<(usize, usize)> = std::env::args()
        .skip(1)
        .find(|a| a.contains('x'))
        .unwrap_or_else(|| "4x50,16x400,64x2000,128x4000".to_string())
        .split(',')
        .filter_map(|r| {
            let (c, s) = r.split_once('x')?;
            Some((c.parse().ok()?, s.parse().ok()?))
        })
        .collect();
    let meshc = env!("CARGO_BIN_EXE_meshc");
    let work: PathBuf = std::env::temp_dir().join(format!("meshc-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    println!("command            min      median   per file   peak RSS");
    for (clusters, services) in ladder {
        let rung = work.join(format!("{clusters}x{services}"));
        std::fs::create_dir_all(&rung).expect("work dir");
        std::fs::write(rung.join("fleet.kdl"), fleet(clusters, services)).expect("write fleet");
        // Fresh directory names: `out-1`, `out-2`, … and `floor-1`, … (see the top comment).
        let fresh = |what: &'static str| {
            let n = std::cell::Cell::new(0);
            move || {
                n.set(n.get() + 1);
                format!("{what}-{}", n.get())
            }
        };
        let (c_min, c_med, c_rss) = three(&[meshc, "check", "fleet.kdl"], &rung);
        let next_out = fresh("out");
        let (b_min, b_med, b_rss) = three_in(
            &|dir: &str| {
                [meshc, "build", "fleet.kdl", "-o", dir]
                    .map(String::from)
                    .to_vec()
            },
            &rung,
            &next_out,
        );
        let files = files_under(&rung.join("out-1"));
        let (n_min, n_med, n_rss) = three(&[meshc, "build", "fleet.kdl", "-o", "out-1"], &rung);
        let (v_min, v_med, v_rss) = three(
            &[meshc, "build", "--check", "fleet.kdl", "-o", "out-1"],
            &rung,
        );
        let _ = Command::new("sync").status();
        let next_floor = fresh("floor");
        let (f_min, f_med, _) = three_in(
            &|dir: &str| {
                ["sh", "-c", &format!("cp -r out-1 {dir} && sync")]
                    .map(String::from)
                    .to_vec()
            },
            &rung,
            &next_floor,
        );
        println!(
            "\n{clusters} clusters x {services} services: {files} files, {:.1} MB of KDL",
            std::fs::metadata(rung.join("fleet.kdl")).map_or(0.0, |m| m.len() as f64 / 1e6)
        );
        let row = |what: &str, min: f64, med: f64, rss: Option<f64>| {
            println!(
                "{what:<16} {min:>7.2} s {med:>7.2} s {:>7.1} µs {}",
                med * 1e6 / files.max(1) as f64,
                rss.map_or("-".to_string(), |r| format!("{r:>7.0} MB"))
            );
        };
        row("check", c_min, c_med, c_rss);
        row("full build", b_min, b_med, b_rss);
        row("no-op rebuild", n_min, n_med, n_rss);
        row("build --check", v_min, v_med, v_rss);
        row("write floor", f_min, f_med, None);
        println!(
            "full build / write floor {:.2}; no-op / check {:.2}; build --check / check {:.2}",
            b_med / f_med,
            n_med / c_med,
            v_med / c_med
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}
