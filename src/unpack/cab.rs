//! Microsoft cabinet (`MSCF`), read by ward itself. A cabinet holds
//! folders, each one compressed stream of blocks (stored, MSZIP, Quantum or
//! LZX), and a file table saying where in which folder each member lies.
//! Each folder is decompressed once, front to back, and its members are cut
//! from it in the order of their offsets: a member that starts before the
//! point reached (members that overlap, or listed out of order) starts the
//! folder again, at most [`MAX_REWINDS`] times a cabinet, after which the
//! cabinet is [`Found::Broken`]. Block checksums are not checked: a member
//! with a bad checksum is still scanned, as ClamAV does.
//!
//! MSZIP blocks are deflate with the last 32 KiB of output as history
//! (`flate2`); LZX is the `lzxd` crate (pure Rust), whose window (at most
//! 32 MiB, by the folder's type) is allocated when a folder starts. Quantum
//! is [`Cut::Unsupported`]. A member continued from another cabinet of a set
//! is [`Cut::Broken`]: its start is not here. All that comes out of one
//! cabinet, members and the bytes passed over to reach them, is bounded by
//! its size times [`Caps::ratio`].
//!
//! The `cab` crate was not used: it reads a member only by name (a second
//! member of the same name cannot be read) and decompresses its folder from
//! the start for every member (quadratic in the members of a folder).

use std::io::{self, Read};
use std::ops::ControlFlow;
use std::time::Instant;

use super::bytes::{le16, le32};
use super::{Caps, Cut, Found, RATIO_FLOOR, Scratch, drain, taken};

const MAGIC: &[u8; 4] = b"MSCF";
const PREV_CABINET: u16 = 1;
const NEXT_CABINET: u16 = 2;
const RESERVE_PRESENT: u16 = 4;
/// Folder numbers of a member continued from the previous cabinet of a set
/// (and into the next), and of one continued into the next.
const FROM_PREV: u16 = 0xfffd;
const TO_NEXT: u16 = 0xfffe;
const PREV_AND_NEXT: u16 = 0xffff;
/// Times a folder is started again for a member before the point reached.
const MAX_REWINDS: usize = 8;
/// Longest name in the file table (the format's limit is 256 bytes).
const MAX_NAME: usize = 1024;
/// Most output of one LZX block (lzxd's chunk).
const LZX_BLOCK: usize = 32 << 10;
/// MSZIP history.
const HISTORY: usize = 32 << 10;

/// Whether `data` starts with a cabinet header: the signature, a zero
/// reserved field and format version 1.
pub(super) fn is_cab(data: &[u8]) -> bool {
    data.len() >= 36 && data.starts_with(MAGIC) && data[4..8] == [0; 4] && data[25] == 1
}

struct Folder {
    /// Offset of its first data block.
    data_at: usize,
    blocks: u16,
    /// The compression type field.
    kind: u16,
}

struct Entry<'a> {
    name: &'a [u8],
    size: u32,
    offset: u32,
    folder: u16,
}

struct Cabinet<'a> {
    folders: Vec<Folder>,
    files: Vec<Entry<'a>>,
    /// Reserved bytes in each data block's header.
    data_reserve: usize,
    /// The folder or file table is cut short.
    broken: bool,
}

/// The header, folder table and file table; `None` if the header is cut.
fn parse(data: &[u8]) -> Option<Cabinet<'_>> {
    let folders_n = le16(data, 26)?;
    let files_n = le16(data, 28)?;
    let flags = le16(data, 30)?;
    let mut at = 36;
    let (mut folder_reserve, mut data_reserve) = (0, 0);
    if flags & RESERVE_PRESENT != 0 {
        folder_reserve = usize::from(*data.get(38)?);
        data_reserve = usize::from(*data.get(39)?);
        at = 40 + usize::from(le16(data, 36)?);
    }
    for flag in [PREV_CABINET, NEXT_CABINET] {
        if flags & flag != 0 {
            // The cabinet's and the disk's names.
            at = skip_name(data, at)?;
            at = skip_name(data, at)?;
        }
    }
    let mut cab = Cabinet {
        folders: Vec::with_capacity(usize::from(folders_n)),
        files: Vec::with_capacity(usize::from(files_n)),
        data_reserve,
        broken: false,
    };
    for _ in 0..folders_n {
        let (Some(data_at), Some(blocks), Some(kind)) =
            (le32(data, at), le16(data, at + 4), le16(data, at + 6))
        else {
            cab.broken = true;
            break;
        };
        cab.folders.push(Folder {
            data_at: data_at as usize,
            blocks,
            kind,
        });
        at += 8 + folder_reserve;
    }
    let mut at = le32(data, 16)? as usize;
    for _ in 0..files_n {
        let Some((entry, next)) = file_entry(data, at) else {
            cab.broken = true;
            break;
        };
        cab.files.push(entry);
        at = next;
    }
    Some(cab)
}

