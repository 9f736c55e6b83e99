//! Scanning: a [`Scanner`] owns one thread's scratch state and matches bytes or
//! files against a shared [`SignatureSet`], producing a [`FileReport`].

mod budget;
mod engine;
pub(crate) mod filetype;
pub mod input;
mod layer;
mod limits;
#[allow(unsafe_code)]
pub(crate) mod mmap;
pub(crate) mod sparse;
pub mod tree;
mod verify;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::compile::{Inner, SignatureSet};
use crate::sig::HashKind;
use budget::Budget;
pub use engine::SPLIT_PIECE;
use engine::{Engine, FileState};
use input::{OpenOutcome, SpecialKind};
use layer::Layer;
pub use limits::Limits;

/// How a signature matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchKind {
    /// A body signature, starting at `offset`.
    Body {
        /// Offset of the first byte of the match.
        offset: u64,
    },
    /// A hash signature.
    Hash {
        /// The digest that matched.
        hash: HashKind,
    },
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// Signature name, exactly as in the database.
    pub name: Arc<str>,
    /// How it matched.
    pub kind: MatchKind,
}

/// Why a file was not scanned. A skipped file is never reported as clean.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not a regular file.
    Special(SpecialKind),
    /// Larger than `--max-filesize`.
    TooLarge {
        /// The file's size (for a file that reports size 0, such as those in
        /// `/proc`, at least this much was read).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Its scan took longer than `--max-scantime`.
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// Larger than [`input::MAX_READ`] and could not be memory-mapped (no lease
    /// could be had), so it would have to be read into memory whole.
    TooLargeToRead {
        /// The file's size (or at least this much, for one that reports size 0).
        size: u64,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Special(k) => write!(f, "Not a regular file ({})", k.as_str()),
            SkipReason::TooLarge { size, limit } => {
                write!(f, "Size {size} exceeds max-filesize {limit}")
            }
            SkipReason::Timeout { limit } => {
                write!(f, "Scan time exceeds max-scantime {limit:?}")
            }
            SkipReason::TooLargeToRead { size } => write!(
                f,
                "Size {size} exceeds the read limit {} and the file cannot be mapped",
                input::MAX_READ
            ),
        }
    }
}

/// Why a file could not be scanned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// `open` or `fstat` failed.
    #[error("can't open: {0}")]
    Open(#[source] io::Error),
    /// Reading failed.
    #[error("can't read: {0}")]
    Read(#[source] io::Error),
    /// Walking the directory tree failed here.
    #[error("{0}")]
    Walk(String),
}

/// The verdict on one file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Scanned; nothing found.
    Clean,
    /// Scanned; signatures matched (at least one).
    Infected(Vec<Match>),
    /// Not scanned, and why.
    Skipped(SkipReason),
    /// Not scanned because of an error.
    Error(ScanError),
}

/// The result of scanning one file.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileReport {
    /// The path as given or found by the walk.
    pub path: PathBuf,
    /// Bytes scanned (0 when not scanned).
    pub scanned_bytes: u64,
    /// The verdict.
    pub verdict: Verdict,
}

impl FileReport {
    /// Whether something was found.
    pub fn is_infected(&self) -> bool {
        matches!(self.verdict, Verdict::Infected(_))
    }
}

/// Per-thread scanning state over a shared [`SignatureSet`].
///
/// Cheap to create; reuse one per thread to keep its buffers warm.
pub struct Scanner {
    set: SignatureSet,
    all_matches: bool,
    limits: Limits,
    allow_mmap: bool,
    pieces: Option<Arc<rayon::ThreadPool>>,
    buf: Vec<u8>,
    state: FileState,
    /// The time limit of the file being scanned.
    budget: Budget,
}

/// Buffers larger than this are released after use rather than kept per thread.
const KEEP_BUFFER: usize = 64 << 20;

impl Scanner {
    /// A scanner with defaults: first match only, no size limit, mmap allowed.
    pub fn new(set: &SignatureSet) -> Scanner {
        Scanner {
            state: FileState::new(set.inner.sigs.len()),
            set: set.clone(),
            all_matches: false,
            limits: Limits::new(),
            allow_mmap: true,
            pieces: None,
            buf: Vec::new(),
            budget: Budget::default(),
        }
    }

    /// Report every matching signature rather than stopping at the first (default: off).
    pub fn all_matches(&mut self, yes: bool) -> &mut Self {
        self.all_matches = yes;
        self
    }

