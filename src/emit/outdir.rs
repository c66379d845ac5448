//! The output directory on disk: the only code besides the CLI that touches the file
//! system. It owns ownership (the provenance file), the comparison of a build with what is
//! on disk, and writing: atomic files, pruning of what meshc wrote before and no longer
//! produces, and never a file meshc does not own.
//!
//! The provenance file, `meshc-provenance.json` at the top of the output, lists the meshc
//! version, a digest of every topology source, and every file meshc wrote with its digest.
//! A build writes it twice: first listing the union of the files it owned and the files it
//! is about to write (so a build interrupted part-way still knows what it owns), and last
//! listing exactly what it wrote.
//!
//! Durability is per batch, not per file. The claim is made durable before any file is
//! written. Each file is then written to a temporary and renamed over its path, so a reader
//! sees the old file or the new one; the files are not synced one by one. Before the final
//! provenance file replaces the claim, the whole batch is made durable at once (`syncfs`
//! on Linux, one fsync per written file elsewhere). An interruption before that point, even
//! a power loss that persisted a rename before its data, leaves the claim in place, and the
//! next build compares every file's bytes with what it renders and rewrites any that
//! differ, so it converges (the interruption test kills builds at random points and checks
//! exactly that).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Output;
use super::nofollow::{self, OnDisk};
use crate::source::Sources;

pub const PROVENANCE: &str = "meshc-provenance.json";
/// Suffix of the temporary files of atomic writes; a build removes strays it finds.
pub const TMP_SUFFIX: &str = ".meshc-tmp";

pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A SHA-256 digest, raw: what the build and the snapshot compare (hex only in the
/// provenance file).
pub type Sha = [u8; 32];

fn sha(bytes: &[u8]) -> Sha {
    Sha256::digest(bytes).into()
}

/// What the snapshot found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    File(Sha),
    /// A symbolic link, never followed: the file counts as changed, and the build replaces
    /// the link (a rename replaces the link itself, not what it points at).
    NotAFile,
}

impl Found {
    /// `None`: missing; else whether the file holds exactly the bytes of `digest`.
    fn same_as(&self, digest: &Sha) -> Option<bool> {
        match self {
            Found::Missing => None,
            Found::File(d) => Some(d == digest),
            Found::NotAFile => Some(false),
        }
    }
}

/// Lower-case hex of a digest.
fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * digest.len());
    for &b in digest {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 0xf)] as char);
    }
    hex
}

/// The provenance file's shape. Fields are only ever added.
#[derive(Serialize, Deserialize)]
struct Provenance {
    generator: String,
    version: String,
    sources: Vec<FileDigest>,
    files: Vec<FileDigest>,
    /// Only in a claim (a build under way, or interrupted): the suffix of its temporary
    /// files, so the next build removes those and nothing else.
    #[serde(default)]
    pending: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FileDigest {
    path: String,
    sha256: String,
}

/// What meshc owns in a directory, from its provenance file.
#[derive(Debug, Default, Clone)]
pub struct Owned {
    /// Relative path → digest.
    pub files: BTreeMap<String, String>,
    /// The temporaries' tag of the build that wrote this claim and did not finish.
    pending: Option<String>,
}

/// The provenance file's bytes, never through a link. `Ok(None)` when there is none.
fn read_provenance(dir: &Path) -> io::Result<Option<Vec<u8>>> {
    match nofollow::read(dir, PROVENANCE)? {
        OnDisk::Missing => Ok(None),
        OnDisk::File(b) => Ok(Some(b)),
        OnDisk::NotAFile => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{PROVENANCE} is not a regular file (a symbolic link?); meshc does not read it"
            ),
        )),
    }
}

