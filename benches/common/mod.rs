//! Deterministic synthetic data shared by the benches: signature sets in ClamAV
//! `.ndb` form and haystacks that mix text, machine-code-like bytes and padding.
//! Nothing is read from disk, so the benches run on a fresh clone.
#![allow(dead_code)]

use std::fmt::Write as _;

/// SplitMix64: tiny, fast, and the same stream on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// A fixed vocabulary of 4000 lowercase words (letters drawn with English-like
/// skew), shared by text haystacks and text-like signatures so that atoms hit
/// text and verification really runs.
pub fn vocabulary(rng: &mut Rng) -> Vec<Vec<u8>> {
    const LETTERS: &[u8] = b"etaoinshrdlcumwfgypbvkjxqz";
    (0..4000)
        .map(|_| {
            (0..rng.range(2, 10))
                .map(|_| LETTERS[rng.range(0, 25).min(rng.range(0, 25))])
                .collect()
        })
        .collect()
}

/// One pattern byte: mostly uniform binary, sometimes a common byte.
fn binary_byte(rng: &mut Rng) -> u8 {
    match rng.range(0, 9) {
        0 => 0x00,
        1 => 0xff,
        2 => 0x8b, // mov
        _ => rng.byte(),
    }
}

/// The literal bytes a generated signature is built around (8..=24 bytes).
fn literal(rng: &mut Rng, vocab: &[Vec<u8>]) -> Vec<u8> {
    let len = rng.range(8, 24);
    if rng.chance(20) {
        // Text-like: words and spaces, with one byte >= 0x80 planted so that the
        // whole signature never matches a text haystack by chance.
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&vocab[rng.range(0, vocab.len() - 1)]);
            out.push(b' ');
        }
        out.truncate(len);
        let at = rng.range(1, len - 1);
        out[at] = 0x80 | rng.byte();
        out
    } else {
        (0..len).map(|_| binary_byte(rng)).collect()
    }
}

/// One hex pattern: the literal with some `??`, nibbles, `{n}` / `{n-m}` gaps and
/// `(..|..)` alternations mixed in. Never starts or ends with a gap. No `*`: an
/// unbounded gap before the atom costs time quadratic in the input (see the
/// `star_gap` group of `benches/scan.rs`), which would swamp every other figure.
pub fn pattern(rng: &mut Rng, vocab: &[Vec<u8>]) -> String {
    let lit = literal(rng, vocab);
    let wildcards = rng.chance(25);
    let gap_at = rng.chance(15).then(|| rng.range(2, lit.len() - 2));
    let alt_at = rng.chance(15).then(|| rng.range(1, lit.len() - 2));
    let mut out = String::with_capacity(lit.len() * 2 + 16);
    for (i, &b) in lit.iter().enumerate() {
        if gap_at == Some(i) {
            match rng.range(0, 9) {
                0 => write!(out, "{{{}}}", rng.range(1, 16)).unwrap(),
                _ => {
                    let lo = rng.range(0, 8);
                    write!(out, "{{{}-{}}}", lo, lo + rng.range(1, 64)).unwrap();
                }
            }
        }
        let inner = i > 0 && i + 1 < lit.len();
        if alt_at == Some(i) {
            out.push('(');
            for k in 0..rng.range(2, 3) {
                if k > 0 {
                    out.push('|');
                }
                for j in 0..rng.range(1, 3) {
                    let v = if k == 0 && j == 0 {
                        b
                    } else {
                        binary_byte(rng)
                    };
                    write!(out, "{v:02x}").unwrap();
                }
            }
            out.push(')');
        } else if wildcards && inner && rng.chance(12) {
            match rng.range(0, 3) {
                0 => write!(out, "{:x}?", b >> 4).unwrap(),
                1 => write!(out, "?{:x}", b & 15).unwrap(),
                _ => out.push_str("??"),
            }
        } else {
            write!(out, "{b:02x}").unwrap();
        }
    }
    out
}

/// `count` body signatures as `.ndb` text: `Bench.Gen.<i>:0:*:<hex>`.
pub fn ndb(count: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let vocab = vocabulary(&mut Rng::new(7));
    let mut out = String::with_capacity(count * 48);
    for i in 0..count {
        writeln!(out, "Bench.Gen.{i}:0:*:{}", pattern(&mut rng, &vocab)).unwrap();
    }
    out
}

/// `len` bytes that look like a mix of files: ASCII text, UTF-16LE text,
/// machine-code-like bytes (many zeros, common opcodes) and zero padding.
pub fn haystack(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let vocab = vocabulary(&mut Rng::new(7));
    let mut out = Vec::with_capacity(len + 65536);
    while out.len() < len {
        let seg = rng.range(256, 32 << 10);
        let end = out.len() + seg;
        match rng.range(0, 9) {
            0..=3 => text(&mut rng, &vocab, &mut out, end, false),
            4 => text(&mut rng, &vocab, &mut out, end, true),
            5..=8 => code(&mut rng, &mut out, end),
            _ => out.resize(end, 0),
        }
    }
    out.truncate(len);
    out
}

fn text(rng: &mut Rng, vocab: &[Vec<u8>], out: &mut Vec<u8>, end: usize, wide: bool) {
    const PUNCT: &[u8] = b" .,;:()=\n\t/_\"";
    while out.len() < end {
        let word = &vocab[rng.range(0, vocab.len() - 1)];
        let cap = rng.chance(10);
        let sep = PUNCT[(rng.byte() as usize % PUNCT.len()) * (rng.chance(30) as usize)];
        for (i, &c) in word.iter().chain(std::iter::once(&sep)).enumerate() {
            let c = if cap && i == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            };
            out.push(c);
            if wide {
                out.push(0);
            }
        }
    }
}

fn code(rng: &mut Rng, out: &mut Vec<u8>, end: usize) {
    const COMMON: &[u8] = &[
        0x00, 0x00, 0x00, 0xff, 0x8b, 0x89, 0x48, 0xe8, 0x0f, 0x83, 0xc3, 0xcc, 0x90,
    ];
    while out.len() < end {
        let b = if rng.chance(45) {
            COMMON[rng.range(0, COMMON.len() - 1)]
        } else {
            rng.byte()
        };
        out.push(b);
    }
}
