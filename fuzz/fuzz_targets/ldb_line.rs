//! Arbitrary bytes as logical signatures (`.ldb`): parsing must never panic,
//! and what parses must compile and scan (its own bytes as the haystack, so
//! that subsignatures can match and expressions are evaluated).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::sig::ldb;
use ward::{Database, Format};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            if let Ok(ldb::Parsed::Sig(sig)) = ldb::parse_line(line) {
                let mut counts = vec![0u32; sig.subsigs.len()];
                for (i, c) in counts.iter_mut().enumerate() {
                    *c = (line.len() + i) as u32 % 4;
                }
                let _ = sig.expr.eval(&counts, &mut 0, &mut 0);
            }
        }
        let _ = ldb::parse_expr(data);
    }
    let mut db = Database::new();
    if let Err(e) = db.load_bytes(Format::Ldb, Path::new("fuzz.ldb"), data) {
        let _ = e.to_string();
    }
    ward_fuzz::compile_and_scan(&db, &[data, b""]);
});
