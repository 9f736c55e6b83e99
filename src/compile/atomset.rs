//! Finding atoms in a haystack: every position where any atom starts.
//!
//! An Aho-Corasick DFA over thousands of atoms has tens of MiB of transition
//! table, so a search is a cache miss per byte (about 170 MB/s per core on
//! ordinary files with 8,000 atoms). Atoms are at most four bytes, which allows a
//! search that stays in L1 cache: a 65,536-bit table says which byte pairs begin
//! an atom, and only at those positions are the atoms of each length looked up in
//! small open-addressing tables. Atom choice keeps such positions rare.

use super::atoms::MAX_ATOM;

/// An open-addressing map from up to four bytes (as `u32`) to an atom id.
#[derive(Clone, Debug, Default)]
struct Table {
    keys: Vec<u32>,
    ids: Vec<u32>,
    shift: u32,
    len: usize,
}

const EMPTY: u32 = u32::MAX;

impl Table {
    fn new(entries: &[(u32, u32)]) -> Table {
        if entries.is_empty() {
            return Table::default();
        }
        let cap = (entries.len() * 2).next_power_of_two().max(16);
        let mut t = Table {
            keys: vec![0; cap],
            ids: vec![EMPTY; cap],
            shift: 32 - cap.trailing_zeros(),
            len: entries.len(),
        };
        for &(k, id) in entries {
            let mut i = t.slot(k);
            while t.ids[i] != EMPTY {
                i = (i + 1) & (cap - 1);
            }
            t.keys[i] = k;
            t.ids[i] = id;
        }
        t
    }

    #[inline]
    fn slot(&self, k: u32) -> usize {
        (k.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, k: u32) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            let id = self.ids[i];
            if id == EMPTY {
                return None;
            }
            if self.keys[i] == k {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    fn memory_usage(&self) -> usize {
        self.keys.len() * 8
    }
}

/// Bits in the 4-byte filter: 2^20 bits (128 KiB, L2-resident) keep the false
/// positive rate near 1% with 10,000 atoms.
const FILTER_BITS: u32 = 20;

/// All atoms of a signature set, searchable.
#[derive(Clone, Debug)]
pub struct AtomSet {
    /// Bit `hash(w)` is set for every 4-byte atom `w`.
    filter: Vec<u64>,
    /// Bit `b0 | b1 << 8` is set when some atom shorter than four bytes starts
    /// with `b0 b1` (or is `b0` alone).
    short_starts: Box<[u64; 1024]>,
    has_short: bool,
    /// Atom ids by length - 1.
    by_len: [Table; MAX_ATOM],
}

fn key(bytes: &[u8]) -> u32 {
    let mut k = [0u8; 4];
    k[..bytes.len()].copy_from_slice(bytes);
    u32::from_le_bytes(k)
}

#[inline]
fn filter_slot(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS)) as usize
}

#[inline]
fn bit(table: &[u64], i: usize) -> bool {
    (table[i >> 6] >> (i & 63)) & 1 != 0
}

impl AtomSet {
    /// Index `atoms` (1 to 4 bytes each); atom `i` is reported as id `i`.
    pub fn new<'a>(atoms: impl IntoIterator<Item = &'a [u8]>) -> AtomSet {
        let mut filter = vec![0u64; 1 << (FILTER_BITS - 6)];
        let mut short_starts = Box::new([0u64; 1024]);
        let mut has_short = false;
        let mut entries: [Vec<(u32, u32)>; MAX_ATOM] = Default::default();
        for (id, a) in atoms.into_iter().enumerate() {
            assert!(
                (1..=MAX_ATOM).contains(&a.len()),
                "atoms are 1 to {MAX_ATOM} bytes"
            );
            let k = key(a);
            match a.len() {
                4 => filter[filter_slot(k) >> 6] |= 1 << (filter_slot(k) & 63),
                1 => {
                    has_short = true;
                    (0..256usize).for_each(|b1| {
                        let bg = a[0] as usize | b1 << 8;
                        short_starts[bg >> 6] |= 1 << (bg & 63);
                    });
                }
                _ => {
                    has_short = true;
                    let bg = a[0] as usize | (a[1] as usize) << 8;
                    short_starts[bg >> 6] |= 1 << (bg & 63);
                }
            }
            entries[a.len() - 1].push((k, id as u32));
        }
        AtomSet {
            filter,
            short_starts,
            has_short,
            by_len: entries.map(|e| Table::new(&e)),
        }
    }

    /// Approximate heap use in bytes.
    pub fn memory_usage(&self) -> usize {
        self.filter.len() * 8 + 8192 + self.by_len.iter().map(Table::memory_usage).sum::<usize>()
    }

    /// Call `f(atom_id, position)` for every atom occurrence, in position order
    /// (shorter atoms first at one position). Stops when `f` returns `false`.
    #[inline]
    pub fn for_each(&self, hay: &[u8], mut f: impl FnMut(u32, usize) -> bool) {
        let n = hay.len();
        let mut p = 0;
        while p + 4 <= n {
            let w = u32::from_le_bytes([hay[p], hay[p + 1], hay[p + 2], hay[p + 3]]);
            let short = self.has_short && bit(&self.short_starts[..], (w & 0xffff) as usize);
            if (short || bit(&self.filter, filter_slot(w))) && !self.at(hay, p, &mut f) {
                return;
            }
            p += 1;
        }
        while p < n {
            if self.has_short && !self.at(hay, p, &mut f) {
                return;
            }
            p += 1;
        }
    }

    /// Look up the atoms of every length at `p`.
    #[inline]
    fn at(&self, hay: &[u8], p: usize, f: &mut impl FnMut(u32, usize) -> bool) -> bool {
        let rest = &hay[p..];
        for (len, table) in self.by_len.iter().enumerate() {
            if table.len == 0 || rest.len() <= len {
                continue;
            }
            if let Some(id) = table.get(key(&rest[..=len]))
                && !f(id, p)
            {
                return false;
            }
        }
        true
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

    #[test]
    fn finds_every_occurrence_like_a_naive_search() {
        let atoms: Vec<&[u8]> = vec![b"ab", b"abcd", b"b", b"cda", b"dabc", b"zz", b"\xff\x00"];
        let mut seed = 7u64;
        for len in 0..200 {
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    [b'a', b'b', b'c', b'd', b'z', 0xff, 0][(seed % 7) as usize]
                })
                .collect();
            let set = AtomSet::new(atoms.iter().copied());
            let mut got = Vec::new();
            set.for_each(&hay, |id, p| {
                got.push((id, p));
                true
            });
            assert_eq!(got, naive(&atoms, &hay), "{hay:?}");
        }
    }
}
