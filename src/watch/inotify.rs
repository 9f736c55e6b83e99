//! The inotify backend: which events lead to a scan, new directories, lost
//! events and the watch limit.
//!
//! - Close after writing and moved-in files are scanned at once. A created
//!   file is looked at after the debounce unless its close comes first, and
//!   only when nobody has it open for writing (a hard link, say): a file still
//!   being written is left alone until its close, so that what is written
//!   later is never cut off by a quarantine. A path already queued is not
//!   queued twice, so bursts of events for one file collapse into one scan.
//! - A new (or moved-in) directory is given its watches first and walked
//!   second: a file made in it before its watch existed is found by the walk,
//!   one made after by its events.
//! - Watches are added through the descriptor the walk entered each directory
//!   by (`/proc/self/fd/N`), never by its path: a directory below `PATH_MAX`
//!   is watched like any other, and a directory swapped for a link after the
//!   walk cannot redirect the watch.
//! - A lost event (`IN_Q_OVERFLOW`) leads to a rescan of every tree, which
//!   also watches what is not watched yet. Unchanged files that were scanned
//!   before cost one `stat` there ([`super::cache`]).
//! - Running out of watches (`max_user_watches`) is reported, and from then on
//!   the trees are also rescanned periodically: slower, but never blind.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::{Notice, Shared, WatchError, Why};
use crate::walk::{Entry, WalkOptions};

/// How often the dispatcher looks at the stop flag when idle.
const TICK: Duration = Duration::from_millis(100);
/// What each directory is watched for.
const MASK: WatchFlags = WatchFlags::CLOSE_WRITE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::EXCL_UNLINK);
/// Bytes of events read at once (an event is at most 16 + NAME_MAX + 1 bytes).
const EVENT_BUF: usize = 64 << 10;

/// Work for the walking thread.
#[derive(Debug)]
pub(crate) enum WalkJob {
    /// A directory was made: watch it, then queue what it holds, unless a
    /// walk that got there first watches it already.
    NewDir(PathBuf),
    /// A directory was moved in: watch it (again: the paths of its watches
    /// change), then queue what it holds.
    MovedDir(PathBuf),
    /// Queue every file in every tree.
    Full,
}

/// The inotify instance and the directory each watch stands for.
pub(crate) struct Inotify {
    fd: OwnedFd,
    /// Watch descriptor → the directory's path. Held while a watch is added,
    /// so that no event of a new watch is read before its path is known.
    dirs: Mutex<HashMap<i32, PathBuf>>,
}

impl Inotify {
    pub(crate) fn new() -> Result<Inotify, WatchError> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .map_err(|e| WatchError::Notify(format!("inotify_init: {}", io::Error::from(e))))?;
        Ok(Inotify {
            fd,
            dirs: Mutex::new(HashMap::new()),
        })
    }

    /// Watch the directory `dir` was entered by (its path only names it in
    /// events). Adding a watch twice is harmless: the kernel returns the same
    /// watch, and its path is updated (a directory moved within the trees).
    ///
    /// With `fresh`, a directory watched already is an error of kind
    /// [`io::ErrorKind::AlreadyExists`] (`IN_MASK_CREATE`, Linux 4.18; earlier
    /// kernels just add the watch).
    fn add(&self, path: &Path, dir: BorrowedFd<'_>, fresh: bool) -> io::Result<()> {
        let mut dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        let by_fd = format!("/proc/self/fd/{}", dir.as_raw_fd());
        let add = |mask: WatchFlags| match inotify::add_watch(&self.fd, by_fd.as_str(), mask) {
            // No /proc: by path, which works up to PATH_MAX.
            Err(rustix::io::Errno::NOENT) => {
                inotify::add_watch(&self.fd, path, mask | WatchFlags::DONT_FOLLOW)
            }
            other => other,
        };
        let wd = match fresh {
            true => match add(MASK | WatchFlags::MASK_CREATE) {
                Err(rustix::io::Errno::INVAL) => add(MASK),
                other => other,
            },
            false => add(MASK),
        }?;
        dirs.insert(wd, path.to_owned());
        Ok(())
    }

    fn forget(&self, wd: i32) {
        self.dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&wd);
    }

    fn path(&self, wd: i32, name: &OsStr) -> Option<PathBuf> {
        let dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        dirs.get(&wd).map(|d| d.join(name))
    }

    /// Wait up to `timeout` for events; whether some are ready.
    fn wait(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let ts = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        matches!(rustix::event::poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
    }
}

