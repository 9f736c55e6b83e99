//! Figures for `ward watch --audit` (run with `cargo bench --bench audit`; not
//! a timed test). Builds a small `--root` tree that meets the built-in
//! baseline, starts the release `ward` binary watching it, then 1,000 times:
//! `chmod 666 <root>/etc/passwd` and wait for the drift line on ward's
//! stderr, then `chmod 644` and wait for the return line. Prints p50, p99 and
//! max of both latencies (from the `chmod` returning to the line being read).
//! Goal: p99 at most 50 ms.
//!
//! `WARD_BENCH_QUICK=1` makes it 100 changes (for a smoke run).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};

const DRIFT: &str = "perms-passwd NON-COMPLIANT (was COMPLIANT)";
const BACK: &str = "perms-passwd COMPLIANT (was NON-COMPLIANT)";

fn write(root: &Path, rel: &str, text: &str, mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    chmod(&p, mode);
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// The files the permission and account rules read; everything else is
/// absent (those rules do not apply).
fn tree(root: &Path) {
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    let passwd = format!("root:x:{uid}:{gid}::/root:/bin/sh\n");
    write(root, "etc/passwd", &passwd, 0o644);
    write(root, "etc/group", &format!("root:x:{gid}:\n"), 0o644);
    write(root, "etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640);
    write(root, "etc/gshadow", "root:*::\n", 0o640);
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn wait_for(lines: &Receiver<(Instant, String)>, needle: &str) -> Instant {
    loop {
        let (at, line) = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no line with {needle:?} within 10 s"));
        if line.contains(needle) {
            return at;
        }
    }
}

fn report(what: &str, mut lat: Vec<Duration>) {
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}, {} changes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        ms(*lat.last().unwrap())
    );
}

fn main() {
    let n = match std::env::var_os("WARD_BENCH_QUICK") {
        Some(_) => 100,
        None => 1000,
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    tree(&root);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("--home")
        .arg(tmp.path().join("home"))
        .args(["watch", "--audit", "--root"])
        .arg(&root)
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ward");
    let (tx, lines) = unbounded();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), l));
        }
    });
    wait_for(&lines, "auditing ");
    let passwd = root.join("etc/passwd");
    let (mut drift, mut back) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        chmod(&passwd, 0o666);
        let t0 = Instant::now();
        drift.push(wait_for(&lines, DRIFT).saturating_duration_since(t0));
        chmod(&passwd, 0o644);
        let t0 = Instant::now();
        back.push(wait_for(&lines, BACK).saturating_duration_since(t0));
    }
    let _ = child.kill();
    let _ = child.wait();
    report("drift (chmod 666 -> NON-COMPLIANT line)", drift);
    report("return (chmod 644 -> COMPLIANT line)", back);
}