/// What a provenance file says meshc owns.
fn owned_from(bytes: &[u8]) -> io::Result<Owned> {
    let p: Provenance = serde_json::from_slice(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{PROVENANCE}: {e}")))?;
    let files = p
        .files
        .into_iter()
        .filter(|f| is_safe_relative(&f.path))
        .map(|f| (f.path, f.sha256))
        .collect();
    // A tag is a nonce meshc made; anything else would only ever name someone's file.
    let pending = p.pending.filter(|t| is_tag(t));
    Ok(Owned { files, pending })
}

/// Reads the provenance file. `Ok(None)` when there is none.
pub fn read_owned(dir: &Path) -> io::Result<Option<Owned>> {
    read_provenance(dir)?.map(|b| owned_from(&b)).transpose()
}

/// A path from a provenance file is only ever a plain relative path inside the output:
/// a tampered file cannot make meshc delete outside it.
fn is_safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The SHA-256 of every file of `out`, in its order (zeros for the provenance file itself,
/// which is compared by its bytes).
fn digests(out: &Output) -> Vec<Sha> {
    super::parallel_map(&out.files, |f| {
        if f.path == PROVENANCE {
            Sha::default()
        } else {
            sha(f.contents.as_bytes())
        }
    })
}

/// A build with its provenance file, as it should be on disk: the files, and the digest of
/// each in the same order (zeros for the provenance file).
pub struct Build {
    pub output: Output,
    pub digests: Vec<Sha>,
}

impl Build {
    /// Every file but the provenance file, with its digest in hex, sorted by path.
    fn listed(&self) -> Vec<(&str, String)> {
        self.output
            .files
            .iter()
            .zip(&self.digests)
            .filter(|(f, _)| f.path != PROVENANCE)
            .map(|(f, d)| (f.path.as_str(), hex(d)))
            .collect()
    }
}

pub fn with_provenance(mut out: Output, sources: &Sources) -> Build {
    let at = out
        .files
        .binary_search_by(|f| f.path.as_str().cmp(PROVENANCE))
        .unwrap_or_else(|i| i);
    out.files.insert(
        at,
        super::OutFile {
            path: PROVENANCE.to_string(),
            contents: String::new(),
        },
    );
    let mut build = Build {
        digests: digests(&out),
        output: out,
    };
    let listed = build.listed();
    let contents = provenance(sources, listed.iter().map(|(p, d)| (*p, d.as_str())), None);
    build.output.files[at].contents = contents;
    build
}

/// The provenance file's shape as written, borrowing what it lists.
#[derive(Serialize)]
struct ProvenanceOut<'a> {
    generator: &'a str,
    version: &'a str,
    sources: Vec<DigestOut<'a>>,
    files: Vec<DigestOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<&'a str>,
}

#[derive(Serialize)]
struct DigestOut<'a> {
    path: &'a str,
    sha256: &'a str,
}

/// The provenance file for `files` (path and digest, sorted by path); a claim when
/// `pending` names its build's temporaries.
pub fn provenance<'a>(
    sources: &Sources,
    files: impl Iterator<Item = (&'a str, &'a str)>,
    pending: Option<&'a str>,
) -> String {
    let source_digests: Vec<(&str, String)> = sources
        .iter()
        .map(|f| (f.name.as_str(), sha256(f.text.as_bytes())))
        .collect();
    let p = ProvenanceOut {
        generator: "meshc",
        version: env!("CARGO_PKG_VERSION"),
        sources: source_digests
            .iter()
            .map(|(path, sha256)| DigestOut { path, sha256 })
            .collect(),
        files: files
            .map(|(path, sha256)| DigestOut { path, sha256 })
            .collect(),
        pending,
    };
    let mut s = serde_json::to_string_pretty(&p).unwrap_or_default();
    s.push('\n');
    s
}

/// How the output on disk differs from a build.
#[derive(Debug, Default)]
pub struct Plan {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    /// Files meshc wrote before and no longer produces.
    pub removed: Vec<String>,
    pub unchanged: usize,
    /// Files meshc wrote before and no longer produces that were edited or replaced since
    /// (or are not files any more): left in place, and no longer owned.
    pub kept: Vec<String>,
    /// Directories on the way to meshc's files that are symbolic links or files
    /// ([`nofollow::in_the_way`]): meshc neither reads, writes nor deletes through them.
    pub blocked: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.kept.is_empty()
            && self.blocked.is_empty()
    }

    /// `2 added, 1 changed, 3 removed, 40 unchanged`, and what is in the way.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} added, {} changed, {} removed, {} unchanged",
            self.added.len(),
            self.changed.len(),
            self.removed.len(),
            self.unchanged
        );
        if !self.kept.is_empty() {
            s.push_str(&format!(
                "; kept (edited since meshc wrote them, no longer produced): {}",
                self.kept.join(", ")
            ));
        }
        if !self.blocked.is_empty() {
            s.push_str("; in the way: ");
            s.push_str(&self.blocked_list());
        }
        s
    }

    /// `clusters/x (a symbolic link or a file where meshc writes a directory)`.
    pub fn blocked_list(&self) -> String {
        format!(
            "{} (a symbolic link or a file where meshc writes a directory)",
            self.blocked.join(", ")
        )
    }
}

