//! PKZIP, read by ward itself: the central directory (zip64 included) is
//! the index, and local headers are walked as well, so that an entry the
//! central directory leaves out (or disagrees about) is still found. Data
//! prepended to the archive (a self-extractor) shifts every offset by the same
//! amount, as Info-ZIP assumes. Entries whose data overlap are a zip bomb's
//! construction (David Fifield's): a few are tolerated, as ClamAV does, more
//! end the unpacking with [`Found::Overlap`].

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::bytes::{le16, le32, le64};
use super::{Caps, Cut, Found, Scratch, drain, taken};

const LOCAL: &[u8; 4] = b"PK\x03\x04";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const END: &[u8; 4] = b"PK\x05\x06";
const END64: &[u8; 4] = b"PK\x06\x06";
const LOCATOR64: &[u8; 4] = b"PK\x06\x07";
/// Overlapping entries tolerated before the archive is called a bomb
/// (ClamAV's `ZIP_MAX_NUM_OVERLAPPING_FILES`).
const MAX_OVERLAPS: usize = 5;
/// Bytes two entries may share without counting as overlapping (ClamAV's
/// fudge factor for archivers that write a short data descriptor).
const OVERLAP_FUDGE: u64 = 2;
/// Entries read from a central directory, at most (past it the archive is
/// read no further; the caller's member count stops it much earlier).
const MAX_ENTRIES: usize = 1 << 20;

/// Whether `data` is a zip: a local header at its start, or an end record
/// whose central directory is where it says (after prepended data).
pub(super) fn is_zip(data: &[u8]) -> bool {
    data.starts_with(LOCAL) || find_end(data).is_some()
}

/// One entry: where its local header is, and what the central directory says.
#[derive(Clone, Debug)]
struct Entry {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    crc: u32,
    packed: u64,
    size: u64,
    /// Offset of its local header in `data` (prepended data accounted for).
    local: u64,
}

/// The central directory: (offset in `data`, its size, entries, shift of
/// every recorded offset).
fn find_end(data: &[u8]) -> Option<(usize, usize, u64, u64)> {
    // The end record is in the last 64 KiB + 22 bytes (its comment is at
    // most 65,535 bytes). Every file scanned is asked, so the search is a
    // vectorised one, from the end.
    let from = data.len().saturating_sub(22 + 0xffff);
    let mut window = &data[from..];
    while let Some(i) = memchr::memmem::rfind(window, END) {
        if let Some(found) = read_end(data, from + i) {
            return Some(found);
        }
        window = &window[..i];
    }
    None
}

fn read_end(data: &[u8], at: usize) -> Option<(usize, usize, u64, u64)> {
    let mut entries = u64::from(le16(data, at + 10)?);
    let mut size = u64::from(le32(data, at + 12)?);
    let mut offset = u64::from(le32(data, at + 16)?);
    let mut end_at = at as u64;
    if (entries == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff)
        && at >= 20
        && data[at - 20..].starts_with(LOCATOR64)
    {
        let rec = usize::try_from(le64(data, at - 20 + 8)?).ok()?;
        // The zip64 end record sits right before the locator; its recorded
        // offset is shifted like all others when data was prepended.
        let rec = if data.get(rec..)?.starts_with(END64) {
            rec
        } else {
            let guess = at.checked_sub(20 + 56)?;
            if !data[guess..].starts_with(END64) {
                return None;
            }
            guess
        };
        entries = le64(data, rec + 32)?;
        size = le64(data, rec + 40)?;
        offset = le64(data, rec + 48)?;
        end_at = rec as u64;
    }
    // The directory ends where the end record starts; anything before its
    // recorded offset was prepended.
    let start = end_at.checked_sub(size)?;
    let shift = start.checked_sub(offset)?;
    let start = usize::try_from(start).ok()?;
    if size > 0 && !data.get(start..)?.starts_with(CENTRAL) {
        return None;
    }
    Some((start, size as usize, entries, shift))
}

fn read_central(
    data: &[u8],
    start: usize,
    size: usize,
    count: u64,
    shift: u64,
) -> (Vec<Entry>, bool) {
    let mut out = Vec::new();
    let mut at = start;
    let end = start.saturating_add(size).min(data.len());
    let mut broken = false;
    while (out.len() as u64) < count && out.len() < MAX_ENTRIES {
        let Some(e) = central_entry(data, at, end, shift) else {
            broken = true;
            break;
        };
        at = e.1;
        out.push(e.0);
    }
    (out, broken)
}

