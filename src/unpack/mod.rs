//! Containers: archives and compressed files recognised by their content, and
//! their members taken out under caps.
//!
//! This module knows nothing of signatures or scanning: the scanner
//! ([`crate::scan`]) calls [`unpack`] on a layer it has matched, and gets each
//! member back through a callback, as a byte slice (borrowed from the
//! container when it is stored, else decompressed into the caller's scratch
//! buffer). Every count and size read from a container is checked against the
//! bytes there are; every decompression stops at [`Caps::member`] bytes, at a
//! compression ratio past [`Caps::ratio`], and at the deadline.

mod ar;
mod bytes;
mod cab;
mod cpio;
pub mod html;
mod legacy;
mod mail;
mod ole2;
mod out;
mod pdf;
mod rpm;
mod rtf;
mod sevenz;
#[allow(unsafe_code)]
mod spill;
mod stream;
mod tar;
pub mod text;
mod zip;

pub use spill::Scratch;
pub use zip::Index as ZipIndex;

use std::io::{self, Read};
use std::ops::ControlFlow;
use std::time::Instant;

/// A container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// PKZIP archive (also a self-extractor, or a zip appended to a file).
    Zip,
    /// gzip stream (several members read as one).
    Gzip,
    /// bzip2 stream.
    Bzip2,
    /// xz stream.
    Xz,
    /// LZMA "alone" stream (`.lzma`).
    Lzma,
    /// Zstandard stream.
    Zstd,
    /// tar archive (ustar, GNU, pax).
    Tar,
    /// cpio archive (new ASCII, CRC, portable ASCII, old binary).
    Cpio,
    /// ar archive (GNU, BSD), a Debian package among them.
    Ar,
    /// RPM package.
    Rpm,
    /// 7z archive.
    SevenZip,
    /// Microsoft cabinet.
    Cab,
    /// A mail message (RFC 822, MIME) or an mbox of them.
    Mail,
    /// Outlook's attachment wrapper (`winmail.dat`).
    Tnef,
    /// BinHex 4.0 text.
    BinHex,
    /// A file compressed by Microsoft's `compress.exe`.
    Szdd,
    /// An OLE2 compound file (Office 97–2003 documents, MSI packages).
    Ole2,
    /// An RTF document, its embedded objects the members.
    Rtf,
    /// A PDF document.
    Pdf,
}

impl Kind {
    /// The format's name as ClamAV spells it in heuristic names
    /// (`Heuristics.Encrypted.Zip`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "Zip",
            Kind::Gzip => "GZip",
            Kind::Bzip2 => "BZip2",
            Kind::Xz => "XZ",
            Kind::Lzma => "LZMA",
            Kind::Zstd => "Zstd",
            Kind::Tar => "Tar",
            Kind::Cpio => "CPIO",
            Kind::Ar => "AR",
            Kind::Rpm => "RPM",
            Kind::SevenZip => "7Zip",
            Kind::Cab => "CAB",
            Kind::Mail => "Mail",
            Kind::Tnef => "TNEF",
            Kind::BinHex => "BinHex",
            Kind::Szdd => "SZDD",
            Kind::Ole2 => "OLE2",
            Kind::Rtf => "RTF",
            Kind::Pdf => "PDF",
        }
    }
}

