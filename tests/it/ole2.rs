//! OLE2 compound files through the binary: a VBA macro's source is
//! decompressed and matched under its module's name, and the attachment in
//! a Word document's embedded object is found (clamav-testfiles).

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{hex, run, stderr, stdout, ward};

const MARKER: &str = "WARD-OLE2-TEST-MARKER";

fn scan_json(db: &Path, file: &Path) -> (Option<i32>, Value) {
    let out = run(ward()
        .args(["scan", "--json", "--no-summary", "--no-builtin", "-d"])
        .arg(db)
        .arg(file));
    let line = stdout(&out).lines().next().unwrap_or_default().to_owned();
    let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (out.status.code(), v)
}

#[test]
fn a_macro_is_decompressed_and_named_by_its_module() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ole2.py");
    let out = run(std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = dir.path().join("macro.doc");
    let raw = std::fs::read(&doc).unwrap();
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
    let db = dir.path().join("marker.ndb");
    std::fs::write(&db, format!("Marker:0:*:{}\n", hex(MARKER.as_bytes()))).unwrap();
    let (code, v) = scan_json(&db, &doc);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["matches"][0]["container"],
        json!(["macro.doc", "Macros/VBA/Module1"])
    );
}

#[test]
fn an_embedded_object_gives_up_its_file() {
    let f = Path::new("/usr/share/clamav-testfiles/clam.ole.doc");
    assert!(
        f.exists(),
        "clamav-testfiles is missing: scripts/test.sh installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clam.hdb");
    std::fs::write(
        &db,
        "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File\n",
    )
    .unwrap();
    let (code, v) = scan_json(&db, f);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["matches"][0]["container"],
        json!([
            "clam.ole.doc",
            "ObjectPool/_1279313719/\u{1}Ole10Native/object"
        ])
    );
}