/// Past the NUL-terminated name at `at`.
fn skip_name(data: &[u8], at: usize) -> Option<usize> {
    let rest = data.get(at..)?;
    let len = memchr::memchr(0, &rest[..rest.len().min(MAX_NAME)])?;
    Some(at + len + 1)
}

fn file_entry(data: &[u8], at: usize) -> Option<(Entry<'_>, usize)> {
    let size = le32(data, at)?;
    let offset = le32(data, at + 4)?;
    let folder = le16(data, at + 8)?;
    let end = skip_name(data, at + 16)?;
    let entry = Entry {
        name: &data[at + 16..end - 1],
        size,
        offset,
        folder,
    };
    Some((entry, end))
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(cab) = parse(data) else {
        return visit(Found::Broken);
    };
    let mut work = Work {
        budget: match caps.ratio {
            0 => u64::MAX,
            r => (data.len() as u64).saturating_mul(r).max(RATIO_FLOOR),
        },
        rewinds: 0,
        broken: cab.broken,
        skip: Vec::new(),
    };
    // Members whose data is not in this cabinet.
    for e in cab.files.iter().filter(|e| folder_of(e, &cab).is_none()) {
        visit(Found::Member {
            name: e.name,
            data: &[],
            cut: Some(Cut::Broken),
        })?;
    }
    // The rest, by folder, then by offset (listed order among equals).
    let mut placed: Vec<(usize, &Entry<'_>)> = cab
        .files
        .iter()
        .filter_map(|e| Some((folder_of(e, &cab)?, e)))
        .collect();
    placed.sort_by_key(|&(folder, e)| (folder, e.offset));
    for group in placed.chunk_by(|a, b| a.0 == b.0) {
        let members: Vec<&Entry<'_>> = group.iter().map(|&(_, e)| e).collect();
        let folder = &cab.folders[group[0].0];
        match take_folder(
            data, &cab, folder, &members, caps, &mut work, scratch, visit,
        )? {
            FolderEnd::Done => {}
            FolderEnd::Stop => return ControlFlow::Continue(()),
        }
    }
    if work.broken {
        return visit(Found::Broken);
    }
    ControlFlow::Continue(())
}

/// The folder a member's data is in, if it is in this cabinet.
fn folder_of(e: &Entry<'_>, cab: &Cabinet<'_>) -> Option<usize> {
    match e.folder {
        FROM_PREV | PREV_AND_NEXT => None,
        TO_NEXT => cab.folders.len().checked_sub(1),
        i => (usize::from(i) < cab.folders.len()).then_some(usize::from(i)),
    }
}

/// What all the folders of one cabinet share.
struct Work {
    /// Bytes that may still be decompressed.
    budget: u64,
    rewinds: usize,
    broken: bool,
    /// Where bytes skipped to reach a member are decompressed to.
    skip: Vec<u8>,
}

enum FolderEnd {
    Done,
    /// Nothing more is taken out of the cabinet (and what ended it was
    /// reported).
    Stop,
}

/// Take the members of one folder out, in the order of their offsets.
#[allow(clippy::too_many_arguments)]
fn take_folder(
    data: &[u8],
    cab: &Cabinet<'_>,
    folder: &Folder,
    members: &[&Entry<'_>],
    caps: &Caps,
    work: &mut Work,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<(), FolderEnd> {
    let Some(codec) = Codec::new(folder.kind) else {
        for e in members {
            visit(Found::Member {
                name: e.name,
                data: &[],
                cut: Some(Cut::Unsupported),
            })?;
        }
        return ControlFlow::Continue(FolderEnd::Done);
    };
    let mut stream = FolderStream::new(data, folder, cab.data_reserve, codec, work.budget);
    let packed = stream.packed_size();
    for e in members {
        if caps.expired() {
            visit(Found::out_of_time(e.name))?;
            return ControlFlow::Continue(FolderEnd::Stop);
        }
        if u64::from(e.offset) < stream.pos {
            if work.rewinds == MAX_REWINDS {
                visit(Found::Broken)?;
                return ControlFlow::Continue(FolderEnd::Stop);
            }
            work.rewinds += 1;
            let codec = Codec::new(folder.kind).unwrap_or(Codec::Stored);
            stream = FolderStream::new(data, folder, cab.data_reserve, codec, stream.budget);
        }
        let mut cut = stream.skip_to(u64::from(e.offset), caps.deadline, &mut work.skip);
        if cut.is_none() {
            let mut member = Read::take(&mut stream, u64::from(e.size));
            cut = drain(&mut member, packed, caps, scratch);
            if cut.is_none() && scratch.len() < u64::from(e.size) {
                cut = Some(Cut::Broken);
            }
        } else {
            scratch.clear();
        }
        let cut = match cut {
            Some(Cut::Broken) if stream.failed == Some(Cut::Ratio) => Some(Cut::Ratio),
            Some(Cut::Broken) if caps.expired() => Some(Cut::Time),
            c => c,
        };
        let (bytes, cut) = taken(scratch, cut);
        visit(Found::Member {
            name: e.name,
            data: bytes,
            cut,
        })?;
        match cut {
            Some(Cut::Time) => return ControlFlow::Continue(FolderEnd::Stop),
            // The rest of the folder is the bomb, or cannot be read.
            Some(Cut::Ratio) | Some(Cut::Broken) => {
                work.broken |= cut == Some(Cut::Broken);
                break;
            }
            _ => {}
        }
    }
    work.budget = stream.budget;
    ControlFlow::Continue(FolderEnd::Done)
}

/// How a folder's blocks are decompressed.
enum Codec {
    Stored,
    MsZip(Box<MsZip>),
    Lzx(Box<lzxd::Lzxd>),
}

impl Codec {
    /// The codec for a folder's compression type; `None` when ward has none
    /// (Quantum, or a type the format does not define).
    fn new(kind: u16) -> Option<Codec> {
        match kind & 0x000f {
            0 => Some(Codec::Stored),
            1 => Some(Codec::MsZip(Box::new(MsZip {
                inflate: flate2::Decompress::new(false),
                history: Vec::new(),
            }))),
            3 => {
                use lzxd::WindowSize as W;
                let window = match (kind >> 8) & 0x1f {
                    15 => W::KB32,
                    16 => W::KB64,
                    17 => W::KB128,
                    18 => W::KB256,
                    19 => W::KB512,
                    20 => W::MB1,
                    21 => W::MB2,
                    22 => W::MB4,
                    23 => W::MB8,
                    24 => W::MB16,
                    25 => W::MB32,
                    _ => return None,
                };
                Some(Codec::Lzx(Box::new(lzxd::Lzxd::new(window))))
            }
            _ => None,
        }
    }
}

struct MsZip {
    inflate: flate2::Decompress,
    /// The last [`HISTORY`] bytes of output, which the next block may refer to.
    history: Vec<u8>,
}

impl MsZip {
    /// Decompress one block (`CK`, then deflate ending with a final block)
    /// of `size` bytes into `out`. What came out is in `out` on failure too.
    fn block(&mut self, input: &[u8], size: usize, out: &mut Vec<u8>) -> Result<(), Cut> {
        out.clear();
        let body = input.strip_prefix(b"CK").ok_or(Cut::Broken)?;
        self.inflate.reset(false);
        if !self.history.is_empty() {
            self.inflate
                .set_dictionary(&self.history)
                .map_err(|_| Cut::Broken)?;
        }
        out.resize(size, 0);
        let before = self.inflate.total_out();
        let status = self
            .inflate
            .decompress(body, out, flate2::FlushDecompress::Finish);
        let n = usize::try_from(self.inflate.total_out() - before).unwrap_or(0);
        out.truncate(n);
        self.history.extend_from_slice(out);
        let extra = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..extra);
        match status {
            Ok(_) if n == size => Ok(()),
            _ => Err(Cut::Broken),
        }
    }
}

/// The decompressed bytes of one folder, read front to back.
struct FolderStream<'a> {
    data: &'a [u8],
    /// Offset of the next data block.
    next: usize,
    /// Data blocks not yet read.
    left: u16,
    reserve: usize,
    codec: Codec,
    /// The current block's output, and how much of it was read.
    out: Vec<u8>,
    taken: usize,
    /// Offset in the folder of the next byte read.
    pos: u64,
    /// Bytes that may still be decompressed (see [`Work::budget`]).
    budget: u64,
    /// Why reading stopped, once it has; `Some` after what the last
    /// block gave has been read.
    failed: Option<Cut>,
    pending: Option<Cut>,
}

impl<'a> FolderStream<'a> {
    fn new(
        data: &'a [u8],
        folder: &Folder,
        reserve: usize,
        codec: Codec,
        budget: u64,
    ) -> FolderStream<'a> {
        FolderStream {
            data,
            next: folder.data_at,
            left: folder.blocks,
            reserve,
            codec,
            out: Vec::new(),
            taken: 0,
            pos: 0,
            budget,
            failed: None,
            pending: None,
        }
    }

    /// The compressed bytes of the folder (what the ratio guard measures
    /// against), as its block headers say, up to the end of the cabinet.
    fn packed_size(&self) -> u64 {
        let mut at = self.next;
        let mut total = 0u64;
        for _ in 0..self.left {
            let Some(n) = le16(self.data, at + 4) else {
                break;
            };
            total += u64::from(n);
            at += 8 + self.reserve + usize::from(n);
        }
        total.min(self.data.len() as u64)
    }

    /// Read and drop bytes up to folder offset `to`; why not, if it could
    /// not be reached.
    fn skip_to(&mut self, to: u64, deadline: Option<Instant>, buf: &mut Vec<u8>) -> Option<Cut> {
        buf.clear();
        buf.resize(64 << 10, 0);
        let mut rounds = 0u32;
        while self.pos < to {
            rounds += 1;
            if rounds.is_multiple_of(16) && super::past(deadline) {
                return Some(Cut::Time);
            }
            let want = usize::try_from(to - self.pos).map_or(buf.len(), |n| n.min(buf.len()));
            match self.read(&mut buf[..want]) {
                Ok(0) => return Some(Cut::Broken),
                Ok(_) => {}
                Err(_) => return Some(self.failed.unwrap_or(Cut::Broken)),
            }
        }
        None
    }

    /// Decompress the next block into `out`.
    fn load(&mut self) -> Result<(), Cut> {
        if let Some(cut) = self.pending.take() {
            return Err(cut);
        }
        let d = self.data;
        let at = self.next;
        let packed = usize::from(le16(d, at + 4).ok_or(Cut::Broken)?);
        let size = usize::from(le16(d, at + 6).ok_or(Cut::Broken)?);
        let start = at + 8 + self.reserve;
        let end = start + packed;
        let input = d.get(start.min(d.len())..end.min(d.len())).unwrap_or(&[]);
        self.next = end;
        self.left -= 1;
        self.taken = 0;
        self.budget = self.budget.checked_sub(size as u64).ok_or(Cut::Ratio)?;
        let short = input.len() < packed;
        let result = match &mut self.codec {
            Codec::Stored => {
                self.out.clear();
                self.out.extend_from_slice(&input[..input.len().min(size)]);
                Ok(())
            }
            Codec::MsZip(z) => z.block(input, size, &mut self.out),
            Codec::Lzx(l) => {
                self.out.clear();
                if size > LZX_BLOCK || short {
                    Err(Cut::Broken)
                } else {
                    match l.decompress_next(input, size) {
                        Ok(o) => {
                            self.out.extend_from_slice(o);
                            Ok(())
                        }
                        Err(_) => Err(Cut::Broken),
                    }
                }
            }
        };
        match result {
            Ok(()) if short => self.pending = Some(Cut::Broken),
            Ok(()) => {}
            // What came out before the damage is given first.
            Err(cut) if !self.out.is_empty() => self.pending = Some(cut),
            Err(cut) => return Err(cut),
        }
        Ok(())
    }
}

