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

/// docs/diagnostics.md is generated from the explanations; it is current when
/// regenerating changes nothing.
#[test]
fn docs_diagnostics_lists_every_code_with_its_explanation() {
    let path = root().join("docs/diagnostics.md");
    let expected = meshc::diag::docs_markdown();
    if std::env::var_os("MESHC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/diagnostics.md");
        return;
    }
    let text = std::fs::read_to_string(&path).expect("docs/diagnostics.md");
    assert!(
        text == expected,
        "docs/diagnostics.md is out of date; run `MESHC_UPDATE_DOCS=1 cargo test docs`"
    );
    for code in Code::ALL {
        assert!(
            text.contains(&format!("## {} {}\n", code.as_str(), code.slug())),
            "{}",
            code.as_str()
        );
    }
}

/// Every explanation has the four parts, and its corrected example, when it is a whole
/// topology, compiles without errors.
#[test]
fn every_explanation_is_complete_and_its_right_example_compiles() {
    for code in Code::ALL {
        let text = code.explanation();
        let name = code.as_str();
        assert!(
            text.starts_with(&format!("# {} {}\n", name, code.slug())),
            "{name}: title"
        );
        for section in [
            "## Why it matters",
            "## How to fix",
            "## Example",
            "Wrong:",
            "Right:",
        ] {
            assert!(text.contains(section), "{name}: no `{section}`");
        }
        let words = text.split_whitespace().count();
        assert!((60..=450).contains(&words), "{name}: {words} words");
        let right = text.split("Right:").nth(1).unwrap_or("");
        let Some(block) = right
            .split("```kdl\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
        else {
            panic!("{name}: the Right example is not a kdl code block");
        };
        if block.contains("istio version=") {
            let (sources, c) = crate::common::compile_text(&format!("{name}-right.kdl"), block);
            assert!(
                !c.has_errors(),
                "{name}: the Right example does not compile:\n{}",
                crate::common::rendered_diagnostics(&sources, &c)
            );
            assert!(
                c.diagnostics.iter().all(|d| d.code != *code),
                "{name}: the Right example still reports {name}"
            );
        }
    }
}

/// `schema/` is generated from the schema table; it is current when regenerating it
/// changes nothing (`MESHC_UPDATE_DOCS=1 cargo test docs` rewrites it).
#[test]
fn schema_files_match_the_compiler() {
    let files = [
        (
            "schema/topology.schema.json",
            meshc::lower::schema_export::json_schema(),
        ),
        (
            "schema/topology.kdl-schema.kdl",
            meshc::lower::schema_export::kdl_schema(),
        ),
    ];
    for (rel, expected) in files {
        let path = root().join(rel);
        if std::env::var_os("MESHC_UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &expected).expect("write");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text == expected,
            "{rel} is out of date; run `MESHC_UPDATE_DOCS=1 cargo test docs`"
        );
    }
}

#[test]
fn the_kdl_schema_is_valid_kdl_and_the_json_schema_valid_json() {
    let kdl =
        std::fs::read_to_string(root().join("schema/topology.kdl-schema.kdl")).expect("kdl schema");
    assert!(kdl.parse::<kdl::KdlDocument>().is_ok(), "not valid KDL v2");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/topology.schema.json")).expect("json schema"),
    )
    .expect("valid JSON");
    assert_eq!(json["properties"]["mesh"]["type"], "array");
    assert_eq!(
        json["properties"]["mesh"]["items"]["properties"]["cluster"]["items"]["properties"]["control-plane"]
            ["properties"]["model"]["enum"],
        serde_json::json!(["primary", "remote", "external"])
    );
}