/// The container format of `data`, judged by its content alone.
pub fn detect(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"\x1f\x8b\x08") {
        return Some(Kind::Gzip);
    }
    if data.starts_with(b"\xfd7zXZ\x00") {
        return Some(Kind::Xz);
    }
    if data.starts_with(b"\x28\xb5\x2f\xfd") {
        return Some(Kind::Zstd);
    }
    if data.len() >= 10
        && data.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&data[3])
        && (data[4..10] == *b"\x31\x41\x59\x26\x53\x59"
            || data[4..10] == *b"\x17\x72\x45\x38\x50\x90")
    {
        return Some(Kind::Bzip2);
    }
    if cpio::is_cpio(data) {
        return Some(Kind::Cpio);
    }
    if ar::is_ar(data) {
        return Some(Kind::Ar);
    }
    if rpm::is_rpm(data) {
        return Some(Kind::Rpm);
    }
    if sevenz::is_7z(data) {
        return Some(Kind::SevenZip);
    }
    if cab::is_cab(data) {
        return Some(Kind::Cab);
    }
    if ole2::is_ole2(data) {
        return Some(Kind::Ole2);
    }
    if rtf::is_rtf(data) {
        return Some(Kind::Rtf);
    }
    if legacy::is_szdd(data) {
        return Some(Kind::Szdd);
    }
    if legacy::is_tnef(data) {
        return Some(Kind::Tnef);
    }
    if tar::is_tar(data) {
        return Some(Kind::Tar);
    }

    // Before zip: a zip's end record in a mail's unencoded part would
    // otherwise take the whole message for a zip.
    if mail::is_mail(data) {
        return Some(Kind::Mail);
    }
    if legacy::is_binhex(data) {
        return Some(Kind::BinHex);
    }
    // `%PDF-` may be anywhere in the first 1024 bytes: after the formats
    // known by their first bytes (a tar whose first member is a PDF, mail
    // that quotes one), before zip (a PDF may carry a zip's end record),
    // but not for a zip that starts with a stored PDF.
    if pdf::is_pdf(data) && !(data.starts_with(b"PK\x03\x04") && zip::is_zip(data)) {
        return Some(Kind::Pdf);
    }
    if zip::is_zip(data) {
        return Some(Kind::Zip);
    }
    if stream::is_lzma_alone(data) {
        return Some(Kind::Lzma);
    }
    None
}

/// Bounds on taking members out of one container.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// Most bytes taken out of one member; the rest is cut off.
    pub member: u64,
    /// Most bytes of a member held in memory; past them it goes on in a
    /// spill file (see [`Scratch`]).
    pub memory: u64,
    /// Most bytes out per byte in, for one member, once past [`RATIO_FLOOR`]
    /// bytes out (a bomb guard; 0 = none).
    pub ratio: u64,
    /// Stop taking members out at this instant.
    pub deadline: Option<Instant>,
}

impl Caps {
    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        past(self.deadline)
    }
}

/// [`Kind::Mail`] if `data` is mail, without asking for any other format.
pub fn detect_mail(data: &[u8]) -> Option<Kind> {
    mail::is_mail(data).then_some(Kind::Mail)
}

/// Whether `deadline` has passed.
pub(crate) fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Below this many bytes out, the ratio guard does not apply: tiny members
/// of highly compressible text are ordinary.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// Why a member's bytes are not all there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// It is longer than [`Caps::member`].
    Size,
    /// It expands past [`Caps::ratio`].
    Ratio,
    /// The deadline passed while it was decompressed.
    Time,
    /// Its data is damaged or truncated (what came before is given).
    Broken,
    /// Its compression method is not one ward can decompress.
    Unsupported,
    /// It is nested deeper inside its container than unpacking goes (mail
    /// multiparts past 32 levels); its bytes are given as they are.
    Depth,
}

/// What unpacking finds.
#[derive(Debug)]
pub enum Found<'a> {
    /// A member, whole unless `cut` says otherwise.
    Member {
        /// Its name in the container, as stored (empty when it has none).
        name: &'a [u8],
        /// Its bytes.
        data: &'a [u8],
        /// Why some of its bytes are missing.
        cut: Option<Cut>,
    },
    /// An encrypted member, not decrypted.
    Encrypted {
        /// Its name.
        name: &'a [u8],
    },
    /// Members whose data overlap: a zip bomb's construction. Nothing more
    /// is taken out.
    Overlap,
    /// The container is damaged from here on; what came before was found.
    Broken,
}

