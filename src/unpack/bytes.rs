//! Fixed-size integers read from a container at an offset: `None` where the
//! bytes are not there, so a header that lies about an offset reads nothing.

fn at<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
    d.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Little-endian (zip, cab).
pub(super) fn le16(d: &[u8], pos: usize) -> Option<u16> {
    at(d, pos).map(u16::from_le_bytes)
}
pub(super) fn le32(d: &[u8], pos: usize) -> Option<u32> {
    at(d, pos).map(u32::from_le_bytes)
}
pub(super) fn le64(d: &[u8], pos: usize) -> Option<u64> {
    at(d, pos).map(u64::from_le_bytes)
}

/// Big-endian (rpm).
pub(super) fn be16(d: &[u8], pos: usize) -> Option<u16> {
    at(d, pos).map(u16::from_be_bytes)
}
pub(super) fn be32(d: &[u8], pos: usize) -> Option<u32> {
    at(d, pos).map(u32::from_be_bytes)
}
