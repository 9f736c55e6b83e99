//! Three small formats mail and old Windows software carry files in, read by
//! ward itself:
//! - SZDD, what Microsoft's `compress.exe` makes (`FILE.EX_`): an LZSS stream
//!   over a 4 KiB window of spaces;
//! - TNEF (`winmail.dat`), Outlook's attachment wrapper: each attachment's
//!   data is a member, named by its title;
//! - BinHex 4.0, the Macintosh text encoding of a file (6-bit characters, run
//!   length coding, then a header, the data fork and the resource fork): the
//!   data fork is a member, and the resource fork too when it is not empty.
//!
//! Every length read is checked against the bytes there are; output stops at
//! the member cap, and the decoders read each input byte once.

use std::ops::ControlFlow;

use super::bytes::{be32, le16, le32};
use super::out::Out;
use super::{Caps, Cut, Found, Scratch};

// SZDD

const SZDD: &[u8] = b"SZDD\x88\xf0\x27\x33";

pub(super) fn is_szdd(data: &[u8]) -> bool {
    data.len() >= 14 && data.starts_with(SZDD) && data[8] == b'A'
}

/// The one member has no name: the header keeps only the last character of
/// the file's (the one `compress.exe` replaced by `_`).
pub(super) fn szdd(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let declared = u64::from(le32(data, 10).unwrap_or(0));
    let mut out = Out::new(scratch, caps);
    let mut window = [b' '; 4096];
    let mut pos = 4096 - 16;
    let mut i = 14;
    let mut written = 0u64;
    'stream: while i < data.len() && written < declared {
        let control = data[i];
        i += 1;
        for bit in 0..8 {
            if i >= data.len() || written >= declared {
                break 'stream;
            }
            if control & (1 << bit) != 0 {
                let b = data[i];
                i += 1;
                window[pos] = b;
                pos = (pos + 1) & 4095;
                written += 1;
                if !out.push(b) {
                    break 'stream;
                }
            } else {
                let (Some(&lo), Some(&hi)) = (data.get(i), data.get(i + 1)) else {
                    break 'stream;
                };
                i += 2;
                let mut from = usize::from(lo) | usize::from(hi & 0xf0) << 4;
                for _ in 0..usize::from(hi & 0x0f) + 3 {
                    let b = window[from];
                    from = (from + 1) & 4095;
                    window[pos] = b;
                    pos = (pos + 1) & 4095;
                    written += 1;
                    if !out.push(b) {
                        break 'stream;
                    }
                }
            }
        }
    }
    let (bytes, cut) = out.finish(written < declared);
    visit(Found::Member {
        name: b"",
        data: bytes,
        cut,
    })
}

// TNEF

const TNEF: &[u8] = b"\x78\x9f\x3e\x22";
const ATTACH_DATA: u16 = 0x800f;
const ATTACH_TITLE: u16 = 0x8010;
const ATTACH_REND_DATA: u16 = 0x9002;

pub(super) fn is_tnef(data: &[u8]) -> bool {
    data.len() >= 6 && data.starts_with(TNEF)
}

pub(super) fn tnef(
    data: &[u8],
    caps: &Caps,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut at = 6;
    let mut title: &[u8] = b"";
    while at < data.len() {
        if caps.expired() {
            return visit(Found::out_of_time(b""));
        }
        let (Some(&level), Some(id), Some(len)) =
            (data.get(at), le16(data, at + 1), le32(data, at + 5))
        else {
            return visit(Found::Broken);
        };
        let start = at + 9;
        let Some(body) = usize::try_from(len)
            .ok()
            .and_then(|n| data.get(start..start.checked_add(n)?))
        else {
            return visit(Found::Broken);
        };
        at = start + body.len() + 2;
        if level != 2 {
            continue;
        }
        match id {
            ATTACH_TITLE => title = body.split(|&b| b == 0).next().unwrap_or(b""),
            ATTACH_DATA => {
                // Outlook writes an attachment's title after its data: look
                // ahead, up to the next attachment's first attribute.
                if title.is_empty() {
                    title = title_after(data, at);
                }
                let n = body
                    .len()
                    .min(usize::try_from(caps.member).unwrap_or(usize::MAX));
                visit(Found::Member {
                    name: title,
                    data: &body[..n],
                    cut: (n < body.len()).then_some(Cut::Size),
                })?;
                title = b"";
            }
            _ => {}
        }
    }
    ControlFlow::Continue(())
}

