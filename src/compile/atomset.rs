//! Finding atoms in a haystack: every position where any atom starts.
//!
//! An Aho-Corasick DFA over thousands of atoms has tens of MiB of transition
//! table, so a search is a cache miss per byte (about 170 MB/s per core on
//! ordinary files with 8,000 atoms). Atoms are at most four bytes, which allows a
//! search with a small working set instead:
//!
//! - every 4-byte window is hashed into a bit filter; 3-byte atoms are entered as
//!   their 256 four-byte extensions, so one filter covers both;
//! - at a filter hit, an open-addressing table maps the exact window to the atoms
//!   it holds (shortest first);
//! - 1- and 2-byte atoms, rare in practice, add a byte-pair table check per
//!   position only when the set has any;
//! - the last three positions of a buffer are looked up with zero padding; a hit
//!   that runs past the end is rejected by verification.

use super::atoms::MAX_ATOM;
use super::simd::Avx2;

/// An open-addressing map from four bytes (as `u32`) to a group index.
#[derive(Clone, Debug, Default)]
struct Table {
    keys: Vec<u32>,
    groups: Vec<u32>,
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

const HASH_MUL: u32 = 0x9E37_79B1;

fn hash(k: u32) -> u32 {
    k.wrapping_mul(HASH_MUL)
}

impl Table {
    fn new(entries: &[(u32, u32)]) -> Table {
        let cap = (entries.len() * 2).next_power_of_two().max(16);
        let mut t = Table {
            keys: vec![0; cap],
            groups: vec![EMPTY; cap],
            shift: 32 - cap.trailing_zeros(),
        };
        for &(k, g) in entries {
            let mut i = t.slot(k);
            while t.groups[i] != EMPTY {
                i = (i + 1) & (cap - 1);
            }
            t.keys[i] = k;
            t.groups[i] = g;
        }
        t
    }

    #[inline]
    fn slot(&self, k: u32) -> usize {
        (hash(k) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, k: u32) -> Option<u32> {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            let g = self.groups[i];
            if g == EMPTY || self.keys[i] == k {
                return (g != EMPTY).then_some(g);
            }
            i = (i + 1) & mask;
        }
    }

    fn memory_usage(&self) -> usize {
        self.keys.len() * 8
    }
}

/// Bits in the 4-byte filter: about 128 per key keeps false positives under 1%;
/// 2^20 bits (128 KiB, L2-resident) serve 8,000 keys, and the filter grows with
/// the set up to 2^24 bits (2 MiB).
fn filter_bits(keys: usize) -> u32 {
    (keys.max(1) * 128)
        .next_power_of_two()
        .trailing_zeros()
        .clamp(16, 24)
}

/// Atoms of one or two bytes.
#[derive(Clone, Debug)]
struct Tiny {
    /// Bit `b0 | b1 << 8` set when a 2-byte atom is `b0 b1` or a 1-byte atom is `b0`.
    pairs: Box<[u64; 1024]>,
    /// Atom ids by first byte (1-byte atoms) and by pair (2-byte atoms).
    singles: Vec<Vec<u32>>,
    doubles: std::collections::HashMap<u16, Vec<u32>>,
}

/// All atoms of a signature set, searchable.
#[derive(Clone, Debug)]
pub struct AtomSet {
    /// Bit `hash(w) >> shift` is set for every 4-byte key `w`.
    filter: Vec<u64>,
    shift: u32,
    /// Probe eight windows at a time with AVX2 (`super::simd`), where the CPU
    /// has it and it was measured faster.
    avx2: Option<Avx2>,
    /// Exact 4-byte key -> index into `groups`.
    table: Table,
    /// Atom ids per key, 3-byte atoms before 4-byte ones.
    groups: Vec<Vec<u32>>,
    tiny: Option<Tiny>,
}

#[inline]
fn bit(table: &[u64], i: usize) -> bool {
    (table[i >> 6] >> (i & 63)) & 1 != 0
}

fn set_bit(table: &mut [u64], i: usize) {
    table[i >> 6] |= 1 << (i & 63);
}

impl AtomSet {
    /// Index `atoms` (1 to 4 bytes each); atom `i` is reported as id `i`.
    pub fn new<'a>(atoms: impl IntoIterator<Item = &'a [u8]>) -> AtomSet {
        let mut by_key: rustc_hash::FxHashMap<u32, Vec<u32>> = Default::default();
        let mut tiny: Option<Tiny> = None;
        for (id, a) in atoms.into_iter().enumerate() {
            let id = id as u32;
            match *a {
                [b0, b1, b2, b3] => by_key
                    .entry(u32::from_le_bytes([b0, b1, b2, b3]))
                    .or_default()
                    .push(id),
                [b0, b1, b2] => (0..=255u8).for_each(|b3| {
                    by_key
                        .entry(u32::from_le_bytes([b0, b1, b2, b3]))
                        .or_default()
                        .insert(0, id)
                }),
                [b0] | [b0, _] => {
                    let t = tiny.get_or_insert_with(|| Tiny {
                        pairs: Box::new([0; 1024]),
                        singles: vec![Vec::new(); 256],
                        doubles: Default::default(),
                    });
                    if let [_, b1] = *a {
                        set_bit(&mut t.pairs[..], usize::from(b0) | usize::from(b1) << 8);
                        t.doubles
                            .entry(u16::from_le_bytes([b0, b1]))
                            .or_default()
                            .push(id);
                    } else {
                        (0..256)
                            .for_each(|b1| set_bit(&mut t.pairs[..], usize::from(b0) | b1 << 8));
                        t.singles[usize::from(b0)].push(id);
                    }
                }
                _ => panic!("atoms are 1 to {MAX_ATOM} bytes"),
            }
        }
        let bits = filter_bits(by_key.len());
        let shift = 32 - bits;
        let mut filter = vec![0u64; 1 << (bits - 6)];
        let mut groups = Vec::with_capacity(by_key.len());
        let mut entries = Vec::with_capacity(by_key.len());
        for (k, ids) in by_key {
            set_bit(&mut filter, (hash(k) >> shift) as usize);
            entries.push((k, groups.len() as u32));
            groups.push(ids);
        }
        let mut set = AtomSet {
            filter,
            shift,
            avx2: None,
            table: Table::new(&entries),
            groups,
            tiny,
        };
        set.avx2 = Avx2::detect().filter(|&t| set.vector_probe_is_faster(t));
        set
    }