fn central_entry(data: &[u8], at: usize, end: usize, shift: u64) -> Option<(Entry, usize)> {
    if at + 46 > end || !data[at..].starts_with(CENTRAL) {
        return None;
    }
    let flags = le16(data, at + 8)?;
    let method = le16(data, at + 10)?;
    let crc = le32(data, at + 16)?;
    let mut packed = u64::from(le32(data, at + 20)?);
    let mut size = u64::from(le32(data, at + 24)?);
    let n = usize::from(le16(data, at + 28)?);
    let x = usize::from(le16(data, at + 30)?);
    let c = usize::from(le16(data, at + 32)?);
    let mut local = u64::from(le32(data, at + 42)?);
    let name = data.get(at + 46..at + 46 + n)?.to_vec();
    let extra = data.get(at + 46 + n..at + 46 + n + x)?;
    zip64(extra, &mut size, &mut packed, &mut local);
    let next = at + 46 + n + x + c;
    (next <= end).then_some(())?;
    Some((
        Entry {
            name,
            flags,
            method,
            crc,
            packed,
            size,
            local: local.checked_add(shift)?,
        },
        next,
    ))
}

/// Fill in the sizes and offset that the zip64 extra field (0x0001) carries
/// for those recorded as 0xffffffff.
fn zip64(extra: &[u8], size: &mut u64, packed: &mut u64, local: &mut u64) {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16::from_le_bytes([extra[at], extra[at + 1]]);
        let len = usize::from(u16::from_le_bytes([extra[at + 2], extra[at + 3]]));
        let body = extra.get(at + 4..at + 4 + len).unwrap_or(&[]);
        if id == 1 {
            let mut p = 0;
            for field in [size, packed, local] {
                if *field == 0xffff_ffff {
                    match body.get(p..p + 8) {
                        Some(b) => *field = u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
                        None => return,
                    }
                    p += 8;
                }
            }
            return;
        }
        at += 4 + len;
    }
}

/// The local header at `at`: its entry (sizes from it, which may be zero
/// when a data descriptor follows) and where its data starts.
fn local_entry(data: &[u8], at: usize) -> Option<(Entry, usize)> {
    if !data.get(at..)?.starts_with(LOCAL) {
        return None;
    }
    let flags = le16(data, at + 6)?;
    let method = le16(data, at + 8)?;
    let crc = le32(data, at + 14)?;
    let mut packed = u64::from(le32(data, at + 18)?);
    let mut size = u64::from(le32(data, at + 22)?);
    let n = usize::from(le16(data, at + 26)?);
    let x = usize::from(le16(data, at + 28)?);
    let name = data.get(at + 30..at + 30 + n)?.to_vec();
    let extra = data.get(at + 30 + n..at + 30 + n + x)?;
    let mut local = at as u64;
    zip64(extra, &mut size, &mut packed, &mut local);
    Some((
        Entry {
            name,
            flags,
            method,
            crc,
            packed,
            size,
            local: at as u64,
        },
        at + 30 + n + x,
    ))
}

/// A zip's entries, as the central directory and the local headers tell
/// them, in the order their data is to be read.
pub struct Index {
    entries: Vec<Entry>,
    /// Entries whose data overlap beyond the tolerance.
    overlaps: usize,
    /// The central directory ends early (what was read is kept).
    broken: bool,
}

