//! The scans behind the commands, with clamd's answers (`scanner.c`):
//! paths (`SCAN`, `CONTSCAN`, `MULTISCAN`, `ALLMATCHSCAN`), a passed
//! descriptor (`FILDES`) and a received stream (`INSTREAM`).
//!
//! A path scan answers one line per detection and per error, never per clean
//! file, then `<path>: OK` when nothing was found and not everything failed.
//! It stops between files when the client has gone.

use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::bytes::RegexSet;

use super::creds::{Access, AsClient};
use super::reply::Reply;
use super::server::{Peer, Shared};
use crate::journal::{Threat, ThreatAction, ThreatResult};
use crate::scan::input::Opened;
use crate::scan::tree::{Event, TreeOptions};
use crate::walk::{Entry, WalkOptions};
use crate::{FileReport, ScanError, Scanner, SkipReason, Verdict, unpack};

/// Which path command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `SCAN`: stop at the first file found infected.
    Scan,
    /// `CONTSCAN`: go on.
    Cont,
    /// `MULTISCAN`: a directory's files in parallel (a file: as `CONTSCAN`).
    Multi,
    /// `ALLMATCHSCAN`: as `SCAN`, every matching signature of a file.
    AllMatch,
}

impl PathKind {
    pub fn of(cmd: &super::protocol::Command) -> PathKind {
        use super::protocol::Command;
        match cmd {
            Command::ContScan(_) => PathKind::Cont,
            Command::MultiScan(_) => PathKind::Multi,
            Command::AllMatchScan(_) => PathKind::AllMatch,
            _ => PathKind::Scan,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PathKind::Scan => "SCAN",
            PathKind::Cont => "CONTSCAN",
            PathKind::Multi => "MULTISCAN",
            PathKind::AllMatch => "ALLMATCHSCAN",
        }
    }
}

/// What a path scan has seen, as clamd counts it.
#[derive(Default)]
struct Counts {
    total: u64,
    errors: u64,
    infected: u64,
}

impl Counts {
    /// Whether the scan ends with `<path>: OK`.
    fn ok(&self) -> bool {
        self.infected == 0 && self.errors != self.total
    }
}

/// The answer for one scanned file; whether it counts as an error.
fn answer(reply: Reply, name: &[u8], report: &FileReport, top: bool) -> (Vec<u8>, bool) {
    match &report.verdict {
        Verdict::Clean => match top && report.scanned_bytes == 0 {
            true => (reply.single(Some(name), "Empty file"), false),
            false => (Vec::new(), false),
        },
        Verdict::Infected(found) => {
            let mut out = Vec::new();
            for m in found {
                out.extend(reply.found(name, &m.name));
            }
            (out, false)
        }
        Verdict::Skipped(SkipReason::Special(_)) => match top {
            true => (
                reply.message(Some(name), "Not supported file type", "ERROR"),
                false,
            ),
            false => (Vec::new(), false),
        },
        Verdict::Skipped(SkipReason::Timeout { .. }) => (
            reply.message(Some(name), "Time limit reached", "ERROR"),
            true,
        ),
        Verdict::Skipped(why) => (reply.message(Some(name), &why.to_string(), "ERROR"), true),
        Verdict::Error(ScanError::Open(e))
            if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) =>
        {
            (reply.message(Some(name), "Access denied.", "ERROR"), true)
        }
        Verdict::Error(ScanError::Open(_)) => (
            reply.message(Some(name), "Can't open file or directory", "ERROR"),
            true,
        ),
        Verdict::Error(ScanError::Read(_)) => {
            (reply.message(Some(name), "Can't read file", "ERROR"), true)
        }
        Verdict::Error(e) => (
            reply.message(
                Some(name),
                &format!("File path check failure: {e}."),
                "ERROR",
            ),
            true,
        ),
    }
}

/// A path command, run as the client where it must be.
pub(crate) fn path(
    shared: &Arc<Shared>,
    sc: &mut Scanner,
    peer: &Peer,
    reply: Reply,
    kind: PathKind,
    top: &Path,
) {
    let _as_client = match peer
        .client
        .as_ref()
        .map(|c| (super::creds::access_for(c), c))
    {
        Some((Access::AsClient, client)) => match AsClient::enter(client) {
            Ok(guard) => Some(guard),
            Err(_) => {
                let _ = peer.send(&reply.message(
                    Some(top.as_os_str().as_bytes()),
                    "Access denied.",
                    "ERROR",
                ));
                return;
            }
        },
        _ => None,
    };
    let name = top.as_os_str().as_bytes();
    let meta = match std::fs::metadata(top) {
        Ok(m) => m,
        Err(e) => {
            let _ = peer.send(&reply.errno(name, "File path check failure:", &e));
            return;
        }
    };
    let excluded = exclusions(&shared.cfg.exclude_path);
    let counts = match kind {
        PathKind::Multi if meta.is_dir() => multi(shared, peer, reply, top, &excluded),
        _ => {
            sc.all_matches(kind == PathKind::AllMatch);
            let counts = walk(shared, sc, peer, reply, kind, top, &excluded);
            sc.all_matches(false);
            counts
        }
    };
    match counts {
        Ok(c) if c.ok() => {
            let _ = peer.send(&reply.single(Some(name), "OK"));
        }
        Ok(_) => {}
        Err(c) => (shared.log)(
            super::Level::Notice,
            format!(
                "{}: client went away; {} stopped after {} files",
                top.display(),
                kind.name(),
                c.total
            ),
        ),
    }
}

