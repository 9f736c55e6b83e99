//! `ward scan` and `ward sigs` through the binary.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::util::{DEADLINE, eicar, finish, run, run_with_stdin, stderr, stdout, ward};

fn scan(args: &[&OsStr]) -> Output {
    run(ward().arg("scan").args(args))
}

fn p(path: &Path) -> &OsStr {
    path.as_os_str()
}

#[test]
fn eicar_plain_padded_and_misplaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = eicar();
    fs::write(d.join("plain.com"), &e).unwrap();
    fs::write(d.join("padded.txt"), [&e[..], b" \t\r\n\x1a  "].concat()).unwrap();
    fs::write(d.join("too-long.txt"), [&e[..], &[b' '; 61][..]].concat()).unwrap();
    fs::write(d.join("trailing-data.txt"), [&e[..], b"x"].concat()).unwrap();
    fs::write(d.join("offset.txt"), [b" ", &e[..]].concat()).unwrap();
    let o = scan(&[p(d), OsStr::new("--no-summary")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{}: ", d.join(name).display())))
            .unwrap()
            .to_owned()
    };
    assert!(line("plain.com").ends_with(": Eicar-Test-Signature FOUND"));
    assert!(line("padded.txt").ends_with(": Eicar-Test-Signature FOUND"));
    assert!(
        line("too-long.txt").ends_with(": OK"),
        "129 bytes is not the EICAR file"
    );
    assert!(line("trailing-data.txt").ends_with(": OK"));
    assert!(line("offset.txt").ends_with(": OK"));

    let o = scan(&[p(&d.join("offset.txt"))]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(ward()
        .arg("scan")
        .arg("--no-builtin")
        .arg(d.join("plain.com")));
    assert_eq!(o.status.code(), Some(0), "--no-builtin leaves EICAR out");
}

#[test]
fn clam_exe_from_clamav_testfiles() {
    let f = Path::new("/usr/share/clamav-testfiles/clam.exe");
    assert!(
        f.exists(),
        "{} is missing: install the Debian package clamav-testfiles",
        f.display()
    );
    let o = scan(&[p(f)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("clam.exe: Clamav.Test.File-6 FOUND"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn special_files_are_skipped_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    assert!(run(Command::new("mkfifo").arg(&fifo)).status.success());
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    fs::write(d.join("clean.txt"), b"hello").unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero-link")).unwrap();
    for target in [d.to_path_buf(), fifo.clone()] {
        let o = scan(&[p(&target)]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(
            out.contains(&format!(
                "{}: Not a regular file (FIFO) SKIPPED",
                fifo.display()
            )),
            "{out}"
        );
    }
    let o = scan(&[p(d)]);
    let out = stdout(&o);
    assert!(
        out.contains("sock: Not a regular file (socket) SKIPPED"),
        "{out}"
    );
    assert!(
        out.contains("zero-link: Not a regular file (symbolic link) SKIPPED"),
        "{out}"
    );
    assert!(out.contains("Scanned files: 1\n"), "{out}");
    // A link to a device named on the command line is followed, then skipped.
    let o = scan(&[p(&d.join("zero-link"))]);
    assert!(
        stdout(&o).contains("(character device) SKIPPED"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn missing_path_is_an_error_and_found_wins() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let o = scan(&[p(&missing)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains(&format!(
        "{}: No such file or directory ERROR",
        missing.display()
    )));
    assert!(stdout(&o).contains("Total errors: 1"));
    fs::write(dir.path().join("e"), eicar()).unwrap();
    let o = scan(&[p(&missing), p(&dir.path().join("e"))]);
    assert_eq!(o.status.code(), Some(1), "found wins over errors");
}

#[test]
fn malformed_database_stops_before_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.ndb");
    fs::write(
        &db,
        "Good.Sig:0:*:41424344\nBad.Sig:0:*:4142zz44\nWorse:0:x:41424344\n",
    )
    .unwrap();
    fs::write(dir.path().join("e"), eicar()).unwrap();
    let o = run(ward().arg("scan").arg("-d").arg(&db).arg(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "nothing is scanned: {}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}:2:17: 'z' is not a hex digit", db.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:3:9: offset 'x' is not a number", db.display())),
        "{err}"
    );

    let o = run(ward().args(["sigs", "check"]).arg(&db));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.ndb:2:17:"));
    let good = dir.path().join("good.ndb");
    fs::write(&good, "Good.Sig:0:*:41424344\nEp:0:EP+0:41424344\n").unwrap();
    let o = run(ward().args(["sigs", "check"]).arg(&good));
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("OK (1 signatures, 1 skipped)"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("good.ndb:2: offset 'EP+0'"));
}

#[test]
fn json_lines_shape_and_exact_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let odd = d.join(OsStr::from_bytes(b"bad\xffname\n.com"));
    fs::write(&odd, eicar()).unwrap();
    fs::write(d.join("clean"), b"clean").unwrap();
    let o = scan(&[OsStr::new("--json"), p(d)]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    let infected = lines.iter().find(|v| v["status"] == "infected").unwrap();
    assert_eq!(infected["type"], "file");
    assert_eq!(infected["matches"][0]["signature"], "Eicar-Test-Signature");
    assert_eq!(infected["matches"][0]["offset"], 0);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(infected["path_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, odd.as_os_str().as_bytes());
    let clean = lines.iter().find(|v| v["status"] == "clean").unwrap();
    assert!(clean.get("path_base64").is_none());
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["infected_files"], 1);
    assert_eq!(summary["scanned_files"], 2);
}

#[test]
fn options_limit_exclude_list_infected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("skipme/deep")).unwrap();
    fs::write(d.join("skipme/deep/e"), eicar()).unwrap();
    fs::write(d.join("e.log"), eicar()).unwrap();
    fs::write(d.join("big.bin"), vec![7u8; 5000]).unwrap();
    fs::write(d.join("small"), b"ok").unwrap();
    let o = scan(&[
        p(d),
        OsStr::new("--exclude-dir=skipme"),
        OsStr::new("--exclude=*.log"),
        OsStr::new("--max-filesize=4K"),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("big.bin: Size 5000 exceeds max-filesize 4096 SKIPPED"),
        "{out}"
    );
    assert!(!out.contains("skipme") && !out.contains("e.log"), "{out}");

    let list = format!(
        "{}\n{}\n",
        d.join("small").display(),
        d.join("e.log").display()
    );
    let o = run_with_stdin(
        ward().args(["scan", "-i", "--no-summary", "--file-list", "-"]),
        list.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert_eq!(
        text.lines().count(),
        1,
        "-i prints only the infected file: {text}"
    );
    assert!(text.contains("e.log: Eicar-Test-Signature FOUND"), "{text}");
}

#[test]
fn symlinks_in_trees_are_not_followed_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("e"), eicar()).unwrap();
    std::os::unix::fs::symlink(outside.path().join("e"), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("dirlink")).unwrap();
    let o = scan(&[p(dir.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = scan(&[OsStr::new("--follow-symlinks"), p(dir.path())]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn all_matches_reports_every_signature() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("two.ndb");
    fs::write(&db, "One:0:*:6f6e652d6f6e65\nTwo:0:*:74776f2d74776f\n").unwrap();
    let f = dir.path().join("f");
    fs::write(&f, b"..one-one..two-two..").unwrap();
    let o = run(ward()
        .arg("scan")
        .arg("--no-summary")
        .arg("-d")
        .arg(&db)
        .arg(&f));
    assert_eq!(stdout(&o).lines().count(), 1);
    let o = run(ward()
        .arg("scan")
        .arg("--no-summary")
        .arg("-z")
        .arg("-d")
        .arg(&db)
        .arg(&f));
    let out = stdout(&o);
    assert!(
        out.contains("f: One FOUND") && out.contains("f: Two FOUND"),
        "{out}"
    );
}

#[test]
fn broken_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3000 {
        fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
    }
    let mut child = ward()
        .arg("scan")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let o = finish(child, Vec::new(), DEADLINE, "ward scan");
    assert!(
        o.stderr.is_empty(),
        "no noise on a closed pipe: {}",
        stderr(&o)
    );
    assert!(o.status.code().is_some(), "not killed by SIGPIPE");
}

/// More than a pipe holds on stdin, stdout and stderr at once: the helper that
/// runs children feeds and drains all three while the child runs, so the child
/// never blocks on a full pipe (ward prints its warnings before it scans, so a
/// helper that read stdout to its end before stderr would never see the end).
#[test]
fn output_beyond_a_pipe_buffer_on_every_stream_is_drained() {
    const PIPE: usize = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    // Entry-point offsets are skipped with a warning that quotes the offset:
    // 20 warnings of 8 KiB each are printed, the rest counted.
    let db = dir.path().join("ep.ndb");
    let long = "0".repeat(8 << 10);
    // One signature that runs: a database that yields nothing is refused.
    let sigs: String = (0..30)
        .map(|i| format!("Ep.{i}:0:EP+{long}:41424344\n"))
        .chain(["Runs:0:*:41424344\n".to_owned()])
        .collect();
    fs::write(&db, sigs).unwrap();
    // A list of 5,000 missing files (over 64 KiB), each an error line on stdout.
    let list: String = (0..5000)
        .map(|i| format!("{}\n", dir.path().join(format!("missing-{i:05}")).display()))
        .collect();
    assert!(list.len() > PIPE);
    let start = Instant::now();
    let o = run_with_stdin(
        ward()
            .args(["scan", "-d"])
            .arg(&db)
            .args(["--file-list", "-"]),
        list.as_bytes(),
    );
    let wall = start.elapsed();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.len() > PIPE && o.stderr.len() > PIPE);
    assert_eq!(stderr(&o).matches("(signature skipped)").count(), 20);
    assert!(stderr(&o).contains("10 more signatures skipped"));
    assert!(
        stdout(&o).contains("Total errors: 5000\n"),
        "{}",
        stdout(&o)
    );
    assert!(wall < Duration::from_secs(20), "took {wall:?}");
}

#[test]
fn sigs_info_counts() {
    let o = run(ward().args(["sigs", "info", "--json"]));
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["body"], 1);
    assert_eq!(v["md5"], 1);
    assert_eq!(v["atoms"], 1);
}

#[test]
fn compiled_database_round_trip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let ndb = dir.path().join("a.ndb");
    fs::write(&ndb, "Gap.Sig:0:*:6576696c{2-4}636f6465\n").unwrap();
    let wdb = dir.path().join("a.wardset");
    let o = run(ward()
        .args(["sigs", "compile", "-o"])
        .arg(&wdb)
        .arg("-d")
        .arg(&ndb));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = dir.path().join("f");
    fs::write(&f, b"an evil..code").unwrap();
    let o = run(ward()
        .args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&wdb)
        .arg(&f));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("f: Gap.Sig FOUND"));
    // One flipped byte: rejected before scanning, naming the file.
    let mut bytes = fs::read(&wdb).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&wdb, &bytes).unwrap();
    let o = run(ward()
        .args(["scan", "--no-builtin", "-d"])
        .arg(&wdb)
        .arg(&f));
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}: checksum mismatch", wdb.display())),
        "{err}"
    );
    // A text file named .wardset is foreign.
    fs::write(&wdb, "Gap.Sig:0:*:6576696c\n").unwrap();
    let o = run(ward().args(["sigs", "check"]).arg(&wdb));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a ward database"));
}
