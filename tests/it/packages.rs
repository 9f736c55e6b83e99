//! Packages and the archives inside them, through the binary: cpio in its
//! five formats (written by `cpio`; the old binary format in the other byte
//! order by swapping its headers here), Debian packages written by
//! `dpkg-deb` with each compressor, rpm packages assembled here (a lead, two
//! headers, a compressed newc payload), damaged ones, and ClamAV's own cpio
//! test files. Each fixture is built at run time around the EICAR file, which
//! matches only when it is taken out whole: finding it proves the unpacking.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{eicar, require, run, run_with_stdin, stderr, stdout, ward};

/// The member path of the EICAR file in every fixture.
const EICAR_PATH: &str = "usr/share/x/eicar.com";

/// A tree to pack: a text file, then the EICAR file under `usr/share/x/`.
fn tree(root: &Path) {
    fs::create_dir_all(root.join("usr/share/x")).unwrap();
    fs::write(root.join("a.txt"), "hello\n").unwrap();
    fs::write(root.join(EICAR_PATH), eicar()).unwrap();
}

/// The archive `cpio -o -H FORMAT` writes of `names` under `root`.
fn cpio(root: &Path, format: &str, names: &[&str]) -> Vec<u8> {
    require("cpio", "--version", "cpio");
    let list: String = names.iter().map(|n| format!("{n}\n")).collect();
    let mut cmd = Command::new("cpio");
    cmd.args(["-o", "--quiet", "-H", format]).current_dir(root);
    let o = run_with_stdin(&mut cmd, list.as_bytes());
    assert!(o.status.success(), "cpio -H {format}: {}", stderr(&o));
    o.stdout
}

/// `a.txt` first, then the EICAR file and its directories.
const NAMES: [&str; 5] = ["a.txt", "usr", "usr/share", "usr/share/x", EICAR_PATH];

/// An old binary cpio archive (`cpio -H bin` writes this machine's byte
/// order) in the other byte order: the 13 words of each header swapped.
fn swap_bin(archive: &[u8]) -> Vec<u8> {
    let native = u16::from_ne_bytes([archive[0], archive[1]]) == 0o070707;
    let mut out = archive.to_vec();
    let mut at = 0;
    loop {
        let h = &archive[at..at + 26];
        let word = |i: usize| {
            let w = u16::from_ne_bytes([h[2 * i], h[2 * i + 1]]);
            usize::from(if native { w } else { w.swap_bytes() })
        };
        let (namesize, size) = (word(10), word(11) << 16 | word(12));
        for i in 0..13 {
            out.swap(at + 2 * i, at + 2 * i + 1);
        }
        if &archive[at + 26..at + 26 + namesize] == b"TRAILER!!!\0" {
            return out;
        }
        at += 26 + namesize + namesize % 2;
        at += size + size % 2;
    }
}

/// `ward scan --json ARGS PATH`: the file's report and the exit code; fails
/// the test if ward was killed or wrote to stderr.
fn scan_json(path: &Path, args: &[&str]) -> (Value, i32) {
    let o = run(ward().arg("scan").arg("--json").args(args).arg(path));
    assert_eq!(o.status.signal(), None, "killed: {:?}", o.status);
    assert_eq!(stderr(&o), "", "{}", path.display());
    let report = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "file")
        .unwrap_or_else(|| panic!("no report for {}: {}", path.display(), stdout(&o)));
    (report, o.status.code().unwrap())
}

/// EICAR is found in `path`, in text (exit 1, clamscan's line) and in JSON,
/// where the match carries `chain`: the file's name, then each member's.
fn assert_found(path: &Path, chain: &[&str]) {
    let o = run(ward().arg("scan").arg("--no-summary").arg(path));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}: {}",
        path.display(),
        stderr(&o)
    );
    assert_eq!(
        stdout(&o),
        format!("{}: Eicar-Test-Signature FOUND\n", path.display())
    );
    let (report, code) = scan_json(path, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "infected", "{report}");
    let m = &report["matches"][0];
    assert_eq!(m["signature"], "Eicar-Test-Signature");
    assert_eq!(m["container"], json!(chain), "{}", path.display());
}

/// `path` is reported skipped, not fully unpacked because it is damaged,
/// with exit code 0.
fn assert_broken(path: &Path) {
    let (report, code) = scan_json(path, &[]);
    assert_eq!(report["status"], "skipped", "{}: {report}", path.display());
    assert_eq!(
        report["incomplete"],
        "Broken",
        "{}: {report}",
        path.display()
    );
    assert_eq!(code, 0);
}

