//! Hash signatures in bulk: flat tables of fixed-size records and one string
//! arena for their names, with no allocation per signature.
//!
//! ClamAV's official database holds millions of hash signatures. Each one is a
//! record of `12 + digest length` bytes in the table of its digest kind:
//!
//! ```text
//! size    8 bytes  big-endian file size; u64::MAX for `*` (any size)
//! digest  16, 20 or 32 bytes
//! name    4 bytes  big-endian index of its name in the arena
//! ```
//!
//! Big-endian fields make the byte order of records their (size, digest,
//! load order) order, so a table is sorted with one `sort_unstable` of
//! fixed-size byte arrays, and a lookup is a binary search for the
//! `size ++ digest` prefix. Names are stored end to end, with one `u32` end
//! offset (little-endian) each.
//!
//! A [`HashTable`] is a list of segments. Text loading appends to an owned
//! segment; a compiled set contributes its segment as a range of the file's
//! bytes, searched where it lies (see [`super::compiled`]), never copied.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use super::HashKind;

/// Digest kinds in a fixed order, for arrays indexed by kind.
pub const KINDS: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

/// The record size field of a signature for any file size (`*`).
const ANY: u64 = u64::MAX;

/// The index of `kind` in [`KINDS`].
pub fn slot(kind: HashKind) -> usize {
    match kind {
        HashKind::Md5 => 0,
        HashKind::Sha1 => 1,
        HashKind::Sha256 => 2,
    }
}

/// The digest length of `kind`, bytes.
pub fn digest_len(kind: HashKind) -> usize {
    match kind {
        HashKind::Md5 => 16,
        HashKind::Sha1 => 20,
        HashKind::Sha256 => 32,
    }
}

/// The kind of a digest of `len` bytes.
pub fn kind_of_len(len: usize) -> Option<HashKind> {
    KINDS.into_iter().find(|&k| digest_len(k) == len)
}

/// The record size of `kind`, bytes.
pub fn stride(kind: HashKind) -> usize {
    12 + digest_len(kind)
}

/// Bytes owned, or a range of a buffer shared with others (a compiled set's
/// file, read once).
#[derive(Clone)]
pub enum Bytes {
    /// Owned bytes, growable.
    Owned(Vec<u8>),
    /// A range of a shared buffer.
    Shared(Arc<dyn AsRef<[u8]> + Send + Sync>, Range<usize>),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Owned(Vec::new())
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Shared(buf, range) => (**buf).as_ref().get(range.clone()).unwrap_or_default(),
        }
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self {
            Bytes::Owned(_) => "owned",
            Bytes::Shared(..) => "shared",
        };
        write!(f, "Bytes({how}, {} bytes)", self.len())
    }
}

impl Bytes {
    /// The owned bytes, copied out of a shared buffer first if need be.
    fn to_mut(&mut self) -> &mut Vec<u8> {
        if let Bytes::Shared(..) = self {
            *self = Bytes::Owned(self.to_vec());
        }
        match self {
            Bytes::Owned(v) => v,
            Bytes::Shared(..) => unreachable!("made owned above"),
        }
    }

    fn heap(&self) -> usize {
        match self {
            Bytes::Owned(v) => v.capacity(),
            Bytes::Shared(..) => 0,
        }
    }
}

/// One hash signature, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashEntry<'a> {
    /// Digest algorithm.
    pub kind: HashKind,
    /// The digest.
    pub digest: &'a [u8],
    /// File size it applies to; `None` for `*` (any size).
    pub size: Option<u64>,
    /// Name, exactly as in the database.
    pub name: &'a str,
}

/// One segment: a table per digest kind and the names of its records.
#[derive(Clone, Debug, Default)]
pub struct Segment {
    records: [Bytes; 3],
    names: Bytes,
    ends: Bytes,
    sorted: bool,
}

