//! What a signature set needs from a compact view of a sparse file
//! ([`crate::scan::sparse`]), computed once when the set is compiled: how long a
//! run of zeros must stay for every signature to see what it would have seen in
//! the real file, and which head and tail must be kept as they are.

use super::CompiledSig;
use crate::sig::{Node, Offset, Trailer};

/// The longest zero run a hole is shortened to; sets that need more get no view.
pub const MAX_ZERO_RUN: u64 = 16 << 20;

/// What a signature set needs from a sparse view, computed at compile time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SparseLimits {
    /// `Z`: the zero-run length long holes are shortened to; `None` when too large.
    pub zero_run: Option<u64>,
    /// Real positions below this are never shortened (anchored `n[,shift]`).
    pub head: u64,
    /// This many bytes at the end are never shortened (anchored `EOF-n`).
    pub tail: u64,
    /// The largest file size a trailer allows (0: no trailers).
    pub max_trailer: u64,
}

impl SparseLimits {
    /// The limits for a set of compiled signatures.
    pub fn new(sigs: &[CompiledSig]) -> SparseLimits {
        let mut lim = SparseLimits::default();
        let mut k_max = 0u64;
        for s in sigs {
            k_max = k_max.max(k(&s.nodes));
            match s.offset {
                Offset::Any => {}
                Offset::FromStart { at, shift } => {
                    lim.head = lim.head.max(at.saturating_add(shift).saturating_add(1));
                }
                Offset::FromEnd { back, .. } => lim.tail = lim.tail.max(back),
            }
            if let Some(Trailer::Whitespace { max_size }) = s.trailer {
                lim.max_trailer = lim.max_trailer.max(max_size);
            }
        }
        let z = k_max.saturating_add(1);
        lim.zero_run = (z <= MAX_ZERO_RUN).then_some(z);
        lim
    }
}

/// `K(P)`: the most bytes a match needs when every unbounded gap takes its minimum.
fn k(nodes: &[Node]) -> u64 {
    nodes.iter().fold(0u64, |acc, n| {
        let (min, max) = n.width();
        acc.saturating_add(max.unwrap_or(min))
    })
}
