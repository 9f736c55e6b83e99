//! Archives and compressed files through the binary and the library: every
//! format and zip method, nested mixes with their member chain, each limit
//! (a file stopped at one is never clean), each bomb ending within its
//! limits, and the clamav-testfiles matrix.
//!
//! The fixtures are built once per run by `tests/fixtures/containers.py`
//! (Python's standard library, plus GNU tar for a sparse member), with the
//! EICAR bytes handed over in hex. Where a test needs a signature that
//! matches anywhere in a member (EICAR counts only at the start of a short
//! file), it uses a marker signature of its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::util::{python_fixtures, run, run_measured, stderr, stdout, ward};

const MARKER: &str = "WARD-CONTAINER-TEST-MARKER";

/// The fixture directory, built on first use.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| python_fixtures("containers", "containers.py", MARKER))
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// `ward scan --json` (with the marker signature besides the built-in ones)
/// on the named fixtures: the exit code and one JSON object per file.
fn scan_json(names: &[&str], args: &[&str]) -> (i32, Vec<Value>) {
    let m = run_measured(
        ward()
            .args(["scan", "--json", "--no-summary", "-d"])
            .arg(fixture("marker.ndb"))
            .args(args)
            .args(names.iter().map(|n| fixture(n))),
        Duration::from_secs(60),
    );
    let files = m
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "file")
        .collect();
    (m.code().unwrap(), files)
}

