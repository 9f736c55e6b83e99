//! ar archives (`!<arch>`), read by ward itself: Unix static libraries and
//! Debian packages (`debian-binary`, `control.tar.*`, `data.tar.*`, whose
//! tarballs are members like any other). Both ways of storing long names are
//! read: GNU's (a `//` table of names, members named `/OFFSET`, short names
//! ended by `/`) and BSD's (`#1/LEN`, the name at the start of the data).
//! Symbol tables (`/`, `/SYM64/`) and the name table are not members. Every
//! member is a slice of the archive.

use std::ops::ControlFlow;

use super::cpio::stored;
use super::{Caps, Found};

const MAGIC: &[u8] = b"!<arch>\n";
/// The size of a member header.
const HEADER: usize = 60;

/// One member header, read.
struct Header<'a> {
    /// The name field, trailing spaces removed.
    name: &'a [u8],
    size: u64,
}

/// The header at `at`: its end marker in place and its size a decimal
/// number, padded with spaces.
fn header(data: &[u8], at: usize) -> Option<Header<'_>> {
    let h = data.get(at..at.checked_add(HEADER)?)?;
    if &h[58..60] != b"`\n" {
        return None;
    }
    Some(Header {
        name: trim(&h[..16]),
        size: decimal(&h[48..58])?,
    })
}

fn trim(field: &[u8]) -> &[u8] {
    let end = field.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    &field[..end]
}

