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

    /// Call `f(atom_id, position)` for each occurrence until it returns `false`.
    #[inline]
    pub fn for_each(&self, hay: &[u8], mut f: impl FnMut(u32, usize) -> bool) {
        match self {
            Finder::Table(t) => t.for_each(hay, f),
            Finder::Automaton(a) => {
                for m in a.find_overlapping_iter(hay) {
                    if !f(m.pattern().as_u32(), m.start()) {
                        return;
                    }
                }
            }
        }
    }
}
