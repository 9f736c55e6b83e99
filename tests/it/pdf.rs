//! PDF documents through the binary: each stream filter and chain, object
//! streams, embedded files and scripts decoded and named in the container
//! chain; clamscan finding the same; encryption reported, never clean; and
//! hostile documents (a loop of references, a chain of 1,000 filters, a
//! Flate bomb) ending within their limits. The fixtures are built by
//! `tests/fixtures/pdf.py` (Python's standard library).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{python_fixtures, require, run, run_measured, stdout, ward};

const MARKER: &str = "WARD-PDF-TEST-MARKER";

fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| python_fixtures("pdf", "pdf.py", MARKER))
}

/// `ward scan --json` (all matches, the marker signature besides the
/// built-in ones) on one fixture: the exit code and the file's JSON object.
fn scan(name: &str, args: &[&str]) -> (Option<i32>, Value) {
    let dir = fixtures();
    let m = run_measured(
        ward()
            .args(["scan", "--json", "--no-summary", "-z", "-d"])
            .arg(dir.join("marker.ndb"))
            .args(args)
            .arg(dir.join(name)),
        Duration::from_secs(60),
    );
    let line = m.stdout().lines().next().unwrap_or_default().to_owned();
    let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (m.code(), v)
}

/// (signature, container chain) of each match.
fn matches(v: &Value) -> Vec<(String, Value)> {
    v["matches"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    (
                        m["signature"].as_str().unwrap().to_owned(),
                        m["container"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_filter_and_layout_is_decoded_and_named() {
    let eicar = "Eicar-Test-Signature";
    let cases = [
        ("flate.pdf", "obj 4 0"),
        ("a85-flate.pdf", "obj 4 0"),
        ("lzw.pdf", "obj 4 0"),
        ("ahx-rl.pdf", "obj 4 0"),
        // Not decoded: the raw stream is the member.
        ("dct.pdf", "obj 4 0"),
        ("objstm.pdf", "obj 5 0 /JS"),
        ("embedded.pdf", "obj 5 0: eicar.com"),
    ];
    for (name, member) in cases {
        let (code, v) = scan(name, &[]);
        assert_eq!(code, Some(1), "{name}: {v}");
        let found = matches(&v);
        assert!(
            found.contains(&(eicar.to_owned(), json!([name, member]))),
            "{name}: {v}"
        );
        // EICAR counts only as a whole file: without unpacking, nothing.
        let (code, v) = scan(name, &["--scan-archive=no"]);
        assert_eq!(code, Some(0), "{name}: {v}");
    }
    // Object 6's name is in the object stream's file specification.
    let (_, v) = scan("objstm.pdf", &[]);
    assert!(
        matches(&v).contains(&(
            "Marker".to_owned(),
            json!(["objstm.pdf", "obj 6 0: packed.txt"])
        )),
        "{v}"
    );
    // A zip that starts with a stored PDF is a zip, its PDF one level down.
    let (_, v) = scan("pdf-in.zip", &[]);
    for m in [
        (eicar.to_owned(), json!(["pdf-in.zip", "a.pdf", "obj 4 0"])),
        ("Marker".to_owned(), json!(["pdf-in.zip", "b.txt"])),
    ] {
        assert!(matches(&v).contains(&m), "{m:?}: {v}");
    }
    // Past 512, 1024 and 2048 codes, and a cleared table.
    let (code, v) = scan("lzw-long.pdf", &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        matches(&v),
        [("Marker".to_owned(), json!(["lzw-long.pdf", "obj 4 0"]))]
    );
}

#[test]
fn clam_pdf_gives_up_its_embedded_file() {
    let f = Path::new("/usr/share/clamav-testfiles/clam.pdf");
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
    let out = run(ward()
        .args(["scan", "--json", "--no-summary", "--no-builtin", "-d"])
        .arg(&db)
        .arg(f));
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(
        v["matches"][0]["container"],
        json!(["clam.pdf", "obj 15 0: clam.exe"]),
        "{v}"
    );
}

/// The files among `names` that `cmd` (a scanner's command line, the files
/// appended) reports FOUND.
fn found_by(cmd: &mut Command, names: &[&str]) -> Vec<String> {
    let out = run(cmd.args(names.iter().map(|n| fixtures().join(n))));
    let text = stdout(&out);
    let mut hit: Vec<String> = text
        .lines()
        .filter(|l| l.ends_with(" FOUND"))
        .filter_map(|l| {
            Some(
                Path::new(l.split(": ").next()?)
                    .file_name()?
                    .to_str()?
                    .to_owned(),
            )
        })
        .collect();
    hit.sort();
    hit
}

#[test]
fn clamscan_finds_the_same_but_where_it_leaves_a_filter_alone() {
    require("clamscan", "--version", "clamav");
    let names = [
        "a85-flate.pdf",
        "ahx-rl.pdf",
        "dct.pdf",
        "embedded.pdf",
        "flate.pdf",
        "lzw.pdf",
        "objstm.pdf",
    ];
    let db = fixtures().join("eicar.ndb");
    let ours = found_by(
        ward()
            .args(["scan", "--no-summary", "--no-builtin", "-d"])
            .arg(&db),
        &names,
    );
    let theirs = found_by(
        Command::new("clamscan")
            .args(["--no-summary", "-d"])
            .arg(&db),
        &names,
    );
    assert_eq!(ours, names);
    // ClamAV scans a stream whose only filter is LZWDecode (or
    // RunLengthDecode) only when the object is also an embedded file, a
    // script, page contents or an action: its `pdf_extract_obj` leaves such
    // streams out (LZW is not in its DUMP_MASK). It decodes LZW where it
    // does scan (checked with the same codes in an embedded file).
    let expected: Vec<&str> = names.iter().copied().filter(|&n| n != "lzw.pdf").collect();
    assert_eq!(theirs, expected);
}

#[test]
fn an_encrypted_pdf_is_reported_and_never_clean() {
    let (code, v) = scan("encrypted.pdf", &[]);
    assert_eq!((code, &v["status"]), (Some(0), &json!("skipped")), "{v}");
    assert_eq!(v["incomplete"], "Encrypted", "{v}");
    let (code, v) = scan("encrypted.pdf", &["--alert-encrypted=yes"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        matches(&v),
        [(
            "Heuristics.Encrypted.PDF".to_owned(),
            json!(["encrypted.pdf", "/Encrypt"])
        )]
    );
    // As clamscan names it (its user password is not empty: clamscan
    // cannot decrypt it either).
    require("clamscan", "--version", "clamav");
    let out = run(Command::new("clamscan")
        .args(["--no-summary", "--alert-encrypted-doc=yes", "-d"])
        .arg(fixtures().join("eicar.ndb"))
        .arg(fixtures().join("encrypted.pdf")));
    assert!(
        stdout(&out).ends_with(": Heuristics.Encrypted.PDF FOUND\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hostile_pdfs_end_within_their_limits() {
    // References in a loop: object streams extending each other, a /Length
    // that is its own object, one that points at a reference back. Each
    // stream still ends at its endstream, and is scanned.
    let (code, v) = scan("cycle.pdf", &[]);
    assert_eq!(code, Some(1), "{v}");
    for member in ["obj 6 0", "obj 7 0"] {
        assert!(
            matches(&v).contains(&("Marker".to_owned(), json!(["cycle.pdf", member]))),
            "{member}: {v}"
        );
    }
    // 1,000 filters: decoded 16 deep, then the file is incomplete.
    let (code, v) = scan("deep.pdf", &[]);
    assert_eq!((code, &v["status"]), (Some(0), &json!("skipped")), "{v}");
    assert_eq!(v["incomplete"], "MaxRecursion", "{v}");
    // 1 GiB of zeros from 1 MiB: cut at the scan size, within memory (past
    // the member memory through a spill file).
    let home = tempfile::tempdir().unwrap();
    let (code, out, peak_kib) = crate::containers::run_sampling_memory(
        ward()
            .arg("--home")
            .arg(home.path())
            .args(["scan", "--json", "--no-summary", "-d"])
            .arg(fixtures().join("marker.ndb"))
            .arg(fixtures().join("bomb.pdf")),
    );
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!((code, &v["status"]), (Some(0), &json!("skipped")), "{v}");
    assert_eq!(v["incomplete"], "MaxScanSize", "{v}");
    assert!(peak_kib < 256 << 10, "peak RssAnon {peak_kib} KiB");
}
