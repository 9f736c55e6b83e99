//! Whether ClamAV types a file as mail (`CL_TYPE_MAIL`), which is what
//! target type 4 signatures need: they match the raw bytes of such a file
//! (a message, an mbox), and nothing else: not the parts decoded from it,
//! which are files of their own type.
//!
//! ClamAV's rules (libclamav `filetypes_int.h`, `filetypes.c`,
//! `scanners.c`), in order:
//! 1. the file starts with one of the header lines of [`MAGIC`];
//! 2. or, with no other magic number, a pair of header lines of
//!    [`HEADERS`] lies whole in its first KiB, and no MIME header pair
//!    ([`is_mhtml`], ClamAV's MHTML type, which wins) starts there;
//! 3. or, when ClamAV parses mail, the file is plain ASCII text and such a
//!    pair starts (within the offsets [`HEADERS`] allows) anywhere, and no
//!    MIME header pair is anywhere in it.
//!
//! ward reads rule 2 for text files only: ClamAV also applies it to binary
//! data without a magic number.

use crate::unpack::text::{TextKind, text_kind};

/// How much of a file ClamAV types it by (`CL_FILE_MBUFF_SIZE`).
const HEAD: usize = 1024;

/// Header lines a mail file starts with (ClamAV's magic numbers of type
/// `CL_TYPE_MAIL`).
const MAGIC: &[&[u8]] = &[
    b">From ",
    b"Date: ",
    b"Delivered-To: ",
    b"Delivery-date: ",
    b"Envelope-to: ",
    b"For: ",
    b"From ",
    b"From: ",
    b"Hi. This is the qmail-send",
    b"Message-ID: ",
    b"Message-Id: ",
    b"Received: ",
    b"Return-Path: ",
    b"Return-path: ",
    b"Subject: ",
    b"To: ",
    b"X-Apparently-To: ",
    b"X-EVS",
    b"X-Envelope-From: ",
    b"X-Original-To: ",
    b"X-Real-To: ",
    b"X-Sieve: ",
    b"X-Symantec-",
    b"X-UIDL: ",
    b"v:\nReceived: ",
    b"v:\r\nReceived: ",
    b"Received-SPF: ",
];

/// A header line pair of ClamAV's on-the-fly mail types: the first must
/// start at most `start` bytes into the file, the second at most `gap`
/// bytes after the first ends. An upper-case letter in a pair marked
/// `fold` matches either case.
struct Pair {
    first: &'static [u8],
    second: &'static [u8],
    start: usize,
    gap: usize,
    fold: bool,
}

const HEADERS: &[Pair] = &[
    pair(b"\nFrom: ", b"\nMIME-Version: ", 1024, 1024),
    pair(b"\nFrom: ", b"\nContent-Type: ", 1024, 2048),
    pair(b"\nMIME-Version: ", b"\nContent-Type: ", 1024, 2048),
    pair(b"\nMessage-Id: ", b"\nContent-Type: ", 1024, 1024),
    pair(b"\nReceived: ", b"\nContent-Type: ", 2048, 2048),
    Pair {
        first: b"Delivered-To:",
        second: b"Received:",
        start: 1024,
        gap: 256,
        fold: false,
    },
];

const fn pair(first: &'static [u8], second: &'static [u8], start: usize, gap: usize) -> Pair {
    Pair {
        first,
        second,
        start,
        gap,
        fold: true,
    }
}

/// ClamAV's MHTML pair, anywhere (or at the very start without its line
/// break).
const MHTML: Pair = pair(b"\nMIME-Version: ", b"\nContent-Type: ", usize::MAX, 1024);

/// Whether byte `b` of data matches byte `p` of a pattern.
fn eq(p: u8, b: u8, fold: bool) -> bool {
    p == b || (fold && p.is_ascii_uppercase() && p.to_ascii_lowercase() == b)
}

