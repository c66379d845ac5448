//! meshc's KDL reader against the `kdl` crate, the reference it must agree with: on every
//! topology the repository ships, on a table of edge cases of the grammar, and on many
//! deterministic mutations of both. Where the reader accepts a text, the crate accepts it
//! too and gives the same tree (names, values and every span); where the reader refuses,
//! `syntax::parse` falls back to the crate, so refusing is allowed but counted.

use meshc::source::FileId;
use meshc::syntax::{from_kdl, read};

use crate::common::root;

const FILE: FileId = FileId(0);

/// The crate's verdict and the reader's, compared. Returns whether the reader accepted.
fn agree(text: &str) -> bool {
    let ours = read::read(FILE, text);
    let theirs = kdl::KdlDocument::parse_v2(text);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            let theirs = from_kdl::convert(FILE, &theirs);
            // NaN is not equal to itself; the debug forms compare it as text.
            assert_eq!(
                format!("{ours:#?}"),
                format!("{theirs:#?}"),
                "the reader and the crate read {text:?} differently"
            );
            true
        }
        (Ok(ours), Err(e)) => {
            panic!("the reader accepts {text:?}, which the crate rejects ({e:?}): {ours:#?}")
        }
        (Err(_), _) => false,
    }
}

/// Runs `f` on a thread with the stack the crate needs for the deepest fixtures (the
/// E0001 ones that exist to be too deep for it).
fn on_a_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(f)
        .expect("thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn shipped() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["examples", "tests/ui", "tests/fixtures", "schema"] {
        for e in walkdir::WalkDir::new(root().join(dir))
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "kdl") {
                let text = std::fs::read_to_string(p).expect("read");
                out.push((p.display().to_string(), text));
            }
        }
    }
    assert!(out.len() > 50, "found only {} topologies", out.len());
    out
}

/// Texts the reader must accept (the crate accepts them all), one per feature of the
/// grammar, with their spans checked against the crate's.
const ACCEPTED: &[&str] = &[
    "",
    "\n\n",
    "a",
    "a;b;c",
    "a\r\nb\rc\u{85}d\u{2028}e",
    "\u{FEFF}a 1",
    "a 1 2 3",
    "a key=1 other=\"two\" third=#true",
    "a key = 1 b =2 c= 3",
    "a \"quoted key\"=1 #\"raw key\"#=2",
    "a  x   \t y\u{3000}z\u{a0}w",
    "a // comment\nb",
    "a /* inline */ 1 /* nested /* twice */ */ 2",
    "/* leading */ a",
    "a 1 \\\n  2 \\ // comment\n  3",
    "a \\\n",
    "/- a 1\nb",
    "a /-1 2 /-key=3 k=4",
    "a /- 1 2",
    "a 1 /-{ x } { y }",
    "a { b } /-{ c }",
    "a {}/-{ c }",
    "a { b; c { d } }",
    "a {\n  b\n  c 1\n}\nd",
    "a{}",
    "a x{}",
    "a 1{}",
    "a #true{}",
    "a{b}",
    "a { b }",
    "a {\n}\n",
    "a {\n  /- b\n}",
    "a {\n  b\n  /- c\n}",
    "a\n/- b { c }",
    "(type)a 1",
    "(type) a (t)1 k=(t)\"x\" (t) 2",
    "( spaced )a",
    "a #true #false #null #inf #-inf #nan",
    "a 0 -1 +2 1_000 0x1F -0xff 0o17 0b1010 0b1_0",
    "a 1.5 -2.25 1e3 1E-3 2.5e+2 1_0.0_1",
    "a 170141183460469231731687303715884105727",
    "a \"\" \"x\" \"tab\\there\" \"q\\\"q\" \"b\\\\s\" \"\\b\\f\\n\\r\\s\"",
    "a \"\\u{1F600}\" \"\\u{a}\" \"é ü 中\"",
    "a \"one \\   two\" \"x\\\n   y\"",
    "a #\"raw \\n\"# ##\"has \"# inside\"## #\"\"#",
    "a \"\"\"\n  line one\n    indented\n  \"\"\"",
    "a \"\"\"\n\n  after a blank\n   \n  \"\"\"",
    "a \"\"\"\n  \"\"\"",
    "a \"\"\"\r\n  crlf\r\n  \"\"\"",
    "a \"\"\"\n  esc\\tape \\\"q\\\" \" and \"\" \n  \"\"\"",
    "a #\"\"\"\n  raw \\n \"\"\" \"\n  \"\"\"#",
    "a ##\"\"\"\n  x \"\"\"# y\n  \"\"\"##",
    "- + . -x +y .z -.a",
    "ident-with.dots_and~tilde* 1",
    "<>!?@$%^&*:, 1",
    "a b=c d",
    "\"quoted name\" 1",
    "#\"raw name\"# 1",
    "a 1;",
    "a; ",
    "a\t;\tb",
    "a { b; };",
    "a {\n  b }\n",
    "a { b // comment\n}",
    "a { b /* c */ }",
    "a 1 // comment at the end",
    "a 1 \\ // comment\n",
    "a\u{0B}b\u{0C}c",
    "a 1 /- /* c */ 2",
    "a /-\n  1 2",
    "/-\na\nb",
];

