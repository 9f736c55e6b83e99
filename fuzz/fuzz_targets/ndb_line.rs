//! Arbitrary bytes as an `.ndb` database: loading, compiling what loaded, and
//! scanning the input with it must never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format};

fuzz_target!(|data: &[u8]| {
    let mut db = Database::new();
    if let Err(e) = db.load_bytes(Format::Ndb, Path::new("fuzz.ndb"), data) {
        let _ = e.to_string();
    }
    // Lines that parsed are kept even when others failed: compile those too.
    ward_fuzz::compile_and_scan(&db, &[data]);
});