/// The file's JSON object, by fixture name.
fn file<'a>(files: &'a [Value], name: &str) -> &'a Value {
    let path = fixture(name);
    files
        .iter()
        .find(|f| f["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("{name} not reported: {files:?}"))
}

/// The signature names found in a file.
fn found(f: &Value) -> Vec<String> {
    f["matches"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["signature"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_four_eicar_downloads_are_found() {
    let names = [
        "eicar.com",
        "eicar.com.txt",
        "eicar_com.zip",
        "eicarcom2.zip",
    ];
    let out = run(ward()
        .args(["scan", "--no-summary"])
        .args(names.iter().map(|n| fixture(n))));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    lines.sort();
    let mut expect: Vec<String> = names
        .iter()
        .map(|n| format!("{}: Eicar-Test-Signature FOUND", fixture(n).display()))
        .collect();
    expect.sort();
    assert_eq!(lines, expect);
}

#[test]
fn every_zip_method_and_layout_is_unpacked() {
    let names = [
        "m-stored.zip",
        "m-deflate.zip",
        "m-bzip2.zip",
        "m-lzma.zip",
        "m-xz.zip",
        "m-zstd.zip",
        "zip64.zip",
        "descriptor.zip",
        "sfx.bin",
        "hidden.zip",
    ];
    let (code, files) = scan_json(&names, &[]);
    assert_eq!(code, 1);
    for n in names {
        assert_eq!(found(file(&files, n)), ["Eicar-Test-Signature"], "{n}");
    }
    let m = &file(&files, "m-zstd.zip")["matches"][0];
    assert_eq!(
        m["container"],
        serde_json::json!(["m-zstd.zip", "x/eicar.com"])
    );
}

#[test]
fn every_stream_format_and_tar_flavour_is_unpacked() {
    let eicars = ["e.bz2", "e.xz", "e.lzma", "ustar.tar", "gnu.tar", "pax.tar"];
    let nested = ["t.tar.gz", "t.tar.bz2", "t.tar.xz"];
    // Split across two gzip members or two zstd frames; past a 1 MiB hole.
    let markers = ["e.gz", "e.zst", "sparse.tar"];
    let all: Vec<&str> = eicars
        .iter()
        .chain(&nested)
        .chain(&markers)
        .copied()
        .collect();
    let (code, files) = scan_json(&all, &[]);
    assert_eq!(code, 1);
    for n in eicars.iter().chain(&nested) {
        assert_eq!(found(file(&files, n)), ["Eicar-Test-Signature"], "{n}");
    }
    for n in markers {
        assert_eq!(found(file(&files, n)), ["Marker"], "{n}");
    }
    let chain = &file(&files, "pax.tar")["matches"][0]["container"];
    let long = format!("päx/{}/eicar.com", "p".repeat(150));
    assert_eq!(chain, &serde_json::json!(["pax.tar", long]));
}

#[test]
fn a_nested_mix_reports_its_whole_chain() {
    let (code, files) = scan_json(&["nested.zip", "nonutf8.zip", "eicarcom2.zip"], &[]);
    assert_eq!(code, 1);
    let m = &file(&files, "nested.zip")["matches"][0];
    assert_eq!(
        m["container"],
        serde_json::json!(["nested.zip", "t.tar.gz", "t.tar", "inner.zip", "eicar.com"])
    );
    let m = &file(&files, "eicarcom2.zip")["matches"][0];
    assert_eq!(
        m["container"],
        serde_json::json!(["eicarcom2.zip", "eicar_com.zip", "eicar.com"])
    );
    // A name that is not UTF-8 is given exactly, in base64.
    let m = &file(&files, "nonutf8.zip")["matches"][0];
    let b64 = m["container_base64"][1].as_str().unwrap();
    assert_eq!(b64, "//4uY29t", "{m}");
}

/// The status and `incomplete` of one fixture scanned with `args`.
fn incomplete(name: &str, args: &[&str]) -> (i32, Value) {
    let (code, files) = scan_json(&[name], args);
    (code, file(&files, name).clone())
}

#[test]
fn a_file_stopped_at_a_limit_is_never_clean() {
    let cases: [(&str, &[&str], &str); 6] = [
        ("many.zip", &["--max-files", "5"], "MaxFiles"),
        ("deep.zip", &["--max-recursion", "3"], "MaxRecursion"),
        // One thread: side by side, the next member would be under way.
        (
            "big-member.zip",
            &["--max-scansize", "1M", "-j", "1"],
            "MaxScanSize",
        ),
        ("encrypted.zip", &[], "Encrypted"),
        ("truncated-clean.gz", &[], "Broken"),
        ("zeros.gz", &["--max-scansize", "50M"], "MaxScanSize"),
    ];
    for (name, args, limit) in cases {
        let (code, f) = incomplete(name, args);
        assert_eq!(code, 0, "{name}: a skip does not change the exit status");
        assert_eq!(f["status"], "skipped", "{name}: {f}");
        assert_eq!(f["incomplete"], limit, "{name}: {f}");
    }
    // One clock for every layer: unpacking counts against --max-scantime.
    let (code, f) = incomplete("zeros.gz", &["--max-scantime", "1ms"]);
    assert_eq!((code, f["status"].as_str()), (0, Some("skipped")), "{f}");
    assert!(
        f["reason"].as_str().unwrap().contains("max-scantime"),
        "{f}"
    );
    // Within the limits, the same files are whole.
    let (_, f) = incomplete("many.zip", &[]);
    assert_eq!(f["status"], "clean", "{f}");
    let (_, f) = incomplete("deep.zip", &[]);
    assert_eq!(found(&f), ["Eicar-Test-Signature"]);
    // A member cut off at --max-filesize: the members after it are scanned.
    let (code, f) = incomplete("big-member.zip", &["--max-filesize", "1M"]);
    assert_eq!(
        (code, found(&f)),
        (1, vec!["Eicar-Test-Signature".to_owned()])
    );
    // As detections, named as ClamAV names them.
    let (code, f) = incomplete("many.zip", &["--max-files", "5", "--alert-exceeds-max"]);
    assert_eq!(
        (code, found(&f)),
        (1, vec!["Heuristics.Limits.Exceeded.MaxFiles".to_owned()])
    );
    let (code, f) = incomplete("encrypted.zip", &["--alert-encrypted=yes"]);
    assert_eq!(
        (code, found(&f)),
        (1, vec!["Heuristics.Encrypted.Zip".to_owned()])
    );
    assert_eq!(
        f["matches"][0]["container"],
        serde_json::json!(["encrypted.zip", "secret.txt"])
    );
    // Unpacking off: the zip's own bytes are all there is.
    let (code, f) = incomplete("eicar_com.zip", &["--scan-archive=no"]);
    assert_eq!((code, f["status"].as_str()), (0, Some("clean")));
}

#[test]
fn a_member_past_the_memory_cap_is_scanned_whole_through_a_spill_file() {
    // 200 MiB of zeros and then the marker, in a tar.gz: past the 128 MiB a
    // scan holds in memory, the member goes on in a nameless file in ward's
    // state directory, and is scanned to its end.
    let home = tempfile::tempdir().unwrap();
    let (code, out, peak_kib) = run_sampling_memory(
        ward()
            .arg("--home")
            .arg(home.path())
            .args(["scan", "--json", "--no-summary", "-d"])
            .arg(fixture("marker.ndb"))
            .arg(fixture("big.tar.gz")),
    );
    assert_eq!(code, Some(1), "{out}");
    let f: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(found(&f), ["Marker"], "{f}");
    // Found in the decompressed tar (the gzip stream has no stored name),
    // whose bytes hold the member's: the first match ends the scan.
    assert_eq!(
        f["matches"][0]["container"],
        serde_json::json!(["big.tar.gz", ""])
    );
    assert!(peak_kib < 256 << 10, "peak RssAnon {peak_kib} KiB");
    // The spill file never had a name: nothing is left behind.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

/// Run `cmd` to its end, reading its standard output, and sample its
/// anonymous resident memory (`RssAnon`: the heap, not the page cache of
/// files it maps) every few milliseconds: its exit code, output and peak KiB.
pub(crate) fn run_sampling_memory(cmd: &mut std::process::Command) -> (Option<i32>, String, u64) {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = crate::util::Drain::new(child.stdout.take().unwrap());
    let status_file = format!("/proc/{}/status", child.id());
    let start = std::time::Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still running after 60 s"
        );
        let anon = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("RssAnon:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        peak = peak.max(anon);
        std::thread::sleep(Duration::from_millis(2));
    };
    let text = out.finish(Duration::from_secs(10), "ward's output");
    (
        status.code(),
        String::from_utf8_lossy(&text).into_owned(),
        peak,
    )
}

#[test]
fn bombs_end_within_their_limits() {
    let names = [
        "zeros.gz",
        "42.zip",
        "overlap.zip",
        "entries100k.zip",
        "truncated.gz",
        "lying.zip",
    ];
    let spill = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let (code, out, peak_kib) = run_sampling_memory(
            ward()
                .args(["--home"])
                .arg(spill.path())
                .args(["scan", "--json", "--no-summary", "-j", threads, "-d"])
                .arg(fixture("marker.ndb"))
                .args(names.iter().map(|n| fixture(n))),
        );
        assert_eq!(code, Some(1), "{out}");
        let files: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let status = |n: &str| {
            let f = file(&files, n);
            (f["incomplete"].clone(), found(f))
        };
        // 2 GiB of zeros: 400 MiB taken out (past 128 MiB through a spill
        // file), then the scan size is reached.
        assert_eq!(status("zeros.gz").0, "MaxScanSize");
        assert_eq!(status("42.zip").0, "MaxScanSize");
        assert_eq!(status("entries100k.zip").0, "MaxFiles");
        assert_eq!(status("overlap.zip").1, ["Heuristics.Zip.OverlappingFiles"]);
        // What came out before the damage is scanned: a match there wins.
        assert_eq!(status("truncated.gz").1, ["Marker"]);
        assert_eq!(status("lying.zip").1, ["Marker"]);
        // The heap stays bounded whatever the members claim or expand to.
        assert!(
            peak_kib < 256 << 10,
            "-j {threads}: peak RssAnon {peak_kib} KiB"
        );
        eprintln!("bombs, -j {threads}: peak RssAnon {peak_kib} KiB");
    }
}

#[test]
fn an_imploded_member_is_found_and_a_damaged_one_is_not_called_clean() {
    let f = Path::new("/usr/share/clamav-testfiles/clam.impl.zip");
    assert!(
        f.exists(),
        "clamav-testfiles is missing: scripts/test.sh installs it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("clam.hdb");
    std::fs::write(
        &db,
        "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File\n",
    )
    .unwrap();
    let scan = |path: &Path| {
        let out = run(ward()
            .args(["scan", "--json", "--no-summary", "--no-builtin", "-d"])
            .arg(&db)
            .arg(path));
        let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = scan(f);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["matches"][0]["container"],
        serde_json::json!(["clam.impl.zip", "CLAM.EXE"])
    );

    // The same archive with its compressed bytes changed: the CRC no longer
    // holds, so the member is incomplete, never clean.
    let mut bytes = std::fs::read(f).unwrap();
    let name_len = usize::from(u16::from_le_bytes([bytes[26], bytes[27]]));
    let extra_len = usize::from(u16::from_le_bytes([bytes[28], bytes[29]]));
    let data = 30 + name_len + extra_len;
    for b in &mut bytes[data + 40..data + 60] {
        *b ^= 0x5a;
    }
    let damaged = tmp.path().join("damaged.zip");
    std::fs::write(&damaged, &bytes).unwrap();
    let (_, v) = scan(&damaged);
    assert_eq!(v["status"], "skipped", "{v}");
    assert_eq!(v["incomplete"], "Broken", "{v}");
}

#[test]
fn clamav_testfiles_of_the_formats_ward_unpacks_are_found() {
    // ClamAV finds clam.exe (by its MD5) in all 44 files; ward in those of the
    // formats it unpacks.
    let dir = Path::new("/usr/share/clamav-testfiles");
    assert!(dir.join("clam.exe").exists(), "clamav-testfiles is missing");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("clam.hdb");
    std::fs::write(
        &db,
        "aa15bcf478d165efd2065190eb473bcb:544:ClamAV-Test-File\n",
    )
    .unwrap();
    let out = run(ward()
        .args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&db)
        .arg(dir));
    let text = stdout(&out);
    let hit: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(": ClamAV-Test-File FOUND"))
        .filter_map(|l| Path::new(l.split(": ").next()?).file_name()?.to_str())
        .collect();
    let total = std::fs::read_dir(dir).unwrap().count();
    eprintln!(
        "clamav-testfiles: clam.exe found in {} of {total} files",
        hit.len()
    );
    for name in [
        "clam.exe",
        "clam.zip",
        "clam.bz2.zip",
        "clam.d64.zip",
        "clam.impl.zip",
        "clam.exe.bz2",
        "clam.7z",
        "clam.cab",
        "clam.bin-be.cpio",
        "clam.bin-le.cpio",
        "clam.newc.cpio",
        "clam.odc.cpio",
        "clam.mail",
        "clam.exe.mbox.base64",
        "clam.exe.mbox.uu",
        "clam.tnef",
        "clam.exe.binhex",
        "clam.exe.szdd",
        "clam.ole.doc",
        "clam.ppt",
        "clam.exe.rtf",
        "clam.pdf",
        "clam.tar.gz",
        "clam_cache_emax.tgz",
    ] {
        assert!(hit.contains(&name), "{name} not found:\n{text}");
    }
}

#[test]
fn the_library_scans_into_containers() {
    let set = ward::SignatureSet::builtin();
    let mut sc = ward::Scanner::new(&set);
    let zip = std::fs::read(fixture("eicarcom2.zip")).unwrap();
    let found = sc.scan_bytes(&zip);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].container,
        vec![b"eicar_com.zip".to_vec(), b"eicar.com".to_vec()]
    );
    let mut limits = ward::Limits::new();
    limits.scan_archive(false);
    sc.limits(limits);
    assert!(sc.scan_bytes(&zip).is_empty());
}

