//! The container layer as a whole: whatever `detect` recognises in the input
//! is unpacked, and its members again, four levels down, under caps of a few
//! MiB and a one-second deadline. It must never panic, keep every member
//! within the cap, and return soon after the deadline.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ward_fuzz::unpack_nested(data, 4);
});