/// What the output directory holds before a build: the provenance file (its bytes and what
/// it owns) and, for every file it owns, the SHA-256 of what is there (`None`: missing).
/// The CLI reads it on a thread of its own while the topology compiles, so the two share
/// the cores; [`plan`] then compares digests where it would have read files.
pub struct Snapshot {
    pub owned: Option<Owned>,
    provenance: Option<Vec<u8>>,
    /// Sorted by path, as the provenance file lists them.
    found: Vec<(String, Found)>,
}

/// Reads the directory for [`plan`]: the provenance file, then every file it lists.
pub fn snapshot(dir: &Path) -> io::Result<Snapshot> {
    let provenance = read_provenance(dir)?;
    let owned = provenance.as_deref().map(owned_from).transpose()?;
    let paths: Vec<&String> = owned
        .iter()
        .flat_map(|o| o.files.keys())
        .filter(|p| *p != PROVENANCE)
        .collect();
    let paths: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
    let mut found = Vec::with_capacity(paths.len());
    for (p, d) in paths.iter().zip(digests_on_disk(dir, &paths)) {
        found.push((p.to_string(), d?));
    }
    Ok(Snapshot {
        owned,
        provenance,
        found,
    })
}

/// The SHA-256 of each file at `paths` (sorted) under `dir`; `None`: missing. Files of
/// one directory come in runs in path order: each run is read relative to its directory,
/// opened once (`openat`), which spares the kernel a path walk per file, and a directory
/// that does not exist costs one call for all its files.
fn digests_on_disk(dir: &Path, paths: &[&str]) -> Vec<io::Result<Found>> {
    let mut runs: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in paths {
        let (parent, name) = p.rsplit_once('/').unwrap_or(("", p));
        match runs.last_mut() {
            Some((last, names)) if *last == parent => names.push(name),
            _ => runs.push((parent, vec![name])),
        }
    }
    super::parallel_map(&runs, |(parent, names)| digest_run(dir, parent, names))
        .into_iter()
        .flatten()
        .collect()
}

