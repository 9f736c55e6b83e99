//! `{\rt`, then the input as the rest of an RTF document: reading its groups,
//! control words, object data and OLE1 framing must never panic, stay within
//! the caps, and end (however deep the groups nest).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"{\\rt".to_vec();
    file.extend_from_slice(data);
    ward_fuzz::unpack_nested(&file, 3);
});
