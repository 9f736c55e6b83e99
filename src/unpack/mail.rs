//! Mail: RFC 822 / MIME messages and mbox files, recognised by their header
//! block. Each part of a message is a member, decoded from its transfer
//! encoding (base64, quoted-printable, uuencode; any other as it is sent):
//! - multiparts are opened down to [`MAX_NESTING`] levels;
//! - a part that is itself a message (`message/rfc822`) is handed out whole,
//!   and the scanner opens it as mail one level down;
//! - a uuencoded block inside a text part is a member of its own;
//! - an mbox holding several messages hands out each message.
//!
//! Damaged mail is read as far as it goes, as ClamAV reads it: a multipart
//! whose closing boundary is missing ends at the end of the data, one whose
//! boundary never appears (or is not given) is read as a single part (or
//! split at the first `--` line, taken for the boundary).
//!
//! Members are named `part N` or `part N: NAME` (N counts the parts of the
//! message from 1; NAME is the part's file name as sent), `message N` for the
//! messages of an mbox. Decoding never makes more bytes than it reads, so
//! the caps that bind here are the member size, the member count (through
//! the scanner) and the deadline.

use std::ops::ControlFlow;

use memchr::memmem;

use super::out::Out;
use super::{Caps, Cut, Found, Scratch};

/// How far into a file its header block must have ended for it to count as
/// mail (or the file ends before).
const HEAD: usize = 64 << 10;

/// Multiparts inside multiparts opened within one message; deeper ones are
/// handed out as they are.
pub const MAX_NESTING: u32 = 32;

/// Header fields a message may start with (after an mbox `From ` line).
const FIRST_FIELDS: &[&[u8]] = &[
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"subject",
    b"date",
    b"received",
    b"return-path",
    b"delivered-to",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"reply-to",
    b"sender",
    b"envelope-to",
    b"in-reply-to",
    b"references",
    b"organization",
    b"user-agent",
    b"x-mailer",
    b"x-original-to",
    b"x-envelope-from",
    b"x-sender",
    b"x-received",
    b"dkim-signature",
    b"authentication-results",
    b"arc-seal",
    b"list-id",
    b"thread-topic",
    b"thread-index",
];

/// The lines of `data`, each without its `\n` or `\r\n`, with where it starts.
fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let start = at;
        let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
        at = end + 1;
        let line = &data[start..end];
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// The name of the header field `line` starts, if it starts one: printable
/// characters other than `:`, then `:`.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    (!name.is_empty() && name.len() <= 76 && name.iter().all(|&b| (33..=126).contains(&b)))
        .then_some(name)
}

/// Whether `data` is a message or an mbox: its first line (after an mbox
/// `From ` line) a header field mail starts with, and every line up to the
/// first empty one a header field or its continuation.
pub(super) fn is_mail(data: &[u8]) -> bool {
    let head = &data[..data.len().min(HEAD)];
    let mut it = lines(head).peekable();
    if it.peek().is_some_and(|(_, l)| l.starts_with(b"From ")) {
        it.next();
    }
    let Some((_, first)) = it.next() else {
        return false;
    };
    let Some(name) = field_name(first) else {
        return false;
    };
    if !FIRST_FIELDS.contains(&name.to_ascii_lowercase().as_slice()) {
        return false;
    }
    for (_, line) in it {
        if line.is_empty() {
            return true;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") && field_name(line).is_none() {
            return false;
        }
    }
    // No empty line: mail only if the whole file was its header block.
    data.len() <= HEAD
}

/// One part's header block and body.
struct Entity<'a> {
    head: &'a [u8],
    body: &'a [u8],
}

/// Split at the first empty line (no header block when `data` starts with one).
fn entity(data: &[u8]) -> Entity<'_> {
    for (start, line) in lines(data) {
        if line.is_empty() {
            let after = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i + 1);
            return Entity {
                head: &data[..start],
                body: &data[after..],
            };
        }
    }
    Entity {
        head: data,
        body: &[],
    }
}

