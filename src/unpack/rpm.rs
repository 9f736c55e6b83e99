//! RPM packages, read by ward itself as far as their payload: the 96-byte
//! lead, the signature header (padded to 8 bytes), the main header, then the
//! payload, which is given as one member, a slice of the package named after
//! the lead's package name. The payload is a compressed cpio archive; the
//! scanner finds its compression and the cpio inside by recursion.

use std::ops::ControlFlow;

use super::bytes::{be16, be32};
use super::cpio::stored;
use super::{Caps, Found};

const LEAD_MAGIC: &[u8] = b"\xed\xab\xee\xdb";
const LEAD: usize = 96;
/// A header structure's magic and version (1).
const HEADER_MAGIC: &[u8] = b"\x8e\xad\xe8\x01";
/// The signature type of every lead rpm has written since 1997: a header.
const SIGTYPE_HEADER: u16 = 5;
/// Index entries and data bytes a header may have, at most (rpm's own
/// bounds, `hdrchkTags` and `hdrchkData`).
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;
/// The largest type an index entry may have (`RPM_I18NSTRING_TYPE`).
const MAX_TYPE: u32 = 9;
/// Signature tags for the size of the main header and the compressed
/// payload together (`RPMSIGTAG_SIZE`, an INT32, and `RPMSIGTAG_LONGSIZE`,
/// an INT64), and those types.
const SIGTAG_SIZE: u32 = 1000;
const SIGTAG_LONGSIZE: u32 = 270;
const INT32: u32 = 4;
const INT64: u32 = 5;

/// Whether `data` starts with an rpm lead: the magic, a major version of 3
/// or 4, a binary or source package, a header-style signature, which
/// follows it.
pub(super) fn is_rpm(data: &[u8]) -> bool {
    data.starts_with(LEAD_MAGIC)
        && matches!(data.get(4), Some(3 | 4))
        && matches!(be16(data, 6), Some(0 | 1))
        && be16(data, 78) == Some(SIGTYPE_HEADER)
        && data
            .get(LEAD..)
            .is_some_and(|d| d.starts_with(HEADER_MAGIC))
}

/// The end of the header structure at `at`: its index count and data size
/// within rpm's bounds and the bytes there are, each index entry of a known
/// type and pointing into the data.
fn header_end(data: &[u8], at: usize) -> Option<usize> {
    if !data.get(at..)?.starts_with(HEADER_MAGIC) {
        return None;
    }
    let tags = be32(data, at + 8).filter(|&n| n <= MAX_TAGS)?;
    let size = be32(data, at + 12).filter(|&n| n <= MAX_DATA)?;
    let index = at + 16;
    let store = index + 16 * tags as usize;
    let end = store + size as usize;
    if end > data.len() {
        return None;
    }
    for entry in data[index..store].chunks_exact(16) {
        let kind = be32(entry, 4)?;
        let offset = be32(entry, 8)?;
        if kind > MAX_TYPE || offset > size {
            return None;
        }
    }
    Some(end)
}

