//! 7z, through the `sevenz-rust2` crate (pure Rust; LZMA, LZMA2, BZip2,
//! Deflate, the BCJ and BCJ2 filters, Delta). Blocks are decoded one after
//! another, each once: the members of a solid block come out in order.
//!
//! What the crate allocates was read for, and bounded here:
//! - It bounds every count in a header by the header's length and allocates
//!   fallibly, but each header byte can still become ~100 bytes of entries
//!   (a file entry is ~100 bytes; a count of them needs one byte), and a
//!   compressed header of a few hundred bytes can decode to megabytes. So
//!   the header, as stored or once decoded, may be at most
//!   [`HEADER_PER_BYTE`] times the archive's size, within [`HEADER_MIN`] and
//!   [`HEADER_MAX`]; past that the archive is [`Found::Broken`].
//! - An LZMA or LZMA2 dictionary grows with the data decoded, never to more
//!   than the dictionary the archive declares, which may be at most
//!   [`DICT_LIMIT_KB`]: a block that needs more is [`Cut::Unsupported`]. A
//!   member's declared size preallocates nothing (the crate's `read_file`
//!   would, so it is not used); what is taken out stops at the caps.
//! - With a damaged start header the crate looks for the header near the end
//!   of the file, parsing each candidate; the bytes it may read while it
//!   looks are bounded ([`HEADER_READ_BUDGET`]).
//! - The crate decodes LZMA2 on as many threads as there are cores unless
//!   told otherwise: one thread here, since the scanner already runs one
//!   layer per core.
//!
//! The crate reads through [`Source`], which fails once the deadline has
//! passed: that also stops what the crate does on its own, such as decoding
//! the rest of a member that was cut at the size cap (it must, to reach the
//! next member of a solid block). After a member is cut at the ratio guard,
//! the rest of its block is left: it is the bomb. Encrypted blocks (AES) are
//! never decoded: each of their members is [`Found::Encrypted`], and an
//! encrypted header is one [`Found::Encrypted`] with no name.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::time::Instant;

use sevenz_rust2::{Archive, ArchiveEntry, Block, BlockDecoder, EncoderMethod, Error, Password};

use super::stream::DICT_LIMIT_KB;
use super::{Caps, Cut, Found, Scratch, drain, taken};

const MAGIC: &[u8; 6] = b"7z\xbc\xaf\x27\x1c";

/// The largest header, as stored or once decoded, per byte of archive; also
/// bounds the memory the header's own decoder may declare. Real headers
/// compress less than 16 to 1 (each entry holds a CRC and a size), and the
/// archive holds its data too.
const HEADER_PER_BYTE: usize = 64;
/// The least and the most header allowed, in bytes, whatever the archive's
/// size. A header of [`HEADER_MAX`] lists some 20,000 members; each of its
/// bytes may take ~100 bytes once parsed, so a hostile one costs at most
/// ~200 MiB while the archive is read (~25 MiB for an archive of 4 KiB).
const HEADER_MIN: usize = 256 << 10;
const HEADER_MAX: usize = 2 << 20;

/// Bytes the crate may read while it looks for and reads the header.
const HEADER_READ_BUDGET: u64 = 64 << 20;

/// Reads between two looks at the clock in [`Source`].
const CLOCK_EVERY: u32 = 256;

/// Whether `data` starts with the 7z signature.
pub(super) fn is_7z(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// The archive as the crate reads it: a cursor over the bytes that fails
/// once the deadline has passed, or once `budget` bytes have been read.
struct Source<'a> {
    cursor: Cursor<&'a [u8]>,
    deadline: Option<Instant>,
    reads: u32,
    budget: u64,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads = self.reads.wrapping_add(1);
        if self.reads.is_multiple_of(CLOCK_EVERY) && super::past(self.deadline) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "scan deadline"));
        }
        let n = self.cursor.read(buf)?;
        self.budget = self
            .budget
            .checked_sub(n as u64)
            .ok_or_else(|| io::Error::other("read budget spent"))?;
        Ok(n)
    }
}

impl Seek for Source<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(pos)
    }
}

/// What ends the unpacking when the deadline has passed.
fn out_of_time(visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
    visit(Found::out_of_time(b""))
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut source = Source {
        cursor: Cursor::new(data),
        deadline: caps.deadline,
        reads: 0,
        budget: HEADER_READ_BUDGET,
    };
    let header_kb = data
        .len()
        .saturating_mul(HEADER_PER_BYTE)
        .clamp(HEADER_MIN, HEADER_MAX)
        / 1024;
    let archive = match Archive::read_with_memory_limit(&mut source, &Password::empty(), header_kb)
    {
        Ok(a) => a,
        Err(e) if is_encryption(&e) => return visit(Found::Encrypted { name: b"" }),
        Err(_) if caps.expired() => return out_of_time(visit),
        Err(_) => return visit(Found::Broken),
    };
    source.budget = u64::MAX;
    let mut broken = false;
    for b in 0..archive.blocks.len() {
        match block(&archive, b, &mut source, caps, scratch, visit)? {
            BlockEnd::Done => {}
            BlockEnd::Broken => broken = true,
            BlockEnd::OutOfTime => return ControlFlow::Continue(()),
        }
    }
    // Entries outside every block: empty files (and directories, skipped).
    for (i, e) in archive.files.iter().enumerate() {
        if archive
            .stream_map
            .file_block_index
            .get(i)
            .is_some_and(Option::is_none)
            && plain(e)
        {
            visit(Found::Member {
                name: e.name.as_bytes(),
                data: &[],
                cut: None,
            })?;
        }
    }
    if broken {
        return visit(Found::Broken);
    }
    ControlFlow::Continue(())
}

