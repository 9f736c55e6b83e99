//! The input split at 0xff bytes into pseudo-files, each of the format its first
//! byte picks, loaded into one database (with or without the built-in set, and
//! also through `SetBuilder`, which rejects the lot on any syntax error),
//! compiled, and every piece scanned with the result.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format, SignatureSet};

const FORMATS: [(Format, &str); 4] = [
    (Format::Ndb, "f.ndb"),
    (Format::Hash, "f.hdb"),
    (Format::Allow, "f.fp"),
    (Format::Ignore, "f.ign2"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let builtin = flags & 1 == 1;
    let pieces: Vec<&[u8]> = rest.split(|&b| b == 0xff).collect();
    let mut db = if builtin {
        Database::builtin()
    } else {
        Database::new()
    };
    let mut builder = SignatureSet::builder();
    builder.builtin(builtin);
    for piece in &pieces {
        let Some((&tag, body)) = piece.split_first() else {
            continue;
        };
        let (format, name) = FORMATS[usize::from(tag % 4)];
        // Syntax errors leave the good lines loaded; keep going.
        if let Err(e) = db.load_bytes(format, Path::new(name), body) {
            let _ = e.to_string();
        }
        builder.text(format, name, body);
    }
    match builder.database() {
        Ok(built) => assert_eq!(built.len(), db.len(), "builder and loader disagree"),
        Err(e) => drop(e.to_string()),
    }
    let mut hays = pieces;
    hays.push(data);
    ward_fuzz::compile_and_scan(&db, &hays);
});
