//! File operations relative to directory descriptors, so that no path is looked
//! up twice: parents are walked one component at a time with `openat` and
//! `O_PATH | O_NOFOLLOW | O_DIRECTORY` (search permission is all a walk needs,
//! as for a lookup by path), and every later step (`fstatat`, `unlinkat`,
//! `renameat2`, creating a temporary file) names a file inside a directory
//! descriptor that was opened once. A directory swapped for a symbolic link after
//! the walk cannot redirect any of them.
//!
//! Built on `rustix`'s safe wrappers: there is no `unsafe` here.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use rustix::fs::{AtFlags, CWD, Mode, OFlags, RenameFlags};

/// Flags for the home and vault directories: read, so they can be listed,
/// locked and fsynced.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Flags for every directory opened on a walk. `O_PATH` needs no read
/// permission, so a file below a traverse-only (`--x`) directory can be reached
/// as it can by path; `openat`, `fstatat`, `unlinkat`, `renameat` and `linkat`
/// accept such a descriptor. It cannot be fsynced: see [`sync_walked_dir`].
const WALK_FLAGS: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Open the directory that holds `path`'s last component without following a
/// symbolic link anywhere: relative paths start at the working directory,
/// absolute ones at `/`. Returns the parent's descriptor (an `O_PATH` one) and
/// the last component.
pub(crate) fn walk_parent(path: &Path) -> io::Result<(OwnedFd, OsString)> {
    let mut comps: Vec<Component> = path.components().collect();
    let name = match comps.pop() {
        Some(Component::Normal(n)) => n.to_owned(),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path does not end in a file name",
            ));
        }
    };
    let mut dir: Option<OwnedFd> = None;
    for c in comps {
        let next: &OsStr = match c {
            Component::RootDir => "/".as_ref(),
            Component::CurDir => continue,
            Component::ParentDir => "..".as_ref(),
            Component::Normal(n) => n,
            Component::Prefix(_) => unreachable!("no path prefixes on Unix"),
        };
        let at = dir.as_ref().map_or(CWD, |d| d.as_fd());
        let opened = rustix::fs::openat(at, next, WALK_FLAGS, Mode::empty()).map_err(|e| {
            if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "'{}' in the path is a symbolic link or not a directory",
                        next.to_string_lossy()
                    ),
                )
            } else {
                e.into()
            }
        })?;
        dir = Some(opened);
    }
    let dir = match dir {
        Some(d) => d,
        None => rustix::fs::openat(CWD, ".", WALK_FLAGS, Mode::empty())?,
    };
    Ok((dir, name))
}

/// Paths at least this long are resolved in pieces: the kernel refuses a
/// path of `PATH_MAX` bytes or more (`ENAMETOOLONG`) in any call that takes one.
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// Where a path of any length leads: a directory descriptor (`None` for the
/// working directory, or `/` for an absolute path) and a path relative to it
/// that is shorter than `PATH_MAX`, naming what `path` names. A short path is
/// returned as it is; a longer one is resolved in pieces of whole components,
/// each opened (`O_PATH | O_DIRECTORY`) relative to the last, so that symbolic
/// links and `..` among the leading components are followed exactly as the
/// kernel's own lookup of the whole path would follow them. Only the
/// descriptor of the last piece is held.
pub(crate) fn resolve_long(path: &Path) -> io::Result<(Option<OwnedFd>, &OsStr)> {
    let mut rest = path.as_os_str().as_bytes();
    let mut dir: Option<OwnedFd> = None;
    while rest.len() >= PATH_MAX {
        // Cut at the last slash of the first half: every piece is a few
        // components, each at most NAME_MAX bytes.
        let cut = rest[..PATH_MAX / 2]
            .iter()
            .rposition(|&b| b == b'/')
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENAMETOOLONG))?;
        let head: &[u8] = if cut == 0 { b"/" } else { &rest[..cut] };
        let at = dir.as_ref().map_or(CWD, |d| d.as_fd());
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        dir = Some(rustix::fs::openat(
            at,
            OsStr::from_bytes(head),
            flags,
            Mode::empty(),
        )?);
        rest = &rest[cut + 1..];
        while let [b'/', tail @ ..] = rest {
            rest = tail;
        }
    }
    if rest.is_empty() && dir.is_some() {
        // The path ended in slashes after a long directory name.
        rest = b".";
    }
    Ok((dir, OsStr::from_bytes(rest)))
}

