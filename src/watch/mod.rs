//! Real-time protection: watch directory trees and scan files as they are
//! written, quarantining (or reporting) what is found; optionally refuse opens
//! of infected files before they happen.
//!
//! Two backends share one worker pool, one [`Signatures`] set and one
//! [`ScanCache`]:
//!
//! - **inotify** (`watch::inotify`): a watch on every directory; a file is
//!   scanned when it is closed after writing, moved in, or created (a hard
//!   link); a new directory is watched at once and then walked, so files made
//!   in it before its watch existed are found. A lost event (the kernel queue
//!   overflowed, ward's own queue filled) or a directory that could not be
//!   watched (`max_user_watches`) is logged and answered with a rescan of the
//!   trees, never ignored.
//! - **fanotify** (`--block`, `watch::fanotify`): permission events on opens in the
//!   watched trees; an infected file's open is denied, every event is answered
//!   within a deadline, and unchanged files are answered from the cache.
//!
//! Detections go to the threat log ([`crate::journal`]) and to the caller as
//! [`Notice`]s; acting on a file goes through the vault on the very descriptor
//! that was scanned ([`crate::quarantine::Target`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use ward::watch::{Notice, Signatures, WatchOptions};
//!
//! let sigs = Arc::new(Signatures::new(ward::SignatureSet::builtin()));
//! let watcher = WatchOptions::new().root("/srv/upload").start(sigs, "/var/lib/ward".as_ref())?;
//! for notice in watcher.notices() {
//!     if let Notice::Threat(t) = notice {
//!         println!("{}: {}", t.path, t.signatures.join(", "));
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
mod fanotify;
mod inotify;
mod reload;
pub mod status;
mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

pub use crate::journal::{Recorder, Threat, ThreatAction, ThreatLog, ThreatResult};
pub use crate::live::{Loader, Signatures};
pub use cache::{Cached, FileKey, ScanCache};

use crate::{Vault, VaultError};

/// What to do with a file found infected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Move it into the vault (the default).
    #[default]
    Quarantine,
    /// Record and log it; leave it in place.
    Report,
}

/// Settings of the blocking (fanotify) backend.
#[derive(Clone, Debug)]
pub struct BlockOptions {
    deadline: Duration,
    deny_on_error: bool,
    force_root: bool,
    kernel_cache: bool,
}

impl Default for BlockOptions {
    fn default() -> Self {
        BlockOptions {
            deadline: Duration::from_secs(5),
            deny_on_error: false,
            force_root: false,
            kernel_cache: false,
        }
    }
}

impl BlockOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer every permission event within this time (default: 5 s).
    pub fn deadline(&mut self, d: Duration) -> &mut Self {
        self.deadline = d;
        self
    }

    /// On a scan error, a missed deadline or a skipped scan, deny the open
    /// rather than allow it (default: allow).
    pub fn deny_on_error(&mut self, yes: bool) -> &mut Self {
        self.deny_on_error = yes;
        self
    }

    /// Allow blocking on `/` (default: refused).
    pub fn force_root(&mut self, yes: bool) -> &mut Self {
        self.force_root = yes;
        self
    }

    /// Also put clean verdicts into the kernel's ignore mask for the file, so
    /// that reopening it costs no round trip to ward; the kernel drops the
    /// entry on the file's next modification (default: off; writes through a
    /// shared memory mapping do not count as modifications to the kernel).
    pub fn kernel_cache(&mut self, yes: bool) -> &mut Self {
        self.kernel_cache = yes;
        self
    }
}

/// How a watch runs. `WatchOptions::new()` gives the defaults; setters chain.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    roots: Vec<PathBuf>,
    action: Action,
    threads: usize,
    debounce: Duration,
    degraded_rescan: Duration,
    block: Option<BlockOptions>,
    databases: Vec<PathBuf>,
    limits: crate::Limits,
    cache_capacity: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            roots: Vec::new(),
            action: Action::Quarantine,
            threads: 0,
            debounce: Duration::from_millis(50),
            degraded_rescan: Duration::from_secs(60),
            block: None,
            databases: Vec::new(),
            limits: crate::Limits::default(),
            cache_capacity: 1 << 20,
        }
    }
}

