//! Scanning: a [`Scanner`] owns one thread's scratch state and matches bytes or
//! files against a shared [`SignatureSet`], producing a [`FileReport`].

pub mod filetype;
pub mod input;
mod mmap;
pub mod tree;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::Digest as _;

use crate::compile::verify::{Memo, Verifier};
use crate::compile::{Inner, SignatureSet, hashes};
use crate::sig::{HashKind, TargetType};
use filetype::FileType;
use input::{OpenOutcome, SpecialKind};

/// How a signature matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
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
        #[serde(serialize_with = "ser_hash_kind")]
        hash: HashKind,
    },
}

fn ser_hash_kind<S: serde::Serializer>(k: &HashKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Eq)]
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
        /// The file's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Special(k) => write!(f, "Not a regular file ({})", k.as_str()),
            SkipReason::TooLarge { size, limit } => {
                write!(f, "Size {size} exceeds max-filesize {limit}")
            }
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
    max_filesize: Option<u64>,
    allow_mmap: bool,
    buf: Vec<u8>,
    memo: Memo,
    matched: Vec<bool>,
    touched: Vec<u32>,
}

/// Buffers larger than this are released after use rather than kept per thread.
const KEEP_BUFFER: usize = 64 << 20;

impl Scanner {
    /// A scanner with defaults: first match only, no size limit, mmap allowed.
    pub fn new(set: &SignatureSet) -> Scanner {
        Scanner {
            matched: vec![false; set.inner.sigs.len()],
            set: set.clone(),
            all_matches: false,
            max_filesize: None,
            allow_mmap: true,
            buf: Vec::new(),
            memo: Memo::default(),
            touched: Vec::new(),
        }
    }

    /// Report every matching signature rather than stopping at the first (default: off).
    pub fn all_matches(&mut self, yes: bool) -> &mut Self {
        self.all_matches = yes;
        self
    }

    /// Skip files larger than this (default: no limit).
    pub fn max_filesize(&mut self, limit: Option<u64>) -> &mut Self {
        self.max_filesize = limit;
        self
    }

    /// Allow memory-mapping large files under a lease (default: on).
    pub fn mmap(&mut self, yes: bool) -> &mut Self {
        self.allow_mmap = yes;
        self
    }

    /// The signature set.
    pub fn signatures(&self) -> &SignatureSet {
        &self.set
    }

    /// Scan a byte string as if it were a whole file.
    pub fn scan_bytes(&mut self, data: &[u8]) -> Vec<Match> {
        let mut out = Vec::new();
        let inner = Arc::clone(&self.set.inner);
        if !allowed(&inner, data) {
            hash_matches(&inner, data, &mut out);
            if !self.all_matches {
                // First match only, even when several hash signatures match.
                out.truncate(1);
            }
            if out.is_empty() || self.all_matches {
                self.body_matches(&inner, data, &mut out);
            }
        }
        self.reset();
        out
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
        if let Some(limit) = self.max_filesize
            && opened.size > limit
        {
            let size = opened.size;
            return report(0, Verdict::Skipped(SkipReason::TooLarge { size, limit }));
        }
        let limit = self.max_filesize.unwrap_or(u64::MAX);
        let mut buf = std::mem::take(&mut self.buf);
        let (n, verdict) = match input::load(opened, &mut buf, limit, self.allow_mmap) {
            Ok(data) => {
                let matches = self.scan_bytes(data.bytes());
                let n = data.bytes().len() as u64;
                match matches.is_empty() {
                    true => (n, Verdict::Clean),
                    false => (n, Verdict::Infected(matches)),
                }
            }
            Err(e) => (0, Verdict::Error(ScanError::Read(e))),
        };
        if buf.capacity() > KEEP_BUFFER {
            buf = Vec::new();
        }
        self.buf = buf;
        report(n, verdict)
    }

    fn reset(&mut self) {
        for &s in &self.touched {
            self.matched[s as usize] = false;
        }
        self.touched.clear();
        self.memo.clear();
    }

    fn body_matches(&mut self, inner: &Inner, data: &[u8], out: &mut Vec<Match>) {
        let Some(finder) = &inner.finder else { return };
        let mut ftype = None;
        finder.for_each(data, |atom, pos| {
            for &s in &inner.atom_owners[atom as usize] {
                if self.matched[s as usize] {
                    continue;
                }
                let Some(start) = self.verify(inner, s, data, pos, &mut ftype) else {
                    continue;
                };
                self.matched[s as usize] = true;
                self.touched.push(s);
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
        });
    }

    /// Verify signature `s` around its atom found at `h`; the match start.
    fn verify(
        &mut self,
        inner: &Inner,
        s: u32,
        data: &[u8],
        h: usize,
        ftype: &mut Option<FileType>,
    ) -> Option<usize> {
        let sig = &inner.sigs[s as usize];
        if !sig.window.admits(data, h) {
            return None;
        }
        if sig.target != TargetType::Any
            && !ftype
                .get_or_insert_with(|| FileType::detect(data))
                .fits(sig.target)
        {
            return None;
        }
        let (lo, hi) = sig.offset.start_range(data.len() as u64)?;
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
            memo: &mut self.memo,
        }
        .at_atom(sig.atom.start, sig.atom.start + sig.atom.len, h)
    }
}

fn digest(kind: HashKind, data: &[u8]) -> Vec<u8> {
    match kind {
        HashKind::Md5 => md5::Md5::digest(data).to_vec(),
        HashKind::Sha1 => sha1::Sha1::digest(data).to_vec(),
        HashKind::Sha256 => sha2::Sha256::digest(data).to_vec(),
    }
}

/// Whether the file's hash is on the allow list (`.fp`/`.sfp`).
fn allowed(inner: &Inner, data: &[u8]) -> bool {
    let size = data.len() as u64;
    hashes::KINDS
        .iter()
        .filter(|&&k| inner.allow.needs(k, size))
        .any(|&k| inner.allow.lookup(&digest(k, data), size).next().is_some())
}

fn hash_matches(inner: &Inner, data: &[u8], out: &mut Vec<Match>) {
    let size = data.len() as u64;
    for &kind in &hashes::KINDS {
        if inner.hashes.needs(kind, size) {
            let d = digest(kind, data);
            out.extend(inner.hashes.lookup(&d, size).map(|name| Match {
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
