//! cpio, read by ward itself: the "new" ASCII format (`070701`) and its
//! checksummed twin (`070702`), the portable ASCII format (`070707`, octal),
//! and the old binary format in either byte order (the 16-bit word 0o070707
//! first). Members are regular files, given as slices of the archive; the
//! archive ends at `TRAILER!!!`. The format is the first header's: every
//! header after it must be of the same kind.

use std::ops::ControlFlow;

use super::{Caps, Cut, Found};

/// The name of the last entry.
const TRAILER: &[u8] = b"TRAILER!!!";
/// `S_IFMT` and the file types it may hold.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const FILE_TYPES: [u32; 7] = [
    0o010_000, 0o020_000, 0o040_000, 0o060_000, S_IFREG, 0o120_000, 0o140_000,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `070701` or `070702`: hex fields, header + name and data 4-aligned.
    Newc,
    /// `070707`: octal fields, no alignment.
    Odc,
    /// Old binary, little-endian words, 2-aligned.
    BinLe,
    /// Old binary, big-endian words, 2-aligned.
    BinBe,
}

impl Format {
    fn of(data: &[u8]) -> Option<Format> {
        match data {
            [b'0', b'7', b'0', b'7', b'0', b'1' | b'2', ..] => Some(Format::Newc),
            [b'0', b'7', b'0', b'7', b'0', b'7', ..] => Some(Format::Odc),
            [0xc7, 0x71, ..] => Some(Format::BinLe),
            [0x71, 0xc7, ..] => Some(Format::BinBe),
            _ => None,
        }
    }

    fn align(self) -> usize {
        match self {
            Format::Newc => 4,
            Format::Odc => 1,
            Format::BinLe | Format::BinBe => 2,
        }
    }
}

/// One entry's header, read.
struct Header<'a> {
    mode: u32,
    /// As stored, up to its first NUL.
    name: &'a [u8],
    /// The data's size, as the header says.
    size: u64,
    /// Where the data starts (after the name and its padding); may be past
    /// the end of the archive when the padding is cut off.
    at: usize,
}

/// The header at `at`, in `format`: its fields well-formed and its name,
/// NUL included, within `data`.
fn header(format: Format, data: &[u8], at: usize) -> Option<Header<'_>> {
    let rest = data.get(at..)?;
    if Format::of(rest)? != format {
        return None;
    }
    let (len, mode, namesize, size) = fields(format, rest)?;
    let name_at = at + len;
    let name = data.get(name_at..name_at.checked_add(namesize)?)?;
    let (&0, name) = name.split_last()? else {
        return None;
    };
    Some(Header {
        mode,
        name: name.split(|&b| b == 0).next().unwrap_or(name),
        size,
        at: align_up(name_at + namesize, format.align())?,
    })
}

/// The fixed part of a header at the start of `h`: its length, the mode,
/// the name's size (NUL included) and the data's, every field well-formed.
fn fields(format: Format, h: &[u8]) -> Option<(usize, u32, usize, u64)> {
    match format {
        Format::Newc => {
            let h = h.get(..110)?;
            let field = |i: usize| hex(&h[6 + 8 * i..14 + 8 * i]);
            // ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
            // devminor, rdevmajor, rdevminor, namesize, check.
            if !(0..13).all(|i| field(i).is_some()) {
                return None;
            }
            Some((110, field(1)?, field(11)? as usize, u64::from(field(6)?)))
        }
        Format::Odc => {
            let h = h.get(..76)?;
            // dev, ino, mode, uid, gid, nlink, rdev: 6 digits each; then
            // mtime (11), namesize (6), filesize (11).
            let small = |i: usize| octal(&h[6 + 6 * i..12 + 6 * i]);
            if !(0..7).all(|i| small(i).is_some()) || octal(&h[48..59]).is_none() {
                return None;
            }
            let namesize = usize::try_from(octal(&h[59..65])?).ok()?;
            Some((76, small(2)? as u32, namesize, octal(&h[65..76])?))
        }
        Format::BinLe | Format::BinBe => {
            let h = h.get(..26)?;
            let word = |i: usize| {
                let b = [h[2 * i], h[2 * i + 1]];
                u32::from(if format == Format::BinLe {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                })
            };
            // magic, dev, ino, mode, uid, gid, nlink, rdev, mtime (2 words),
            // namesize, filesize (2 words, the more significant first).
            let size = u64::from(word(11) << 16 | word(12));
            Some((26, word(3), word(10) as usize, size))
        }
    }
}

