//! The 7z signature and arbitrary bytes, unpacked: no panic, no hang, memory
//! bounded. The start header's two CRCs are set to match what follows, so
//! that mutations reach the header parser and the decoders instead of
//! stopping at a checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::{Kind, detect};

const MAGIC: &[u8] = b"7z\xbc\xaf\x27\x1c";

fuzz_target!(|data: &[u8]| {
    let mut input = MAGIC.to_vec();
    input.extend_from_slice(data);
    if input.len() >= 32 {
        let offset = u64::from_le_bytes(input[12..20].try_into().unwrap());
        let size = u64::from_le_bytes(input[20..28].try_into().unwrap());
        let header = offset
            .checked_add(32)
            .and_then(|start| Some((start, start.checked_add(size)?)))
            .and_then(|(s, e)| input.get(usize::try_from(s).ok()?..usize::try_from(e).ok()?));
        if let Some(header) = header {
            let crc = crc32fast::hash(header);
            input[28..32].copy_from_slice(&crc.to_le_bytes());
        }
        let crc = crc32fast::hash(&input[12..32]);
        input[8..12].copy_from_slice(&crc.to_le_bytes());
    }
    assert_eq!(detect(&input), Some(Kind::SevenZip));
    ward_fuzz::unpack_all(Kind::SevenZip, &input);
});
