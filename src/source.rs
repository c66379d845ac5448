//! Source files and spans: the only place that knows how byte offsets map to lines and
//! columns. Every phase after parsing refers to source text through a [`Span`].

use std::sync::Arc;

/// Index of a file in a [`Sources`] set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One topology source file, held in memory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub id: FileId,
    /// The path as the user gave it (or as found under a directory); used in messages and
    /// provenance comments, so it is kept relative and with `/` separators.
    pub name: String,
    pub text: Arc<str>,
    line_starts: Vec<u32>,
    /// The text as shown on a terminal, when it differs from `text`: see [`display_text`].
    display: Option<Arc<str>>,
}

impl SourceFile {
    /// The text to show in a snippet: the same bytes at the same offsets, but with every
    /// character that could rewrite the terminal (control characters, bidirectional
    /// overrides that reorder what a reviewer sees) replaced.
    pub fn display_text(&self) -> &str {
        self.display.as_deref().unwrap_or(&self.text)
    }

    /// The byte offset where 0-based line `line` starts (the text's end past the last).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .map_or(self.text.len(), |&s| s as usize)
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// How many lines the text has.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// `s` with every character a terminal would act on instead of show replaced by `?`s or
/// U+FFFD of the same byte length, so byte offsets into it stay those of `s`, and each lone
/// `\r` (a line break in KDL v2) made a `\n`. `None` when there is none of either.
fn display_copy(s: &str) -> Option<String> {
    let lone_cr = |i: usize| s.as_bytes().get(i + 1) != Some(&b'\n');
    if !s
        .char_indices()
        .any(|(i, c)| is_unsafe_on_terminal(c) || (c == '\r' && lone_cr(i)))
    {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if c == '\r' && lone_cr(i) {
            out.push('\n');
        } else if is_unsafe_on_terminal(c) {
            match c.len_utf8() {
                3 => out.push('\u{fffd}'),
                n => out.extend(std::iter::repeat_n('?', n)),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Control characters (C0 but tab and line breaks, DEL, C1) and the bidirectional
/// formatting characters (the "Trojan Source" ones, CVE-2021-42574).
pub fn is_unsafe_on_terminal(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` for a terminal: every character of [`is_unsafe_on_terminal`] escaped (`\u{202e}`).
pub fn escape_for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe_on_terminal) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if is_unsafe_on_terminal(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn line_col(&self, offset: u32) -> LineCol {
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[line_idx] as usize;
        let end = (offset as usize).min(self.text.len());
        let column = self.text.get(start..end).map_or(0, |s| s.chars().count()) + 1;
        LineCol {
            line: line_idx + 1,
            column,
        }
    }
}

/// The set of files one compilation reads. File ids are indices into it, in the order
/// files were added (callers add them in a deterministic, sorted order).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        let text: Arc<str> = text.into();
        let id = FileId(self.files.len() as u32);
        // A line ends at `\n`, `\r\n` or a lone `\r`, as KDL v2 and miette's snippets say.
        let mut line_starts = vec![0u32];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push((i + 1) as u32);
            }
        }
        let display = display_copy(&text).map(Arc::from);
        self.files.push(SourceFile {
            id,
            name: name.into(),
            text,
            line_starts,
            display,
        });
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `file:line:column` of the start of a span, as used in provenance comments.
    pub fn location(&self, span: Span) -> String {
        let f = self.get(span.file);
        let lc = f.line_col(span.start);
        format!("{}:{}:{}", f.name, lc.line, lc.column)
    }
}