impl WatchOptions {
    /// The defaults: no roots, quarantine, workers per core (at most 4).
    pub fn new() -> Self {
        Self::default()
    }

    /// Watch this directory tree; repeatable.
    pub fn root(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.roots.push(path.into());
        self
    }

    /// What to do with infected files (default: [`Action::Quarantine`]).
    pub fn action(&mut self, action: Action) -> &mut Self {
        self.action = action;
        self
    }

    /// Scanning threads (default 0: one per core, at most 4).
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = n;
        self
    }

    /// How long a newly created file (not yet closed) waits before it is
    /// scanned, so that a file still being written is scanned once, at its
    /// close (default: 50 ms).
    pub fn debounce(&mut self, d: Duration) -> &mut Self {
        self.debounce = d;
        self
    }

    /// While some directory could not be watched (the inotify watch limit),
    /// rescan the trees this often (default: 60 s).
    pub fn degraded_rescan(&mut self, d: Duration) -> &mut Self {
        self.degraded_rescan = d;
        self
    }

    /// Also block opens of infected files (fanotify; default: off).
    pub fn block(&mut self, opts: Option<BlockOptions>) -> &mut Self {
        self.block = opts;
        self
    }

    /// Signature files or directories to reload from when they change
    /// (default: none).
    pub fn reload_on_change(&mut self, paths: impl IntoIterator<Item = PathBuf>) -> &mut Self {
        self.databases.extend(paths);
        self
    }

    /// Skip files larger than this (default: no limit).
    pub fn max_filesize(&mut self, limit: Option<u64>) -> &mut Self {
        self.limits.max_filesize = limit;
        self
    }

    /// The limits on scanning one file, containers included (default:
    /// [`crate::Limits::default`]). A time limit here is ignored under
    /// blocking, whose deadline bounds each answer.
    pub fn limits(&mut self, limits: crate::Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Start watching. Verdicts and detections go to `home`'s vault and threat
    /// log. Returns once every root is watched (and, with blocking, marked).
    pub fn start(&self, sigs: Arc<Signatures>, home: &Path) -> Result<Watcher, WatchError> {
        Watcher::start(self.clone(), sigs, home)
    }
}

/// Why a watch could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// Nothing to watch.
    #[error("nothing to watch: give at least one directory")]
    NoRoots,
    /// A root cannot be used.
    #[error("{}: {reason}", path.display())]
    Root {
        /// The root as given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Blocking was asked for on `/`.
    #[error(
        "refusing to block opens on /: every open on the system would wait for ward, \
         including those that start ward itself and those of the system's own services, \
         so a stalled scan would hang the machine; watch the directories that receive \
         untrusted files instead (or pass --force-root if you really mean it)"
    )]
    BlockRoot,
    /// The fanotify backend could not start.
    #[error("cannot block opens (fanotify): {0}")]
    Fanotify(String),
    /// The inotify backend could not start.
    #[error("cannot watch: {0}")]
    Notify(String),
    /// The vault cannot be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The state directory or the threat log cannot be used.
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Something the watcher tells its caller, one line's worth each.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice {
    /// Watching has started.
    Watching {
        /// Roots watched.
        roots: usize,
        /// Whether opens are blocked.
        blocking: bool,
        /// Signatures in the set.
        signatures: usize,
    },
    /// A detection, already in the threat log.
    Threat(Threat),
    /// A file could not be scanned.
    ScanError {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// Events were lost; a rescan of every tree follows.
    Overflow {
        /// Where they were lost.
        what: &'static str,
    },
    /// A directory could not be watched; coverage falls back to periodic rescans.
    WatchLimit {
        /// The error, naming the limit.
        error: String,
    },
    /// A rescan finished.
    Rescanned {
        /// Files looked at (unchanged clean files cost a `stat`).
        files: u64,
        /// How long it took.
        took: Duration,
    },
    /// A new signature set is in use.
    Reloaded {
        /// Signatures in it.
        signatures: usize,
    },
    /// Reloading failed; the previous set is still in use.
    ReloadFailed {
        /// Why.
        error: String,
    },
    /// A permission event was answered by the deadline or on an error, not by
    /// a verdict.
    Unverified {
        /// The file, when known.
        path: PathBuf,
        /// Whether the open was allowed.
        allowed: bool,
        /// Why there was no verdict.
        reason: String,
    },
    /// Any other problem (the watch itself failing somewhere).
    Error(String),
}