    /// The limits on scanning one file (default: [`Limits::new`], none).
    /// They apply to [`Scanner::scan_file`] and [`Scanner::scan_opened`].
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Skip files larger than this (default: no limit); [`Limits::max_filesize`].
    pub fn max_filesize(&mut self, limit: Option<u64>) -> &mut Self {
        self.limits.max_filesize(limit);
        self
    }

    /// Give up on a file whose scan takes longer than this; it is reported as
    /// [`SkipReason::Timeout`], never as clean (default: no limit). Applies to
    /// [`Scanner::scan_file`] and [`Scanner::scan_opened`];
    /// [`Limits::max_scantime`].
    pub fn max_scantime(&mut self, limit: Option<Duration>) -> &mut Self {
        self.limits.max_scantime(limit);
        self
    }

    /// Allow memory-mapping large files under a lease (default: on).
    pub fn mmap(&mut self, yes: bool) -> &mut Self {
        self.allow_mmap = yes;
        self
    }

    /// Search files of 4 MiB and more in 1 MiB pieces in parallel on `pool`
    /// (default: none). The matches are those of one search; a large file then
    /// no longer keeps one thread busy while the others wait. The calling
    /// thread waits for the pieces and does nothing else meanwhile (it should
    /// not be one of `pool`'s threads, or it would take other work of the pool
    /// while it waits). [`tree::scan_tree`] scans with a pool of its own.
    pub fn split_large(&mut self, pool: Option<Arc<rayon::ThreadPool>>) -> &mut Self {
        self.pieces = pool;
        self
    }

    /// The signature set.
    pub fn signatures(&self) -> &SignatureSet {
        &self.set
    }

    /// Scan a byte string as if it were a whole file (no time limit).
    pub fn scan_bytes(&mut self, data: &[u8]) -> Vec<Match> {
        self.budget = Budget::new(None);
        let inner = Arc::clone(&self.set.inner);
        self.scan_hay(&inner, &Layer::whole(data))
    }

    /// Match a layer: hashes (when it is whole), then body signatures. A name is
    /// reported once even when several signatures carry it.
    fn scan_hay(&mut self, inner: &Inner, layer: &Layer) -> Vec<Match> {
        let engine = Engine::new(inner);
        let mut out = Vec::new();
        let data = layer.bytes;
        let size = data.len() as u64;
        if layer.whole
            && engine.needs_hash(size)
            && let Some(pool) = self.splitting(data)
        {
            // A large file: its digests and its pieces are computed side by side,
            // and the body matches dropped if the hashes decide.
            let mut budget = self.budget;
            let mut body = Vec::new();
            let (digests, ()) = pool.install(|| {
                rayon::join(
                    || engine.digests_in_parallel(data, &mut budget),
                    || self.body_matches(inner, layer, &mut body),
                )
            });
            if budget.expired() {
                // As in one search: a search that starts after the digests ran
                // out of time finds nothing.
                body.clear();
            }
            self.budget.absorb(&budget);
            if !engine.allowed(size, &digests) {
                engine.hash_matches(size, &digests, &mut out);
                if self.all_matches {
                    out.append(&mut body);
                } else if out.is_empty() {
                    out = body;
                } else {
                    out.truncate(1);
                }
            }
            self.reset();
            dedup_names(&mut out);
            return out;
        }
        let digests = match layer.whole {
            true => engine.digests(data, &mut self.budget),
            false => [None, None, None],
        };
        if !engine.allowed(size, &digests) {
            engine.hash_matches(size, &digests, &mut out);
            if !self.all_matches {
                // First match only, even when several hash signatures match.
                out.truncate(1);
            }
            if out.is_empty() || self.all_matches {
                self.body_matches(inner, layer, &mut out);
            }
        }
        self.reset();
        dedup_names(&mut out);
        out
    }

    /// The pool that searches `data` in pieces, if it is to be split.
    fn splitting(&self, data: &[u8]) -> Option<Arc<rayon::ThreadPool>> {
        self.pieces.clone().filter(|_| data.len() >= SPLIT_FROM)
    }

    /// The verdict for what a scan found, given whether its budget ran out.
    fn verdict(&self, matches: Vec<Match>) -> Verdict {
        if !matches.is_empty() {
            Verdict::Infected(matches)
        } else if self.budget.expired() {
            let limit = self.limits.max_scantime.unwrap_or_default();
            Verdict::Skipped(SkipReason::Timeout { limit })
        } else {
            Verdict::Clean
        }
    }