/// Open a file inside `dir` read-only, not following a symbolic link and not
/// blocking on a FIFO; `O_NOATIME` where permitted.
pub(crate) fn open_leaf(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir, name, base | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(dir, name, base, Mode::empty()),
        other => other,
    }?;
    Ok(File::from(fd))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn stat_at(dir: &OwnedFd, name: &OsStr) -> io::Result<rustix::fs::Stat> {
    Ok(rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Open (creating when `create`, mode 0700) a directory named `name` inside
/// `dir` (or relative to the working directory when `dir` is `None`) without
/// following a final symbolic link. A directory it creates is made durable: the
/// directory that holds it is fsynced.
pub(crate) fn open_dir(dir: Option<&OwnedFd>, name: &Path, create: bool) -> io::Result<OwnedFd> {
    let at = dir.map_or(CWD, |d| d.as_fd());
    let made = create && mkdir(at, name)?;
    let fd = rustix::fs::openat(at, name, DIR_FLAGS, Mode::empty())?;
    if made {
        match (dir, name.parent()) {
            (Some(d), Some(p)) if p.as_os_str().is_empty() => sync_dir(d)?,
            _ => sync_parent(at, name, &fd)?,
        }
    }
    Ok(fd)
}

/// Create `path` and whichever of its parents are missing, mode 0700, like
/// `mkdir -p`; after each directory is made, the one that holds it is fsynced,
/// so that a crash cannot lose a directory the vault was then written into.
pub(crate) fn create_dirs(path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut p = path;
    loop {
        match rustix::fs::statat(CWD, p, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => break,
            Err(rustix::io::Errno::NOENT) => missing.push(p),
            Err(e) => return Err(e.into()),
        }
        match p.parent() {
            Some(up) if !up.as_os_str().is_empty() => p = up,
            _ => break,
        }
    }
    for dir in missing.into_iter().rev() {
        if mkdir(CWD, dir)? {
            let fd = rustix::fs::openat(CWD, dir, DIR_FLAGS, Mode::empty())?;
            sync_parent(CWD, dir, &fd)?;
        }
    }
    Ok(())
}

/// `mkdirat(at, name, 0700)`; whether it made the directory (false when it
/// already existed).
fn mkdir(at: rustix::fd::BorrowedFd<'_>, name: &Path) -> io::Result<bool> {
    match rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::EXIST) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// fsync the directory that holds `name` (relative to `at`), just created and
/// opened as `made`. Where that directory cannot be opened for reading (search
/// permission only), the file system is synced through `made` instead.
fn sync_parent(at: rustix::fd::BorrowedFd<'_>, name: &Path, made: &OwnedFd) -> io::Result<()> {
    let parent = match name.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match rustix::fs::openat(at, parent, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(rustix::fs::fsync(fd)?),
        Err(rustix::io::Errno::ACCESS) => Ok(rustix::fs::syncfs(made)?),
        Err(e) => Err(e.into()),
    }
}

/// Create `name` inside `dir` exclusively (never an existing file, never through
/// a link) for writing, with `mode`.
pub(crate) fn create_new(dir: &OwnedFd, name: &OsStr, mode: u32) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(mode))?;
    Ok(File::from(fd))
}

/// Open an existing regular file inside `dir` read-only, never through a link.
pub(crate) fn open_read(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::openat(dir, name, flags, Mode::empty())?);
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Rename inside or across directory descriptors; refuses to replace an
/// existing name unless `replace`. Where `renameat2(RENAME_NOREPLACE)` is not
/// supported (`EINVAL`), a hard link (which never replaces) plus an unlink does
/// the same.
pub(crate) fn rename(
    from_dir: &OwnedFd,
    from: &OsStr,
    to_dir: &OwnedFd,
    to: &OsStr,
    replace: bool,
) -> io::Result<()> {
    if replace {
        return Ok(rustix::fs::renameat(from_dir, from, to_dir, to)?);
    }
    match rustix::fs::renameat_with(from_dir, from, to_dir, to, RenameFlags::NOREPLACE) {
        Err(rustix::io::Errno::INVAL) => {
            rustix::fs::linkat(from_dir, from, to_dir, to, AtFlags::empty())?;
            unlink(from_dir, from)
        }
        other => Ok(other?),
    }
}

