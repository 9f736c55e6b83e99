//! Hostile input through the binary: files that change under the scanner,
//! special files, sparse files, slow files, trees that change or are deep or
//! wide or unreadable, hostile file names and hostile signature sets.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::util::{
    Measured, NO_CLAMAV_DB, eicar, eicar_hex, hex, os, run, run_measured, stderr, ward,
};

/// A file above the mmap threshold is truncated and regrown in a loop while
/// `ward scan` maps it: the scanner must never die by SIGBUS, and every run ends
/// with a verdict.
#[test]
fn truncated_while_scanned_never_kills_the_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.bin");
    let size = (ward::scan::input::MMAP_THRESHOLD * 4) as usize;
    let mut content = vec![0x5au8; size];
    content[size - 100..size - 100 + 68].copy_from_slice(&eicar());
    fs::write(&path, &content).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut rounds = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Opening for writing breaks any read lease: this blocks while a
                // scanner holds one, which is exactly the protection under test.
                let mut f = OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len(0).unwrap();
                f.set_len(4096).unwrap();
                f.seek(SeekFrom::Start(0)).unwrap();
                f.write_all(&content[..size / 2]).unwrap();
                f.set_len(size as u64).unwrap();
                drop(f);
                rounds += 1;
                // Leave the file closed for a moment so that scanners can take a
                // lease and map it.
                std::thread::sleep(Duration::from_millis(15));
            }
            rounds
        })
    };
    let start = Instant::now();
    let mut scans = 0;
    while start.elapsed() < Duration::from_secs(4) {
        let o = run(ward().arg("scan").arg("--no-summary").arg(&path));
        assert_eq!(o.status.signal(), None, "ward was killed: {:?}", o.status);
        assert!(matches!(o.status.code(), Some(0..=2)), "{:?}", o.status);
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = churn.join().unwrap();
    assert!(
        scans > 5 && rounds > 5,
        "both sides ran: {scans} scans, {rounds} truncations"
    );
}

// ---------------------------------------------------------------------------
// Helpers

fn scan_within(args: &[&OsStr], limit: Duration) -> Measured {
    run_measured(ward().arg("scan").args(args), limit)
}

/// A line of `out` for `path`.
fn line_for(out: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    out.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {}: {out}", path.display()))
        .to_owned()
}

// ---------------------------------------------------------------------------
// Special files

/// FIFOs, sockets, devices, links to devices and link loops: skipped or
/// reported, never opened in a way that blocks, in a tree and on the command line.
#[test]
fn special_files_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        run(Command::new("mkfifo").arg(d.join("fifo")))
            .status
            .success()
    );
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    // A clone of /dev/null (needs CAP_MKNOD, which the test suite runs with).
    let o = run(Command::new("mknod")
        .arg(d.join("null"))
        .args(["c", "1", "3"]));
    assert!(o.status.success(), "{}", stderr(&o));
    symlink("/dev/zero", d.join("zero-link")).unwrap();
    symlink("loop-b", d.join("loop-a")).unwrap();
    symlink("loop-a", d.join("loop-b")).unwrap();
    symlink(".", d.join("dir-loop")).unwrap();
    symlink("nowhere", d.join("dangling")).unwrap();
    fs::write(d.join("e.com"), eicar()).unwrap();
    let limit = Duration::from_secs(20);
    for follow in [false, true] {
        let mut args = vec![d.as_os_str(), os("--no-summary")];
        if follow {
            args.push(os("--follow-symlinks"));
        }
        let m = scan_within(&args, limit);
        let out = m.stdout();
        assert_eq!(m.code(), Some(1), "the EICAR file is found: {out}");
        for (name, what) in [
            ("fifo", "(FIFO) SKIPPED"),
            ("sock", "(socket) SKIPPED"),
            ("null", "(character device) SKIPPED"),
        ] {
            assert!(line_for(&out, &d.join(name)).ends_with(what), "{out}");
        }
        if !follow {
            for name in ["zero-link", "loop-a", "dir-loop", "dangling"] {
                let l = line_for(&out, &d.join(name));
                assert!(l.ends_with("(symbolic link) SKIPPED"), "{l}");
            }
        }
    }
    // Each named on the command line.
    for (target, code, what) in [
        (d.join("fifo"), 0, "(FIFO) SKIPPED"),
        (d.join("sock"), 0, "(socket) SKIPPED"),
        (d.join("null"), 0, "(character device) SKIPPED"),
        (PathBuf::from("/dev/null"), 0, "(character device) SKIPPED"),
        (PathBuf::from("/dev/zero"), 0, "(character device) SKIPPED"),
        (d.join("zero-link"), 0, "(character device) SKIPPED"),
        (
            d.join("loop-a"),
            2,
            "Too many levels of symbolic links ERROR",
        ),
        (d.join("dangling"), 2, "No such file or directory ERROR"),
    ] {
        let m = scan_within(&[target.as_os_str(), os("--no-summary")], limit);
        let out = m.stdout();
        assert_eq!(m.code(), Some(code), "{}: {out}", target.display());
        assert!(
            out.trim_end().ends_with(what),
            "{}: {out}",
            target.display()
        );
    }
}

