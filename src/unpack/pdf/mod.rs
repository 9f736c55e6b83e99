//! PDF documents, read tolerantly as ClamAV reads them: the objects are
//! found by their `N G obj` markers, never by trusting the cross-reference
//! table, and each stream is a member, decoded through its filters (see
//! [`filter`]):
//! - a stream is named `obj N G`; an embedded file (a stream a file
//!   specification's `/EF` points at) `obj N G: NAME`, by the
//!   specification's `/UF` or `/F`;
//! - an object stream (`/Type /ObjStm`) is a member, and the objects inside
//!   it are read too: they name embedded files and carry scripts (a
//!   `/Length` pointing into one is not looked up: such a stream ends at its
//!   first `endstream`);
//! - a JavaScript action's script given as a string (`/JS (...)`, in any
//!   object, in an object stream or not) is a member `obj N G /JS`, decoded
//!   from its string syntax.
//!
//! A stream's data ends where its `/Length` says when that is direct (or a
//! reference to an integer object) and `endstream` follows; otherwise at the
//! first `endstream`. Nothing is followed from object to object beyond that
//! one look-up, so a graph of objects that refer to each other in a loop
//! costs nothing more. A chain of more than [`MAX_FILTERS`] filters is
//! decoded that far and handed out cut ([`Cut::Depth`]).
//!
//! A document encrypted with `/Encrypt` is reported as such (ClamAV decrypts
//! those whose user password is empty; ward does not decrypt), and its
//! streams are handed out as they decode.

mod filter;
mod syntax;

use std::ops::ControlFlow;

use memchr::memmem;
use rustc_hash::FxHashMap;

use super::{Caps, Cut, Found, Scratch, drain, taken};
use filter::Filter;
use syntax::{direct_int, is_end, is_ws, reference, skip_ws, value};

/// How far into a file `%PDF-` may start (as in ClamAV).
const HEADER_WITHIN: usize = 1024;
/// Objects read from one document, at most (as in ClamAV).
const MAX_OBJECTS: usize = 64 * 1024;
/// Filters applied to one stream, at most.
pub const MAX_FILTERS: usize = 16;
/// Bytes of object streams held decoded at once, at most.
const MAX_OBJSTM_BYTES: u64 = 64 << 20;
/// How much of a trailer is read for `/Encrypt`.
const TRAILER: usize = 64 << 10;
/// The longest file name or script taken from a string.
const MAX_STRING: usize = 16 << 20;

pub(super) fn is_pdf(data: &[u8]) -> bool {
    memmem::find(&data[..data.len().min(HEADER_WITHIN)], b"%PDF-").is_some()
}

/// An object found in the file.
struct Object {
    id: u32,
    generation: u16,
    /// Its text up to its stream (all of it when it has none).
    dict: std::ops::Range<usize>,
    /// Its stream's data.
    stream: Option<std::ops::Range<usize>>,
    /// Where `endstream` was looked for and not found.
    truncated: bool,
}

/// An object stream, decoded: the object holding it, its bytes (and why
/// some are missing), and the objects packed in it.
struct Held {
    object: usize,
    bytes: Vec<u8>,
    cut: Option<Cut>,
    packed: Vec<Packed>,
}

/// An object inside an object stream: its number, and its text there.
struct Packed {
    id: u32,
    text: std::ops::Range<usize>,
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let start = memmem::find(&data[..data.len().min(HEADER_WITHIN)], b"%PDF-").unwrap_or(0);
    let data = &data[start..];
    let (mut objects, too_many) = scan(data, caps);
    if encrypted(data, &objects) {
        visit(Found::Encrypted { name: b"/Encrypt" })?;
    }
    fix_lengths(data, &mut objects);
    let Some(held) = object_streams(data, &objects, caps, scratch) else {
        return visit(Found::out_of_time(b""));
    };
    let names = file_names(data, &objects, &held);
    members(data, &objects, &held, &names, caps, scratch, visit)?;
    if too_many || objects.iter().any(|o| o.truncated) {
        return visit(Found::Broken);
    }
    ControlFlow::Continue(())
}

