//! Reloading signatures while watching: on request (SIGHUP) at once, and when
//! a database file changes after it has been quiet for a moment (an editor or
//! an update tool writes in several steps). The new set is compiled on this
//! thread while the workers go on with the old one.

use std::path::PathBuf;
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

fn reload(shared: &Shared) {
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

/// Watch each database: a directory recursively, a file through its parent
/// directory (update tools and editors replace files by renaming).
fn watch_databases(shared: &Shared, tx: Sender<Trigger>) -> Option<notify::RecommendedWatcher> {
    if shared.opts.databases.is_empty() {
        return None;
    }
    let dbs: Vec<PathBuf> = shared
        .opts
        .databases
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
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