/// Files in /proc report size 0: they are read to their end (bounded), so a
/// signature past the first MiB of one is still found.
#[test]
fn procfs_files_are_read_whole_and_proc_self_is_walked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("marker.ndb");
    let marker = b"ward-procfs-marker-5f1c";
    fs::write(&db, format!("Procfs.Marker:0:*:{}\n", hex(marker))).unwrap();
    // ward's own environment, seen through /proc/self/environ, is over 1 MiB
    // with the marker at its end.
    let mut cmd = ward();
    for i in 0..10 {
        cmd.env(format!("WARD_PAD_{i}"), "p".repeat(120 << 10));
    }
    cmd.env("WARD_Z_MARKER", String::from_utf8(marker.to_vec()).unwrap());
    cmd.args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&db)
        .arg("/proc/self/environ");
    let m = run_measured(&mut cmd, Duration::from_secs(20));
    assert_eq!(m.code(), Some(1), "{}{}", m.stdout(), m.stderr());
    assert!(m.stdout().contains("environ: Procfs.Marker FOUND"));

    let m = scan_within(
        &[os("--json"), os("--no-summary"), os("/proc/self/status")],
        Duration::from_secs(20),
    );
    assert_eq!(m.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(m.stdout().trim()).unwrap();
    assert_eq!(v["status"], "clean");
    assert!(v["scanned_bytes"].as_u64().unwrap() > 100, "{v}");

    // The whole of /proc/self as a tree: a mix of OK, SKIPPED and ERROR lines
    // (pagemap, mem, vanishing task files), but it ends, without a signal.
    let m = scan_within(&[os("/proc/self")], Duration::from_secs(60));
    assert!(matches!(m.code(), Some(0 | 2)), "{}", m.stdout());
    assert!(
        m.stdout().contains("/proc/self/status: OK"),
        "{}",
        m.stdout()
    );
    assert!(m.stdout().contains("SCAN SUMMARY"));
}

// ---------------------------------------------------------------------------
// Sparse files

/// A sparse file of `size` bytes with `parts` written at their offsets.
fn sparse_file(path: &Path, size: u64, parts: &[(u64, &[u8])]) {
    let mut f = fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
    for (at, bytes) in parts {
        f.seek(SeekFrom::Start(*at)).unwrap();
        f.write_all(bytes).unwrap();
    }
}