/// Hand out each object's members, in file order: its script, its stream
/// (an object stream as it was decoded, then the scripts of the objects in
/// it).
fn members(
    data: &[u8],
    objects: &[Object],
    held: &[Held],
    names: &FxHashMap<u32, Vec<u8>>,
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut held = held.iter().peekable();
    for (i, o) in objects.iter().enumerate() {
        let mut name = format!("obj {} {}", o.id, o.generation).into_bytes();
        if caps.expired() {
            return visit(Found::out_of_time(&name));
        }
        script(&data[o.dict.clone()], &name, visit)?;
        if o.stream.is_none() {
            continue;
        }
        if let Some(file) = names.get(&o.id) {
            name.extend_from_slice(b": ");
            name.extend_from_slice(file);
        }
        let Some(h) = held.next_if(|h| h.object == i) else {
            let (bytes, cut) = decode(data, o, caps, scratch);
            visit(Found::Member {
                name: &name,
                data: bytes,
                cut,
            })?;
            continue;
        };
        visit(Found::Member {
            name: &name,
            data: &h.bytes,
            cut: h.cut,
        })?;
        for p in &h.packed {
            let id = format!("obj {} 0", p.id).into_bytes();
            script(&h.bytes[p.text.clone()], &id, visit)?;
        }
    }
    ControlFlow::Continue(())
}

/// The object streams among `objects`, decoded (at most
/// [`MAX_OBJSTM_BYTES`] of them in all), in file order; `None` when the
/// deadline passes.
fn object_streams(
    data: &[u8],
    objects: &[Object],
    caps: &Caps,
    scratch: &mut Scratch,
) -> Option<Vec<Held>> {
    let mut held = Vec::new();
    let mut budget = MAX_OBJSTM_BYTES;
    for (i, o) in objects.iter().enumerate() {
        let dict = &data[o.dict.clone()];
        if o.stream.is_none() || !is_type(dict, b"ObjStm") || budget == 0 {
            continue;
        }
        if caps.expired() {
            return None;
        }
        let small = Caps {
            member: caps.member.min(budget),
            ..*caps
        };
        let (bytes, cut) = decode(data, o, &small, scratch);
        budget -= bytes.len() as u64;
        let bytes = bytes.to_vec();
        let packed = inside(dict, &bytes);
        held.push(Held {
            object: i,
            bytes,
            cut,
            packed,
        });
    }
    Some(held)
}

/// Every object in `data`, in file order, found by its `N G obj` marker;
/// and whether the file is damaged (too many objects to read them all).
fn scan(data: &[u8], caps: &Caps) -> (Vec<Object>, bool) {
    let mut out = Vec::new();
    let obj = memmem::Finder::new(b"obj");
    let mut pos = 0;
    while let Some(i) = obj.find(&data[pos..]) {
        let at = pos + i;
        pos = at + 3;
        let Some((id, generation)) = marker(data, at) else {
            continue;
        };
        if out.len() >= MAX_OBJECTS || (out.len() % 1024 == 1023 && caps.expired()) {
            return (out, true);
        }
        let (o, end) = object(data, id, generation, at + 3);
        out.push(o);
        pos = pos.max(end);
    }
    (out, false)
}

/// The object number and generation of an `obj` keyword at `data[at]`: two
/// integers before it, each after white space; `obj` itself followed by a
/// delimiter or the end.
fn marker(data: &[u8], at: usize) -> Option<(u32, u16)> {
    if data.get(at + 3).is_some_and(|&b| !is_end(b)) {
        return None;
    }
    let before = &data[..at];
    // Past 10 digits no number fits: counting stops there.
    let digits_back = |s: &[u8]| {
        s.iter()
            .rev()
            .take(11)
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let s = trim_ws_end(before);
    if s.len() == before.len() {
        return None;
    }
    let g = digits_back(s);
    let generation = std::str::from_utf8(&s[s.len() - g..]).ok()?.parse().ok()?;
    let s2 = trim_ws_end(&s[..s.len() - g]);
    if s2.len() == s.len() - g {
        return None;
    }
    let n = digits_back(s2);
    let id = std::str::from_utf8(&s2[s2.len() - n..])
        .ok()?
        .parse()
        .ok()?;
    Some((id, generation))
}

fn trim_ws_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| is_ws(b)).count();
    &s[..s.len() - n]
}