impl Read for FolderStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.taken == self.out.len() {
            if self.failed.is_some() {
                return Err(io::Error::other("cabinet folder damaged"));
            }
            if self.left == 0 && self.pending.is_none() {
                return Ok(0);
            }
            if let Err(cut) = self.load() {
                self.failed = Some(cut);
                self.out.clear();
                self.taken = 0;
            }
        }
        let n = buf.len().min(self.out.len() - self.taken);
        buf[..n].copy_from_slice(&self.out[self.taken..self.taken + n]);
        self.taken += n;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Caps {
        Caps {
            member: 1 << 20,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        }
    }

    use crate::unpack::Taken;

    /// Every member of `cab`, and whether it was broken.
    fn members(cab: &[u8]) -> (Vec<Taken>, bool) {
        let mut out = Vec::new();
        let mut broken = false;
        let mut scratch = Scratch::default();
        let _ = unpack(cab, &caps(), &mut scratch, &mut |f| {
            match f {
                Found::Member { name, data, cut } => out.push((name.to_vec(), data.to_vec(), cut)),
                Found::Broken => broken = true,
                _ => panic!("unexpected {f:?}"),
            }
            ControlFlow::Continue(())
        });
        (out, broken)
    }

    /// A cabinet of one folder of `kind` holding `blocks` (each compressed
    /// bytes and its size out), and the files (name, offset, size).
    fn cabinet(kind: u16, blocks: &[(Vec<u8>, usize)], files: &[(&str, u32, u32)]) -> Vec<u8> {
        let files_at = 36 + 8;
        let table: usize = files.iter().map(|f| 16 + f.0.len() + 1).sum();
        let data_at = files_at + table;
        let mut c = Vec::new();
        c.extend_from_slice(b"MSCF\0\0\0\0");
        c.extend_from_slice(&0u32.to_le_bytes()); // total size, filled below
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&(files_at as u32).to_le_bytes());
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&[3, 1]);
        c.extend_from_slice(&1u16.to_le_bytes());
        c.extend_from_slice(&(files.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 6]); // flags, set id, index
        c.extend_from_slice(&(data_at as u32).to_le_bytes());
        c.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
        c.extend_from_slice(&kind.to_le_bytes());
        for (name, offset, size) in files {
            c.extend_from_slice(&size.to_le_bytes());
            c.extend_from_slice(&offset.to_le_bytes());
            c.extend_from_slice(&[0; 8]); // folder 0, date, time, attributes
            c.extend_from_slice(name.as_bytes());
            c.push(0);
        }
        for (packed, size) in blocks {
            c.extend_from_slice(&0u32.to_le_bytes());
            c.extend_from_slice(&(packed.len() as u16).to_le_bytes());
            c.extend_from_slice(&(*size as u16).to_le_bytes());
            c.extend_from_slice(packed);
        }
        let total = c.len() as u32;
        c[8..12].copy_from_slice(&total.to_le_bytes());
        c
    }

    /// MSZIP blocks of `text`, 32 KiB each, compressed as one deflate stream
    /// (so later blocks refer back into earlier ones), each ended by an
    /// empty final block as MSZIP wants.
    fn mszip(text: &[u8]) -> Vec<(Vec<u8>, usize)> {
        let mut z = flate2::Compress::new(flate2::Compression::best(), false);
        text.chunks(HISTORY)
            .map(|chunk| {
                let mut out = Vec::with_capacity(2 * HISTORY + 64);
                out.extend_from_slice(b"CK");
                z.compress_vec(chunk, &mut out, flate2::FlushCompress::Sync)
                    .unwrap();
                out.extend_from_slice(&[3, 0]);
                (out, chunk.len())
            })
            .collect()
    }

    #[test]
    fn mszip_blocks_share_their_history() {
        let text: Vec<u8> = (0..100_000u32)
            .map(|i| b"the quick brown fox "[(i % 20) as usize])
            .collect();
        let blocks = mszip(&text);
        assert!(
            blocks.len() > 3 && blocks[2].0.len() < 1000,
            "{}",
            blocks[2].0.len()
        );
        let cab = cabinet(1, &blocks, &[("a", 0, 60_000), ("b", 60_000, 40_000)]);
        let (found, broken) = members(&cab);
        assert!(!broken);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], (b"a".to_vec(), text[..60_000].to_vec(), None));
        assert_eq!(found[1], (b"b".to_vec(), text[60_000..].to_vec(), None));
    }

    #[test]
    fn members_out_of_order_overlapping_or_of_one_name_are_all_found() {
        let text = b"0123456789abcdefghij".to_vec();
        let cab = cabinet(
            0,
            &[(text.clone(), text.len())],
            &[("x", 10, 10), ("x", 0, 10), ("y", 5, 10)],
        );
        let (found, broken) = members(&cab);
        assert!(!broken);
        let got: Vec<(&[u8], &[u8])> = found.iter().map(|m| (&m.0[..], &m.1[..])).collect();
        assert_eq!(
            got,
            [
                (&b"x"[..], &text[0..10]),
                (b"y", &text[5..15]),
                (b"x", &text[10..20])
            ]
        );
    }

    #[test]
    fn a_member_past_the_end_of_its_folder_is_broken() {
        let cab = cabinet(0, &[(b"abc".to_vec(), 3)], &[("a", 0, 3), ("b", 2, 5)]);
        let (found, broken) = members(&cab);
        assert!(broken);
        assert_eq!(found[0].2, None);
        assert_eq!(found[1], (b"b".to_vec(), b"c".to_vec(), Some(Cut::Broken)));
    }

    #[test]
    fn quantum_is_unsupported_and_a_truncated_cabinet_gives_what_is_there() {
        let cab = cabinet(
            2 | (4 << 4) | (16 << 8),
            &[(b"xx".to_vec(), 9)],
            &[("q", 0, 9)],
        );
        assert_eq!(members(&cab).0[0].2, Some(Cut::Unsupported));

        let text = b"stored bytes of a member".to_vec();
        let cab = cabinet(0, &[(text.clone(), text.len())], &[("s", 0, 24)]);
        let (found, _) = members(&cab[..cab.len() - 4]);
        assert_eq!(found[0].1, &text[..20]);
        assert_eq!(found[0].2, Some(Cut::Broken));
    }

    #[test]
    fn the_most_folders_and_members_are_read_in_linear_time() {
        // 65532 folders (the numbers above are for members that span
        // cabinets) sharing one stored block, a member in each.
        let n = 0xfffcusize;
        let files_at = 36 + 8 * n;
        let data_at = files_at + 18 * n;
        let mut c = b"MSCF\0\0\0\0".to_vec();
        c.extend_from_slice(&[0; 8]);
        c.extend_from_slice(&(files_at as u32).to_le_bytes());
        c.extend_from_slice(&[0, 0, 0, 0, 3, 1]);
        c.extend_from_slice(&(n as u16).to_le_bytes());
        c.extend_from_slice(&(n as u16).to_le_bytes());
        c.extend_from_slice(&[0; 6]);
        for _ in 0..n {
            c.extend_from_slice(&(data_at as u32).to_le_bytes());
            c.extend_from_slice(&[1, 0, 0, 0]);
        }
        for i in 0..n {
            c.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]);
            c.extend_from_slice(&(i as u16).to_le_bytes());
            c.extend_from_slice(&[0; 6]);
            c.extend_from_slice(b"m\0");
        }
        c.extend_from_slice(&[0, 0, 0, 0, 2, 0, 2, 0]);
        c.extend_from_slice(b"ok");
        let start = Instant::now();
        let (found, broken) = members(&c);
        assert!(!broken);
        assert_eq!(found.len(), n);
        assert!(found.iter().all(|m| m.1 == b"ok" && m.2.is_none()));
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    }

    /// An LZX cabinet from the `cab` crate's tests (MIT licence): two files
    /// in one folder.
    #[test]
    fn lzx() {
        let hex = "4d5343460000000097000000000000002c000000000000000301010002000000\
                   2d0500005b000000010003130f00000000000000000021530db2200068692e74\
                   787400100000000f000000000021530bb220006279652e747874005cef2ac734\
                   001f005b80808d0030f00110000000010000000100000048656c6c6f2c20776f\
                   726c64210d0a53656520796f75206c61746572210d0a00";
        let cab: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let (found, broken) = members(&cab);
        assert!(!broken);
        assert_eq!(found[0].1, b"Hello, world!\r\n");
        assert_eq!(found[1].1, b"See you later!\r\n");
    }
}
