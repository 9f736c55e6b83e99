//! Reloading signatures while watching: on request (SIGHUP) at once, and when
//! a database file changes after it has been quiet for a moment (an editor or
//! an update tool writes in several steps). The new set is compiled on this
//! thread while the workers go on with the old one.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, unbounded};
use notify::{Config, RecursiveMode, Watcher as _};

use super::{Notice, Shared, WatchError, spawn};

/// How long a changed database must stay unchanged before it is reloaded.
const SETTLE: Duration = Duration::from_millis(300);

/// Why to reload.
pub(crate) enum Trigger {
    /// Asked for (SIGHUP): now.
    Now,
    /// A database file changed: once it settles.
    Changed,
}

/// Start the reloading thread and, when databases were named, a watch on them.
pub(crate) fn start(
    shared: &Arc<Shared>,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<(Sender<Trigger>, Option<notify::RecommendedWatcher>), WatchError> {
    let (tx, rx) = unbounded();
    let db_watcher = watch_databases(shared, tx.clone());
    let s = Arc::clone(shared);
    spawn("ward-reload", threads, move || {
        let mut due: Option<Instant> = None;
        while !s.stopped() {
            let wait = due.map_or(Duration::from_millis(100), |d| {
                d.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100))
            });
            match rx.recv_timeout(wait) {
                Ok(Trigger::Now) => {
                    due = None;
                    reload(&s);
                }
                Ok(Trigger::Changed) => due = Some(Instant::now() + SETTLE),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if due.is_some_and(|d| d <= Instant::now()) {
                due = None;
                reload(&s);
            }
        }
    })?;
    Ok((tx, db_watcher))
}

/// When a file was last changed, as far as telling a new version goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The file's stamp, or `None` when it is not there.
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The home's allow list.
fn allow_list(shared: &Shared) -> PathBuf {
    shared.skip.join(crate::quarantine::ALLOW_LIST)
}

/// Whether the allow list changed since the current signatures were loaded.
pub(crate) fn allow_list_changed(shared: &Shared) -> bool {
    let now = Stamp::of(&allow_list(shared));
    *shared.allow_stamp.lock().unwrap_or_else(|p| p.into_inner()) != now
}

/// Reload now, on this thread.
pub(crate) fn reload(shared: &Shared) {
    // Taken before loading: the new set holds at least this version.
    let stamp = Stamp::of(&allow_list(shared));
    *shared.allow_stamp.lock().unwrap_or_else(|p| p.into_inner()) = stamp;
    match shared.sigs.reload() {
        Ok(n) => {
            if let Some(b) = &shared.blocker {
                b.signatures_changed(shared);
            }
            shared.notice(Notice::Reloaded { signatures: n });
        }
        Err(error) => shared.notice(Notice::ReloadFailed { error }),
    }
}

/// Watch each database and the home's allow list (which `quarantine restore
/// --allow` appends to): a directory recursively, a file through its parent
/// directory (update tools and editors replace files by renaming).
fn watch_databases(shared: &Shared, tx: Sender<Trigger>) -> Option<notify::RecommendedWatcher> {
    let dbs: Vec<PathBuf> = shared
        .opts
        .databases
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .chain([allow_list(shared)])
        .collect();
    let wanted = dbs.clone();
    let handler = move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        let relevant = matches!(
            ev.kind,
            notify::EventKind::Create(_)
                | notify::EventKind::Modify(_)
                | notify::EventKind::Remove(_)
                | notify::EventKind::Access(notify::event::AccessKind::Close(
                    notify::event::AccessMode::Write
                ))
        );
        if relevant
            && ev
                .paths
                .iter()
                .any(|p| wanted.iter().any(|d| p.starts_with(d)))
        {
            let _ = tx.send(Trigger::Changed);
        }
    };
    let mut w = match notify::RecommendedWatcher::new(handler, Config::default()) {
        Ok(w) => w,
        Err(e) => {
            shared.notice(Notice::Error(format!("cannot watch the databases: {e}")));
            return None;
        }
    };
    for db in &dbs {
        let (target, mode) = if db.is_dir() {
            (db.as_path(), RecursiveMode::Recursive)
        } else {
            (db.parent().unwrap_or(db), RecursiveMode::NonRecursive)
        };
        if let Err(e) = w.watch(target, mode) {
            shared.notice(Notice::Error(format!(
                "{}: cannot watch for changes: {e}",
                db.display()
            )));
        }
    }
    Some(w)
}
