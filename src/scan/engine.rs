//! The matching engine: one layer's bytes against a compiled set, with no
//! policy and no I/O.
//!
//! It computes the digests the hash index and the allow list need, looks them
//! up, and runs the body-signature search: atom finder, window check and
//! verification, on one thread or in pieces on a rayon pool. What to match,
//! which matches to keep, when to split a layer and what the verdict is are
//! for [`Scanner::scan_layer`](super::Scanner::scan_layer) to decide; the time
//! limit is the budget it passes in.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use md5::Digest;

use super::budget::Budget;
use super::filetype::FileType;
use super::layer::Layer;
use super::sparse::Geometry;
use super::verify::{Memo, Verifier};
use super::{Match, MatchKind};
use crate::compile::atoms::MAX_ATOM;
use crate::compile::{Inner, hashes};
use crate::sig::{HashKind, TargetType};

/// A layer's digests, one slot per [`hashes::KINDS`]: `None` where not needed,
/// or where the budget ran out while computing it.
pub(crate) type Digests = [Option<Vec<u8>>; 3];

/// Matching against one compiled set.
#[derive(Clone, Copy)]
pub(crate) struct Engine<'s> {
    set: &'s Inner,
}

impl<'s> Engine<'s> {
    /// The engine of a compiled set.
    pub fn new(set: &'s Inner) -> Engine<'s> {
        Engine { set }
    }

    /// Whether the set has a hash signature or allow-list entry for content of
    /// `size` bytes.
    pub fn needs_hash(&self, size: u64) -> bool {
        hashes::KINDS.iter().any(|&k| self.needs_digest(k, size))
    }

    /// Whether the hash index or the allow list uses `kind` digests of content
    /// of `size` bytes.
    fn needs_digest(&self, kind: HashKind, size: u64) -> bool {
        self.set.hashes.needs(kind, size) || self.set.allow.needs(kind, size)
    }

    /// The digests of `data` that the hash index or the allow list can use for
    /// content of its size, each computed once.
    pub fn digests(&self, data: &[u8], budget: &mut Budget) -> Digests {
        let size = data.len() as u64;
        hashes::KINDS.map(|k| {
            self.needs_digest(k, size)
                .then(|| digest(k, data, budget))
                .flatten()
        })
    }

    /// [`Engine::digests`], each digest on its own task of the current rayon
    /// pool.
    pub fn digests_in_parallel(&self, data: &[u8], budget: &mut Budget) -> Digests {
        use rayon::prelude::*;
        let size = data.len() as u64;
        let done: Vec<(Option<Vec<u8>>, Budget)> = hashes::KINDS
            .par_iter()
            .map(|&k| {
                let mut b = *budget;
                let d = self.needs_digest(k, size).then(|| digest(k, data, &mut b));
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

    /// The body signatures that match `layer`, in order of their match start
    /// (each signature once); only the first unless `all_matches`. With a
    /// `pool`, the layer is searched in [`SPLIT_PIECE`]s on it, each with a
    /// state of its own, and `st` is not used.
    pub fn body(
        &self,
        layer: &Layer,
        st: &mut FileState,
        budget: &mut Budget,
        all_matches: bool,
        pool: Option<&rayon::ThreadPool>,
        out: &mut Vec<Match>,
    ) {
        if self.set.finder.is_none() {
            return;
        }
        let search = Search::new(self.set, layer, all_matches);
        match pool {
            Some(pool) => pool.install(|| search.in_pieces(budget, out)),
            None => {
                search.run(st, budget, 0, layer.bytes.len(), out);
            }
        }
    }

    /// The logical signatures that match `layer` (see `detect`).
    pub fn logical(&self, layer: &Layer, budget: &mut Budget, out: &mut Vec<Match>) {
        if let Some(logic) = &self.set.logic {
            super::detect::logical(logic, layer, budget, out);
        }
    }

    /// Whether content of `size` bytes with these digests is on the allow list
    /// (`.fp`/`.sfp`).
    pub fn allowed(&self, size: u64, digests: &Digests) -> bool {
        digests
            .iter()
            .flatten()
            .any(|d| self.set.allow.lookup(d, size).next().is_some())
    }

    /// The hash signatures that match content of `size` bytes with these
    /// digests, in [`hashes::KINDS`] order.
    pub fn hash_matches(&self, size: u64, digests: &Digests, out: &mut Vec<Match>) {
        for (&kind, d) in hashes::KINDS.iter().zip(digests) {
            if let Some(d) = d.as_ref().filter(|_| self.set.hashes.needs(kind, size)) {
                out.extend(
                    self.set
                        .hashes
                        .lookup(d, size)
                        .map(|name| Match::new(name.into(), MatchKind::Hash { hash: kind })),
                );
            }
        }
    }
}

/// With a time limit, haystacks are searched (and hashed) in pieces of this size,
/// and the clock is read between pieces.
const PIECE: usize = 4 << 20;

/// The piece size of a parallel search: small enough that a region dense with
/// atom hits (text in a data file) spreads over several threads, large enough
/// that a piece's setup (its own verifier state, one rayon job) is negligible.
pub const SPLIT_PIECE: usize = 1 << 20;

/// One layer's matching state: what the verifier has learnt, and which
/// signatures have matched already. Reused from layer to layer.
#[derive(Default)]
pub(crate) struct FileState {
    memo: Memo,
    matched: Vec<bool>,
    touched: Vec<u32>,
}

impl FileState {
    /// A state for a set of `signatures` body signatures.
    pub fn new(signatures: usize) -> FileState {
        FileState {
            matched: vec![false; signatures],
            ..FileState::default()
        }
    }

    /// Forget the layer matched last, keeping the capacity.
    pub fn reset(&mut self) {
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
    /// Each piece counts against a copy of `budget`; `budget` is marked expired
    /// if any piece ran out of time.
    ///
    /// Under a deadline the pieces race the clock side by side, so a match in
    /// a later piece can be found where one search would have run out of time
    /// before reaching it: the file is then reported infected rather than
    /// timed out, a real match either way.
    fn in_pieces(&self, budget: &mut Budget, out: &mut Vec<Match>) {
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
            out.push(Match::new(
                inner.sigs[s as usize].name.clone(),
                MatchKind::Body {
                    offset: start as u64,
                },
            ));
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
