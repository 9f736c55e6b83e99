//! Atom choice: the short literal fragment of each signature that goes into the
//! Aho-Corasick automaton. Everything else about a signature is checked by
//! `scan::verify` after its atom is found, so the atom decides how often
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

/// log2 of how often each byte pair occurs in ordinary files, times 8
/// (`scripts/bigram-table.py` builds it from files outside the benchmark corpus).
static BIGRAMS: &[u8; 65536] = include_bytes!("bigrams.bin");

fn pair(a: u8, b: u8) -> f32 {
    f32::from(BIGRAMS[(a as usize) << 8 | b as usize]) / 8.0
}

/// log2 of how often each byte occurs, derived from the pair table.
fn singles() -> &'static [f32; 256] {
    static SINGLES: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    SINGLES.get_or_init(|| {
        std::array::from_fn(|a| {
            let n: f64 = (0..=255u8)
                .map(|b| f64::from(pair(a as u8, b)).exp2())
                .sum();
            n.log2() as f32
        })
    })
}

/// Estimated log2 count of `bytes` in the training files, as a Markov chain over
/// byte pairs: lower means rarer, which makes a better atom.
fn commonness(bytes: &[u8]) -> f32 {
    match bytes {
        [] => f32::MAX,
        [b] => singles()[*b as usize],
        _ => {
            let first = pair(bytes[0], bytes[1]);
            first
                + bytes
                    .windows(3)
                    .map(|w| pair(w[1], w[2]) - singles()[w[1] as usize])
                    .sum::<f32>()
        }
    }
}

/// Choose the best atom in `nodes`; `None` when there is no fixed byte.
pub fn choose(nodes: &[Node]) -> Option<AtomPlace> {
    let byte = |i: usize| match nodes.get(i) {
        Some(Node::Tok(t)) if t.is_exact() => Some(t.value),
        _ => None,
    };
    let mut best: Option<(f32, AtomPlace)> = None;
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
        let q = commonness(&window);
        if best.is_none_or(|(bq, _)| q < bq) {
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

/// Up to eight fixed-position bytes around an atom, compared under a mask in one
/// load before the full verification: most atom hits in ordinary files are
/// rejected here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Offset of the window's first byte relative to the atom's (-7 to 0).
    pub rel: i32,
    /// Expected bytes (little-endian, already masked).
    pub value: u64,
    /// Which bits are compared.
    pub mask: u64,
}

impl Window {
    /// The window for `place`: the single tokens right of the atom first, then left.
    pub fn around(nodes: &[Node], place: AtomPlace) -> Window {
        let tok = |i: usize| match nodes.get(i) {
            Some(Node::Tok(t)) => Some(*t),
            _ => None,
        };
        let mut end = place.start + place.len;
        while end - place.start < 8 && tok(end).is_some() {
            end += 1;
        }
        let mut start = place.start;
        while end - start < 8 && start > 0 && tok(start - 1).is_some() {
            start -= 1;
        }
        let (mut value, mut mask) = (0u64, 0u64);
        for (k, i) in (start..end).enumerate() {
            if let Some(t) = tok(i) {
                value |= u64::from(t.value) << (8 * k);
                mask |= u64::from(t.mask) << (8 * k);
            }
        }
        Window {
            rel: start as i32 - place.start as i32,
            value,
            mask,
        }
    }

    /// `false` when the bytes around an atom hit at `h` rule the signature out;
    /// `true` when they fit or the window does not fit in `hay`.
    #[inline]
    pub fn admits(&self, hay: &[u8], h: usize) -> bool {
        let Some(start) = h.checked_add_signed(self.rel as isize) else {
            return true;
        };
        match hay.get(start..start + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) & self.mask == self.value,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::hexpat::parse;

    #[test]
    fn window_around_the_atom() {
        let n = parse("01??0304050607080910*11").unwrap();
        let place = AtomPlace { start: 2, len: 4 };
        let w = Window::around(&n, place);
        assert_eq!(w.rel, 0);
        let hay = [0u8, 1, 0xaa, 3, 4, 5, 6, 7, 8, 9, 0x10, 0];
        assert!(w.admits(&hay, 3));
        assert!(!w.admits(&[0u8, 1, 0xaa, 3, 4, 5, 6, 7, 8, 0, 0x10, 0], 3));
        // Near the end the window does not fit: no decision.
        assert!(w.admits(&hay[..9], 3));
        let n = parse("aa{2}0102030405").unwrap();
        let w = Window::around(&n, AtomPlace { start: 2, len: 4 });
        assert_eq!((w.rel, w.mask), (0, 0xff_ffff_ffff));
    }

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
