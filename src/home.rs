//! The state directory ("home") that holds the vault, the allow list and the
//! threat log: where it is by default, and the checks that refuse a home, vault,
//! list or log someone else could have planted or could write. Everything that
//! keeps state in the home (the vault, the journal, the allow list) opens it
//! through here.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::fsops;

/// Why the home (or a directory or file in it) was refused or could not be used.
/// Every variant names the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HomeError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// It is a symbolic link.
    #[error("{}: is a symbolic link; refusing to use it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// It is not a directory.
    #[error("{}: is not a directory; refusing to use it", path.display())]
    NotDirectory {
        /// The path.
        path: PathBuf,
    },
    /// It is writable by group or others.
    #[error("{}: is writable by group or others (mode {mode:04o}); refusing to use it", path.display())]
    Writable {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// It belongs to another user.
    #[error("{}: is owned by uid {owner}, not by the running user (uid {user}); refusing to use it", path.display())]
    Owner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The running (effective) user.
        user: u32,
    },
}

/// Wrap an I/O error on `path`.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> HomeError {
    let path = path.into();
    move |source| HomeError::Io { path, source }
}

/// The allow list's file name inside the home (ClamAV `.sfp` format).
pub const ALLOW_LIST: &str = "allow.sfp";

/// The state directory used when none is given: `/var/lib/ward` for root,
/// otherwise `$XDG_DATA_HOME/ward`, or `~/.local/share/ward`. `None` when
/// neither `XDG_DATA_HOME` nor `HOME` is set for a non-root user.
pub fn default_home() -> Option<PathBuf> {
    if fsops::euid() == 0 {
        return Some(PathBuf::from("/var/lib/ward"));
    }
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").and_then(absolute) {
        return Some(x.join("ward"));
    }
    let home = std::env::var_os("HOME").and_then(absolute)?;
    Some(home.join(".local/share/ward"))
}

/// Refuse a directory (or file) that is not the running user's, or that group
/// or others can write.
pub(crate) fn check_owner_mode(fd: &impl std::os::fd::AsFd, path: &Path) -> Result<(), HomeError> {
    let st = rustix::fs::fstat(fd).map_err(|e| io_err(path)(e.into()))?;
    let user = fsops::euid();
    if st.st_uid != user {
        return Err(HomeError::Owner {
            path: path.to_owned(),
            owner: st.st_uid,
            user,
        });
    }
    if st.st_mode & 0o022 != 0 {
        return Err(HomeError::Writable {
            path: path.to_owned(),
            mode: st.st_mode & 0o7777,
        });
    }
    Ok(())
}

/// Open a home or vault directory: refuse a symbolic link or non-directory,
/// open without following links, check owner and mode on the descriptor.
pub(crate) fn open_checked(
    parent: Option<&OwnedFd>,
    name: &Path,
    shown: &Path,
    create: bool,
) -> Result<OwnedFd, HomeError> {
    let fd = fsops::open_dir(parent, name, create).map_err(|e| {
        match fsops::lstat_in(parent, name)
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode))
        {
            Ok(rustix::fs::FileType::Symlink) => HomeError::Symlink {
                path: shown.to_owned(),
            },
            Ok(rustix::fs::FileType::Directory) | Err(_) => io_err(shown)(e),
            Ok(_) => HomeError::NotDirectory {
                path: shown.to_owned(),
            },
        }
    })?;
    check_owner_mode(&fd, shown)?;
    Ok(fd)
}

/// Open (and, when `create`, first create with mode 0700, with any missing
/// parents, each made durable) the home and check it. `None` when it does not exist and `create` is off.
pub(crate) fn open_home(home: &Path, create: bool) -> Result<Option<OwnedFd>, HomeError> {
    if create {
        match std::fs::symlink_metadata(home) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fsops::create_dirs(home).map_err(io_err(home))?;
            }
            _ => {}
        }
    } else if fsops::lstat_in(None, home).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
        return Ok(None);
    }
    open_checked(None, home, home, false).map(Some)
}

/// Read the allow list (`<home>/allow.sfp`, ClamAV `.sfp` lines
/// `sha256:size:name`) that restores with [`crate::quarantine::RestoreOptions::allow`] append to.
/// `Ok(None)` when the home or the list does not exist. The home and the list
/// are checked as for the vault (not a link, the running user's, not writable
/// by group or others): a list others could write would let them allow anything.
pub fn read_allow_list(home: &Path) -> Result<Option<Vec<u8>>, HomeError> {
    let Some(home_fd) = open_home(home, false)? else {
        return Ok(None);
    };
    let path = home.join(ALLOW_LIST);
    let mut file = match fsops::open_read(&home_fd, ALLOW_LIST.as_ref()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    check_owner_mode(&file, &path)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(io_err(&path))?;
    Ok(Some(data))
}
