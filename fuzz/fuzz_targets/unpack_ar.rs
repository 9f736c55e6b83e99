//! `!<arch>\n` and the input as the archive after it: unpacking must never
//! panic, and every member must be a slice of the input within the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::{Caps, Kind};

fuzz_target!(|data: &[u8]| {
    let mut archive = b"!<arch>\n".to_vec();
    archive.extend_from_slice(data);
    let caps = Caps {
        member: 1 << 10,
        memory: 1 << 10,
        ratio: 0,
        deadline: None,
    };
    ward_fuzz::unpack_in_place(Kind::Ar, &archive, &caps);
});
