//! The `meshc` command: reads topology files (and the templates they name), runs the
//! library pipeline, prints diagnostics, and brings the output directory up to date
//! through `emit::outdir`. With `emit`, the only code that touches the disk.
//!
//! Exit status: 0 success (warnings allowed), 1 the topology has errors (nothing written),
//! 2 usage or I/O error. `build --check`: 0 current, 1 differs, 2 any error. `diff`: 0 or 2.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use meshc::diag::render_human::{HumanStyle, render};
use meshc::emit::{lock, outdir};
use meshc::source::Sources;

/// `eprintln!` that never panics: with stderr full or closed, meshc still ends with its own
/// exit status (std's `eprintln!` panics on a failed write, exit 101).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "meshc",
    version = meshc::VERSION,
    about = "Compile a KDL service-mesh topology into per-cluster Istio and Kubernetes manifests"
)]
#[command(
    after_help = "Exit status: 0 success, 1 the topology has errors, 2 usage or I/O error.\n`build --check`: 0 the output is current, 1 it differs, 2 any error (topology errors included).\n`diff`: 0 whether or not the output differs, 2 any error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to use colour in diagnostics (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// How diagnostics are written: `human` (stderr), `json` (one object per line on
    /// stdout) or `github` (workflow annotations on stdout).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    message_format: MessageFormat,
    /// Treat warnings as errors: they fail the command, and nothing is written.
    #[arg(long, global = true)]
    deny_warnings: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    Text,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check the topology and bring the output directory up to date.
    Build {
        /// A topology file, or a directory: every `*.kdl` below it, in path order.
        topology: PathBuf,
        /// Output directory.
        #[arg(short, long, default_value = "rendered")]
        output: PathBuf,
        /// Write nothing; exit 1 and print a unified diff if the output is not current.
        #[arg(long)]
        check: bool,
        /// Write into a non-empty directory that has no meshc-provenance.json.
        #[arg(long)]
        force: bool,
    },
    /// Print how the output directory differs from a build (a unified diff); write nothing.
    Diff {
        /// A topology file or directory.
        topology: PathBuf,
        /// Output directory.
        #[arg(short, long, default_value = "rendered")]
        output: PathBuf,
    },
    /// Check the topology and report diagnostics; write nothing.
    Check {
        /// A topology file or directory.
        topology: PathBuf,
    },
    /// Print the bootstrap sequence: which cluster applies what, in which order, and
    /// what each unit waits for (with `--message-format json`, one JSON object).
    Plan {
        /// A topology file or directory.
        topology: PathBuf,
        /// `text` for people, `mermaid` for a flowchart in a README or pull request.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Explain a diagnostic code: what is wrong, why Istio cares, how to fix it.
    Explain {
        /// A code such as E0103 (case-insensitive).
        code: String,
    },
}

