//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use meshc::Compilation;
use meshc::diag::render_human::{HumanStyle, render};
use meshc::source::Sources;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles one file, named in messages by its path relative to the repository.
pub fn compile_path(path: &Path) -> (Sources, Compilation) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    compile_text(&name, &text)
}

pub fn compile_text(name: &str, text: &str) -> (Sources, Compilation) {
    let mut sources = Sources::new();
    sources.add(name, text);
    let c = meshc::compile_with(&mut sources, &fs_loader);
    (sources, c)
}

/// Reads templates relative to the topology file (repository-relative names), as the CLI does.
pub fn fs_loader(from: &str, path: &str) -> Result<(String, String), String> {
    let rel = Path::new(from).parent().unwrap_or(Path::new("")).join(path);
    let name = rel.to_string_lossy().replace('\\', "/");
    std::fs::read_to_string(root().join(&rel))
        .map(|t| (name.clone(), t))
        .map_err(|e| format!("{name}: {e}"))
}

/// Every diagnostic rendered as a user sees it (no colour), plus the summary line.
pub fn rendered_diagnostics(sources: &Sources, c: &Compilation) -> String {
    let mut out = String::new();
    for d in &c.diagnostics {
        out.push_str(&render(d, sources, HumanStyle::plain()));
    }
    if let Some(s) = meshc::diag::summary(&c.diagnostics) {
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// The examples, sorted: `examples/<name>/topology.kdl`.
pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path().join("topology.kdl")))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// All output of a successful compilation; panics with the diagnostics otherwise.
pub fn output_of(path: &Path) -> meshc::emit::Output {
    let (sources, c) = compile_path(path);
    expect_output(&path.display().to_string(), &sources, c)
}

/// All output of topology `text` (named `name`); panics with the diagnostics if it has errors.
pub fn output_of_text(name: &str, text: &str) -> meshc::emit::Output {
    let (sources, c) = compile_text(name, text);
    expect_output(name, &sources, c)
}

fn expect_output(name: &str, sources: &Sources, c: Compilation) -> meshc::emit::Output {
    match c.output {
        Some(out) if !c.has_errors() => out,
        _ => panic!(
            "{name} does not compile:\n{}",
            rendered_diagnostics(sources, &c)
        ),
    }
}

/// Runs the `meshc` binary in `cwd` (no colour), with extra environment variables.
pub fn run_meshc(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meshc"));
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run meshc")
}

/// Every file under `dir`, by path relative to it (with `/`), with its bytes; sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap_or(e.path())
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    v.sort();
    v
}

/// The `gitops` line of each engine, as the examples write them.
pub const ARGOCD: &str =
    "gitops argocd repo=\"https://github.com/acme/mesh-rendered.git\" revision=main path=rendered";
pub const FLUX: &str = "gitops flux path=rendered";

/// The `gitops` line of an engine (`argocd` or `flux`).
pub fn gitops_line(engine: &str) -> &'static str {
    if engine == "argocd" { ARGOCD } else { FLUX }
}

/// Topology `text` (named `name` in messages) with its one `gitops` line set to `engine`.
pub fn with_engine(name: &str, text: &str, engine: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with("gitops "))
        .collect();
    assert_eq!(
        at.len(),
        1,
        "{name}: expected exactly one gitops line, found {}",
        at.len()
    );
    let mut out: Vec<&str> = lines;
    out[at[0]] = gitops_line(engine);
    out.join("\n") + "\n"
}

/// An example's topology text with its `gitops` line set to `engine` (`argocd` or `flux`).
pub fn example_for_engine(example: &str, engine: &str) -> String {
    let path = root().join(format!("examples/{example}/topology.kdl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{example}: {e}"));
    with_engine(example, &text, engine)
}

/// An example compiled for `engine`; panics with the diagnostics if it does not compile.
pub fn output_for_engine(example: &str, engine: &str) -> meshc::emit::Output {
    let name = format!("examples/{example}/topology.kdl");
    let (sources, c) = compile_text(&name, &example_for_engine(example, engine));
    match c.output {
        Some(out) if !c.has_errors() => out,
        _ => panic!(
            "{example} ({engine}) does not compile:\n{}",
            rendered_diagnostics(&sources, &c)
        ),
    }
}

/// [`run_meshc`] that gives up after `secs` seconds: the process is killed and `None`
/// returned (a test of something that used to hang fails instead of hanging).
pub fn run_meshc_within(args: &[&str], cwd: &Path, secs: u64) -> Option<std::process::Output> {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run meshc");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
