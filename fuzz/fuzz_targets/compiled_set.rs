//! Arbitrary bytes as a compiled set (`.wardset`): decoding must never panic or
//! allocate beyond the input, and what decodes must compile and scan. Inputs are
//! also re-sealed with a valid header and checksum, so the payload decoder is
//! reached, not only the checksum check.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format};

fuzz_target!(|data: &[u8]| {
    let sealed = ward::sig::compiled::seal(data);
    for input in [data, &sealed[..]] {
        let mut db = Database::new();
        if db
            .load_bytes(Format::Compiled, Path::new("fuzz.wardset"), input)
            .is_ok()
        {
            // Whatever decodes re-encodes to the same payload.
            let again = ward::sig::compiled::encode(&db);
            let mut back = Database::new();
            assert!(
                back.load_bytes(Format::Compiled, Path::new("again.wardset"), &again)
                    .is_ok()
            );
            ward_fuzz::compile_and_scan(&db, &[data]);
        }
    }
});
