//! The normalised views of an HTML file, as ClamAV makes them for target
//! type 3 signatures (and matches type 0 signatures against too).
//!
//! Whether a text file is HTML is decided as ClamAV's built-in file-type
//! signatures decide it: one of a few tags (`<html>`, `<head>`, `<script`,
//! `<iframe`, `<img`, `<object`, `<table`, `<a … href`, in the letter cases
//! ClamAV lists) in its first KiB, or, for a plain ASCII file, anywhere in it.
//! Tag names must end where a tag name ends (`<scriptlet` is no HTML), as in
//! ClamAV since its tightened signatures.
//!
//! [`normalize`] runs ClamAV's HTML normaliser once over the file and gives
//! two views and the payloads of `data:` URIs:
//! - **no comments**: the markup with comments removed, letters lowered, runs
//!   of white space as one space (none after a tag, none inside a script),
//!   character references decoded (a character past U+00FF as `&#xhhhh;`),
//!   attributes rewritten as `name="value"`;
//! - **no tags**: the text a reader sees, lowered, with the `href` of links
//!   and the `src` of images, and nothing of scripts and styles;
//! - each `data:` URI's payload, base64-decoded when the URI says
//!   `;base64`, percent escapes decoded otherwise: a member like any other,
//!   scanned whole (hashes included) and unpacked in turn.
//!
//! Like ClamAV's, the normaliser is a state machine that reads the file in
//! chunks of 8 KiB cut after white space, skips white space at the start of
//! each chunk and NUL bytes everywhere, and spends constant work per byte.

mod entities;
mod norm;

pub use norm::normalize;

/// Files larger than this get no HTML views (ClamAV's `MaxHTMLNormalize`
/// default, 40 MiB).
pub const MAX_NORMALIZE: usize = 40 << 20;

/// Files larger than this get no "no tags" view (ClamAV's `MaxHTMLNoTags`
/// default, 8 MiB).
pub const MAX_NOTAGS: usize = 8 << 20;

/// How much of a file is searched for a tag when it is not plain ASCII
/// (ClamAV's file-type buffer).
pub const HEAD: usize = 1024;

/// What [`normalize`] makes of an HTML file.
#[derive(Debug, Default)]
pub struct Views {
    /// The markup without comments.
    pub nocomment: Vec<u8>,
    /// The text without tags (empty when not asked for).
    pub notags: Vec<u8>,
    /// The payload of each `data:` URI, decoded.
    pub data: Vec<Vec<u8>>,
}

impl Views {
    /// Empty the views, keeping their allocations.
    pub fn clear(&mut self) {
        self.nocomment.clear();
        self.notags.clear();
        self.data.clear();
    }

    /// Bytes held.
    pub fn capacity(&self) -> usize {
        self.nocomment.capacity() + self.notags.capacity()
    }
}

/// Tag names that need a boundary after them, in the cases ClamAV lists.
const TAGS: [&[u8]; 13] = [
    b"IFRAME", b"IMG", b"Img", b"OBJECT", b"Object", b"SCRIPT", b"Script", b"TABLE", b"iframe",
    b"img", b"object", b"script", b"table",
];

/// Whole tags, in the cases ClamAV lists.
const WHOLE: [&[u8]; 6] = [b"HEAD>", b"HTML>", b"Head>", b"Html>", b"head>", b"html>"];

/// What may follow a tag name: `>`, `/` or white space.
fn boundary(b: u8) -> bool {
    matches!(b, b'>' | b'/' | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether `data` holds one of the tags that make a file HTML (the whole
/// tag within `data`).
pub fn has_tag(data: &[u8]) -> bool {
    if data.starts_with(b"<%@ LANGUAGE =") {
        return true;
    }
    let mut anchor = None;
    for at in memchr::memchr_iter(b'<', data) {
        let rest = &data[at + 1..];
        if WHOLE.iter().any(|t| rest.starts_with(t)) {
            return true;
        }
        let tagged = TAGS
            .iter()
            .any(|t| rest.starts_with(t) && rest.get(t.len()).is_some_and(|&b| boundary(b)));
        if tagged {
            return true;
        }
        if anchor.is_none() && (rest.starts_with(b"a ") || rest.starts_with(b"A ")) {
            anchor = Some(at + 3);
        }
    }
    // `<a ` and, anywhere after it, `href` as `[hH][rR]EF` or `[hH][rR]ef`.
    anchor.is_some_and(|from| {
        data[from..].windows(4).any(|w| {
            matches!(w[0], b'h' | b'H')
                && matches!(w[1], b'r' | b'R')
                && matches!(&w[2..], b"EF" | b"ef")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_that_make_html() {
        assert!(has_tag(b"x <html> y"));
        assert!(has_tag(b"<Script src=x>"));
        assert!(has_tag(b"<img/>"));
        assert!(has_tag(b"<table\n"));
        assert!(has_tag(b"<a class=b HREF=c>"));
        assert!(has_tag(b"<%@ LANGUAGE = x"));
        assert!(!has_tag(b"<scriptlet>"));
        assert!(!has_tag(b"<tableStyles>"));
        assert!(!has_tag(b"<hTml>"));
        assert!(!has_tag(b"<html lang=en>"));
        assert!(!has_tag(b"<script"));
        assert!(!has_tag(b"<a hReF=x>"));
        assert!(!has_tag(b"href <a x>"));
    }
}
