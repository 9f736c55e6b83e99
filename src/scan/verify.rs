//! Verification: does a signature's full pattern match around an atom hit?
//!
//! The atom splits the pattern in two: the nodes before it are matched backwards
//! from the hit, the nodes after it forwards. Each half is a backtracking search
//! over gaps and variable-length alternatives. Both halves depend only on the
//! position they start from, never on the hit that led there, so their failures
//! are remembered for the whole layer in a [`Memo`]:
//!
//! - a (gap node, position) pair that failed is never explored again, which keeps
//!   bounded gaps polynomial;
//! - an unbounded gap (`*`, `{n-}`) that failed from position `p` fails from any
//!   position further on (forwards) or further back (backwards), since those see a
//!   subset of the same continuations. This keeps many hits of one atom followed
//!   by a `*` from rescanning the file once per hit.
//!
//! Recursion depth is bounded by the number of gaps and alternations in a pattern
//! ([`crate::sig::hexpat::MAX_BRANCH_NODES`]).
//!
//! A per-file [`Budget`] bounds the time: every step of the search counts, and the
//! clock is read once every [`Budget::CHECK_EVERY`] steps. An expired budget makes
//! every search fail at once; the caller reports the file as not scanned.

use std::collections::{HashMap, HashSet};

use super::budget::Budget;
use crate::sig::{Node, Tok, Trailer};

/// Per-layer memory of failed searches. Cleared between layers; keeps its capacity.
#[derive(Default, Debug)]
pub struct Memo {
    failed: HashSet<(u32, u32, usize)>,
    star_fwd: HashMap<(u32, u32), usize>,
    star_bwd: HashMap<(u32, u32), usize>,
    /// Unbounded forward gap: the furthest continuation start known to match.
    star_fwd_ok: HashMap<(u32, u32), usize>,
    /// Unbounded backward gap: the nearest continuation end known to match, and
    /// the match start it led to.
    star_bwd_ok: HashMap<(u32, u32), (usize, usize)>,
}

impl Memo {
    /// Forget everything (start of a new layer).
    pub fn clear(&mut self) {
        self.failed.clear();
        self.star_fwd.clear();
        self.star_bwd.clear();
        self.star_fwd_ok.clear();
        self.star_bwd_ok.clear();
    }
}

/// Backward node keys are marked with this bit so they never collide with forward ones.
const BACKWARD: u32 = 1 << 31;

/// One verification: a signature's nodes against one haystack.
pub struct Verifier<'a> {
    /// The pattern.
    pub nodes: &'a [Node],
    /// The whole file.
    pub hay: &'a [u8],
    /// Allowed start offsets (inclusive).
    pub start_range: (usize, usize),
    /// Extra condition on the end of a match.
    pub trailer: Option<Trailer>,
    /// Key of this signature in the memo.
    pub sig: u32,
    /// The memo.
    pub memo: &'a mut Memo,
    /// The time limit of the file being scanned.
    pub budget: &'a mut Budget,
}

