//! Parsing: source text → [`tree::Document`] (KDL v2). meshc's own reader (`read.rs`)
//! reads every valid file; when it refuses one, the `kdl` crate explains why. Parse errors
//! become `E0001` diagnostics; a file that parses as KDL v1 but not v2 gets one `E0002`
//! saying so and how to convert it. Never fails hard: a file that does not parse yields no
//! document.

pub mod from_kdl;
pub mod read;
pub mod tree;

use kdl::KdlDocument;

use crate::diag::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use tree::Document;

pub fn parse(file: &SourceFile) -> (Option<Document>, Vec<Diagnostic>) {
    let text: &str = &file.text;
    let refused_at = match read::read(file.id, text) {
        Ok(doc) => return (Some(doc), Vec::new()),
        Err(read::Stop::TooDeep(at)) => return (None, vec![too_deep(file, at)]),
        Err(read::Stop::Refused(at)) => at,
    };
    let Some((v2, v1_ok)) = ask_the_crate(text) else {
        return (None, vec![unexplained(file, refused_at)]);
    };
    let err = match v2 {
        Ok(doc) => return (Some(from_kdl::convert(file.id, &doc)), Vec::new()),
        Err(err) => err,
    };
    let first = err
        .diagnostics
        .iter()
        .map(|d| d.span.offset())
        .min()
        .unwrap_or(0);
    if v1_ok {
        let (at, example) = match first_v1_token(text) {
            Some((offset, len, line, fixed)) => (
                Span::new(file.id, offset, offset + len),
                Some((line, fixed)),
            ),
            None => (line_span(file, first), None),
        };
        let mut help = String::from(
            "in KDL v2 the keywords are written `#true`, `#false` and `#null`, and raw strings `#\"...\"#`",
        );
        if let Some((line, fixed)) = example {
            help.push_str(&format!(
                "; for example, line {line} becomes `{}`",
                fixed.trim()
            ));
        }
        let d = Diagnostic::new(
            Code::KdlV1,
            format!("`{}` is written in KDL v1; meshc reads KDL v2", file.name),
        )
        .primary(at, "KDL v1 syntax")
        .help(help);
        return (None, vec![d]);
    }
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut last: Option<(usize, String)> = None;
    for k in &err.diagnostics {
        let start = k.span.offset();
        let label = k.label.clone().unwrap_or_else(|| "here".to_string());
        // The parser sometimes reports one fault twice at neighbouring offsets.
        if last
            .as_ref()
            .is_some_and(|(at, l)| start.abs_diff(*at) <= 2 && *l == label)
        {
            continue;
        }
        last = Some((start, label.clone()));
        if let Some(d) = v1_keyword(file, start) {
            diags.push(d);
            continue;
        }
        let span = shrink_to_line(file, start, start + k.span.len());
        let message = k
            .message
            .clone()
            .unwrap_or_else(|| "invalid KDL".to_string());
        let mut d = Diagnostic::new(Code::KdlSyntax, message).primary(span, label);
        if let Some(h) = &k.help {
            d = d.help(h.clone());
        }
        diags.push(d);
    }
    (None, diags)
}

/// The most nested constructs the `kdl` crate is given: its parsers recurse once per open
/// block, per open comment, and per `*` or `/` inside a comment
/// (kdl-org/kdl-rs `src/v2_parser.rs`, `node_children` and `commented_block`), so a text
/// with more of `{`, `*` and `/` than this is explained by the reader alone.
const CRATE_BOUND: usize = 8000;

/// The stack the crate's parsers get: measured, 8,000 levels of either kind need less
/// than half of it in a debug build.
const CRATE_STACK: usize = 256 << 20;

/// The crate's verdict on a text the reader refused, v2 and (when v2 fails) v1, on a
/// thread with a stack large enough for [`CRATE_BOUND`]; `None` when the text could
/// recurse deeper than that.
fn ask_the_crate(text: &str) -> Option<(Result<KdlDocument, kdl::KdlError>, bool)> {
    let risk = text
        .bytes()
        .filter(|b| matches!(b, b'{' | b'*' | b'/'))
        .count();
    if risk > CRATE_BOUND {
        return None;
    }
    let text = text.to_string();
    std::thread::Builder::new()
        .name("kdl".into())
        .stack_size(CRATE_STACK)
        .spawn(move || {
            let v2 = KdlDocument::parse_v2(&text);
            let v1_ok = v2.is_err() && KdlDocument::parse_v1(&text).is_ok();
            (v2, v1_ok)
        })
        .ok()?
        .join()
        .ok()
}

