//! A cpio magic number (one of five, chosen by the first byte) and the rest
//! of the input as the archive after it: unpacking must never panic, and
//! every member must be a slice of the input within the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::{Caps, Kind};

const MAGICS: [&[u8]; 5] = [b"070701", b"070702", b"070707", b"\xc7\x71", b"\x71\xc7"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut archive = MAGICS[usize::from(pick) % MAGICS.len()].to_vec();
    archive.extend_from_slice(rest);
    let caps = Caps {
        member: 1 << 10,
        memory: 1 << 10,
        ratio: 0,
        deadline: None,
    };
    ward_fuzz::unpack_in_place(Kind::Cpio, &archive, &caps);
});