impl Verifier<'_> {
    /// Does the pattern match with `nodes[a0..a1]` at `hay[h..]`? Returns the start
    /// offset of the match.
    pub fn at_atom(&mut self, a0: usize, a1: usize, h: usize) -> Option<usize> {
        let end = h + (a1 - a0);
        if end > self.hay.len() || !self.toks_fwd(&self.nodes[a0..a1], h) {
            return None;
        }
        if !self.fwd(a1, end) {
            return None;
        }
        self.bwd(a0, h)
    }

    fn toks_fwd(&self, toks: &[Node], at: usize) -> bool {
        let Some(window) = self.hay.get(at..at + toks.len()) else {
            return false;
        };
        toks.iter()
            .zip(window)
            .all(|(n, &b)| matches!(n, Node::Tok(t) if t.matches(b)))
    }

    fn end_ok(&self, end: usize) -> bool {
        match self.trailer {
            None => true,
            Some(Trailer::Whitespace { max_size }) => {
                self.hay.len() as u64 <= max_size
                    && self.hay[end..]
                        .iter()
                        .all(|&b| b.is_ascii_whitespace() || b == 0x1a)
            }
        }
    }

    /// Match `nodes[i..]` starting at `p`.
    fn fwd(&mut self, mut i: usize, mut p: usize) -> bool {
        if !self.budget.step() {
            return false;
        }
        let n = self.hay.len();
        while let Some(node) = self.nodes.get(i) {
            match node {
                Node::Tok(t) => {
                    if p >= n || !t.matches(self.hay[p]) {
                        return false;
                    }
                    p += 1;
                }
                Node::Alt {
                    alts,
                    negated: true,
                } => {
                    let len = alts[0].len();
                    if p + len > n || alts.iter().any(|a| toks_match(a, &self.hay[p..p + len])) {
                        return false;
                    }
                    p += len;
                }
                Node::Alt {
                    alts,
                    negated: false,
                } => {
                    let rest = &self.hay[p.min(n)..];
                    let ends: Vec<usize> = alts
                        .iter()
                        .filter(|a| a.len() <= rest.len() && toks_match(a, &rest[..a.len()]))
                        .map(|a| p + a.len())
                        .collect();
                    return self.fwd_any(i + 1, ends);
                }
                Node::Gap { min, max } => return self.fwd_gap(i, p, *min, *max),
            }
            i += 1;
        }
        self.end_ok(p)
    }

    fn fwd_any(&mut self, i: usize, mut ends: Vec<usize>) -> bool {
        ends.sort_unstable();
        ends.dedup();
        ends.into_iter().any(|e| self.fwd(i, e))
    }

    fn fwd_gap(&mut self, i: usize, p: usize, min: u32, max: Option<u32>) -> bool {
        let key = (self.sig, i as u32, p);
        let star_key = (self.sig, i as u32);
        let n = self.hay.len();
        let lo = p.saturating_add(min as usize);
        let mut hi = max.map_or(n, |m| p.saturating_add(m as usize).min(n));
        if max.is_none() {
            // The continuation after `*` does not depend on how it was reached:
            // a start known to match, or a point from which all failed, settles
            // this search or shortens it (no rescan per atom hit).
            if self
                .memo
                .star_fwd_ok
                .get(&star_key)
                .is_some_and(|&q| lo <= q)
            {
                return true;
            }
            if let Some(&f) = self.memo.star_fwd.get(&star_key) {
                if p >= f {
                    return false;
                }
                hi = hi.min(f.saturating_add(min as usize).saturating_sub(1));
            }
        } else if self.memo.failed.contains(&key) {
            return false;
        }
        let found = if lo <= hi {
            self.fwd_range(i + 1, lo, hi)
        } else {
            None
        };
        match (found, max) {
            (Some(q), None) => {
                let best = self.memo.star_fwd_ok.entry(star_key).or_insert(q);
                *best = (*best).max(q);
            }
            (None, None) => {
                let f = self.memo.star_fwd.entry(star_key).or_insert(p);
                *f = (*f).min(p);
            }
            (None, Some(_)) => {
                self.memo.failed.insert(key);
            }
            (Some(_), Some(_)) => {}
        }
        found.is_some()
    }

    /// Try `nodes[i..]` at every start in `lo..=hi`, jumping with memchr when the
    /// next node is an exact byte; the first start that matches.
    fn fwd_range(&mut self, i: usize, lo: usize, hi: usize) -> Option<usize> {
        let n = self.hay.len();
        if let Some(Node::Tok(t)) = self.nodes.get(i).filter(|_| lo < n)
            && t.is_exact()
        {
            let hay = self.hay;
            let end = hi.min(n - 1) + 1;
            for off in memchr::memchr_iter(t.value, &hay[lo..end]) {
                if self.fwd(i, lo + off) {
                    return Some(lo + off);
                }
                if self.budget.expired() {
                    return None;
                }
            }
            return None;
        }
        for q in lo..=hi {
            if self.fwd(i, q) {
                return Some(q);
            }
            if self.budget.expired() {
                return None;
            }
        }
        None
    }

    /// Match `nodes[..i]` ending at `p`; returns the start.
    fn bwd(&mut self, mut i: usize, mut p: usize) -> Option<usize> {
        if !self.budget.step() {
            return None;
        }
        while i > 0 {
            match &self.nodes[i - 1] {
                Node::Tok(t) => {
                    if p == 0 || !t.matches(self.hay[p - 1]) {
                        return None;
                    }
                    p -= 1;
                }
                Node::Alt {
                    alts,
                    negated: true,
                } => {
                    let len = alts[0].len();
                    if p < len || alts.iter().any(|a| toks_match(a, &self.hay[p - len..p])) {
                        return None;
                    }
                    p -= len;
                }
                Node::Alt {
                    alts,
                    negated: false,
                } => {
                    let mut starts: Vec<usize> = alts
                        .iter()
                        .filter(|a| a.len() <= p && toks_match(a, &self.hay[p - a.len()..p]))
                        .map(|a| p - a.len())
                        .collect();
                    starts.sort_unstable_by(|a, b| b.cmp(a));
                    starts.dedup();
                    return starts.into_iter().find_map(|s| self.bwd(i - 1, s));
                }
                Node::Gap { min, max } => return self.bwd_gap(i - 1, p, *min, *max),
            }
            i -= 1;
        }
        (p >= self.start_range.0 && p <= self.start_range.1).then_some(p)
    }

    fn bwd_gap(&mut self, g: usize, p: usize, min: u32, max: Option<u32>) -> Option<usize> {
        let key = (self.sig, g as u32 | BACKWARD, p);
        let star_key = (self.sig, g as u32 | BACKWARD);
        let hi = p.checked_sub(min as usize)?;
        let mut lo = max.map_or(0, |m| p.saturating_sub(m as usize));
        if max.is_none() {
            // As in `fwd_gap`, mirrored: ends at or before a failed point all
            // failed; an end known to match settles it.
            if let Some(&(q, start)) = self.memo.star_bwd_ok.get(&star_key)
                && q <= hi
            {
                return Some(start);
            }
            if let Some(&f) = self.memo.star_bwd.get(&star_key) {
                if p <= f {
                    return None;
                }
                lo = lo.max((f + 1).saturating_sub(min as usize));
            }
        } else if self.memo.failed.contains(&key) {
            return None;
        }
        let found = if lo <= hi {
            self.bwd_range(g, lo, hi)
        } else {
            None
        };
        match (found, max) {
            (Some(found), None) => {
                let best = self.memo.star_bwd_ok.entry(star_key).or_insert(found);
                if found.0 < best.0 {
                    *best = found;
                }
            }
            (None, None) => {
                let f = self.memo.star_bwd.entry(star_key).or_insert(p);
                *f = (*f).max(p);
            }
            (None, Some(_)) => {
                self.memo.failed.insert(key);
            }
            (Some(_), Some(_)) => {}
        }
        found.map(|(_, start)| start)
    }

    /// Try `nodes[..g]` ending at every position in `hi..=lo` (nearest first);
    /// the end that matched and the match start.
    fn bwd_range(&mut self, g: usize, lo: usize, hi: usize) -> Option<(usize, usize)> {
        let lo = lo.max(1);
        if lo > hi {
            return None;
        }
        if let Some(Node::Tok(t)) = self.nodes.get(g.wrapping_sub(1))
            && t.is_exact()
        {
            let hay = self.hay;
            // An end at q needs hay[q - 1] == byte, q in lo..=hi.
            for off in memchr::memrchr_iter(t.value, &hay[lo - 1..hi]) {
                if let Some(s) = self.bwd(g, lo + off) {
                    return Some((lo + off, s));
                }
                if self.budget.expired() {
                    return None;
                }
            }
            return None;
        }
        for q in (lo..=hi).rev() {
            if let Some(s) = self.bwd(g, q) {
                return Some((q, s));
            }
            if self.budget.expired() {
                return None;
            }
        }
        None
    }
}

fn toks_match(toks: &[Tok], window: &[u8]) -> bool {
    toks.iter().zip(window).all(|(t, &b)| t.matches(b))
}
