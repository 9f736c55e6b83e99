//! RTF documents, recognised by `{\rt` at their start (ClamAV's magic): the
//! objects embedded in them are members. An object's data (`\objdata`, in a
//! group where `\object` was seen) is written in hex, white space or any
//! other character allowed between the digits, or as raw bytes after
//! `\binN`; both are decoded into one stream. The stream holds OLE1 objects
//! one after another, each an `ObjectHeader` (version, format, class name,
//! topic and item names) and the size of its native data, then the data:
//! - data that starts as a compound file does (`d0 cf`) is handed out whole,
//!   and the scanner opens it as OLE2 one level down;
//! - other data is read as a packager object ("Package": a type, the file's
//!   label, its path, a temporary path, then the file's size and bytes), as
//!   ClamAV reads it, and the file inside is handed out, named by its label;
//! - data that is neither is handed out as it is.
//!
//! Members are named `object N` or `object N: LABEL` (N counts the objects
//! of the document from 1). Groups are tracked by a depth and the depth
//! where `\object` was last seen, not a stack, so however deeply groups
//! nest the memory stays the same. Decoding never makes more bytes than it
//! reads; the caps that bind are the member size and the deadline.
//!
//! Where ClamAV (`libclamav/rtf.c`) finds less, ward finds more: ClamAV
//! reads no `\bin` data; it knows `\object` and `\objdata` only with the
//! delimiters Word writes (`\object` followed by another control word,
//! `\objdata` by a space), ward with any; it takes the topic and item names
//! of an OLE1 header for empty, ward reads their lengths; and it scans
//! nothing of native data that is neither a compound file nor a packager
//! object, which ward hands out.

use std::ops::ControlFlow;

use super::bytes::le32;
use super::out::Out;
use super::{Caps, Cut, Found, Scratch};

pub(super) fn is_rtf(data: &[u8]) -> bool {
    data.starts_with(b"{\\rt")
}

/// Letters of a control word read at most (ClamAV's limit); the letters
/// past them are text.
const MAX_WORD: usize = 32;

/// Input bytes read between two looks at the deadline.
const CLOCK: usize = 64 << 10;

/// One piece of RTF.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    /// A run of text, up to the next `{`, `}` or `\`.
    Text(&'a [u8]),
    /// A control word and its numeric parameter.
    Word(&'a [u8], Option<i64>),
    /// A control symbol (`\` and one character that is not a letter).
    Symbol,
}

/// The token at `at` (before the end of `d`) and where the next one starts.
/// Control words are read as ClamAV reads them: a space right after the
/// letters belongs to the word; a parameter is an optional `-` and digits,
/// and letters right after it are skipped; any other delimiter is left for
/// the next token.
fn token(d: &[u8], at: usize) -> (Token<'_>, usize) {
    match d[at] {
        b'{' => (Token::Open, at + 1),
        b'}' => (Token::Close, at + 1),
        b'\\' => control(d, at + 1),
        _ => {
            let end =
                memchr::memchr3(b'{', b'}', b'\\', &d[at + 1..]).map_or(d.len(), |i| at + 1 + i);
            (Token::Text(&d[at..end]), end)
        }
    }
}

fn control(d: &[u8], at: usize) -> (Token<'_>, usize) {
    let Some(&first) = d.get(at) else {
        return (Token::Symbol, at);
    };
    if !first.is_ascii_alphabetic() {
        return (Token::Symbol, at + 1);
    }
    let letters = d[at..]
        .iter()
        .take(MAX_WORD)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let word = &d[at..at + letters];
    let mut i = at + letters;
    if letters == MAX_WORD {
        return (Token::Word(word, None), i);
    }
    match d.get(i) {
        Some(b) if b.is_ascii_whitespace() => (Token::Word(word, None), i + 1),
        Some(&b) if b.is_ascii_digit() || b == b'-' => {
            let negative = b == b'-';
            if negative {
                i += 1;
            }
            let mut value: i64 = 0;
            while let Some(&c) = d.get(i) {
                if c.is_ascii_digit() {
                    match value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(i64::from(c - b'0')))
                    {
                        Some(v) => value = v,
                        // Too long: ClamAV gives up on the word here, and
                        // the digits left are text.
                        None => return (Token::Word(word, None), i),
                    }
                } else if !c.is_ascii_alphabetic() {
                    break;
                }
                i += 1;
            }
            let value = if negative { -value } else { value };
            (Token::Word(word, Some(value)), i)
        }
        _ => (Token::Word(word, None), i),
    }
}

