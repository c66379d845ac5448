//! The `meshc` command: reads topology files, runs the library pipeline, prints
//! diagnostics, and writes the output directory. With `emit`, the only code that touches
//! the disk.
//!
//! Exit status: 0 success (warnings allowed), 1 the topology has errors (nothing written),
//! 2 usage or I/O error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use meshc::diag::render_human::{HumanStyle, render};
use meshc::source::Sources;

#[derive(Parser)]
#[command(
    name = "meshc",
    version,
    about = "Compile a KDL service-mesh topology into per-cluster Istio and Kubernetes manifests"
)]
#[command(after_help = "Exit status: 0 success, 1 the topology has errors, 2 usage or I/O error.")]
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

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check the topology and write the rendered manifests.
    Build {
        /// The topology file.
        topology: PathBuf,
        /// Output directory.
        #[arg(short, long, default_value = "rendered")]
        output: PathBuf,
    },
    /// Check the topology and report diagnostics; write nothing.
    Check {
        /// The topology file.
        topology: PathBuf,
    },
    /// Explain a diagnostic code: what is wrong, why Istio cares, how to fix it.
    Explain {
        /// A code such as E0103 (case-insensitive).
        code: String,
    },
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
    let (topology, output) = match &cli.command {
        Command::Build { topology, output } => (topology, Some(output)),
        Command::Check { topology } => (topology, None),
        Command::Explain { code } => return explain(code),
    };
    let mut sources = Sources::new();
    match std::fs::read_to_string(topology) {
        Ok(text) => {
            sources.add(display_path(topology), text);
        }
        Err(e) => {
            eprintln!("meshc: cannot read {}: {e}", topology.display());
            return ExitCode::from(2);
        }
    }
    let mut compilation = meshc::compile(&sources);
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
    let Some(out) = compilation.output.filter(|_| !failed) else {
        return ExitCode::from(1);
    };
    let Some(dir) = output else {
        return ExitCode::SUCCESS;
    };
    let mut stderr = std::io::stderr().lock();
    match write_output(dir, &out) {
        Ok(()) => {
            let clusters = out
                .files
                .iter()
                .filter(|f| {
                    f.path.starts_with("clusters/") && f.path.ends_with("/kustomization.yaml")
                })
                .count();
            let plural = if clusters == 1 { "" } else { "s" };
            let _ = writeln!(
                stderr,
                "meshc: wrote {} files for {clusters} cluster{plural} to {}",
                out.files.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(stderr, "meshc: cannot write {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
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
            eprintln!(
                "meshc: no diagnostic code `{code}`{hint} (docs/diagnostics.md lists them all)"
            );
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
    p.to_string_lossy().replace('\\', "/")
}

/// Writes every file through a temporary file and a rename, so a file is either the old
/// one or the new one, never half written. A file whose bytes are unchanged is not
/// rewritten.
fn write_output(dir: &Path, out: &meshc::emit::Output) -> std::io::Result<()> {
    for f in &out.files {
        let path = dir.join(&f.path);
        if std::fs::read(&path).is_ok_and(|old| old == f.contents.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("yaml.meshc-tmp");
        std::fs::write(&tmp, &f.contents)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}
