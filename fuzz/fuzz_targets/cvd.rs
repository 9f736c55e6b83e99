//! Arbitrary bytes as ClamAV database containers (`.cvd`, `.cld`, `.cud`):
//! checking and loading must never panic nor allocate past the caps, and
//! what loads must compile and scan. The bytes are also sealed behind a
//! header whose MD5 fits (as a `.cud`, which needs no signature), so that the
//! payload (tar, gzip, `.info`, members) is reached, not only the MD5 check.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format};

fuzz_target!(|data: &[u8]| {
    let md5: String = {
        use md5::Digest;
        md5::Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
    };
    let mut sealed = format!("ClamAV-VDB:1 Jan 2026 00-00 +0000:1:1:1:{md5}:X:fuzz:1").into_bytes();
    sealed.resize(512, b' ');
    sealed.extend_from_slice(data);
    for (input, name) in [
        (data, "fuzz.cvd"),
        (data, "fuzz.cld"),
        (&sealed[..], "fuzz.cud"),
        (&sealed[..], "fuzz.cvd"),
    ] {
        let mut db = Database::new();
        match db.load_bytes(Format::Container, Path::new(name), input) {
            Ok(()) => ward_fuzz::compile_and_scan(&db, &[data]),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