/// 1 TiB sparse files with the test signature at the start, at the end, on
/// both sides of the hole and nowhere: each verdict is what scanning the
/// zeros would give, within seconds and with bounded memory.
#[test]
fn sparse_terabyte_files_are_scanned_exactly_and_fast() {
    const TIB: u64 = 1 << 40;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = eicar();
    let end_at = TIB - 100;
    sparse_file(&d.join("start.bin"), TIB, &[(0, &e)]);
    sparse_file(&d.join("end.bin"), TIB, &[(end_at, &e)]);
    sparse_file(
        &d.join("both-sides.bin"),
        TIB,
        &[(0, b"ABCD"), (end_at, b"EFGH")],
    );
    sparse_file(&d.join("clean.bin"), TIB, &[(TIB / 2, b"hello")]);
    let db = d.join("sparse.ndb");
    let hex = eicar_hex();
    fs::write(
        &db,
        format!(
            "Eicar.Body:0:*:{hex}\n\
             Eicar.At0:0:0:{hex}\n\
             Eicar.AtEnd:0:EOF-100:{hex}\n\
             Across.Hole:0:*:41424344{{2000000-}}45464748\n\
             Bounded.Gap.Cannot.Span:0:*:41424344{{0-1000000}}45464748\n"
        ),
    )
    .unwrap();
    let zeros_db = d.join("zeros.ndb");
    // Matches any run of 5,000 zero bytes: every hole.
    fs::write(&zeros_db, "Zeros.5000:0:*:0000{4996}0000\n").unwrap();

    let scan = |db: &Path, file: &str| {
        let m = scan_within(
            &[
                os("--json"),
                os("--no-summary"),
                os("--no-builtin"),
                os("-z"),
                os("-d"),
                db.as_os_str(),
                d.join(file).as_os_str(),
            ],
            Duration::from_secs(30),
        );
        assert!(m.wall < Duration::from_secs(10), "{file}: {:?}", m.wall);
        assert!(m.max_rss_kib < 200 << 10, "{file}: {} KiB", m.max_rss_kib);
        let v: serde_json::Value = serde_json::from_str(m.stdout().trim()).unwrap();
        let found: Vec<(String, u64)> = v["matches"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        let name = x["signature"].as_str().unwrap().to_owned();
                        (name, x["offset"].as_u64().unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default();
        (m.code(), v["status"].as_str().unwrap().to_owned(), found)
    };
    let (code, _, mut found) = scan(&db, "start.bin");
    found.sort();
    assert_eq!(code, Some(1));
    assert_eq!(
        found,
        [("Eicar.At0".into(), 0), ("Eicar.Body".into(), 0)],
        "start"
    );
    let (code, _, mut found) = scan(&db, "end.bin");
    found.sort();
    assert_eq!(code, Some(1));
    assert_eq!(
        found,
        [
            ("Eicar.AtEnd".into(), end_at),
            ("Eicar.Body".into(), end_at)
        ],
        "end: offsets are real"
    );
    let (_, _, found) = scan(&db, "both-sides.bin");
    assert_eq!(
        found,
        [("Across.Hole".into(), 0)],
        "an unbounded gap spans the hole"
    );
    let (code, status, _) = scan(&db, "clean.bin");
    assert_eq!((code, status.as_str()), (Some(0), "clean"));
    // A pattern of zeros matches inside a hole, as it would in the zeros.
    let (code, _, found) = scan(&zeros_db, "clean.bin");
    assert_eq!(code, Some(1));
    assert_eq!(found[0].0, "Zeros.5000");
}

/// The compact view of a sparse file gives the same signatures as scanning
/// every byte in memory, for patterns that straddle holes, sit in them, or are
/// anchored near either end.
#[test]
fn sparse_view_equals_scanning_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.bin");
    let size: u64 = 80 << 20;
    let sigs = "\
        Head:0:0:57415244{3}41\n\
        HeadShift:0:10,5000:4142434445\n\
        Tail:0:EOF-9:5441494c\n\
        TailShift:0:EOF-20,10:5441494c\n\
        Star:0:*:4d4944*4d494432\n\
        MinGap:0:*:4d4944{3000000-}4d494432\n\
        Bounded:0:*:4d4944{0-40000}4d494432\n\
        Zeros:0:*:00000000{60000}00000000\n\
        ZeroEdge:0:*:4d494432{10}00000000\n\
        ZeroAlt:0:*:(00|ff)(0000|ffff)4d4944\n\
        Never:0:*:4e455645520000ff\n";
    let set = ward::SignatureSet::builder()
        .text(ward::Format::Ndb, "s.ndb", sigs)
        .build()
        .unwrap();
    let mut sc = ward::Scanner::new(&set);
    sc.all_matches(true);
    let cases: [&[(u64, &[u8])]; 5] = [
        &[(0, b"WARD...A"), (size - 9, b"TAIL")],
        &[
            (10 + 4000, b"ABCDE"),
            (1 << 20, b"MID"),
            (60 << 20, b"MID2"),
        ],
        &[(3 << 20, b"MID"), (3 << 20 | 30_000, b"MID2")],
        &[
            (size - 21, b"TAIL"),
            (5 << 20, b"MID2"),
            (33 << 20, b"\xff\xff\xffMID"),
        ],
        &[(size - 4, b"MID2")],
    ];
    for (i, parts) in cases.iter().enumerate() {
        sparse_file(&path, size, parts);
        let report = sc.scan_file(&path);
        assert!(
            report.scanned_bytes < size / 2,
            "case {i}: the sparse view was used ({} bytes)",
            report.scanned_bytes
        );
        let names = |ms: Vec<ward::Match>| {
            let mut v: Vec<String> = ms.iter().map(|m| m.name.to_string()).collect();
            v.sort();
            v
        };
        let got = match report.verdict {
            ward::Verdict::Infected(ms) => names(ms),
            ward::Verdict::Clean => vec![],
            other => panic!("case {i}: {other:?}"),
        };
        let want = names(sc.scan_bytes(&fs::read(&path).unwrap()));
        assert_eq!(got, want, "case {i}");
    }
}

// ---------------------------------------------------------------------------
// --max-scantime

/// A signature whose verification is quadratic over a file of one byte value
/// takes forever; with `--max-scantime` that file is reported as skipped, the
/// other files are scanned, and the exit status counts what was found.
#[test]
fn max_scantime_skips_a_slow_file_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("slow.bin"), vec![b'A'; 4 << 20]).unwrap();
    fs::write(d.join("e.com"), eicar()).unwrap();
    fs::write(d.join("clean.txt"), b"hello").unwrap();
    let db = d.join("slow.ndb");
    // Every 'A' starts a search of the next 65,535 bytes for one that is not
    // 'A' or 'B': about 2^38 steps over this file.
    fs::write(&db, "Slow:0:*:41{0-65535}!(41|42)\n").unwrap();
    let m = scan_within(
        &[
            os("--no-summary"),
            os("-z"),
            os("-d"),
            db.as_os_str(),
            os("--max-scantime"),
            os("500ms"),
            d.as_os_str(),
        ],
        Duration::from_secs(30),
    );
    let out = m.stdout();
    assert_eq!(m.code(), Some(1), "{out}");
    assert!(m.wall < Duration::from_secs(10), "{:?}", m.wall);
    assert!(
        line_for(&out, &d.join("slow.bin"))
            .ends_with(": Scan time exceeds max-scantime 500ms SKIPPED"),
        "{out}"
    );
    let e_com = format!("{}: Eicar-Test-Signature FOUND", d.join("e.com").display());
    assert!(out.contains(&e_com), "{out}");
    assert!(line_for(&out, &d.join("clean.txt")).ends_with(": OK"));

    // Skipped is not an error: without the EICAR file the status is 0, and the
    // JSON says why.
    fs::remove_file(d.join("e.com")).unwrap();
    let m = scan_within(
        &[
            os("--json"),
            os("-d"),
            db.as_os_str(),
            os("--max-scantime=1s"),
            d.join("slow.bin").as_os_str(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(m.code(), Some(0), "{}", m.stdout());
    let lines: Vec<serde_json::Value> = m
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["status"], "skipped");
    assert_eq!(lines[0]["reason"], "Scan time exceeds max-scantime 1s");
    assert_eq!(lines[1]["skipped_files"], 1);
}

/// The atom search itself is cut into pieces with a clock check between them:
/// a large file with a tiny limit is skipped, the same file without it is clean.
#[test]
fn max_scantime_bounds_the_atom_search() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let data: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    fs::write(&big, &data).unwrap();
    let limit = Duration::from_secs(60);
    let m = scan_within(
        &[
            os("--no-summary"),
            os("--max-scantime=1ms"),
            big.as_os_str(),
        ],
        limit,
    );
    assert_eq!(m.code(), Some(0));
    assert!(
        m.stdout().ends_with("max-scantime 1ms SKIPPED\n"),
        "{}",
        m.stdout()
    );
    let m = scan_within(&[os("--no-summary"), big.as_os_str()], limit);
    assert!(m.stdout().ends_with(": OK\n"), "{}", m.stdout());
    let m = run_measured(ward().args(["scan", "--max-scantime", "0s", "x"]), limit);
    assert_eq!(m.code(), Some(2));
    assert!(m.stderr().contains("longer than 0"), "{}", m.stderr());
}