/// The size of the main header and the payload together, as the signature
/// header at `at` (checked by [`header_end`]) records it, if it does.
fn signed_size(data: &[u8], at: usize) -> Option<u64> {
    let tags = be32(data, at + 8)? as usize;
    let store = at + 16 + 16 * tags;
    data[at + 16..store].chunks_exact(16).find_map(|e| {
        let value = store + be32(e, 8)? as usize;
        match (be32(e, 0)?, be32(e, 4)?) {
            (SIGTAG_SIZE, INT32) => be32(data, value).map(u64::from),
            (SIGTAG_LONGSIZE, INT64) => Some(u64::from_be_bytes(
                data.get(value..value + 8)?.try_into().ok()?,
            )),
            _ => None,
        }
    })
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if !is_rpm(data) {
        return ControlFlow::Continue(());
    }
    let Some(signature_end) = header_end(data, LEAD) else {
        return visit(Found::Broken);
    };
    // The signature header is padded to a multiple of 8 bytes.
    let main = signature_end + (8 - (signature_end - LEAD) % 8) % 8;
    let Some(payload) = header_end(data, main) else {
        return visit(Found::Broken);
    };
    let name = &data[10..76];
    let name = name.split(|&b| b == 0).next().unwrap_or(name);
    // The payload runs to the end; shorter than signed, it was cut off.
    let there = (data.len() - payload) as u64;
    let signed = signed_size(data, LEAD).map(|n| n.saturating_sub((payload - main) as u64));
    let (bytes, cut) = stored(data, payload, signed.unwrap_or(0).max(there), caps);
    visit(Found::Member {
        name,
        data: bytes,
        cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::Cut;

    const CAPS: Caps = Caps {
        member: 1 << 20,
        memory: 1 << 20,
        ratio: 0,
        deadline: None,
    };

    /// A header structure: one string entry per item of `strings`.
    fn header(strings: &[&str]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (i, s) in strings.iter().enumerate() {
            for v in [1000 + i as u32, 6, store.len() as u32, 1] {
                index.extend(v.to_be_bytes());
            }
            store.extend(s.as_bytes());
            store.push(0);
        }
        let mut out = HEADER_MAGIC.to_vec();
        out.extend([0; 4]);
        out.extend((strings.len() as u32).to_be_bytes());
        out.extend((store.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(store);
        out
    }

    fn package(payload: &[u8]) -> Vec<u8> {
        let mut out = LEAD_MAGIC.to_vec();
        out.extend([3, 0, 0, 0, 0, 1]);
        let mut name = b"hello-1.0-1".to_vec();
        name.resize(66, 0);
        out.extend(name);
        out.extend([0, 1, 0, 5]);
        out.extend([0; 16]);
        out.extend(header(&["sig"]));
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        out.extend(header(&["hello", "1.0", "1"]));
        out.extend(payload);
        out
    }

    fn members(data: &[u8], caps: &Caps) -> Vec<crate::unpack::Taken> {
        crate::unpack::collect(|visit| unpack(data, caps, visit))
    }

    #[test]
    fn the_payload_is_one_member() {
        let p = package(b"\x1f\x8b\x08payload");
        assert!(is_rpm(&p));
        let want = (
            b"hello-1.0-1".to_vec(),
            b"\x1f\x8b\x08payload".to_vec(),
            None,
        );
        assert_eq!(members(&p, &CAPS), [want]);
        let caps = Caps { member: 3, ..CAPS };
        assert_eq!(members(&p, &caps)[0].1, b"\x1f\x8b\x08");
        assert_eq!(members(&p, &caps)[0].2, Some(Cut::Size));
    }

    #[test]
    fn a_payload_shorter_than_signed_is_cut() {
        let p = package(b"payload");
        let main = p.windows(4).rposition(|w| w == HEADER_MAGIC).unwrap();
        for (signed, cut) in [
            (p.len() - main, None),
            (p.len() - main + 1, Some(Cut::Broken)),
        ] {
            // The signature's one entry becomes SIZE, an INT32.
            let mut p = p.clone();
            p[LEAD + 20..LEAD + 24].copy_from_slice(&INT32.to_be_bytes());
            p[LEAD + 32..LEAD + 36].copy_from_slice(&(signed as u32).to_be_bytes());
            assert_eq!(members(&p, &CAPS)[0].1, b"payload");
            assert_eq!(members(&p, &CAPS)[0].2, cut, "{signed}");
        }
    }

    #[test]
    fn damaged_headers_are_broken() {
        let p = package(b"payload");
        let main = p.windows(4).rposition(|w| w == HEADER_MAGIC).unwrap();
        // Cut anywhere inside either header ("hello", "1.0", "1": 12 bytes).
        for len in LEAD + 4..main + 16 + 3 * 16 + 12 {
            assert_eq!(members(&p[..len], &CAPS)[0].0, b"broken", "{len}");
        }
        for (at, value) in [
            (LEAD + 8, u32::MAX),      // index count
            (LEAD + 12, MAX_DATA + 1), // data size
            (main + 8, 4),             // one more entry than there is
            (main + 16 + 4, 10),       // an unknown type
            (main + 16 + 8, 1 << 20),  // an offset past the data
        ] {
            let mut bad = p.clone();
            bad[at..at + 4].copy_from_slice(&value.to_be_bytes());
            assert_eq!(members(&bad, &CAPS)[0].0, b"broken", "{at}");
        }
    }

    #[test]
    fn not_rpm() {
        let p = package(b"payload");
        for len in [0, 4, LEAD, LEAD + 3] {
            assert!(!is_rpm(&p[..len]));
            assert!(members(&p[..len], &CAPS).is_empty());
        }
        let mut bad = p.clone();
        bad[79] = 1; // an old signature type
        assert!(!is_rpm(&bad));
    }
}
