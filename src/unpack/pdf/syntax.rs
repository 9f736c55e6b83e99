//! The few pieces of PDF syntax the decoder reads: white space and
//! delimiters, a dictionary's values looked up by key (at the dictionary's
//! own level, so `/Length` is never taken from `/Length1` or from a nested
//! dictionary), integers, indirect references, names with `#xx` escapes and
//! strings, literal or hex. Everything is read from byte slices and stops
//! where they end.

use memchr::memmem;

/// PDF white space (ISO 32000 7.2.2).
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// A delimiter or white space: what ends a name, a number or a keyword.
pub(super) fn is_end(b: u8) -> bool {
    is_ws(b)
        || matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
        )
}

/// `s` past its leading white space.
pub(super) fn skip_ws(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_ws(b)).count();
    &s[n..]
}

/// `s` past white space and comments.
fn skip_ws_comments(mut s: &[u8]) -> &[u8] {
    loop {
        s = skip_ws(s);
        match s.first() {
            Some(b'%') => {
                let n = s.iter().take_while(|&&b| b != b'\n' && b != b'\r').count();
                s = &s[n..];
            }
            _ => return s,
        }
    }
}

/// The value of `key` (`b"/Length"`) in the dictionary `dict` (its text,
/// `<<` included), at the dictionary's own level: the bytes from the value
/// on, to the end of `dict`.
pub(super) fn value<'a>(dict: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let start = memmem::find(dict, b"<<")? + 2;
    let mut depth = 0usize;
    let mut i = start;
    while i < dict.len() {
        match dict[i] {
            b'(' => i = literal_end(dict, i),
            b'%' => i += dict[i..].iter().take_while(|&&b| b != b'\n').count(),
            b'<' if dict.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
            }
            b'>' if dict.get(i + 1) == Some(&b'>') => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
                i += 2;
            }
            b'<' => i += dict[i..].iter().take_while(|&&b| b != b'>').count() + 1,
            b'/' if depth == 0 && dict[i..].starts_with(key) => {
                let after = i + key.len();
                match dict.get(after) {
                    Some(&b) if !is_end(b) => i = after,
                    _ => return Some(skip_ws_comments(&dict[after..])),
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Where the literal string opening at `s[at]` ends (past its closing
/// parenthesis, or the end of `s`).
fn literal_end(s: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// A non-negative integer at the start of `s`, and the rest.
pub(super) fn int(s: &[u8]) -> Option<(u64, &[u8])> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 18 {
        return None;
    }
    let v = std::str::from_utf8(&s[..n]).ok()?.parse().ok()?;
    Some((v, &s[n..]))
}

/// An indirect reference (`12 0 R`) at the start of `s`: object number and
/// generation.
pub(super) fn reference(s: &[u8]) -> Option<(u32, u16)> {
    let (id, rest) = int(s)?;
    let (generation, rest) = int(skip_ws(rest))?;
    let rest = skip_ws(rest);
    (rest.first() == Some(&b'R') && rest.get(1).is_none_or(|&b| is_end(b)))
        .then(|| Some((u32::try_from(id).ok()?, u16::try_from(generation).ok()?)))
        .flatten()
}

/// A direct integer at the start of `s` (not the first number of a
/// reference).
pub(super) fn direct_int(s: &[u8]) -> Option<u64> {
    if reference(s).is_some() {
        return None;
    }
    let (v, rest) = int(s)?;
    rest.first().is_none_or(|&b| is_end(b)).then_some(v)
}

/// A name at the start of `s` (after its `/`), its `#xx` escapes decoded,
/// and the rest.
pub(super) fn name(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let s = s.strip_prefix(b"/")?;
    let n = s.iter().take_while(|&&b| !is_end(b)).count();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        match (s[i], hex_pair(&s[i + 1..n])) {
            (b'#', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some((out, &s[n..]))
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn hex_pair(s: &[u8]) -> Option<u8> {
    Some(hex_digit(*s.first()?)? << 4 | hex_digit(*s.get(1)?)?)
}

/// The string (literal or hex) at the start of `s`, decoded; at most `cap`
/// bytes of it.
pub(super) fn string(s: &[u8], cap: usize) -> Option<Vec<u8>> {
    match s.first()? {
        b'(' => Some(literal(&s[..literal_end(s, 0)], cap)),
        b'<' if s.get(1) != Some(&b'<') => {
            let end = memchr::memchr(b'>', s).unwrap_or(s.len());
            let digits: Vec<u8> = s[1..end].iter().filter_map(|&b| hex_digit(b)).collect();
            Some(
                digits
                    .chunks(2)
                    .take(cap)
                    .map(|p| p[0] << 4 | p.get(1).copied().unwrap_or(0))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A literal string's bytes (`s` from its opening parenthesis), escapes
/// decoded (ISO 32000 7.3.4.2).
fn literal(s: &[u8], cap: usize) -> Vec<u8> {
    let body = &s[1..s.len().saturating_sub(usize::from(s.ends_with(b")")))];
    let mut out = Vec::with_capacity(body.len().min(cap));
    let mut i = 0;
    while i < body.len() && out.len() < cap {
        let b = body[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = body.get(i) else { break };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            // A line break after the backslash continues the line.
            b'\r' => i += usize::from(body.get(i) == Some(&b'\n')),
            b'\n' => {}
            other => out.push(other),
        }
    }
    out
}

/// A text string as UTF-8 where it is UTF-16BE with its byte order mark,
/// else as it is.
pub(super) fn text(s: Vec<u8>) -> Vec<u8> {
    match s.strip_prefix(b"\xfe\xff") {
        Some(units) => {
            let units: Vec<u16> = units
                .chunks_exact(2)
                .map(|u| u16::from_be_bytes([u[0], u[1]]))
                .collect();
            String::from_utf16_lossy(&units).into_bytes()
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_at_its_own_level_only() {
        let d = b"<< /Length1 5 /DP << /Length 7 >> /Length 9 0 R /S (/Length 3) >>";
        assert_eq!(reference(value(d, b"/Length").unwrap()), Some((9, 0)));
        assert_eq!(direct_int(value(d, b"/Length1").unwrap()), Some(5));
        assert_eq!(direct_int(value(d, b"/Length").unwrap()), None);
        assert!(value(b"<< /A 1 >> /B 2", b"/B").is_none());
    }

    #[test]
    fn names_and_strings_are_decoded() {
        assert_eq!(name(b"/Fl#61teDecode/X").unwrap().0, b"FlateDecode");
        assert_eq!(
            string(b"(a\\(b\\)\\\\\\101(c)) x", 100).unwrap(),
            b"a(b)\\A(c)"
        );
        assert_eq!(string(b"<48 65 6c6C6>", 100).unwrap(), b"Hell`");
        assert_eq!(string(b"(line\\\ncontinued)", 3).unwrap(), b"lin");
        assert_eq!(text(b"\xfe\xff\x00a\x00b".to_vec()), b"ab");
    }
}
