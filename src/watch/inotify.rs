//! The inotify backend (through `notify`): which events lead to a scan, new
//! directories, lost events and the watch limit.
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
//! - A lost event (`IN_Q_OVERFLOW`, reported by `notify` as `Flag::Rescan`, or
//!   ward's own event queue full) leads to a rescan of every tree. Unchanged
//!   files that were scanned before cost one `stat` there ([`super::cache`]).
//! - Running out of watches (`max_user_watches`) is reported, and from then on
//!   the trees are also rescanned periodically: slower, but never blind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{Config, EventKind, RecursiveMode, Watcher as _};

use super::{Notice, Shared, WatchError, Why};

/// Events waiting for the dispatcher; when full, events are counted as lost
/// and a rescan follows.
const EVENT_QUEUE: usize = 1 << 16;
/// How often the dispatcher looks at the stop flag when idle.
const TICK: Duration = Duration::from_millis(100);

/// Work for the walking thread.
#[derive(Debug)]
pub(crate) enum WalkJob {
    /// A directory appeared: watch it, then queue what it holds.
    NewDir(PathBuf),
    /// Queue every file in every tree.
    Full,
}

/// What the dispatcher receives from `notify`'s thread.
pub(crate) struct Events {
    rx: Receiver<notify::Result<notify::Event>>,
    lost: Arc<AtomicBool>,
}

/// Watch every root recursively. A root that cannot be watched fails the
/// start, except for the watch limit, which degrades to periodic rescans.
pub(crate) fn start(shared: &Arc<Shared>) -> Result<Events, WatchError> {
    let (tx, rx) = bounded(EVENT_QUEUE);
    let lost = Arc::new(AtomicBool::new(false));
    let lost_in = Arc::clone(&lost);
    let handler = move |ev| {
        if tx.try_send(ev).is_err() {
            lost_in.store(true, Ordering::Relaxed);
        }
    };
    let config = Config::default().with_follow_symlinks(false);
    let mut w = notify::RecommendedWatcher::new(handler, config)
        .map_err(|e| WatchError::Notify(e.to_string()))?;
    for root in &shared.roots {
        match w.watch(root, RecursiveMode::Recursive) {
            Ok(()) => {}
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                lost.store(true, Ordering::Relaxed);
                shared.degraded.store(true, Ordering::Release);
                shared.notice(Notice::WatchLimit {
                    error: limit_message(&e),
                });
            }
            Err(e) => return Err(WatchError::Notify(format!("{}: {e}", root.display()))),
        }
    }
    *shared.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
    Ok(Events { rx, lost })
}

fn limit_message(e: &notify::Error) -> String {
    let max = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    let at = e
        .paths
        .first()
        .map(|p| format!(" at {}", p.display()))
        .unwrap_or_default();
    format!(
        "out of inotify watches{at} (fs.inotify.max_user_watches = {max}): directories \
         past the limit are not watched; rescanning every tree periodically instead \
         (raise the limit with sysctl fs.inotify.max_user_watches=N and restart)"
    )
}

/// The dispatcher: turns events into scans and walks until stopped.
pub(crate) fn dispatch(shared: &Arc<Shared>, events: &Events) {
    let mut created: HashMap<PathBuf, Instant> = HashMap::new();
    let mut degraded: Option<Instant> = None;
    while !shared.stopped() {
        let wait = created.values().min().map_or(TICK, |due| {
            due.saturating_duration_since(Instant::now()).min(TICK)
        });
        match events.rx.recv_timeout(wait) {
            Ok(ev) => handle(shared, ev, &mut created),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        created.retain(|path, due| {
            let keep = *due > now;
            if !keep {
                shared.submit(path.clone(), Why::Created);
            }
            keep
        });
        if events.lost.swap(false, Ordering::Relaxed) {
            shared.notice(Notice::Overflow {
                what: "ward's event queue",
            });
            shared.request_rescan();
        }
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

/// One event.
fn handle(
    shared: &Shared,
    ev: notify::Result<notify::Event>,
    created: &mut HashMap<PathBuf, Instant>,
) {
    let ev = match ev {
        Ok(ev) => ev,
        Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
            shared.degraded.store(true, Ordering::Release);
            shared.notice(Notice::WatchLimit {
                error: limit_message(&e),
            });
            shared.request_rescan();
            return;
        }
        Err(e) => {
            shared.notice(Notice::Error(format!("inotify: {e}")));
            return;
        }
    };
    if ev.need_rescan() {
        shared.notice(Notice::Overflow {
            what: "the kernel's inotify queue",
        });
        shared.request_rescan();
        return;
    }
    let Some(path) = ev.paths.first() else {
        return;
    };
    if shared.skipped(path) {
        return;
    }
    match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            created.remove(path);
            shared.submit(path.clone(), Why::Closed);
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            created.remove(path);
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => {
                    let _ = shared.walks.send(WalkJob::NewDir(path.clone()));
                }
                _ => shared.submit(path.clone(), Why::Closed),
            }
        }
        EventKind::Create(CreateKind::Folder) => {
            let _ = shared.walks.send(WalkJob::NewDir(path.clone()));
        }
        EventKind::Create(_) => {
            created.insert(path.clone(), Instant::now() + shared.opts.debounce);
        }
        _ => {}
    }
}

/// The walking thread: new directories and full rescans.
pub(crate) fn walker(shared: &Arc<Shared>, jobs: &Receiver<WalkJob>) {
    while !shared.stopped() {
        match jobs.recv_timeout(TICK) {
            Ok(WalkJob::NewDir(dir)) => {
                add_watch(shared, &dir);
                walk(shared, &dir);
            }
            Ok(WalkJob::Full) => {
                shared.rescan_pending.store(false, Ordering::Release);
                let start = Instant::now();
                let files = shared.roots.iter().map(|r| walk(shared, r)).sum();
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

/// Make sure `dir` (and what is below it) is watched before it is walked;
/// `notify` adds the watch itself too, but only after passing on the event.
fn add_watch(shared: &Shared, dir: &Path) {
    let mut guard = shared.watcher.lock().unwrap_or_else(|p| p.into_inner());
    let Some(w) = guard.as_mut() else { return };
    match w.watch(dir, RecursiveMode::Recursive) {
        Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
            drop(guard);
            shared.degraded.store(true, Ordering::Release);
            shared.notice(Notice::WatchLimit {
                error: limit_message(&e),
            });
            shared.request_rescan();
        }
        // Gone again already, or not a directory after all: nothing to watch.
        _ => {}
    }
}

/// Queue every file below `dir` (marking directories when blocking); returns
/// how many files were queued.
fn walk(shared: &Shared, dir: &Path) -> u64 {
    let mut files = 0;
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !shared.skipped(e.path()));
    for entry in walk {
        if shared.stopped() {
            break;
        }
        match entry {
            Ok(e) if e.file_type().is_dir() => {
                if let Some(b) = &shared.blocker {
                    b.mark_dir(shared, e.path());
                }
            }
            Ok(e) if e.file_type().is_file() => {
                files += 1;
                shared.submit(e.into_path(), Why::Walked);
            }
            Ok(_) => {}
            Err(e) if e.io_error().map(|io| io.kind()) == Some(std::io::ErrorKind::NotFound) => {}
            Err(e) => shared.notice(Notice::Error(format!("walking: {e}"))),
        }
    }
    files
}
