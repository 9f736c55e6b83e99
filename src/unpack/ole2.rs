//! OLE2 compound files (Word, Excel and PowerPoint 97–2003 documents, MSI
//! packages), read by ward itself: every stream is a member, named by its
//! path in the file. A VBA project's modules (listed by its `dir` stream)
//! are decompressed (MS-OVBA): the macro's source goes by the module's path
//! (`Macros/VBA/Module1`), its stream by `Macros/VBA/Module1 (compiled)`.
//! Two kinds of stream carry whole files, and those files are members too:
//! - an embedded object's `\x01Ole10Native` stream (an attachment in a Word
//!   document), read as ClamAV reads it, named `PATH/object`;
//! - the `ExOleObjStg` records of a `PowerPoint Document` stream, each an
//!   embedded compound file, zlib-compressed or stored, named
//!   `PowerPoint Document/object N`.
//!
//! The sector allocation table, the mini table and the directory are read
//! with every sector number checked against the file and every chain cut at
//! its first repeated sector, so a table that loops or points outside the
//! file ends a stream (reported as damage), never the scan.

use std::ops::ControlFlow;

use super::bytes::{le16, le32};
use super::out::Out;
use super::{Caps, Cut, Found, Scratch, drain, taken};

const MAGIC: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
const END_OF_CHAIN: u32 = 0xffff_fffe;
const FREE: u32 = 0xffff_ffff;
const NO_ENTRY: u32 = 0xffff_ffff;
/// Storages nested in storages followed, at most.
const MAX_DEPTH: usize = 64;
/// The mini stream (where streams under 4 KiB live) is held whole: at most
/// this much of it.
const MAX_MINI_STREAM: usize = 64 << 20;

pub(super) fn is_ole2(data: &[u8]) -> bool {
    data.len() >= 512 && data.starts_with(MAGIC)
}

struct File<'a> {
    data: &'a [u8],
    shift: u32,
    mini_shift: u32,
    cutoff: u64,
    fat: Vec<u32>,
    /// A chain was cut short: the file is damaged.
    broken: bool,
    /// Which chain last went through each sector (so that finding a repeat
    /// costs nothing per chain, however many streams there are).
    seen: Vec<u32>,
    chains: u32,
}

/// A directory entry.
struct Entry {
    name: Vec<u8>,
    kind: u8,
    left: u32,
    right: u32,
    child: u32,
    start: u32,
    size: u64,
}

impl<'a> File<'a> {
    fn sector(&self, n: u32) -> Option<&'a [u8]> {
        let size = 1usize << self.shift;
        let at = (usize::try_from(n).ok()? + 1).checked_mul(size)?;
        let end = at.checked_add(size)?.min(self.data.len());
        self.data.get(at..end).filter(|s| !s.is_empty())
    }

    /// The sectors of the chain from `start` in `table`, cut at the first
    /// one out of range or seen before.
    fn chain(&mut self, table: &[u32], start: u32) -> Vec<u32> {
        if self.seen.len() < table.len() {
            self.seen.resize(table.len(), 0);
        }
        self.chains += 1;
        let id = self.chains;
        let mut out = Vec::new();
        let mut n = start;
        while n != END_OF_CHAIN {
            let Some(i) = usize::try_from(n)
                .ok()
                .filter(|&i| i < table.len() && self.seen[i] != id)
            else {
                self.broken = true;
                break;
            };
            self.seen[i] = id;
            out.push(n);
            n = table[i];
        }
        out
    }
}