/// A text too large for the crate to explain: where the reader stopped.
fn unexplained(file: &SourceFile, at: usize) -> Diagnostic {
    let at = at.min(file.text.len());
    let end = file.text[at..]
        .chars()
        .next()
        .map_or(at, |c| at + c.len_utf8());
    Diagnostic::new(Code::KdlSyntax, "this is not valid KDL v2")
        .primary(Span::new(file.id, at, end), "cannot be read from here")
        .help("either a comment, string or block opens here and is never closed, or what is written here breaks the KDL v2 grammar (https://kdl.dev/spec/)")
}

fn too_deep(file: &SourceFile, at: usize) -> Diagnostic {
    let end = (at + 1).min(file.text.len());
    Diagnostic::new(
        Code::KdlSyntax,
        format!("blocks are nested more than {} deep", read::MAX_DEPTH),
    )
    .primary(Span::new(file.id, at, end), "one level too many")
    .help("a topology nests a handful of levels (mesh, service, route, match); close the blocks left open above")
}

/// A parse error on a bare `true`, `false` or `null`: the KDL v1 spelling of a keyword.
fn v1_keyword(file: &SourceFile, offset: usize) -> Option<Diagnostic> {
    let rest = file.text.get(offset..)?;
    let kw = ["true", "false", "null"].into_iter().find(|kw| {
        rest.starts_with(kw)
            && rest[kw.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
    })?;
    Some(
        Diagnostic::new(Code::KdlV1, format!("`{kw}` is KDL v1 syntax; meshc reads KDL v2"))
            .primary(Span::new(file.id, offset, offset + kw.len()), format!("write `#{kw}`"))
            .help("in KDL v2 the keywords are written `#true`, `#false` and `#null`; a bare word is a string"),
    )
}

/// The KDL parser sometimes labels a region that runs over several lines; a label on the
/// first line reads better and points at where the reader must look.
fn shrink_to_line(file: &SourceFile, start: usize, end: usize) -> Span {
    let text: &str = &file.text;
    let start = start.min(text.len());
    let end = end.clamp(start, text.len());
    let line_end = text[start..end].find('\n').map_or(end, |i| start + i);
    let end = if line_end == start {
        (start + 1).min(text.len())
    } else {
        line_end
    };
    Span::new(file.id, start, end)
}

/// The rest of the line from `offset`, used to label where v1 syntax starts.
fn line_span(file: &SourceFile, offset: usize) -> Span {
    let text: &str = &file.text;
    let offset = offset.min(text.len());
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    Span::new(file.id, offset, end.max(offset))
}

/// Finds the first bare `true`/`false`/`null` keyword or `r"` raw string, the marks of a
/// KDL v1 file. Returns its offset and length, its 1-based line, and that line in v2.
fn first_v1_token(text: &str) -> Option<(usize, usize, usize, String)> {
    let mut line_start = 0;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let bytes = code.as_bytes();
        let mut found = None;
        for (i, _) in code.char_indices() {
            let before_ok = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'=' | b'(' | b')');
            if !before_ok {
                continue;
            }
            let rest = &code[i..];
            for kw in ["true", "false", "null"] {
                let after = rest.as_bytes().get(kw.len()).copied();
                if rest.starts_with(kw)
                    && matches!(
                        after,
                        None | Some(b' ' | b'\t' | b';' | b'}' | b'\n' | b'\r')
                    )
                {
                    found = Some((i, kw.len(), format!("{}#{}", &code[..i], &code[i..])));
                    break;
                }
            }
            if found.is_none() && (rest.starts_with("r\"") || rest.starts_with("r#\"")) {
                // v1 raw string `r"…"` / `r#"…"#` is `#"…"#` in v2.
                let body = rest[1..].trim_start_matches('#');
                let fixed = body.get(1..).and_then(|b| {
                    b.find('"')
                        .map(|end| format!("{}#\"{}\"#", &code[..i], &b[..end]))
                });
                found = fixed.map(|f| (i, 2, f));
            }
            if found.is_some() {
                break;
            }
        }
        if let Some((i, len, fixed)) = found {
            return Some((line_start + i, len, idx + 1, fixed));
        }
        line_start += line.len();
    }
    None
}