fn at(d: &[u8], i: usize, pat: &[u8], fold: bool) -> bool {
    d.get(i..i.saturating_add(pat.len()))
        .is_some_and(|w| w.iter().zip(pat).all(|(&b, &p)| eq(p, b, fold)))
}

/// Whether the pair matches in `d`. Every pattern starts with a byte
/// matched as it is (a line break, or `D`), so candidates are found by it.
fn find(d: &[u8], p: &Pair) -> bool {
    let starts = &d[..d.len().min(p.start.saturating_add(1))];
    memchr::memchr_iter(p.first[0], starts).any(|s| find_at(d, p, s))
}

/// Whether the pair matches in `d` with its first line at `s`.
fn find_at(d: &[u8], p: &Pair, s: usize) -> bool {
    if !at(d, s, p.first, p.fold) {
        return false;
    }
    let from = s + p.first.len();
    let to = from.saturating_add(p.gap).min(d.len());
    let window = &d[from..d.len().min(to.saturating_add(1))];
    memchr::memchr_iter(p.second[0], window).any(|j| at(d, from + j, p.second, p.fold))
}

/// Whether `d` holds ClamAV's MHTML pair starting before `limit`.
fn is_mhtml(d: &[u8], limit: usize) -> bool {
    let bare = Pair {
        first: &MHTML.first[1..],
        ..MHTML
    };
    find_at(d, &bare, 0)
        || find(
            d,
            &Pair {
                start: limit,
                ..MHTML
            },
        )
}

/// Whether ClamAV types `data` as mail (`parsing`: when it parses mail).
pub(crate) fn is_mail(data: &[u8], parsing: bool) -> bool {
    if MAGIC.iter().any(|m| data.starts_with(m)) {
        return true;
    }
    let Some(kind) = text_kind(data) else {
        return false;
    };
    let head = &data[..data.len().min(HEAD)];
    if HEADERS.iter().any(|p| find(head, p)) && !is_mhtml(head, HEAD) {
        return true;
    }
    parsing
        && kind == TextKind::Ascii
        && HEADERS.iter().any(|p| find(data, p))
        && !is_mhtml(data, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_line_at_the_start_is_mail() {
        assert!(is_mail(b"From: a@example.com\nhello", true));
        assert!(is_mail(b"From somebody Mon Jan  1 00:00:00 2024\n", true));
        assert!(is_mail(b"Received: from x\n", true));
        assert!(!is_mail(b"from: a@example.com\n", true));
        assert!(!is_mail(b"X-Mailer: y\nhello", true));
    }

    #[test]
    fn header_pairs_make_text_mail() {
        let m = b"X-Mailer: y\nFrom: a@example.com\nmime-Version: 1.0\n\nhi";
        assert!(is_mail(m, true));
        // "mime-version" is written (M|m)(I|i)...: "mime-VERSION" is not it.
        assert!(!is_mail(
            b"X-Mailer: y\nFrom: a\nMIME-VERSION: 1.0\n\nhi",
            true
        ));
        // Too far apart.
        let mut far = b"X-Mailer: y\nFrom: a\n".to_vec();
        far.extend([b'x'; 1100]);
        far.extend(b"\nMIME-Version: 1.0\n");
        assert!(!is_mail(&far, true));
        // Past the first KiB: plain ASCII text only.
        let mut late = b"X-Mailer: y\n".to_vec();
        late.extend([b'x'; 1000]);
        late.extend(b"\nFrom: a\nMIME-Version: 1.0\n");
        assert!(is_mail(&late, true));
        assert!(!is_mail(&late, false));
        let mut binary = b"\x01".to_vec();
        binary.extend(&late);
        assert!(!is_mail(&binary, true));
    }

    #[test]
    fn mime_headers_make_mhtml_instead() {
        let m = b"X-Mailer: y\nFrom: a\nMIME-Version: 1.0\nContent-Type: text/plain\n\nhi";
        assert!(!is_mail(m, true));
        assert!(is_mail(
            b"From: a\nMIME-Version: 1.0\nContent-Type: text/plain\n\nhi",
            true
        ));
    }
}
