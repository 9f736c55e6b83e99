//! The atom search engine: which automaton finds the atoms, chosen by how many
//! there are.
//!
//! - Few atoms: an Aho-Corasick automaton, whose SIMD prefilter (Teddy, memchr)
//!   skips through ordinary data at many GB/s.
//! - Many atoms: the Aho-Corasick DFA outgrows the cache, and the prefilter gives
//!   up; the L1-resident [`AtomSet`] is several times faster there.
//!
//! `benches/scan.rs` measures both; [`TABLE_FROM`] is where they cross.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::atoms::MAX_ATOM;
use super::atomset::AtomSet;

/// From this many atoms on, the [`AtomSet`] is used.
pub const TABLE_FROM: usize = 64;

/// Finds every occurrence of every atom.
#[derive(Clone, Debug)]
pub enum Finder {
    /// Aho-Corasick (few atoms).
    Automaton(AhoCorasick),
    /// Byte-pair filter + exact tables (many atoms).
    Table(Box<AtomSet>),
}

impl Finder {
    /// Build for `atoms` (each 1 to 4 bytes; id = index).
    pub fn new(atoms: &[Vec<u8>]) -> Result<Finder, String> {
        if atoms.len() >= TABLE_FROM {
            return Ok(Finder::Table(Box::new(AtomSet::new(
                atoms.iter().map(Vec::as_slice),
            ))));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(atoms)
            .map(Finder::Automaton)
            .map_err(|e| e.to_string())
    }

    /// A name for `ward sigs info`.
    pub fn kind(&self) -> &'static str {
        match self {
            Finder::Automaton(_) => "aho-corasick DFA",
            Finder::Table(t) if t.vector_probe() => "byte-pair filter + atom tables, AVX2 probe",
            Finder::Table(_) => "byte-pair filter + atom tables, scalar probe",
        }
    }

    /// Approximate heap use in bytes.
    pub fn memory_usage(&self) -> usize {
        match self {
            Finder::Automaton(a) => a.memory_usage(),
            Finder::Table(t) => t.memory_usage(),
        }
    }

    /// Call `f(atom_id, position)` for each occurrence until it returns `false`,
    /// in order of position (shorter atoms first at one position). The order
    /// matters: a search split into pieces gives each hit to the piece where it
    /// starts, and must meet the hits in the order one search does.
    #[inline]
    pub fn for_each(&self, hay: &[u8], mut f: impl FnMut(u32, usize) -> bool) {
        match self {
            Finder::Table(t) => t.for_each(hay, f),
            Finder::Automaton(a) => {
                // The automaton reports overlapping matches in order of their
                // end. A match ending at `e` starts at `e - MAX_ATOM` or later,
                // so the ones held back that start before that can go out.
                let mut held: Vec<(usize, usize, u32)> = Vec::new();
                let mut release = |held: &mut Vec<(usize, usize, u32)>, before: usize| {
                    held.sort_unstable();
                    let n = held.partition_point(|&(start, _, _)| start < before);
                    let go = held[..n].iter().all(|&(start, _, id)| f(id, start));
                    held.drain(..n);
                    go
                };
                for m in a.find_overlapping_iter(hay) {
                    let before = m.end().saturating_sub(MAX_ATOM);
                    if !held.is_empty() && !release(&mut held, before) {
                        return;
                    }
                    held.push((m.start(), m.len(), m.pattern().as_u32()));
                }
                release(&mut held, usize::MAX);
            }
        }
    }
}
