//! Every plain (unquoted) scalar meshc writes must mean the same to a YAML 1.1 reader
//! (kubectl, Argo CD and Helm use go-yaml v2 semantics) as to a YAML 1.2 reader. Quoted
//! and block scalars are strings in both. The resolvers below are written from the two
//! specifications (and go-yaml v2's extra `y`/`n` booleans), independent of the emitter.

use granit_parser::{Event, Parser, ScalarStyle};

use crate::common::{examples, output_of, root};

#[derive(Debug, PartialEq)]
enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Timestamp,
    Merge,
    Str,
}

fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

fn sign(s: &str) -> (i128, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    }
}

fn is_float_12(s: &str) -> bool {
    let (_, t) = sign(s);
    if matches!(t, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() || digits(a, 10))
                && (b.is_empty() || digits(b, 10))
                && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa, 10),
    };
    let exp_ok = exp.is_none_or(|e| digits(sign(e).1, 10));
    mantissa_ok && exp_ok
}

/// YAML 1.2 core schema.
fn resolve_12(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        _ => {}
    }
    let (sg, t) = sign(s);
    if digits(t, 10) {
        return t.parse::<i128>().map_or(Kind::Float, |v| Kind::Int(sg * v));
    }
    if let Some(o) = s.strip_prefix("0o").filter(|o| digits(o, 8)) {
        return Kind::Int(i128::from_str_radix(o, 8).unwrap_or(-1));
    }
    if let Some(x) = s.strip_prefix("0x").filter(|x| digits(x, 16)) {
        return Kind::Int(i128::from_str_radix(x, 16).unwrap_or(-1));
    }
    if is_float_12(s) {
        return Kind::Float;
    }
    Kind::Str
}

/// YAML 1.1 types as go-yaml v2 resolves them (plus 1.1's sexagesimal numbers, which
/// other 1.1 readers such as PyYAML apply).
fn resolve_11(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Kind::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Kind::Bool(false);
        }
        "<<" => return Kind::Merge,
        _ => {}
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let (sg, t) = sign(&plain);
    if let Some(b) = t.strip_prefix("0b").filter(|b| digits(b, 2)) {
        return Kind::Int(sg * i128::from_str_radix(b, 2).unwrap_or(-1));
    }
    if let Some(x) = t.strip_prefix("0x").filter(|x| digits(x, 16)) {
        return Kind::Int(sg * i128::from_str_radix(x, 16).unwrap_or(-1));
    }
    if t.len() > 1 && t.starts_with('0') && digits(t, 8) {
        return Kind::Int(sg * i128::from_str_radix(&t[1..], 8).unwrap_or(-1));
    }
    if digits(t, 10) {
        return t.parse::<i128>().map_or(Kind::Float, |v| Kind::Int(sg * v));
    }
    // Base 60: 1:20, 190:20:30 (ints) and 1:20.5 (floats).
    if t.contains(':')
        && t.split(':')
            .all(|p| !p.is_empty() && (digits(p, 10) || is_float_12(p)))
        && t.as_bytes()[0] != b':'
    {
        return Kind::Float;
    }
    if is_float_12(&plain) || matches!(t, ".inf" | ".Inf" | ".INF") {
        return Kind::Float;
    }
    let b = s.as_bytes();
    if b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        return Kind::Timestamp;
    }
    Kind::Str
}

/// Every plain scalar of `yaml` that two readers would read differently.
fn ambiguous_plain_scalars(yaml: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for ev in Parser::new_from_str(yaml) {
        let (event, _span) = ev.unwrap_or_else(|e| panic!("unparsable YAML: {e:?}\n{yaml}"));
        if let Event::Scalar(value, ScalarStyle::Plain, _, _) = event
            && resolve_11(&value) != resolve_12(&value)
        {
            bad.push(value.to_string());
        }
    }
    bad
}

