//! `%PDF-1.7` and a line end, then the input as the rest of the document:
//! finding its objects, their streams and lengths, object streams and
//! filter chains must never panic, stay within the caps, and end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"%PDF-1.7\n".to_vec();
    file.extend_from_slice(data);
    ward_fuzz::unpack_nested(&file, 3);
});
