//! A naive reference matcher for ClamAV body patterns, written independently of
//! the engine (`ward::compile::verify`), to be the oracle the engine is tested
//! against. It shares only the parsed pattern (`ward::sig::hexpat::parse`) and
//! the offset type with the engine.
//!
//! [`matches`] is the definition: try every start the offset allows and match
//! the nodes recursively, backtracking over every choice. It is exponential in
//! the worst case and quadratic for a `*` over a long haystack, so the
//! multi-megabyte inputs of the mmap path use [`matches_linear`] instead, a
//! position-set simulation of the same semantics; the tests check that the two
//! agree on every small haystack.

use std::ops::RangeInclusive;

use ward::sig::{Node, Offset, Tok};

/// Parse a pattern that the test knows to be valid.
pub fn nodes(pattern: &str) -> Vec<Node> {
    ward::sig::hexpat::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// Parse an `.ndb` offset field (the subset ward supports), independently of
/// the engine's parser.
pub fn offset(text: &str) -> Offset {
    let (base, shift) = match text.split_once(',') {
        Some((b, s)) => (b, s.parse().expect("shift")),
        None => (text, 0),
    };
    if base == "*" {
        assert_eq!(shift, 0, "'*' takes no shift");
        Offset::Any
    } else if let Some(back) = base.strip_prefix("EOF-") {
        Offset::FromEnd {
            back: back.parse().expect("EOF-n"),
            shift,
        }
    } else {
        Offset::FromStart {
            at: base.parse().expect("n"),
            shift,
        }
    }
}

/// The start positions an offset allows in a haystack of `len` bytes: `*` any,
/// `n,s` from `n` to `n + s`, `EOF-n,s` from `len - n` to `len - n + s`, never
/// past the end, and none at all when `EOF-n` lies before the start.
pub fn starts(offset: Offset, len: usize) -> RangeInclusive<usize> {
    let len = len as u64;
    let (first, shift) = match offset {
        Offset::Any => (0, len),
        Offset::FromStart { at, shift } => (at, shift),
        Offset::FromEnd { back, shift } if back <= len => (len - back, shift),
        Offset::FromEnd { .. } => return empty(),
    };
    if first > len {
        return empty();
    }
    let last = first.saturating_add(shift).min(len);
    first as usize..=last as usize
}

#[allow(clippy::reversed_empty_ranges)]
fn empty() -> RangeInclusive<usize> {
    1..=0
}

/// One byte under a mask.
fn tok_matches(t: &Tok, b: u8) -> bool {
    b & t.mask == t.value
}

/// Do `toks` match the bytes at `hay[p..p + toks.len()]` (all inside `hay`)?
fn window_matches(toks: &[Tok], hay: &[u8], p: usize) -> bool {
    if p + toks.len() > hay.len() {
        return false;
    }
    for (i, t) in toks.iter().enumerate() {
        if !tok_matches(t, hay[p + i]) {
            return false;
        }
    }
    true
}

/// Does the pattern match anywhere the offset allows?
pub fn matches(nodes: &[Node], offset: Offset, hay: &[u8]) -> bool {
    starts(offset, hay.len()).any(|s| matches_at(nodes, hay, s))
}

/// Does the whole pattern match starting exactly at `p` (ending anywhere)?
pub fn matches_at(nodes: &[Node], hay: &[u8], p: usize) -> bool {
    let Some((first, rest)) = nodes.split_first() else {
        return true;
    };
    match first {
        Node::Tok(t) => p < hay.len() && tok_matches(t, hay[p]) && matches_at(rest, hay, p + 1),
        Node::Alt {
            alts,
            negated: false,
        } => alts
            .iter()
            .any(|a| window_matches(a, hay, p) && matches_at(rest, hay, p + a.len())),
        Node::Alt {
            alts,
            negated: true,
        } => {
            let len = alts[0].len();
            p + len <= hay.len()
                && !alts.iter().any(|a| window_matches(a, hay, p))
                && matches_at(rest, hay, p + len)
        }
        Node::Gap { min, max } => {
            let lo = p + *min as usize;
            let hi = match max {
                Some(m) => (p + *m as usize).min(hay.len()),
                None => hay.len(),
            };
            (lo..=hi).any(|q| matches_at(rest, hay, q))
        }
    }
}

/// The same answer as [`matches`], computed as the set of positions reachable
/// after each node, kept as sorted disjoint ranges: a `*` over megabytes of
/// padding is one range, not millions of positions.
pub fn matches_linear(nodes: &[Node], offset: Offset, hay: &[u8]) -> bool {
    let starts = starts(offset, hay.len());
    !starts.is_empty() && reach(nodes, hay, vec![(*starts.start(), *starts.end())])
}

/// [`matches_at`], computed like [`matches_linear`].
pub fn matches_at_linear(nodes: &[Node], hay: &[u8], p: usize) -> bool {
    p <= hay.len() && reach(nodes, hay, vec![(p, p)])
}

/// Positions as sorted, disjoint, inclusive ranges.
type Ranges = Vec<(usize, usize)>;

/// Add `lo..=hi` (starting at or after every range added before) to `set`.
fn push_range(set: &mut Ranges, lo: usize, hi: usize) {
    match set.last_mut() {
        Some((_, end)) if lo <= *end + 1 => *end = (*end).max(hi),
        _ => set.push((lo, hi)),
    }
}

/// The positions `p` in `a..=b` where `toks` match at `hay[p..]`, ascending.
/// Candidates are found with `memchr` when the first token is an exact byte.
fn window_positions(toks: &[Tok], hay: &[u8], a: usize, b: usize) -> Vec<usize> {
    let Some(last) = hay.len().checked_sub(toks.len()) else {
        return Vec::new();
    };
    let b = b.min(last);
    if a > b {
        return Vec::new();
    }
    if toks[0].mask == 0xff {
        memchr::memchr_iter(toks[0].value, &hay[a..=b])
            .map(|i| a + i)
            .filter(|&p| window_matches(toks, hay, p))
            .collect()
    } else {
        (a..=b).filter(|&p| window_matches(toks, hay, p)).collect()
    }
}

fn reach(nodes: &[Node], hay: &[u8], mut at: Ranges) -> bool {
    let n = hay.len();
    for node in nodes {
        let mut next = Ranges::new();
        match node {
            Node::Tok(t) => {
                for &(a, b) in &at {
                    for p in window_positions(&[*t], hay, a, b) {
                        push_range(&mut next, p + 1, p + 1);
                    }
                }
            }
            Node::Alt {
                alts,
                negated: false,
            } => {
                // Alternatives of different lengths end out of order: sort first.
                let mut ends = Vec::new();
                for &(a, b) in &at {
                    for x in alts.iter() {
                        ends.extend(
                            window_positions(x, hay, a, b)
                                .into_iter()
                                .map(|p| p + x.len()),
                        );
                    }
                }
                ends.sort_unstable();
                for e in ends {
                    push_range(&mut next, e, e);
                }
            }
            Node::Alt {
                alts,
                negated: true,
            } => {
                // Every window in range except those some alternative matches.
                let len = alts[0].len();
                for &(a, b) in &at {
                    let Some(last) = n.checked_sub(len).map(|l| l.min(b)) else {
                        break;
                    };
                    let mut excluded: Vec<usize> = alts
                        .iter()
                        .flat_map(|x| window_positions(x, hay, a, last))
                        .collect();
                    excluded.sort_unstable();
                    let mut p = a;
                    for q in excluded {
                        if q > p {
                            push_range(&mut next, p + len, q - 1 + len);
                        }
                        p = p.max(q + 1);
                    }
                    if p <= last {
                        push_range(&mut next, p + len, last + len);
                    }
                }
            }
            Node::Gap { min, max } => {
                // [a, b] reaches [a + min, b + max], clamped to the end.
                for &(a, b) in &at {
                    let lo = a + *min as usize;
                    let hi = max.map_or(n, |m| (b + m as usize).min(n));
                    if lo <= hi {
                        push_range(&mut next, lo, hi);
                    }
                }
            }
        }
        at = next;
    }
    !at.is_empty()
}
