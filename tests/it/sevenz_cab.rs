//! 7z and cabinet archives through the `ward` binary: archives made at run
//! time by Debian's `7zz` (package 7zip) and `gcab`, hand-made 7z archives
//! whose headers lie (built here, with `xz` for raw LZMA), and ClamAV's own
//! test files (package clamav-testfiles).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::{eicar, require, run, run_measured, run_with_stdin, stderr, stdout, unhex};

/// The 7-Zip program: `7zz` (bookworm's 7zip package), else `7z`.
fn seven_zip() -> &'static str {
    let has = |p: &str| {
        Command::new(p)
            .arg("i")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has("7zz") {
        "7zz"
    } else {
        require("7z", "i", "7zip");
        "7z"
    }
}

/// A directory with `eicar.com`, a text and a block of noise.
fn sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("eicar.com"), eicar()).unwrap();
    std::fs::write(dir.path().join("a.txt"), b"plain text\n".repeat(50)).unwrap();
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("noise.bin"), noise).unwrap();
    dir
}

/// Run `tool ARGS` in `dir`; it must succeed.
fn make(dir: &Path, tool: &str, args: &[&str]) {
    let o = run(Command::new(tool).current_dir(dir).args(args));
    assert!(o.status.success(), "{tool} {args:?}: {}", stderr(&o));
}