/// State shared by every thread of a watch.
pub(crate) struct Shared {
    opts: WatchOptions,
    roots: Vec<PathBuf>,
    sigs: Arc<Signatures>,
    cache: ScanCache,
    vault: Vault,
    /// The threat list and `<home>/events.jsonl`.
    recorder: Recorder,
    notices: Sender<Notice>,
    stop: AtomicBool,
    /// Paths queued or being scanned: `Some` while a scan waits, `None` while
    /// one runs and no new event came.
    queued: Mutex<HashMap<PathBuf, Option<Why>>>,
    work: Sender<PathBuf>,
    walks: Sender<inotify::WalkJob>,
    skip: PathBuf,
    rescan_pending: AtomicBool,
    /// Some directory could not be watched (out of inotify watches): the
    /// trees are rescanned periodically from then on.
    degraded: AtomicBool,
    inotify: inotify::Inotify,
    blocker: Option<Arc<fanotify::Blocker>>,
    /// The allow list as it was when the current signatures were loaded.
    allow_stamp: Mutex<Option<reload::Stamp>>,
}

impl Shared {
    /// Append to the threat log and the event log, and tell the caller; a
    /// failed append is told too.
    fn record(&self, threat: &Threat) {
        for e in self.recorder.record(threat) {
            self.notice(Notice::Error(e));
        }
        self.notice(Notice::Threat(threat.clone()));
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn notice(&self, n: Notice) {
        let _ = self.notices.send(n);
    }

    /// Whether events for `path` are ward's own (the state directory).
    fn skipped(&self, path: &Path) -> bool {
        path.starts_with(&self.skip)
    }

    /// Queue a file for scanning unless it is queued already (a stronger
    /// reason replaces a weaker one while it waits). A file being scanned is
    /// queued again when that scan ends, never scanned twice at once.
    fn submit(&self, path: PathBuf, why: Why) {
        if self.skipped(&path) {
            return;
        }
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        match queued.get_mut(&path) {
            Some(slot) => *slot = Some(slot.map_or(why, |w| w.max(why))),
            None => {
                queued.insert(path.clone(), Some(why));
                drop(queued);
                let _ = self.work.send(path);
            }
        }
    }

    /// A worker takes the file: events from now on queue it again. Returns
    /// why it was queued.
    fn unqueue(&self, path: &Path) -> Why {
        self.queued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(path)
            .and_then(Option::take)
            .unwrap_or(Why::Closed)
    }

    /// A worker is done with the file: queue it again if events came meanwhile.
    fn scanned(&self, path: &Path) {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(queued.get(path), Some(Some(_))) {
            drop(queued);
            let _ = self.work.send(path.to_owned());
        } else {
            queued.remove(path);
        }
    }

    /// Ask for a rescan of every tree, unless one is waiting to start.
    fn request_rescan(&self) {
        if !self.rescan_pending.swap(true, Ordering::AcqRel) {
            let _ = self.walks.send(inotify::WalkJob::Full);
        }
    }
}

/// Why a file is queued for a scan; later variants are stronger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Why {
    /// Created (a hard link, or a file that may still be written): scanned
    /// only when nobody has it open for writing, and skipped when that cannot
    /// be told; its close after writing queues it again.
    Created,
    /// Found by a walk: skipped while open for writing (its close queues it
    /// again), scanned when that cannot be told.
    Walked,
    /// Closed after writing, or moved in: scanned.
    Closed,
}

/// A running watch. Dropping it stops it.
pub struct Watcher {
    shared: Arc<Shared>,
    notices: Receiver<Notice>,
    threads: Vec<JoinHandle<()>>,
    reload: Sender<reload::Trigger>,
    _db_watcher: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("roots", &self.shared.roots)
            .finish()
    }
}

fn spawn(
    name: &str,
    threads: &mut Vec<JoinHandle<()>>,
    f: impl FnOnce() + Send + 'static,
) -> Result<(), WatchError> {
    let h = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(WatchError::Thread)?;
    threads.push(h);
    Ok(())
}

