//! Reading the output directory without ever following a symbolic link inside it. The
//! output directory is committed to Git, so a pull request can put a link anywhere in it:
//! `clusters/x -> /etc`, `clusters/x/kustomization.yaml -> /proc/self/environ`. meshc
//! reads, compares, writes and deletes only regular files and real directories below the
//! directory it was given (which itself may be a link: that is the user's choice).
//!
//! On Linux every path is opened one component at a time from the output directory
//! (`openat` with `O_NOFOLLOW`), so no link is followed even in the middle of a path.
//! Elsewhere each component is checked with `symlink_metadata` first.

use std::fs;
use std::io;
use std::path::Path;

/// What is at a path of the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDisk {
    Missing,
    File(Vec<u8>),
    /// A symbolic link, a FIFO, a directory or anything else that is not a regular file,
    /// at the path or on the way to it. Never read.
    NotAFile,
}

/// Opens `dir/rel` as a directory without following a link in any component of `rel`.
/// `Err(ELOOP | ENOTDIR)`: a component is a link or not a directory.
#[cfg(target_os = "linux")]
pub(crate) fn open_dir(dir: &Path, rel: &str) -> rustix::io::Result<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags, open, openat};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY;
    let mut fd = open(dir, flags, Mode::empty())?;
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        fd = openat(&fd, part, flags | OFlags::NOFOLLOW, Mode::empty())?;
    }
    Ok(fd)
}

/// The bytes of the regular file `dir/rel`, never following a link on the way.
#[cfg(target_os = "linux")]
pub fn read(dir: &Path, rel: &str) -> io::Result<OnDisk> {
    use rustix::fs::{FileType, Mode, OFlags, fstat, openat};
    use rustix::io::Errno;
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let not_found = |e: Errno| match e {
        Errno::NOENT => Ok(OnDisk::Missing),
        Errno::LOOP | Errno::NOTDIR => Ok(OnDisk::NotAFile),
        e => Err(io::Error::from(e)),
    };
    let dfd = match open_dir(dir, parent) {
        Ok(d) => d,
        Err(e) => return not_found(e),
    };
    // Non-blocking: a FIFO must not stall the build waiting for a writer.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let fd = match openat(&dfd, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => return not_found(e),
    };
    if FileType::from_raw_mode(fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Ok(OnDisk::NotAFile);
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut fs::File::from(fd), &mut bytes)?;
    Ok(OnDisk::File(bytes))
}

/// The bytes of the regular file `dir/rel`, never following a link on the way.
#[cfg(not(target_os = "linux"))]
pub fn read(dir: &Path, rel: &str) -> io::Result<OnDisk> {
    let mut at = dir.to_path_buf();
    for part in rel.split('/') {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return Ok(OnDisk::NotAFile),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OnDisk::Missing),
            Err(e) => return Err(e),
        }
    }
    if !fs::symlink_metadata(&at)?.is_file() {
        return Ok(OnDisk::NotAFile);
    }
    Ok(OnDisk::File(fs::read(&at)?))
}

/// The directories on the way to `paths` (relative, sorted by path) that exist and are not
/// directories: symbolic links, which meshc never writes or deletes through, or files.
/// Each is reported once, and nothing below it. Paths of one directory come together when
/// sorted, so each directory is looked at once.
pub fn in_the_way<'a>(dir: &Path, paths: impl Iterator<Item = &'a str>) -> io::Result<Vec<String>> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut blocked: Vec<String> = Vec::new();
    let mut last_parent = None;
    for p in paths {
        let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
        if last_parent == Some(parent) {
            continue;
        }
        last_parent = Some(parent);
        for (i, _) in parent.match_indices('/').chain([(parent.len(), "")]) {
            let d = &parent[..i];
            if d.is_empty() || !seen.insert(d) {
                continue;
            }
            if blocked
                .iter()
                .any(|b| d.starts_with(b.as_str()) && d.as_bytes().get(b.len()) == Some(&b'/'))
            {
                break;
            }
            match fs::symlink_metadata(dir.join(d)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    blocked.push(d.to_string());
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(io::Error::new(e.kind(), format!("{d}: {e}"))),
            }
        }
    }
    blocked.sort();
    Ok(blocked)
}