/// `ward scan --json --no-summary EXTRA… PATH`: exit code and the JSON line.
fn scan_json(path: &Path, extra: &[&str]) -> (i32, Value) {
    let o = run(crate::util::ward()
        .args(["scan", "--json", "--no-summary"])
        .args(extra)
        .arg(path));
    let line = stdout(&o);
    let v: Value = serde_json::from_str(line.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{}: {e}: {line:?} {}", path.display(), stderr(&o)));
    (o.status.code().expect("exited"), v)
}

/// The `container` chain of each match of a report.
fn chains(v: &Value) -> Vec<Vec<String>> {
    v["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no matches: {v}"))
        .iter()
        .map(|m| {
            m["container"]
                .as_array()
                .unwrap_or_else(|| panic!("no container: {m}"))
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn assert_found_in(path: &Path, chain: &[&str]) {
    let (code, v) = scan_json(path, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(chains(&v), [chain], "{v}");
}

#[test]
fn eicar_in_a_7z_of_each_method_is_found_with_its_chain() {
    let dir = sample();
    let tool = seven_zip();
    for (method, filter) in [
        ("LZMA", None),
        ("LZMA2", None),
        ("BZip2", None),
        ("Deflate", None),
        ("Copy", None),
        ("LZMA2", Some("BCJ")),
        ("LZMA", Some("BCJ2")),
    ] {
        let name = format!("{method}-{}.7z", filter.unwrap_or("none"));
        let mut args = vec!["a", "-bd", &name];
        let m = format!("-m0={method}");
        args.push(&m);
        let f = filter.map(|f| format!("-mf={f}"));
        if let Some(f) = &f {
            args.push(f);
        }
        args.extend(["eicar.com", "a.txt"]);
        make(dir.path(), tool, &args);
        assert_found_in(&dir.path().join(&name), &[&name, "eicar.com"]);
    }
}

#[test]
fn a_solid_7z_gives_its_members_in_order() {
    let dir = sample();
    let d = dir.path();
    std::fs::copy(d.join("eicar.com"), d.join("second.com")).unwrap();
    make(
        d,
        seven_zip(),
        &[
            "a",
            "-bd",
            "-ms=on",
            "-mqs=off",
            "s.7z",
            "a.txt",
            "eicar.com",
            "noise.bin",
            "second.com",
        ],
    );
    let (code, v) = scan_json(&d.join("s.7z"), &["--all-matches"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        chains(&v),
        [["s.7z", "eicar.com"], ["s.7z", "second.com"]],
        "{v}"
    );
}

#[test]
fn encrypted_7z_content_or_headers_are_incomplete_or_an_alert() {
    let dir = sample();
    let tool = seven_zip();
    make(
        dir.path(),
        tool,
        &["a", "-bd", "-pS3cret", "content.7z", "eicar.com"],
    );
    make(
        dir.path(),
        tool,
        &["a", "-bd", "-pS3cret", "-mhe=on", "headers.7z", "eicar.com"],
    );
    for name in ["content.7z", "headers.7z"] {
        let path = dir.path().join(name);
        let (code, v) = scan_json(&path, &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["status"], "skipped", "{v}");
        assert_eq!(v["incomplete"], "Encrypted", "{v}");

        let o = run(crate::util::ward()
            .args(["scan", "--no-summary", "--alert-encrypted"])
            .arg(&path));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("Heuristics.Encrypted.7Zip FOUND"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn cabinets_stored_and_mszip_are_found_with_their_chain() {
    require("gcab", "--version", "gcab");
    let dir = sample();
    make(
        dir.path(),
        "gcab",
        &["-c", "stored.cab", "a.txt", "noise.bin", "eicar.com"],
    );
    make(
        dir.path(),
        "gcab",
        &["-c", "-z", "mszip.cab", "a.txt", "noise.bin", "eicar.com"],
    );
    for name in ["stored.cab", "mszip.cab"] {
        assert_found_in(&dir.path().join(name), &[name, "eicar.com"]);
    }
}

/// Each cut of `whole` (from byte 40 on) is found or skipped as incomplete:
/// never clean, never an error or a crash.
fn every_cut_is_found_or_incomplete(dir: &Path, whole: &[u8], name: &str) {
    let path = dir.join(name);
    let step = (whole.len() / 23).max(1);
    for len in (40..whole.len()).step_by(step) {
        std::fs::write(&path, &whole[..len]).unwrap();
        let (code, v) = scan_json(&path, &[]);
        match code {
            1 => assert_eq!(v["status"], "infected", "{len}: {v}"),
            0 => {
                assert_eq!(v["status"], "skipped", "{len}: {v}");
                assert!(v["incomplete"].is_string(), "{len}: {v}");
            }
            _ => panic!("cut at {len} of {name}: exit {code}: {v}"),
        }
    }
}

#[test]
fn truncated_7z_and_cab_are_found_or_incomplete() {
    require("gcab", "--version", "gcab");
    let dir = sample();
    let d = dir.path();
    make(
        d,
        seven_zip(),
        &["a", "-bd", "x.7z", "a.txt", "noise.bin", "eicar.com"],
    );
    make(
        d,
        "gcab",
        &["-c", "-z", "x.cab", "a.txt", "eicar.com", "noise.bin"],
    );
    let sz = std::fs::read(d.join("x.7z")).unwrap();
    let cab = std::fs::read(d.join("x.cab")).unwrap();
    every_cut_is_found_or_incomplete(d, &sz, "cut.7z");
    every_cut_is_found_or_incomplete(d, &cab, "cut.cab");
}

#[test]
fn clamav_test_files_clam_7z_and_clam_cab_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clam.hdb");
    std::fs::write(
        &db,
        "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File\n",
    )
    .unwrap();
    for name in ["clam.7z", "clam.cab"] {
        let path = PathBuf::from("/usr/share/clamav-testfiles").join(name);
        assert!(
            path.exists(),
            "{}: install the Debian package clamav-testfiles",
            path.display()
        );
        let db = db.to_str().unwrap();
        let (code, v) = scan_json(&path, &["--no-builtin", "-d", db]);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["matches"][0]["signature"], "ClamAV-Test-File", "{v}");
        assert_eq!(chains(&v), [[name, "clam.exe"]], "{v}");
    }
}

// ---------------------------------------------------------------------------
// Hand-made 7z archives whose headers lie

/// A 7z number: the count of leading one bits of the first byte is the
/// count of bytes that follow (little-endian); its other bits are the top.
fn vint(n: u64) -> Vec<u8> {
    for extra in 0..8u32 {
        if n < 1 << (7 * (extra + 1)) {
            let top = (n >> (8 * extra)) as u8;
            let mut out = vec![!(0xffu8 >> extra) | top];
            out.extend_from_slice(&n.to_le_bytes()[..extra as usize]);
            return out;
        }
    }
    let mut out = vec![0xff];
    out.extend_from_slice(&n.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Signature header, packed streams, then `header`.
fn seven_z(packed: &[u8], header: &[u8]) -> Vec<u8> {
    let mut start = Vec::new();
    start.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    start.extend_from_slice(&(header.len() as u64).to_le_bytes());
    start.extend_from_slice(&crc32(header).to_le_bytes());
    let mut out = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    out.extend_from_slice(&crc32(&start).to_le_bytes());
    out.extend_from_slice(&start);
    out.extend_from_slice(packed);
    out.extend_from_slice(header);
    out
}

/// Streams info for one packed stream decoded by `coder` (its flag byte,
/// method id and properties) to `size` bytes.
fn streams(packed: usize, coder: &[u8], size: u64) -> Vec<u8> {
    let mut h = vec![0x06, 0x00, 0x01, 0x09];
    h.extend(vint(packed as u64));
    h.extend([0x00, 0x07, 0x0b, 0x01, 0x00, 0x01]);
    h.extend_from_slice(coder);
    h.push(0x0c);
    h.extend(vint(size));
    h.push(0x00);
    h
}

/// A header for one member, `name`, of `size` bytes.
fn one_member(packed: usize, coder: &[u8], size: u64, name: &str) -> Vec<u8> {
    let mut h = vec![0x01, 0x04];
    h.extend(streams(packed, coder, size));
    h.extend([0x08, 0x00, 0x00, 0x05, 0x01, 0x11]);
    let utf16: Vec<u8> = name
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    h.extend(vint(utf16.len() as u64 + 1));
    h.push(0x00);
    h.extend(utf16);
    h.extend([0x00, 0x00]);
    h
}

const COPY: &[u8] = &[0x01, 0x00];

/// An LZMA coder (lc 3, lp 0, pb 2) with a dictionary of `dict` bytes.
fn lzma_coder(dict: u32) -> Vec<u8> {
    let mut c = vec![0x23, 0x03, 0x01, 0x01, 0x05, 0x5d];
    c.extend_from_slice(&dict.to_le_bytes());
    c
}

/// `data` as a raw LZMA stream (with an end marker), by `xz`.
fn raw_lzma(data: &[u8]) -> Vec<u8> {
    require("xz", "--version", "xz-utils");
    let o = run_with_stdin(
        Command::new("xz").args(["--format=raw", "--lzma1=dict=1MiB,lc=3,lp=0,pb=2", "-c"]),
        data,
    );
    assert!(o.status.success(), "xz: {}", stderr(&o));
    o.stdout
}

fn measured_scan(path: &Path) -> crate::util::Measured {
    run_measured(
        crate::util::ward()
            .args(["scan", "--json", "--no-summary"])
            .arg(path),
        Duration::from_secs(30),
    )
}

#[test]
fn a_7z_claiming_a_huge_size_finishes_quickly_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let e = eicar();
    let huge = 1u64 << 62;
    let lzma = raw_lzma(&e);
    let cases = [
        (
            "copy.7z",
            seven_z(&e, &one_member(e.len(), COPY, huge, "eicar.com")),
        ),
        (
            // A dictionary of 128 MiB grows only with what is decoded.
            "lzma.7z",
            seven_z(
                &lzma,
                &one_member(lzma.len(), &lzma_coder(128 << 20), huge, "eicar.com"),
            ),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let m = measured_scan(&path);
        assert_eq!(m.code(), Some(1), "{name}: {} {}", m.stdout(), m.stderr());
        let v: Value = serde_json::from_str(m.stdout().lines().next().unwrap()).unwrap();
        assert_eq!(chains(&v), [[name, "eicar.com"]], "{v}");
        assert!(m.wall < Duration::from_secs(10), "{name}: {:?}", m.wall);
        assert!(m.max_rss_kib < 300 << 10, "{name}: {} KiB", m.max_rss_kib);
    }
}

#[test]
fn a_7z_header_listing_millions_of_entries_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Two million entries need only that many header bytes (the count is
    // checked against the header's length), ~100 bytes each once parsed.
    let count = (2u64 << 20) - 64;
    let mut plain = vec![0x01, 0x05];
    plain.extend(vint(count));
    plain.resize(plain.len() + count as usize + 1, 0);
    // The same header, LZMA-compressed: a few hundred bytes of archive.
    let packed = raw_lzma(&plain);
    let mut encoded = vec![0x17];
    encoded.extend(streams(
        packed.len(),
        &lzma_coder(1 << 20),
        plain.len() as u64,
    ));
    encoded.push(0x00);
    let cases = [
        ("plain.7z", seven_z(&[], &plain), 300 << 10),
        ("encoded.7z", seven_z(&packed, &encoded), 64 << 10),
    ];
    for (name, bytes, rss_kib) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let m = measured_scan(&path);
        assert_eq!(m.code(), Some(0), "{name}: {} {}", m.stdout(), m.stderr());
        let v: Value = serde_json::from_str(m.stdout().lines().next().unwrap()).unwrap();
        assert_eq!(v["incomplete"], "Broken", "{name}: {v}");
        assert!(m.wall < Duration::from_secs(10), "{name}: {:?}", m.wall);
        assert!(m.max_rss_kib < rss_kib, "{name}: {} KiB", m.max_rss_kib);
    }
}

#[test]
fn seven_z_numbers_are_encoded_as_the_format_says() {
    assert_eq!(vint(0x7f), [0x7f]);
    assert_eq!(vint(0x80), [0x80, 0x80]);
    assert_eq!(vint(0x3fff), [0xbf, 0xff]);
    assert_eq!(vint(0x4000), unhex("c00040"));
    assert_eq!(vint(u64::MAX)[0], 0xff);
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}