#[test]
fn resolvers_tell_the_known_traps_apart() {
    for trap in [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "n",
        "Y",
        "NO",
        "1_000",
        "0777",
        "12:30",
        "0b101",
        "2001-12-14",
        "<<",
    ] {
        assert_ne!(
            resolve_11(trap),
            resolve_12(trap),
            "{trap} should differ between 1.1 and 1.2"
        );
    }
    for same in [
        "istio-system",
        "true",
        "false",
        "15012",
        "null",
        "1.0",
        "https://a.b:6443",
        "/inject/cluster/c/net/n",
        "*.local",
    ] {
        assert_eq!(
            resolve_11(same),
            resolve_12(same),
            "{same} should read the same"
        );
    }
    assert_eq!(
        ambiguous_plain_scalars("a: on\nb: 'on'\nc: \"no\"\n"),
        vec!["on".to_string()]
    );
}

#[test]
fn every_plain_scalar_in_every_example_output_reads_the_same_in_yaml_1_1() {
    let mut checked = 0;
    for path in examples() {
        for f in output_of(&path).files {
            let bad = ambiguous_plain_scalars(&f.contents);
            assert!(
                bad.is_empty(),
                "{} {}: ambiguous plain scalars {bad:?}",
                path.display(),
                f.path
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} files checked");
}

/// A cluster named `no` on a network named `on` (and other YAML 1.1 words) must come
/// out quoted wherever they are written, in keys as well as values.
#[test]
fn yaml_1_1_words_as_names_are_quoted() {
    let out = output_of(&root().join("tests/fixtures/yaml-1-1-names.kdl"));
    let mut seen_network = false;
    let mut seen_cluster = false;
    for f in &out.files {
        let bad = ambiguous_plain_scalars(&f.contents);
        assert!(
            bad.is_empty(),
            "{}: ambiguous plain scalars {bad:?}\n{}",
            f.path,
            f.contents
        );
        seen_network |= f.contents.contains("topology.istio.io/network: \"on\"");
        seen_cluster |= f.contents.contains("clusterName: \"no\"");
        // The remote secret's data key is the cluster name: a mapping key.
        if f.path
            .ends_with("externalsecret-istio-remote-secret-yes.istio-system.yaml")
        {
            assert!(f.contents.contains("\"yes\": |"), "{}", f.contents);
            // The kubeconfig inside is YAML that istiod reads with client-go (go-yaml v2
            // semantics): `name: yes` there is a boolean and the remote secret is rejected.
            let v: serde_json::Value = serde_saphyr::from_str(&f.contents).expect("yaml");
            let kubeconfig = v["spec"]["target"]["template"]["data"]["yes"]
                .as_str()
                .expect("the kubeconfig template");
            let bad = ambiguous_plain_scalars(kubeconfig);
            assert!(
                bad.is_empty(),
                "kubeconfig: ambiguous plain scalars {bad:?}\n{kubeconfig}"
            );
        }
    }
    assert!(
        seen_network,
        "no file labels the namespace with network \"on\""
    );
    assert!(seen_cluster, "no file sets clusterName \"no\"");
    assert!(
        out.files
            .iter()
            .any(|f| f.path == "clusters/no/kustomization.yaml")
    );
}

/// Names taken from data go into each file's header comment: a template path holding a
/// newline must not end the comment and write YAML into the object.
#[test]
fn a_template_path_cannot_write_past_the_header_comment() {
    let text = std::fs::read_to_string(root().join("examples/templates/topology.kdl"))
        .expect("templates example")
        .replace(
            "\"templates/sidecar-default.yaml.j2\"",
            "\"templates/sidecar-default.yaml.j2\\nkind: Secret\\n\"",
        );
    let mut sources = meshc::source::Sources::new();
    sources.add("examples/templates/topology.kdl", text.as_str());
    let loader = |from: &str, path: &str| {
        let real = path.split('\n').next().unwrap_or(path);
        crate::common::fs_loader(from, real).map(|(_, t)| (path.to_string(), t))
    };
    let c = meshc::compile_with(&mut sources, &loader);
    let out = c.output.unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    let mut headers = 0;
    for f in out
        .files
        .iter()
        .filter(|f| f.contents.contains("sidecar-default"))
    {
        headers += 1;
        let body: Vec<&str> = f
            .contents
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .collect();
        assert!(
            !body
                .iter()
                .any(|l| l.starts_with("kind: Secret") || l.starts_with(".yaml.j2")),
            "{}:\n{}",
            f.path,
            f.contents
        );
    }
    assert!(headers > 0, "no file names the template");
}