/// The object whose text starts at `data[from]`, and where the scan goes on
/// (past its `endobj`).
fn object(data: &[u8], id: u32, generation: u16, from: usize) -> (Object, usize) {
    let rest = &data[from..];
    let endobj = memmem::find(rest, b"endobj");
    let dict_end = endobj.unwrap_or(rest.len());
    let Some(kw) = stream_keyword(&rest[..dict_end]) else {
        let o = Object {
            id,
            generation,
            dict: from..from + dict_end,
            stream: None,
            truncated: false,
        };
        return (o, from + dict_end + endobj.map_or(0, |_| 6));
    };
    let dict = from..from + kw;
    let mut s = from + kw + 6;
    if data[s..].starts_with(b"\r\n") {
        s += 2;
    } else if data[s..].starts_with(b"\n") || data[s..].starts_with(b"\r") {
        s += 1;
    }
    let length = value(&data[dict.clone()], b"/Length").and_then(direct_int);
    let (stream, truncated) = match length.and_then(|n| fits(data, s, n)) {
        Some(end) => (s..end, false),
        None => searched(data, s),
    };
    let after = stream.end;
    let end = memmem::find(&data[after..], b"endobj").map_or(data.len(), |e| after + e + 6);
    let o = Object {
        id,
        generation,
        dict,
        stream: Some(stream),
        truncated,
    };
    (o, end)
}

/// Where the `stream` keyword starts in an object's text (not the end of a
/// word, and followed by a line end).
fn stream_keyword(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memmem::find(&text[from..], b"stream") {
        let at = from + i;
        let before_ok = at == 0 || is_end(text[at - 1]);
        if before_ok && matches!(text.get(at + 6), Some(b'\r' | b'\n') | None) {
            return Some(at);
        }
        from = at + 6;
    }
    None
}

/// The end of a stream starting at `s` that is `n` bytes long, if it fits
/// in `data` and `endstream` follows (after white space).
fn fits(data: &[u8], s: usize, n: u64) -> Option<usize> {
    let end = s.checked_add(usize::try_from(n).ok()?)?;
    skip_ws(data.get(end..)?)
        .starts_with(b"endstream")
        .then_some(end)
}

/// A stream starting at `s` that ends at the first `endstream` (less the
/// line end before it), and whether there was none (the stream then runs to
/// the end of the file).
fn searched(data: &[u8], s: usize) -> (std::ops::Range<usize>, bool) {
    match memmem::find(&data[s..], b"endstream") {
        Some(i) => {
            let mut end = s + i;
            if data[s..end].ends_with(b"\r\n") {
                end -= 2;
            } else if data[s..end].ends_with(b"\n") || data[s..end].ends_with(b"\r") {
                end -= 1;
            }
            (s..end, false)
        }
        None => (s..data.len(), true),
    }
}

/// Streams whose `/Length` is a reference: where the object it points at is
/// an integer that fits, the stream is that long.
fn fix_lengths(data: &[u8], objects: &mut [Object]) {
    // The last definition of a number wins, as in an updated document.
    let index: FxHashMap<u32, usize> = objects.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
    for i in 0..objects.len() {
        let Some(stream) = objects[i].stream.clone() else {
            continue;
        };
        let dict = &data[objects[i].dict.clone()];
        let Some((id, _)) = value(dict, b"/Length").and_then(reference) else {
            continue;
        };
        let Some(target) = index.get(&id).map(|&t| &objects[t]) else {
            continue;
        };
        if target.stream.is_some() {
            continue;
        }
        let Some(n) = direct_int(skip_ws(&data[target.dict.clone()])) else {
            continue;
        };
        if let Some(end) = fits(data, stream.start, n) {
            objects[i].stream = Some(stream.start..end);
            objects[i].truncated = false;
        }
    }
}

/// Whether the dictionary `dict` has `/Type /NAME`.
fn is_type(dict: &[u8], name: &[u8]) -> bool {
    value(dict, b"/Type")
        .and_then(syntax::name)
        .is_some_and(|(n, _)| n == name)
}