/// Every member `unpack` hands out of `data`, recursing like the scanner
/// does, with each member checked against the caps. Returns how many there
/// were.
fn unpack_all(data: &[u8], caps: &ward::unpack::Caps, depth: u32) -> usize {
    use std::ops::ControlFlow;
    let Some(kind) = ward::unpack::detect(data) else {
        return 0;
    };
    if depth > 4 {
        return 0;
    }
    let mut scratch = ward::unpack::Scratch::default();
    let mut n = 0;
    ward::unpack::unpack(kind, data, caps, &mut scratch, &mut |found| {
        if let ward::unpack::Found::Member { data, .. } = found {
            assert!(
                data.len() as u64 <= caps.member,
                "{kind:?}: member over the cap"
            );
            n += 1 + unpack_all(data, caps, depth + 1);
        }
        ControlFlow::Continue(())
    });
    n
}

#[test]
fn damaged_containers_never_panic_nor_pass_their_caps() {
    // Mutations of every small fixture: bytes flipped, runs overwritten,
    // cut short, spliced; each unpacked (recursively) under small caps.
    let caps = ward::unpack::Caps {
        member: 1 << 20,
        memory: 64 << 10,
        ratio: 100,
        deadline: Some(std::time::Instant::now() + Duration::from_secs(120)),
    };
    let mut rng = crate::util::Rng::new(0x5eed_c0de);
    let mut originals = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if data.len() <= 64 << 10 && ward::unpack::detect(&data).is_some() {
            originals.push(data);
        }
    }
    assert!(originals.len() >= 20, "{} fixtures", originals.len());
    let mut members = 0;
    for round in 0..4000 {
        let mut d = originals[round % originals.len()].clone();
        for _ in 0..rng.urange(1, 4) {
            let at = rng.urange(0, d.len().saturating_sub(1));
            match rng.below(4) {
                0 => d[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + rng.urange(1, 16)).min(d.len());
                    for b in &mut d[at..end] {
                        *b = [0, 0xff, rng.byte()][rng.urange(0, 2)];
                    }
                }
                2 => d.truncate(at.max(1)),
                _ => {
                    let from = rng.urange(0, d.len() - 1);
                    let piece = d[from..(from + rng.urange(1, 64)).min(d.len())].to_vec();
                    d.splice(at..at, piece);
                }
            }
        }
        members += unpack_all(&d, &caps, 0);
    }
    assert!(
        members > 1000,
        "only {members} members came out: the mutations broke everything"
    );
}