/// The SHA-256 of each file `names` in `dir/parent` (`None`: missing).
#[cfg(target_os = "linux")]
fn digest_run(dir: &Path, parent: &str, names: &[&str]) -> Vec<io::Result<Found>> {
    use rustix::fs::{Mode, OFlags, openat};
    use rustix::io::Errno;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    // The directory is reached without following a link; files under a link are not
    // meshc's, so they count as changed (and the plan reports the link in the way).
    let dfd = match nofollow::open_dir(dir, parent) {
        Ok(d) => d,
        Err(Errno::NOENT) => return names.iter().map(|_| Ok(Found::Missing)).collect(),
        Err(Errno::LOOP | Errno::NOTDIR) => {
            return names.iter().map(|_| Ok(Found::NotAFile)).collect();
        }
        Err(e) => return names.iter().map(|_| Err(io::Error::from(e))).collect(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    names
        .iter()
        .map(|name| {
            // Non-blocking: a FIFO where a file should be must not stall the build.
            let file_flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK;
            let fd = match openat(&dfd, *name, file_flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(Found::Missing),
                Err(Errno::LOOP | Errno::NOTDIR) => return Ok(Found::NotAFile),
                Err(e) => return Err(io::Error::from(e)),
            };
            match digest_to_end(&fs::File::from(fd), &mut buf) {
                Ok(d) => Ok(Found::File(d)),
                // A directory where the provenance file lists a file.
                Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(Found::NotAFile),
                Err(e) => Err(e),
            }
        })
        .collect()
}

/// The SHA-256 of what `file` holds from where it stands to its end, read in chunks of
/// `buf`. std's `read_to_end` would add a `statx` and an `lseek` per file to size its
/// buffer: on a large fleet, a third of the system calls of a no-op build.
fn digest_to_end(mut file: &fs::File, buf: &mut [u8]) -> io::Result<Sha> {
    let mut hasher = Sha256::new();
    loop {
        match io::Read::read(&mut file, buf) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The SHA-256 of each file `names` in `dir/parent` (`None`: missing).
#[cfg(not(target_os = "linux"))]
fn digest_run(dir: &Path, parent: &str, names: &[&str]) -> Vec<io::Result<Found>> {
    names
        .iter()
        .map(|name| {
            let rel = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}/{name}")
            };
            Ok(match nofollow::read(dir, &rel)? {
                OnDisk::Missing => Found::Missing,
                OnDisk::File(b) => Found::File(sha(&b)),
                OnDisk::NotAFile => Found::NotAFile,
            })
        })
        .collect()
}

/// Compares a build with the directory as `before` found it. The build's files and the
/// snapshot's are both sorted by path, so one walk over the two pairs them. Files are
/// compared by digest: those the snapshot read, and the others, read now.
pub fn plan(dir: &Path, build: &Build, before: &Snapshot) -> io::Result<Plan> {
    let files = &build.output.files;
    let mut plan = Plan::default();
    // For each file of the build: on disk and the same, on disk and different, absent;
    // `None` while it is still to be read.
    let mut verdicts: Vec<Option<Option<bool>>> = vec![None; files.len()];
    let mut unknown: Vec<usize> = Vec::new();
    let mut found = before.found.iter().peekable();
    // A file meshc no longer produces is removed only if it holds what meshc wrote; one
    // edited or replaced since is the user's now, and kept. After an interrupted build
    // (a claim) a file may hold the old bytes or the new, and is meshc's either way.
    let interrupted = before.owned.as_ref().is_some_and(|o| o.pending.is_some());
    let recorded = |p: &str| before.owned.as_ref().and_then(|o| o.files.get(p));
    let retire = |plan: &mut Plan, p: &String, on_disk: &Found| match on_disk {
        Found::Missing => {}
        Found::File(d) if interrupted || recorded(p).is_some_and(|r| *r == hex(d)) => {
            plan.removed.push(p.clone());
        }
        _ => plan.kept.push(p.clone()),
    };
    for (i, f) in files.iter().enumerate() {
        while let Some((p, on_disk)) = found.next_if(|(p, _)| p.as_str() < f.path.as_str()) {
            retire(&mut plan, p, on_disk);
        }
        if f.path == PROVENANCE {
            verdicts[i] = Some(
                before
                    .provenance
                    .as_ref()
                    .map(|b| b == f.contents.as_bytes()),
            );
        } else if let Some((_, on_disk)) = found.next_if(|(p, _)| *p == f.path) {
            verdicts[i] = Some(on_disk.same_as(&build.digests[i]));
        } else {
            unknown.push(i);
        }
    }
    for (p, on_disk) in found {
        retire(&mut plan, p, on_disk);
    }
    let paths: Vec<&str> = unknown.iter().map(|&i| files[i].path.as_str()).collect();
    for (&i, on_disk) in unknown.iter().zip(digests_on_disk(dir, &paths)) {
        verdicts[i] = Some(on_disk?.same_as(&build.digests[i]));
    }
    for (f, v) in files.iter().zip(verdicts) {
        match v.flatten() {
            None => plan.added.push(f.path.clone()),
            Some(true) => plan.unchanged += 1,
            Some(false) => plan.changed.push(f.path.clone()),
        }
    }
    let mut blocked = nofollow::in_the_way(dir, files.iter().map(|f| f.path.as_str()))?;
    blocked.extend(nofollow::in_the_way(
        dir,
        before.found.iter().map(|(p, _)| p.as_str()),
    )?);
    blocked.sort();
    blocked.dedup();
    plan.blocked = blocked;
    Ok(plan)
}

impl Plan {
    /// The paths the build writes (added or changed), for membership tests.
    fn writes(&self) -> HashSet<&str> {
        self.added
            .iter()
            .chain(&self.changed)
            .map(String::as_str)
            .collect()
    }
}

/// A unified diff of every file the plan touches, `a/` the directory and `b/` the build.
pub fn unified_diff(dir: &Path, out: &Output, plan: &Plan) -> io::Result<String> {
    let mut text = String::new();
    let mut paths: Vec<&String> = plan
        .added
        .iter()
        .chain(&plan.changed)
        .chain(&plan.removed)
        .collect();
    paths.sort();
    let added: HashSet<&str> = plan.added.iter().map(String::as_str).collect();
    let removed: HashSet<&str> = plan.removed.iter().map(String::as_str).collect();
    for p in paths {
        // Only a regular file is ever read: what a link points at (a file of the CI
        // machine, its environment) never reaches the diff.
        let (old, not_a_file) = match nofollow::read(dir, p)? {
            OnDisk::File(b) => (String::from_utf8_lossy(&b).into_owned(), false),
            OnDisk::Missing => (String::new(), false),
            OnDisk::NotAFile => (String::new(), true),
        };
        let new = out.get(p).map(|f| f.contents.as_str()).unwrap_or("");
        let (a, b) = (
            if added.contains(p.as_str()) {
                "/dev/null".to_string()
            } else if not_a_file {
                format!("a/{p} (not a regular file, not read)")
            } else {
                format!("a/{p}")
            },
            if removed.contains(p.as_str()) {
                "/dev/null".to_string()
            } else {
                format!("b/{p}")
            },
        );
        let diff = similar::TextDiff::from_lines(old.as_str(), new);
        text.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .to_string(),
        );
    }
    Ok(text)
}

/// Whether a write is made durable on its own (`Sync::Now`) or with its batch
/// (`Sync::WithBatch`, see `sync_batch`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sync {
    Now,
    WithBatch,
}