fn align_up(at: usize, align: usize) -> Option<usize> {
    Some(at.checked_add(align - 1)? / align * align)
}

fn hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &b| {
        let d = char::from(b).to_digit(16)?;
        Some(n << 4 | d)
    })
}

fn octal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &b| {
        let d = char::from(b).to_digit(8)?;
        Some(n << 3 | u64::from(d))
    })
}

/// Whether `data` starts with a cpio header: a magic number, well-formed
/// fields, a file type that exists, a name that fits and ends in NUL. The
/// old binary format's magic number is two bytes, so there the first entry
/// must also fit and be followed by another header's magic number.
pub(super) fn is_cpio(data: &[u8]) -> bool {
    let Some(format) = Format::of(data) else {
        return false;
    };
    let Some(h) = header(format, data, 0) else {
        return false;
    };
    if h.name == TRAILER {
        return true;
    }
    if !FILE_TYPES.contains(&(h.mode & S_IFMT)) {
        return false;
    }
    match format {
        Format::Newc | Format::Odc => true,
        Format::BinLe | Format::BinBe => usize::try_from(h.size)
            .ok()
            .and_then(|size| align_up(h.at.checked_add(size)?, 2))
            .and_then(|next| data.get(next..))
            .is_some_and(|next| Format::of(next) == Some(format)),
    }
}

