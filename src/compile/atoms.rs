//! Atom choice: the short literal fragment of each signature that goes into the
//! Aho-Corasick automaton. Everything else about a signature is checked by
//! [`super::verify`] after its atom is found, so the atom decides how often
//! verification runs: it should be as rare in ordinary files as possible.

use crate::sig::Node;

/// Longest atom. Longer atoms give fewer false hits but make the automaton larger
/// and slower; four bytes is where YARA settled too.
pub const MAX_ATOM: usize = 4;

/// Where a signature's atom lies: `nodes[start..start + len]`, all exact bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomPlace {
    /// Index of the first node.
    pub start: usize,
    /// Number of nodes (= bytes).
    pub len: usize,
}

/// How common a byte is in ordinary files (higher = more common = worse atom).
/// Zero, space, 0xff, 0xcc (int3 padding), 0x90 and ASCII letters dominate
/// executables and text.
fn commonness(b: u8) -> u32 {
    match b {
        0x00 => 40,
        0xff | 0x20 => 24,
        0xcc | 0x90 | 0x01 => 14,
        b'a'..=b'z' | b'0'..=b'9' | b'.' | b'/' | b'_' | b'\n' => 6,
        b'A'..=b'Z' | 0x02..=0x0f => 5,
        0x10..=0x7f => 3,
        _ => 2,
    }
}

/// Score a candidate atom: longer and rarer is better; repeated bytes are poor.
fn quality(bytes: &[u8]) -> i64 {
    let mut seen = [false; 256];
    let mut score = 0i64;
    for &b in bytes {
        score += 48 - i64::from(commonness(b));
        if seen[b as usize] {
            score -= 24;
        }
        seen[b as usize] = true;
    }
    score
}

/// Choose the best atom in `nodes`; `None` when there is no fixed byte.
pub fn choose(nodes: &[Node]) -> Option<AtomPlace> {
    let byte = |i: usize| match nodes.get(i) {
        Some(Node::Tok(t)) if t.is_exact() => Some(t.value),
        _ => None,
    };
    let mut best: Option<(i64, AtomPlace)> = None;
    let mut window = Vec::with_capacity(MAX_ATOM);
    for start in 0..nodes.len() {
        window.clear();
        while window.len() < MAX_ATOM {
            match byte(start + window.len()) {
                Some(b) => window.push(b),
                None => break,
            }
        }
        if window.is_empty() {
            continue;
        }
        let q = quality(&window);
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((
                q,
                AtomPlace {
                    start,
                    len: window.len(),
                },
            ));
        }
    }
    best.map(|(_, place)| place)
}

/// The atom's bytes.
pub fn bytes(nodes: &[Node], place: AtomPlace) -> Vec<u8> {
    nodes[place.start..place.start + place.len]
        .iter()
        .filter_map(|n| match n {
            Node::Tok(t) => Some(t.value),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::hexpat::parse;

    #[test]
    fn prefers_rare_full_atoms() {
        let n = parse("0000000000??4d5a9b1c*00").unwrap();
        let p = choose(&n).unwrap();
        assert_eq!(bytes(&n, p), vec![0x4d, 0x5a, 0x9b, 0x1c]);
        let n = parse("00??(aa|bb)0102").unwrap();
        assert_eq!(bytes(&n, choose(&n).unwrap()), vec![1, 2]);
        assert!(choose(&parse("????").unwrap()).is_none());
    }
}