/// Take the embedded objects of RTF document `data` out.
pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    // Groups open, and the shallowest depth where `\object` holds (it holds
    // in the group where it is seen and every group inside it).
    let mut depth: u64 = 0;
    let mut object_at: Option<u64> = None;
    let mut objects = 0u32;
    let mut at = 0;
    let mut clock = 0;
    while at < data.len() {
        if at >= clock {
            if caps.expired() {
                return visit(Found::out_of_time(b""));
            }
            clock = at + CLOCK;
        }
        let (tok, next) = token(data, at);
        at = next;
        match tok {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth.saturating_sub(1);
                if object_at.is_some_and(|d| depth < d) {
                    object_at = None;
                }
            }
            Token::Word(b"object", _) => {
                object_at.get_or_insert(depth);
            }
            Token::Word(b"objdata", _) if object_at.is_some() => {
                let mut out = Out::new(scratch, caps);
                let (end, timed_out) = object_data(data, at, caps, &mut out);
                at = end;
                let (bytes, cut) = out.finish(false);
                ole1(bytes, cut, &mut objects, visit)?;
                if timed_out {
                    return visit(Found::out_of_time(b""));
                }
            }
            Token::Word(b"bin", Some(n)) => at = past_bin(data, at, n).1,
            _ => {}
        }
    }
    ControlFlow::Continue(())
}

/// The raw bytes of `\binN` whose parameter ends at `at` (a space after the
/// parameter belongs to the word), and where the text after them starts.
fn past_bin(data: &[u8], mut at: usize, n: i64) -> (&[u8], usize) {
    if data.get(at) == Some(&b' ') {
        at += 1;
    }
    let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    let end = at.saturating_add(n).min(data.len());
    (&data[at..end], end)
}

/// Decode the object data that starts at `at` into `out`, up to the end of
/// its group (the closing `}` is left for the caller) or of the document.
/// Groups inside it are skipped, and a second `\objdata` in it ends it.
/// Returns where reading stopped, and whether the deadline passed.
fn object_data(data: &[u8], mut at: usize, caps: &Caps, out: &mut Out) -> (usize, bool) {
    let mut nested: u64 = 0;
    let mut high: Option<u8> = None;
    let mut clock = at + CLOCK;
    while at < data.len() && !out.full() {
        if at >= clock {
            if caps.expired() {
                return (at, true);
            }
            clock = at + CLOCK;
        }
        let (tok, next) = token(data, at);
        match tok {
            Token::Open => nested += 1,
            Token::Close if nested == 0 => return (at, false),
            Token::Close => nested -= 1,
            Token::Word(b"objdata", _) if nested == 0 => return (at, false),
            Token::Word(b"bin", Some(n)) => {
                let (raw, end) = past_bin(data, next, n);
                if nested == 0 {
                    out.extend(raw);
                }
                at = end;
                continue;
            }
            Token::Text(text) if nested == 0 => {
                for &b in text {
                    let Some(v) = nibble(b) else { continue };
                    match high.take() {
                        Some(h) => {
                            out.push(h << 4 | v);
                        }
                        None => high = Some(v),
                    }
                }
            }
            _ => {}
        }
        at = next;
    }
    (at, false)
}

fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A length-prefixed string of an OLE1 header at `at`: its bytes (cut at
/// the end of `s`) and where the next field starts.
fn lp_string(s: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let n = le32(s, at)? as usize;
    let start = at + 4;
    let end = start.saturating_add(n);
    Some((&s[start..end.min(s.len())], end))
}

/// Hand out the objects of one decoded object-data stream `s` (cut short
/// for `cut`, when given).
fn ole1(
    s: &[u8],
    cut: Option<Cut>,
    objects: &mut u32,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut at = 0;
    // The version and format (ClamAV reads them without a check), the
    // class, topic and item names, then the native data's size.
    while let Some((_, a)) = le32(s, at + 4).and_then(|_| lp_string(s, at + 8))
        && let Some((_, a)) = lp_string(s, a)
        && let Some((_, a)) = lp_string(s, a)
        && let Some(size) = le32(s, a)
    {
        let start = a + 4;
        let end = start.saturating_add(size as usize);
        let native = &s[start.min(s.len())..end.min(s.len())];
        if native.is_empty() {
            break;
        }
        *objects += 1;
        // Data cut short is damage, unless a cap cut it.
        let short = (end > s.len()).then(|| cut.unwrap_or(Cut::Broken));
        let mut name = format!("object {objects}").into_bytes();
        let (data, short) = match package(native, size) {
            Some(p) if !native.starts_with(b"\xd0\xcf") && short.is_none() => {
                name.extend_from_slice(b": ");
                name.extend_from_slice(p.label);
                (p.file, p.short.then_some(Cut::Broken))
            }
            _ => (native, short),
        };
        visit(Found::Member {
            name: &name,
            data,
            cut: short,
        })?;
        at = end;
    }
    ControlFlow::Continue(())
}

/// The file a packager object holds.
struct Package<'a> {
    label: &'a [u8],
    file: &'a [u8],
    /// The file is shorter than its size says.
    short: bool,
}

