//! `<home>/watch.json`: which `ward watch` is running, for `ward health`.
//!
//! A watcher writes its pid, trees and mode into the file when it starts and
//! holds an exclusive `flock` on it for as long as it lives; the kernel drops
//! the lock when the process ends, however it ends. A reader that can take a
//! shared lock therefore knows the file is stale; it lets go of it at once.
//! When a second watcher starts on the same home it finds the lock taken and
//! leaves the file to the first. A starting watcher that finds the lock taken
//! tries again for up to [`CLAIM_WAIT`], so a reader's brief shared lock does
//! not cost it its status file.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::encoding::rfc3339;
use crate::home::{HomeError, check_owner_mode, io_err, open_home};

/// The file's name inside the home.
pub const WATCH_STATUS: &str = "watch.json";

/// How long [`claim`] keeps trying while the lock is taken: far longer than a
/// reader holds its shared lock, so only another live watcher makes it fail.
pub const CLAIM_WAIT: Duration = Duration::from_secs(2);

/// What a running watcher says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WatchStatus {
    /// Its process id.
    pub pid: u32,
    /// When it started, RFC 3339 UTC.
    pub started: String,
    /// The watched trees.
    pub trees: Vec<String>,
    /// Whether it blocks opens of infected files (fanotify).
    pub blocking: bool,
}

impl WatchStatus {
    /// This process, watching `trees`, started now.
    pub fn new(trees: &[PathBuf], blocking: bool) -> WatchStatus {
        WatchStatus {
            pid: std::process::id(),
            started: rfc3339(SystemTime::now()),
            trees: trees
                .iter()
                .map(|t| std::path::absolute(t).unwrap_or_else(|_| t.clone()))
                .map(|t| t.to_string_lossy().into_owned())
                .collect(),
            blocking,
        }
    }
}

/// The held status file; the lock goes with it.
#[derive(Debug)]
pub struct StatusFile {
    _file: File,
}

fn open(home: &Path, create: bool) -> Result<Option<File>, HomeError> {
    let path = home.join(WATCH_STATUS);
    let Some(dir) = open_home(home, create)? else {
        return Ok(None);
    };
    let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
    flags |= if create {
        OFlags::RDWR | OFlags::CREATE
    } else {
        OFlags::RDONLY
    };
    match rustix::fs::openat(&dir, WATCH_STATUS, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => {
            let file = File::from(fd);
            check_owner_mode(&file, &path)?;
            Ok(Some(file))
        }
        Err(rustix::io::Errno::NOENT) if !create => Ok(None),
        Err(e) => Err(io_err(path)(e.into())),
    }
}

/// Write `status` into `<home>/watch.json` and hold its lock. `None` when
/// another live watcher holds it.
pub fn claim(home: &Path, status: &WatchStatus) -> Result<Option<StatusFile>, HomeError> {
    let path = home.join(WATCH_STATUS);
    let Some(mut file) = open(home, true)? else {
        return Ok(None);
    };
    let deadline = Instant::now() + CLAIM_WAIT;
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(io_err(path)(e.into())),
        }
    }
    let mut text = serde_json::to_vec(status).map_err(|e| io_err(&path)(e.into()))?;
    text.push(b'\n');
    file.set_len(0)
        .and_then(|()| file.write_all(&text))
        .map_err(io_err(&path))?;
    Ok(Some(StatusFile { _file: file }))
}

/// The last watcher's status, and whether it is still running. `None` when no
/// watcher ever ran with this home (or the file cannot be parsed yet).
pub fn read(home: &Path) -> Result<Option<(WatchStatus, bool)>, HomeError> {
    let path = home.join(WATCH_STATUS);
    let Some(mut file) = open(home, false)? else {
        return Ok(None);
    };
    let running = match rustix::fs::flock(&file, FlockOperation::NonBlockingLockShared) {
        Ok(()) => {
            // Only a test: let a starting watcher have it.
            let _ = rustix::fs::flock(&file, FlockOperation::Unlock);
            false
        }
        Err(rustix::io::Errno::WOULDBLOCK) => true,
        Err(e) => return Err(io_err(path)(e.into())),
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_err(&path))?;
    Ok(serde_json::from_str(&text).ok().map(|s| (s, running)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_while_held_stale_after() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        assert_eq!(read(&home).unwrap(), None);
        let st = WatchStatus::new(&["/srv".into()], true);
        let held = claim(&home, &st).unwrap().expect("free");
        assert_eq!(read(&home).unwrap(), Some((st.clone(), true)));
        assert!(claim(&home, &st).unwrap().is_none(), "second claim");
        drop(held);
        assert_eq!(read(&home).unwrap(), Some((st.clone(), false)));
    }

    #[test]
    fn a_reader_holding_the_lock_does_not_cost_the_claim() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        drop(claim(&home, &WatchStatus::new(&["/old".into()], false)).unwrap());
        // A reader between its lock and its unlock, as a claim starts.
        let reader = open(&home, false).unwrap().unwrap();
        rustix::fs::flock(&reader, FlockOperation::NonBlockingLockShared).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(reader);
        });
        let st = WatchStatus::new(&["/srv".into()], false);
        let held = claim(&home, &st).unwrap();
        assert!(held.is_some(), "the claim gave up on a reader's lock");
        release.join().unwrap();
        assert_eq!(read(&home).unwrap(), Some((st, true)));
    }
}