    /// Time the AVX2 probe against the scalar one on this set's filter. The
    /// gather that the AVX2 probe rests on is fast on some CPUs and several
    /// times slower on others (Intel parts with the gather data sampling
    /// mitigation in microcode), so the choice is measured, not assumed: both
    /// find exactly the same atoms. Here (AMD EPYC, Zen 4) 32 KiB take 18 µs
    /// with AVX2 and 24 µs without; the whole measurement about 0.2 ms, once
    /// per set.
    fn vector_probe_is_faster(&self, avx2: Avx2) -> bool {
        if self.tiny.is_some() {
            return false;
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let hay: Vec<u8> = (0..32 << 10)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly small values, as in binaries and text.
                (seed % 97) as u8
            })
            .collect();
        let time = |avx2: Option<Avx2>| {
            let t = std::time::Instant::now();
            let mut n = 0usize;
            self.for_each_probing(&hay, avx2, |_, _| {
                n += 1;
                true
            });
            std::hint::black_box(n);
            t.elapsed()
        };
        let (mut vector, mut scalar) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..5 {
            vector = vector.min(time(Some(avx2)));
            scalar = scalar.min(time(None));
        }
        vector <= scalar
    }

    /// Whether the AVX2 probe was chosen (see `vector_probe_is_faster`).
    pub fn vector_probe(&self) -> bool {
        self.avx2.is_some()
    }

    /// Approximate heap use in bytes.
    pub fn memory_usage(&self) -> usize {
        self.filter.len() * 8
            + self.table.memory_usage()
            + self.groups.iter().map(|g| 24 + g.len() * 4).sum::<usize>()
            + self.tiny.as_ref().map_or(0, |_| 8192 + 256 * 24)
    }

    #[inline]
    fn filter_slot(&self, w: u32) -> usize {
        (hash(w) >> self.shift) as usize
    }

    /// Call `f(atom_id, position)` for every atom occurrence, in position order.
    /// Stops when `f` returns `false`.
    #[inline]
    pub fn for_each(&self, hay: &[u8], f: impl FnMut(u32, usize) -> bool) {
        self.for_each_probing(hay, self.avx2, f)
    }

    /// [`AtomSet::for_each`] with the AVX2 probe (given its token) or without.
    #[inline]
    fn for_each_probing(
        &self,
        hay: &[u8],
        avx2: Option<Avx2>,
        mut f: impl FnMut(u32, usize) -> bool,
    ) {
        let n = hay.len();
        let mut p = 0;
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = avx2.filter(|_| self.tiny.is_none()) {
            // `filter` was made with `2^(32 - shift)` bits in `new`.
            let (end, go) = avx2.probe_run(&self.filter, self.shift, HASH_MUL, hay, 0, |q| {
                let w = u32::from_le_bytes(hay[q..q + 4].try_into().unwrap_or([0; 4]));
                self.quad(w, q, &mut f)
            });
            if !go {
                return;
            }
            p = end;
        }
        if self.tiny.is_none() {
            // Four positions per 8-byte load; the filter probes are independent,
            // so their cache misses overlap.
            while p + 8 <= n {
                let x = u64::from_le_bytes(hay[p..p + 8].try_into().unwrap_or([0; 8]));
                let mut m = 0u32;
                for i in 0..4 {
                    m |= u32::from(bit(&self.filter, self.filter_slot((x >> (8 * i)) as u32))) << i;
                }
                while m != 0 {
                    let i = m.trailing_zeros() as usize;
                    m &= m - 1;
                    if !self.quad(
                        u32::from_le_bytes(hay[p + i..p + i + 4].try_into().unwrap_or([0; 4])),
                        p + i,
                        &mut f,
                    ) {
                        return;
                    }
                }
                p += 4;
            }
        }
        while p < n {
            let mut w = [0u8; 4];
            let avail = (n - p).min(4);
            w[..avail].copy_from_slice(&hay[p..p + avail]);
            let w = u32::from_le_bytes(w);
            if let Some(t) = &self.tiny
                && bit(&t.pairs[..], (w & 0xffff) as usize)
                && !self.tiny_at(t, w, p, avail, &mut f)
            {
                return;
            }
            if bit(&self.filter, self.filter_slot(w)) && !self.quad(w, p, &mut f) {
                return;
            }
            p += 1;
        }
    }

    #[inline]
    fn quad(&self, w: u32, p: usize, f: &mut impl FnMut(u32, usize) -> bool) -> bool {
        match self.table.get(w) {
            Some(g) => self.groups[g as usize].iter().all(|&id| f(id, p)),
            None => true,
        }
    }

    fn tiny_at(
        &self,
        t: &Tiny,
        w: u32,
        p: usize,
        avail: usize,
        f: &mut impl FnMut(u32, usize) -> bool,
    ) -> bool {
        let one = t.singles[(w & 0xff) as usize].iter();
        let two = match avail >= 2 {
            true => t.doubles.get(&((w & 0xffff) as u16)).map(|v| v.iter()),
            false => None,
        };
        one.chain(two.into_iter().flatten()).all(|&id| f(id, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(atoms: &[&[u8]], hay: &[u8]) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for p in 0..hay.len() {
            for (id, a) in atoms.iter().enumerate().filter(|(_, a)| a.len() <= 4) {
                if hay[p..].starts_with(a) {
                    out.push((id as u32, p));
                }
            }
        }
        out.sort_by_key(|&(id, p)| (p, atoms[id as usize].len()));
        out
    }

    fn check(atoms: &[&[u8]], alphabet: &[u8]) {
        let set = AtomSet::new(atoms.iter().copied());
        let mut seed = 7u64;
        for len in 0..300 {
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let mut got = Vec::new();
            set.for_each(&hay, |id, p| {
                // Hits running past the end are the caller's to reject.
                if p + atoms[id as usize].len() <= hay.len() {
                    got.push((id, p));
                }
                true
            });
            assert_eq!(got, naive(atoms, &hay), "{hay:?}");
        }
    }

    #[test]
    fn finds_every_occurrence_like_a_naive_search() {
        let alphabet = [b'a', b'b', b'c', b'd', b'z', 0xff, 0];
        // With 1- and 2-byte atoms (the per-position path)...
        check(
            &[b"ab", b"abcd", b"b", b"cda", b"dabc", b"zz", b"\xff\x00"],
            &alphabet,
        );
        // ...and without (the four-at-a-time path), with a 3-byte atom that is a
        // prefix of a 4-byte one and a 4-byte atom ending in the padding byte.
        check(
            &[b"abc", b"abcd", b"cda", b"dabc", b"zz\xff\x00", b"bbbb"],
            &alphabet,
        );
    }

    #[test]
    fn many_atoms_vectorised_and_scalar_agree_with_naive() {
        // A set the size of real ones, over a small alphabet so hits are dense:
        // exercises the AVX2 probe (where the CPU has it) and the scalar loop.
        let mut seed = 99u64;
        let mut next = |k: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % k
        };
        let owned: Vec<Vec<u8>> = (0..300)
            .map(|_| {
                (0..3 + next(2))
                    .map(|_| b"abcd"[next(4) as usize])
                    .collect()
            })
            .collect();
        let mut atoms: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        atoms.sort();
        atoms.dedup();
        check(&atoms, b"abcde");
        let set = AtomSet::new(atoms.iter().copied());
        let hay: Vec<u8> = (0..5000).map(|_| b"abcde"[next(5) as usize]).collect();
        let collect = |avx2: Option<Avx2>| {
            let mut got = Vec::new();
            set.for_each_probing(&hay, avx2, |id, p| {
                got.push((id, p));
                true
            });
            got
        };
        let scalar = collect(None);
        assert!(scalar.len() > 1000);
        assert_eq!(collect(Avx2::detect()), scalar);
    }
}