fn entries(sector: &[u8]) -> impl Iterator<Item = u32> + '_ {
    sector
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The file's tables, or `None` when its header is not one.
fn open(data: &[u8]) -> Option<File<'_>> {
    let shift = u32::from(le16(data, 0x1e)?);
    let mini_shift = u32::from(le16(data, 0x20)?);
    if !(7..=16).contains(&shift) || mini_shift >= shift {
        return None;
    }
    let mut f = File {
        data,
        shift,
        mini_shift,
        cutoff: u64::from(le32(data, 0x38)?),
        fat: Vec::new(),
        broken: false,
        seen: Vec::new(),
        chains: 0,
    };
    // The sectors of the allocation table: 109 in the header, the rest in a
    // chain of DIFAT sectors (each ending with the next one's number).
    let sectors = data.len() >> shift;
    let mut fat_sectors: Vec<u32> = entries(&data[0x4c..0x200])
        .take_while(|&s| s != FREE)
        .collect();
    let mut next = le32(data, 0x44)?;
    let mut hops = 0;
    while next != END_OF_CHAIN && next != FREE && hops <= sectors {
        hops += 1;
        let Some(s) = f.sector(next) else {
            f.broken = true;
            break;
        };
        let per = s.len() / 4;
        fat_sectors.extend(entries(&s[..(per.saturating_sub(1)) * 4]).take_while(|&s| s != FREE));
        next = le32(s, (per.saturating_sub(1)) * 4).unwrap_or(END_OF_CHAIN);
    }
    fat_sectors.truncate(sectors + 1);
    for s in fat_sectors {
        match f.sector(s) {
            Some(sec) => f.fat.extend(entries(sec)),
            None => f.broken = true,
        }
    }
    Some(f)
}

impl File<'_> {
    /// Stream `e` into `out` (from the mini stream when it is under the
    /// cutoff); how many of its bytes were not there.
    fn read(&mut self, e: &Entry, mini_fat: &[u32], mini_stream: &[u8], out: &mut Out) -> u64 {
        let mini = e.size < self.cutoff;
        let unit = 1usize << if mini { self.mini_shift } else { self.shift };
        let fat = std::mem::take(&mut self.fat);
        let chain = self.chain(if mini { mini_fat } else { &fat }, e.start);
        self.fat = fat;
        let mut left = e.size;
        for s in chain {
            if left == 0 {
                break;
            }
            let piece = match mini {
                true => usize::try_from(s)
                    .ok()
                    .and_then(|s| s.checked_mul(unit))
                    .and_then(|at| mini_stream.get(at..(at + unit).min(mini_stream.len()))),
                false => self.sector(s),
            };
            let Some(piece) = piece else {
                break;
            };
            let n = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            left -= n as u64;
            if !out.extend(&piece[..n]) {
                break;
            }
        }
        left
    }
}

/// The most bytes of a VBA project's `dir` stream or of one module's source
/// decompressed.
const MAX_VBA: u64 = 16 << 20;

/// MS-OVBA decompression of a compressed container (`0x01`, then chunks of
/// at most 4,096 bytes out, each stored or LZ77-coded with copy tokens whose
/// split between offset and length bits grows with the position in the
/// chunk), into `out`, at most `cap` bytes; whether it ended cleanly.
fn decompress(data: &[u8], cap: usize, out: &mut Vec<u8>) -> bool {
    if data.first() != Some(&1) {
        return false;
    }
    let mut at = 1;
    while at < data.len() {
        let Some(header) = le16(data, at) else {
            return false;
        };
        let size = usize::from(header & 0x0fff) + 3;
        let end = (at + size).min(data.len());
        let chunk = &data[at + 2..end];
        at += size;
        let start = out.len();
        if header & 0x8000 == 0 {
            // Stored: 4,096 bytes as they are.
            let n = chunk.len().min(4096).min(cap.saturating_sub(out.len()));
            out.extend_from_slice(&chunk[..n]);
        } else {
            let mut i = 0;
            while i < chunk.len() {
                let flags = chunk[i];
                i += 1;
                for bit in 0..8 {
                    if i >= chunk.len() {
                        break;
                    }
                    if out.len() >= cap {
                        return false;
                    }
                    if flags & (1 << bit) == 0 {
                        out.push(chunk[i]);
                        i += 1;
                        continue;
                    }
                    let Some(token) = le16(chunk, i) else {
                        return false;
                    };
                    i += 2;
                    let done = out.len() - start;
                    if done >= 4096 {
                        // A chunk never decompresses to more.
                        return false;
                    }
                    let bits = (usize::BITS - done.saturating_sub(1).leading_zeros()).max(4);
                    let length = usize::from(token & (0xffff >> bits)) + 3;
                    let offset = usize::from(token >> (16 - bits)) + 1;
                    if offset > done {
                        return false;
                    }
                    for _ in 0..length.min(cap - out.len()) {
                        out.push(out[out.len() - offset]);
                    }
                }
            }
        }
        if out.len() >= cap {
            return false;
        }
    }
    true
}

