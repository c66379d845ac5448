//! meshc compiles a KDL service-mesh topology into per-cluster directories of Istio and
//! Kubernetes manifests. The pipeline is parse → lower → check → render → emit; see
//! ARCHITECTURE.md. This library does no I/O: [`compile`] takes source text and returns
//! files as bytes together with every diagnostic.

pub mod ast;
pub mod check;
pub mod diag;
pub mod emit;
pub mod lower;
pub mod model;
pub mod render;
pub mod source;
pub mod syntax;
pub mod yaml;

use diag::Diagnostic;
use source::Sources;

/// The result of compiling a topology: the rendered files when there was no error, and
/// every diagnostic, sorted by position.
#[derive(Debug)]
pub struct Compilation {
    pub output: Option<emit::Output>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Runs the whole pipeline over `sources`.
pub fn compile(sources: &Sources) -> Compilation {
    let mut diagnostics = Vec::new();
    let mut docs = Vec::new();
    for file in sources.iter() {
        let (doc, mut d) = syntax::parse(file);
        diagnostics.append(&mut d);
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
    diag::sort(&mut diagnostics);
    let output = match model {
        Some(model) if !diagnostics.iter().any(Diagnostic::is_error) => {
            let rendered = render::render(&model);
            Some(emit::emit(&model, &rendered, sources))
        }
        _ => None,
    };
    Compilation {
        output,
        diagnostics,
    }
}