// ---------------------------------------------------------------------------
// Trees: changing, deep, wide, unreadable

/// Files and directories created, renamed and deleted while a recursive scan
/// runs: every scan ends with a verdict for the file that stays, exit 1.
#[test]
fn tree_changing_under_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    fs::write(d.join("stays.com"), eicar()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (stop, d) = (stop.clone(), d.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let sub = d.join(format!("sub{}", i % 8));
                let _ = fs::create_dir_all(sub.join("deeper"));
                for j in 0..20 {
                    let _ = fs::write(sub.join(format!("f{j}")), b"churn");
                    let _ = fs::write(sub.join("deeper").join(format!("g{j}")), b"churn");
                }
                let _ = fs::rename(&sub, d.join(format!("moved{}", i % 8)));
                let _ = fs::remove_dir_all(d.join(format!("moved{}", (i + 3) % 8)));
                let _ = fs::remove_dir_all(d.join(format!("sub{}", (i + 5) % 8)));
                i += 1;
            }
            i
        })
    };
    let start = Instant::now();
    let mut scans = 0;
    while start.elapsed() < Duration::from_secs(4) {
        let m = scan_within(&[os("-i"), d.as_os_str()], Duration::from_secs(30));
        let out = m.stdout();
        assert_eq!(m.code(), Some(1), "{out}");
        assert!(
            out.contains("stays.com: Eicar-Test-Signature FOUND"),
            "{out}"
        );
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = churn.join().unwrap();
    assert!(scans > 3 && rounds > 3, "{scans} scans, {rounds} rounds");
}