/// How the members of one block ended.
enum BlockEnd {
    Done,
    /// Damage cut the block short: some of its members were not found.
    Broken,
    /// The deadline passed (and was reported).
    OutOfTime,
}

/// An entry that is a file (not a directory, nor an "anti" entry that
/// deletes one when an update is applied).
fn plain(e: &ArchiveEntry) -> bool {
    !e.is_directory && !e.is_anti_item
}

fn encrypted(block: &Block) -> bool {
    block
        .coders
        .iter()
        .any(|c| c.encoder_method_id() == EncoderMethod::ID_AES256_SHA256)
}

/// Whether reading failed for want of a password (the header is
/// encrypted): AES is unsupported in this build, or, with it, needs one.
fn is_encryption(e: &Error) -> bool {
    match e {
        Error::PasswordRequired | Error::MaybeBadPassword(_) => true,
        Error::UnsupportedCompressionMethod(m) => m == EncoderMethod::AES256_SHA256.name(),
        _ => false,
    }
}

/// Bytes packed in block `b`, for the ratio guard.
fn packed_size(archive: &Archive, b: usize) -> u64 {
    let first = archive.stream_map.block_first_pack_stream_index();
    let from = first.get(b).copied().unwrap_or(0);
    let to = first
        .get(b + 1)
        .copied()
        .unwrap_or(archive.pack_sizes().len());
    archive
        .pack_sizes()
        .get(from..to.max(from))
        .map_or(0, |s| s.iter().fold(0u64, |a, &n| a.saturating_add(n)))
}

/// Take out the members of block `b`.
fn block(
    archive: &Archive,
    b: usize,
    source: &mut Source<'_>,
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<(), BlockEnd> {
    let pw = Password::empty();
    let decoder =
        BlockDecoder::new_with_memory_limit(1, DICT_LIMIT_KB as usize, b, archive, &pw, source);
    let first = archive
        .stream_map
        .block_first_file_index
        .get(b)
        .copied()
        .unwrap_or(0);
    let count = decoder.entries().len();
    let entries = archive.files.get(first..first + count).unwrap_or(&[]);
    if encrypted(&archive.blocks[b]) {
        for e in entries.iter().filter(|e| plain(e)) {
            visit(match e.has_stream {
                true => Found::Encrypted {
                    name: e.name.as_bytes(),
                },
                false => Found::Member {
                    name: e.name.as_bytes(),
                    data: &[],
                    cut: None,
                },
            })?;
        }
        return ControlFlow::Continue(BlockEnd::Done);
    }
    let packed = packed_size(archive, b);
    let mut started = false;
    let mut flow = ControlFlow::Continue(());
    let mut end = BlockEnd::Done;
    let result = decoder.for_each_entries(&mut |e, reader| {
        started = true;
        if !plain(e) {
            return Ok(true);
        }
        let cut = match e.has_stream {
            true => drain(reader, packed, caps, scratch),
            false => {
                scratch.clear();
                None
            }
        };
        let cut = match cut {
            Some(Cut::Broken) if caps.expired() => Some(Cut::Time),
            c => c,
        };
        let (data, cut) = taken(scratch, cut);
        flow = visit(Found::Member {
            name: e.name.as_bytes(),
            data,
            cut,
        });
        match cut {
            Some(Cut::Time) => end = BlockEnd::OutOfTime,
            Some(Cut::Broken) => end = BlockEnd::Broken,
            _ => {}
        }
        // Past a size cut the crate decodes the rest of the member, to reach
        // the next; past any other cut the rest of the block is left.
        Ok(flow.is_continue() && matches!(cut, None | Some(Cut::Size)))
    });
    flow?;
    match result {
        Ok(_) => ControlFlow::Continue(end),
        Err(_) if matches!(end, BlockEnd::OutOfTime) => ControlFlow::Continue(end),
        Err(_) if caps.expired() => {
            out_of_time(visit)?;
            ControlFlow::Continue(BlockEnd::OutOfTime)
        }
        // The block's decoder could not be set up: an unsupported method, or
        // a dictionary over the limit.
        Err(Error::UnsupportedCompressionMethod(_) | Error::Unsupported(_))
        | Err(Error::MaxMemLimited { .. })
            if !started =>
        {
            for e in entries.iter().filter(|e| e.has_stream && plain(e)) {
                visit(Found::Member {
                    name: e.name.as_bytes(),
                    data: &[],
                    cut: Some(Cut::Unsupported),
                })?;
            }
            ControlFlow::Continue(BlockEnd::Done)
        }
        Err(_) => ControlFlow::Continue(BlockEnd::Broken),
    }
}
