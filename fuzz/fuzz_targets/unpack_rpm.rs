//! A valid rpm lead and the signature header's magic, then the input (the
//! rest of the signature header, the main header and the payload):
//! unpacking must never panic, and the payload must be a slice of the input
//! within the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::{Caps, Kind};

fuzz_target!(|data: &[u8]| {
    let mut package = b"\xed\xab\xee\xdb\x03\x00\x00\x00\x00\x01".to_vec();
    package.extend_from_slice(b"fuzz-1.0-1");
    package.resize(76, 0);
    package.extend_from_slice(&[0, 1, 0, 5]);
    package.resize(96, 0);
    package.extend_from_slice(b"\x8e\xad\xe8\x01");
    package.extend_from_slice(data);
    let caps = Caps {
        member: 1 << 10,
        memory: 1 << 10,
        ratio: 0,
        deadline: None,
    };
    assert!(ward_fuzz::unpack_in_place(Kind::Rpm, &package, &caps) <= 1);
});
