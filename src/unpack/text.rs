//! The normalised view of a text file, as ClamAV makes it for target type 7
//! signatures (and matches type 0 signatures against too): whether a file is
//! text is judged on its first [`HEAD`] bytes (ASCII, UTF-8 or UTF-16, by
//! ClamAV's rules), and the view drops control characters and every byte
//! past ASCII (so UTF-16 text of ASCII characters becomes that text), turns
//! each run of white space into one space, and lowers `A`–`Z`.
//!
//! This is a view, not a container: it has no members, and it is never
//! unpacked or viewed again.

/// How much of a file decides whether it is text (ClamAV's magic buffer).
pub const HEAD: usize = 1028;

/// Text files larger than this get no view (ClamAV's `MaxScriptNormalize`
/// default, 20 MiB).
pub const MAX_NORMALIZE: usize = 20 << 20;

/// What ClamAV calls text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Plain ASCII, ISO-8859 or extended ASCII.
    Ascii,
    /// UTF-8.
    Utf8,
    /// UTF-16, either byte order, with or without a byte-order mark.
    Utf16,
}

/// Characters of text: `F` never in text, anything else is.
const F: u8 = 0;
const T: u8 = 1;
#[rustfmt::skip]
const TEXT_CHARS: [u8; 256] = {
    let mut t = [T; 256];
    let never: [u8; 22] = [
        0, 1, 2, 3, 4, 5, 6, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0x7f,
    ];
    let mut i = 0;
    while i < never.len() {
        t[never[i] as usize] = F;
        i += 1;
    }
    t[28] = F;
    t[29] = F;
    t[30] = F;
    t[31] = F;
    t
};

/// Plain ASCII text: no byte that never appears in text (bytes past ASCII
/// are ISO-8859 or extended ASCII, and allowed).
fn is_ascii(head: &[u8]) -> bool {
    head.iter().all(|&b| TEXT_CHARS[usize::from(b)] != F)
}

/// UTF-8 with at least one multi-byte sequence, and no control character a
/// text would not hold. A sequence cut by the end of `head` counts.
fn is_utf8(head: &[u8]) -> bool {
    let mut got_one = false;
    let mut i = 0;
    while i < head.len() {
        let b = head[i];
        if b & 0x80 == 0 {
            if TEXT_CHARS[usize::from(b)] != T {
                return false;
            }
        } else if b & 0x40 == 0 {
            return false;
        } else {
            let following = match b {
                _ if b & 0x20 == 0 => 1,
                _ if b & 0x10 == 0 => 2,
                _ if b & 0x08 == 0 => 3,
                _ if b & 0x04 == 0 => 4,
                _ if b & 0x02 == 0 => 5,
                _ => return false,
            };
            for _ in 0..following {
                i += 1;
                if i >= head.len() {
                    return got_one;
                }
                if head[i] & 0xc0 != 0x80 {
                    return false;
                }
            }
            got_one = true;
        }
        i += 1;
    }
    got_one
}

/// UTF-16: with a byte-order mark, anything but U+FFFE where controls are
/// fewer than half the length; without one, no control character at all
/// (read big-endian, as ClamAV reads it). The first code unit is not looked
/// at.
///
/// Without a mark, ward also wants half the code units to have a zero byte,
/// as text of Latin letters has: by ClamAV's rule alone, most compressed,
/// encrypted or media data (anything without a magic number ClamAV knows)
/// counts as UTF-16, and its view, printable bytes picked out of noise, would
/// be matched for nothing.
fn is_utf16(head: &[u8]) -> bool {
    if head.len() < 2 {
        return false;
    }
    let (le, bom) = match (head[0], head[1]) {
        (0xff, 0xfe) => (true, true),
        (0xfe, 0xff) => (false, true),
        _ => (false, false),
    };
    let (mut bad, mut zero) = (0, 0);
    for unit in head[2..].chunks_exact(2) {
        zero += usize::from(unit[0] == 0 || unit[1] == 0);
        let c = match le {
            true => u16::from_le_bytes([unit[0], unit[1]]),
            false => u16::from_be_bytes([unit[0], unit[1]]),
        };
        if c == 0xfffe {
            return false;
        }
        if c < 128 && TEXT_CHARS[usize::from(c)] != T {
            if !bom {
                return false;
            }
            bad += 1;
        }
    }
    let units = head.len() / 2 - 1;
    match bom {
        true => bad < head.len() / 2,
        false => zero * 2 >= units,
    }
}