/// 100,000 files in one directory, scanned in well under the test's limit.
#[test]
fn directory_with_a_hundred_thousand_files() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..100_000 {
        fs::write(dir.path().join(format!("f{i:06}")), b"x").unwrap();
    }
    fs::write(dir.path().join("f050000"), eicar()).unwrap();
    let m = scan_within(&[os("-i"), dir.path().as_os_str()], Duration::from_secs(60));
    let out = m.stdout();
    assert_eq!(m.code(), Some(1));
    assert!(out.contains("Scanned files: 100000\n"), "{out}");
    assert!(out.contains("f050000: Eicar-Test-Signature FOUND"), "{out}");
    assert!(m.max_rss_kib < 300 << 10, "{} KiB", m.max_rss_kib);
}

/// As an unprivileged user: an unreadable file and an unreadable directory are
/// reported as errors, the rest is scanned, and the exit status is 1 when
/// something was found, else 2.
#[test]
fn unreadable_files_and_directories_as_nobody() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    mode(d, 0o755);
    let bin = d.join("ward");
    fs::copy(env!("CARGO_BIN_EXE_ward"), &bin).unwrap();
    mode(&bin, 0o755);
    let tree = d.join("tree");
    fs::create_dir_all(tree.join("locked")).unwrap();
    fs::write(tree.join("readable.txt"), b"hello").unwrap();
    fs::write(tree.join("secret.txt"), b"hello").unwrap();
    fs::write(tree.join("locked/inside.txt"), b"hello").unwrap();
    fs::write(tree.join("e.com"), eicar()).unwrap();
    for f in ["readable.txt", "e.com"] {
        mode(&tree.join(f), 0o644);
    }
    mode(&tree.join("secret.txt"), 0o600);
    mode(&tree, 0o755);
    mode(&tree.join("locked"), 0o700);
    let as_nobody = || {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .env("WARD_HOME", d.join("no-home"))
            .env(NO_CLAMAV_DB.0, NO_CLAMAV_DB.1);
        c
    };
    let m = run_measured(
        as_nobody().args(["scan", "--no-summary"]).arg(&tree),
        Duration::from_secs(30),
    );
    let out = m.stdout();
    assert_eq!(m.code(), Some(1), "{out}{}", m.stderr());
    assert!(line_for(&out, &tree.join("secret.txt")).ends_with("Permission denied ERROR"));
    assert!(line_for(&out, &tree.join("locked")).ends_with("Permission denied ERROR"));
    assert!(line_for(&out, &tree.join("readable.txt")).ends_with(": OK"));
    fs::remove_file(tree.join("e.com")).unwrap();
    let m = run_measured(as_nobody().arg("scan").arg(&tree), Duration::from_secs(30));
    assert_eq!(m.code(), Some(2), "{}", m.stdout());
    assert!(m.stdout().contains("Total errors: 2\n"), "{}", m.stdout());
}

// ---------------------------------------------------------------------------
// Hostile file names