/// The packager object in native data `s` whose declared size is `size`,
/// read as ClamAV reads it: a type (2 bytes), the label, the file's path
/// (both ending in a NUL), 8 bytes, a temporary path (ending in a NUL),
/// then the file's size and bytes.
fn package(s: &[u8], size: u32) -> Option<Package<'_>> {
    if (s.len() as u64) < u64::from(size) {
        return None;
    }
    let past_nul = |at: usize| memchr::memchr(0, s.get(at..)?).map(|i| at + i + 1);
    let label_end = past_nul(2)?;
    let a = past_nul(label_end).and_then(|a| past_nul(a + 8))?;
    let n = le32(s, a)? as usize;
    let start = a + 4;
    let end = start.saturating_add(n);
    let file = &s[start.min(s.len())..end.min(s.len())];
    Some(Package {
        label: &s[2..label_end - 1],
        file,
        short: end > s.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::{Taken, collect};

    fn caps() -> Caps {
        Caps {
            member: 1 << 20,
            memory: 1 << 20,
            ratio: 0,
            deadline: None,
        }
    }

    fn run(data: &[u8]) -> Vec<Taken> {
        let mut scratch = Scratch::default();
        collect(|v| unpack(data, &caps(), &mut scratch, v))
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// An OLE1 object of class `class` around `native`.
    fn ole1_object(class: &[u8], native: &[u8]) -> Vec<u8> {
        let mut o = vec![1, 5, 0, 0, 2, 0, 0, 0];
        o.extend((class.len() as u32 + 1).to_le_bytes());
        o.extend(class);
        o.push(0);
        o.extend([0; 8]);
        o.extend((native.len() as u32).to_le_bytes());
        o.extend(native);
        o
    }

    fn package_native(label: &[u8], file: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0];
        p.extend(label);
        p.extend(b"\0C:\\x\0\0\0\x03\0\x05\0\0\0C:\\y\0");
        p.extend((file.len() as u32).to_le_bytes());
        p.extend(file);
        p.extend([1, 0, 0, 0]);
        p
    }

    #[test]
    fn recognised_by_its_first_bytes() {
        assert!(is_rtf(b"{\\rtf1\\ansi}"));
        assert!(is_rtf(b"{\\rt"));
        assert!(!is_rtf(b" {\\rtf1"));
        assert!(!is_rtf(b"{\\r"));
    }

    #[test]
    fn tokens_follow_clamav() {
        let d = b"\\objdata 01\\bin5 \\objw-12ab}";
        let (t, n) = token(d, 0);
        assert_eq!((t, n), (Token::Word(b"objdata", None), 9));
        let (t, n) = token(d, n);
        assert_eq!((t, n), (Token::Text(b"01"), 11));
        let (t, n) = token(d, n);
        assert_eq!((t, n), (Token::Word(b"bin", Some(5)), 16));
        let (t, _) = token(d, 17);
        assert_eq!(t, Token::Word(b"objw", Some(-12)));
        let long = [b"\\".as_slice(), &[b'a'; 40]].concat();
        let (t, n) = token(&long, 0);
        assert_eq!((t, n), (Token::Word(&[b'a'; 32], None), 33));
        let (t, _) = token(b"\\99999999999999999999", 0);
        assert_eq!(t, Token::Symbol);
    }

    #[test]
    fn a_package_in_hex_gives_up_its_file() {
        let obj = ole1_object(b"Package", &package_native(b"note.txt", b"hello"));
        // Hex split by white space, a line break and a control word.
        let h = hex(&obj);
        let (a, b) = h.split_at(31);
        let doc = format!(
            "{{\\rtf1{{\\object\\objemb{{\\*\\objclass Package}}{{\\*\\objdata {a} \r\n\\par {b}}}}}}}"
        );
        assert_eq!(
            run(doc.as_bytes()),
            [(b"object 1: note.txt".to_vec(), b"hello".to_vec(), None)]
        );
    }

    #[test]
    fn bin_bytes_and_ole2_data_are_handed_out() {
        let ole2 = [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".as_slice(), &[7; 100]].concat();
        let obj = ole1_object(b"Word.Document.8", &ole2);
        let mut doc = format!("{{\\rtf1{{\\object{{\\*\\objdata \\bin{} ", obj.len()).into_bytes();
        doc.extend(&obj);
        doc.extend(b"}}}");
        assert_eq!(run(&doc), [(b"object 1".to_vec(), ole2, None)]);
    }

    #[test]
    fn objdata_needs_an_object_and_bin_outside_is_skipped() {
        let obj = ole1_object(b"Package", &package_native(b"a", b"x"));
        let doc = format!("{{\\rtf1{{\\*\\objdata {}}}}}", hex(&obj));
        assert!(run(doc.as_bytes()).is_empty());
        // Raw bytes after \bin are not read as RTF, braces and all.
        let doc = format!(
            "{{\\rtf1\\bin3 }}{{\\{{\\object{{\\*\\objdata {}}}}}}}",
            hex(&obj)
        );
        assert_eq!(run(doc.as_bytes()).len(), 1);
        // The flag ends with the group that set it.
        let doc = format!("{{\\rtf1{{\\object}}{{\\*\\objdata {}}}}}", hex(&obj));
        assert!(run(doc.as_bytes()).is_empty());
    }

    #[test]
    fn any_delimiter_ends_the_object_words() {
        let obj = hex(&ole1_object(b"Package", &package_native(b"a", b"x")));
        for (object, objdata) in [("\\object ", "\\objdata\r\n"), ("\\object1", "\\objdata{}")] {
            let doc = format!("{{\\rtf1{{{object}{{\\*{objdata}{obj}}}}}}}");
            assert_eq!(run(doc.as_bytes()).len(), 1, "{doc}");
        }
    }

    #[test]
    fn truncated_data_is_handed_out_as_damaged() {
        let obj = ole1_object(b"Package", &package_native(b"a", b"some file"));
        let cut = &obj[..obj.len() - 8];
        let doc = format!("{{\\rtf1{{\\object{{\\*\\objdata {}", hex(cut));
        let got = run(doc.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, b"object 1");
        assert_eq!(got[0].2, Some(Cut::Broken));
    }

    #[test]
    fn deep_nesting_costs_nothing() {
        let n = 1_000_000;
        let mut doc = b"{\\rtf1".to_vec();
        doc.resize(doc.len() + n, b'{');
        doc.extend(b"\\object{\\*\\objdata ");
        doc.extend(hex(&ole1_object(b"Package", &package_native(b"deep", b"x"))).as_bytes());
        doc.resize(doc.len() + n + 2, b'}');
        let got = run(&doc);
        assert_eq!(got, [(b"object 1: deep".to_vec(), b"x".to_vec(), None)]);
    }

    #[test]
    fn garbage_never_panics() {
        for doc in [
            &b"{\\rtf1{\\object{\\*\\objdata 0105"[..],
            b"{\\rtf1{\\object{\\*\\objdata ffffffffffffffffffffffffffffffff}",
            b"{\\rtf1\\bin99999999999",
            b"{\\rtf1\\bin-5 abc",
            b"{\\rtf1\\",
            b"}}}}{\\rt",
        ] {
            let _ = run(doc);
        }
    }
}
