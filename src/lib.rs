//! meshc compiles a KDL service-mesh topology into per-cluster directories of Istio and
//! Kubernetes manifests. The pipeline is parse → lower → check → render → emit; see
//! ARCHITECTURE.md. This library does no I/O: [`compile`] takes source text and returns
//! files as bytes together with every diagnostic.

/// `meshc --version`: the crate version and the Istio releases meshc targets
/// (`check::MIN_ISTIO` to `check::MAX_ISTIO_MINOR`; a test keeps them in step).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (Istio 1.24 to 1.31)");

pub mod ast;
pub mod check;
pub mod credentials;
pub mod diag;
pub mod emit;
pub mod lower;
pub mod model;
pub mod render;
pub mod rollout;
pub mod source;
pub mod syntax;
pub mod templates;
pub mod yaml;

use diag::Diagnostic;
use source::Sources;

/// The result of compiling a topology: the rendered files when there was no error, and
/// every diagnostic, sorted by position.
#[derive(Debug)]
pub struct Compilation {
    pub output: Option<emit::Output>,
    pub diagnostics: Vec<Diagnostic>,
    /// The checked model and the derived rollout, when there was no error (`meshc plan`).
    pub rollout: Option<(model::Model, rollout::Schedule)>,
    /// The rendered objects the output was made of, when the checks passed. Returned
    /// rather than freed here: on a large fleet they are a million small allocations, which
    /// a process about to exit (the CLI) need not free at all.
    pub rendered: Option<render::Rendered>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads a template a topology names: given the name of the topology file that names it
/// and the path as written there, returns the template's display name and text, or why it
/// cannot be read. The CLI reads files relative to the topology file; tests read fixtures.
pub type Loader<'a> = &'a dyn Fn(&str, &str) -> Result<(String, String), String>;

/// Runs the whole pipeline over `sources`, without access to template files (a topology
/// that names one gets `E0803`).
pub fn compile(sources: &Sources) -> Compilation {
    let mut own = sources.clone();
    compile_with(&mut own, &|_, _| {
        Err("templates cannot be read here".to_string())
    })
}

/// Runs the whole pipeline. Template files the topology names are read through `loader`
/// and added to `sources`, so diagnostics can point into them.
pub fn compile_with(sources: &mut Sources, loader: Loader<'_>) -> Compilation {
    pipeline(sources, loader, true)
}

/// Every phase that can report a diagnostic, and the rollout, but no output: wiring the
/// GitOps units and serializing files report nothing, so `meshc check` and `meshc plan`
/// skip them (`output` is `None`).
pub fn check_with(sources: &mut Sources, loader: Loader<'_>) -> Compilation {
    pipeline(sources, loader, false)
}

fn pipeline(sources: &mut Sources, loader: Loader<'_>, emit_files: bool) -> Compilation {
    let mut diagnostics = Vec::new();
    let mut docs = Vec::new();
    for file in sources.iter() {
        let (doc, mut d) = syntax::parse(file);
        diagnostics.append(&mut d);
        if let Some(doc) = &doc {
            diagnostics.extend(credentials::scan_document(doc));
        }
        if let Some(doc) = doc {
            docs.push((file.id, doc));
        }
    }
    let refs: Vec<_> = docs.iter().map(|(id, d)| (*id, d)).collect();
    let (ast, mut d) = lower::lower(&refs);
    diagnostics.append(&mut d);
    // A file that did not parse leaves the topology incomplete: checking what remains
    // would report things the missing file declares.
    let complete = docs.len() == sources.iter().count();
    let model = if complete {
        let (model, mut d) = check::check(&ast);
        diagnostics.append(&mut d);
        model
    } else {
        None
    };
    let mut output = None;
    let mut rollout = None;
    let mut kept = None;
    if let Some(model) = model.filter(|_| !diagnostics.iter().any(Diagnostic::is_error)) {
        let mut loaded = Vec::new();
        for (mi, mesh) in model.meshes.iter().enumerate() {
            for t in &mesh.templates {
                let from = &sources.get(t.path.span.file).name.clone();
                match loader(from, &t.path.value) {
                    Ok((name, text)) => loaded.push(templates::Loaded {
                        mesh: mi,
                        template: t,
                        file: sources.add(name, text),
                    }),
                    Err(why) => diagnostics.push(
                        Diagnostic::new(
                            diag::Code::MissingTemplate,
                            format!("template `{}` cannot be read: {why}", t.path.value),
                        )
                        .primary(t.path.span, "not read")
                        .help("paths are relative to the topology file that names the template, and stay inside the topology's directory"),
                    ),
                }
            }
        }
        let mut rendered = render::render(&model);
        diagnostics.append(&mut templates::expand(
            &model,
            &loaded,
            sources,
            &mut rendered,
        ));
        if !diagnostics.iter().any(Diagnostic::is_error) {
            let (schedule, mut d) = rollout::schedule(&model, &rendered);
            diagnostics.append(&mut d);
            if let Some(schedule) =
                schedule.filter(|_| !diagnostics.iter().any(Diagnostic::is_error))
            {
                if emit_files {
                    render::wire(&model, &mut rendered, &schedule);
                    output = Some(emit::emit(&model, &rendered, &schedule, sources));
                }
                rollout = Some((model, schedule));
            }
        }
        kept = Some(rendered);
    }
    diag::sort(&mut diagnostics);
    Compilation {
        output,
        diagnostics,
        rollout,
        rendered: kept,
    }
}
