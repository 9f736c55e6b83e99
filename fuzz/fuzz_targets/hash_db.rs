//! Arbitrary bytes as hash (`.hdb`/`.hsb`), allow-list (`.fp`/`.sfp`) and ignore
//! (`.ign2`) databases, separately and together: loading, compiling and scanning
//! must never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format};

fuzz_target!(|data: &[u8]| {
    let mut all = Database::builtin();
    for (format, name) in [
        (Format::Hash, "fuzz.hsb"),
        (Format::Allow, "fuzz.sfp"),
        (Format::Ignore, "fuzz.ign2"),
    ] {
        let mut db = Database::new();
        if let Err(e) = db.load_bytes(format, Path::new(name), data) {
            let _ = e.to_string();
        }
        ward_fuzz::compile_and_scan(&db, &[data]);
        all.merge(db);
    }
    ward_fuzz::compile_and_scan(&all, &[data, b""]);
});