impl Index {
    /// Read the index of `data`; `None` when it holds no zip after all.
    pub fn read(data: &[u8]) -> Option<Index> {
        let (mut entries, broken, dir_start, shift) = match find_end(data) {
            Some((start, size, count, shift)) => {
                let (e, broken) = read_central(data, start, size, count, shift);
                (e, broken, start, shift)
            }
            None => (Vec::new(), false, data.len(), 0),
        };
        // Duplicates (the same data listed twice) are read once.
        let mut seen = HashMap::new();
        entries.retain(|e| seen.insert(e.local, e.packed).is_none());
        let overlaps = overlaps(&entries);
        // Local headers the directory does not list, before the directory.
        let mut at = usize::try_from(shift).unwrap_or(0);
        while at < dir_start {
            let Some((e, data_at)) = local_entry(data, at) else {
                break;
            };
            let listed = seen.get(&e.local).copied();
            let descriptor = e.flags & 8 != 0;
            let packed = match (descriptor && e.packed == 0, listed) {
                // Size in a data descriptor: known from the directory.
                (true, Some(p)) => p,
                (true, None) => break,
                (false, _) => e.packed,
            };
            if listed.is_none() {
                seen.insert(e.local, e.packed);
                entries.push(e);
            }
            let mut next = (data_at as u64).saturating_add(packed);
            if descriptor
                && data
                    .get(usize::try_from(next).unwrap_or(usize::MAX)..)
                    .is_some_and(|d| d.starts_with(b"PK\x07\x08"))
            {
                next += 16;
            }
            match usize::try_from(next) {
                Ok(n) if n > at => at = n,
                _ => break,
            }
        }
        if entries.is_empty() && !data.starts_with(LOCAL) {
            return None;
        }
        Some(Index {
            entries,
            overlaps,
            broken,
        })
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether more entries overlap than a zip writer ever makes (a bomb).
    pub fn is_bomb(&self) -> bool {
        self.overlaps > MAX_OVERLAPS
    }

    /// Whether the central directory ends early.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Entry `i` of `data`: a directory (`None`), or what to hand out for
    /// it, its bytes decompressed into `scratch` where they are compressed.
    pub fn member<'a>(
        &'a self,
        i: usize,
        data: &'a [u8],
        caps: &Caps,
        scratch: &'a mut Scratch,
    ) -> Option<Found<'a>> {
        let e = &self.entries[i];
        if e.name.ends_with(b"/") && e.size == 0 {
            return None;
        }
        if e.flags & 1 != 0 {
            return Some(Found::Encrypted { name: &e.name });
        }
        if caps.expired() {
            return Some(Found::out_of_time(&e.name));
        }
        let Some((_, data_at)) = usize::try_from(e.local)
            .ok()
            .and_then(|l| local_entry(data, l))
        else {
            return Some(Found::Broken);
        };
        let end = data_at.saturating_add(usize::try_from(e.packed).unwrap_or(usize::MAX));
        let short = end > data.len();
        let packed = &data[data_at.min(data.len())..end.min(data.len())];
        let (bytes, mut cut): (&[u8], Option<Cut>) = match e.method {
            0 => {
                let n = packed
                    .len()
                    .min(usize::try_from(caps.member).unwrap_or(usize::MAX));
                (&packed[..n], (n < packed.len()).then_some(Cut::Size))
            }
            8 => {
                let mut r = flate2::read::DeflateDecoder::new(packed);
                let cut = drain(&mut r, e.packed, caps, scratch);
                taken(scratch, cut)
            }
            9 => {
                let mut r = deflate64::Deflate64Decoder::new(packed);
                let cut = drain(&mut r, e.packed, caps, scratch);
                taken(scratch, cut)
            }
            12 => {
                let mut r = bzip2::read::BzDecoder::new(packed);
                let cut = drain(&mut r, e.packed, caps, scratch);
                taken(scratch, cut)
            }
            6 => {
                let cut = implode(packed, e, caps, scratch);
                taken(scratch, cut)
            }
            14 => {
                let cut = lzma(packed, e, caps, scratch);
                taken(scratch, cut)
            }
            93 => {
                let mut r = super::stream::Frames::new(packed);
                let cut = drain(&mut r, e.packed, caps, scratch);
                taken(scratch, cut)
            }
            95 => {
                let mut r =
                    lzma_rust2::XzReader::new_mem_limit(packed, true, super::stream::DICT_LIMIT_KB);
                let cut = drain(&mut r, e.packed, caps, scratch);
                taken(scratch, cut)
            }
            _ => (&[][..], Some(Cut::Unsupported)),
        };
        if short && cut.is_none() {
            cut = Some(Cut::Broken);
        }
        Some(Found::Member {
            name: &e.name,
            data: bytes,
            cut,
        })
    }
}