/// The modules a decompressed VBA `dir` stream lists: each one's stream name
/// and the offset of its source in that stream. The stream is a run of
/// records (id, size, data); `PROJECTVERSION` alone says 4 where 6 bytes
/// follow.
fn vba_modules(dir: &[u8]) -> Vec<(Vec<u8>, u32)> {
    let mut out = Vec::new();
    let (mut name, mut offset) = (None, 0);
    let mut at = 0;
    while let (Some(id), Some(size)) = (le16(dir, at), le32(dir, at + 2)) {
        at += 6;
        let size = if id == 0x0009 { 6 } else { size as usize };
        let Some(body) = dir.get(at..at.saturating_add(size)) else {
            break;
        };
        at += size;
        match id {
            0x001a => name = Some(body.to_vec()),
            0x0031 => offset = le32(body, 0).unwrap_or(0),
            0x002b => {
                if let Some(n) = name.take() {
                    out.push((n, offset));
                }
                offset = 0;
            }
            _ => {}
        }
    }
    out
}

/// The directory's entries.
fn directory(f: &mut File) -> Vec<Entry> {
    let start = le32(f.data, 0x30).unwrap_or(END_OF_CHAIN);
    let fat = std::mem::take(&mut f.fat);
    let chain = f.chain(&fat, start);
    f.fat = fat;
    let mut out = Vec::new();
    for s in chain {
        let Some(sec) = f.sector(s) else {
            f.broken = true;
            break;
        };
        for e in sec.chunks_exact(128) {
            let len = usize::from(le16(e, 0x40).unwrap_or(0)).min(64);
            let units: Vec<u16> = e[..len.saturating_sub(2)]
                .chunks_exact(2)
                .map(|u| u16::from_le_bytes([u[0], u[1]]))
                .collect();
            out.push(Entry {
                name: String::from_utf16_lossy(&units).into_bytes(),
                kind: e[0x42],
                left: le32(e, 0x44).unwrap_or(NO_ENTRY),
                right: le32(e, 0x48).unwrap_or(NO_ENTRY),
                child: le32(e, 0x4c).unwrap_or(NO_ENTRY),
                start: le32(e, 0x74).unwrap_or(END_OF_CHAIN),
                size: u64::from(le32(e, 0x78).unwrap_or(0))
                    | if f.shift == 12 {
                        u64::from(le32(e, 0x7c).unwrap_or(0)) << 32
                    } else {
                        0
                    },
            });
        }
    }
    out
}

