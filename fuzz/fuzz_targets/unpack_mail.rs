//! A mail header line, then the input as the rest of the message: decoding
//! its parts must never panic, and every member must stay within the cap.
//! Members decoded from base64, quoted-printable or uuencode are not slices
//! of the input, so only the unpacking as the scanner drives it is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut message = b"From: a@example.com\n".to_vec();
    message.extend_from_slice(data);
    ward_fuzz::unpack_nested(&message, 3);
});
