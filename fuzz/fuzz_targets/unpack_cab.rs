//! A cabinet's signature and arbitrary bytes, unpacked: no panic, no hang,
//! memory bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::Kind;

fuzz_target!(|data: &[u8]| {
    let mut input = b"MSCF".to_vec();
    input.extend_from_slice(data);
    ward_fuzz::unpack_all(Kind::Cab, &input);
});