fn exclusions(patterns: &[String]) -> RegexSet {
    RegexSet::new(patterns).unwrap_or_else(|_| RegexSet::empty())
}

/// The walk's settings; `one_file_system` when the walk itself is to leave
/// other filesystems out (a walk in turn answers for them itself).
fn walk_options(shared: &Shared, one_file_system: bool) -> WalkOptions {
    let mut w = WalkOptions::new();
    w.follow_symlinks(shared.cfg.follow_directory_symlinks)
        .one_file_system(one_file_system && !shared.cfg.cross_filesystems);
    w
}

/// The device a path is on (`None` when it cannot be told).
fn device(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.dev())
}

/// How deep below `top` a path is.
fn depth(path: &Path, top: &Path) -> u32 {
    path.strip_prefix(top)
        .map_or(0, |rel| rel.components().count() as u32)
}

/// `SCAN`, `CONTSCAN`, `ALLMATCHSCAN` (and `MULTISCAN` of a file): the walk
/// and the scans in turn on this thread. `Err` when the client went away.
fn walk(
    shared: &Shared,
    sc: &mut Scanner,
    peer: &Peer,
    reply: Reply,
    kind: PathKind,
    top: &Path,
    excluded: &RegexSet,
) -> Result<Counts, Counts> {
    let mut counts = Counts::default();
    let Ok(mut walk) = walk_options(shared, false).walk([top.to_owned()]) else {
        return Err(counts);
    };
    let max_depth = match shared.cfg.max_directory_recursion {
        0 => u32::MAX,
        n => n,
    };
    let top_dev = device(top);
    while let Some(entry) = walk.next() {
        if peer.gone() {
            return Err(counts);
        }
        let mut out = Vec::new();
        match entry {
            Entry::Dir(p) => {
                counts.total += u64::from(p == top);
                if p != top && excluded.is_match(p.as_os_str().as_bytes()) {
                    out = reply.single(Some(p.as_os_str().as_bytes()), "Excluded");
                    walk.skip_current_dir();
                } else if !shared.cfg.cross_filesystems && p != top && device(&p) != top_dev {
                    let name = p.as_os_str().as_bytes();
                    out = reply.single(Some(name), "Excluded (another filesystem)");
                    walk.skip_current_dir();
                } else if depth(&p, top) > max_depth {
                    walk.skip_current_dir();
                }
            }
            Entry::File(p) | Entry::Other(p) => {
                let name = p.as_os_str().as_bytes();
                if excluded.is_match(name) {
                    out = reply.single(Some(name), "Excluded");
                } else if p != top && p.is_symlink() && !shared.cfg.follow_file_symlinks {
                    // clamd skips links it does not follow, silently.
                } else if let Some(report) =
                    scan_one(sc, &p, p == top || shared.cfg.follow_file_symlinks)
                {
                    counts.total += 1;
                    log_found(shared, peer, name, &p, &report);
                    let (text, error) = answer(reply, name, &report, p == top);
                    out = text;
                    counts.errors += u64::from(error);
                    if report.is_infected() {
                        counts.infected += 1;
                    }
                }
            }
            Entry::Error(p, e) => {
                counts.total += 1;
                counts.errors += 1;
                let name = p.as_os_str().as_bytes();
                out = match e.raw_os_error() {
                    Some(libc::EACCES | libc::EPERM) => {
                        reply.message(Some(name), "Access denied.", "ERROR")
                    }
                    _ => reply.errno(name, "File path check failure:", &e),
                };
            }
        }
        if !out.is_empty() && peer.send(&out).is_err() {
            return Err(counts);
        }
        if counts.infected > 0 && matches!(kind, PathKind::Scan | PathKind::AllMatch) {
            break;
        }
    }
    Ok(counts)
}

/// Scan one file of a walk; a symbolic link to a file is followed when
/// `follow` says so (and reported under the link's name), else left out.
fn scan_one(sc: &mut Scanner, path: &Path, follow: bool) -> Option<FileReport> {
    if path.is_symlink() {
        // The top of the scan, or reached through a link the walk followed
        // (FollowDirectorySymlinks follows every link): a link to a file is
        // scanned only with FollowFileSymlinks.
        let target = std::fs::canonicalize(path).ok()?;
        if !follow || !target.is_file() {
            return None;
        }
        let mut report = sc.scan_file(&target);
        report.path = path.to_owned();
        return Some(report);
    }
    Some(sc.scan_file(path))
}