/// Names with a newline, a terminal escape sequence, invalid UTF-8, a bidi
/// override and a leading `-`: escaped when stdout is a terminal (a pty made by
/// `script`), exact bytes in JSON, and `--` makes a `-name` a path.
#[test]
fn hostile_names_escaped_on_a_terminal_exact_in_json() {
    use base64::Engine as _;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names: [&[u8]; 5] = [
        b"new\nline.com",
        b"esc\x1b[31mred\x1b]0;title\x07.com",
        b"bad\xff\xfeutf8.com",
        b"bidi\xe2\x80\xaemoc.exe",
        b"-dash.com",
    ];
    for n in names {
        fs::write(d.join(OsStr::from_bytes(n)), eicar()).unwrap();
    }
    // Through a terminal.
    let cmd = format!(
        // stderr (the progress bar, itself for a terminal) is left out.
        "{} scan --no-summary {} 2>/dev/null",
        env!("CARGO_BIN_EXE_ward"),
        d.display()
    );
    let m = run_measured(
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env(NO_CLAMAV_DB.0, NO_CLAMAV_DB.1),
        Duration::from_secs(30),
    );
    let tty = m.out.stdout.clone();
    assert!(
        !tty.contains(&0x1b) && !tty.contains(&0x07),
        "raw control bytes reached the terminal"
    );
    assert!(
        !tty.windows(3).any(|w| w == b"\xe2\x80\xae"),
        "raw bidi override"
    );
    let text = String::from_utf8(tty).expect("escaped output is UTF-8");
    for shown in [
        "new\\x0aline.com: Eicar-Test-Signature FOUND",
        "esc\\x1b[31mred\\x1b]0;title\\x07.com: Eicar-Test-Signature FOUND",
        "bad\\xff\\xfeutf8.com: Eicar-Test-Signature FOUND",
        "bidi\\u{202e}moc.exe: Eicar-Test-Signature FOUND",
        "-dash.com: Eicar-Test-Signature FOUND",
    ] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    // JSON: exact bytes.
    let m = scan_within(
        &[os("--json"), os("--no-summary"), d.as_os_str()],
        Duration::from_secs(30),
    );
    let mut seen = Vec::new();
    for l in m.stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let bytes = match v.get("path_base64") {
            Some(b) => base64::engine::general_purpose::STANDARD
                .decode(b.as_str().unwrap())
                .unwrap(),
            None => v["path"].as_str().unwrap().as_bytes().to_vec(),
        };
        seen.push(
            Path::new(OsStr::from_bytes(&bytes))
                .file_name()
                .unwrap()
                .as_bytes()
                .to_vec(),
        );
    }
    seen.sort();
    let mut want: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
    want.sort();
    assert_eq!(seen, want);
    // A leading '-' on the command line, after `--`.
    let m = run_measured(
        ward()
            .current_dir(d)
            .args(["scan", "--no-summary", "--", "-dash.com"]),
        Duration::from_secs(30),
    );
    assert_eq!(m.code(), Some(1));
    assert_eq!(m.stdout(), "-dash.com: Eicar-Test-Signature FOUND\n");
}

// ---------------------------------------------------------------------------
// Hostile signature sets

/// Load (`ward sigs check`) a database written by `content`; bounded time and memory.
fn check_db(name: &str, content: &[u8]) -> (Measured, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(name);
    fs::write(&db, content).unwrap();
    let m = run_measured(
        ward().args(["sigs", "check"]).arg(&db),
        Duration::from_secs(60),
    );
    assert!(m.wall < Duration::from_secs(30), "{name}: {:?}", m.wall);
    (m, db, dir)
}