#[test]
fn cpio_in_every_format_is_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let bin = cpio(dir.path(), "bin", &NAMES);
    let archives = [
        ("newc", cpio(dir.path(), "newc", &NAMES)),
        ("crc", cpio(dir.path(), "crc", &NAMES)),
        ("odc", cpio(dir.path(), "odc", &NAMES)),
        ("bin", swap_bin(&swap_bin(&bin))),
        ("bin-swapped", swap_bin(&bin)),
    ];
    for (format, archive) in archives {
        let name = format!("x.{format}.cpio");
        let path = dir.path().join(&name);
        fs::write(&path, archive).unwrap();
        assert_found(&path, &[&name, EICAR_PATH]);
    }
}

#[test]
fn clamav_test_cpio_files_are_found_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clam.hdb");
    fs::write(
        &db,
        "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File\n",
    )
    .unwrap();
    for format in ["newc", "odc", "bin-le", "bin-be"] {
        let path = Path::new("/usr/share/clamav-testfiles").join(format!("clam.{format}.cpio"));
        assert!(
            path.exists(),
            "{}: install the Debian package clamav-testfiles",
            path.display()
        );
        let o = run(ward()
            .args(["scan", "--no-summary", "--no-builtin", "-d"])
            .arg(&db)
            .arg(&path));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert_eq!(
            stdout(&o),
            format!("{}: ClamAV-Test-File FOUND\n", path.display())
        );
    }
}