    /// Open, read and scan a file.
    pub fn scan_file(&mut self, path: &Path) -> FileReport {
        match input::open(path) {
            Ok(OpenOutcome::Regular(opened)) => self.scan_opened(&opened, path),
            Ok(OpenOutcome::Special(k)) => FileReport {
                path: path.to_owned(),
                scanned_bytes: 0,
                verdict: Verdict::Skipped(SkipReason::Special(k)),
            },
            Err(e) => FileReport {
                path: path.to_owned(),
                scanned_bytes: 0,
                verdict: Verdict::Error(ScanError::Open(e)),
            },
        }
    }

    /// Scan a file the caller has already opened (for example through
    /// [`crate::quarantine::Target::open`], so that what is scanned is exactly
    /// the descriptor that is acted on afterwards). `path` is only reported.
    pub fn scan_opened(&mut self, opened: &input::Opened, path: &Path) -> FileReport {
        let report = |scanned_bytes, verdict| FileReport {
            path: path.to_owned(),
            scanned_bytes,
            verdict,
        };
        if let Some(limit) = self.limits.max_filesize
            && opened.size > limit
        {
            let size = opened.size;
            return report(0, Verdict::Skipped(SkipReason::TooLarge { size, limit }));
        }
        self.budget = Budget::new(self.limits.max_scantime.map(|d| Instant::now() + d));
        let inner = Arc::clone(&self.set.inner);
        if sparse::candidate(&opened.file, opened.size, &inner.sparse)
            && !Engine::new(&inner).needs_hash(opened.size)
        {
            match sparse::build(&opened.file, opened.size, &inner.sparse, &mut self.budget) {
                Ok(Some(view)) => {
                    let (n, verdict) = self.scan_view(&inner, &view);
                    return report(n, verdict);
                }
                Ok(None) if self.budget.expired() => {
                    return report(0, self.verdict(vec![]));
                }
                Ok(None) => {}
                Err(e) => return report(0, Verdict::Error(ScanError::Read(e))),
            }
        }
        let limit = self.limits.max_filesize.unwrap_or(u64::MAX);
        let mut buf = std::mem::take(&mut self.buf);
        let (n, verdict) = match input::load(opened, &mut buf, limit, self.allow_mmap) {
            Ok(data) => {
                let bytes = data.bytes();
                let n = bytes.len() as u64;
                if n > limit {
                    // Only a file that reported size 0 gets here (`load` reads one
                    // byte more than allowed to tell).
                    (0, Verdict::Skipped(SkipReason::TooLarge { size: n, limit }))
                } else if n > input::MAX_READ && matches!(data, input::Data::Buffer(_)) {
                    // Read (a file that reported size 0), not mapped: a mapped
                    // file of any size is scanned.
                    (0, Verdict::Skipped(SkipReason::TooLargeToRead { size: n }))
                } else {
                    let m = self.scan_hay(&inner, &Layer::whole(bytes));
                    (n, self.verdict(m))
                }
            }
            Err(e) if e.kind() == io::ErrorKind::FileTooLarge => (
                0,
                Verdict::Skipped(SkipReason::TooLargeToRead { size: opened.size }),
            ),
            Err(e) => (0, Verdict::Error(ScanError::Read(e))),
        };
        if buf.len() > KEEP_BUFFER {
            buf = Vec::new();
        }
        self.buf = buf;
        report(n, verdict)
    }

    /// Scan a sparse file's compact view; offsets are reported as real ones.
    fn scan_view(&mut self, inner: &Inner, view: &sparse::View) -> (u64, Verdict) {
        let layer = Layer::sparse(view);
        let mut m = self.scan_hay(inner, &layer);
        for x in &mut m {
            if let MatchKind::Body { offset } = &mut x.kind {
                *offset = layer.real_offset(*offset);
            }
        }
        (view.geom.view_len, self.verdict(m))
    }

    fn reset(&mut self) {
        self.state.reset();
    }

    fn body_matches(&mut self, inner: &Inner, layer: &Layer, out: &mut Vec<Match>) {
        let pool = self.splitting(layer.bytes);
        Engine::new(inner).body(
            layer,
            &mut self.state,
            &mut self.budget,
            self.all_matches,
            pool.as_deref(),
            out,
        );
    }
}

/// With [`Scanner::split_large`], files at least this large are searched in
/// pieces of [`SPLIT_PIECE`] in parallel: one large file would otherwise keep
/// one thread busy while the others have finished.
pub const SPLIT_FROM: usize = 4 << 20;

/// Keep the first match of each name (several signatures may carry one name).
fn dedup_names(out: &mut Vec<Match>) {
    if out.len() > 1 {
        let mut seen = HashSet::new();
        out.retain(|m| seen.insert(m.name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_and_set_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<SignatureSet>();
        check::<Scanner>();
        check::<FileReport>();
        check::<crate::sig::Database>();
    }
}