/// Digits, then spaces only (at least one digit).
fn decimal(field: &[u8]) -> Option<u64> {
    let digits = trim(field);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Whether `data` is an ar archive: the magic string and a well-formed
/// first member header.
pub(super) fn is_ar(data: &[u8]) -> bool {
    data.starts_with(MAGIC) && header(data, MAGIC.len()).is_some()
}

/// A member's name, from its name field and the GNU name table; `None` when
/// it is no member (a symbol table or the name table).
fn gnu_name<'a>(field: &'a [u8], names: &'a [u8]) -> Option<&'a [u8]> {
    match field {
        b"/" | b"/SYM64/" | b"//" | b"ARFILENAMES/" => None,
        [b'/', offset @ ..] if !offset.is_empty() => {
            // An offset into the table; a name there ends at "/\n" (or "\n").
            let at = decimal(offset).and_then(|o| usize::try_from(o).ok());
            let Some(rest) = at.and_then(|at| names.get(at..)) else {
                return Some(field);
            };
            let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
            Some(line.strip_suffix(b"/").unwrap_or(line))
        }
        _ => Some(field.strip_suffix(b"/").unwrap_or(field)),
    }
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if !is_ar(data) {
        return ControlFlow::Continue(());
    }
    let mut names: &[u8] = &[];
    let mut at = MAGIC.len();
    // Members are 2-aligned; some writers leave out the last padding byte.
    while at < data.len() {
        if caps.expired() {
            return visit(Found::out_of_time(b""));
        }
        let Some(h) = header(data, at) else {
            return visit(Found::Broken);
        };
        let start = at + HEADER;
        let end = usize::try_from(h.size)
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|&end| end <= data.len());
        if h.name == b"//" {
            names = &data[start..end.unwrap_or(data.len())];
        } else if let Some(field) = h.name.strip_prefix(b"#1/") {
            // BSD: the name is the first LEN bytes of the data.
            let len = decimal(field).filter(|&len| len <= h.size);
            let name_end = len
                .and_then(|len| usize::try_from(len).ok())
                .and_then(|len| start.checked_add(len));
            let (Some(len), Some(name_end)) = (len, name_end.filter(|&e| e <= data.len())) else {
                return visit(Found::Broken);
            };
            let name = &data[start..name_end];
            let name = name.split(|&b| b == 0).next().unwrap_or(name);
            let (bytes, cut) = stored(data, name_end, h.size - len, caps);
            visit(Found::Member {
                name,
                data: bytes,
                cut,
            })?;
        } else if let Some(name) = gnu_name(h.name, names) {
            let (bytes, cut) = stored(data, start, h.size, caps);
            visit(Found::Member {
                name,
                data: bytes,
                cut,
            })?;
        }
        let Some(end) = end else {
            // The size runs past the end: what was there has been given.
            return visit(Found::Broken);
        };
        at = end + (end & 1);
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::Cut;

    const CAPS: Caps = Caps {
        member: 1 << 20,
        memory: 1 << 20,
        ratio: 0,
        deadline: None,
    };

    fn header(name: &[u8], size: usize) -> Vec<u8> {
        let mut h = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            "", 0, 0, 0, 644, size
        )
        .into_bytes();
        h[..name.len()].copy_from_slice(name);
        h
    }

    /// An archive of (name field, data) members, each padded to 2 bytes.
    fn archive(members: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for (name, data) in members {
            out.extend(header(name, data.len()));
            out.extend_from_slice(data);
            if out.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    fn members(data: &[u8], caps: &Caps) -> Vec<crate::unpack::Taken> {
        crate::unpack::collect(|visit| unpack(data, caps, visit))
    }

    fn m(name: &[u8], data: &[u8]) -> crate::unpack::Taken {
        (name.to_vec(), data.to_vec(), None)
    }

    #[test]
    fn debian_package_members() {
        let a = archive(&[
            (b"debian-binary", b"2.0\n"),
            (b"control.tar.xz", b"ctl"),
            (b"data.tar.xz", b"data!"),
        ]);
        assert!(is_ar(&a));
        assert_eq!(
            members(&a, &CAPS),
            [
                m(b"debian-binary", b"2.0\n"),
                m(b"control.tar.xz", b"ctl"),
                m(b"data.tar.xz", b"data!")
            ]
        );
    }

    #[test]
    fn gnu_and_bsd_names() {
        let long = b"a-name-longer-than-sixteen.o/\nanother-long-name.o/\n";
        let a = archive(&[
            (b"/", b"\0\0\0\0symbols"),
            (b"//", long),
            (b"short.o/", b"1"),
            (b"/30", b"2"),
            (b"/0", b"3"),
            (b"/999", b"4"),
            (b"#1/20", b"bsd-name-of-20-bytes5"),
            (b"#1/8", b"bsd\0\0\0\0\x006"),
        ]);
        assert_eq!(
            members(&a, &CAPS),
            [
                m(b"short.o", b"1"),
                m(b"another-long-name.o", b"2"),
                m(b"a-name-longer-than-sixteen.o", b"3"),
                m(b"/999", b"4"),
                m(b"bsd-name-of-20-bytes", b"5"),
                m(b"bsd", b"6"),
            ]
        );
    }

    #[test]
    fn damage_gives_what_came_before_then_broken() {
        let a = archive(&[(b"one", b"first"), (b"two", b"second")]);
        // Cut anywhere but at the end of a member (with or without its
        // padding byte).
        let first = MAGIC.len() + HEADER + 5..=MAGIC.len() + HEADER + 6;
        for len in (MAGIC.len() + HEADER..a.len() - 1).filter(|l| !first.contains(l)) {
            let got = members(&a[..len], &CAPS);
            assert_eq!(got.last().unwrap().0, b"broken", "{len}");
        }
        let at = a.windows(6).position(|w| w == b"second").unwrap() + 3;
        let got = members(&a[..at], &CAPS);
        assert_eq!(
            got[1],
            (b"two".to_vec(), b"sec".to_vec(), Some(Cut::Broken))
        );
        // A BSD name longer than the member.
        let a = archive(&[(b"#1/9", b"short")]);
        assert_eq!(members(&a, &CAPS), [m(b"broken", b"")]);
        // A size that is no number.
        let mut a = archive(&[(b"one", b"first"), (b"two", b"second")]);
        let second = MAGIC.len() + HEADER + 6;
        a[second + 48] = b'x';
        assert_eq!(members(&a, &CAPS), [m(b"one", b"first"), m(b"broken", b"")]);
    }

    #[test]
    fn the_last_padding_byte_may_be_missing() {
        let a = archive(&[(b"odd", b"abc")]);
        assert_eq!(members(&a[..a.len() - 1], &CAPS), [m(b"odd", b"abc")]);
    }

    #[test]
    fn not_ar() {
        for text in [&b"!<arch>\n"[..], b"!<arch>\nshort", b"!<thin>\n", b""] {
            assert!(!is_ar(text));
            assert!(members(text, &CAPS).is_empty());
        }
        let mut a = archive(&[(b"x", b"y")]);
        a[MAGIC.len() + 59] = b'x';
        assert!(!is_ar(&a));
    }
}
