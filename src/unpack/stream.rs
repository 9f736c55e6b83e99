//! Single-stream compressors: gzip (every member of a multi-member file, as
//! one stream, as gunzip does), bzip2, xz, LZMA "alone" and Zstandard. Each
//! gives one member: the decompressed stream.

use std::io::Read;
use std::ops::ControlFlow;

use super::{Caps, Cut, Found, Kind, drain};

/// Memory an LZMA or xz decoder may ask for (its dictionary), in KiB.
pub(super) const DICT_LIMIT_KB: u32 = 256 << 10;

/// Whether `data` looks like an LZMA "alone" header: the properties byte of
/// the usual settings, a dictionary size from 4 KiB to 1.5 GiB, and an
/// uncompressed size that is unknown or plausible. Strict, since the format
/// has no magic number.
pub(super) fn is_lzma_alone(data: &[u8]) -> bool {
    if data.len() < 13 || data[0] != 0x5d {
        return false;
    }
    let dict = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    let size = u64::from_le_bytes(data[5..13].try_into().unwrap_or([0; 8]));
    let dict_ok = (12..=30).any(|n| dict == 1 << n || dict == (1 << n) | (1 << (n - 1)));
    dict_ok && (size == u64::MAX || size < 1 << 40)
}

pub(super) fn unpack(
    kind: Kind,
    data: &[u8],
    caps: &Caps,
    scratch: &mut Vec<u8>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let packed = data.len() as u64;
    let mut name: Vec<u8> = Vec::new();
    let cut = match kind {
        Kind::Gzip => {
            let mut r = flate2::read::MultiGzDecoder::new(data);
            if let Some(n) = r.header().and_then(|h| h.filename()) {
                name = n.to_vec();
            }
            let cut = drain(&mut r, packed, caps, scratch);
            if name.is_empty()
                && let Some(n) = r.header().and_then(|h| h.filename())
            {
                name = n.to_vec();
            }
            cut
        }
        Kind::Bzip2 => drain(
            &mut bzip2::read::MultiBzDecoder::new(data),
            packed,
            caps,
            scratch,
        ),
        Kind::Xz => {
            let mut r = lzma_rust2::XzReader::new_mem_limit(data, true, DICT_LIMIT_KB);
            drain(&mut r, packed, caps, scratch)
        }
        Kind::Lzma => match lzma_rust2::LzmaReader::new_mem_limit(data, DICT_LIMIT_KB, None) {
            Ok(mut r) => drain(&mut r, packed, caps, scratch),
            Err(_) => Some(Cut::Broken),
        },
        Kind::Zstd => drain(&mut Frames::new(data), packed, caps, scratch),
        _ => return ControlFlow::Continue(()),
    };
    // A stream that breaks before giving a byte was no stream of this kind
    // (the magic number matched by chance): nothing was inside.
    if cut == Some(Cut::Broken) && scratch.is_empty() {
        return ControlFlow::Continue(());
    }
    visit(Found::Member {
        name: &name,
        data: scratch,
        cut,
    })
}

/// Every frame of a Zstandard stream, read as one (as `zstd -d` does), with
/// skippable frames skipped by the decoder.
pub(super) struct Frames<'a> {
    data: &'a [u8],
    current: Option<ruzstd::decoding::StreamingDecoder<&'a [u8], ruzstd::decoding::FrameDecoder>>,
}

impl<'a> Frames<'a> {
    pub(super) fn new(data: &'a [u8]) -> Frames<'a> {
        Frames {
            data,
            current: None,
        }
    }
}

impl Read for Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(dec) = &mut self.current {
                let n = dec.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // This frame is done: the next starts where it stopped reading.
                self.data = dec.get_ref();
                self.current = None;
            }
            if self.data.is_empty() {
                return Ok(0);
            }
            let dec = ruzstd::decoding::StreamingDecoder::new(self.data)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            self.current = Some(dec);
        }
    }
}