/// Texts the crate rejects; the reader must too.
const REJECTED: &[&str] = &[
    "{",
    "a {",
    "a }",
    "}",
    "a 1 2 {} 3",
    "a {} {}",
    "a 1=2",
    "a \"unclosed",
    "a \"new\nline\"",
    "a \"bad \\q escape\"",
    "a \"\\u{110000}\"",
    "a \"\\u{}\"",
    "a 1.",
    "a 1.e5",
    "a .5",
    "a 1x",
    "a 0xZ",
    "a 0b12",
    "a true",
    "a null",
    "a nan",
    "a x\"y\"",
    "a \"x\"\"y\"",
    "a #truex",
    "a #\"\"\"#",
    "a #\"unclosed",
    "a \"\"\"x\"\"\"",
    "a \"\"\"\n  x\n\"\"\"z",
    "a \"\"\"\n x\n  \"\"\"",
    "a b; /- c; d",
    "/- a; b",
    "(t)",
    "a (t)",
    "a k=",
    "a k=(t)",
    "a \u{200E}",
    "a \"\u{202A}\"",
    "a\u{1}",
    "a 1 /-",
    "a /-{} 1",
    "a {}/-{}/-{}",
    "a /* unclosed",
    "a \\ b",
    "a=1",
    "a 170141183460469231731687303715884105728",
];

#[test]
fn the_reader_reads_every_shipped_topology_as_the_crate_does() {
    on_a_big_stack(every_shipped_topology);
}

fn every_shipped_topology() {
    let mut valid = 0;
    for (name, text) in shipped() {
        // The E0001 and E0002 fixtures are not KDL v2: there, both must refuse.
        let crate_reads = kdl::KdlDocument::parse_v2(&text).is_ok();
        assert_eq!(agree(&text), crate_reads, "{name}");
        valid += usize::from(crate_reads);
    }
    assert!(valid > 50, "{valid}");
}

#[test]
fn the_reader_reads_each_feature_of_the_grammar_as_the_crate_does() {
    for text in ACCEPTED {
        assert!(
            kdl::KdlDocument::parse_v2(text).is_ok(),
            "the crate rejects {text:?}: the table is wrong"
        );
        assert!(agree(text), "the reader refuses {text:?}");
    }
    for text in REJECTED {
        assert!(
            kdl::KdlDocument::parse_v2(text).is_err(),
            "the crate accepts {text:?}: the table is wrong"
        );
        assert!(!agree(text), "the reader accepts {text:?}");
    }
}

/// A small deterministic generator (xorshift), so the mutations are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of KDL syntax to splice in: every kind of token, and the characters that change
/// how the text around them is read.
const PIECES: &[&str] = &[
    " ", "\n", ";", "{", "}", "=", "(", ")", "\"", "#", "/-", "//", "/*", "*/", "\\", "\\\n",
    "\"\"\"\n", "\n\"\"\"", "#\"", "\"#", "-", "+", ".", "0", "1_", "0x", "e", "#true", "x",
    "\u{a0}", "\u{2028}", "\r\n", "\t", "é", "\u{200E}", "\u{FEFF}", "\u{7F}",
];