/// A Debian package of the tree, its data compressed with `compression`
/// (dpkg-deb's default when `None`).
fn deb(root: &Path, out: &Path, compression: Option<&str>) {
    let pkg = root.join("pkg");
    fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
    fs::create_dir_all(pkg.join("usr/share/x")).unwrap();
    fs::write(pkg.join(EICAR_PATH), eicar()).unwrap();
    let control = "Package: x\nVersion: 1.0\nArchitecture: all\n\
                   Maintainer: Nobody <nobody@example.org>\nDescription: test\n";
    fs::write(pkg.join("DEBIAN/control"), control).unwrap();
    // dpkg-deb refuses a control directory not 0755 to 0775.
    fs::set_permissions(pkg.join("DEBIAN"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new("dpkg-deb");
    cmd.arg("--root-owner-group");
    if let Some(z) = compression {
        cmd.arg(format!("-Z{z}"));
    }
    let o = run(cmd.arg("--build").arg(&pkg).arg(out));
    assert!(o.status.success(), "dpkg-deb: {}", stderr(&o));
}

#[test]
fn debian_packages_with_each_compressor() {
    require("dpkg-deb", "--version", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let eicar_in_data = format!("./{EICAR_PATH}");
    for (z, data, stream) in [
        (Some("xz"), "data.tar.xz", Some("")),
        (Some("gzip"), "data.tar.gz", Some("")),
        (Some("zstd"), "data.tar.zst", Some("")),
        (Some("none"), "data.tar", None),
    ] {
        let name = format!("x-{}.deb", z.unwrap_or("default"));
        let path = dir.path().join(&name);
        deb(dir.path(), &path, z);
        let chain: Vec<&str> = [
            Some(name.as_str()),
            Some(data),
            stream,
            Some(&eicar_in_data),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_found(&path, &chain);
    }
    // Whatever this dpkg compresses with by default.
    let path = dir.path().join("x.deb");
    deb(dir.path(), &path, None);
    let (report, code) = scan_json(&path, &[]);
    assert_eq!(
        (code, &report["status"]),
        (1, &json!("infected")),
        "{report}"
    );
}

/// An rpm header structure holding `entries` (tag, type, value bytes).
fn rpm_header(entries: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let (mut index, mut store) = (Vec::new(), Vec::new());
    for (tag, kind, value) in entries {
        if *kind == 4 {
            // INT32 values are 4-aligned in the store.
            store.resize(store.len().next_multiple_of(4), 0);
        }
        for v in [*tag, *kind, store.len() as u32, 1] {
            index.extend(v.to_be_bytes());
        }
        store.extend(value);
    }
    let mut out = b"\x8e\xad\xe8\x01\0\0\0\0".to_vec();
    out.extend((entries.len() as u32).to_be_bytes());
    out.extend((store.len() as u32).to_be_bytes());
    out.extend(index);
    out.extend(store);
    out
}

/// A binary rpm package `x-1.0-1` whose payload is `payload`, compressed by
/// `compressor` (the name rpm records).
fn rpm(payload: &[u8], compressor: &str) -> Vec<u8> {
    let string = |s: &str| [s.as_bytes(), b"\0"].concat();
    let main = rpm_header(&[
        (1000, 6, string("x")),        // NAME
        (1001, 6, string("1.0")),      // VERSION
        (1002, 6, string("1")),        // RELEASE
        (1124, 6, string("cpio")),     // PAYLOADFORMAT
        (1125, 6, string(compressor)), // PAYLOADCOMPRESSOR
    ]);
    let size = (main.len() + payload.len()) as u32;
    let signature = rpm_header(&[(1000, 4, size.to_be_bytes().to_vec())]); // SIZE
    let mut out = b"\xed\xab\xee\xdb\x03\x00\x00\x00\x00\x01".to_vec();
    out.extend(b"x-1.0-1");
    out.resize(76, 0);
    out.extend([0, 1, 0, 5]); // Linux, a header-style signature
    out.resize(96, 0);
    out.extend(signature);
    out.resize(out.len().next_multiple_of(8), 0);
    out.extend(main);
    out.extend(payload);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    require("xz", "--version", "xz-utils");
    let o = run_with_stdin(Command::new("xz").arg("-c"), data);
    assert!(o.status.success(), "xz: {}", stderr(&o));
    o.stdout
}

/// An rpm's payload: a newc archive of the tree.
fn rpm_payload(root: &Path) -> Vec<u8> {
    cpio(root, "newc", &NAMES)
}

#[test]
fn rpm_packages_with_gzip_and_xz_payloads() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let payload = rpm_payload(dir.path());
    for (compressor, packed) in [("gzip", gzip(&payload)), ("xz", xz(&payload))] {
        let name = format!("x-1.0-1.{compressor}.rpm");
        let path = dir.path().join(&name);
        fs::write(&path, rpm(&packed, compressor)).unwrap();
        assert_found(&path, &[&name, "x-1.0-1", "", EICAR_PATH]);
    }
}

#[test]
fn damaged_cpio_is_incomplete_unless_found_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let archive = cpio(dir.path(), "newc", &NAMES);
    let at = archive
        .windows(eicar().len())
        .position(|w| w == eicar())
        .unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    };
    // Cut inside the EICAR file, and inside the header before it.
    assert_broken(&write("cut-data.cpio", &archive[..at + 30]));
    assert_broken(&write("cut-header.cpio", &archive[..at - 40]));
    // The EICAR file's size lies: the rest of the archive comes with it.
    let mut lying = archive.clone();
    let header = archive[..at]
        .windows(6)
        .rposition(|w| w == b"070701")
        .unwrap();
    lying[header + 54..header + 62].copy_from_slice(b"7FFFFFFF");
    assert_broken(&write("lying-size.cpio", &lying));
    // Its name's size lies.
    let mut lying = archive.clone();
    lying[header + 94..header + 102].copy_from_slice(b"00FFFFFF");
    assert_broken(&write("lying-name.cpio", &lying));
    // EICAR first, the damage after it: found.
    let first = cpio(dir.path(), "odc", &[EICAR_PATH, "a.txt"]);
    let path = write("eicar-first.cpio", &first[..first.len() - 200]);
    assert_found(&path, &["eicar-first.cpio", EICAR_PATH]);
}

#[test]
fn damaged_rpm_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let payload = gzip(&rpm_payload(dir.path()));
    let package = rpm(&payload, "gzip");
    let main = package.len() - payload.len();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    };
    // Cut in the signature header, in the main header, in the payload.
    assert_broken(&write("cut-signature.rpm", &package[..120]));
    assert_broken(&write("cut-main.rpm", &package[..main - 10]));
    assert_broken(&write(
        "cut-payload.rpm",
        &package[..main + payload.len() / 2],
    ));
    // The main header's index count and data size lie.
    let header = package[..main]
        .windows(4)
        .rposition(|w| w == b"\x8e\xad\xe8\x01")
        .unwrap();
    for (field, value) in [(8, 0xffff_u32), (12, 0x0fff_ffff)] {
        let mut lying = package.clone();
        lying[header + field..header + field + 4].copy_from_slice(&value.to_be_bytes());
        assert_broken(&write(&format!("lying-{field}.rpm"), &lying));
    }
}