/// The title of the attachment whose data ends just before `at`: the first
/// attachment title among the attributes that follow, before the next
/// attachment starts (`attAttachRendData`).
fn title_after(data: &[u8], mut at: usize) -> &[u8] {
    while let (Some(&level), Some(id), Some(len)) =
        (data.get(at), le16(data, at + 1), le32(data, at + 5))
    {
        let start = at + 9;
        let Some(body) = usize::try_from(len)
            .ok()
            .and_then(|n| data.get(start..start.checked_add(n)?))
        else {
            break;
        };
        if level == 2 && id == ATTACH_REND_DATA {
            break;
        }
        if level == 2 && id == ATTACH_TITLE {
            return body.split(|&b| b == 0).next().unwrap_or(b"");
        }
        at = start + body.len() + 2;
    }
    b""
}

// BinHex 4.0

const BINHEX: &[u8] = b"(This file must be converted with BinHex";
const ALPHABET: &[u8; 64] = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

pub(super) fn is_binhex(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    memchr::memmem::find(head, BINHEX).is_some()
}

/// The bytes BinHex text stands for, one at a time: 6-bit characters
/// between the first `:` after the banner and the next `:` (white space
/// skipped), then run-length coding (`0x90 N`: the byte before, N times in
/// all; `0x90 0`: a literal `0x90`).
struct Dehex<'a> {
    text: &'a [u8],
    at: usize,
    acc: u32,
    bits: u32,
    last: u8,
    repeat: u8,
    /// The closing `:` was reached.
    ended: bool,
}

impl<'a> Dehex<'a> {
    fn new(data: &'a [u8]) -> Dehex<'a> {
        let banner = memchr::memmem::find(data, BINHEX).unwrap_or(0);
        let at = memchr::memchr(b':', &data[banner..]).map_or(data.len(), |c| banner + c + 1);
        Dehex {
            text: data,
            at,
            acc: 0,
            bits: 0,
            last: 0,
            repeat: 0,
            ended: false,
        }
    }

    /// The next byte of the 6-bit decoding.
    fn raw(&mut self) -> Option<u8> {
        const TABLE: [u8; 256] = {
            let mut t = [0xffu8; 256];
            let mut v = 0;
            while v < 64 {
                t[ALPHABET[v] as usize] = v as u8;
                v += 1;
            }
            t
        };
        while self.bits < 8 {
            let &c = self.text.get(self.at)?;
            self.at += 1;
            if c == b':' {
                self.ended = true;
                self.at = self.text.len();
                return None;
            }
            let v = TABLE[usize::from(c)];
            if v != 0xff {
                self.acc = (self.acc << 6) | u32::from(v);
                self.bits += 6;
            }
        }
        self.bits -= 8;
        let b = (self.acc >> self.bits) as u8;
        self.acc &= (1 << self.bits) - 1;
        Some(b)
    }
}

impl Iterator for Dehex<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.repeat > 0 {
            self.repeat -= 1;
            return Some(self.last);
        }
        let b = self.raw()?;
        if b != 0x90 {
            self.last = b;
            return Some(b);
        }
        match self.raw()? {
            0 => {
                self.last = 0x90;
                Some(0x90)
            }
            n => {
                // The byte before appears n times in all: n - 1 more.
                self.repeat = n.saturating_sub(2);
                (n > 1).then_some(self.last).or_else(|| self.next())
            }
        }
    }
}