impl<'a> Found<'a> {
    /// The deadline passed before member `name` (empty when not known)
    /// could be taken out: nothing more is.
    pub(crate) fn out_of_time(name: &'a [u8]) -> Found<'a> {
        Found::Member {
            name,
            data: &[],
            cut: Some(Cut::Time),
        }
    }
}

/// Take the members of `data` (a container of `kind`) out, one at a time,
/// handing each to `visit` until it breaks. `scratch` holds a decompressed
/// member while `visit` looks at it.
pub fn unpack(
    kind: Kind,
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) {
    let _ = match kind {
        Kind::Zip => zip::unpack(data, caps, scratch, visit),
        Kind::Tar => tar::unpack(data, caps, scratch, visit),
        Kind::Cpio => cpio::unpack(data, caps, visit),
        Kind::Ar => ar::unpack(data, caps, visit),
        Kind::Rpm => rpm::unpack(data, caps, visit),
        Kind::SevenZip => sevenz::unpack(data, caps, scratch, visit),
        Kind::Cab => cab::unpack(data, caps, scratch, visit),
        Kind::Mail => mail::unpack(data, caps, scratch, visit),
        Kind::Tnef => legacy::tnef(data, caps, visit),
        Kind::BinHex => legacy::binhex(data, caps, scratch, visit),
        Kind::Szdd => legacy::szdd(data, caps, scratch, visit),
        Kind::Ole2 => ole2::unpack(data, caps, scratch, visit),
        Kind::Rtf => rtf::unpack(data, caps, scratch, visit),
        Kind::Pdf => pdf::unpack(data, caps, scratch, visit),
        Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Lzma | Kind::Zstd => {
            stream::unpack(kind, data, caps, scratch, visit)
        }
    };
}

/// Decompress `reader` into `out` (cleared first) under `caps`; `packed` is
/// how many compressed bytes it reads, for the ratio guard. Returns why the
/// output is incomplete, if it is.
pub(crate) fn drain(
    reader: &mut dyn Read,
    packed: u64,
    caps: &Caps,
    out: &mut Scratch,
) -> Option<Cut> {
    out.clear();
    let ratio_cap = match caps.ratio {
        0 => u64::MAX,
        r => packed.saturating_mul(r).max(RATIO_FLOOR),
    };
    let cap = caps.member.min(ratio_cap);
    let mut chunks = 0u32;
    loop {
        if out.len() >= cap {
            // One byte more tells a member that ends here from a longer one.
            let mut probe = [0u8; 1];
            return match reader.read(&mut probe) {
                Ok(0) => None,
                Ok(_) if cap == caps.member => Some(Cut::Size),
                Ok(_) => Some(Cut::Ratio),
                Err(_) => Some(Cut::Broken),
            };
        }
        chunks += 1;
        if chunks.is_multiple_of(16) && caps.expired() {
            return Some(Cut::Time);
        }
        let want = (cap - out.len()).min(CHUNK as u64) as usize;
        match out.fill_from(reader, want, caps.memory) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // No room for a spill file: as if the member ended at the cap.
            Err(e) if e.kind() == io::ErrorKind::StorageFull => return Some(Cut::Size),
            Err(_) => return Some(Cut::Broken),
        }
    }
}

/// Bytes asked of a decoder at once.
const CHUNK: usize = 64 << 10;

/// A drained member's bytes, with why they are incomplete; a spill file that
/// cannot be mapped leaves the member empty and cut.
pub(crate) fn taken(scratch: &mut Scratch, cut: Option<Cut>) -> (&[u8], Option<Cut>) {
    match scratch.finish() {
        Ok(bytes) => (bytes, cut),
        Err(_) => (&[], Some(Cut::Size)),
    }
}

/// What a format's unpacking hands out, for its unit tests: (name, bytes,
/// cut) per member, and `("broken", [], None)` where it reports damage.
#[cfg(test)]
pub(crate) type Taken = (Vec<u8>, Vec<u8>, Option<Cut>);

/// Run `unpack` with a visitor that records what it is given (see [`Taken`]);
/// any other finding fails the test.
#[cfg(test)]
pub(crate) fn collect(
    unpack: impl FnOnce(&mut dyn FnMut(Found<'_>) -> ControlFlow<()>) -> ControlFlow<()>,
) -> Vec<Taken> {
    let mut out = Vec::new();
    let _ = unpack(&mut |f| {
        match f {
            Found::Member { name, data, cut } => out.push((name.to_vec(), data.to_vec(), cut)),
            Found::Broken => out.push((b"broken".to_vec(), Vec::new(), None)),
            other => panic!("{other:?}"),
        }
        ControlFlow::Continue(())
    });
    out
}