/// The value of header field `name` (lower case) in `head`, unfolded.
fn field(head: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let mut value: Option<Vec<u8>> = None;
    let mut in_it = false;
    for (_, line) in lines(head) {
        if in_it && (line.starts_with(b" ") || line.starts_with(b"\t")) {
            if let Some(v) = value.as_mut() {
                v.push(b' ');
                v.extend_from_slice(line.trim_ascii());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        in_it = field_name(line).is_some_and(|n| n.eq_ignore_ascii_case(name));
        if in_it {
            value = Some(line[name.len() + 1..].trim_ascii().to_vec());
        }
    }
    value
}

/// A header value's parameters: (name, value).
type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// A header value's first token (`type/subtype`, `base64`), lower case, and
/// its parameters (`name=value`, quotes removed, names lower case; RFC 2231
/// pieces `name*0`, `name*1*` joined, a `charset''` prefix dropped).
fn parse_value(v: &[u8]) -> (Vec<u8>, Params) {
    let mut pieces = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, &b) in v.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                pieces.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&v[start..]);
    let token = pieces[0].trim_ascii().to_ascii_lowercase();
    let mut params: Params = Vec::new();
    for p in &pieces[1..] {
        let Some(eq) = memchr::memchr(b'=', p) else {
            continue;
        };
        let key = p[..eq].trim_ascii().to_ascii_lowercase();
        let mut val = p[eq + 1..].trim_ascii();
        if val.len() >= 2 && val[0] == b'"' && val[val.len() - 1] == b'"' {
            val = &val[1..val.len() - 1];
        }
        let (base, extended) = match memchr::memchr(b'*', &key) {
            Some(star) => (key[..star].to_vec(), key.ends_with(b"*")),
            None => (key.clone(), false),
        };
        let val = match extended {
            // charset'language'value: the value after the second quote.
            true => match memmem::find(val, b"''") {
                Some(i) => &val[i + 2..],
                None => val,
            },
            false => val,
        };
        match params.iter_mut().find(|(k, _)| *k == base) {
            Some((_, existing)) if key.contains(&b'*') => existing.extend_from_slice(val),
            Some(_) => {}
            None => params.push((base, val.to_vec())),
        }
    }
    (token, params)
}

fn param<'p>(params: &'p Params, name: &[u8]) -> Option<&'p [u8]> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_slice())
}

/// The parts of a multipart body delimited by `--boundary` lines, up to the
/// closing `--boundary--` or the end of the data; `None` when no delimiter
/// line is there.
fn split_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Option<Vec<&'a [u8]>> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delim);
    // Delimiter lines: (start of the line, start of the next line, closing).
    let mut marks = Vec::new();
    let mut from = 0;
    while let Some(i) = finder.find(&body[from..]) {
        let at = from + i;
        from = at + delim.len();
        if at != 0 && body[at - 1] != b'\n' {
            continue;
        }
        let next = memchr::memchr(b'\n', &body[from..]).map_or(body.len(), |j| from + j + 1);
        let closing = body[from..].starts_with(b"--");
        marks.push((at, next, closing));
        if closing {
            break;
        }
    }
    if marks.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for (k, &(_, next, closing)) in marks.iter().enumerate() {
        if closing {
            break;
        }
        let end = marks.get(k + 1).map_or(body.len(), |&(at, _, _)| at);
        let mut part = &body[next.min(end)..end];
        // The line break before a delimiter belongs to the delimiter.
        part = part.strip_suffix(b"\n").unwrap_or(part);
        part = part.strip_suffix(b"\r").unwrap_or(part);
        parts.push(part);
    }
    Some(parts)
}

/// A multipart's boundary when its header gives none: the first line of the
/// body that starts with `--`, without the dashes.
fn guess_boundary(body: &[u8]) -> Option<Vec<u8>> {
    lines(body)
        .take(200)
        .find(|(_, l)| l.len() > 2 && l.starts_with(b"--"))
        .map(|(_, l)| l[2..].trim_ascii_end().to_vec())
}

/// Base64, skipping whatever is not in its alphabet (line breaks, padding,
/// damage), as mail readers do.
fn base64(data: &[u8], out: &mut Out) {
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut buf = [0u8; 3 * 64];
    let mut i = 0;
    while i < data.len() {
        // Between groups, four valid characters are three bytes: a line of
        // them goes through a whole group at a time. What the loop below
        // does a character at a time gives the same bytes.
        if bits == 0 {
            let mut n = 0;
            while let Some(q) = data.get(i..i + 4)
                && n < buf.len()
            {
                let v = [q[0], q[1], q[2], q[3]].map(|c| BASE64[usize::from(c)]);
                if (v[0] | v[1] | v[2] | v[3]) & 0x80 != 0 {
                    break;
                }
                let w = u32::from(v[0]) << 18
                    | u32::from(v[1]) << 12
                    | u32::from(v[2]) << 6
                    | u32::from(v[3]);
                buf[n..n + 3].copy_from_slice(&w.to_be_bytes()[1..]);
                n += 3;
                i += 4;
            }
            if n > 0 {
                if !out.extend(&buf[..n]) {
                    return;
                }
                continue;
            }
        }
        let v = BASE64[usize::from(data[i])];
        i += 1;
        if v & 0x80 != 0 {
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
            if out.full() {
                return;
            }
        }
    }
}

