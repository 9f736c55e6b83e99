//! Sparse files: scanning a file of terabytes whose data is a few blocks, in the
//! time it takes to read those blocks, with exactly the verdict a scan of every
//! byte (holes read as zeros) would give.
//!
//! # The compact view
//!
//! `SEEK_DATA`/`SEEK_HOLE` list the file's holes. Each long hole is replaced by a
//! run of `Z` zero bytes, and the result (data, short holes read as zeros, and
//! the shortened runs) is scanned as an ordinary haystack, the *view*. Holes are
//! never read.
//!
//! `Z` comes from the signature set ([`SparseLimits`]): for a pattern `P` let
//! `K(P)` be the sum over its nodes of: 1 for a byte, the longest alternative for
//! an alternation, `max` for a bounded gap, `min` for an unbounded gap (`*`,
//! `{n-}`). Then `Z = max K(P) + 1`, and a hole is shortened only when it is
//! longer than `Z`.
//!
//! # Why the verdict is exact
//!
//! Take a file `C = A · 0^L · B` and `C' = A · 0^Z · B` with `L > Z`. A match
//! of `P` is a sequence of node consumptions over a span; its part inside the
//! zero run is a contiguous piece of that sequence.
//!
//! - *Inside the run only.* Shrinking every unbounded gap to its minimum leaves
//!   a match of at most `K(P) < Z` zero bytes, which fits in either run; a match
//!   in the shorter run fits in the longer one.
//! - *Touching one end of the run.* The bytes outside are the same in both
//!   files; inside, the piece is all zeros and can be shrunk the same way to at
//!   most `K(P)` bytes, keeping its distance from that end, so it fits in `Z`;
//!   the other way round it fits in `L` trivially.
//! - *Covering the whole run.* Bounded nodes consume at most `K_b(P)` bytes
//!   (their maxima), and `L > Z > K_b(P)`, so some unbounded gap overlaps the
//!   run: shrinking (or growing) the gaps inside the run by `L - Z` keeps each
//!   at least its minimum, because `Z ≥ K_b(P) + Σ min ≥` what the bounded
//!   nodes and the minima need; the parts left and right of those gaps keep
//!   their distance from the run's ends.
//! - *Not touching the run.* The bytes are the same.
//!
//! So `P` matches `C` iff it matches `C'`; replacing runs one at a time extends
//! this to any number of holes. What the argument does not cover is handled
//! apart:
//!
//! - **Anchored offsets.** `n[,shift]` needs real positions before the latest
//!   allowed start, and `EOF-n[,shift]` needs the real distance to the end. The
//!   first `max(n + shift) + 1` bytes and the last `max(n)` bytes are never
//!   shortened, so every allowed start of an anchored signature lies where view
//!   and file agree (up to a constant shift for `EOF-n`, which
//!   [`Geometry::start_range`] applies). A match starting before a shortened run
//!   keeps its start; one starting after it keeps its distance to the end.
//! - **File type** (target types 1, 6, 9) is read from the real file's header
//!   and `e_lfanew`, not from the view.
//! - **Trailers** (the EICAR rule's "only whitespace follows, file at most N
//!   bytes"): the view is used only when it is longer than every such `N`, so a
//!   trailer fails in the view exactly when it fails in the file.
//! - **Hash signatures** need every byte: when the set has a hash (or allow-list
//!   hash) for the file's size, the view is not used.
//!
//! Offsets in reports are real: a position in a shortened run is mapped to the
//! same distance from the run's end (a match that starts in a zero run either
//! lies in zeros, where any placement is a match, or runs into the data after
//! it).
//!
//! When the view would not be much smaller than the file (few or short holes,
//! `Z` above [`MAX_ZERO_RUN`](crate::compile::sparse::MAX_ZERO_RUN) because of a pattern with a huge bounded gap, a
//! filesystem without `SEEK_HOLE`, anchors that cover the file, too many
//! extents, hashes needed) the file is scanned as usual, in full.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};

use rustix::fs::SeekFrom;

use super::budget::Budget;
use super::filetype::FileType;
use crate::compile::sparse::SparseLimits;
use crate::sig::Offset;

/// Files smaller than this are never treated as sparse (reading them is cheap).
pub const SPARSE_MIN: u64 = 64 << 20;
/// The largest view built in memory.
pub const MAX_VIEW: u64 = 256 << 20;
/// Most holes looked at; files with more are scanned as usual.
const MAX_HOLES: usize = 1 << 16;
/// Bytes read per `pread` while filling the view (the deadline is checked between).
const READ_PIECE: usize = 8 << 20;