/// Log a detection, with who asked, and record it in the threat list when
/// the daemon keeps one (under `path`, the file's own path where it is
/// known: a passed descriptor's target rather than `fd[N]`).
fn log_found(shared: &Shared, peer: &Peer, name: &[u8], path: &Path, report: &FileReport) {
    if let Verdict::Infected(found) = &report.verdict {
        let names: Vec<String> = found.iter().map(|m| m.name.to_string()).collect();
        (shared.log)(
            super::Level::Warning,
            format!(
                "{}: {} FOUND (for {})",
                String::from_utf8_lossy(name),
                names.join(", "),
                peer.describe()
            ),
        );
        if let Some(rec) = shared.recorder.get() {
            let mut threat = Threat::new(path, names, ThreatAction::Report, ThreatResult::Reported);
            threat.client = Some(peer.describe());
            for e in rec.record(&threat) {
                (shared.log)(super::Level::Error, e);
            }
        }
    }
}

/// What a `MULTISCAN` worker hands back for one path.
enum Multi {
    Scanned(FileReport),
    Left,
}

impl From<FileReport> for Multi {
    fn from(r: FileReport) -> Multi {
        Multi::Scanned(r)
    }
}

/// `MULTISCAN` of a directory: its files scanned in parallel (one such scan
/// at a time), answered as they finish. `Err` when the client went away.
fn multi(
    shared: &Shared,
    peer: &Peer,
    reply: Reply,
    top: &Path,
    excluded: &RegexSet,
) -> Result<Counts, Counts> {
    let _one = shared.multiscan.lock().unwrap_or_else(|p| p.into_inner());
    let Ok(walk) = walk_options(shared, true).walk([top.to_owned()]) else {
        return Err(Counts::default());
    };
    let (_, set) = shared.sigs.current();
    let opts = TreeOptions {
        threads: shared.cfg.max_threads,
        limits: shared.cfg.limits,
        spill_dir: shared.cfg.temporary_directory.clone(),
        ..TreeOptions::default()
    };
    let max_depth = match shared.cfg.max_directory_recursion {
        0 => u32::MAX,
        n => n,
    };
    let mut counts = Counts::default();
    let mut gone = false;
    let per_file = |sc: &mut Scanner, p: &Path| {
        if excluded.is_match(p.as_os_str().as_bytes()) || depth(p, top) > max_depth + 1 {
            return Multi::Left;
        }
        scan_one(sc, p, shared.cfg.follow_file_symlinks).map_or(Multi::Left, Multi::Scanned)
    };
    let ran = crate::scan_tree_with(&set, walk, &opts, per_file, |event| {
        if peer.gone() {
            gone = true;
            return ControlFlow::Break(());
        }
        let Event::File(Multi::Scanned(report)) = event else {
            return ControlFlow::Continue(());
        };
        counts.total += 1;
        let name = report.path.as_os_str().as_bytes();
        log_found(shared, peer, name, &report.path, &report);
        let (text, error) = answer(reply, name, &report, false);
        counts.errors += u64::from(error);
        counts.infected += u64::from(report.is_infected());
        if !text.is_empty() && peer.send(&text).is_err() {
            gone = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    match ran.is_ok() && !gone {
        true => Ok(counts),
        false => Err(counts),
    }
}

/// `FILDES`: the passed descriptor, named `fd[N]`.
pub(crate) fn fildes(shared: &Shared, sc: &mut Scanner, peer: &Peer, reply: Reply, fd: OwnedFd) {
    let name = format!("fd[{}]", fd.as_raw_fd());
    // What the descriptor was opened as (clamonacc passes the file a process
    // is opening): the threat list names that, the reply `fd[N]` as clamd.
    let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .unwrap_or_else(|_| PathBuf::from(&name));
    let out = match super::handler::regular(fd) {
        Ok(Some((file, size))) => {
            let report = sc.scan_opened(&Opened { file, size }, Path::new(&name));
            log_found(shared, peer, name.as_bytes(), &target, &report);
            result(reply, name.as_bytes(), &report)
        }
        Ok(None) => reply.message(Some(name.as_bytes()), "Not a regular file", "ERROR"),
        Err(_) => reply.message(Some(name.as_bytes()), "Can't read file", "ERROR"),
    };
    let _ = peer.send(&out);
}

/// `INSTREAM`: the received bytes, named `stream`.
pub(crate) fn stream(
    shared: &Shared,
    sc: &mut Scanner,
    peer: &Peer,
    reply: Reply,
    data: &mut unpack::Scratch,
) {
    let out = match data.finish() {
        Ok(bytes) => {
            let report = sc.scan_buffer(bytes, Path::new("stream"));
            log_found(shared, peer, b"stream", Path::new("stream"), &report);
            result(reply, b"stream", &report)
        }
        Err(_) => reply.error("Error writing to temporary file"),
    };
    data.release();
    let _ = peer.send(&out);
}

/// The one answer for a descriptor or a stream: `OK`, a detection (every
/// one, for all matches), or why it was not scanned.
fn result(reply: Reply, name: &[u8], report: &FileReport) -> Vec<u8> {
    match &report.verdict {
        Verdict::Clean => reply.single(Some(name), "OK"),
        _ => answer(reply, name, report, false).0,
    }
}