/// The filters of a stream's dictionary, in order, at most one past
/// [`MAX_FILTERS`].
fn filters(dict: &[u8]) -> Vec<Filter> {
    let Some(mut v) = value(dict, b"/Filter") else {
        return Vec::new();
    };
    let array = v.first() == Some(&b'[');
    if array {
        v = &v[1..];
    }
    let mut out = Vec::new();
    while out.len() <= MAX_FILTERS {
        v = skip_ws(v);
        let Some((name, rest)) = syntax::name(v) else {
            break;
        };
        out.push(Filter::from_name(&name));
        v = rest;
        if !array {
            break;
        }
    }
    out
}

/// A stream's data through its filters, into `scratch`: its bytes, and why
/// some are missing.
fn decode<'s>(
    data: &[u8],
    o: &Object,
    caps: &Caps,
    scratch: &'s mut Scratch,
) -> (&'s [u8], Option<Cut>) {
    let raw = o.stream.clone().map_or(&[][..], |r| &data[r]);
    let dict = &data[o.dict.clone()];
    let mut list = filters(dict);
    let deep = list.len() > MAX_FILTERS;
    list.truncate(MAX_FILTERS);
    // LZW's /EarlyChange, in /DecodeParms (a dictionary, or an array of
    // them for a chain: the first one is read).
    let early = value(dict, b"/DecodeParms")
        .or_else(|| value(dict, b"/DP"))
        .filter(|p| p.starts_with(b"<<") || p.starts_with(b"["))
        .and_then(|p| value(p, b"/EarlyChange"))
        .is_none_or(|v| direct_int(v) != Some(0));
    let mut reader = filter::chain(raw, &list, early);
    let cut = drain(&mut reader, raw.len() as u64, caps, scratch);
    let (bytes, cut) = taken(scratch, cut);
    (bytes, cut.or(deep.then_some(Cut::Depth)))
}

/// The objects packed in an object stream (its dictionary `dict`, its
/// decoded bytes `s`): `/N` pairs of object number
/// and offset (from `/First`), each object's text running to the next one.
fn inside(dict: &[u8], s: &[u8]) -> Vec<Packed> {
    let n = value(dict, b"/N").and_then(direct_int).unwrap_or(0);
    let first = value(dict, b"/First").and_then(direct_int);
    let Some(first) = first
        .and_then(|f| usize::try_from(f).ok())
        .filter(|&f| f <= s.len())
    else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    let mut head = &s[..first];
    while (pairs.len() as u64) < n {
        let Some((id, rest)) = syntax::int(skip_ws(head)) else {
            break;
        };
        let Some((off, rest)) = syntax::int(skip_ws(rest)) else {
            break;
        };
        head = rest;
        let (Ok(id), Ok(off)) = (u32::try_from(id), usize::try_from(off)) else {
            break;
        };
        match first.checked_add(off).filter(|&at| at <= s.len()) {
            Some(at) => pairs.push((id, at)),
            None => break,
        }
    }
    let mut out = Vec::with_capacity(pairs.len());
    for (k, &(id, at)) in pairs.iter().enumerate() {
        let end = pairs.get(k + 1).map_or(s.len(), |p| p.1).max(at);
        out.push(Packed { id, text: at..end });
    }
    out
}

/// The names of embedded files: for each stream a file specification's
/// `/EF` dictionary points at, the specification's `/UF` or `/F` string.
fn file_names(data: &[u8], objects: &[Object], held: &[Held]) -> FxHashMap<u32, Vec<u8>> {
    let mut out = FxHashMap::default();
    let dicts = objects
        .iter()
        .filter(|o| o.stream.is_none())
        .map(|o| &data[o.dict.clone()])
        .chain(
            held.iter()
                .flat_map(|h| h.packed.iter().map(|p| &h.bytes[p.text.clone()])),
        );
    for dict in dicts {
        let Some(ef) = value(dict, b"/EF") else {
            continue;
        };
        let name = [b"/UF".as_slice(), b"/F"]
            .iter()
            .find_map(|k| value(dict, k).and_then(|v| syntax::string(v, 1024)))
            .map(syntax::text)
            .filter(|n| !n.is_empty());
        let (Some(name), Some(target)) = (name, value(ef, b"/F").and_then(reference)) else {
            continue;
        };
        out.entry(target.0).or_insert(name);
    }
    out
}