impl Segment {
    /// A segment over parts of a shared buffer, as a compiled set stores it:
    /// the three tables (in [`KINDS`] order), the names and their end offsets.
    /// Each table must be sorted; sizes are checked here, the rest by the
    /// compiled set's checksum (a bad record gives a wrong answer, never a
    /// panic).
    pub fn shared(
        buf: &Arc<dyn AsRef<[u8]> + Send + Sync>,
        records: [Range<usize>; 3],
        names: Range<usize>,
        ends: Range<usize>,
    ) -> Result<Segment, String> {
        let len = (**buf).as_ref().len();
        let all = records.iter().chain([&names, &ends]);
        if all.clone().any(|r| r.start > r.end || r.end > len) {
            return Err("hash table past the end of the file".into());
        }
        for (kind, r) in KINDS.iter().zip(&records) {
            if !(r.end - r.start).is_multiple_of(stride(*kind)) {
                return Err(format!("{} table of a partial record", kind.as_str()));
            }
        }
        if !(ends.end - ends.start).is_multiple_of(4) {
            return Err("name table of a partial entry".into());
        }
        let share = |r: &Range<usize>| Bytes::Shared(buf.clone(), r.clone());
        Ok(Segment {
            records: [share(&records[0]), share(&records[1]), share(&records[2])],
            names: share(&names),
            ends: share(&ends),
            sorted: true,
        })
    }

    /// Whether the tables are sorted (searchable).
    pub fn is_sorted(&self) -> bool {
        self.sorted
    }

    /// The raw table of `kind` (sorted once [`HashTable::sort`] ran).
    pub fn records(&self, kind: HashKind) -> &[u8] {
        &self.records[slot(kind)]
    }

    /// The names, end to end.
    pub fn names(&self) -> &[u8] {
        &self.names
    }

    /// The names' end offsets, `u32` little-endian each.
    pub fn name_ends(&self) -> &[u8] {
        &self.ends
    }

    fn name_count(&self) -> usize {
        self.ends.len() / 4
    }

    fn name(&self, index: u32) -> &str {
        let end_at = |i: usize| -> Option<usize> {
            let b = self.ends.get(i * 4..i * 4 + 4)?;
            Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
        };
        let i = index as usize;
        let start = if i == 0 { Some(0) } else { end_at(i - 1) };
        start
            .zip(end_at(i))
            .and_then(|(s, e)| self.names.get(s..e))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("(unreadable name)")
    }

    fn push(&mut self, kind: HashKind, digest: &[u8], size: Option<u64>, name: &str) -> bool {
        let index = self.name_count();
        let Ok(index) = u32::try_from(index) else {
            return false;
        };
        let Ok(end) = u32::try_from(self.names.len() + name.len()) else {
            return false;
        };
        self.names.to_mut().extend_from_slice(name.as_bytes());
        self.ends.to_mut().extend_from_slice(&end.to_le_bytes());
        let rec = self.records[slot(kind)].to_mut();
        rec.extend_from_slice(&size.unwrap_or(ANY).to_be_bytes());
        rec.extend_from_slice(digest);
        rec.extend_from_slice(&index.to_be_bytes());
        self.sorted = false;
        true
    }

    /// Append `other`'s records and names (its name indices moved past ours).
    fn append(&mut self, other: &Segment) -> bool {
        let (Ok(base), Ok(shift), Ok(_), Ok(_)) = (
            u32::try_from(self.name_count()),
            u32::try_from(self.names.len()),
            u32::try_from(self.name_count() + other.name_count()),
            u32::try_from(self.names.len() + other.names.len()),
        ) else {
            return false;
        };
        self.names.to_mut().extend_from_slice(&other.names);
        let ends = self.ends.to_mut();
        for e in other.ends.chunks_exact(4) {
            let e = u32::from_le_bytes(e.try_into().unwrap_or_default()) + shift;
            ends.extend_from_slice(&e.to_le_bytes());
        }
        for kind in KINDS {
            let s = stride(kind);
            let rec = self.records[slot(kind)].to_mut();
            for r in other.records[slot(kind)].chunks_exact(s) {
                rec.extend_from_slice(&r[..s - 4]);
                let n = u32::from_be_bytes(r[s - 4..].try_into().unwrap_or_default());
                rec.extend_from_slice(&n.saturating_add(base).to_be_bytes());
            }
        }
        self.sorted = false;
        true
    }