/// Whether the file whose first bytes are `head` (at most [`HEAD`]) is text,
/// and which.
pub fn text_kind(head: &[u8]) -> Option<TextKind> {
    let head = &head[..head.len().min(HEAD)];
    if is_ascii(head) {
        Some(TextKind::Ascii)
    } else if is_utf8(head) {
        Some(TextKind::Utf8)
    } else if is_utf16(head) {
        Some(TextKind::Utf16)
    } else {
        None
    }
}

/// What each byte becomes in the view: 0 dropped, `b' '` white space (a run
/// of it is one space), else the byte written.
const VIEW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b < 0x80 {
        t[b] = b as u8;
        b += 1;
    }
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = b + 32;
        b += 1;
    }
    let mut b = b'\t';
    while b <= b'\r' {
        t[b as usize] = b' ';
        b += 1;
    }
    t[b' ' as usize] = b' ';
    t
};

/// Write the normalised view of `data` into `out` (grown to at least
/// `data.len()` bytes, never shrunk, so that a reused buffer is not cleared
/// again); the view is the first bytes of `out`, as many as returned.
pub fn normalize(data: &[u8], out: &mut Vec<u8>) -> usize {
    if out.len() < data.len() {
        out.resize(data.len(), 0);
    }
    let buf = &mut out[..data.len()];
    let (mut n, mut space) = (0, false);
    let mut words = data.chunks_exact(8);
    for word in words.by_ref() {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // Most words of text are ASCII with nothing to drop: those go
        // through eight at a time (see `ascii_word`), the rest a byte at a
        // time.
        let Some(AsciiWord {
            view,
            repeats,
            ends_in_space,
        }) = ascii_word(w, space)
        else {
            (n, space) = normalize_bytes(word, buf, n, space);
            continue;
        };
        if repeats == 0 {
            buf[n..n + 8].copy_from_slice(&view.to_le_bytes());
            n += 8;
        } else {
            // Without branches, as below: each byte is written, and kept
            // unless it repeats a space.
            for lane in 0..8 {
                buf[n] = (view >> (8 * lane)) as u8;
                n += 1 - ((repeats >> (8 * lane + 7)) & 1) as usize;
            }
        }
        space = ends_in_space;
    }
    (n, _) = normalize_bytes(words.remainder(), buf, n, space);
    n
}

/// The view of `bytes` written at `buf[n..]`, after a space when `space`;
/// the new length, and whether the view now ends in a space.
#[inline]
fn normalize_bytes(bytes: &[u8], buf: &mut [u8], mut n: usize, mut space: bool) -> (usize, bool) {
    // Without branches: every byte is written at `n`, which moves on only
    // past a byte that is kept.
    for &b in bytes {
        let m = VIEW[usize::from(b)];
        buf[n] = m;
        let is_space = m == b' ';
        n += usize::from(m != 0 && !(is_space && space));
        space = is_space | (space & (m == 0));
    }
    (n, space)
}

/// Eight bytes of ASCII text in the view.
struct AsciiWord {
    /// The eight bytes (one per lane, first byte lowest) as the view has
    /// them: `A`–`Z` lowered, white space a space.
    view: u64,
    /// A lane's high bit: a space that follows a space, which the view
    /// drops.
    repeats: u64,
    /// Whether the last byte is a space.
    ends_in_space: bool,
}

