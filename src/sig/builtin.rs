//! The built-in database, embedded in the binary so that `ward scan PATH` works
//! with no set-up: the EICAR test file and the ClamAV test file `clam.exe`.
//!
//! The EICAR string is stored hex-encoded (`signatures/eicar.hex`) so that no
//! scanner flags ward's own source tree.

use std::path::Path;
use std::sync::Arc;

use super::{BodySig, Database, Format, Node, Offset, TargetType, Tok, Trailer};

const EICAR_HEX: &str = include_str!("../../signatures/eicar.hex");
const BUILTIN_HDB: &str = include_str!("../../signatures/builtin.hdb");

/// Name reported for the EICAR test file.
pub const EICAR_NAME: &str = "Eicar-Test-Signature";

/// The EICAR test string (68 bytes), decoded from its embedded hex form.
pub fn eicar() -> Vec<u8> {
    let hex = EICAR_HEX.trim().as_bytes();
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect()
}

/// The built-in signatures.
pub fn database() -> Database {
    let mut db = Database::new();
    // The EICAR definition: the file starts with the 68-byte string, optionally
    // followed by whitespace, and is at most 128 bytes long.
    db.body.push(BodySig {
        name: Arc::from(EICAR_NAME),
        target: TargetType::Any,
        offset: Offset::FromStart { at: 0, shift: 0 },
        nodes: eicar()
            .into_iter()
            .map(|b| Node::Tok(Tok::exact(b)))
            .collect(),
        trailer: Some(Trailer::Whitespace { max_size: 128 }),
    });
    db.load_bytes(
        Format::Hash,
        Path::new("builtin.hdb"),
        BUILTIN_HDB.as_bytes(),
    )
    .expect("the built-in hash database parses");
    db
}

#[cfg(test)]
mod tests {
    #[test]
    fn eicar_is_68_bytes() {
        let e = super::eicar();
        assert_eq!(e.len(), 68);
        assert_eq!(&e[..3], b"X5O");
        assert_eq!(super::database().len(), 2);
    }
}