/// What to do with the build.
enum Action {
    Check,
    Plan(PlanFormat),
    Build { force: bool },
    VerifyCurrent,
    Diff,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let style = HumanStyle {
        color: match cli.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        },
        unicode: true,
        width: 100,
    };
    let (topology, output, action) = match &cli.command {
        Command::Build {
            topology,
            output,
            check: true,
            ..
        } => (topology, Some(output), Action::VerifyCurrent),
        Command::Build {
            topology,
            output,
            force,
            ..
        } => (topology, Some(output), Action::Build { force: *force }),
        Command::Diff { topology, output } => (topology, Some(output), Action::Diff),
        Command::Check { topology } => (topology, None, Action::Check),
        Command::Plan { topology, format } => (topology, None, Action::Plan(*format)),
        Command::Explain { code } => return explain(code),
    };
    // Templates are read from inside the topology's directory only.
    let root = topology_root(topology);
    let (mut sources, not_text) = match read_sources(topology) {
        Ok(s) => s,
        Err(e) => {
            say!("meshc: {e}");
            return ExitCode::from(2);
        }
    };
    if !not_text.is_empty() {
        report(&not_text, &sources, cli.message_format, style);
        return ExitCode::from(1);
    }
    // One meshc at a time in a directory (`emit::lock`): held from before the directory is
    // read until the process exits. A directory that does not exist yet is locked when
    // the build creates it, and read again then.
    let mut lock = None;
    if let Some(dir) = output.filter(|d| d.is_dir()) {
        let mode = if matches!(action, Action::Build { .. }) {
            lock::Mode::Exclusive
        } else {
            lock::Mode::Shared
        };
        match take_lock(dir, mode) {
            Ok(l) => lock = Some(l),
            Err(code) => return code,
        }
    }
    // The output directory is read while the topology compiles (`outdir::snapshot`).
    let before = output.map(|dir| {
        let dir = dir.clone();
        std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || outdir::snapshot(&dir))
    });
    // `check` and `plan` need every diagnostic and the rollout, not the files.
    let mut compilation = if matches!(action, Action::Check | Action::Plan(_)) {
        meshc::check_with(&mut sources, &|from, path| load_template(&root, from, path))
    } else {
        meshc::compile_with(&mut sources, &|from, path| load_template(&root, from, path))
    };
    // The process ends soon: freeing the rendered tree would only cost time.
    std::mem::forget(compilation.rendered.take());
    if cli.deny_warnings {
        meshc::diag::deny_warnings(&mut compilation.diagnostics);
    }
    report(
        &compilation.diagnostics,
        &sources,
        cli.message_format,
        style,
    );
    let failed = compilation.has_errors();
    if let Action::Plan(format) = action {
        let Some((model, schedule)) = compilation.rollout.as_ref().filter(|_| !failed) else {
            return ExitCode::from(1);
        };
        let plan = meshc::rollout::plan::Plan::new(model, schedule);
        let text = if cli.message_format == MessageFormat::Json {
            format!("{}\n", serde_json::json!({ "plan": plan.json() }))
        } else if format == PlanFormat::Mermaid {
            plan.mermaid()
        } else {
            plan.text(&display_path(topology))
        };
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        return ExitCode::SUCCESS;
    }
    if matches!(action, Action::Check) {
        return if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    let Some(out) = compilation.output.filter(|_| !failed) else {
        // `build --check` and `diff` keep 1 for "the output differs".
        let comparing = matches!(action, Action::VerifyCurrent | Action::Diff);
        return ExitCode::from(if comparing { 2 } else { 1 });
    };
    let Some(dir) = output else {
        return ExitCode::SUCCESS;
    };
    let mut before = match before {
        Some(Ok(thread)) => thread
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e)),
        // No thread could be started: read it now.
        _ => outdir::snapshot(dir),
    };
    if lock.is_none() && matches!(action, Action::Build { .. }) {
        // The directory did not exist: create and lock it, then read it again, in case
        // another build made it meanwhile.
        if let Err(e) = std::fs::create_dir_all(dir) {
            say!("meshc: {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        match take_lock(dir, lock::Mode::Exclusive) {
            Ok(l) => lock = Some(l),
            Err(code) => return code,
        }
        before = outdir::snapshot(dir);
    }
    // Held until the process exits.
    let _lock = lock;
    match before.and_then(|before| update(dir, out, before, &sources, action)) {
        Ok(code) => code,
        Err(e) => {
            say!("meshc: {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}

/// Locks the output directory, or says who holds it (exit 2).
fn take_lock(dir: &Path, mode: lock::Mode) -> Result<lock::DirLock, ExitCode> {
    match lock::lock(dir, mode) {
        Ok(Ok(l)) => Ok(l),
        Ok(Err(held)) => {
            let who = held.pid.map_or_else(
                || "another meshc".to_string(),
                |p| format!("meshc (pid {p})"),
            );
            say!(
                "meshc: {} is locked: {who} is using it; run this again when it is done",
                dir.display()
            );
            Err(ExitCode::from(2))
        }
        Err(e) => {
            say!("meshc: {}: cannot lock: {e}", dir.display());
            Err(ExitCode::from(2))
        }
    }
}

/// Compares the build with the directory and acts on it.
fn update(
    dir: &Path,
    out: meshc::emit::Output,
    before: outdir::Snapshot,
    sources: &Sources,
    action: Action,
) -> std::io::Result<ExitCode> {
    let clusters = out.clusters().len();
    // The process ends right after: freeing the build and the snapshot (hundreds of
    // thousands of small allocations on a large fleet) would only cost time.
    let build = std::mem::ManuallyDrop::new(outdir::with_provenance(out, sources));
    let before = std::mem::ManuallyDrop::new(before);
    let plan = outdir::plan(dir, &build, &before)?;
    let owned = &before.owned;
    let mut stderr = std::io::stderr().lock();
    match action {
        Action::Check | Action::Plan(_) => Ok(ExitCode::SUCCESS),
        Action::VerifyCurrent | Action::Diff => {
            if plan.is_empty() {
                let _ = writeln!(
                    stderr,
                    "meshc: {} is up to date ({} files)",
                    dir.display(),
                    plan.unchanged
                );
                return Ok(ExitCode::SUCCESS);
            }
            let diff = outdir::unified_diff(dir, &build.output, &plan)?;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(diff.as_bytes());
            let _ = stdout.flush();
            let verdict = if matches!(action, Action::Diff) {
                "differs"
            } else {
                "is not up to date"
            };
            let _ = writeln!(
                stderr,
                "meshc: {} {verdict}: {}",
                dir.display(),
                plan.summary()
            );
            Ok(if matches!(action, Action::Diff) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Action::Build { force } => {
            if !plan.blocked.is_empty() {
                let _ = writeln!(
                    stderr,
                    "meshc: refusing to write into {}: {}; meshc never writes or deletes through a link inside its output. Remove it (`rm` removes a link, not what it points at) and build again",
                    dir.display(),
                    plan.blocked_list()
                );
                return Ok(ExitCode::from(2));
            }
            if !force
                && let Some(outdir::Refusal::NotOwned { files }) =
                    outdir::check_ownership(dir, owned)?
            {
                let _ = writeln!(
                    stderr,
                    "meshc: refusing to write into {}: it holds {files} files and no {} (meshc did not write it); pass --force to write there anyway",
                    dir.display(),
                    outdir::PROVENANCE
                );
                return Ok(ExitCode::from(2));
            }
            outdir::apply(
                dir,
                &build,
                owned.as_ref().unwrap_or(&outdir::Owned::default()),
                &plan,
                sources,
            )?;
            let plural = if clusters == 1 { "" } else { "s" };
            let _ = writeln!(
                stderr,
                "meshc: {} cluster{plural} in {}: {}",
                clusters,
                dir.display(),
                plan.summary()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a topology file, or every `*.kdl` under a directory (sorted by path, hidden
/// directories skipped), naming each by its path as given with `/`. A file that is not
/// UTF-8 text is added with its bad bytes replaced, and gets an `E0001` at the first one.
fn read_sources(topology: &Path) -> Result<(Sources, Vec<meshc::diag::Diagnostic>), String> {
    let mut sources = Sources::new();
    let meta = std::fs::metadata(topology)
        .map_err(|e| format!("cannot read {}: {e}", topology.display()))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        for entry in walkdir::WalkDir::new(topology)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", topology.display()))?;
            if entry.path_is_symlink() {
                // A link is followed only to inside the directory: a `.kdl` link counts as
                // the file it names; a directory link inside is read where it really is
                // (the walk gets there), one to outside is refused, never skipped.
                let inside = inside(&root_of(topology), entry.path());
                let target = std::fs::metadata(entry.path()).ok();
                if !inside {
                    return Err(format!(
                        "{} is a symbolic link to outside {}; meshc reads topology files from inside it only",
                        entry.path().display(),
                        topology.display()
                    ));
                }
                if target.is_some_and(|m| m.is_file())
                    && entry.path().extension().is_some_and(|x| x == "kdl")
                {
                    files.push(entry.into_path());
                }
                continue;
            }
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|x| x == "kdl") {
                files.push(entry.into_path());
            }
        }
        if files.is_empty() {
            return Err(format!("{} holds no .kdl file", topology.display()));
        }
    } else {
        files.push(topology.to_path_buf());
    }
    files.sort();
    let mut not_text = Vec::new();
    for f in files {
        let bytes = read_bytes_bounded(&f, MAX_SOURCE)
            .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        match String::from_utf8(bytes) {
            Ok(text) => {
                sources.add(display_path(&f), text);
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = sources.add(display_path(&f), text);
                // The valid prefix is unchanged, and the first bad byte became U+FFFD.
                let span = meshc::source::Span::new(id, at, at + '\u{fffd}'.len_utf8());
                not_text.push(
                    meshc::diag::Diagnostic::new(
                        meshc::diag::Code::KdlSyntax,
                        "this file is not UTF-8 text",
                    )
                    .primary(span, "not UTF-8")
                    .help("a topology is KDL v2, which is UTF-8 text; is this a binary file?"),
                );
            }
        }
    }
    Ok((sources, not_text))
}

/// The largest topology file meshc reads (a fleet of 128 clusters and 4,000 services is
/// 2 MB of KDL).
const MAX_SOURCE: u64 = 64 << 20;
/// The largest template meshc reads.
const MAX_TEMPLATE: u64 = 1 << 20;

/// The directory a topology is read from: itself, or the directory of the file.
fn root_of(topology: &Path) -> PathBuf {
    if topology.is_dir() {
        topology.to_path_buf()
    } else {
        topology
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    }
}

/// [`root_of`], with links resolved (for [`inside`]).
fn topology_root(topology: &Path) -> PathBuf {
    let root = root_of(topology);
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Is `path`, links resolved, inside `root`?
fn inside(root: &Path, path: &Path) -> bool {
    match (std::fs::canonicalize(root), std::fs::canonicalize(path)) {
        (Ok(root), Ok(path)) => path.starts_with(root),
        _ => false,
    }
}

/// A regular file's text, refused beyond `limit` bytes (`/dev/zero` as a template would
/// otherwise be read until memory runs out).
fn read_bounded(path: &Path, limit: u64) -> Result<String, String> {
    String::from_utf8(read_bytes_bounded(path, limit)?).map_err(|_| "not UTF-8 text".to_string())
}

/// A regular file's bytes, refused beyond `limit`.
fn read_bytes_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "larger than {} MiB, the most meshc reads",
            limit >> 20
        ));
    }
    Ok(bytes)
}

/// Reads a template named in topology file `from`, relative to that file's directory. It
/// must be inside the topology's directory (`root`, links resolved): a topology cannot
/// copy `/etc/passwd` or a CI credential into the rendered output.
fn load_template(root: &Path, from: &str, path: &str) -> Result<(String, String), String> {
    let full = Path::new(from).parent().unwrap_or(Path::new("")).join(path);
    let shown = display_path(&full);
    if Path::new(path).is_absolute() || !inside(root, &full) {
        if !full.exists() {
            return Err(format!("{shown}: no such file"));
        }
        return Err(format!(
            "{shown} is outside the topology's directory; templates are read from inside it only"
        ));
    }
    read_bounded(&full, MAX_TEMPLATE)
        .map(|text| (shown.clone(), text))
        .map_err(|e| format!("{shown}: {e}"))
}

fn explain(code: &str) -> ExitCode {
    match meshc::diag::Code::parse(&code.to_ascii_uppercase()) {
        Some(c) => {
            let mut stdout = std::io::stdout().lock();
            let _ = write!(stdout, "{}", c.explanation());
            ExitCode::SUCCESS
        }
        None => {
            let codes = meshc::diag::Code::ALL.iter().map(|c| c.as_str());
            let hint = match meshc::diag::suggest(&code.to_ascii_uppercase(), codes) {
                Some(s) => format!("; did you mean {s}?"),
                None => String::new(),
            };
            say!("meshc: no diagnostic code `{code}`{hint} (docs/diagnostics.md lists them all)");
            ExitCode::from(2)
        }
    }
}

/// Prints diagnostics in the chosen format, then the summary line (to stderr).
fn report(
    diags: &[meshc::diag::Diagnostic],
    sources: &Sources,
    format: MessageFormat,
    style: HumanStyle,
) {
    let mut stderr = std::io::stderr().lock();
    let mut stdout = std::io::stdout().lock();
    for d in diags {
        let _ = match format {
            MessageFormat::Human => write!(stderr, "{}", render(d, sources, style)),
            MessageFormat::Json => {
                writeln!(stdout, "{}", meshc::diag::render_machine::json(d, sources))
            }
            MessageFormat::Github => writeln!(
                stdout,
                "{}",
                meshc::diag::render_machine::github(d, sources)
            ),
        };
    }
    let _ = stdout.flush();
    if let Some(summary) = meshc::diag::summary(diags) {
        let failed = diags.iter().any(|d| d.is_error());
        let _ = writeln!(
            stderr,
            "{}: {summary}",
            if failed { "error" } else { "warning" }
        );
    }
}

/// The path as shown in diagnostics and provenance comments: as given, with `/`.
fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}
