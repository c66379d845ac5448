//! meshc's KDL v2 reader: source text → [`Document`] in one pass over the bytes, with the
//! spans the `kdl` crate would give (a differential test in `tests/it/kdl_reader.rs` holds
//! it to that crate on every shipped topology and on generated edge cases).
//!
//! The reader only accepts: it says nothing about why a text is not KDL. When it gives up,
//! `syntax::parse` asks the `kdl` crate, which explains the error (and, should it accept
//! what the reader refused, its document is used: the reader may be stricter than the
//! crate, never more lenient). It follows the KDL 2.0.0 grammar as the crate implements it
//! (kdl-org/kdl-rs `src/v2_parser.rs`), including where the crate is stricter than the
//! spec: a slashdashed node is followed by a newline or a comment, never by `;`.
//!
//! Blocks nest at most [`MAX_DEPTH`] deep; deeper is an error of its own (the reader
//! recurses per block, and so would the crate). Comments nest without a bound: the reader
//! counts them.

use super::tree::{Document, Entry, Ident, Node, Value};
use crate::source::{FileId, Span};

/// How deep children blocks may nest.
pub const MAX_DEPTH: u32 = 100;

/// Why the reader stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Not KDL the reader accepts, at this byte offset; the `kdl` crate says why.
    Refused(usize),
    /// Blocks nested deeper than [`MAX_DEPTH`], at the `{` of this byte offset.
    TooDeep(usize),
}

type R<T> = Result<T, Stop>;

pub fn read(file: FileId, text: &str) -> Result<Document, Stop> {
    let mut r = Reader {
        src: text,
        b: text.as_bytes(),
        pos: 0,
        file,
        depth: 0,
    };
    if r.rest().starts_with('\u{FEFF}') {
        r.pos += '\u{FEFF}'.len_utf8();
    }
    let nodes = r.nodes()?;
    if r.pos != r.b.len() {
        return r.refused();
    }
    Ok(Document { nodes })
}

struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    file: FileId,
    depth: u32,
}

/// `unicode-space`, as the crate lists it.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// A newline other than CRLF (which `newline_len` matches first).
fn is_newline(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{0085}' | '\u{000B}' | '\u{000C}' | '\u{2028}' | '\u{2029}'
    )
}

/// Code points KDL forbids outside comments.
fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}'
        | '\u{000E}'..='\u{001F}'
        | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
    )
}

fn is_ident_char(c: char) -> bool {
    if c.is_ascii() {
        // Fast path: printable ASCII other than the punctuation KDL reserves.
        return c > ' '
            && !matches!(
                c,
                '\\' | '/' | '(' | ')' | '{' | '}' | '[' | ']' | ';' | '"' | '#' | '='
            );
    }
    !(is_space(c) || is_newline(c) || is_disallowed(c))
}