#[test]
fn hostile_signature_sets_load_or_fail_precisely() {
    // A 10 MB line: rejected by length, at once.
    let long = format!("Long:0:*:{}\n", "41".repeat(5 << 20));
    let (m, db, _t) = check_db("long.ndb", long.as_bytes());
    assert_eq!(m.code(), Some(2));
    assert!(
        m.stderr().contains(&format!(
            "{}:1:1048577: line is longer than 1048576 bytes",
            db.display()
        )),
        "{}",
        m.stderr()
    );
    assert!(m.max_rss_kib < 200 << 10, "{} KiB", m.max_rss_kib);

    // Patterns that cannot be anchored or nest, each with its column.
    let bad = "NoStatic:0:*:??{2}??\n\
               OnlyAlt:0:*:(41|42)\n\
               Nested:0:*:41((42|43)|44)45\n\
               TooWide:0:*:41{0-4294967296}42\n\
               Huge:0:*:41{0-4294967295}42\n";
    let (m, db, _t) = check_db("bad.ndb", bad.as_bytes());
    assert_eq!(m.code(), Some(2));
    let err = m.stderr();
    for want in [
        ":1:14: pattern has no fixed byte to anchor on",
        ":2:13: pattern has no fixed byte to anchor on",
        ":3:15: gaps and nested groups inside an alternation are not supported",
        ":4:18: gap length 4294967296 is too large",
    ] {
        assert!(
            err.contains(&format!("{}{want}", db.display())),
            "{want}: {err}"
        );
    }
    assert!(!err.contains(":5:"), "the largest gap is valid: {err}");

    // Huge alternations: 4,096 alternatives and 256 groups load, one more of
    // either does not.
    let alts = |n: usize| {
        (0..n)
            .map(|i| format!("{:04x}", i))
            .collect::<Vec<_>>()
            .join("|")
    };
    let groups = |n: usize| format!("41{}41", "(42|43)".repeat(n));
    let text = format!(
        "Alts:0:*:41({})41\nAltsOver:0:*:41({})41\nGroups:0:*:{}\nGroupsOver:0:*:{}\n",
        alts(4096),
        alts(4097),
        groups(256),
        groups(257)
    );
    let (m, _, _t) = check_db("alts.ndb", text.as_bytes());
    let err = m.stderr();
    assert!(
        err.contains(":2:") && err.contains("more than 4096 alternatives"),
        "{err}"
    );
    assert!(
        err.contains(":4:") && err.contains("more than 256 gaps and alternations"),
        "{err}"
    );
    assert!(!err.contains(":1:") && !err.contains(":3:"), "{err}");

    // A million lines of errors: a hundred shown, the rest counted.
    let (m, _, _t) = check_db("errors.ndb", "x\n".repeat(1_000_000).as_bytes());
    assert_eq!(m.code(), Some(2));
    assert!(m.stderr().lines().count() < 120, "bounded error output");
    assert!(
        m.stderr().contains("999900 more errors not shown"),
        "{}",
        m.stderr()
    );
}

/// A million signatures load, compile and scan; memory grows with the set
/// (about 1.2 KiB per signature) but stays bounded.
#[test]
fn a_million_signatures() {
    let mut text = String::with_capacity(40 << 20);
    for i in 0..1_000_000u32 {
        let lit = format!("ward{i:08x}");
        text.push_str(&format!("Sig.{i}:0:*:{}\n", hex(lit.as_bytes())));
    }
    let (m, db, dir) = check_db("million.ndb", text.as_bytes());
    assert_eq!(m.code(), Some(0), "{}", m.stderr());
    assert!(
        m.stdout().contains("OK (1000000 signatures"),
        "{}",
        m.stdout()
    );
    assert!(m.max_rss_kib < 3 << 20, "{} KiB", m.max_rss_kib);
    let f = dir.path().join("f");
    fs::write(&f, b"..ward000abcde..").unwrap();
    let m = scan_within(
        &[os("--no-summary"), os("-d"), db.as_os_str(), f.as_os_str()],
        Duration::from_secs(60),
    );
    assert_eq!(m.code(), Some(1));
    assert!(
        m.stdout().ends_with("f: Sig.703710 FOUND\n"),
        "{}",
        m.stdout()
    );
}

/// Duplicate names load (ClamAV allows them) and are reported once per file;
/// CRLF line ends and a UTF-8 BOM are read as if absent.
#[test]
fn duplicate_names_crlf_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dup.ndb");
    fs::write(
        &db,
        b"\xef\xbb\xbfDup:0:*:6f6e652d6f6e65\r\nDup:0:*:74776f2d74776f\r\nOther:0:*:74776f2d74776f\r\n",
    )
    .unwrap();
    let both = dir.path().join("both");
    fs::write(&both, b"..one-one..two-two..").unwrap();
    let two = dir.path().join("two");
    fs::write(&two, b"..two-two..").unwrap();
    let m = scan_within(
        &[
            os("--no-summary"),
            os("-z"),
            os("-d"),
            db.as_os_str(),
            both.as_os_str(),
            two.as_os_str(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(m.code(), Some(1));
    let out = m.stdout();
    assert_eq!(out.matches("both: Dup FOUND").count(), 1, "{out}");
    assert!(
        out.contains("both: Other FOUND") && out.contains("two: Dup FOUND"),
        "{out}"
    );
    let m = run_measured(
        ward().args(["sigs", "check"]).arg(&db),
        Duration::from_secs(30),
    );
    assert!(m.stdout().contains("OK (3 signatures"), "{}", m.stdout());
}