    fn sort(&mut self) {
        if self.sorted {
            return;
        }
        sort_records::<28>(self.records[0].to_mut());
        sort_records::<32>(self.records[1].to_mut());
        sort_records::<44>(self.records[2].to_mut());
        self.sorted = true;
    }

    fn count(&self, kind: HashKind) -> usize {
        self.records[slot(kind)].len() / stride(kind)
    }

    fn entries(&self, kind: HashKind) -> impl Iterator<Item = HashEntry<'_>> {
        let s = stride(kind);
        self.records[slot(kind)]
            .chunks_exact(s)
            .map(move |r| self.entry(kind, r))
    }

    fn entry<'a>(&'a self, kind: HashKind, r: &'a [u8]) -> HashEntry<'a> {
        let s = r.len();
        let size = u64::from_be_bytes(r[..8].try_into().unwrap_or_default());
        HashEntry {
            kind,
            digest: &r[8..s - 4],
            size: (size != ANY).then_some(size),
            name: self.name(u32::from_be_bytes(
                r[s - 4..].try_into().unwrap_or_default(),
            )),
        }
    }

    /// Whether a (sorted) table of `kind` has an entry for `size`.
    fn needs(&self, kind: HashKind, size: u64) -> bool {
        let (recs, s) = (&self.records[slot(kind)], stride(kind));
        if recs.len() >= s && recs[recs.len() - s..].starts_with(&ANY.to_be_bytes()) {
            return true;
        }
        let key = size.to_be_bytes();
        let at = lower_bound(recs, s, &key);
        recs.get(at * s..).is_some_and(|r| r.starts_with(&key))
    }

    /// The names of the entries of a (sorted) table for `digest` and `size`.
    fn lookup<'a>(
        &'a self,
        kind: HashKind,
        digest: &'a [u8],
        size: u64,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let (recs, s) = (&self.records[slot(kind)], stride(kind));
        [size, ANY].into_iter().flat_map(move |size| {
            let mut key = [0u8; 40];
            key[..8].copy_from_slice(&size.to_be_bytes());
            key[8..8 + digest.len()].copy_from_slice(digest);
            let key_len = 8 + digest.len();
            let at = lower_bound(recs, s, &key[..key_len]);
            recs.get(at * s..)
                .unwrap_or_default()
                .chunks_exact(s)
                .take_while(move |r| r[..key_len] == key[..key_len])
                .map(move |r| self.entry(kind, r).name)
        })
    }
}

/// Sort fixed-size records, on the rayon pool when there are many.
fn sort_records<const S: usize>(bytes: &mut [u8]) {
    use rayon::slice::ParallelSliceMut;
    let (records, rest) = bytes.as_chunks_mut::<S>();
    debug_assert!(rest.is_empty(), "whole records only");
    // The first 16 bytes (size and the start of the digest) as one integer
    // decide nearly every comparison; the rest only breaks their ties.
    let key = |r: &[u8; S]| u128::from_be_bytes(r[..16].try_into().unwrap_or_default());
    let order = |a: &[u8; S], b: &[u8; S]| key(a).cmp(&key(b)).then_with(|| a.cmp(b));
    if records.len() > 1 << 16 {
        records.par_sort_unstable_by(order);
    } else {
        records.sort_unstable_by(order);
    }
}