/// A JavaScript action's script given as a string in the dictionary `dict`
/// of object `name`: a member `NAME /JS`.
fn script(
    dict: &[u8],
    name: &[u8],
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(js) = value(dict, b"/JS").and_then(|v| syntax::string(v, MAX_STRING)) else {
        return ControlFlow::Continue(());
    };
    let mut full = name.to_vec();
    full.extend_from_slice(b" /JS");
    visit(Found::Member {
        name: &full,
        data: &js,
        cut: None,
    })
}

/// Whether the document is encrypted: `/Encrypt` in a trailer dictionary,
/// or in a cross-reference stream's dictionary.
fn encrypted(data: &[u8], objects: &[Object]) -> bool {
    let trailers = memmem::find_iter(data, b"trailer").any(|at| {
        let rest = skip_ws(&data[at + 7..data.len().min(at + 7 + TRAILER)]);
        rest.starts_with(b"<<") && value(rest, b"/Encrypt").is_some()
    });
    trailers
        || objects.iter().any(|o| {
            let dict = &data[o.dict.clone()];
            o.stream.is_some() && is_type(dict, b"XRef") && value(dict, b"/Encrypt").is_some()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::collect;

    fn run(pdf: &[u8]) -> Vec<crate::unpack::Taken> {
        let caps = Caps {
            member: 1 << 20,
            memory: 1 << 20,
            ratio: 100,
            deadline: None,
        };
        let mut scratch = Scratch::default();
        collect(|v| unpack(pdf, &caps, &mut scratch, v))
    }

    #[test]
    fn streams_are_found_by_markers_and_lengths() {
        // Object 1's /Length is right; object 2's points at object 3; object
        // 4's is wrong, so its data ends at the first endstream.
        let pdf =
            b"%PDF-1.4\n1 0 obj\n<< /Length 13 >>\nstream\nendstream bad\nendstream\nendobj\n\
            2 0 obj << /Length 3 0 R >> stream\r\nxy endstream z\nendstream endobj\n\
            3 0 obj 14 endobj\n4 0 obj <</Length 99>>stream\nabc\nendstream\nendobj";
        let got = run(pdf);
        let names: Vec<&[u8]> = got.iter().map(|t| t.0.as_slice()).collect();
        assert_eq!(names, [&b"obj 1 0"[..], b"obj 2 0", b"obj 4 0"]);
        assert_eq!(got[0].1, b"endstream bad");
        assert_eq!(got[1].1, b"xy endstream z");
        assert_eq!(got[2].1, b"abc");
    }

    #[test]
    fn a_chain_past_the_cap_is_cut() {
        let chain = |n: usize| {
            let mut pdf = b"%PDF-1.4\n1 0 obj << /Filter [".to_vec();
            for _ in 0..n {
                pdf.extend_from_slice(b"/AHx ");
            }
            pdf.extend_from_slice(b"] >> stream\n3431>\nendstream endobj");
            run(&pdf)
        };
        assert_eq!(chain(1)[0].1, b"41");
        assert_eq!(chain(MAX_FILTERS)[0].2, None);
        assert_eq!(chain(MAX_FILTERS + 1)[0].2, Some(Cut::Depth));
        assert_eq!(chain(1000)[0].2, Some(Cut::Depth));
    }

    #[test]
    fn no_header_marker_or_number_is_trusted() {
        assert!(is_pdf(b"junk\n%PDF-1.7"));
        assert!(!is_pdf(&[b"x".repeat(1024), b"%PDF-1.7".to_vec()].concat()));
        for bad in [
            &b"%PDF-1.4 obj"[..],
            b"%PDF- 1 obj",
            b"%PDF- 99999999999999999999 0 obj",
        ] {
            assert!(run(bad).is_empty(), "{bad:?}");
        }
        // A stream that never ends runs to the end of the file, damaged.
        let got = run(b"%PDF-1.4 1 0 obj <<>> stream\nabc");
        assert_eq!(got[0].1, b"abc");
        assert_eq!(got[1].0, b"broken");
    }
}