/// The temporary of `path` for the build tagged `tag`: `<path>.<tag>.meshc-tmp`.
fn temporary(path: &Path, tag: &str) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".");
    tmp.push(tag);
    tmp.push(TMP_SUFFIX);
    PathBuf::from(tmp)
}

/// A fresh tag for a build's temporaries: 16 hex digits from the standard library's
/// per-process random hash keys, the time and the pid. Unpredictable enough that no one
/// can plant a file at a temporary's name in advance; and temporaries are created with
/// `O_EXCL` anyway, so a planted file or link makes the write fail, never followed.
fn fresh_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

/// Is `t` a tag [`fresh_tag`] could have made?
fn is_tag(t: &str) -> bool {
    t.len() == 16 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An I/O error that names the path it happened on.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes `contents` to `path` through a temporary file and a rename: a reader (or a
/// build killed part-way) sees the old file or the new one, never a truncated one. The
/// temporary is created exclusively (`O_CREAT | O_EXCL`, which never follows a link), and
/// the rename replaces whatever is at `path` (a link itself, not what it points at).
fn write_atomic(path: &Path, contents: &[u8], sync: Sync, tag: &str) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(at(parent))?;
    }
    let tmp = temporary(path, tag);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(at(&tmp))?;
    f.write_all(contents).map_err(at(&tmp))?;
    if sync == Sync::Now {
        f.sync_all().map_err(at(&tmp))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(at(path))?;
    if sync == Sync::Now
        && let Some(parent) = path.parent()
    {
        sync_dir(parent).map_err(at(parent))?;
    }
    Ok(())
}

/// A rename is durable once its directory is. On Unix a directory is opened and fsynced
/// like a file; elsewhere (Windows cannot open a directory as a file) this does nothing.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Makes every file written with `Sync::WithBatch` durable, with their renames: one
/// `syncfs(2)` of the output's file system on Linux; elsewhere an fsync of each written
/// file and of the directories holding them.
fn sync_batch(dir: &Path, written: &[PathBuf]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = written;
        let d = fs::File::open(dir)?;
        rustix::fs::syncfs(&d).map_err(io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        let mut dirs: Vec<&Path> = Vec::new();
        for p in written {
            fs::File::open(p)?.sync_all()?;
            if let Some(parent) = p.parent() {
                dirs.push(parent);
            }
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            sync_dir(d)?;
        }
        Ok(())
    }
}

/// Why a directory cannot be written.
#[derive(Debug)]
pub enum Refusal {
    /// The directory has files and no provenance file: it is not meshc's.
    NotOwned { files: usize },
}

/// Is the directory someone else's? (Files in it, no provenance file.) The temporary of a
/// first claim, left by a first build interrupted before its claim was in place, is
/// meshc's and does not count.
pub fn check_ownership(dir: &Path, owned: &Option<Owned>) -> io::Result<Option<Refusal>> {
    if owned.is_some() || !dir.exists() {
        return Ok(None);
    }
    let files = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| !(e.depth() == 1 && is_claim_temporary(&e.file_name().to_string_lossy())))
        .count();
    Ok((files > 0).then_some(Refusal::NotOwned { files }))
}

