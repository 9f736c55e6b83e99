//! RTF documents through the binary: the objects embedded in them (OLE1
//! packager objects in `\objdata` hex or after `\bin`, a Word document) are
//! found and named,
//! as clamscan finds them; clam.exe.rtf from clamav-testfiles is found; a
//! document of a million nested groups is read to its end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clamav_diff::{Hits, parse_hits};
use crate::util::{eicar, eicar_hex, hex, python_fixtures, require, run, run_within, stdout, ward};

const MARKER: &str = "WARD-RTF-TEST-MARKER";

fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| python_fixtures("rtf", "rtf.py", MARKER))
}

/// `ward scan --json --all-matches` of `file` with the databases `dbs`: the
/// exit code and the file's JSON object.
fn scan_json(dbs: &[&Path], file: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = ward();
    cmd.args([
        "scan",
        "--json",
        "--no-summary",
        "--no-builtin",
        "--all-matches",
    ]);
    for db in dbs {
        cmd.arg("-d").arg(db);
    }
    let out = run(cmd.args(args).arg(file));
    let line = stdout(&out).lines().next().unwrap_or_default().to_owned();
    let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (out.status.code(), v)
}

/// The container chains of the matches of `v` named `name`.
fn chains(v: &Value, name: &str) -> Vec<Value> {
    v["matches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["signature"] == name)
        .map(|m| m["container"].clone())
        .collect()
}

/// EICAR as a body signature and by its MD5 (which only the file itself,
/// taken out of its document, can match).
fn eicar_dbs(dir: &Path) -> (PathBuf, PathBuf) {
    let ndb = dir.join("eicar.ndb");
    std::fs::write(&ndb, format!("Eicar-Body:0:*:{}\n", eicar_hex())).unwrap();
    let hdb = dir.join("eicar.hdb");
    let md5 = md5_hex(&eicar());
    std::fs::write(&hdb, format!("{md5}:{}:Eicar-Hash\n", eicar().len())).unwrap();
    (ndb, hdb)
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex(&md5::Md5::digest(data))
}

#[test]
fn clam_exe_rtf_is_found_inside_its_package() {
    let f = Path::new("/usr/share/clamav-testfiles/clam.exe.rtf");
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
    let (code, v) = scan_json(&[&db], f, &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        chains(&v, "ClamAV-Test-File"),
        [json!(["clam.exe.rtf", "object 1: Clam.exe"])]
    );
}

#[test]
fn objects_in_hex_and_after_bin_are_found_and_named() {
    let dir = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let (ndb, hdb) = eicar_dbs(tmp.path());
    for name in ["package.rtf", "spaced.rtf", "bin.rtf"] {
        let (code, v) = scan_json(&[&ndb, &hdb], &dir.join(name), &[]);
        assert_eq!(code, Some(1), "{name}: {v}");
        assert_eq!(
            chains(&v, "Eicar-Hash"),
            [json!([name, "object 1: eicar.com"])],
            "{name}: {v}"
        );
    }
    let raw = std::fs::read(dir.join("marker.rtf")).unwrap();
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
    let marker = dir.join("marker.ndb");
    let (code, v) = scan_json(&[&marker], &dir.join("marker.rtf"), &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        chains(&v, "Marker"),
        [json!(["marker.rtf", "object 1: note.txt"])]
    );
    // An embedded Word document goes on to the OLE2 reader: its macro is
    // found under its module's name.
    let ole2 = tmp.path().join("ole2.ndb");
    std::fs::write(
        &ole2,
        format!("Macro:0:*:{}\n", hex(b"WARD-OLE2-TEST-MARKER")),
    )
    .unwrap();
    let (code, v) = scan_json(&[&ole2], &dir.join("word.rtf"), &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        chains(&v, "Macro"),
        [json!(["word.rtf", "object 1", "Macros/VBA/Module1"])]
    );
    // Object data outside an object is not one; nor is anything read with
    // archives off (as clamscan --scan-archive=no).
    let (code, v) = scan_json(&[&marker], &dir.join("noobject.rtf"), &[]);
    assert_eq!((code, &v["status"]), (Some(0), &json!("clean")), "{v}");
    let (code, v) = scan_json(&[&marker], &dir.join("marker.rtf"), &["--scan-archive=no"]);
    assert_eq!(code, Some(0), "{v}");
}

#[test]
fn rtf_objects_agree_with_clamscan() {
    require("clamscan", "--version", "clamav");
    let dir = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let (ndb, hdb) = eicar_dbs(tmp.path());
    let marker = dir.join("marker.ndb");
    let files = tmp.path().join("files");
    std::fs::create_dir(&files).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "rtf") {
            std::fs::copy(&p, files.join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut clam = Command::new("clamscan");
    clam.args(["--allmatch", "--no-summary", "-i"]);
    let mut ours = ward();
    ours.args([
        "scan",
        "--no-builtin",
        "--all-matches",
        "--no-summary",
        "-i",
    ]);
    for db in [&ndb, &hdb, &marker] {
        clam.arg("-d").arg(db);
        ours.arg("-d").arg(db);
    }
    let clam_hits = parse_hits("clamscan", &run(clam.arg(&files)), ".UNOFFICIAL");
    let ward_hits = parse_hits("ward", &run(ours.arg(&files)), "");
    let hit = |f: &str, s: &str| (f.to_owned(), s.to_owned());
    for h in [
        hit("package.rtf", "Eicar-Hash"),
        hit("spaced.rtf", "Eicar-Hash"),
        hit("marker.rtf", "Marker"),
    ] {
        assert!(
            clam_hits.contains(&h),
            "clamscan missed {h:?}: {clam_hits:?}"
        );
    }
    // The one deliberate difference: ClamAV's RTF reader has no `\bin`, so
    // it matches the raw bytes of bin.rtf but never takes the file out.
    let only_ward: Hits = ward_hits.difference(&clam_hits).cloned().collect();
    let only_clam: Hits = clam_hits.difference(&ward_hits).cloned().collect();
    assert_eq!(
        (only_ward, only_clam),
        (Hits::from([hit("bin.rtf", "Eicar-Hash")]), Hits::new()),
        "ward: {ward_hits:?}\nclamscan: {clam_hits:?}"
    );
}

#[test]
fn a_million_nested_groups_are_read_to_the_end() {
    let n = 1_000_000;
    let mut doc = b"{\\rtf1".to_vec();
    doc.resize(doc.len() + n, b'{');
    let obj = std::fs::read(fixtures().join("package.rtf")).unwrap();
    // The object of package.rtf, at the bottom of the groups.
    let start = obj.windows(7).position(|w| w == b"{\\objec").unwrap();
    doc.extend_from_slice(&obj[start..obj.len() - 3]);
    doc.resize(doc.len() + n, b'}');
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("deep.rtf");
    std::fs::write(&f, &doc).unwrap();
    let (_, hdb) = eicar_dbs(tmp.path());
    // Generous: the time only stands for "it ends" (no stack to overflow).
    let out = run_within(
        ward()
            .args(["scan", "--json", "--no-summary", "--no-builtin", "-d"])
            .arg(&hdb)
            .arg(&f),
        Duration::from_secs(120),
    );
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(
        chains(&v, "Eicar-Hash"),
        [json!(["deep.rtf", "object 1: eicar.com"])]
    );
}
