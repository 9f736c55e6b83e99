//! What is scanned and then acted on: a file opened by walking its parents
//! with `openat` and `O_NOFOLLOW`, kept with its parent's descriptor and its
//! (device, inode) so that the action can check it is still the same file.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::fsops;
use crate::scan::input::{Opened, SpecialKind, special_kind};

/// A file opened for scanning and, when infected, quarantining: its parent
/// directory's descriptor (walked without following links), its name there, and
/// the file's descriptor with its (device, inode).
pub struct Target {
    pub(super) path: PathBuf,
    pub(super) parent: OwnedFd,
    pub(super) name: OsString,
    pub(super) opened: Opened,
    pub(super) dev: u64,
    pub(super) ino: u64,
    /// Size, mtime and ctime when it was opened, before it was scanned.
    pub(super) version: Version,
}

/// What changes when a file's content changes: its size, modification time and
/// change time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Version {
    size: i64,
    times: ((i64, u32), (i64, u32)),
}

impl Version {
    #[allow(clippy::unnecessary_cast)]
    pub(super) fn of(st: &rustix::fs::Stat) -> Version {
        Version {
            size: st.st_size as i64,
            times: times(st),
        }
    }

    /// The size in bytes.
    pub(super) fn size(&self) -> i64 {
        self.size
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("path", &self.path)
            .field("dev", &self.dev)
            .field("ino", &self.ino)
            .finish()
    }
}

/// What [`Target::open`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum TargetOpen {
    /// A regular file, opened.
    File(Target),
    /// Something that is not a regular file; not opened.
    Special(SpecialKind),
}

impl Target {
    /// Open `path` for scanning: every parent is opened with `openat` and
    /// `O_NOFOLLOW | O_DIRECTORY` starting from `/` (or the working directory for
    /// a relative path), then the file with `O_NOFOLLOW | O_NONBLOCK`. A symbolic
    /// link among the parents is an error; a link as the file itself is
    /// [`TargetOpen::Special`].
    pub fn open(path: &Path) -> io::Result<TargetOpen> {
        let (parent, name) = fsops::walk_parent(path)?;
        let file = match fsops::open_leaf(&parent, &name) {
            Ok(f) => f,
            Err(e) => {
                // Links can't be opened with O_NOFOLLOW (ELOOP), sockets not at
                // all (ENXIO): say what is there instead.
                return match fsops::stat_at(&parent, &name) {
                    Ok(st) if special_kind(st.st_mode).is_some() => Ok(TargetOpen::Special(
                        special_kind(st.st_mode).unwrap_or(SpecialKind::Symlink),
                    )),
                    _ => Err(e),
                };
            }
        };
        let st = rustix::fs::fstat(&file)?;
        if let Some(kind) = special_kind(st.st_mode) {
            return Ok(TargetOpen::Special(kind));
        }
        Ok(TargetOpen::File(Target {
            path: path.to_owned(),
            parent,
            name,
            opened: Opened {
                file,
                size: u64::try_from(st.st_size).unwrap_or(0),
            },
            dev: identity(&st).0,
            ino: identity(&st).1,
            version: Version::of(&st),
        }))
    }

    /// The opened file, for [`crate::Scanner::scan_opened`].
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The path it was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// (device, inode). The field types differ between architectures.
#[allow(clippy::unnecessary_cast)]
pub(super) fn identity(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Modification and change times as (seconds, nanoseconds).
#[allow(clippy::unnecessary_cast)]
pub(super) fn times(st: &rustix::fs::Stat) -> ((i64, u32), (i64, u32)) {
    (
        (st.st_mtime as i64, st.st_mtime_nsec as u32),
        (st.st_ctime as i64, st.st_ctime_nsec as u32),
    )
}