/// Absolute, link-free roots that are directories.
fn resolve_roots(roots: &[PathBuf]) -> Result<Vec<PathBuf>, WatchError> {
    if roots.is_empty() {
        return Err(WatchError::NoRoots);
    }
    roots
        .iter()
        .map(|r| {
            let bad = |reason: String| WatchError::Root {
                path: r.clone(),
                reason,
            };
            let abs = std::fs::canonicalize(r).map_err(|e| bad(e.to_string()))?;
            if !abs.is_dir() {
                return Err(bad("not a directory".into()));
            }
            Ok(abs)
        })
        .collect()
}

impl Watcher {
    fn start(
        opts: WatchOptions,
        sigs: Arc<Signatures>,
        home: &Path,
    ) -> Result<Watcher, WatchError> {
        let roots = resolve_roots(&opts.roots)?;
        if let Some(b) = &opts.block
            && !b.force_root
            && roots.iter().any(|r| r == Path::new("/"))
        {
            return Err(WatchError::BlockRoot);
        }
        let vault = Vault::open(home)?;
        let recorder = Recorder::open(home)?;
        let skip = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_owned());
        let allow_list = skip.join(crate::quarantine::ALLOW_LIST);
        let blocker = match &opts.block {
            Some(b) => Some(Arc::new(
                fanotify::Blocker::new(b.clone()).map_err(WatchError::Fanotify)?,
            )),
            None => None,
        };
        let (notice_tx, notices) = unbounded();
        let (work_tx, work_rx) = unbounded();
        let (walk_tx, walk_rx) = unbounded();
        let shared = Arc::new(Shared {
            cache: ScanCache::new(opts.cache_capacity),
            roots,
            sigs,
            vault,
            recorder,
            notices: notice_tx,
            stop: AtomicBool::new(false),
            queued: Mutex::new(HashMap::new()),
            work: work_tx,
            walks: walk_tx,
            skip,
            rescan_pending: AtomicBool::new(false),
            degraded: AtomicBool::new(false),
            inotify: inotify::Inotify::new()?,
            blocker,
            allow_stamp: Mutex::new(reload::Stamp::of(&allow_list)),
            opts,
        });
        let mut threads = Vec::new();
        if let Some(b) = &shared.blocker {
            // Answer events before marking: marking a large tree takes a
            // while, and opens in the part already marked wait on the answers.
            b.start(&shared, &mut threads)?;
        }
        // One walk of each tree watches (and marks) every directory.
        inotify::start(&shared)?;
        let workers = match shared.opts.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            n => n,
        };
        for i in 0..workers {
            let (s, rx) = (Arc::clone(&shared), work_rx.clone());
            spawn(&format!("ward-scan-{i}"), &mut threads, move || {
                worker::run(&s, &rx)
            })?;
        }
        let s = Arc::clone(&shared);
        spawn("ward-walk", &mut threads, move || {
            inotify::walker(&s, &walk_rx)
        })?;
        let s = Arc::clone(&shared);
        spawn("ward-events", &mut threads, move || inotify::dispatch(&s))?;
        let (reload, db_watcher) = reload::start(&shared, &mut threads)?;
        shared.notice(Notice::Watching {
            roots: shared.roots.len(),
            blocking: shared.blocker.is_some(),
            signatures: shared.sigs.current().1.len(),
        });
        Ok(Watcher {
            shared,
            notices,
            threads,
            reload,
            _db_watcher: db_watcher,
        })
    }

    /// What the watcher reports, as it happens. The channel ends when the
    /// watcher has stopped.
    pub fn notices(&self) -> &Receiver<Notice> {
        &self.notices
    }

    /// The roots, resolved.
    pub fn roots(&self) -> &[PathBuf] {
        &self.shared.roots
    }

    /// Reload the signatures in the background (as on SIGHUP); the outcome
    /// arrives as [`Notice::Reloaded`] or [`Notice::ReloadFailed`].
    pub fn reload(&self) {
        let _ = self.reload.send(reload::Trigger::Now);
    }

    /// Stop every thread and wait for them (each notices within a fraction of
    /// a second). Permission events still pending are allowed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Watcher>();
        check::<Signatures>();
        check::<ScanCache>();
        check::<ThreatLog>();
        check::<Notice>();
        check::<WatchOptions>();
    }
}