/// How many entries start inside the data of the one before them (sorted by
/// where their local headers are), beyond a small tolerance.
fn overlaps(entries: &[Entry]) -> usize {
    let mut order: Vec<&Entry> = entries.iter().collect();
    order.sort_by_key(|e| e.local);
    order
        .windows(2)
        .filter(|w| {
            let end = w[0]
                .local
                .saturating_add(30 + w[0].name.len() as u64)
                .saturating_add(w[0].packed);
            w[1].local.saturating_add(OVERLAP_FUDGE) < end
        })
        .count()
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(index) = Index::read(data) else {
        return ControlFlow::Continue(());
    };
    if index.is_bomb() {
        return visit(Found::Overlap);
    }
    let mut broken = index.is_broken();
    for i in 0..index.len() {
        match index.member(i, data, caps, scratch) {
            None => {}
            Some(Found::Broken) => broken = true,
            Some(found) => visit(found)?,
        }
    }
    if broken {
        return visit(Found::Broken);
    }
    ControlFlow::Continue(())
}

/// Method 14: a 4-byte LZMA SDK version and properties size, the 5 property
/// bytes, then the raw stream (ended by a marker when flag bit 1 is set).
fn lzma(packed: &[u8], e: &Entry, caps: &Caps, out: &mut Scratch) -> Option<Cut> {
    let props_len = usize::from(le16(packed, 2).unwrap_or(0));
    let (Some(props), Some(dict)) = (packed.get(4).copied(), le32(packed, 5)) else {
        return Some(Cut::Broken);
    };
    let Some(stream) = packed.get(4 + props_len..) else {
        return Some(Cut::Broken);
    };
    let size = if e.flags & 2 != 0 { u64::MAX } else { e.size };
    match lzma_rust2::LzmaReader::new_with_props(stream, size, props, dict, None) {
        Ok(mut r) => drain(&mut r, e.packed, caps, out),
        Err(_) => Some(Cut::Broken),
    }
}

/// The most bytes taken out of one imploded member (see [`implode`]).
const IMPLODE_MAX: u64 = 32 << 20;

/// Method 6, PKZIP 1's implode, through the `zip` crate's decoder, the one
/// maintained Rust implementation, reached by wrapping the entry in a zip of
/// its own. That decoder keeps everything it has produced, so at most
/// [`IMPLODE_MAX`] bytes are taken out of one member (far more than PKZIP 1
/// ever packed); a larger one is cut and reported as unsupported.
fn implode(packed: &[u8], e: &Entry, caps: &Caps, out: &mut Scratch) -> Option<Cut> {
    let Ok(size) = u32::try_from(e.size) else {
        return Some(Cut::Unsupported);
    };
    let alone = alone(packed, e.flags & 6, e.crc, size);
    let Ok(mut archive) = ::zip::ZipArchive::new(std::io::Cursor::new(alone)) else {
        return Some(Cut::Broken);
    };
    let Ok(mut member) = archive.by_index(0) else {
        return Some(Cut::Broken);
    };
    let capped = Caps {
        member: caps.member.min(IMPLODE_MAX),
        ..*caps
    };
    match drain(&mut member, e.packed, &capped, out) {
        Some(Cut::Size) if caps.member > IMPLODE_MAX => Some(Cut::Unsupported),
        cut => cut,
    }
}

/// A zip holding one imploded entry, `data`, named "m".
fn alone(data: &[u8], flags: u16, crc: u32, size: u32) -> Vec<u8> {
    let packed = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut z = Vec::with_capacity(data.len() + 128);
    let header = |z: &mut Vec<u8>| {
        z.extend_from_slice(&10u16.to_le_bytes()); // version needed: 1.0
        z.extend_from_slice(&flags.to_le_bytes());
        z.extend_from_slice(&6u16.to_le_bytes()); // implode
        z.extend_from_slice(&[0, 0, 0x21, 0]); // 1980-01-01 00:00
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&packed.to_le_bytes());
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&1u16.to_le_bytes()); // name length
        z.extend_from_slice(&0u16.to_le_bytes()); // extra length
    };
    z.extend_from_slice(LOCAL);
    header(&mut z);
    z.push(b'm');
    z.extend_from_slice(&data[..packed as usize]);
    let central = z.len() as u32;
    z.extend_from_slice(CENTRAL);
    z.extend_from_slice(&10u16.to_le_bytes()); // made by
    header(&mut z);
    z.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
    z.extend_from_slice(&[0; 4]); // external attributes
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.push(b'm');
    let dir = z.len() as u32 - central;
    z.extend_from_slice(END);
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&dir.to_le_bytes());
    z.extend_from_slice(&central.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}
