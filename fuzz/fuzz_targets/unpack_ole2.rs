//! The OLE2 signature, then the input as the rest of the compound file:
//! reading its tables, directory and streams must never panic, stay within
//! the caps, and end (a table that loops ends its chain).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    file.extend_from_slice(data);
    ward_fuzz::unpack_nested(&file, 3);
});