/// The bytes of a stored member: `size` bytes of `data` from `start`, as
/// many as there are (else cut [`Cut::Broken`]) and at most
/// [`Caps::member`] (else cut [`Cut::Size`]). The ar and rpm readers use it
/// too.
pub(super) fn stored<'a>(
    data: &'a [u8],
    start: usize,
    size: u64,
    caps: &Caps,
) -> (&'a [u8], Option<Cut>) {
    let rest = data.get(start..).unwrap_or(&[]);
    let (mut n, mut cut) = match usize::try_from(size) {
        Ok(size) if size <= rest.len() => (size, None),
        _ => (rest.len(), Some(Cut::Broken)),
    };
    if n as u64 > caps.member {
        n = caps.member as usize;
        cut = Some(Cut::Size);
    }
    (&rest[..n], cut)
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(format) = Format::of(data).filter(|_| is_cpio(data)) else {
        // No valid first header: not a cpio archive.
        return ControlFlow::Continue(());
    };
    let mut at = 0;
    loop {
        if caps.expired() {
            return visit(Found::out_of_time(b""));
        }
        let Some(h) = header(format, data, at) else {
            // Damage, or the end came before the trailer.
            return visit(Found::Broken);
        };
        if h.name == TRAILER {
            return ControlFlow::Continue(());
        }
        let end = usize::try_from(h.size)
            .ok()
            .and_then(|size| h.at.checked_add(size))
            .filter(|&end| end <= data.len());
        if h.mode & S_IFMT == S_IFREG {
            let (bytes, cut) = stored(data, h.at, h.size, caps);
            visit(Found::Member {
                name: h.name,
                data: bytes,
                cut,
            })?;
        }
        // A size that runs past the end: what was there has been given.
        match end.and_then(|end| align_up(end, format.align())) {
            Some(next) => at = next,
            None => return visit(Found::Broken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive of `format` holding `entries` (name, mode, data), then
    /// the trailer.
    pub(crate) fn archive(format: Format, entries: &[(&[u8], u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let trailer: (&[u8], u32, &[u8]) = (TRAILER, 0, b"");
        for &(name, mode, data) in entries.iter().chain([&trailer]) {
            let namesize = name.len() + 1;
            match format {
                Format::Newc => {
                    out.extend_from_slice(b"070701");
                    let fields = [1, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0];
                    for f in fields.into_iter().chain([namesize as u32, 0]) {
                        out.extend_from_slice(format!("{f:08X}").as_bytes());
                    }
                }
                Format::Odc => {
                    out.extend_from_slice(b"070707");
                    for f in [0, 1, mode, 0, 0, 1, 0] {
                        out.extend_from_slice(format!("{f:06o}").as_bytes());
                    }
                    let tail = format!("{:011o}{namesize:06o}{:011o}", 0, data.len());
                    out.extend_from_slice(tail.as_bytes());
                }
                Format::BinLe | Format::BinBe => {
                    let size = data.len() as u32;
                    let words = [0o070707, 0, 1, mode as u16, 0, 0, 1, 0, 0, 0]
                        .into_iter()
                        .chain([namesize as u16, (size >> 16) as u16, size as u16]);
                    for w in words {
                        out.extend_from_slice(&if format == Format::BinLe {
                            w.to_le_bytes()
                        } else {
                            w.to_be_bytes()
                        });
                    }
                }
            }
            out.extend_from_slice(name);
            out.push(0);
            out.resize(align_up(out.len(), format.align()).unwrap(), 0);
            out.extend_from_slice(data);
            out.resize(align_up(out.len(), format.align()).unwrap(), 0);
        }
        out
    }

    const FORMATS: [Format; 4] = [Format::Newc, Format::Odc, Format::BinLe, Format::BinBe];
    const CAPS: Caps = Caps {
        member: 1 << 20,
        memory: 1 << 20,
        ratio: 0,
        deadline: None,
    };

    fn members(data: &[u8], caps: &Caps) -> Vec<crate::unpack::Taken> {
        crate::unpack::collect(|visit| unpack(data, caps, visit))
    }

    fn entries() -> Vec<(&'static [u8], u32, &'static [u8])> {
        vec![
            (b"dir", 0o040_755, b""),
            (b"dir/a", 0o100_644, b"odd"),
            (b"link", 0o120_777, b"dir/a"),
            (b"dir/bb", 0o100_600, b"four"),
        ]
    }

    #[test]
    fn every_format_gives_its_regular_files() {
        for format in FORMATS {
            let a = archive(format, &entries());
            assert!(is_cpio(&a), "{format:?}");
            let want = vec![
                (b"dir/a".to_vec(), b"odd".to_vec(), None),
                (b"dir/bb".to_vec(), b"four".to_vec(), None),
            ];
            assert_eq!(members(&a, &CAPS), want, "{format:?}");
        }
    }

    #[test]
    fn truncation_gives_what_came_before_then_broken() {
        for format in FORMATS {
            let a = archive(format, &entries());
            // Up to the trailer's name and its NUL: what follows is padding.
            let end = a.windows(10).rposition(|w| w == TRAILER).unwrap() + 11;
            for len in 0..end {
                let got = members(&a[..len], &CAPS);
                assert_eq!(got.is_empty(), !is_cpio(&a[..len]), "{format:?} {len}");
                if let Some(last) = got.last() {
                    assert_eq!(last.0, b"broken", "{format:?} {len}");
                }
            }
            // Cut inside the last member's data: its first bytes are given.
            let at = a.windows(4).position(|w| w == b"four").unwrap() + 2;
            let got = members(&a[..at], &CAPS);
            assert_eq!(
                got[1],
                (b"dir/bb".to_vec(), b"fo".to_vec(), Some(Cut::Broken))
            );
        }
    }

    #[test]
    fn a_lying_size_is_broken_and_never_allocated() {
        let mut a = archive(Format::Newc, &[(b"x", 0o100_644, b"data")]);
        a[54..62].copy_from_slice(b"FFFFFFFF");
        let got = members(&a, &CAPS);
        assert_eq!(got[0].2, Some(Cut::Broken));
        assert_eq!(got[1].0, b"broken");
    }

    #[test]
    fn caps_cut_a_member_and_reading_goes_on() {
        let a = archive(
            Format::Odc,
            &[(b"x", 0o100_644, b"0123456789"), (b"y", 0o100_644, b"z")],
        );
        let caps = Caps { member: 4, ..CAPS };
        let got = members(&a, &caps);
        assert_eq!(got[0], (b"x".to_vec(), b"0123".to_vec(), Some(Cut::Size)));
        assert_eq!(got[1], (b"y".to_vec(), b"z".to_vec(), None));
    }

    #[test]
    fn not_cpio() {
        for text in [&b"070701 but not hex"[..], b"\xc7\x71", b"070707", b""] {
            assert!(!is_cpio(text));
            assert!(members(text, &CAPS).is_empty());
        }
        // A binary header whose name does not end in NUL.
        let mut a = archive(Format::BinLe, &entries());
        a[26 + 3] = b'!';
        assert!(!is_cpio(&a));
        // An old binary archive cut inside its first member.
        let a = archive(Format::BinBe, &[(b"x", 0o100_644, b"data")]);
        assert!(is_cpio(&a));
        assert!(!is_cpio(&a[..30]));
        // A file type that does not exist.
        let a = archive(Format::Newc, &[(b"x", 0o170_644, b"")]);
        assert!(!is_cpio(&a));
    }
}
