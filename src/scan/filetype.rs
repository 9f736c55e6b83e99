//! File types by magic, for signatures that apply to one type only
//! (ClamAV target types 1, 4, 6 and 9), and for the normalised views of text
//! and HTML (types 7 and 3).

use crate::sig::TargetType;

/// The executable format of a file, as far as target types care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// `MZ` header pointing to a `PE\0\0` header.
    Pe,
    /// `\x7fELF`.
    Elf,
    /// A Mach-O header (32/64-bit, either byte order) or a universal binary.
    MachO,
    /// A file ClamAV types as mail (see [`super::mailtype`]).
    Mail,
    /// Anything else.
    Other,
    /// The normalised view of a text file (never a file's own type).
    Text,
    /// A normalised view of an HTML file (never a file's own type).
    Html,
}

impl FileType {
    /// Detect from the first bytes of a file (needs the whole PE header region).
    pub fn detect(data: &[u8]) -> FileType {
        FileType::detect_with(data, |at| {
            data.get(at..at.saturating_add(4))
                .and_then(|b| b.try_into().ok())
        })
    }

    /// Detect from the first bytes of a file (at least 64 when there are as
    /// many) and `read4(offset)`, which gives the four bytes at a file offset
    /// (for the PE header).
    pub fn detect_with(data: &[u8], read4: impl FnOnce(usize) -> Option<[u8; 4]>) -> FileType {
        if data.starts_with(b"\x7fELF") {
            return FileType::Elf;
        }
        if data.len() >= 4 {
            let m = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            if matches!(m, 0xfeedface | 0xfeedfacf | 0xcefaedfe | 0xcffaedfe) {
                return FileType::MachO;
            }
            // 0xcafebabe is shared with Java classes; a universal binary has few arches.
            if m == 0xcafebabe
                && data.len() >= 8
                && u32::from_be_bytes([data[4], data[5], data[6], data[7]]) < 20
            {
                return FileType::MachO;
            }
        }
        if data.starts_with(b"MZ") && data.len() >= 0x40 {
            let lfanew =
                u32::from_le_bytes([data[0x3c], data[0x3d], data[0x3e], data[0x3f]]) as usize;
            if read4(lfanew) == Some(*b"PE\0\0") {
                return FileType::Pe;
            }
        }
        if super::mailtype::is_mail(data, true) {
            return FileType::Mail;
        }
        FileType::Other
    }

    /// [`FileType::detect`] as ClamAV types a file when it does not parse
    /// mail (`--scan-mail=no`): then text is not mail by headers found past
    /// its first KiB.
    pub fn detect_unparsed_mail(data: &[u8]) -> FileType {
        match FileType::detect(data) {
            FileType::Mail if !super::mailtype::is_mail(data, false) => FileType::Other,
            t => t,
        }
    }

    /// Whether a signature for `target` applies to this file.
    pub fn fits(self, target: TargetType) -> bool {
        match target {
            TargetType::Any => true,
            TargetType::Pe => self == FileType::Pe,
            TargetType::Elf => self == FileType::Elf,
            TargetType::MachO => self == FileType::MachO,
            TargetType::Text => self == FileType::Text,
            TargetType::Mail => self == FileType::Mail,
            TargetType::Html => self == FileType::Html,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert_eq!(FileType::detect(b"\x7fELF\x02\x01"), FileType::Elf);
        assert_eq!(
            FileType::detect(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]),
            FileType::MachO
        );
        let mut pe = vec![0u8; 0x80];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x40;
        pe[0x40..0x44].copy_from_slice(b"PE\0\0");
        assert_eq!(FileType::detect(&pe), FileType::Pe);
        pe[0x3c] = 0xff;
        assert_eq!(FileType::detect(&pe), FileType::Other);
        assert!(FileType::Other.fits(TargetType::Any) && !FileType::Other.fits(TargetType::Pe));
    }
}