/// The first record of `recs` (of `stride` bytes each) not below `key`.
fn lower_bound(recs: &[u8], stride: usize, key: &[u8]) -> usize {
    let (mut lo, mut hi) = (0, recs.len() / stride);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if recs[mid * stride..][..key.len()] < *key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Hash signatures (or allow-list entries) of every kind.
#[derive(Clone, Debug, Default)]
pub struct HashTable {
    segments: Vec<Segment>,
}

impl HashTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one signature. `false` (and nothing added) when the table is full:
    /// 2³² names or 4 GiB of them.
    pub fn push(&mut self, kind: HashKind, digest: &[u8], size: Option<u64>, name: &str) -> bool {
        debug_assert_eq!(digest.len(), digest_len(kind));
        if self.segments.last().is_none_or(|s| s.sorted) {
            self.segments.push(Segment::default());
        }
        self.segments
            .last_mut()
            .is_some_and(|s| s.push(kind, digest, size, name))
    }

    /// Add a segment as it is (a compiled set's).
    pub fn push_segment(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// Add everything from `other`. Two owned segments meeting are joined,
    /// the smaller copied into the larger.
    pub fn append(&mut self, mut other: HashTable) {
        let joinable = |s: &Segment| !s.sorted && matches!(s.names, Bytes::Owned(_));
        if let (Some(a), Some(b)) = (self.segments.last_mut(), other.segments.first_mut())
            && joinable(a)
            && joinable(b)
        {
            if a.names.len() < b.names.len() {
                std::mem::swap(a, b);
            }
            if a.append(b) {
                other.segments.remove(0);
            }
        }
        self.segments.append(&mut other.segments);
    }

    /// Sort every segment for lookups.
    pub fn sort(&mut self) {
        self.segments.iter_mut().for_each(Segment::sort);
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// One sorted segment holding everything (copied if there were several).
    pub fn joined(&self) -> Segment {
        let mut out = Segment::default();
        match self.segments.as_slice() {
            [one] => out = one.clone(),
            all => {
                for s in all {
                    out.append(s);
                }
            }
        }
        out.sort();
        out
    }

    /// Number of entries of `kind`.
    pub fn count(&self, kind: HashKind) -> usize {
        self.segments.iter().map(|s| s.count(kind)).sum()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        KINDS.iter().map(|&k| self.count(k)).sum()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, kind by kind.
    pub fn iter(&self) -> impl Iterator<Item = HashEntry<'_>> {
        KINDS
            .into_iter()
            .flat_map(move |k| self.segments.iter().flat_map(move |s| s.entries(k)))
    }

    /// Whether a file of `size` bytes needs a `kind` digest (the table must be
    /// sorted).
    pub fn needs(&self, kind: HashKind, size: u64) -> bool {
        self.segments.iter().any(|s| s.needs(kind, size))
    }

    /// Names of the entries matching `digest` (its length tells the kind) for
    /// a file of `size` bytes (the table must be sorted).
    pub fn lookup<'a>(&'a self, digest: &'a [u8], size: u64) -> impl Iterator<Item = &'a str> + 'a {
        let kind = kind_of_len(digest.len());
        self.segments
            .iter()
            .filter(move |_| kind.is_some())
            .flat_map(move |s| s.lookup(kind.unwrap_or(HashKind::Md5), digest, size))
    }

    /// Heap bytes in use (shared buffers not counted).
    pub fn memory_usage(&self) -> usize {
        self.segments
            .iter()
            .map(|s| {
                s.records.iter().map(Bytes::heap).sum::<usize>() + s.names.heap() + s.ends.heap()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_size_and_any() {
        let mut t = HashTable::new();
        let d = |b: u8| [b; 16];
        t.push(HashKind::Md5, &d(1), Some(10), "A");
        t.push(HashKind::Md5, &d(1), None, "B");
        t.push(HashKind::Md5, &d(2), Some(10), "C");
        let mut other = HashTable::new();
        other.push(HashKind::Sha256, &[3; 32], Some(7), "D");
        other.push(HashKind::Md5, &d(1), Some(10), "E");
        t.append(other);
        t.sort();
        let names =
            |dg: &[u8], size| -> Vec<String> { t.lookup(dg, size).map(String::from).collect() };
        assert_eq!(names(&d(1), 10), ["A", "E", "B"]);
        assert_eq!(names(&d(1), 11), ["B"]);
        assert!(names(&d(2), 11).is_empty());
        assert_eq!(names(&[3; 32], 7), ["D"]);
        assert!(t.needs(HashKind::Md5, 12345));
        assert!(t.needs(HashKind::Sha256, 7));
        assert!(!t.needs(HashKind::Sha256, 8));
        assert!(!t.needs(HashKind::Sha1, 7));
        assert_eq!((t.len(), t.count(HashKind::Md5)), (5, 4));
        let joined = t.joined();
        assert_eq!(joined.count(HashKind::Md5), 4);
        assert_eq!(
            joined
                .lookup(HashKind::Sha256, &[3; 32], 7)
                .collect::<Vec<_>>(),
            ["D"]
        );
    }
}