/// `unlinkat(dir, name, 0)`.
pub(crate) fn unlink(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

/// Make a directory's entries durable.
pub(crate) fn sync_dir(dir: &OwnedFd) -> io::Result<()> {
    Ok(rustix::fs::fsync(dir)?)
}

/// Make the entries of a directory from [`walk_parent`] durable. An `O_PATH`
/// descriptor cannot be fsynced, so the directory is opened again (as `.`
/// inside itself, so no name is looked up anew); where that is not permitted (a
/// directory the user may write and search but not read), the whole file
/// system is synced through `fallback`, a file on it.
pub(crate) fn sync_walked_dir(dir: &OwnedFd, fallback: &impl AsFd) -> io::Result<()> {
    match rustix::fs::openat(dir, ".", DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(rustix::fs::fsync(fd)?),
        Err(rustix::io::Errno::ACCESS) => Ok(rustix::fs::syncfs(fallback)?),
        Err(e) => Err(e.into()),
    }
}

/// Write a new file durably under its final name: a temporary name first,
/// filled by `fill`, fsynced, renamed (never over an existing file), and the
/// directory fsynced. On failure the temporary file is removed.
pub(crate) fn write_durably(
    dir: &OwnedFd,
    tmp: &OsStr,
    name: &OsStr,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let result = (|| {
        let mut f = create_new(dir, tmp, 0o600)?;
        fill(&mut f)?;
        f.flush()?;
        f.sync_all()?;
        drop(f);
        rename(dir, tmp, dir, name, false)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = unlink(dir, tmp);
    }
    result
}

/// The names in a directory (without `.` and `..`).
pub(crate) fn list(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let name = entry?.file_name().to_bytes().to_owned();
        if name != b"." && name != b".." {
            out.push(OsString::from(OsStr::from_bytes(&name)));
        }
    }
    Ok(out)
}

/// Take the directory lock: exclusive (without waiting) when `exclusive`,
/// otherwise shared (waiting). Returns whether it was taken.
pub(crate) fn lock(dir: &OwnedFd, exclusive: bool) -> io::Result<bool> {
    use rustix::fs::FlockOperation;
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::LockShared
    };
    match rustix::fs::flock(dir, op) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Fill `buf` from the kernel's random source.
pub(crate) fn random(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())?;
        filled += n;
    }
    Ok(())
}

/// The effective user id.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Set owner, mode and modification time on a file being restored. The owner
/// is set first (a change of owner clears set-id bits), and only by root.
pub(crate) fn set_attrs(
    file: &File,
    mode: u32,
    owner: Option<(u32, u32)>,
    mtime: (i64, u32),
) -> io::Result<()> {
    if let Some((uid, gid)) = owner {
        rustix::fs::fchown(
            file,
            Some(rustix::process::Uid::from_raw(uid)),
            Some(rustix::process::Gid::from_raw(gid)),
        )?;
    }
    rustix::fs::fchmod(file, Mode::from_raw_mode(mode & 0o7777))?;
    let times = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1.into(),
        },
    };
    Ok(rustix::fs::futimens(file, &times)?)
}

/// `fstatat(dir or the working directory, name, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn lstat_in(dir: Option<&OwnedFd>, name: &Path) -> io::Result<rustix::fs::Stat> {
    let at = dir.map_or(CWD, |d| d.as_fd());
    Ok(rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Open (creating, mode 0600) a file inside `dir` for appending, never through
/// a link.
pub(crate) fn open_append(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let flags =
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::openat(
        dir,
        name,
        flags,
        Mode::from_raw_mode(0o600),
    )?);
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok(file)
}
