//! tar: ustar, GNU (long names, sparse members) and pax, through the `tar`
//! crate. A contiguous member's bytes are a slice of the archive itself; a
//! sparse one is expanded into the scratch buffer.

use std::io::{Cursor, Read};
use std::ops::ControlFlow;

use super::{Caps, Cut, Found, Scratch, drain, taken};

/// Whether `data` starts with a tar header: the ustar magic (POSIX or GNU)
/// and a header checksum that adds up.
pub(super) fn is_tar(data: &[u8]) -> bool {
    let Some(h) = data.get(..512) else {
        return false;
    };
    if &h[257..262] != b"ustar" {
        return false;
    }
    let field = &h[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    let Ok(stored) = u32::from_str_radix(std::str::from_utf8(&digits).unwrap_or(""), 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

pub(super) fn unpack(
    data: &[u8],
    caps: &Caps,
    scratch: &mut Scratch,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut archive = tar::Archive::new(Cursor::new(data));
    let entries = match archive.entries_with_seek() {
        Ok(e) => e,
        Err(_) => return visit(Found::Broken),
    };
    for entry in entries {
        if caps.expired() {
            return visit(Found::out_of_time(b""));
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(_) => return visit(Found::Broken),
        };
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
            continue;
        }
        let name = entry.path_bytes().into_owned();
        let (size, pos) = (entry.size(), entry.raw_file_position());
        if kind.is_gnu_sparse() {
            let cut = drain(&mut entry as &mut dyn Read, size, caps, scratch);
            let (data, cut) = taken(scratch, cut);
            visit(Found::Member {
                name: &name,
                data,
                cut,
            })?;
            continue;
        }
        // Contiguous: the bytes are in the archive. A size that runs past
        // its end is a truncated archive: what is there is scanned.
        let start = usize::try_from(pos).unwrap_or(usize::MAX).min(data.len());
        let end = usize::try_from(pos.saturating_add(size))
            .unwrap_or(usize::MAX)
            .min(data.len());
        let mut cut = (((end - start) as u64) < size).then_some(Cut::Broken);
        let mut end = end;
        if (end - start) as u64 > caps.member {
            end = start + caps.member as usize;
            cut = Some(Cut::Size);
        }
        visit(Found::Member {
            name: &name,
            data: &data[start..end],
            cut,
        })?;
    }
    ControlFlow::Continue(())
}