/// `meshc-provenance.json.<tag>.meshc-tmp`.
fn is_claim_temporary(name: &str) -> bool {
    name.strip_prefix(PROVENANCE)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(TMP_SUFFIX))
        .is_some_and(is_tag)
}

/// Hook for the interruption test: abort after writing this many files.
fn fail_after() -> Option<usize> {
    std::env::var("MESHC_TEST_ABORT_AFTER_WRITES")
        .ok()?
        .parse()
        .ok()
}

/// Brings the directory to `out`: writes added and changed files, removes what meshc owned
/// and no longer produces (and directories that become empty), leaves everything else
/// alone, and writes the provenance file. Unchanged files are not rewritten.
///
/// `build` is [`with_provenance`]'s.
pub fn apply(
    dir: &Path,
    build: &Build,
    owned: &Owned,
    plan: &Plan,
    sources: &Sources,
) -> io::Result<()> {
    if !plan.blocked.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "meshc never writes or deletes through {}",
                plan.blocked_list()
            ),
        ));
    }
    if plan.is_empty() {
        // Nothing differs, the provenance file included: no build was interrupted here
        // since the last complete one (an interrupted build leaves its claim, which differs
        // from this build's provenance), so there is no stray temporary to sweep either.
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(at(dir))?;
    remove_stray_temporaries(dir, owned)?;
    let tag = fresh_tag();
    {
        // Phase one: claim every file this build may write, before writing any.
        let mut claim: BTreeMap<&str, &str> = owned
            .files
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_str()))
            .collect();
        let listed = build.listed();
        claim.extend(listed.iter().map(|(p, d)| (*p, d.as_str())));
        write_atomic(
            &dir.join(PROVENANCE),
            provenance(sources, claim.into_iter(), Some(&tag)).as_bytes(),
            Sync::Now,
            &tag,
        )?;
    }
    let abort_after = fail_after();
    let writes = plan.writes();
    let mut written: Vec<PathBuf> = Vec::new();
    let out = &build.output;
    for f in &out.files {
        if f.path == PROVENANCE || !writes.contains(f.path.as_str()) {
            continue;
        }
        if abort_after == Some(written.len()) {
            std::process::abort();
        }
        let path = dir.join(&f.path);
        write_atomic(&path, f.contents.as_bytes(), Sync::WithBatch, &tag)?;
        written.push(path);
    }
    for p in &plan.removed {
        // `remove_file` removes a link itself, never what it points at; no directory on
        // the way is a link (`plan.blocked` is empty).
        let path = dir.join(p);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(at(&path)(e)),
        }
        remove_empty_parents(dir, &path);
    }
    if !written.is_empty() || !plan.removed.is_empty() {
        // The batch is durable before the provenance file stops claiming it.
        sync_batch(dir, &written).map_err(at(dir))?;
    }
    let prov = out.get(PROVENANCE).map_or("", |f| f.contents.as_str());
    if nofollow::read(dir, PROVENANCE)? != OnDisk::File(prov.as_bytes().to_vec()) {
        write_atomic(&dir.join(PROVENANCE), prov.as_bytes(), Sync::Now, &tag)?;
    }
    Ok(())
}

/// The temporaries of an interrupted build, and nothing else: the claim it left names
/// its tag, and each of its temporaries is `<claimed path>.<tag>.meshc-tmp`. A first
/// claim interrupted before its rename left no claim, only its own temporary at the top.
fn remove_stray_temporaries(dir: &Path, owned: &Owned) -> io::Result<()> {
    let remove = |path: PathBuf| match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(at(&path)(e)),
    };
    if let Some(tag) = &owned.pending {
        for p in owned.files.keys().map(String::as_str).chain([PROVENANCE]) {
            remove(temporary(&dir.join(p), tag))?;
        }
    }
    for e in fs::read_dir(dir).map_err(at(dir))? {
        let e = e.map_err(at(dir))?;
        if is_claim_temporary(&e.file_name().to_string_lossy()) {
            remove(e.path())?;
        }
    }
    Ok(())
}

/// Removes the directories between `file` and `dir` that are now empty.
fn remove_empty_parents(dir: &Path, file: &Path) {
    let mut cur = file.parent();
    while let Some(p) = cur {
        if p == dir || !p.starts_with(dir) || fs::remove_dir(p).is_err() {
            break;
        }
        cur = p.parent();
    }
}
