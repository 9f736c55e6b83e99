//! ClamAV hash signatures: `.hdb` (MD5), `.hsb` (SHA-1 or SHA-256, told apart by
//! length), and the allow lists `.fp` / `.sfp` in the same shape:
//! `HashString:FileSize:Name[:MinFLevel[:MaxFLevel]]`, `FileSize` may be `*`.

use super::{HashKind, HashSig, LineError};

/// Parse one hash line. `None` when the signature targets another engine level.
pub fn parse_line(line: &str) -> Result<Option<HashSig>, LineError> {
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 3 || fields.len() > 5 {
        return Err(LineError::new(
            0,
            format!(
                "expected 3 to 5 ':'-separated fields, found {}",
                fields.len()
            ),
        ));
    }
    let col = |idx: usize| fields[..idx].iter().map(|f| f.len() + 1).sum::<usize>();
    let digest = parse_hex(fields[0])?;
    let kind = match digest.len() {
        16 => HashKind::Md5,
        20 => HashKind::Sha1,
        32 => HashKind::Sha256,
        n => {
            return Err(LineError::new(
                0,
                format!("a {n}-byte hash is neither MD5, SHA-1 nor SHA-256"),
            ));
        }
    };
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
    Ok(Some(HashSig {
        name: fields[2].into(),
        kind,
        digest,
        size,
    }))
}

fn parse_hex(text: &str) -> Result<Vec<u8>, LineError> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(LineError::new(
            b.len(),
            "hash has an odd number of hex digits",
        ));
    }
    b.chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let digit = |at: usize| {
                (pair[at] as char).to_digit(16).ok_or_else(|| {
                    LineError::new(
                        2 * i + at,
                        format!("'{}' is not a hex digit", pair[at].escape_ascii()),
                    )
                })
            };
            Ok((digit(0)? << 4 | digit(1)?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_length() {
        let md5 = parse_line("aa15bcf478d165efd2065190eb473bcb:544:T")
            .unwrap()
            .unwrap();
        assert_eq!((md5.kind, md5.size), (HashKind::Md5, Some(544)));
        let sha = parse_line(&format!("{}:*:T:73", "ab".repeat(32)))
            .unwrap()
            .unwrap();
        assert_eq!((sha.kind, sha.size), (HashKind::Sha256, None));
        let sha1 = parse_line(&format!("{}:1:T", "01".repeat(20)))
            .unwrap()
            .unwrap();
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
        assert_eq!(parse_line("abcd:1:T").unwrap_err().column, 0);
        assert_eq!(parse_line("ab").unwrap_err().column, 0);
    }
}