/// The streams under the root, depth first: (path, entry index). Each entry
/// is visited once, whatever the tree's links say.
fn streams(dir: &[Entry]) -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let Some(root) = dir.first() else {
        return out;
    };
    let mut seen = vec![false; dir.len()];
    seen[0] = true;
    // (entry, its storage's path, depth)
    let mut todo = vec![(root.child, Vec::new(), 0usize)];
    while let Some((id, prefix, depth)) = todo.pop() {
        let Some(i) = usize::try_from(id)
            .ok()
            .filter(|&i| i < dir.len() && !seen[i])
        else {
            continue;
        };
        seen[i] = true;
        let e = &dir[i];
        todo.push((e.right, prefix.clone(), depth));
        let mut path = prefix.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&e.name);
        match e.kind {
            1 if depth < MAX_DEPTH => todo.push((e.child, path, depth + 1)),
            2 => out.push((path, i)),
            _ => {}
        }
        todo.push((e.left, prefix, depth));
    }
    out
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(mut f) = open(data) else {
        return visit(Found::Broken);
    };
    let dir = directory(&mut f);
    // The mini stream and its table, for streams under the cutoff.
    let fat = std::mem::take(&mut f.fat);
    let mini_chain = match dir.first() {
        Some(root) => f.chain(&fat, root.start),
        None => Vec::new(),
    };
    let mut mini_stream = Vec::new();
    for &s in &mini_chain {
        match f.sector(s) {
            Some(sec) if mini_stream.len() + sec.len() <= MAX_MINI_STREAM => {
                mini_stream.extend_from_slice(sec)
            }
            _ => {
                f.broken = true;
                break;
            }
        }
    }
    let mut mini_fat = Vec::new();
    for s in f.chain(&fat, le32(data, 0x3c).unwrap_or(END_OF_CHAIN)) {
        if let Some(sec) = f.sector(s) {
            mini_fat.extend(entries(sec));
        }
    }
    f.fat = fat;
    let list = streams(&dir);
    let small = Caps {
        member: caps.member.min(MAX_VBA),
        ..*caps
    };
    // VBA projects: each `dir` stream names its modules' streams (in the
    // same storage) and where their source starts.
    let mut modules: Vec<(Vec<u8>, u32)> = Vec::new();
    for (path, i) in &list {
        let lower = path.to_ascii_lowercase();
        let storage = match lower.strip_suffix(b"/dir") {
            Some(s) => &path[..s.len()],
            None if lower == b"dir" => &b""[..],
            None => continue,
        };
        let mut out = Out::new(scratch, &small);
        f.read(&dir[*i], &mini_fat, &mini_stream, &mut out);
        let (bytes, _) = out.finish(false);
        let mut project = Vec::new();
        decompress(bytes, MAX_VBA as usize, &mut project);
        for (name, offset) in vba_modules(&project) {
            let mut p = storage.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            modules.push((p.to_ascii_lowercase(), offset));
        }
    }
    for (path, i) in list {
        if caps.expired() {
            return visit(Found::out_of_time(&path));
        }
        let module = modules
            .iter()
            .find(|(m, _)| *m == path.to_ascii_lowercase())
            .map(|&(_, offset)| offset);
        let mut out = Out::new(scratch, caps);
        let left = f.read(&dir[i], &mini_fat, &mini_stream, &mut out);
        let (bytes, cut) = out.finish(left > 0);
        // The stream is copied out of the scratch buffer only where a file
        // inside it is to be handed out after it.
        let native = path.ends_with(b"\x01Ole10Native");
        let ppt = path == b"PowerPoint Document";
        let keep = (native || ppt || module.is_some()).then(|| bytes.to_vec());
        let mut name = path.clone();
        if module.is_some() {
            // The macro's source, decompressed, is what goes by the
            // module's name; the stream itself is mostly compiled code.
            name.extend_from_slice(b" (compiled)");
        }
        visit(Found::Member {
            name: &name,
            data: bytes,
            cut,
        })?;
        let Some(stream) = keep else {
            continue;
        };
        if let Some(offset) = module {
            let mut source = Vec::new();
            let from = stream.get(offset as usize..).unwrap_or(&[]);
            let whole = decompress(from, small.member as usize, &mut source);
            visit(Found::Member {
                name: &path,
                data: &source,
                cut: (!whole).then_some(Cut::Broken),
            })?;
        } else if native {
            ole10_native(&path, &stream, caps, visit)?;
        } else {
            powerpoint(&stream, caps, scratch, visit)?;
        }
    }
    if f.broken {
        return visit(Found::Broken);
    }
    ControlFlow::Continue(())
}

/// The object an `\x01Ole10Native` stream holds: a size, then (when the
/// stream is longer than that) a type, the attachment's name and paths, and
/// the size again, then the data.
fn ole10_native(
    path: &[u8],
    s: &[u8],
    caps: &Caps,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(mut size) = le32(s, 0) else {
        return ControlFlow::Continue(());
    };
    let mut at = 4;
    if (s.len() as u64).saturating_sub(u64::from(size)) >= 4 {
        let past_nul = |at: usize| memchr::memchr(0, s.get(at..)?).map(|i| at + i + 1);
        let Some(a) = past_nul(at + 2)
            .and_then(past_nul)
            .and_then(|a| past_nul(a + 8))
        else {
            return ControlFlow::Continue(());
        };
        let Some(n) = le32(s, a) else {
            return ControlFlow::Continue(());
        };
        (size, at) = (n, a + 4);
    }
    let end = at.saturating_add(size as usize).min(s.len());
    let object = s.get(at..end).unwrap_or(&[]);
    let n = object
        .len()
        .min(usize::try_from(caps.member).unwrap_or(usize::MAX));
    let mut name = path.to_vec();
    name.extend_from_slice(b"/object");
    visit(Found::Member {
        name: &name,
        data: &object[..n],
        cut: (n < object.len()).then_some(Cut::Size),
    })
}