impl<'a> Reader<'a> {
    fn refused<T>(&self) -> R<T> {
        Err(Stop::Refused(self.pos))
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        match self.b.get(self.pos) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.rest().chars().next(),
            None => None,
        }
    }

    fn peek_byte(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// The length of the newline at `pos`, if one is there.
    fn newline_len(&self) -> usize {
        match self.peek() {
            Some('\r') if self.b.get(self.pos + 1) == Some(&b'\n') => 2,
            Some(c) if is_newline(c) => c.len_utf8(),
            _ => 0,
        }
    }

    fn newline(&mut self) -> bool {
        let n = self.newline_len();
        self.pos += n;
        n > 0
    }

    /// `ws := unicode-space | multi-line-comment`
    fn ws(&mut self) -> R<bool> {
        match self.peek() {
            Some(c) if is_space(c) => {
                self.pos += c.len_utf8();
                Ok(true)
            }
            Some('/') if self.at("/*") => {
                self.multi_line_comment()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn wss(&mut self) -> R<()> {
        while self.ws()? {}
        Ok(())
    }

    fn multi_line_comment(&mut self) -> R<()> {
        let start = self.pos;
        self.pos += 2;
        let mut depth = 1u32;
        while depth > 0 {
            let Some(i) = self.b[self.pos..]
                .iter()
                .position(|&b| b == b'*' || b == b'/')
            else {
                // Unclosed: point at where it opens.
                return Err(Stop::Refused(start));
            };
            self.pos += i;
            if self.at("*/") {
                depth -= 1;
                self.pos += 2;
            } else if self.at("/*") {
                depth += 1;
                self.pos += 2;
            } else {
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// `single-line-comment := '//' ^newline* (newline | eof)`
    fn single_line_comment(&mut self) {
        self.pos += 2;
        while self.pos < self.b.len() {
            if self.newline() {
                return;
            }
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
    }

    /// `escline := '\' ws* (single-line-comment | newline | eof) ws*`, at a `\`.
    fn escline(&mut self) -> R<bool> {
        let save = self.pos;
        self.pos += 1;
        self.wss()?;
        if self.at("//") {
            self.single_line_comment();
        } else if !self.newline() && self.pos != self.b.len() {
            self.pos = save;
            return Ok(false);
        }
        self.wss()?;
        Ok(true)
    }

    /// `node-space := ws* escline ws* | ws+`; returns whether it consumed anything.
    fn node_space(&mut self) -> R<bool> {
        let start = self.pos;
        self.wss()?;
        if self.peek_byte() == Some(b'\\') {
            self.escline()?;
        }
        Ok(self.pos > start)
    }

    fn node_space0(&mut self) -> R<bool> {
        let start = self.pos;
        while self.node_space()? {}
        Ok(self.pos > start)
    }

    /// `line-space := node-space | newline | single-line-comment`
    fn line_space(&mut self) -> R<bool> {
        if self.node_space()? || self.newline() {
            return Ok(true);
        }
        if self.at("//") {
            self.single_line_comment();
            return Ok(true);
        }
        Ok(false)
    }

    /// `slashdash := '/-' line-space*`, at a `/-`.
    fn slashdash(&mut self) -> R<()> {
        self.pos += 2;
        while self.line_space()? {}
        Ok(())
    }

    /// Is what follows a value's end: `=`, `)`, a brace, space, a terminator, the end?
    fn at_value_end(&mut self) -> R<bool> {
        let Some(c) = self.peek() else {
            return Ok(true);
        };
        if matches!(c, '=' | ')' | '{' | '}' | ';') || is_space(c) || is_newline(c) {
            return Ok(true);
        }
        if c == '/' {
            return Ok(self.at("//") || self.at("/*"));
        }
        if c == '\\' {
            let save = self.pos;
            let is = self.escline()?;
            self.pos = save;
            return Ok(is);
        }
        Ok(false)
    }

    /// `nodes := (line-space | slashdash base-node)* (node (terminator …)*)?`, up to a `}`
    /// or the end.
    fn nodes(&mut self) -> R<Vec<Node>> {
        let mut out = Vec::new();
        loop {
            loop {
                if self.line_space()? {
                    continue;
                }
                if self.at("/-") {
                    self.slashdash()?;
                    self.base_node()?;
                    continue;
                }
                break;
            }
            match self.peek_byte() {
                None | Some(b'}') => return Ok(out),
                _ => {}
            }
            out.push(self.base_node()?);
            // `node-terminator`, unless the block or the document ends here.
            match self.peek_byte() {
                Some(b';') => self.pos += 1,
                Some(b'/') if self.at("//") => self.single_line_comment(),
                None | Some(b'}') => {}
                _ if self.newline() => {}
                _ => return self.refused(),
            }
        }
    }

    fn base_node(&mut self) -> R<Node> {
        let start = self.pos;
        if self.peek_byte() == Some(b'(') {
            self.type_annotation()?;
        }
        self.node_space0()?;
        let name = self.ident()?;
        let mut entries = Vec::new();
        let mut children: Option<Vec<Node>> = None;
        // Once a children block (real or slashdashed) is read, only blocks may follow.
        let mut blocks = false;
        // Right after the real block, a slashdashed one needs no space before it.
        let mut after_real_block = false;
        loop {
            let spaced = self.node_space0()?;
            match self.peek_byte() {
                Some(b'{') => {
                    if children.is_some() {
                        return self.refused();
                    }
                    children = Some(self.children()?);
                    blocks = true;
                    after_real_block = true;
                }
                Some(b'/') if self.at("/-") => {
                    if !spaced && !after_real_block {
                        return self.refused();
                    }
                    self.slashdash()?;
                    if self.peek_byte() == Some(b'{') {
                        self.children()?;
                        blocks = true;
                    } else if blocks {
                        return self.refused();
                    } else {
                        self.entry()?;
                    }
                    after_real_block = false;
                }
                None | Some(b';' | b'}') => break,
                Some(b'/') if self.at("//") => break,
                _ if self.newline_len() > 0 => break,
                _ => {
                    if !spaced || blocks {
                        return self.refused();
                    }
                    entries.push(self.entry()?);
                }
            }
        }
        Ok(Node {
            name,
            span: self.span(start, self.pos),
            entries,
            children: children.unwrap_or_default(),
        })
    }

    fn children(&mut self) -> R<Vec<Node>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop::TooDeep(self.pos));
        }
        let open = self.pos;
        self.pos += 1;
        let nodes = self.nodes()?;
        match self.peek_byte() {
            Some(b'}') => {}
            None => return Err(Stop::Refused(open)),
            Some(_) => return self.refused(),
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(nodes)
    }

    /// `type := '(' node-space* string node-space* ')'`, read and dropped.
    fn type_annotation(&mut self) -> R<()> {
        self.pos += 1;
        self.node_space0()?;
        self.string()?;
        self.node_space0()?;
        if self.peek_byte() != Some(b')') {
            return self.refused();
        }
        self.pos += 1;
        Ok(())
    }

    /// An argument or a property.
    fn entry(&mut self) -> R<Entry> {
        let start = self.pos;
        if self.starts_string() {
            let key = self.ident()?;
            let after_key = self.pos;
            self.node_space0()?;
            if self.peek_byte() == Some(b'=') {
                self.pos += 1;
                self.node_space0()?;
                let (value, value_span) = self.value()?;
                return Ok(Entry {
                    name: Some(key),
                    value,
                    span: self.span(start, value_span.end as usize),
                    value_span,
                });
            }
            self.pos = after_key;
            return Ok(Entry {
                name: None,
                span: key.span,
                value_span: key.span,
                value: Value::String(key.value),
            });
        }
        let (value, value_span) = self.value()?;
        Ok(Entry {
            name: None,
            value,
            span: self.span(start, value_span.end as usize),
            value_span,
        })
    }

    /// `value := type? node-space* (string | number | keyword)`
    fn value(&mut self) -> R<(Value, Span)> {
        if self.peek_byte() == Some(b'(') {
            self.type_annotation()?;
            self.node_space0()?;
        }
        let start = self.pos;
        let value = match self.peek_byte() {
            Some(b'#') if !matches!(self.b.get(self.pos + 1), Some(b'#' | b'"')) => {
                self.keyword()?
            }
            Some(b'0'..=b'9') => self.number()?,
            Some(b'+' | b'-') if self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => {
                self.number()?
            }
            _ => Value::String(self.string()?),
        };
        if !self.at_value_end()? {
            return self.refused();
        }
        Ok((value, self.span(start, self.pos)))
    }

    fn keyword(&mut self) -> R<Value> {
        let table = [
            ("#true", Value::Bool(true)),
            ("#false", Value::Bool(false)),
            ("#null", Value::Null),
            ("#nan", Value::Float(f64::NAN)),
            ("#inf", Value::Float(f64::INFINITY)),
            ("#-inf", Value::Float(f64::NEG_INFINITY)),
        ];
        for (text, value) in table {
            if self.at(text) {
                self.pos += text.len();
                return Ok(value);
            }
        }
        self.refused()
    }

    /// A node name or property key: any string, followed by a value's end.
    fn ident(&mut self) -> R<Ident> {
        let start = self.pos;
        let value = self.string()?;
        if !self.at_value_end()? {
            return self.refused();
        }
        Ok(Ident {
            value,
            span: self.span(start, self.pos),
        })
    }

    fn starts_string(&self) -> bool {
        match self.peek() {
            Some('"') => true,
            Some('#') => matches!(self.b.get(self.pos + 1), Some(b'#' | b'"')),
            Some('+' | '-') => !self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit),
            Some(c) => !c.is_ascii_digit() && is_ident_char(c),
            None => false,
        }
    }

    /// `string := identifier-string | quoted-string | raw-string`
    fn string(&mut self) -> R<String> {
        match self.peek_byte() {
            Some(b'"') => self.quoted(),
            Some(b'#') => self.raw(),
            _ => self.bare(),
        }
    }

    /// `identifier-string`: no leading digit (nor sign or dot then digit), not a keyword.
    fn bare(&mut self) -> R<String> {
        let start = self.pos;
        let b = &self.b[start..];
        let (sign, after) = match b.first() {
            Some(b'+' | b'-') => (1, b.get(1)),
            _ => (0, b.first()),
        };
        let dot_then = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        match after {
            Some(c) if c.is_ascii_digit() => return self.refused(),
            Some(b'.') if dot_then(sign + 1) => return self.refused(),
            _ => {}
        }
        while let Some(c) = self.peek() {
            if !is_ident_char(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        let s = &self.src[start..self.pos];
        if s.is_empty() || matches!(s, "true" | "false" | "null" | "inf" | "-inf" | "nan") {
            return self.refused();
        }
        Ok(s.to_string())
    }

    /// `"…"` or a multi-line `"""…"""`.
    fn quoted(&mut self) -> R<String> {
        if self.at("\"\"\"") {
            self.pos += 3;
            if !self.newline() {
                return self.refused();
            }
            return self.multi_line(0);
        }
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain ASCII at once.
            let run = self.b[self.pos..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x7F).contains(&b))
                .unwrap_or(self.b.len() - self.pos);
            out.push_str(&self.src[self.pos..self.pos + run]);
            self.pos += run;
            match self.peek() {
                None => return Err(Stop::Refused(open)),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => self.escape(&mut out)?,
                Some(c) if is_newline(c) || is_disallowed(c) => return self.refused(),
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// An escape at a `\` in a quoted string; a whitespace escape adds nothing.
    fn escape(&mut self, out: &mut String) -> R<()> {
        self.pos += 1;
        let c = match self.peek_byte() {
            Some(b'\\') => '\\',
            Some(b'"') => '"',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{C}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b's') => ' ',
            Some(b'u') => {
                if self.b.get(self.pos + 1) != Some(&b'{') {
                    return self.refused();
                }
                let digits = self.b[self.pos + 2..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                if !(1..=6).contains(&digits) || self.b.get(self.pos + 2 + digits) != Some(&b'}') {
                    return self.refused();
                }
                let hex = &self.src[self.pos + 2..self.pos + 2 + digits];
                let c = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(Stop::Refused(self.pos))?;
                out.push(c);
                self.pos += 3 + digits;
                return Ok(());
            }
            _ => {
                let start = self.pos;
                loop {
                    match self.peek() {
                        Some(c) if is_space(c) => self.pos += c.len_utf8(),
                        _ if self.newline() => {}
                        _ => break,
                    }
                }
                return if self.pos > start {
                    Ok(())
                } else {
                    self.refused()
                };
            }
        };
        out.push(c);
        self.pos += 1;
        Ok(())
    }

    /// `#"…"#`, `##"…"##`, or a multi-line raw string.
    fn raw(&mut self) -> R<String> {
        let start = self.pos;
        let hashes = self.b[self.pos..]
            .iter()
            .take_while(|&&b| b == b'#')
            .count();
        self.pos += hashes;
        if self.at("\"\"\"") {
            let save = self.pos;
            self.pos += 3;
            if self.newline() {
                return self.multi_line(hashes);
            }
            self.pos = save;
        }
        if self.peek_byte() != Some(b'"') {
            return self.refused();
        }
        self.pos += 1;
        let body_start = self.pos;
        let close = &self.src[start..start + hashes];
        loop {
            match self.peek() {
                None => return self.refused(),
                Some('"') if self.src[self.pos + 1..].starts_with(close) => break,
                Some(c) if is_newline(c) || is_disallowed(c) => return self.refused(),
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let body = &self.src[body_start..self.pos];
        self.pos += 1 + hashes;
        if body == "\"" {
            return self.refused();
        }
        Ok(body.to_string())
    }

    /// The body of a multi-line string, after its opening quotes and newline: lines up
    /// to a line of only whitespace before the closing quotes (and `hashes` hashes, for a
    /// raw one). That whitespace is taken off every line; lines of only whitespace become
    /// empty. Escapes are read in quoted ones (a whitespace escape sends it to the crate).
    fn multi_line(&mut self, hashes: usize) -> R<String> {
        let raw = hashes > 0;
        let close_len = 3 + hashes;
        let is_close = |s: &str| {
            s.len() >= close_len
                && s.starts_with("\"\"\"")
                && s.as_bytes()[3..close_len].iter().all(|&b| b == b'#')
        };
        // Find the closing line, checking every body line's characters on the way.
        let mut lines: Vec<(usize, usize)> = Vec::new();
        let prefix;
        loop {
            let line_start = self.pos;
            let indent = self
                .rest()
                .find(|c: char| !is_space(c))
                .unwrap_or(self.rest().len());
            if is_close(&self.rest()[indent..]) {
                prefix = &self.src[line_start..line_start + indent];
                self.pos = line_start + indent + close_len;
                break;
            }
            loop {
                match self.peek() {
                    None => return self.refused(),
                    Some(c) if is_newline(c) => break,
                    Some(c) if is_disallowed(c) => return self.refused(),
                    Some('"') if is_close(self.rest()) || !raw && self.at("\"\"\"") => {
                        return self.refused();
                    }
                    Some('\\') if !raw => {
                        let next = self.src[self.pos + 1..].chars().next();
                        if next.is_none_or(|c| is_space(c) || is_newline(c)) {
                            return self.refused();
                        }
                        self.pos += 1 + next.map_or(0, char::len_utf8);
                    }
                    Some(c) => self.pos += c.len_utf8(),
                }
            }
            lines.push((line_start, self.pos));
            self.newline();
        }
        let mut out = String::new();
        for (i, &(from, to)) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let line = &self.src[from..to];
            if line.chars().all(is_space) {
                continue;
            }
            let Some(content) = line.strip_prefix(prefix) else {
                return self.refused();
            };
            if raw {
                out.push_str(content);
            } else {
                let mut sub = Reader {
                    src: self.src,
                    b: self.b,
                    pos: to - content.len(),
                    file: self.file,
                    depth: self.depth,
                };
                while sub.pos < to {
                    match sub.peek() {
                        Some('\\') => sub.escape(&mut out)?,
                        Some(c) => {
                            out.push(c);
                            sub.pos += c.len_utf8();
                        }
                        None => break,
                    }
                }
            }
        }
        Ok(out)
    }

    /// `number`: decimal, `0x`, `0o` or `0b`, with `_` between digits; a decimal with a
    /// fraction or an exponent is a float.
    fn number(&mut self) -> R<Value> {
        let start = self.pos;
        let negative = self.peek_byte() == Some(b'-');
        if matches!(self.peek_byte(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let radix = match (self.peek_byte(), self.b.get(self.pos + 1)) {
            (Some(b'0'), Some(b'x')) => 16,
            (Some(b'0'), Some(b'o')) => 8,
            (Some(b'0'), Some(b'b')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
            let digits = self.digits(radix)?;
            let magnitude =
                i128::from_str_radix(&digits, radix).map_err(|_| Stop::Refused(self.pos))?;
            return Ok(Value::Integer(if negative {
                -magnitude
            } else {
                magnitude
            }));
        }
        let int = self.digits(10)?;
        let mut float = false;
        if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            self.digits(10)?;
            float = true;
        }
        if matches!(self.peek_byte(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek_byte(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits(10)?;
            float = true;
        }
        if float {
            let text: String = self.src[start..self.pos]
                .chars()
                .filter(|&c| c != '_')
                .collect();
            return text
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| Stop::Refused(self.pos));
        }
        let magnitude = int.parse::<i128>().map_err(|_| Stop::Refused(self.pos))?;
        Ok(Value::Integer(if negative {
            -magnitude
        } else {
            magnitude
        }))
    }

    /// A digit, then digits and `_`; returns the digits.
    fn digits(&mut self, radix: u32) -> R<String> {
        let is_digit = |b: u8| (b as char).is_digit(radix);
        if !self.peek_byte().is_some_and(is_digit) {
            return self.refused();
        }
        let mut out = String::new();
        while let Some(b) = self.peek_byte() {
            if is_digit(b) {
                out.push(b as char);
            } else if b != b'_' {
                break;
            }
            self.pos += 1;
        }
        Ok(out)
    }
}
