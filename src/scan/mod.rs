//! Scanning: a [`Scanner`] owns one thread's scratch state and matches bytes or
//! files against a shared [`SignatureSet`], producing a [`FileReport`].

mod budget;
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use md5::Digest;

use crate::compile::atoms::MAX_ATOM;
use crate::compile::{Inner, SignatureSet, hashes};
use crate::sig::{HashKind, TargetType};
use budget::Budget;
use filetype::FileType;
use input::{OpenOutcome, SpecialKind};
use layer::Layer;
pub use limits::Limits;
use sparse::Geometry;
use verify::{Memo, Verifier};

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

/// With a time limit, haystacks are searched (and hashed) in pieces of this size,
/// and the clock is read between pieces.
const PIECE: usize = 4 << 20;

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
        let mut out = Vec::new();
        let data = layer.bytes;
        let size = data.len() as u64;
        if layer.whole
            && needs_hash(inner, size)
            && let Some(pool) = self.splitting(data)
        {
            // A large file: its digests and its pieces are computed side by side,
            // and the body matches dropped if the hashes decide.
            let mut budget = self.budget;
            let mut body = Vec::new();
            let (digests, ()) = pool.install(|| {
                rayon::join(
                    || digests_in_parallel(inner, data, &mut budget),
                    || self.body_matches(inner, layer, &mut body),
                )
            });
            if budget.expired() {
                // As in one search: a search that starts after the digests ran
                // out of time finds nothing.
                body.clear();
            }
            self.budget.absorb(&budget);
            if !allowed(inner, size, &digests) {
                hash_matches(inner, size, &digests, &mut out);
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
            true => digests(inner, data, &mut self.budget),
            false => [None, None, None],
        };
        if !allowed(inner, size, &digests) {
            hash_matches(inner, size, &digests, &mut out);
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
            && !needs_hash(&inner, opened.size)
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
        if inner.finder.is_none() {
            return;
        }
        let search = Search::new(inner, layer, self.all_matches);
        if let Some(pool) = self.splitting(layer.bytes) {
            let budget = pool.install(|| search.in_pieces(&self.budget, out));
            self.budget.absorb(&budget);
        } else {
            search.run(&mut self.state, &mut self.budget, 0, layer.bytes.len(), out);
        }
    }
}

/// With [`Scanner::split_large`], files at least this large are searched in
/// pieces of [`SPLIT_PIECE`] in parallel: one large file would otherwise keep
/// one thread busy while the others have finished.
pub const SPLIT_FROM: usize = 4 << 20;

/// The piece size of a parallel search: small enough that a region dense with
/// atom hits (text in a data file) spreads over several threads, large enough
/// that a piece's setup (its own verifier state, one rayon job) is negligible.
pub const SPLIT_PIECE: usize = 1 << 20;

/// One file's matching state: what the verifier has learnt, and which
/// signatures have matched already.
#[derive(Default)]
struct FileState {
    memo: Memo,
    matched: Vec<bool>,
    touched: Vec<u32>,
}

impl FileState {
    fn new(signatures: usize) -> FileState {
        FileState {
            matched: vec![false; signatures],
            ..FileState::default()
        }
    }

    fn reset(&mut self) {
        for &s in &self.touched {
            self.matched[s as usize] = false;
        }
        self.touched.clear();
        self.memo.clear();
    }
}

/// The body-signature search of one layer.
struct Search<'a> {
    inner: &'a Inner,
    data: &'a [u8],
    geom: Geometry,
    ftype: &'a OnceLock<FileType>,
    all_matches: bool,
}