/// The embedded compound files of a `PowerPoint Document` stream: its
/// top-level `ExOleObjStg` records (type 0x1011), instance 1 compressed
/// (the size, then a zlib stream), 0 stored.
fn powerpoint(
    s: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut at = 0;
    let mut k = 0;
    while let (Some(ver), Some(kind), Some(len)) = (le16(s, at), le16(s, at + 2), le32(s, at + 4)) {
        let start = at + 8;
        let Some(end) = start.checked_add(len as usize).filter(|&e| e <= s.len()) else {
            break;
        };
        if len == 0 {
            break;
        }
        at = end;
        if kind != 0x1011 {
            continue;
        }
        k += 1;
        let name = format!("PowerPoint Document/object {k}");
        let body = &s[start..end];
        if ver >> 4 == 1 {
            let packed = body.get(4..).unwrap_or(&[]);
            let mut r = flate2::read::ZlibDecoder::new(packed);
            let cut = drain(&mut r, packed.len() as u64, caps, scratch);
            let (bytes, cut) = taken(scratch, cut);
            visit(Found::Member {
                name: name.as_bytes(),
                data: bytes,
                cut,
            })?;
        } else {
            let n = body
                .len()
                .min(usize::try_from(caps.member).unwrap_or(usize::MAX));
            visit(Found::Member {
                name: name.as_bytes(),
                data: &body[..n],
                cut: (n < body.len()).then_some(Cut::Size),
            })?;
        }
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::super::collect;
    use super::*;

    /// A compound file of 512-byte sectors: the table in sector 0, the
    /// directory in 1 (the root and one stream `S` of `size` bytes starting
    /// at sector 2), data in 2 and 3; `next_of_3` is what follows sector 3
    /// in the table.
    fn file(size: u32, next_of_3: u32) -> Vec<u8> {
        let mut f = vec![0u8; 512 * 5];
        f[..8].copy_from_slice(MAGIC);
        f[0x18..0x1c].copy_from_slice(&[0x3e, 0, 3, 0]);
        f[0x1c..0x1e].copy_from_slice(&[0xfe, 0xff]);
        f[0x1e] = 9;
        f[0x20] = 6;
        f[0x2c..0x30].copy_from_slice(&1u32.to_le_bytes());
        f[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
        // Cutoff 0 (0x38): every stream is in the regular sectors.
        f[0x3c..0x40].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        f[0x44..0x48].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        for k in 0..109 {
            let v = if k == 0 { 0 } else { FREE };
            f[0x4c + 4 * k..0x50 + 4 * k].copy_from_slice(&v.to_le_bytes());
        }
        let fat = 512;
        for (i, v) in [0xffff_fffd, END_OF_CHAIN, 3, next_of_3].iter().enumerate() {
            f[fat + 4 * i..fat + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        for i in 4..128 {
            f[fat + 4 * i..fat + 4 * i + 4].copy_from_slice(&FREE.to_le_bytes());
        }
        let entry = |f: &mut Vec<u8>,
                     at: usize,
                     name: &str,
                     kind: u8,
                     child: u32,
                     start: u32,
                     size: u32| {
            let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
            for (k, u) in units.iter().enumerate() {
                f[at + 2 * k..at + 2 * k + 2].copy_from_slice(&u.to_le_bytes());
            }
            f[at + 0x40..at + 0x42].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
            f[at + 0x42] = kind;
            f[at + 0x44..at + 0x48].copy_from_slice(&NO_ENTRY.to_le_bytes());
            f[at + 0x48..at + 0x4c].copy_from_slice(&NO_ENTRY.to_le_bytes());
            f[at + 0x4c..at + 0x50].copy_from_slice(&child.to_le_bytes());
            f[at + 0x74..at + 0x78].copy_from_slice(&start.to_le_bytes());
            f[at + 0x78..at + 0x7c].copy_from_slice(&size.to_le_bytes());
        };
        entry(&mut f, 1024, "Root Entry", 5, 1, END_OF_CHAIN, 0);
        entry(&mut f, 1024 + 128, "S", 2, NO_ENTRY, 2, size);
        for (k, b) in f[1536..2560].iter_mut().enumerate() {
            *b = b'a' + (k % 26) as u8;
        }
        f
    }

    fn take(f: &[u8]) -> Vec<(Vec<u8>, usize, Option<Cut>)> {
        let caps = Caps {
            member: 1 << 20,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        };
        let mut s = Scratch::default();
        collect(|v| unpack(f, &caps, &mut s, v))
            .into_iter()
            .map(|(n, d, c)| (n, d.len(), c))
            .collect()
    }

    #[test]
    fn vba_decompression_as_ms_ovba_shows_it() {
        // MS-OVBA 3.2.3, a compressed container of literals and copy tokens.
        let packed = [
            0x01, 0x2f, 0xb0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66,
            0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6a, 0x01, 0x38, 0x08, 0x61, 0x6b, 0x6c, 0x00,
            0x30, 0x6d, 0x6e, 0x6f, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74,
            0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x3c,
        ];
        let mut out = Vec::new();
        assert!(decompress(&packed, 1 << 20, &mut out));
        assert_eq!(
            out,
            b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        );
        // Cut short by the cap, and a copy reaching before the chunk.
        out.clear();
        assert!(!decompress(&packed, 10, &mut out));
        assert_eq!(out.len(), 10);
        out.clear();
        assert!(!decompress(
            &[0x01, 0x03, 0xb0, 0x01, 0x00, 0x70],
            1 << 20,
            &mut out
        ));
    }

    #[test]
    fn vba_modules_from_dir_records() {
        let mut dir = Vec::new();
        let rec = |d: &mut Vec<u8>, id: u16, body: &[u8]| {
            d.extend_from_slice(&id.to_le_bytes());
            d.extend_from_slice(&(body.len() as u32).to_le_bytes());
            d.extend_from_slice(body);
        };
        rec(&mut dir, 0x0001, &[1, 0, 0, 0]);
        // PROJECTVERSION: says 4, holds 6.
        dir.extend_from_slice(&[0x09, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0]);
        rec(&mut dir, 0x0019, b"Module1");
        rec(&mut dir, 0x001a, b"Module1");
        rec(&mut dir, 0x0032, b"M\0o\0d\0");
        rec(&mut dir, 0x0031, &1234u32.to_le_bytes());
        rec(&mut dir, 0x002b, b"");
        rec(&mut dir, 0x001a, b"ThisDocument");
        rec(&mut dir, 0x0031, &7u32.to_le_bytes());
        rec(&mut dir, 0x002b, b"");
        assert_eq!(
            vba_modules(&dir),
            vec![(b"Module1".to_vec(), 1234), (b"ThisDocument".to_vec(), 7)]
        );
    }

    #[test]
    fn a_stream_across_two_sectors() {
        let f = file(1000, END_OF_CHAIN);
        assert!(is_ole2(&f));
        assert_eq!(take(&f), vec![(b"S".to_vec(), 1000, None)]);
    }

    #[test]
    fn a_table_that_loops_ends_the_stream_as_damage() {
        // Sector 3 leads back to 2: the chain stops at the repeat.
        let f = file(5000, 2);
        assert_eq!(
            take(&f),
            vec![
                (b"S".to_vec(), 1024, Some(Cut::Broken)),
                (b"broken".to_vec(), 0, None)
            ]
        );
        // A sector number past the end of the file: the same.
        let f = file(5000, 4000);
        assert_eq!(take(&f)[0], (b"S".to_vec(), 1024, Some(Cut::Broken)));
    }
}