pub(super) fn binhex(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut bytes = Dehex::new(data);
    // The header: name length, name, version, type, creator, flags, the
    // two fork lengths, a CRC.
    let Some(n) = bytes.next() else {
        return visit(Found::Broken);
    };
    let head: Vec<u8> = bytes.by_ref().take(usize::from(n) + 21).collect();
    if head.len() < usize::from(n) + 21 {
        return visit(Found::Broken);
    }
    let name = head[..usize::from(n)].to_vec();
    let (Some(data_len), Some(rsrc_len)) = (
        be32(&head, usize::from(n) + 11),
        be32(&head, usize::from(n) + 15),
    ) else {
        return visit(Found::Broken);
    };
    let mut resource = name.clone();
    resource.extend_from_slice(b" (resource fork)");
    for (k, (name, len)) in [(name, data_len), (resource, rsrc_len)]
        .into_iter()
        .enumerate()
    {
        if k == 1 {
            // The data fork's CRC.
            bytes.by_ref().take(2).for_each(drop);
            if len == 0 {
                break;
            }
        }
        let mut out = Out::new(scratch, caps);
        let mut got = 0u64;
        while got < u64::from(len) {
            let Some(b) = bytes.next() else {
                break;
            };
            got += 1;
            if !out.push(b) {
                break;
            }
        }
        let short = got < u64::from(len) && !out.full();
        let (fork, cut) = out.finish(short);
        visit(Found::Member {
            name: &name,
            data: fork,
            cut,
        })?;
        if cut.is_some() {
            break;
        }
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::super::collect;
    use super::*;

    fn caps() -> Caps {
        Caps {
            member: 1 << 20,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        }
    }

    #[test]
    fn szdd_literals_and_a_back_reference() {
        // "abcabcabc": three literals, then a copy of 6 from the window start.
        let mut f = SZDD.to_vec();
        f.extend_from_slice(b"A_");
        f.extend_from_slice(&9u32.to_le_bytes());
        f.push(0b0000_0111);
        f.extend_from_slice(b"abc");
        // Position 4080 (0xff0), length 6: 0xf0, 0xf0 | (6 - 3).
        f.extend_from_slice(&[0xf0, 0xf3]);
        assert!(is_szdd(&f));
        let mut s = Scratch::default();
        let got = collect(|v| szdd(&f, &caps(), &mut s, v));
        assert_eq!(got, vec![(b"".to_vec(), b"abcabcabc".to_vec(), None)]);
    }

    #[test]
    fn tnef_attachment_named_by_its_title() {
        let mut f = TNEF.to_vec();
        f.extend_from_slice(&[0, 0]);
        let attr = |f: &mut Vec<u8>, level: u8, id: u16, body: &[u8]| {
            f.push(level);
            f.extend_from_slice(&u32::from(id).to_le_bytes());
            f.extend_from_slice(&(body.len() as u32).to_le_bytes());
            f.extend_from_slice(body);
            f.extend_from_slice(&[0, 0]);
        };
        attr(&mut f, 1, 0x9006, &[0, 0, 1, 0]);
        attr(&mut f, 2, ATTACH_REND_DATA, &[0; 4]);
        attr(&mut f, 2, ATTACH_DATA, b"hello");
        attr(&mut f, 2, ATTACH_TITLE, b"a.txt\0");
        assert!(is_tnef(&f));
        let got = collect(|v| tnef(&f, &caps(), v));
        assert_eq!(got, vec![(b"a.txt".to_vec(), b"hello".to_vec(), None)]);
        // Cut inside the title: the data is still handed out, then the damage.
        f.truncate(f.len() - 10);
        let got = collect(|v| tnef(&f, &caps(), v));
        assert_eq!(
            got,
            vec![
                (b"".to_vec(), b"hello".to_vec(), None),
                (b"broken".to_vec(), vec![], None)
            ]
        );
    }
}
