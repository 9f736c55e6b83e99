//! Scanning many paths in parallel: one thread walks, worker threads scan
//! batches of paths (large files in pieces on a rayon pool), and the caller's
//! thread receives every event in turn (one writer owns the output).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::bounded;

use super::{FileReport, Limits, ScanError, Scanner, Verdict};
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

/// Per-file scan settings for [`scan_tree`]: `TreeOptions::default()`, then set
/// the fields.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TreeOptions {
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// Report every matching signature.
    pub all_matches: bool,
    /// The limits on scanning one file (default: [`Limits::default`]).
    pub limits: Limits,
    /// Where members too large for memory are spilled (see
    /// [`Scanner::spill_dir`]; default: the system's temporary directory).
    pub spill_dir: Option<std::path::PathBuf>,
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
    // Large files are split into pieces searched on this pool. Its threads do
    // nothing else: a worker that waits for a file's pieces takes no other work
    // meanwhile, so it holds one file (one lease, one buffer) at a time.
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .thread_name(|i| format!("ward-pieces-{i}"))
            .build()?,
    );
    let workers = pool.current_num_threads();
    let stop = AtomicBool::new(false);
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
                    // Not regular: the scanner says what it is, as a skip.
                    Entry::File(p) | Entry::Other(p) => files.push(p),
                    Entry::Dir(p) => others.push(Event::Directory(p)),
                    Entry::Error(path, msg) => others.push(Event::File(R::from(FileReport {
                        path,
                        scanned_bytes: 0,
                        verdict: Verdict::Error(ScanError::Walk(msg.to_string())),
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
        // Workers take batches from the walker, each with a scanner of its own.
        let per_file = &per_file;
        for _ in 0..workers {
            let (work_rx, event_tx, pool) = (work_rx.clone(), event_tx.clone(), Arc::clone(&pool));
            s.spawn(move || {
                let mut sc = Scanner::new(set);
                sc.all_matches(opts.all_matches)
                    .limits(opts.limits)
                    .spill_dir(opts.spill_dir.clone())
                    .split_large(Some(pool));
                for batch in work_rx {
                    let events = batch
                        .iter()
                        .take_while(|_| !stop.load(Ordering::Relaxed))
                        .map(|path| Event::File(per_file(&mut sc, path)))
                        .collect();
                    if event_tx.send(events).is_err() {
                        return;
                    }
                }
            });
        }
        drop((work_rx, event_tx));
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

/// Files per batch: small enough that the last batches still spread over the
/// workers, large enough that channel traffic is negligible.
const BATCH: usize = 32;
