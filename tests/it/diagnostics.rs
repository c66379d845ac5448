//! UI tests: each `tests/ui/<CODE>-<slug>.kdl` is one mistake; its rendered diagnostics
//! (no colour, fixed width) are pinned by a snapshot, and the named code must be among
//! them. Every code of the catalogue has such a fixture.

use std::path::PathBuf;

use meshc::diag::{Code, Severity};

use crate::common::{compile_path, rendered_diagnostics, root};

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/ui"))
        .expect("tests/ui")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kdl"))
        .collect();
    v.sort();
    v
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_fixture_reports_its_code_and_matches_its_snapshot() {
    let fixtures = fixtures();
    assert!(!fixtures.is_empty());
    for path in fixtures {
        let name = stem(&path);
        let (sources, c) = compile_path(&path);
        let mut text = rendered_diagnostics(&sources, &c);
        text.push_str("\n--- json ---\n");
        for d in &c.diagnostics {
            text.push_str(&meshc::diag::render_machine::json(d, &sources));
            text.push('\n');
        }
        text.push_str("\n--- github ---\n");
        for d in &c.diagnostics {
            text.push_str(&meshc::diag::render_machine::github(d, &sources));
            text.push('\n');
        }
        if let Some(code) = Code::parse(name.split('-').next().unwrap_or("")) {
            assert!(
                c.diagnostics.iter().any(|d| d.code == code),
                "{name}: expected {} among the diagnostics:\n{text}",
                code.as_str()
            );
            // An error fixture must fail the build; a warning fixture must not.
            assert_eq!(
                c.has_errors(),
                code.severity() == Severity::Error,
                "{name}:\n{text}"
            );
        }
        for d in &c.diagnostics {
            assert!(
                d.primary_span().is_some() || d.code == Code::NoMesh,
                "{name}: {} has no span",
                d.code.as_str()
            );
        }
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("ui-{name}"), text);
        });
    }
}

#[test]
fn every_code_has_a_fixture() {
    let names: Vec<String> = fixtures().iter().map(|p| stem(p)).collect();
    for code in Code::ALL {
        let expected = format!("{}-{}", code.as_str(), code.slug());
        assert!(
            names.contains(&expected),
            "no fixture tests/ui/{expected}.kdl"
        );
    }
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = std::collections::HashSet::new();
    for code in Code::ALL {
        assert!(
            seen.insert(code.as_str()),
            "duplicate code {}",
            code.as_str()
        );
        let prefix = if code.severity() == Severity::Error {
            'E'
        } else {
            'W'
        };
        assert!(
            code.as_str().starts_with(prefix) && code.as_str().len() == 5,
            "{}",
            code.as_str()
        );
        assert_eq!(Code::parse(code.as_str()), Some(*code));
    }
}

#[test]
fn a_file_with_five_mistakes_reports_all_five() {
    let (_, c) = compile_path(&root().join("tests/ui/multiple-five-mistakes.kdl"));
    let mut codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.dedup();
    assert_eq!(
        codes,
        ["E0004", "E0103", "E0305", "E0101", "W0502"],
        "in source order"
    );
    assert!(
        c.output.is_none(),
        "nothing is rendered when there are errors"
    );
}

#[test]
fn a_misspelt_reference_gets_a_suggestion() {
    let (_, c) = compile_path(&root().join("tests/ui/E0103-unknown-reference.kdl"));
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnknownReference)
        .expect("E0103");
    assert_eq!(d.help.as_deref(), Some("did you mean `gcp`?"));
    let span = d.primary_span().expect("span");
    let text = std::fs::read_to_string(root().join("tests/ui/E0103-unknown-reference.kdl"))
        .expect("fixture");
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "gpc",
        "the label is on the value alone"
    );
}

#[test]
fn json_of_a_five_error_file_lists_five_objects_at_the_right_places() {
    let path = root().join("tests/fixtures/errors/five-errors.kdl");
    let source = std::fs::read_to_string(&path).expect("fixture");
    let (sources, c) = compile_path(&path);
    let objects: Vec<serde_json::Value> = c
        .diagnostics
        .iter()
        .map(|d| {
            serde_json::from_str(&meshc::diag::render_machine::json(d, &sources))
                .expect("valid JSON")
        })
        .collect();
    assert_eq!(objects.len(), 5, "{objects:#?}");
    // Each error's primary label is on a token the fixture marks; find it independently.
    let expected = [
        ("E0004", "regoin"),
        ("E0103", "gpc"),
        ("E0101", "Bad_Name"),
        ("E0007", "strct"),
        ("E0601", "weight"),
    ];
    for (obj, (code, token)) in objects.iter().zip(expected) {
        assert_eq!(obj["code"], code);
        assert_eq!(obj["severity"], "error");
        let offset = source.find(token).expect("token in fixture");
        let line = source[..offset].matches('\n').count() + 1;
        let column = offset - source[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        assert_eq!(obj["file"], "tests/fixtures/errors/five-errors.kdl");
        assert_eq!(
            (obj["line"].as_u64(), obj["column"].as_u64()),
            (Some(line as u64), Some(column as u64)),
            "{code}"
        );
        assert_eq!(obj["end_line"].as_u64(), Some(line as u64));
        assert_eq!(
            obj["end_column"].as_u64(),
            Some((column + token.len()) as u64),
            "{code}: end is exclusive"
        );
        assert!(obj["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(obj["labels"].as_array().is_some_and(|l| !l.is_empty()));
    }
}

#[test]
fn an_undefined_template_variable_is_reported_at_the_template_line() {
    let (sources, c) = compile_path(&root().join("tests/ui/E0801-template-error.kdl"));
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::TemplateError)
        .expect("E0801");
    let json: serde_json::Value =
        serde_json::from_str(&meshc::diag::render_machine::json(d, &sources)).expect("json");
    assert_eq!(json["file"], "tests/ui/templates/undefined.yaml.j2");
    let template = std::fs::read_to_string(root().join("tests/ui/templates/undefined.yaml.j2"))
        .expect("template");
    let line = template
        .lines()
        .position(|l| l.contains("servce"))
        .expect("the mistake")
        + 1;
    assert_eq!(json["line"].as_u64(), Some(line as u64));
    let secondary = &json["labels"][1];
    assert_eq!(
        secondary["file"], "tests/ui/E0801-template-error.kdl",
        "and at the KDL node that named it"
    );
    assert!(c.output.is_none());
}
