//! Documents that must agree with the code: the language reference is generated from the
//! schema table, and every diagnostic code has an entry in docs/diagnostics.md.

use crate::common::root;
use meshc::diag::Code;

const MARKER: &str = "## Node reference\n";

#[test]
fn docs_language_reference_matches_the_schema() {
    let path = root().join("docs/language.md");
    let text = std::fs::read_to_string(&path).expect("docs/language.md");
    let (head, _) = text
        .split_once(MARKER)
        .expect("a `## Node reference` section");
    let intro_end = text[head.len() + MARKER.len()..]
        .find("\n### ")
        .map_or(text.len(), |i| head.len() + MARKER.len() + i + 1);
    let preamble = &text[head.len()..intro_end];
    let expected = format!(
        "{head}{preamble}{}",
        meshc::lower::schema::reference_markdown()
    );
    if std::env::var_os("MESHC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/language.md");
        return;
    }
    assert!(
        text == expected,
        "docs/language.md is out of date; run `MESHC_UPDATE_DOCS=1 cargo test docs`"
    );
}

#[test]
fn every_code_has_a_docs_entry() {
    let text =
        std::fs::read_to_string(root().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    for code in Code::ALL {
        let heading = format!("## {} {}\n", code.as_str(), code.slug());
        assert!(
            text.contains(&heading),
            "docs/diagnostics.md has no `{}`",
            heading.trim()
        );
    }
}
