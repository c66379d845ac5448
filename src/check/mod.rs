//! Checking: [`Ast`] → [`Model`]. Resolves names, fills in defaults and applies every rule
//! of the catalogue that needs more than one node. All problems are reported; the model
//! is returned only when there is no error, so rendering never sees a broken topology.

mod mesh;
mod service;
mod top;

pub use top::{MAX_ISTIO_MINOR, MIN_ISTIO};

use crate::ast::Ast;
use crate::diag::Diagnostic;
use crate::model::Model;

pub fn check(ast: &Ast) -> (Option<Model>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let istio = top::istio(ast, &mut diags);
    let gitops = top::gitops(ast, &mut diags);
    let secrets = top::secrets(ast, &mut diags);
    let meshes = mesh::meshes(ast, &mut diags);
    top::cross_mesh(ast, &meshes, &mut diags);
    top::needs_secrets(ast, &meshes, secrets.is_some(), &mut diags);
    top::version_advisories(ast, istio.as_ref(), &meshes, &mut diags);
    top::ipv6_control_addresses(ast, istio.as_ref(), &meshes, &mut diags);
    let model = match (istio, gitops) {
        (Some(istio), Some(gitops)) if !diags.iter().any(Diagnostic::is_error) => Some(Model {
            istio,
            gitops,
            secrets,
            meshes,
        }),
        _ => None,
    };
    (model, diags)
}
