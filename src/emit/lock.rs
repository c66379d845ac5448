//! One meshc at a time in an output directory. Two builds into one directory would each
//! plan against what the other is changing and leave files no provenance file owns, so a
//! build holds an exclusive lock on the directory from before it reads it until it exits,
//! and `build --check` and `diff` hold a shared one while they read.
//!
//! The lock is `flock(2)` on the directory itself: no lock file, so nothing is left behind
//! (or committed) when meshc is killed, and the kernel releases the lock with the process.
//! Who holds it is read from `/proc/locks` on Linux. Where `flock` does not exist
//! (Windows) there is no lock.

use std::io;
use std::path::Path;

/// A held lock; released when dropped (or when the process ends).
pub struct DirLock {
    #[cfg(unix)]
    _fd: rustix::fd::OwnedFd,
}

/// The lock is held by another process (its pid, when it can be found).
#[derive(Debug)]
pub struct Held {
    pub pid: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A build, which writes.
    Exclusive,
    /// `build --check` and `diff`, which only read.
    Shared,
}

/// Locks `dir` (which exists) without waiting.
#[cfg(unix)]
pub fn lock(dir: &Path, mode: Mode) -> io::Result<Result<DirLock, Held>> {
    use rustix::fs::{FlockOperation, Mode as FileMode, OFlags, flock, open};
    use rustix::io::Errno;
    let fd = open(
        dir,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY,
        FileMode::empty(),
    )?;
    let op = match mode {
        Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
        Mode::Shared => FlockOperation::NonBlockingLockShared,
    };
    match flock(&fd, op) {
        Ok(()) => Ok(Ok(DirLock { _fd: fd })),
        Err(Errno::WOULDBLOCK) => Ok(Err(Held { pid: holder(&fd) })),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
pub fn lock(_dir: &Path, _mode: Mode) -> io::Result<Result<DirLock, Held>> {
    Ok(Ok(DirLock {}))
}

/// The pid of a process holding a `flock` on the file of `fd`, from `/proc/locks`
/// (`linux/fs/locks.c`, `lock_get_status`: `<id>: FLOCK  ADVISORY  WRITE <pid>
/// <major>:<minor>:<inode> 0 EOF`, device numbers in hex).
#[cfg(target_os = "linux")]
fn holder(fd: &rustix::fd::OwnedFd) -> Option<u32> {
    let st = rustix::fs::fstat(fd).ok()?;
    let dev = st.st_dev;
    let id = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(dev),
        rustix::fs::minor(dev),
        st.st_ino
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&id.as_str()))
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn holder(_fd: &rustix::fd::OwnedFd) -> Option<u32> {
    None
}
