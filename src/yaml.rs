//! YAML text from ordered JSON values, through serde-saphyr. Its default (YAML 1.1-aware)
//! quoting writes every string that a YAML 1.1 reader such as kubectl's would take for
//! something else (`on`, `no`, `y`, `1_000`, `0777`, `12:30`, dates) in quotes, so the
//! output means the same to YAML 1.1 and 1.2 readers. Long strings stay on one line (no
//! folding, which makes noisy diffs); strings with newlines become `|` blocks.

use serde::Serialize;

pub fn to_yaml(value: &impl Serialize) -> String {
    let mut out = String::new();
    append_yaml(&mut out, value);
    out
}

/// [`to_yaml`], written at the end of `out`.
pub fn append_yaml(out: &mut String, value: &impl Serialize) {
    let options = serde_saphyr::ser_options! { folded_wrap_chars: 1_000_000 };
    let start = out.len();
    if serde_saphyr::to_fmt_writer_with_options(out, value, options).is_err() {
        // Serializing meshc's values (JSON values, plain structs) has no failure mode
        // besides a bug in the serializer; fall back to JSON, which is valid YAML with the
        // same meaning.
        out.truncate(start);
        out.push_str(&serde_json::to_string_pretty(value).unwrap_or_default());
        out.push('\n');
    }
}
