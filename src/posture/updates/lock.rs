//! Is dpkg locked by another process?
//!
//! apt and dpkg lock `/var/lib/dpkg/lock-frontend` (and then `lock`) with
//! POSIX record locks (`fcntl(F_SETLK)`). Before it changes anything, ward
//! takes and releases both the same way, so a package manager already at
//! work is found and named (from `/proc/locks`) before a single package is
//! touched. A BSD `flock` on either file, which apt itself would not notice,
//! counts as held too. apt-get takes the lock again for each of ward's runs;
//! one that finds it taken in between fails before it changes anything.
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

use super::UpdatesError;

/// dpkg's administrative directory, where its locks live.
pub const LOCK_DIR: &str = "/var/lib/dpkg";

/// Check that `DIR/lock-frontend` and `DIR/lock` are free: take each without
/// waiting and let go. [`UpdatesError::Locked`] names the holder when another
/// process has either; [`UpdatesError::Io`] when the files cannot be opened
/// (not root).
pub fn check_dpkg_lock(dir: &Path) -> Result<(), UpdatesError> {
    drop(take(&dir.join("lock-frontend"))?);
    drop(take(&dir.join("lock"))?);
    Ok(())
}

/// Open and lock one file (POSIX write lock, and a BSD lock as a probe).
fn take(path: &Path) -> Result<File, UpdatesError> {
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::PermissionDenied => UpdatesError::Refused(format!(
            "{}: {source} (installing updates needs root)",
            path.display()
        )),
        _ => UpdatesError::Io {
            path: path.to_owned(),
            source,
        },
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    let held = |e: rustix::io::Errno| {
        if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS {
            Ok(())
        } else {
            Err(io_err(e.into()))
        }
    };
    let locked = match rustix::fs::fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                // Only a probe: the BSD lock is not what apt looks at.
                let _ = rustix::fs::flock(&file, FlockOperation::NonBlockingUnlock);
                true
            }
            Err(rustix::io::Errno::WOULDBLOCK) => false,
            Err(e) => return Err(io_err(e.into())),
        },
        Err(e) => held(e).map(|()| false)?,
    };
    if locked {
        return Ok(file);
    }
    let holder = file.metadata().ok().and_then(|m| holder(m.ino()));
    Err(UpdatesError::Locked {
        path: PathBuf::from(path),
        holder,
    })
}

/// `pid N (name)` of a process holding a lock on the inode, from /proc/locks.
fn holder(ino: u64) -> Option<String> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let me = std::process::id().to_string();
    let pid = text.lines().find_map(|l| {
        // `1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF`
        let f: Vec<&str> = l.split_whitespace().collect();
        let dev_ino = f.get(5)?;
        let lock_ino: u64 = dev_ino.rsplit(':').next()?.parse().ok()?;
        (lock_ino == ino && f.get(1) != Some(&"->") && f[4] != me).then(|| f[4].to_owned())
    })?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Some(match comm.trim() {
        "" => format!("pid {pid}"),
        c => format!("pid {pid} ({c})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_then_held() {
        let dir = tempfile::tempdir().unwrap();
        check_dpkg_lock(dir.path()).unwrap();
        // The check let go of its BSD probe.
        let f = File::open(dir.path().join("lock-frontend")).unwrap();
        rustix::fs::flock(&f, FlockOperation::NonBlockingLockShared).unwrap();
        // (POSIX locks belong to the process, so a held one is tested through
        // the binary, with another process holding it.)
        let err = check_dpkg_lock(dir.path()).unwrap_err();
        assert!(
            matches!(err, UpdatesError::Locked { .. }),
            "{err}: expected Locked"
        );
        assert!(err.to_string().contains("lock-frontend"), "{err}");
    }
}