/// Each base64 character's value (the URL-safe `-` and `_` too); 0xff for
/// anything else, which is skipped.
const BASE64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// Quoted-printable: `=XX` a byte, `=` at the end of a line a soft break.
fn quoted_printable(data: &[u8], out: &mut Out) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < data.len() && !out.full() {
        let b = data[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (data.get(i + 1), data.get(i + 2)) {
            (Some(b'\n'), _) => i += 2,
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(hex(h).unwrap_or(0) << 4 | hex(l).unwrap_or(0));
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
}

/// A uuencoded block: its `begin MODE NAME` line's name, and where its
/// encoded lines start.
fn uu_begin(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"begin ")?;
    let space = memchr::memchr(b' ', rest)?;
    let mode = &rest[..space];
    (!mode.is_empty() && mode.len() <= 4 && mode.iter().all(|b| (b'0'..=b'7').contains(b)))
        .then(|| rest[space + 1..].trim_ascii())
}

/// Decode the uuencoded lines of `data` up to `end` (or a line of length 0);
/// how many bytes of `data` that took.
fn uudecode(data: &[u8], out: &mut Out) -> usize {
    let mut used = data.len();
    for (start, line) in lines(data) {
        if line == b"end" || line.is_empty() {
            used = start + line.len();
            break;
        }
        let n = usize::from(line[0].wrapping_sub(b' ') & 63);
        if n == 0 {
            used = start + line.len();
            break;
        }
        let sextet = |i: usize| u32::from(line.get(i).map_or(0, |c| c.wrapping_sub(b' ') & 63));
        let mut written = 0;
        let mut i = 1;
        while written < n && !out.full() {
            let v = sextet(i) << 18 | sextet(i + 1) << 12 | sextet(i + 2) << 6 | sextet(i + 3);
            for k in 0..3 {
                if written < n {
                    out.push((v >> (16 - 8 * k)) as u8);
                    written += 1;
                }
            }
            i += 4;
        }
        if out.full() {
            break;
        }
    }
    used
}

/// Taking parts out of one message (or mbox).
struct Walk<'v, 'c> {
    caps: &'c Caps,
    scratch: &'c mut Scratch,
    visit: &'v mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
    /// Parts handed out so far.
    parts: u32,
}

impl Walk<'_, '_> {
    fn name(&mut self, file: Option<&[u8]>) -> Vec<u8> {
        self.parts += 1;
        let mut name = format!("part {}", self.parts).into_bytes();
        if let Some(f) = file.filter(|f| !f.is_empty()) {
            name.extend_from_slice(b": ");
            name.extend_from_slice(f);
        }
        name
    }

    /// One entity: a multipart opened, anything else handed out decoded.
    fn entity(&mut self, data: &[u8], nesting: u32) -> ControlFlow<()> {
        if self.caps.expired() {
            (self.visit)(Found::out_of_time(b""))?;
            return ControlFlow::Break(());
        }
        let e = entity(data);
        let (mime, params) = field(e.head, b"content-type")
            .map(|v| parse_value(&v))
            .unwrap_or_default();
        let encoding = field(e.head, b"content-transfer-encoding")
            .map(|v| parse_value(&v).0)
            .unwrap_or_default();
        let file = field(e.head, b"content-disposition")
            .and_then(|v| param(&parse_value(&v).1, b"filename").map(<[u8]>::to_vec))
            .or_else(|| param(&params, b"name").map(<[u8]>::to_vec));
        if mime.starts_with(b"multipart/") && nesting >= MAX_NESTING {
            // Too deep to open: its bytes as they are, and the message is
            // not fully unpacked.
            let name = self.name(file.as_deref());
            let n = e
                .body
                .len()
                .min(usize::try_from(self.caps.member).unwrap_or(usize::MAX));
            return (self.visit)(Found::Member {
                name: &name,
                data: &e.body[..n],
                cut: Some(Cut::Depth),
            });
        }
        if mime.starts_with(b"multipart/") {
            let boundary = param(&params, b"boundary")
                .map(<[u8]>::to_vec)
                .or_else(|| guess_boundary(e.body));
            if let Some(parts) = boundary.and_then(|b| split_parts(e.body, &b)) {
                for part in parts {
                    self.entity(part, nesting + 1)?;
                }
                return ControlFlow::Continue(());
            }
        }
        let name = self.name(file.as_deref());
        let mut sink = Out::new(self.scratch, self.caps);
        let uu_inside = match encoding.as_slice() {
            b"base64" => {
                base64(e.body, &mut sink);
                false
            }
            b"quoted-printable" => {
                quoted_printable(e.body, &mut sink);
                !mime.starts_with(b"message/")
            }
            b"x-uuencode" | b"uuencode" | b"x-uue" => {
                let after = |s: usize| {
                    memchr::memchr(b'\n', &e.body[s..]).map_or(e.body.len(), |j| s + j + 1)
                };
                match lines(e.body).find_map(|(s, l)| uu_begin(l).map(|_| after(s))) {
                    Some(from) => {
                        uudecode(&e.body[from.min(e.body.len())..], &mut sink);
                    }
                    None => {
                        sink.extend(e.body);
                    }
                }
                false
            }
            _ => {
                // 7bit, 8bit, binary or unknown: the body as it is, a slice
                // of the message.
                drop(sink);
                let n = e
                    .body
                    .len()
                    .min(usize::try_from(self.caps.member).unwrap_or(usize::MAX));
                let cut = (n < e.body.len()).then_some(Cut::Size);
                if n > 0 || cut.is_some() {
                    (self.visit)(Found::Member {
                        name: &name,
                        data: &e.body[..n],
                        cut,
                    })?;
                }
                if !mime.starts_with(b"message/") {
                    self.uu_blocks(e.body)?;
                }
                return ControlFlow::Continue(());
            }
        };
        let (bytes, cut) = sink.finish(false);
        if !bytes.is_empty() || cut.is_some() {
            (self.visit)(Found::Member {
                name: &name,
                data: bytes,
                cut,
            })?;
        }
        if uu_inside {
            self.uu_blocks(e.body)?;
        }
        ControlFlow::Continue(())
    }

    /// Each uuencoded block in a text body, as a member named by its
    /// `begin` line.
    fn uu_blocks(&mut self, body: &[u8]) -> ControlFlow<()> {
        let mut from = 0;
        while let Some(i) = memmem::find(&body[from..], b"begin ") {
            let at = from + i;
            from = at + 6;
            if at != 0 && body[at - 1] != b'\n' {
                continue;
            }
            let end = memchr::memchr(b'\n', &body[at..]).map_or(body.len(), |j| at + j);
            let line = body[at..end].strip_suffix(b"\r").unwrap_or(&body[at..end]);
            let Some(file) = uu_begin(line) else {
                continue;
            };
            let name = self.name(Some(file));
            let mut sink = Out::new(self.scratch, self.caps);
            let start = (end + 1).min(body.len());
            from = start + uudecode(&body[start..], &mut sink);
            let (bytes, cut) = sink.finish(false);
            (self.visit)(Found::Member {
                name: &name,
                data: bytes,
                cut,
            })?;
        }
        ControlFlow::Continue(())
    }
}

/// The messages of an mbox: split before each `From ` line that follows an
/// empty line (or starts the file).
fn messages(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    let finder = memmem::Finder::new(b"\nFrom ");
    let mut from = 0;
    while let Some(i) = finder.find(&data[from..]) {
        let at = from + i;
        from = at + 1;
        let before = &data[..at];
        if before.ends_with(b"\n") || before.ends_with(b"\n\r") {
            starts.push(at + 1);
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| &data[s..starts.get(k + 1).copied().unwrap_or(data.len())])
        .collect()
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if data.starts_with(b"From ") {
        let all = messages(data);
        if all.len() > 1 {
            for (k, m) in all.iter().enumerate() {
                let name = format!("message {}", k + 1);
                visit(Found::Member {
                    name: name.as_bytes(),
                    data: m,
                    cut: None,
                })?;
            }
            return ControlFlow::Continue(());
        }
    }
    let message = match data.starts_with(b"From ") {
        true => memchr::memchr(b'\n', data).map_or(&[][..], |i| &data[i + 1..]),
        false => data,
    };
    Walk {
        caps,
        scratch,
        visit,
        parts: 0,
    }
    .entity(message, 0)
}

#[cfg(test)]
mod tests {
    use super::super::collect;
    use super::*;

    fn parts(data: &[u8]) -> Vec<(String, Vec<u8>)> {
        assert!(is_mail(data), "not taken for mail");
        let caps = Caps {
            member: u64::MAX,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        };
        let mut scratch = Scratch::default();
        collect(|v| unpack(data, &caps, &mut scratch, v))
            .into_iter()
            .map(|(n, d, cut)| {
                assert_eq!(cut, None);
                (String::from_utf8(n).unwrap(), d)
            })
            .collect()
    }

    #[test]
    fn base64_a_group_at_a_time_as_a_character_at_a_time() {
        // The rule: skip what is not base64, take six bits per character.
        let reference = |data: &[u8]| {
            let (mut acc, mut bits, mut v) = (0u32, 0u32, Vec::new());
            for &c in data {
                let Some(x) = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    .iter()
                    .position(|&b| b == c)
                    .or(match c {
                        b'-' => Some(62),
                        b'_' => Some(63),
                        _ => None,
                    })
                else {
                    continue;
                };
                acc = (acc << 6) | x as u32;
                bits += 6;
                if bits >= 8 {
                    bits -= 8;
                    v.push((acc >> bits) as u8);
                    acc &= (1 << bits) - 1;
                }
            }
            v
        };
        let caps = Caps {
            member: u64::MAX,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        };
        let alphabet = b"QUJDabcd019+/-_=\n\r !*";
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..600 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Mostly base64, now and then a break of the run.
                    match rng % 16 {
                        0 => alphabet[(rng >> 8) as usize % alphabet.len()],
                        _ => alphabet[(rng >> 8) as usize % 13],
                    }
                })
                .collect();
            let mut scratch = Scratch::default();
            let mut out = Out::new(&mut scratch, &caps);
            base64(&data, &mut out);
            let (got, cut) = out.finish(false);
            assert_eq!(cut, None);
            assert_eq!(
                got,
                &reference(&data)[..],
                "{:?}",
                data.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn multipart_with_base64_and_quoted_printable() {
        let m = b"From: a@b\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\n break =41=42\r\n--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n--XX--\r\nepilogue\r\n";
        assert_eq!(
            parts(m),
            vec![
                ("part 1".to_owned(), b"soft break AB".to_vec()),
                ("part 2: a.bin".to_owned(), b"hello".to_vec()),
            ]
        );
    }

    #[test]
    fn nested_multipart_rfc822_and_missing_closing_boundary() {
        let m = b"Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; boundary=in\n\n--in\n\ninner text\n--in--\n--out\nContent-Type: message/rfc822\n\nFrom: x\n\nbody\n--out\nContent-Disposition: attachment; filename*=utf-8''f%C3.txt\n\nlast part, no closing line\n";
        assert_eq!(
            parts(m),
            vec![
                ("part 1".to_owned(), b"inner text".to_vec()),
                ("part 2".to_owned(), b"From: x\n\nbody".to_vec()),
                (
                    "part 3: f%C3.txt".to_owned(),
                    b"last part, no closing line".to_vec()
                ),
            ]
        );
    }

    #[test]
    fn boundary_missing_from_the_header_is_guessed() {
        let m = b"Content-Type: multipart/mixed\n\n--zz\n\none\n--zz\n\ntwo\n--zz--\n";
        let p = parts(m);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].1, b"two");
    }

    #[test]
    fn uuencoded_blocks_inside_text_and_as_an_encoding() {
        // "Cat" uuencoded.
        let m = b"From x Thu Jan 1 00:00:00 2000\nFrom: x\n\nhello\nbegin 644 cat.txt\n#0V%T\n`\nend\nbye\n";
        let p = parts(m);
        assert_eq!(p[1], ("part 2: cat.txt".to_owned(), b"Cat".to_vec()));
        let m = b"From: x\nContent-Transfer-Encoding: x-uuencode\n\nbegin 600 c\n#0V%T\n`\nend\n";
        assert_eq!(parts(m), vec![("part 1".to_owned(), b"Cat".to_vec())]);
    }

    #[test]
    fn an_mbox_hands_out_each_message() {
        let m = b"From a Mon\nFrom: a\n\none\n\nFrom b Tue\nFrom: b\n\ntwo\n";
        let p = parts(m);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, "message 1");
        assert!(p[1].1.starts_with(b"From b Tue\nFrom: b"));
    }

    #[test]
    fn text_that_is_not_mail_is_left_alone() {
        assert!(!is_mail(b"Subject to change without notice.\nThe rest.\n"));
        assert!(!is_mail(b"hello: world\n\n"));
        assert!(!is_mail(b"From here on\nwe go\n"));
        assert!(is_mail(b"Received: from x\n\tby y\nSubject: z\n\n"));
    }

    #[test]
    fn a_cap_cuts_a_part() {
        let m = b"From: x\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n";
        let caps = Caps {
            member: 4,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        };
        let mut scratch = Scratch::default();
        let mut got = Vec::new();
        let _ = unpack(m, &caps, &mut scratch, &mut |f| {
            if let Found::Member { data, cut, .. } = f {
                got.push((data.to_vec(), cut));
            }
            ControlFlow::Continue(())
        });
        assert_eq!(got, vec![(b"hell".to_vec(), Some(Cut::Size))]);
    }
}