impl<'a> Search<'a> {
    fn new(inner: &'a Inner, layer: &'a Layer<'a>, all_matches: bool) -> Search<'a> {
        Search {
            inner,
            data: layer.bytes,
            geom: layer.geom,
            ftype: &layer.ftype,
            all_matches,
        }
    }

    /// Find and verify the atoms that start in `data[from..to]` (matches may
    /// reach outside it); `false` when it stopped early (first match found, or
    /// the budget ran out). With a deadline, the range is searched piece by
    /// piece and the clock read in between.
    fn run(
        &self,
        st: &mut FileState,
        budget: &mut Budget,
        from: usize,
        to: usize,
        out: &mut Vec<Match>,
    ) -> bool {
        let Some(finder) = &self.inner.finder else {
            return true;
        };
        let data = self.data;
        let step = match budget.limited() {
            true => PIECE,
            false => usize::MAX,
        };
        // Each search runs MAX_ATOM - 1 bytes past its end, so that an atom
        // starting before the end is seen whole; hits that start beyond the end
        // are left to the next piece.
        let mut at = from;
        while at < to {
            if !budget.check() {
                return false;
            }
            let end = at.saturating_add(step).min(to);
            let stop = (end + MAX_ATOM - 1).min(data.len());
            let mut go = true;
            finder.for_each(&data[at..stop], |atom, pos| {
                let pos = at + pos;
                go = pos >= end || self.on_hit(st, budget, atom, pos, out);
                go
            });
            if !go {
                return false;
            }
            at = end;
        }
        true
    }

    /// [`Search::run`] over the whole haystack in [`SPLIT_PIECE`]s on the current
    /// rayon pool, each piece with its own state. The matches are the ones a
    /// single search finds, in the same order: pieces are merged in order, a
    /// signature keeps its first match, and without `all_matches` the first
    /// match of the first piece that has one wins (later pieces stop early).
    /// Returns the budget with `expired` set if any piece ran out of time.
    ///
    /// Under a deadline the pieces race the clock side by side, so a match in
    /// a later piece can be found where one search would have run out of time
    /// before reaching it: the file is then reported infected rather than
    /// timed out, a real match either way.
    fn in_pieces(&self, budget: &Budget, out: &mut Vec<Match>) -> Budget {
        use rayon::prelude::*;
        let pieces = self.data.len().div_ceil(SPLIT_PIECE);
        let first_found = AtomicUsize::new(usize::MAX);
        let found: Vec<(Vec<Match>, Budget)> = (0..pieces)
            .into_par_iter()
            .map(|k| {
                let mut st = FileState::new(self.inner.sigs.len());
                let mut budget = *budget;
                let mut found = Vec::new();
                if self.all_matches || first_found.load(Ordering::Relaxed) > k {
                    let (from, to) = (
                        k * SPLIT_PIECE,
                        ((k + 1) * SPLIT_PIECE).min(self.data.len()),
                    );
                    self.run(&mut st, &mut budget, from, to, &mut found);
                    if !found.is_empty() {
                        first_found.fetch_min(k, Ordering::Relaxed);
                    }
                }
                (found, budget)
            })
            .collect();
        let mut budget = *budget;
        let mut seen = HashSet::new();
        for (matches, b) in found {
            budget.absorb(&b);
            for m in matches {
                if seen.insert(m.name.clone()) {
                    out.push(m);
                }
            }
            if !self.all_matches && !seen.is_empty() {
                break;
            }
        }
        budget
    }

    /// Verify the signatures of `atom` found at `pos`; `false` to stop the search.
    #[inline]
    fn on_hit(
        &self,
        st: &mut FileState,
        budget: &mut Budget,
        atom: u32,
        pos: usize,
        out: &mut Vec<Match>,
    ) -> bool {
        let inner = self.inner;
        let a = atom as usize;
        let (from, to) = (
            inner.owner_start[a] as usize,
            inner.owner_start[a + 1] as usize,
        );
        for owner in &inner.owners[from..to] {
            let s = owner.sig;
            if !owner.window.admits(self.data, pos) || st.matched[s as usize] {
                continue;
            }
            let Some(start) = self.verify(st, budget, s, pos) else {
                if budget.expired() {
                    return false;
                }
                continue;
            };
            st.matched[s as usize] = true;
            st.touched.push(s);
            out.push(Match {
                name: inner.sigs[s as usize].name.clone(),
                kind: MatchKind::Body {
                    offset: start as u64,
                },
            });
            if !self.all_matches {
                return false;
            }
        }
        true
    }

    /// Verify signature `s` around its atom found at `h` (its window fits); the
    /// match start.
    fn verify(&self, st: &mut FileState, budget: &mut Budget, s: u32, h: usize) -> Option<usize> {
        let data = self.data;
        let sig = &self.inner.sigs[s as usize];
        if sig.target != TargetType::Any
            && !self
                .ftype
                .get_or_init(|| FileType::detect(data))
                .fits(sig.target)
        {
            return None;
        }
        let (lo, hi) = self.geom.start_range(sig.offset)?;
        // Quick reject: can a match through this hit start in range?
        let h64 = h as u64;
        if h64 < sig.left.0
            || h64 - sig.left.0 < lo
            || sig.left.1.is_some_and(|m| h64.saturating_sub(m) > hi)
        {
            return None;
        }
        Verifier {
            nodes: &sig.nodes,
            hay: data,
            start_range: (lo as usize, hi as usize),
            trailer: sig.trailer,
            sig: s,
            memo: &mut st.memo,
            budget,
        }
        .at_atom(sig.atom.start, sig.atom.start + sig.atom.len, h)
    }
}

/// The digest of `data`, or `None` when the budget ran out while computing it.
fn digest(kind: HashKind, data: &[u8], budget: &mut Budget) -> Option<Vec<u8>> {
    match kind {
        HashKind::Md5 => digest_with::<md5::Md5>(data, budget),
        HashKind::Sha1 => digest_with::<sha1::Sha1>(data, budget),
        HashKind::Sha256 => digest_with::<sha2::Sha256>(data, budget),
    }
}

fn digest_with<D: Digest>(data: &[u8], budget: &mut Budget) -> Option<Vec<u8>> {
    if !budget.limited() {
        return Some(D::digest(data).to_vec());
    }
    let mut d = D::new();
    for piece in data.chunks(PIECE) {
        if !budget.check() {
            return None;
        }
        d.update(piece);
    }
    Some(d.finalize().to_vec())
}

/// Whether the hash index or the allow list uses `kind` digests of files of `size`.
fn needs_digest(inner: &Inner, kind: HashKind, size: u64) -> bool {
    inner.hashes.needs(kind, size) || inner.allow.needs(kind, size)
}

/// Whether the set has a hash signature or allow-list entry for files of `size`.
fn needs_hash(inner: &Inner, size: u64) -> bool {
    hashes::KINDS.iter().any(|&k| needs_digest(inner, k, size))
}

/// The digests of `data` that the hash index or the allow list can use for a
/// file of its size, each computed once (`None` where not needed, or where the
/// budget ran out).
fn digests(inner: &Inner, data: &[u8], budget: &mut Budget) -> [Option<Vec<u8>>; 3] {
    let size = data.len() as u64;
    hashes::KINDS.map(|k| {
        needs_digest(inner, k, size)
            .then(|| digest(k, data, budget))
            .flatten()
    })
}

/// [`digests`], each digest on its own rayon task.
fn digests_in_parallel(inner: &Inner, data: &[u8], budget: &mut Budget) -> [Option<Vec<u8>>; 3] {
    use rayon::prelude::*;
    let size = data.len() as u64;
    let done: Vec<(Option<Vec<u8>>, Budget)> = hashes::KINDS
        .par_iter()
        .map(|&k| {
            let mut b = *budget;
            let d = needs_digest(inner, k, size).then(|| digest(k, data, &mut b));
            (d.flatten(), b)
        })
        .collect();
    let mut out = [None, None, None];
    for (slot, (d, b)) in out.iter_mut().zip(done) {
        budget.absorb(&b);
        *slot = d;
    }
    out
}

/// Keep the first match of each name (several signatures may carry one name).
fn dedup_names(out: &mut Vec<Match>) {
    if out.len() > 1 {
        let mut seen = HashSet::new();
        out.retain(|m| seen.insert(m.name.clone()));
    }
}

/// Whether the file's hash is on the allow list (`.fp`/`.sfp`).
fn allowed(inner: &Inner, size: u64, digests: &[Option<Vec<u8>>; 3]) -> bool {
    digests
        .iter()
        .flatten()
        .any(|d| inner.allow.lookup(d, size).next().is_some())
}

fn hash_matches(inner: &Inner, size: u64, digests: &[Option<Vec<u8>>; 3], out: &mut Vec<Match>) {
    for (&kind, d) in hashes::KINDS.iter().zip(digests) {
        if let Some(d) = d.as_ref().filter(|_| inner.hashes.needs(kind, size)) {
            out.extend(inner.hashes.lookup(d, size).map(|name| Match {
                name: name.clone(),
                kind: MatchKind::Hash { hash: kind },
            }));
        }
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