/// How view positions relate to the file's: for a plain haystack both lengths
/// are equal.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    /// The file's size.
    pub real_len: u64,
    /// The haystack's length.
    pub view_len: u64,
}

impl Geometry {
    /// A haystack that is the whole file.
    pub fn plain(len: usize) -> Geometry {
        Geometry {
            real_len: len as u64,
            view_len: len as u64,
        }
    }

    /// Allowed start positions in the haystack for `offset` (inclusive), or `None`.
    #[inline]
    pub fn start_range(self, offset: Offset) -> Option<(u64, u64)> {
        if self.real_len == self.view_len {
            return offset.start_range(self.view_len);
        }
        let removed = self.real_len - self.view_len;
        match offset {
            Offset::Any => Some((0, self.view_len)),
            // Entirely inside the kept head: real and view positions agree.
            Offset::FromStart { .. } => {
                let (lo, hi) = offset.start_range(self.real_len)?;
                (lo <= self.view_len).then(|| (lo, hi.min(self.view_len)))
            }
            // Entirely inside the kept tail: shifted by what was removed.
            Offset::FromEnd { .. } => {
                let (lo, hi) = offset.start_range(self.real_len)?;
                Some((lo.saturating_sub(removed), hi.saturating_sub(removed)))
            }
        }
    }
}

/// One piece of the view: bytes copied from the file, or a shortened hole.
#[derive(Clone, Copy, Debug)]
struct Piece {
    view: u64,
    real: u64,
    /// For a shortened hole, its real length.
    hole_len: Option<u64>,
}

/// A sparse file's compact view, ready to scan.
pub(crate) struct View {
    /// The haystack.
    pub bytes: Vec<u8>,
    /// Real and view lengths.
    pub geom: Geometry,
    /// The file type, from the real file.
    pub ftype: FileType,
    pieces: Vec<Piece>,
}

impl View {
    /// The real file offset of view position `pos`.
    pub fn real_offset(&self, pos: u64) -> u64 {
        let i = self
            .pieces
            .partition_point(|p| p.view <= pos)
            .saturating_sub(1);
        let Some(p) = self.pieces.get(i) else {
            return pos;
        };
        let next_view = self
            .pieces
            .get(i + 1)
            .map_or(self.geom.view_len, |n| n.view);
        match p.hole_len {
            // Same distance from the end of the hole.
            Some(len) => p.real + len - (next_view - pos),
            None => p.real + (pos - p.view),
        }
    }
}

/// Whether a file is worth the extent lookups: large, and mostly unallocated.
pub(crate) fn candidate(file: &File, size: u64, lim: &SparseLimits) -> bool {
    size >= SPARSE_MIN
        && lim.zero_run.is_some()
        && file
            .metadata()
            .is_ok_and(|m| m.blocks().saturating_mul(512) < size / 2)
}

