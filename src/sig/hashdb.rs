//! ClamAV hash signatures: `.hdb` (MD5), `.hsb` (SHA-1 or SHA-256, told apart by
//! length), and the allow lists `.fp` / `.sfp` in the same shape:
//! `HashString:FileSize:Name[:MinFLevel[:MaxFLevel]]`, `FileSize` may be `*`.

use super::{HashKind, LineError};

/// One parsed hash line, borrowing its name from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLine<'a> {
    /// Digest algorithm (told by the digest's length).
    pub kind: HashKind,
    digest: [u8; 32],
    /// File size it applies to; `None` for `*` (any size).
    pub size: Option<u64>,
    /// Name, exactly as in the database.
    pub name: &'a str,
}

impl HashLine<'_> {
    /// The digest.
    pub fn digest(&self) -> &[u8] {
        &self.digest[..super::hashtable::digest_len(self.kind)]
    }
}

/// Parse one hash line. `None` when the signature targets another engine
/// level. Nothing is allocated unless the line is wrong.
pub fn parse_line(line: &str) -> Result<Option<HashLine<'_>>, LineError> {
    let mut fields = [""; 5];
    let mut count = 0;
    for f in line.split(':') {
        if count < fields.len() {
            fields[count] = f;
        }
        count += 1;
    }
    if !(3..=5).contains(&count) {
        return Err(LineError::new(
            0,
            format!("expected 3 to 5 ':'-separated fields, found {count}"),
        ));
    }
    let fields = &fields[..count];
    let col = |idx: usize| fields[..idx].iter().map(|f| f.len() + 1).sum::<usize>();
    let mut digest = [0u8; 32];
    let len = parse_hex(fields[0], &mut digest)?;
    let kind = super::hashtable::kind_of_len(len).ok_or_else(|| {
        LineError::new(
            0,
            format!("a {len}-byte hash is neither MD5, SHA-1 nor SHA-256"),
        )
    })?;
    let size = match fields[1] {
        "*" => None,
        s => Some(super::decimal::<u64>(s).ok_or_else(|| {
            LineError::new(col(1), format!("file size '{s}' is not a number or '*'"))
        })?),
    };
    if fields[2].is_empty() {
        return Err(LineError::new(col(2), "empty signature name"));
    }
    for (idx, text) in fields.iter().enumerate().skip(3) {
        let level: u32 = super::decimal(text).ok_or_else(|| {
            LineError::new(
                col(idx),
                format!("functionality level '{text}' is not a number"),
            )
        })?;
        if (idx == 3 && level > super::ndb::FLEVEL) || (idx == 4 && level < super::ndb::FLEVEL) {
            return Ok(None);
        }
    }
    Ok(Some(HashLine {
        kind,
        digest,
        size,
        name: fields[2],
    }))
}

/// Decode hex `text` into `out`; the number of bytes. A digest longer than
/// `out` is decoded only to be rejected by its length.
fn parse_hex(text: &str, out: &mut [u8; 32]) -> Result<usize, LineError> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(LineError::new(
            b.len(),
            "hash has an odd number of hex digits",
        ));
    }
    let mut bad = 0u8;
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= hi | lo;
        if let Some(slot) = out.get_mut(i) {
            *slot = hi << 4 | lo;
        }
    }
    if bad & INVALID != 0 {
        let at = b
            .iter()
            .position(|&c| HEX[c as usize] == INVALID)
            .unwrap_or(0);
        return Err(LineError::new(
            at,
            format!("'{}' is not a hex digit", b[at].escape_ascii()),
        ));
    }
    Ok(b.len() / 2)
}

/// [`HEX`]'s value for a byte that is not a hex digit.
const INVALID: u8 = 0x80;

/// The value of each byte as a hex digit, or [`INVALID`].
static HEX: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_length() {
        let md5 = parse_line("aa15bcf478d165efd2065190eb473bcb:544:T")
            .unwrap()
            .unwrap();
        assert_eq!((md5.kind, md5.size), (HashKind::Md5, Some(544)));
        let line = format!("{}:*:T:73", "AB".repeat(32));
        let sha = parse_line(&line).unwrap().unwrap();
        assert_eq!((sha.kind, sha.size), (HashKind::Sha256, None));
        assert_eq!(sha.digest(), [0xab; 32]);
        let line = format!("{}:1:T", "01".repeat(20));
        let sha1 = parse_line(&line).unwrap().unwrap();
        assert_eq!(sha1.kind, HashKind::Sha1);
        assert!(
            parse_line(&format!("{}:1:T:999", "01".repeat(20)))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn errors_have_columns() {
        assert_eq!(
            parse_line("aa15bcf478d165efd2065190eb473bcb:x:T")
                .unwrap_err()
                .column,
            33
        );
        assert_eq!(parse_line("zz:1:T").unwrap_err().column, 0);
        let e = parse_line("aa15bcf478d165efd2065190eb4g3bcb:1:T").unwrap_err();
        assert_eq!(
            (e.column, e.reason.as_str()),
            (27, "'g' is not a hex digit")
        );
        let long = format!("{}:1:T", "ab".repeat(40));
        assert!(parse_line(&long).unwrap_err().reason.contains("40-byte"));
        assert_eq!(parse_line("abcd:1:T").unwrap_err().column, 0);
        assert_eq!(parse_line("ab").unwrap_err().column, 0);
    }
}