/// Watch every directory of every root. A root that cannot be watched fails
/// the start, except for the watch limit, which degrades to periodic rescans.
pub(crate) fn start(shared: &Arc<Shared>) -> Result<(), WatchError> {
    for root in &shared.roots {
        walk(shared, root, Queue::Nothing)
            .map_err(|e| WatchError::Notify(format!("{}: {e}", root.display())))?;
    }
    Ok(())
}

fn limit_message(at: &Path) -> String {
    let max = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!(
        "out of inotify watches at {} (fs.inotify.max_user_watches = {max}): directories \
         past the limit are not watched; rescanning every tree periodically instead \
         (raise the limit with sysctl fs.inotify.max_user_watches=N and restart)",
        at.display()
    )
}

/// One event, with the path it is about.
struct Event {
    flags: ReadFlags,
    path: PathBuf,
}

/// The dispatcher: turns events into scans and walks until stopped.
pub(crate) fn dispatch(shared: &Arc<Shared>) {
    let mut created: HashMap<PathBuf, Instant> = HashMap::new();
    let mut degraded: Option<Instant> = None;
    let mut buf = vec![MaybeUninit::<u8>::uninit(); EVENT_BUF];
    let mut batch = Vec::new();
    while !shared.stopped() {
        let wait = created.values().min().map_or(TICK, |due| {
            due.saturating_duration_since(Instant::now()).min(TICK)
        });
        if shared.inotify.wait(wait) {
            read_events(shared, &mut buf, &mut batch);
            for ev in batch.drain(..) {
                handle(shared, ev, &mut created);
            }
        }
        let now = Instant::now();
        created.retain(|path, due| {
            let keep = *due > now;
            if !keep {
                shared.submit(path.clone(), Why::Created);
            }
            keep
        });
        // Set by whichever thread ran out of watches: at start, while
        // watching a new directory, or here.
        if degraded.is_none() && shared.degraded.load(Ordering::Acquire) {
            degraded = Some(Instant::now());
        }
        if let Some(since) = degraded
            && since.elapsed() >= shared.opts.degraded_rescan
        {
            degraded = Some(Instant::now());
            shared.request_rescan();
        }
    }
}

/// Read what is ready (one `read`), resolving each event's path.
fn read_events(shared: &Shared, buf: &mut [MaybeUninit<u8>], out: &mut Vec<Event>) {
    let ino = &shared.inotify;
    let mut reader = inotify::Reader::new(ino.fd.as_fd(), buf);
    loop {
        let ev = match reader.next() {
            Ok(ev) => ev,
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return,
            Err(e) => {
                shared.notice(Notice::Error(format!("inotify: {}", io::Error::from(e))));
                return;
            }
        };
        let flags = ev.events();
        if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
            shared.notice(Notice::Overflow {
                what: "the kernel's inotify queue",
            });
            shared.request_rescan();
        } else if flags.contains(ReadFlags::IGNORED) {
            // The directory is gone (or its filesystem unmounted).
            ino.forget(ev.wd());
        } else if let Some(name) = ev.file_name() {
            let name = OsStr::from_bytes(name.to_bytes());
            if let Some(path) = ino.path(ev.wd(), name) {
                out.push(Event { flags, path });
            }
        }
        if reader.is_buffer_empty() {
            return;
        }
    }
}

/// One event.
fn handle(shared: &Shared, ev: Event, created: &mut HashMap<PathBuf, Instant>) {
    let Event { flags, path } = ev;
    if shared.skipped(&path) {
        return;
    }
    let dir = flags.contains(ReadFlags::ISDIR);
    if flags.contains(ReadFlags::CLOSE_WRITE) {
        created.remove(&path);
        shared.submit(path, Why::Closed);
    } else if flags.contains(ReadFlags::MOVED_TO) {
        created.remove(&path);
        match dir {
            true => {
                let _ = shared.walks.send(WalkJob::MovedDir(path));
            }
            false => shared.submit(path, Why::Closed),
        }
    } else if flags.contains(ReadFlags::CREATE) {
        match dir {
            true => {
                let _ = shared.walks.send(WalkJob::NewDir(path));
            }
            false => {
                created.insert(path, Instant::now() + shared.opts.debounce);
            }
        }
    }
}

