//! The logical-signature detector of one layer: find every atom of every
//! subsignature, verify each hit, count the matches of each subsignature
//! (a match counts when it starts after the last one counted, as libclamav's
//! `lsig_sub_matched` counts), then evaluate each signature's expression.

use std::sync::Arc;

use super::budget::Budget;
use super::filetype::FileType;
use super::layer::Layer;
use super::verify::{Memo, Verifier};
use super::{Match, MatchKind};
use crate::compile::logic::{AtomSearch, LogicSet};
use crate::sig::TargetType;

/// Add the logical signatures that match `layer` to `out`, in signature
/// order. Nothing is added if the budget runs out.
pub(crate) fn logical(set: &LogicSet, layer: &Layer, budget: &mut Budget, out: &mut Vec<Match>) {
    let mut st = Counts {
        counts: vec![0; set.counters],
        last: vec![None; set.counters],
        touched: Vec::new(),
        memo: Memo::default(),
    };
    for search in [&set.exact, &set.nocase].into_iter().flatten() {
        if !st.search(set, search, layer, budget) {
            return;
        }
    }
    let size = layer.bytes.len() as u64;
    let mut candidates: Vec<u32> = st
        .touched
        .iter()
        .map(|&p| set.patterns[p as usize].sig)
        .chain(set.always.iter().copied())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    for id in candidates {
        let sig = &set.sigs[id as usize];
        if sig.file_size.is_some_and(|(lo, hi)| size < lo || size > hi) {
            continue;
        }
        if !fits(layer, sig.target) {
            continue;
        }
        let counts = &st.counts[sig.first as usize..(sig.first + sig.subsigs) as usize];
        if sig.expr.eval(counts, &mut 0, &mut 0) {
            out.push(Match::new(Arc::clone(&sig.name), MatchKind::Logical));
        }
    }
}

fn fits(layer: &Layer, target: TargetType) -> bool {
    target == TargetType::Any
        || layer
            .ftype
            .get_or_init(|| FileType::detect(layer.bytes))
            .fits(target)
}

struct Counts {
    counts: Vec<u32>,
    last: Vec<Option<usize>>,
    /// Patterns that matched at least once.
    touched: Vec<u32>,
    memo: Memo,
}

impl Counts {
    /// Verify every hit of `search`'s atoms; `false` when the budget ran out.
    fn search(
        &mut self,
        set: &LogicSet,
        search: &AtomSearch,
        layer: &Layer,
        budget: &mut Budget,
    ) -> bool {
        for hit in search.automaton.find_overlapping_iter(layer.bytes) {
            if !budget.step() {
                return false;
            }
            for &p in &search.owners[hit.pattern().as_usize()] {
                self.verify(set, p, hit.start(), layer, budget);
                if budget.expired() {
                    return false;
                }
            }
        }
        true
    }

    fn verify(&mut self, set: &LogicSet, p: u32, h: usize, layer: &Layer, budget: &mut Budget) {
        let pat = &set.patterns[p as usize];
        let Some((lo, hi)) = layer.geom.start_range(pat.offset) else {
            return;
        };
        let found = Verifier {
            nodes: &pat.nodes,
            hay: layer.bytes,
            start_range: (lo as usize, hi as usize),
            trailer: None,
            sig: p,
            memo: &mut self.memo,
            budget,
        }
        .at_atom(pat.atom.start, pat.atom.start + pat.atom.len, h);
        let Some(start) = found else {
            return;
        };
        let c = pat.counter as usize;
        if self.last[c].is_some_and(|last| start <= last) {
            return;
        }
        if self.counts[c] == 0 {
            self.touched.push(p);
        }
        self.counts[c] += 1;
        self.last[c] = Some(start);
    }
}
