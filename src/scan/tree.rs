//! Scanning many paths in parallel: one thread walks, one hands batches of paths
//! to a rayon pool as jobs, and the caller's thread receives every event in turn
//! (one writer owns the output).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::bounded;

use super::{FileReport, ScanError, Scanner, Verdict};
use crate::SignatureSet;
use crate::walk::{Entry, Walk};

/// What [`scan_tree`] (or [`scan_tree_with`]) reports to its callback.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<R = FileReport> {
    /// A directory was entered.
    Directory(PathBuf),
    /// A file was scanned (or skipped, or failed).
    File(R),
}

/// Per-file scan settings for [`scan_tree`].
#[derive(Clone, Debug, Default)]
pub struct TreeOptions {
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// Report every matching signature.
    pub all_matches: bool,
    /// Skip files larger than this.
    pub max_filesize: Option<u64>,
    /// Give up on (and report as skipped) a file whose scan takes longer.
    pub max_scantime: Option<std::time::Duration>,
}

/// Scan everything `walk` yields in parallel, calling `on_event` on the calling
/// thread for each directory and file. Returning `ControlFlow::Break` from the
/// callback stops the scan soon after.
pub fn scan_tree(
    set: &SignatureSet,
    walk: Walk,
    opts: &TreeOptions,
    on_event: impl FnMut(Event) -> ControlFlow<()>,
) -> Result<(), rayon::ThreadPoolBuildError> {
    scan_tree_with(set, walk, opts, |sc, path| sc.scan_file(path), on_event)
}

/// [`scan_tree`] with the per-file work chosen by the caller: `per_file` runs
/// on the worker threads with that thread's [`Scanner`] and returns what the
/// callback receives (for example a scan followed by an action on the same
/// descriptor, see [`crate::quarantine::Vault::scan_and_quarantine`]). Walk
/// errors reach the callback converted from a [`FileReport`].
pub fn scan_tree_with<R: From<FileReport> + Send>(
    set: &SignatureSet,
    walk: Walk,
    opts: &TreeOptions,
    per_file: impl Fn(&mut Scanner, &Path) -> R + Sync,
    mut on_event: impl FnMut(Event<R>) -> ControlFlow<()>,
) -> Result<(), rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    let stop = AtomicBool::new(false);
    let threads = pool.current_num_threads();
    let stash = Stash {
        per_thread: (0..threads).map(|_| Mutex::new(Vec::new())).collect(),
        make: || {
            let mut sc = Scanner::new(set);
            sc.all_matches(opts.all_matches)
                .max_filesize(opts.max_filesize)
                .max_scantime(opts.max_scantime)
                .split_large(true);
            sc
        },
    };
    // Paths and events travel in batches: one channel operation (and at most one
    // wake-up) per batch instead of per file.
    let (work_tx, work_rx) = bounded::<Vec<PathBuf>>(64);
    let (event_tx, event_rx) = bounded::<Vec<Event<R>>>(64);
    std::thread::scope(|s| {
        let walk_events = event_tx.clone();
        let stop = &stop;
        s.spawn(move || {
            let mut files = Vec::with_capacity(BATCH);
            let mut others = Vec::new();
            for entry in walk {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match entry {
                    Entry::File(p) => files.push(p),
                    Entry::Dir(p) => others.push(Event::Directory(p)),
                    Entry::Error(path, msg) => others.push(Event::File(R::from(FileReport {
                        path,
                        scanned_bytes: 0,
                        verdict: Verdict::Error(ScanError::Walk(msg)),
                    }))),
                }
                if others.len() >= BATCH && walk_events.send(std::mem::take(&mut others)).is_err() {
                    return;
                }
                if files.len() >= BATCH
                    && work_tx
                        .send(std::mem::replace(&mut files, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
            }
            let _ = walk_events.send(others);
            let _ = work_tx.send(files);
        });
        // Each batch is a job on the pool. A pool thread that waits for the
        // pieces of a large file steals other jobs meanwhile: pieces first,
        // then new batches. At most `4 * threads` batches are queued, so a huge
        // tree is not held in memory.
        let per_file = &per_file;
        let stash = &stash;
        s.spawn(move || {
            let (slot_tx, slot_rx) = bounded::<()>(4 * threads);
            let (event_tx, slot_rx) = (&event_tx, &slot_rx);
            pool.in_place_scope(|jobs| {
                for batch in work_rx {
                    if stop.load(Ordering::Relaxed) || slot_tx.send(()).is_err() {
                        break;
                    }
                    jobs.spawn(move |_| {
                        // Frees the batch's place when done, or if it panics.
                        let place = Place(slot_rx);
                        let mut sc = stash.take();
                        let events = batch
                            .iter()
                            .take_while(|_| !stop.load(Ordering::Relaxed))
                            .map(|path| Event::File(per_file(&mut sc, path)))
                            .collect();
                        stash.put(sc);
                        drop(place);
                        let _ = event_tx.send(events);
                    });
                }
            });
        });
        'events: for batch in event_rx {
            for ev in batch {
                if on_event(ev).is_break() {
                    stop.store(true, Ordering::Relaxed);
                    break 'events;
                }
            }
        }
        // Draining is not needed: dropping the receiver makes further sends fail.
    });
    Ok(())
}

/// A queued batch's place among the `4 * threads` allowed; given back when
/// dropped.
struct Place<'a>(&'a crossbeam_channel::Receiver<()>);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let _ = self.0.recv();
    }
}

/// Scanners kept per pool thread, so that their buffers stay warm. A thread
/// that runs a second batch while its first waits (see `scan_tree_with`) takes
/// a second scanner.
struct Stash<M> {
    per_thread: Vec<Mutex<Vec<Scanner>>>,
    make: M,
}

impl<M: Fn() -> Scanner> Stash<M> {
    fn slot(&self) -> &Mutex<Vec<Scanner>> {
        let i = rayon::current_thread_index().unwrap_or(0);
        &self.per_thread[i % self.per_thread.len()]
    }

    fn take(&self) -> Scanner {
        let spare = self.slot().lock().ok().and_then(|mut v| v.pop());
        spare.unwrap_or_else(&self.make)
    }

    fn put(&self, sc: Scanner) {
        if let Ok(mut v) = self.slot().lock() {
            v.push(sc);
        }
    }
}

/// Files per batch: small enough that the last batches still spread over the
/// workers, large enough that channel traffic is negligible.
const BATCH: usize = 32;