/// `w` as the view has it, when each of its bytes is white space or
/// ASCII from `!` up (DEL is kept, as `VIEW` has it), so that none is
/// dropped but repeated spaces; `space` when the view already ends in one.
#[inline]
fn ascii_word(w: u64, space: bool) -> Option<AsciiWord> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    if w & HIGH != 0 {
        return None;
    }
    // Every lane is below 0x80 from here, so no sum below carries into the
    // next lane: a lane's high bit says whether it reached the threshold.
    let at_least = |t: u8| w.wrapping_add(ONES * u64::from(0x80 - t)) & HIGH;
    let white = (at_least(b'\t') & !at_least(b'\r' + 1)) | (at_least(b' ') & !at_least(b'!'));
    if white | at_least(b'!') != HIGH {
        return None;
    }
    let upper = at_least(b'A') & !at_least(b'Z' + 1);
    // A white lane becomes a space: cleared, then 0x20 (its bit, moved).
    let lanes = (white >> 7) * 0xff;
    let view = ((w | (upper >> 2)) & !lanes) | (white >> 2);
    let before = (white << 8) | (u64::from(space) << 7);
    Some(AsciiWord {
        view,
        repeats: white & before,
        ends_in_space: white >> 63 == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_as_clamav_judges_them() {
        assert_eq!(
            text_kind(b"Hello,\r\n\tworld \x1b[0m"),
            Some(TextKind::Ascii)
        );
        assert_eq!(text_kind(b"caf\xe9 latin-1"), Some(TextKind::Ascii));
        assert_eq!(text_kind(b"\x01\x02\0\x03"), None);
        assert_eq!(text_kind(b"\xff\xfeh\0i\0"), Some(TextKind::Utf16));
        assert_eq!(text_kind(b"\0h\0i\0!"), Some(TextKind::Utf16));
        assert_eq!(text_kind(b"h\0i\0!\0"), Some(TextKind::Utf16));
        assert_eq!(text_kind(b"\x7fELF\x02\x01\x01\0\0\0"), None);
        assert_eq!(text_kind(b"MZ\x90\0\x03\0\0\0\x04\0"), None);
        assert_eq!(text_kind(b""), Some(TextKind::Ascii));
        // Noise passes ClamAV's rule for UTF-16 without a mark, not ward's.
        let noise: Vec<u8> = (0..1028u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 13) % 255) as u8 + 1)
            .collect();
        assert_eq!(text_kind(&noise), None);
    }

    #[test]
    fn the_view() {
        let mut out = Vec::new();
        let n = normalize(b"  Hello,\r\n\r\n\tWORLD\x01\x80\xff!", &mut out);
        assert_eq!(&out[..n], b" hello, world!");
        // A run of white space broken by dropped bytes is still one space.
        let n = normalize(b"a \x00\x81\n b", &mut out);
        assert_eq!(&out[..n], b"a b");
        let n = normalize(b"\xff\xfeE\0v\0i\0l\0", &mut out);
        assert_eq!(&out[..n], b"evil");
    }

    /// The view a byte at a time, as the rules say it.
    fn reference(data: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = Vec::new();
        for &b in data {
            let c = match b {
                b'\t'..=b'\r' | b' ' => b' ',
                0x21..=0x7f => b.to_ascii_lowercase(),
                _ => continue,
            };
            if !(c == b' ' && v.last() == Some(&b' ')) {
                v.push(c);
            }
        }
        v
    }

    #[test]
    fn eight_at_a_time_as_one_at_a_time() {
        // Words of every kind, at every alignment: plain, spaces single and
        // doubled, at the edges of a word, upper case at the range's ends,
        // controls, DEL, bytes past ASCII.
        let pieces: [&[u8]; 12] = [
            b"abcdefgh",
            b"ab cd ef",
            b" abcdefg",
            b"abcdefg ",
            b"AZ@[`{~!",
            b"a  b",
            b"\t\n",
            b"x\x7fy",
            b"\x80\xff",
            b"\x00\x1f",
            b"Hello, World",
            b"   ",
        ];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut out = Vec::new();
        for _ in 0..2000 {
            let mut data = Vec::new();
            for _ in 0..(rng % 9) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                data.extend_from_slice(pieces[(rng % 12) as usize]);
            }
            let n = normalize(&data, &mut out);
            assert_eq!(
                &out[..n],
                &reference(&data)[..],
                "{:?}",
                data.escape_ascii().to_string()
            );
        }
    }
}
