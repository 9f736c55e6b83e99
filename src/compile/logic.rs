//! Logical signatures compiled: every form of every subsignature becomes a
//! pattern with an atom, found by one of two Aho-Corasick automata (exact,
//! or ASCII case-insensitive for `::i`); the per-layer detector
//! (`scan::detect`) counts the verified matches of each subsignature and
//! evaluates each signature's expression at the end of the layer.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use rustc_hash::FxHashMap;

use super::CompileError;
use super::atoms::{self, AtomPlace};
use crate::sig::ldb::{Expr, LogicalSig};
use crate::sig::{Node, Offset, TargetType, Tok};

/// A logical signature, ready to evaluate.
#[derive(Debug)]
pub(crate) struct Logical {
    pub name: Arc<str>,
    pub target: TargetType,
    pub file_size: Option<(u64, u64)>,
    pub expr: Expr,
    /// Index of its subsignature 0 in the flat per-layer counters.
    pub first: u32,
    /// Its number of subsignatures.
    pub subsigs: u32,
}

/// One form of one subsignature.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// Its signature.
    pub sig: u32,
    /// Its subsignature's flat counter.
    pub counter: u32,
    pub offset: Offset,
    pub nodes: Vec<Node>,
    pub atom: AtomPlace,
}

/// An automaton over atoms, and the patterns each atom belongs to.
#[derive(Debug)]
pub(crate) struct AtomSearch {
    pub automaton: AhoCorasick,
    pub owners: Vec<Vec<u32>>,
}

/// The logical signatures of a set.
#[derive(Debug)]
pub(crate) struct LogicSet {
    pub sigs: Vec<Logical>,
    pub patterns: Vec<Pattern>,
    /// Number of flat counters (subsignatures of all signatures).
    pub counters: usize,
    pub exact: Option<AtomSearch>,
    pub nocase: Option<AtomSearch>,
    /// Signatures whose expression holds with no match at all (`0=0`):
    /// evaluated on every layer.
    pub always: Vec<u32>,
}

impl LogicSet {
    /// Compile the logical signatures `kept` selects.
    pub fn new<'a>(
        sigs: impl Iterator<Item = &'a LogicalSig>,
    ) -> Result<Option<LogicSet>, CompileError> {
        let mut out = LogicSet {
            sigs: Vec::new(),
            patterns: Vec::new(),
            counters: 0,
            exact: None,
            nocase: None,
            always: Vec::new(),
        };
        let mut atoms: [FxHashMap<Vec<u8>, Vec<u32>>; 2] = Default::default();
        for s in sigs {
            let id = out.sigs.len() as u32;
            for (k, sub) in s.subsigs.iter().enumerate() {
                for form in &sub.forms {
                    let exact = exactified(form);
                    let atom = atoms::choose(&exact)
                        .ok_or_else(|| CompileError::NoAtom(s.name.to_string()))?;
                    let bytes = atoms::bytes(&exact, atom);
                    atoms[sub.nocase as usize]
                        .entry(bytes)
                        .or_default()
                        .push(out.patterns.len() as u32);
                    out.patterns.push(Pattern {
                        sig: id,
                        counter: (out.counters + k) as u32,
                        offset: sub.offset,
                        nodes: form.clone(),
                        atom,
                    });
                }
            }
            let zeros = vec![0u32; s.subsigs.len()];
            if s.expr.eval(&zeros, &mut 0, &mut 0) {
                out.always.push(id);
            }
            out.sigs.push(Logical {
                name: s.name.clone(),
                target: s.target,
                file_size: s.file_size,
                expr: s.expr.clone(),
                first: out.counters as u32,
                subsigs: s.subsigs.len() as u32,
            });
            out.counters += s.subsigs.len();
        }
        if out.sigs.is_empty() {
            return Ok(None);
        }
        let [exact, nocase] = atoms;
        out.exact = search(exact, false)?;
        out.nocase = search(nocase, true)?;
        Ok(Some(out))
    }

    /// Approximate heap memory, bytes.
    pub fn memory_usage(&self) -> usize {
        let ac = |s: &Option<AtomSearch>| {
            s.as_ref()
                .map_or(0, |s| s.automaton.memory_usage() + s.owners.len() * 28)
        };
        ac(&self.exact)
            + ac(&self.nocase)
            + self.sigs.len() * 96
            + self
                .patterns
                .iter()
                .map(|p| 64 + p.nodes.len() * std::mem::size_of::<Node>())
                .sum::<usize>()
    }
}

fn search(
    atoms: FxHashMap<Vec<u8>, Vec<u32>>,
    nocase: bool,
) -> Result<Option<AtomSearch>, CompileError> {
    if atoms.is_empty() {
        return Ok(None);
    }
    let (bytes, owners): (Vec<Vec<u8>>, Vec<Vec<u32>>) = atoms.into_iter().unzip();
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(nocase)
        .dense_depth(1)
        .build(&bytes)
        .map_err(|e| CompileError::Automaton(e.to_string()))?;
    Ok(Some(AtomSearch { automaton, owners }))
}

/// The pattern with case-folded letters (`::i`) made exact (lower case), so
/// that an atom can be chosen among them.
fn exactified(nodes: &[Node]) -> Vec<Node> {
    nodes
        .iter()
        .map(|n| match n {
            Node::Tok(t) if t.mask == !0x20 && (t.value | 0x20).is_ascii_lowercase() => {
                Node::Tok(Tok::exact(t.value | 0x20))
            }
            other => other.clone(),
        })
        .collect()
}