fn char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let at = char_boundary(&t, rng.below(t.len() + 1));
        match rng.below(3) {
            0 => t.insert_str(at, PIECES[rng.below(PIECES.len())]),
            1 => {
                let end = char_boundary(&t, (at + 1 + rng.below(4)).min(t.len()));
                t.replace_range(at..end.max(at), "");
            }
            _ => {
                let end = char_boundary(&t, (at + rng.below(12)).min(t.len()));
                let piece = t[at..end.max(at)].to_string();
                t.insert_str(at, &piece);
            }
        }
    }
    t
}

#[test]
fn the_reader_never_accepts_what_the_crate_rejects_nor_reads_it_otherwise() {
    on_a_big_stack(mutations);
}

fn mutations() {
    let mut seeds: Vec<String> = ACCEPTED.iter().map(|s| s.to_string()).collect();
    // Small shipped topologies: the crate is slow, and mutations of big ones say no more.
    seeds.extend(
        shipped()
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| t.len() < 1500),
    );
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut refused_valid, mut cases) = (0, 0, 0);
    for seed in &seeds {
        for _ in 0..40 {
            let text = mutate(&mut rng, seed);
            cases += 1;
            if agree(&text) {
                accepted += 1;
            } else if kdl::KdlDocument::parse_v2(&text).is_ok() {
                refused_valid += 1;
            }
        }
    }
    // The mutations must exercise both verdicts, and the reader may leave to the crate
    // only the corners of the grammar it does not take (uppercase radix prefixes, a bare
    // `-inf`, whitespace escapes in multi-line strings).
    eprintln!("{cases} mutations: {accepted} read alike, {refused_valid} left to the crate");
    assert!(accepted > cases / 5, "{accepted} of {cases} accepted");
    assert!(
        refused_valid * 50 < accepted,
        "the reader refused {refused_valid} valid texts ({accepted} accepted of {cases})"
    );
}

#[test]
fn deep_or_huge_hostile_text_is_a_diagnostic_not_a_stack_overflow() {
    let parse = |text: String| {
        let mut sources = meshc::source::Sources::new();
        let id = sources.add("deep.kdl", text);
        let (doc, diags) = meshc::syntax::parse(sources.get(id));
        assert!(doc.is_none());
        assert!(
            !diags.is_empty() && diags.iter().all(|d| d.code == meshc::diag::Code::KdlSyntax),
            "{diags:?}"
        );
        diags
    };
    let deep = |d: &[meshc::diag::Diagnostic]| {
        d.len() == 1 && d[0].message == "blocks are nested more than 100 deep"
    };
    // The reader stops at the 101st block, closed or not.
    let blocks = "a {".repeat(1500);
    let d = parse(format!("{blocks}{}", "}".repeat(1500)));
    assert!(deep(&d), "{d:?}");
    assert_eq!(d[0].primary_span().map(|s| s.start), Some(302));
    assert!(deep(&parse(blocks.clone())));
    // A syntax error before the nesting: the crate explains it, on a stack made for it.
    let d = parse(format!("b \"}}\n{blocks}"));
    let crate_explains = |d: &[meshc::diag::Diagnostic]| {
        !deep(d) && d.iter().all(|d| d.message != "this is not valid KDL v2")
    };
    assert!(crate_explains(&d), "{d:?}");
    assert!(crate_explains(&parse(format!("a {}", "/*".repeat(1500)))));
    // More than the crate could take (it recurses per `*` in a comment): the reader says
    // where it stopped.
    let d = parse(format!("a /* {}", "*".repeat(100_000)));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].message, "this is not valid KDL v2");
    // The same comment closed reads, and a hundred blocks read.
    assert!(read::read(FILE, &format!("a /* {} */", "*".repeat(100_000))).is_ok());
    let text = format!("{}{}", "a {".repeat(100), "}".repeat(100));
    assert!(read::read(FILE, &text).is_ok());
}