/// The file's holes as `[start, end)` ranges, or `None` when there are too many
/// or the filesystem can't tell.
fn holes(file: &File, size: u64) -> io::Result<Option<Vec<(u64, u64)>>> {
    let fd = file.as_fd();
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        let data = match rustix::fs::seek(fd, SeekFrom::Data(pos)) {
            Ok(d) => d.min(size),
            // No data after `pos`: a hole to the end.
            Err(rustix::io::Errno::NXIO) => size,
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOTSUP) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if data > pos {
            out.push((pos, data));
            if out.len() > MAX_HOLES {
                return Ok(None);
            }
        }
        if data >= size {
            break;
        }
        pos = match rustix::fs::seek(fd, SeekFrom::Hole(data)) {
            Ok(h) => h.min(size),
            Err(rustix::io::Errno::NXIO) => size,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(Some(out))
}

/// Build the view of `file` (`size` bytes at open), or `None` when a full scan is
/// the way (see the module docs). Checks `budget` between reads; an expired
/// budget gives `Ok(None)` with the budget marked expired.
pub(crate) fn build(
    file: &File,
    size: u64,
    lim: &SparseLimits,
    budget: &mut Budget,
) -> io::Result<Option<View>> {
    let Some(z) = lim.zero_run else {
        return Ok(None);
    };
    let found = holes(file, size);
    // The extent lookups moved the file position; a full scan reads from 0.
    rustix::fs::seek(file.as_fd(), SeekFrom::Start(0))?;
    let Some(holes) = found? else {
        return Ok(None);
    };
    let (keep_lo, keep_hi) = (lim.head, size.saturating_sub(lim.tail));
    let short: Vec<(u64, u64)> = holes
        .into_iter()
        .map(|(a, b)| (a.max(keep_lo), b.min(keep_hi)))
        .filter(|&(a, b)| b > a && b - a > z)
        .collect();
    let removed: u64 = short.iter().map(|(a, b)| b - a - z).sum();
    let view_len = size - removed;
    if view_len > MAX_VIEW || view_len > size / 2 || view_len <= lim.max_trailer {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(view_len as usize)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    let mut pieces = Vec::with_capacity(short.len() * 2 + 1);
    let mut cursor = 0u64;
    for &(a, b) in short.iter().chain([(size, size)].iter()) {
        if a > cursor {
            pieces.push(Piece {
                view: bytes.len() as u64,
                real: cursor,
                hole_len: None,
            });
            if !read_range(file, cursor, a, &mut bytes, budget)? {
                return Ok(None);
            }
        }
        if b > a {
            pieces.push(Piece {
                view: bytes.len() as u64,
                real: a,
                hole_len: Some(b - a),
            });
            bytes.resize(bytes.len() + z as usize, 0);
        }
        cursor = b;
    }
    // A file that changed size while it was read is scanned the ordinary way.
    if file.metadata()?.len() != size || bytes.len() as u64 != view_len {
        return Ok(None);
    }
    let ftype = file_type(file);
    Ok(Some(View {
        bytes,
        geom: Geometry {
            real_len: size,
            view_len,
        },
        ftype,
        pieces,
    }))
}

/// Append the file's bytes `[from, to)`; `false` when the budget ran out.
fn read_range(
    file: &File,
    from: u64,
    to: u64,
    out: &mut Vec<u8>,
    budget: &mut Budget,
) -> io::Result<bool> {
    let mut at = from;
    while at < to {
        if !budget.check() {
            return Ok(false);
        }
        let n = ((to - at) as usize).min(READ_PIECE);
        let start = out.len();
        out.resize(start + n, 0);
        file.read_exact_at(&mut out[start..], at)?;
        at += n as u64;
    }
    Ok(true)
}

/// The file type from the real file's first bytes and PE header.
fn file_type(file: &File) -> FileType {
    let mut head = [0u8; 64];
    if file.read_exact_at(&mut head, 0).is_err() {
        return FileType::detect(&[]);
    }
    FileType::detect_with(&head, |at| {
        let mut b = [0u8; 4];
        file.read_exact_at(&mut b, at as u64).ok().map(|()| b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(sigs: &[&str]) -> SparseLimits {
        let set = crate::SignatureSet::builder()
            .text(crate::Format::Ndb, "t.ndb", sigs.join("\n"))
            .build()
            .unwrap();
        set.inner.sparse
    }

    #[test]
    fn zero_run_from_the_widest_pattern() {
        // 1 + 2 (alternation) + 10 (bounded gap) + 3 (unbounded gap's minimum) + 1
        let lim = limits(&["a:0:*:41(4243|44){2-10}45{3-}46", "b:0:*:414243"]);
        assert_eq!(lim.zero_run, Some(1 + 2 + 10 + 1 + 3 + 1 + 1));
        assert_eq!((lim.head, lim.tail, lim.max_trailer), (0, 0, 0));
        let lim = limits(&["a:0:100,20:414243", "b:0:EOF-50:414243", "c:0:7:41"]);
        assert_eq!((lim.head, lim.tail), (121, 50));
        assert_eq!(limits(&["a:0:*:41{0-4294967295}42"]).zero_run, None);
    }

    #[test]
    fn start_ranges_in_a_view() {
        let g = Geometry {
            real_len: 1000,
            view_len: 100,
        };
        assert_eq!(g.start_range(Offset::Any), Some((0, 100)));
        let at = Offset::FromStart { at: 10, shift: 5 };
        assert_eq!(g.start_range(at), Some((10, 15)));
        let back = Offset::FromEnd { back: 20, shift: 5 };
        assert_eq!(g.start_range(back), Some((80, 85)));
        let plain = Geometry::plain(1000);
        assert_eq!(plain.start_range(back), Some((980, 985)));
    }
}