/// The walking thread: new directories and full rescans.
pub(crate) fn walker(shared: &Arc<Shared>, jobs: &Receiver<WalkJob>) {
    while !shared.stopped() {
        match jobs.recv_timeout(TICK) {
            Ok(WalkJob::NewDir(dir) | WalkJob::MovedDir(dir)) if shared.skipped(&dir) => {}
            Ok(WalkJob::NewDir(dir)) => walk_new(shared, &dir, Queue::Fresh),
            Ok(WalkJob::MovedDir(dir)) => walk_new(shared, &dir, Queue::Files),
            Ok(WalkJob::Full) => {
                shared.rescan_pending.store(false, Ordering::Release);
                let start = Instant::now();
                let mut files = 0;
                for root in &shared.roots {
                    match walk(shared, root, Queue::Files) {
                        Ok(n) => files += n,
                        Err(e) => shared.notice(Notice::Error(format!("{}: {e}", root.display()))),
                    }
                }
                shared.notice(Notice::Rescanned {
                    files,
                    took: start.elapsed(),
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// A new directory's walk; one that vanished meanwhile is no error.
fn walk_new(shared: &Shared, dir: &Path, queue: Queue) {
    if let Err(e) = walk(shared, dir, queue)
        && e.kind() != io::ErrorKind::NotFound
    {
        shared.notice(Notice::Error(format!("{}: {e}", dir.display())));
    }
}

/// What a walk queues for scanning.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Queue {
    /// Nothing: watching starts with what comes next.
    Nothing,
    /// Every regular file.
    Files,
    /// Every regular file, unless the directory walked is watched already:
    /// then the walk that watched it queued what it held, and its events
    /// report what came since. (A chain of new directories would otherwise
    /// be walked once per level, each walk covering all below it.)
    Fresh,
}

/// Walk `dir`: watch (and, when blocking, mark) every directory as it is
/// entered, so that a file made after it is seen by its event and one made
/// before by the walk; queue the files when asked. Returns how many files
/// were queued; an error when `dir` itself cannot be walked.
fn walk(shared: &Shared, dir: &Path, queue: Queue) -> io::Result<u64> {
    let mut files = 0;
    let mut walk = WalkOptions::new()
        .walk([dir.to_owned()])
        .map_err(io::Error::other)?;
    let mut first = true;
    while let Some(entry) = walk.next() {
        if shared.stopped() {
            break;
        }
        match entry {
            Entry::Dir(path) => {
                if shared.skipped(&path) {
                    walk.skip_current_dir();
                    continue;
                }
                let Some(fd) = walk.dir_fd() else { continue };
                if !watch(shared, &path, fd, first && queue == Queue::Fresh) {
                    return Ok(0);
                }
                if let Some(b) = &shared.blocker {
                    b.mark_dir(shared, &path, fd);
                }
            }
            Entry::File(path) if queue != Queue::Nothing => {
                files += 1;
                shared.submit(path, Why::Walked);
            }
            Entry::File(_) | Entry::Other(_) => {}
            Entry::Error(_, e) if first => return Err(e),
            Entry::Error(path, e) => {
                shared.notice(Notice::Error(format!("walking {}: {e}", path.display())));
            }
        }
        first = false;
    }
    Ok(files)
}

/// Add a watch on the directory `fd`; running out of watches is reported
/// once and degrades to periodic rescans. False when `fresh` and it is
/// watched already.
fn watch(shared: &Shared, path: &Path, fd: BorrowedFd<'_>, fresh: bool) -> bool {
    match shared.inotify.add(path, fd, fresh) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return false,
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
            if !shared.degraded.swap(true, Ordering::AcqRel) {
                shared.notice(Notice::WatchLimit {
                    error: limit_message(path),
                });
            }
        }
        // Gone again already: nothing to watch.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => shared.notice(Notice::Error(format!(
            "{}: cannot watch: {e}",
            path.display()
        ))),
    }
    true
}
